//! Creating contacts, reference data and tasks through the API; reading contacts back.

use chrono::{Duration, Utc};
use crm_client::types;
use crm_models::{
    CustomFieldValue, EntityType, FieldType, InfoType, NewAddress, NewCompany, NewContactInfo,
    NewCustomField, NewListItem, NewPerson, NewTask, ShareType,
};
use reqwest::{StatusCode, header};
use sea_orm::{EntityTrait, PaginatorTrait};

use crm_testkit::entities::{contact, contact_info, contact_tag, custom_field_value, tag};

use crate::helpers::{Backend, TestApp, cid, error_status};

fn person(first: &str) -> NewPerson {
    NewPerson {
        first_name: first.to_owned(),
        last_name: String::new(),
        job_title: String::new(),
        company_id: None,
        about: String::new(),
        industry: String::new(),
        contact_status_id: None,
        contact_type_id: None,
        currency: None,
        share_type: ShareType::ReadWrite,
        access_list: vec![],
        common_data: vec![],
        addresses: vec![],
        custom_fields: vec![],
        tags: vec![],
    }
}

fn company(name: &str) -> NewCompany {
    let base = person("");
    NewCompany {
        company_name: name.to_owned(),
        about: base.about,
        industry: base.industry,
        contact_status_id: base.contact_status_id,
        contact_type_id: base.contact_type_id,
        currency: base.currency,
        share_type: base.share_type,
        access_list: base.access_list,
        common_data: base.common_data,
        addresses: base.addresses,
        custom_fields: base.custom_fields,
        tags: base.tags,
    }
}

fn field(label: &str, field_type: FieldType, position: i32) -> NewCustomField {
    NewCustomField {
        label: label.to_owned(),
        field_type,
        mask: String::new(),
        position: Some(position),
    }
}

async fn id_of(items: Vec<types::ListItem>, title: &str) -> i32 {
    items
        .into_iter()
        .find(|item| item.title == title)
        .unwrap_or_else(|| panic!("no item {title}"))
        .id
}

