//! Contacts put in place through the server's data layer.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use crm_models::{
    Address, Contact, ContactInfo, Currency, CustomField, Employee, FieldType, InfoType, ShareType,
};
use crm_server::{
    actor::Actor,
    testkit::entities::{
        contact, contact_access, contact_info, contact_tag, currency, custom_field,
        custom_field_value, list_item, tag, task, user,
    },
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

/// A contact row with defaults: a private person created by `creator`.
pub fn person(creator: Uuid, first: &str, last: &str) -> contact::ActiveModel {
    contact::ActiveModel {
        is_company: Set(false),
        first_name: Set(first.to_owned()),
        last_name: Set(last.to_owned()),
        company_name: Set(String::new()),
        job_title: Set(String::new()),
        company_id: Set(None),
        about: Set(String::new()),
        industry: Set(String::new()),
        status_id: Set(None),
        type_id: Set(None),
        currency: Set(None),
        share_type: Set(ShareType::None.value() as i16),
        created_by: Set(creator),
        created_at: Set(now()),
        small_photo_url: Set(None),
        medium_photo_url: Set(None),
        ..Default::default()
    }
}

/// A company row with defaults.
pub fn company(creator: Uuid, name: &str) -> contact::ActiveModel {
    let mut row = person(creator, "", "");
    row.is_company = Set(true);
    row.company_name = Set(name.to_owned());
    row
}

/// Whole seconds, so the value survives every backend's timestamp precision.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Inserts a contact row and returns its ID.
pub async fn insert(db: &DatabaseConnection, row: contact::ActiveModel) -> i32 {
    row.insert(db).await.expect("contact").id
}

/// `n` persons shared read-write, first name `first` and last name their number, inserted 500 to
/// a statement (fast enough for batches of hundreds); returns their IDs in ascending order.
pub async fn people(db: &DatabaseConnection, creator: Uuid, first: &str, n: usize) -> Vec<i32> {
    let numbers: Vec<usize> = (0..n).collect();
    for chunk in numbers.chunks(500) {
        contact::Entity::insert_many(chunk.iter().map(|i| {
            let mut row = person(creator, first, &format!("{i:04}"));
            row.share_type = Set(ShareType::ReadWrite.value() as i16);
            row
        }))
        .exec_without_returning(db)
        .await
        .expect("people");
    }
    let ids: Vec<i32> = contact::Entity::find()
        .filter(contact::Column::FirstName.eq(first))
        .order_by_asc(contact::Column::Id)
        .all(db)
        .await
        .expect("query")
        .into_iter()
        .map(|row| row.id)
        .collect();
    assert_eq!(ids.len(), n, "persons named {first}");
    ids
}

/// A contact with the given share type and optional access list, returning its ID.
pub async fn shared(
    db: &DatabaseConnection,
    creator: Uuid,
    share: ShareType,
    access: &[Uuid],
) -> i32 {
    let mut row = person(creator, "Shared", &format!("{share}"));
    row.share_type = Set(share.value() as i16);
    let id = insert(db, row).await;
    for user_id in access {
        grant(db, id, *user_id).await;
    }
    id
}

/// Puts a user on a contact's access list.
pub async fn grant(db: &DatabaseConnection, contact_id: i32, user_id: Uuid) {
    contact_access::ActiveModel {
        contact_id: Set(contact_id),
        user_id: Set(user_id),
    }
    .insert(db)
    .await
    .expect("access");
}

async fn list_item_by_title(db: &DatabaseConnection, kind: i16, title: &str) -> list_item::Model {
    list_item::Entity::find()
        .filter(list_item::Column::Kind.eq(kind))
        .filter(list_item::Column::Title.eq(title))
        .one(db)
        .await
        .expect("query")
        .expect("seeded list item")
}

async fn define_field(
    db: &DatabaseConnection,
    entity_type: i16,
    label: &str,
    field_type: FieldType,
    position: i32,
) -> custom_field::Model {
    custom_field::ActiveModel {
        entity_type: Set(entity_type),
        label: Set(label.to_owned()),
        field_type: Set(field_type.value() as i16),
        mask: Set(String::new()),
        position: Set(position),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("custom field")
}

async fn tag_titled(db: &DatabaseConnection, title: &str) -> i32 {
    tag::ActiveModel {
        title: Set(title.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("tag")
    .id
}

fn employee(user: &user::Model) -> Employee {
    Employee {
        id: user.id,
        display_name: user.display_name.clone(),
        title: user.title.clone(),
        avatar_small: user.avatar_small.clone(),
        profile_url: user.profile_url.clone(),
    }
}

/// A person with every nested collection filled, and the contact the API must return for it
/// (`CanEdit`/`CanDelete` as seen by an administrator), written out by hand from the inputs.
///
/// Besides the contact it creates a tag and a custom-field value on another contact, a company
/// field and an unused person field, none of which may appear in the response.
pub async fn full_person(
    db: &DatabaseConnection,
    creator: &Actor,
    reader: &Actor,
) -> (i32, Contact) {
    let user = |id: Uuid| async move {
        user::Entity::find_by_id(id)
            .one(db)
            .await
            .expect("query")
            .expect("the user exists")
    };
    let (creator, reader) = (user(creator.id).await, user(reader.id).await);
    let warm = list_item_by_title(db, list_item::KIND_STATUS, "Warm").await;
    let client = list_item_by_title(db, list_item::KIND_TYPE, "Client").await;
    let euro = currency::Entity::find_by_id("EUR".to_owned())
        .one(db)
        .await
        .expect("query")
        .expect("seeded currency");
    let created = now();

    let mut row = person(creator.id, "Jane", "Doe");
    row.job_title = Set("Buyer".to_owned());
    row.about = Set("Met at the trade fair.".to_owned());
    row.industry = Set("Logistics".to_owned());
    row.status_id = Set(Some(warm.id));
    row.type_id = Set(Some(client.id));
    row.currency = Set(Some("EUR".to_owned()));
    row.share_type = Set(ShareType::Read.value() as i16);
    row.created_at = Set(created);
    let id = insert(db, row).await;
    let other = insert(db, person(creator.id, "Other", "Person")).await;

    let info = |info_type: InfoType, category: i16, data: &str, primary: bool| {
        let mut row = contact_info::ActiveModel::blank(id, info_type, category, primary);
        row.data = Set(data.to_owned());
        row
    };
    // Inserted out of order: the response orders by InfoType, then ID.
    let email = info(InfoType::Email, 1, "jane@example.com", true)
        .insert(db)
        .await
        .expect("email");
    let phone = info(InfoType::Phone, 2, "+371 2000 0000", true)
        .insert(db)
        .await
        .expect("phone");
    let mut office = info(InfoType::Address, 2, "", true);
    office.street = Set("12 Harbour Road".to_owned());
    office.city = Set("Riga".to_owned());
    office.zip = Set("LV-1010".to_owned());
    office.country = Set("Latvia".to_owned());
    office.insert(db).await.expect("address");
    let mut billing = info(InfoType::Address, 3, "", false);
    billing.street = Set("PO Box 7".to_owned());
    billing.city = Set("Jurmala".to_owned());
    billing.state = Set("Riga region".to_owned());
    billing.zip = Set("LV-2015".to_owned());
    billing.country = Set("Latvia".to_owned());
    billing.insert(db).await.expect("address");

    let heading = define_field(
        db,
        custom_field::FOR_PERSON,
        "Details",
        FieldType::Heading,
        0,
    )
    .await;
    let since = define_field(
        db,
        custom_field::FOR_CONTACT,
        "Customer since",
        FieldType::Date,
        2,
    )
    .await;
    let notes = define_field(
        db,
        custom_field::FOR_PERSON,
        "Notes",
        FieldType::TextArea,
        1,
    )
    .await;
    let unused = define_field(
        db,
        custom_field::FOR_PERSON,
        "Unused",
        FieldType::TextField,
        3,
    )
    .await;
    let company_only = define_field(
        db,
        custom_field::FOR_COMPANY,
        "Employees",
        FieldType::TextField,
        4,
    )
    .await;
    for (field, contact_id, value) in [
        (since.id, id, "2019-05-01"),
        (notes.id, id, "Prefers email."),
        (company_only.id, id, "should not show"),
        (unused.id, other, "someone else's"),
    ] {
        custom_field_value::ActiveModel {
            contact_id: Set(contact_id),
            field_id: Set(field),
            value: Set(value.to_owned()),
        }
        .insert(db)
        .await
        .expect("value");
    }

    for title in ["vip", "partner", "berlin-2026"] {
        let tag_id = tag_titled(db, title).await;
        contact_tag::ActiveModel {
            contact_id: Set(id),
            tag_id: Set(tag_id),
        }
        .insert(db)
        .await
        .expect("tag link");
    }
    let elsewhere = tag_titled(db, "elsewhere").await;
    contact_tag::ActiveModel {
        contact_id: Set(other),
        tag_id: Set(elsewhere),
    }
    .insert(db)
    .await
    .expect("tag link");

    for (title, deadline, closed) in [
        ("Call back", Some(created - Duration::days(2)), false),
        ("Send offer", Some(created - Duration::days(9)), true),
    ] {
        task::ActiveModel {
            contact_id: Set(id),
            title: Set(title.to_owned()),
            deadline: Set(deadline),
            is_closed: Set(closed),
            created_at: Set(created),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("task");
    }
    grant(db, id, reader.id).await;

    let expected = Contact {
        addresses: vec![
            Address {
                street: "12 Harbour Road".into(),
                city: "Riga".into(),
                state: String::new(),
                zip: "LV-1010".into(),
                country: "Latvia".into(),
                category: 2,
                category_name: "Office".into(),
                is_primary: true,
            },
            Address {
                street: "PO Box 7".into(),
                city: "Jurmala".into(),
                state: "Riga region".into(),
                zip: "LV-2015".into(),
                country: "Latvia".into(),
                category: 3,
                category_name: "Billing".into(),
                is_primary: false,
            },
        ],
        create_by: employee(&creator),
        created,
        about: "Met at the trade fair.".into(),
        industry: "Logistics".into(),
        contact_status: Some(warm.into()),
        contact_type: Some(client.into()),
        common_data: vec![
            ContactInfo {
                info_type: InfoType::Phone,
                category: 2,
                data: "+371 2000 0000".into(),
                category_name: "Mobile".into(),
                is_primary: true,
                id: phone.id,
            },
            ContactInfo {
                info_type: InfoType::Email,
                category: 1,
                data: "jane@example.com".into(),
                category_name: "Work".into(),
                is_primary: true,
                id: email.id,
            },
        ],
        custom_fields: vec![
            CustomField {
                entity_id: id,
                label: "Details".into(),
                field_value: String::new(),
                field_type: FieldType::Heading,
                position: 0,
                mask: String::new(),
                id: heading.id,
            },
            CustomField {
                entity_id: id,
                label: "Notes".into(),
                field_value: "Prefers email.".into(),
                field_type: FieldType::TextArea,
                position: 1,
                mask: String::new(),
                id: notes.id,
            },
            CustomField {
                entity_id: id,
                label: "Customer since".into(),
                field_value: "2019-05-01".into(),
                field_type: FieldType::Date,
                position: 2,
                mask: String::new(),
                id: since.id,
            },
        ],
        tags: vec!["berlin-2026".into(), "partner".into(), "vip".into()],
        task_count: 2,
        have_late_tasks: true,
        small_foto_url: "/images/person_40.svg".into(),
        medium_foto_url: "/images/person_82.svg".into(),
        display_name: "Jane Doe".into(),
        is_company: false,
        access_list: vec![employee(&reader)],
        is_private: false,
        is_shared: true,
        share_type: ShareType::Read,
        currency: Some(Currency {
            title: euro.title,
            symbol: euro.symbol,
            abbreviation: euro.abbreviation,
            culture_name: euro.culture_name,
            is_convertable: euro.is_convertable,
            is_basic: euro.is_basic,
        }),
        can_edit: true,
        can_delete: true,
        id,
    };
    (id, expected)
}