async fn create_read_and_delete_a_company_and_a_person(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let admin = app.admin_client();
    let (member, _) = app.member("Mia Member").await;

    let heading = admin
        .create_custom_field(
            &EntityType::Person,
            &field("Details", FieldType::Heading, 0),
        )
        .await
        .unwrap()
        .into_inner();
    let birthday = admin
        .create_custom_field(&EntityType::Person, &field("Birthday", FieldType::Date, 1))
        .await
        .unwrap()
        .into_inner();
    let source = admin
        .create_custom_field(
            &EntityType::Contact,
            &field("Source", FieldType::SelectBox, 2),
        )
        .await
        .unwrap()
        .into_inner();
    let employees = admin
        .create_custom_field(
            &EntityType::Company,
            &field("Employees", FieldType::TextField, 0),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(birthday.entity_type, "person");
    let statuses = admin.list_contact_statuses().await.unwrap().into_inner();
    let types_ = admin.list_contact_types().await.unwrap().into_inner();
    let hot = id_of(statuses, "Hot").await;
    let partner = id_of(types_, "Partner").await;

    let mut new_company = company("Baltic Freight");
    new_company.share_type = ShareType::Read;
    new_company.industry = "Logistics".into();
    new_company.currency = Some("usd".into());
    new_company.common_data = vec![NewContactInfo {
        info_type: InfoType::Website,
        category: 1,
        data: "https://baltic.example.com".into(),
        is_primary: true,
    }];
    new_company.custom_fields = vec![CustomFieldValue {
        field_id: employees.id,
        value: "120".into(),
    }];
    new_company.tags = vec!["carrier".into(), "vip".into()];
    let created = admin.create_company(&new_company).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let company = created.into_inner();
    assert!(company.is_company);
    assert_eq!(company.display_name, "Baltic Freight");
    assert_eq!(company.currency.as_ref().unwrap().abbreviation, "USD");
    assert_eq!(company.share_type, ShareType::Read);
    assert!(company.is_shared && !company.is_private);

    let mut new_person = person("Jane");
    new_person.last_name = "Doe".into();
    new_person.job_title = "Dispatcher".into();
    new_person.company_id = Some(company.id);
    new_person.about = "Met at the fair.".into();
    new_person.industry = "Logistics".into();
    new_person.contact_status_id = Some(hot);
    new_person.contact_type_id = Some(partner);
    new_person.currency = Some("EUR".into());
    new_person.share_type = ShareType::None;
    new_person.access_list = vec![member.id, app.admin.id, member.id];
    new_person.common_data = vec![
        NewContactInfo {
            info_type: InfoType::Email,
            category: 1,
            data: "jane@example.com".into(),
            is_primary: true,
        },
        NewContactInfo {
            info_type: InfoType::Phone,
            category: 2,
            data: "+371 2000 0000".into(),
            is_primary: false,
        },
    ];
    new_person.addresses = vec![NewAddress {
        street: "1 Dock St".into(),
        city: "Riga".into(),
        state: String::new(),
        zip: "LV-1001".into(),
        country: "Latvia".into(),
        category: 1,
        is_primary: true,
    }];
    new_person.custom_fields = vec![
        CustomFieldValue {
            field_id: source.id,
            value: "Trade fair".into(),
        },
        CustomFieldValue {
            field_id: birthday.id,
            value: "1990-04-01".into(),
        },
    ];
    new_person.tags = vec!["vip".into(), "berlin".into(), "vip".into()];

    let created = admin.create_person(&new_person).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let jane = created.into_inner();
    assert_eq!(location, format!("/api/2.0/crm/contact/{}", jane.id));
    assert_eq!(jane.display_name, "Jane Doe");
    assert!(!jane.is_company && jane.is_private && !jane.is_shared);
    assert_eq!(jane.about, "Met at the fair.");
    assert_eq!(jane.contact_status.as_ref().unwrap().title, "Hot");
    assert_eq!(jane.contact_type.as_ref().unwrap().title, "Partner");
    assert_eq!(jane.currency.as_ref().unwrap().title, "Euro");
    assert_eq!(jane.create_by.id, app.admin.id);
    let data: Vec<_> = jane
        .common_data
        .iter()
        .map(|i| {
            (
                i.info_type,
                i.category_name.as_str(),
                i.data.as_str(),
                i.is_primary,
            )
        })
        .collect();
    assert_eq!(
        data,
        [
            (InfoType::Phone, "Mobile", "+371 2000 0000", false),
            (InfoType::Email, "Work", "jane@example.com", true),
        ]
    );
    assert_eq!(jane.addresses.len(), 1);
    assert_eq!(jane.addresses[0].category_name, "Postal");
    assert_eq!(jane.addresses[0].zip, "LV-1001");
    let fields: Vec<_> = jane
        .custom_fields
        .iter()
        .map(|f| (f.id, f.label.as_str(), f.field_value.as_str(), f.field_type))
        .collect();
    assert_eq!(
        fields,
        [
            (heading.id, "Details", "", FieldType::Heading),
            (birthday.id, "Birthday", "1990-04-01", FieldType::Date),
            (source.id, "Source", "Trade fair", FieldType::SelectBox),
        ]
    );
    assert_eq!(jane.tags, ["berlin", "vip"]);
    let mut access: Vec<_> = jane.access_list.iter().map(|e| e.id).collect();
    access.sort();
    let mut expected_access = vec![member.id, app.admin.id];
    expected_access.sort();
    assert_eq!(access, expected_access);
    assert_eq!((jane.task_count, jane.have_late_tasks), (0, false));

    for (title, deadline, closed) in [
        ("Late", Some(Utc::now() - Duration::days(1)), false),
        ("Done", Some(Utc::now() - Duration::days(3)), true),
        ("Later", Some(Utc::now() + Duration::days(3)), false),
    ] {
        let task = admin
            .create_task(&NewTask {
                title: title.into(),
                contact_id: jane.id,
                deadline,
                is_closed: closed,
            })
            .await
            .unwrap();
        assert_eq!(task.status(), StatusCode::CREATED);
        assert_eq!(task.into_inner().contact_id, jane.id);
    }

    let read = admin.get_contact(cid(jane.id)).await.unwrap().into_inner();
    assert_eq!((read.task_count, read.have_late_tasks), (3, true));
    let deleted = admin
        .delete_contact(cid(jane.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serde_json::to_value(&deleted).unwrap(),
        serde_json::to_value(&read).unwrap(),
        "the delete returns what the GET returned just before"
    );
    let (status, _) = error_status(admin.get_contact(cid(jane.id)).await);
    assert_eq!(status, 404);

    // The company's tags and values are untouched; the person's are gone, its tag "berlin" stays.
    assert_eq!(tag::Entity::find().count(&app.db).await.unwrap(), 3);
    assert_eq!(contact_tag::Entity::find().count(&app.db).await.unwrap(), 2);
    assert_eq!(
        custom_field_value::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
    let company_again = admin
        .get_contact(cid(company.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(company_again.custom_fields[0].field_value, "120");
}

/// Every validation rule answers 400 (the body breaks its schema) or 422 (it refers to nothing,
/// or breaks a rule across fields), naming the field; nothing is written.
async fn invalid_contacts_are_rejected_and_nothing_is_written(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let admin = app.admin_client();
    let company_id = admin
        .create_company(&company("Acme"))
        .await
        .unwrap()
        .into_inner()
        .id;
    let person_id = admin
        .create_person(&person("Ann"))
        .await
        .unwrap()
        .into_inner()
        .id;
    let company_field = admin
        .create_custom_field(
            &EntityType::Company,
            &field("Employees", FieldType::TextField, 0),
        )
        .await
        .unwrap()
        .into_inner()
        .id;
    let heading = admin
        .create_custom_field(
            &EntityType::Person,
            &field("Details", FieldType::Heading, 0),
        )
        .await
        .unwrap()
        .into_inner()
        .id;
    let statuses = admin.list_contact_statuses().await.unwrap().into_inner();
    let a_status = statuses[0].id;
    let counts = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            (
                contact::Entity::find().count(&db).await.unwrap(),
                contact_info::Entity::find().count(&db).await.unwrap(),
                tag::Entity::find().count(&db).await.unwrap(),
                custom_field_value::Entity::find().count(&db).await.unwrap(),
            )
        }
    };
    let before = counts(&app).await;

    let with = |change: &dyn Fn(&mut NewPerson)| {
        let mut new = person("Valid");
        // Every case carries rows that would be written before the bad part is found.
        new.tags = vec!["new-tag".into()];
        new.common_data = vec![NewContactInfo {
            info_type: InfoType::Email,
            category: 0,
            data: "a@example.com".into(),
            is_primary: false,
        }];
        change(&mut new);
        new
    };
    let long = "x".repeat(256);
    let cases: Vec<(&str, u16, NewPerson)> = vec![
        ("FirstName", 400, with(&|p| p.first_name = "  ".into())),
        ("LastName", 400, with(&|p| p.last_name = long.clone())),
        ("About", 400, with(&|p| p.about = "x".repeat(10_001))),
        ("CompanyId", 422, with(&|p| p.company_id = Some(999_999))),
        ("CompanyId", 422, with(&|p| p.company_id = Some(person_id))),
        (
            "ContactStatusId",
            422,
            with(&|p| p.contact_status_id = Some(999_999)),
        ),
        // A status is not a type.
        (
            "ContactTypeId",
            422,
            with(&|p| p.contact_type_id = Some(a_status)),
        ),
        ("Currency", 422, with(&|p| p.currency = Some("XXX".into()))),
        (
            "AccessList",
            422,
            with(&|p| p.access_list = vec![uuid::Uuid::new_v4()]),
        ),
        (
            "CustomFields[0].FieldId",
            422,
            with(&|p| {
                p.custom_fields = vec![CustomFieldValue {
                    field_id: 999_999,
                    value: "v".into(),
                }]
            }),
        ),
        (
            "CustomFields[0].FieldId",
            422,
            with(&|p| {
                p.custom_fields = vec![CustomFieldValue {
                    field_id: company_field,
                    value: "v".into(),
                }]
            }),
        ),
        (
            "CustomFields[0].FieldId",
            422,
            with(&|p| {
                p.custom_fields = vec![CustomFieldValue {
                    field_id: heading,
                    value: "v".into(),
                }]
            }),
        ),
        (
            "CommonData[1].Category",
            422,
            with(&|p| {
                p.common_data.push(NewContactInfo {
                    info_type: InfoType::Email,
                    category: 3,
                    data: "b@example.com".into(),
                    is_primary: false,
                })
            }),
        ),
        (
            "CommonData[0].InfoType",
            422,
            with(&|p| p.common_data[0].info_type = InfoType::Address),
        ),
        (
            "CommonData[0].Data",
            400,
            with(&|p| p.common_data[0].data = String::new()),
        ),
        (
            "Addresses[0].Category",
            400,
            with(&|p| {
                p.addresses = vec![NewAddress {
                    category: 6,
                    ..NewAddress::default()
                }]
            }),
        ),
        ("Tags[1]", 400, with(&|p| p.tags.push(" ".into()))),
        (
            "Tags",
            400,
            with(&|p| p.tags = (0..101).map(|i| format!("t{i}")).collect()),
        ),
    ];
    for (field, expected, body) in cases {
        let (status, error) = error_status(admin.create_person(&body).await);
        assert_eq!(status, expected, "{field}: {error:?}");
        assert!(
            error.message.starts_with(field),
            "{field}: {}",
            error.message
        );
        assert_eq!(error.code, "invalid_field");
    }
    let (status, error) = error_status(admin.create_company(&company("")).await);
    assert_eq!(status, 400);
    assert!(
        error.message.starts_with("CompanyName"),
        "{}",
        error.message
    );
    assert_eq!(counts(&app).await, before, "nothing was written");
    assert!(company_id > 0);
}

/// Raw bodies: malformed JSON, wrong types, unknown properties, enums out of range, not JSON,
/// too large.
async fn bad_bodies_get_4xx_errors(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let client = reqwest::Client::new();
    let post = |body: Vec<u8>, content_type: &'static str| {
        client
            .post(app.url("/api/2.0/crm/contact/person"))
            .header(header::AUTHORIZATION, &app.admin_key)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    let json = "application/json";
    let cases: Vec<(Vec<u8>, &str, StatusCode, &str, &str)> = vec![
        (
            b"{".to_vec(),
            json,
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "",
        ),
        (
            b"".to_vec(),
            json,
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "",
        ),
        (
            br#"{"FirstName": 5}"#.to_vec(),
            json,
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "FirstName",
        ),
        (
            br#"{"FirstName": "A", "ShareType": 3}"#.to_vec(),
            json,
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "ShareType",
        ),
        (
            br#"{"FirstName": "A", "CommonData": [{"InfoType": 18, "Data": "x"}]}"#.to_vec(),
            json,
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "CommonData[0].InfoType",
        ),
        (
            br#"{"FirstName": "A", "Firstname": "B"}"#.to_vec(),
            json,
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "Firstname",
        ),
        (
            br#"{"LastName": "A"}"#.to_vec(),
            json,
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "FirstName",
        ),
        (
            br#"{"FirstName": "A"}"#.to_vec(),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "",
        ),
        (
            format!(r#"{{"FirstName": "{}"}}"#, "x".repeat(2 * 1024 * 1024)).into_bytes(),
            json,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "",
        ),
        (
            format!(
                r#"{{"FirstName": "A", "Tags": {}{}}}"#,
                "[".repeat(50_000),
                "]".repeat(50_000)
            )
            .into_bytes(),
            json,
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "Tags",
        ),
    ];
    for (body, content_type, status, code, names) in cases {
        let preview = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let response = post(body, content_type).await.unwrap();
        assert_eq!(response.status(), status, "{preview}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["Code"], code, "{preview}: {error}");
        assert!(
            error["Message"].as_str().unwrap().contains(names),
            "{preview}: {error}"
        );
    }
    assert_eq!(contact::Entity::find().count(&app.db).await.unwrap(), 0);
}

async fn private_contacts_are_readable_by_admins_and_their_access_list_only(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (listed, listed_key) = app.member("Lena Listed").await;
    let (_, other_key) = app.member("Otto Other").await;
    let mut private = person("Secret");
    private.share_type = ShareType::None;
    private.access_list = vec![listed.id];
    let private = app
        .admin_client()
        .create_person(&private)
        .await
        .unwrap()
        .into_inner();
    let mut read_only = person("Open");
    read_only.share_type = ShareType::Read;
    let read_only = app
        .admin_client()
        .create_person(&read_only)
        .await
        .unwrap()
        .into_inner();

    let (status, error) = error_status(app.client(&other_key).get_contact(cid(private.id)).await);
    assert_eq!((status, error.code.as_str()), (403, "forbidden"));
    let seen = app
        .client(&listed_key)
        .get_contact(cid(private.id))
        .await
        .unwrap()
        .into_inner();
    assert!(seen.can_edit && seen.can_delete);
    app.admin_client()
        .get_contact(cid(private.id))
        .await
        .unwrap();
    let seen = app
        .client(&other_key)
        .get_contact(cid(read_only.id))
        .await
        .unwrap()
        .into_inner();
    assert!(!seen.can_edit && !seen.can_delete);
    let (status, _) = error_status(app.admin_client().get_contact(cid(2_000_000)).await);
    assert_eq!(status, 404);

    // Tasks need edit rights on the contact, and an existing contact.
    let task = |contact_id| NewTask {
        title: "Call".into(),
        contact_id,
        deadline: None,
        is_closed: false,
    };
    let (status, _) = error_status(
        app.client(&other_key)
            .create_task(&task(read_only.id))
            .await,
    );
    assert_eq!(status, 403);
    let (status, error) = error_status(app.admin_client().create_task(&task(2_000_000)).await);
    assert_eq!(status, 422);
    assert!(error.message.starts_with("ContactId"));
}

async fn reference_data_is_for_admins(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (_, member_key) = app.member("Mo Member").await;
    let member = app.client(&member_key);
    let admin = app.admin_client();
    let item = |title: &str| NewListItem {
        title: title.into(),
        description: String::new(),
        color: "#123456".into(),
        sort_order: None,
    };

    let (status, _) = error_status(member.create_contact_status(&item("Lost")).await);
    assert_eq!(status, 403);
    let (status, _) = error_status(member.create_contact_type(&item("Reseller")).await);
    assert_eq!(status, 403);
    let (status, _) = error_status(
        member
            .create_custom_field(
                &EntityType::Person,
                &field("Hobby", FieldType::TextField, 0),
            )
            .await,
    );
    assert_eq!(status, 403);

    let lost = admin.create_contact_status(&item("Lost")).await.unwrap();
    assert_eq!(lost.status(), StatusCode::CREATED);
    assert_eq!(lost.into_inner().sort_order, 3, "after Cold, Warm, Hot");
    let (status, _) = error_status(admin.create_contact_status(&item("lost")).await);
    assert_eq!(status, 409);
    let reseller = admin
        .create_contact_type(&item("Reseller"))
        .await
        .unwrap()
        .into_inner();
    let titles: Vec<_> = member
        .list_contact_types()
        .await
        .unwrap()
        .into_inner()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(
        titles,
        ["Client", "Supplier", "Partner", "Competitor", "Reseller"]
    );
    assert_eq!(reseller.sort_order, 4);

    let first = admin
        .create_custom_field(
            &EntityType::Company,
            &NewCustomField {
                position: None,
                ..field("A", FieldType::TextField, 0)
            },
        )
        .await
        .unwrap()
        .into_inner();
    let second = admin
        .create_custom_field(
            &EntityType::Company,
            &NewCustomField {
                position: None,
                ..field("B", FieldType::CheckBox, 0)
            },
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.position, second.position), (0, 1));
    let listed = member
        .list_custom_fields(&EntityType::Company)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.len(), 2);
    assert!(
        member
            .list_custom_fields(&EntityType::Person)
            .await
            .unwrap()
            .into_inner()
            .is_empty()
    );
    // The client cannot name another kind; the server answers one with a 400.
    let response = reqwest::Client::new()
        .get(app.url("/api/2.0/crm/deal/customfield/definitions"))
        .header(header::AUTHORIZATION, &member_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: types::Error = response.json().await.unwrap();
    assert!(error.message.starts_with("entityType"), "{}", error.message);

    let currencies = member.list_currencies().await.unwrap().into_inner();
    assert!(currencies.len() >= 30);
    assert!(
        currencies
            .windows(2)
            .all(|w| w[0].abbreviation < w[1].abbreviation)
    );
    assert!(
        currencies
            .iter()
            .any(|c| c.abbreviation == "EUR" && c.symbol == "€")
    );
}

/// When a list's last item sits at `i32::MAX`, an item without a `SortOrder` has no place: a
/// new title gets 422 asking for one, but a title the list already has gets its 409 — no
/// position would make it acceptable.
async fn a_full_list_still_answers_a_taken_title_with_409(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let admin = app.admin_client();
    let item = |title: &str, sort_order: Option<i32>| NewListItem {
        title: title.into(),
        description: String::new(),
        color: String::new(),
        sort_order,
    };
    let last = admin
        .create_contact_status(&item("Last", Some(i32::MAX)))
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::CREATED);
    let (status, error) = error_status(admin.create_contact_status(&item(" hot ", None)).await);
    assert_eq!(status, 409, "{error:?}");
    assert!(error.message.starts_with("Title:"), "{}", error.message);
    let (status, error) = error_status(admin.create_contact_status(&item("Lost", None)).await);
    assert_eq!(status, 422, "{error:?}");
    assert!(error.message.starts_with("SortOrder:"), "{}", error.message);
    let placed = admin
        .create_contact_status(&item("Lost", Some(7)))
        .await
        .unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
}

crate::backend_tests!(
    a_full_list_still_answers_a_taken_title_with_409,
    create_read_and_delete_a_company_and_a_person,
    invalid_contacts_are_rejected_and_nothing_is_written,
    bad_bodies_get_4xx_errors,
    private_contacts_are_readable_by_admins_and_their_access_list_only,
    reference_data_is_for_admins,
);
