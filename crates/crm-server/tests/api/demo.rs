//! The demo data (`crm_server::demo`): loaded once, complete, and usable through the API.

use chrono::Utc;
use crm_models::ShareType;
use crm_server::{
    demo::{self, DemoOutcome},
    users,
};
use crm_testkit::entities::{
    contact, contact_access, contact_info, contact_tag, custom_field, custom_field_value,
    list_item, setting, tag, task, user,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::helpers::{Backend, TestApp, cid, error_status};

/// How many rows each table the demo data writes holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    contacts: u64,
    infos: u64,
    fields: u64,
    values: u64,
    tags: u64,
    tag_links: u64,
    access: u64,
    tasks: u64,
    users: u64,
    settings: u64,
}

async fn counts(db: &DatabaseConnection) -> Counts {
    Counts {
        contacts: contact::Entity::find().count(db).await.unwrap(),
        infos: contact_info::Entity::find().count(db).await.unwrap(),
        fields: custom_field::Entity::find().count(db).await.unwrap(),
        values: custom_field_value::Entity::find().count(db).await.unwrap(),
        tags: tag::Entity::find().count(db).await.unwrap(),
        tag_links: contact_tag::Entity::find().count(db).await.unwrap(),
        access: contact_access::Entity::find().count(db).await.unwrap(),
        tasks: task::Entity::find().count(db).await.unwrap(),
        users: user::Entity::find().count(db).await.unwrap(),
        settings: setting::Entity::find().count(db).await.unwrap(),
    }
}

/// The demo person the API tests read and delete.
async fn demo_person(db: &DatabaseConnection, first_name: &str) -> contact::Model {
    contact::Entity::find()
        .filter(contact::Column::FirstName.eq(first_name))
        .one(db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("the demo person {first_name}"))
}

async fn the_demo_data_loads_once(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let db = &app.db;
    let empty = counts(db).await;
    assert!(!demo::is_loaded(db).await.unwrap());

    let DemoOutcome::Loaded { contacts, tasks } = demo::load(db).await.unwrap() else {
        panic!("the first load loads");
    };
    assert_eq!(
        (contacts, tasks),
        (11, 10),
        "demo/demo.json's contacts and tasks"
    );
    assert!(demo::is_loaded(db).await.unwrap());
    let loaded = counts(db).await;
    assert_eq!(loaded.contacts - empty.contacts, contacts as u64);
    assert_eq!(loaded.tasks - empty.tasks, tasks as u64);
    assert_eq!(
        loaded.users - empty.users,
        2,
        "Sam Sales and Petra Purchasing"
    );
    assert_eq!(
        loaded.fields - empty.fields,
        4,
        "Details, Birthday, Source, Employees"
    );
    assert_eq!(loaded.settings, 1, "the marker");
    for (what, before, after) in [
        ("infos", empty.infos, loaded.infos),
        ("custom-field values", empty.values, loaded.values),
        ("tags", empty.tags, loaded.tags),
        ("tag links", empty.tag_links, loaded.tag_links),
        ("access entries", empty.access, loaded.access),
    ] {
        assert!(after > before, "the demo data has {what}");
    }
    assert!(
        loaded.tag_links > loaded.tags,
        "some tags are shared between contacts"
    );

    // A second load, as a second start with `--demo-data` would do, adds nothing.
    assert_eq!(demo::load(db).await.unwrap(), DemoOutcome::AlreadyLoaded);
    assert_eq!(counts(db).await, loaded);

    let all = contact::Entity::find().all(db).await.unwrap();
    let companies = all.iter().filter(|c| c.is_company).count();
    let persons = all.iter().filter(|c| !c.is_company).count();
    assert!(companies >= 3, "{companies} companies");
    assert!(persons >= 6, "{persons} persons");
    assert!(
        all.iter().all(|c| c.created_by == app.admin.id),
        "the first administrator creates every contact"
    );
    assert!(
        all.iter()
            .filter(|c| !c.is_company)
            .filter(|c| c.company_id.is_some())
            .count()
            >= 6,
        "the people belong to the companies"
    );
    let share = |share: ShareType| {
        all.iter()
            .filter(|c| c.share_type == share.value() as i16)
            .count()
    };
    assert!(share(ShareType::None) >= 1, "a private contact");
    assert!(share(ShareType::Read) >= 1, "a read-only contact");
    assert!(
        share(ShareType::ReadWrite) > share(ShareType::None) + share(ShareType::Read),
        "most contacts are shared read-write"
    );
    for currency in ["EUR", "USD", "GBP"] {
        assert!(
            all.iter().any(|c| c.currency.as_deref() == Some(currency)),
            "a contact in {currency}"
        );
    }

    let tasks = task::Entity::find().all(db).await.unwrap();
    let now = Utc::now();
    let late = |t: &&task::Model| !t.is_closed && t.deadline.is_some_and(|d| d < now);
    let on_time = |t: &&task::Model| !t.is_closed && t.deadline.is_some_and(|d| d > now);
    assert!(tasks.iter().filter(late).count() >= 1, "a late open task");
    assert!(
        tasks.iter().filter(on_time).count() >= 1,
        "an open task on time"
    );
    assert!(tasks.iter().any(|t| t.is_closed), "a closed task");
}

async fn a_demo_contact_reads_and_deletes_through_the_api(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    demo::load(&app.db).await.unwrap();
    let before = counts(&app.db).await;
    let nancy = demo_person(&app.db, "Nancy").await;
    let admin = app.admin_client();

    let read = admin.get_contact(cid(nancy.id)).await.unwrap().into_inner();
    assert_eq!(read.display_name, "Nancy Davolio");
    assert!(!read.common_data.is_empty(), "CommonData");
    assert!(!read.addresses.is_empty(), "Addresses");
    assert!(!read.custom_fields.is_empty(), "CustomFields");
    assert!(!read.tags.is_empty(), "Tags");
    assert!(read.contact_status.is_some() && read.contact_type.is_some());
    assert!(read.currency.is_some());
    assert!(read.have_late_tasks);
    let labels: Vec<&str> = read
        .custom_fields
        .iter()
        .map(|f| f.label.as_str())
        .collect();
    assert_eq!(labels, ["Details", "Birthday", "Source"]);

    let response = admin.delete_contact(cid(nancy.id)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.into_inner().display_name, "Nancy Davolio");
    let (status, _) = error_status(admin.get_contact(cid(nancy.id)).await);
    assert_eq!(status, 404);
    assert_eq!(counts(&app.db).await.contacts, before.contacts - 1);
    // Deleting demo contacts does not make the demo data load again.
    assert_eq!(
        demo::load(&app.db).await.unwrap(),
        DemoOutcome::AlreadyLoaded
    );
}

/// A demo user: a key for it, and its ID.
async fn demo_user(app: &TestApp, name: &str) -> (crm_client::Client, uuid::Uuid) {
    let user = user::Entity::find()
        .filter(user::Column::DisplayName.eq(name))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("the demo user {name}"));
    assert!(!user.is_admin, "{name} is no administrator");
    let (_, key) = users::create_key(&app.db, user.id, "test", None)
        .await
        .unwrap();
    (app.client(&key), user.id)
}

/// What the README says the demo users see: the shared contacts, and the private ones whose
/// access list names them; Martin Okafor is for the administrators only.
async fn the_demo_users_see_what_their_access_lists_give_them(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    demo::load(&app.db).await.unwrap();
    let (sam, sam_id) = demo_user(&app, "Sam Sales").await;
    let (petra, petra_id) = demo_user(&app, "Petra Purchasing").await;
    let (_, other_key) = app.member("Otto Other").await;
    let other = app.client(&other_key);
    let andrew = demo_person(&app.db, "Andrew").await;
    let ilze = demo_person(&app.db, "Ilze").await;
    let tom = demo_person(&app.db, "Tom").await;
    let martin = demo_person(&app.db, "Martin").await;
    for private in [&andrew, &ilze, &martin] {
        assert_eq!(private.share_type, ShareType::None.value() as i16);
    }

    let seen = sam.get_contact(cid(andrew.id)).await.unwrap().into_inner();
    assert!(seen.is_private);
    assert!(seen.access_list.iter().any(|e| e.id == sam_id));
    let seen = petra.get_contact(cid(ilze.id)).await.unwrap().into_inner();
    assert!(seen.access_list.iter().any(|e| e.id == petra_id));
    for client in [&sam, &petra] {
        let seen = client.get_contact(cid(tom.id)).await.unwrap().into_inner();
        assert!(seen.can_edit && seen.can_delete, "Tom Reid lists both");
    }
    for (who, client, id) in [
        ("Sam", &sam, ilze.id),
        ("Sam", &sam, martin.id),
        ("Petra", &petra, andrew.id),
        ("Petra", &petra, martin.id),
        ("another user", &other, andrew.id),
        ("another user", &other, ilze.id),
    ] {
        let (status, _) = error_status(client.get_contact(cid(id)).await);
        assert_eq!(status, 403, "{who} may not read contact {id}");
    }
}

/// A load that fails half-way (here: at the last contact, whose contact type an administrator
/// removed) writes nothing, not even the users and custom fields created before, and names
/// the contact and the name it could not resolve.
async fn a_load_that_fails_writes_nothing(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let before = counts(&app.db).await;
    list_item::Entity::delete_many()
        .filter(list_item::Column::Title.eq("Competitor"))
        .exec(&app.db)
        .await
        .unwrap();
    let error = format!("{:#}", demo::load(&app.db).await.unwrap_err());
    assert!(
        error.contains(r#""Martin Okafor""#)
            && error.contains(r#"no contact type "Competitor" exists"#),
        "{error}"
    );
    assert!(!demo::is_loaded(&app.db).await.unwrap());
    assert_eq!(counts(&app.db).await, before);
}

/// Without an administrator to own the contacts, the load fails and writes nothing.
async fn without_an_administrator_nothing_is_loaded(backend: Backend) {
    let (_scratch, url) = crate::helpers::scratch(&backend).await;
    let db = crm_server::db::connect_and_migrate(&crm_server::db::DbConfig::new(url))
        .await
        .unwrap();
    let error = demo::load(&db).await.unwrap_err();
    assert!(
        format!("{error:#}").contains("no administrator exists"),
        "{error:#}"
    );
    assert!(!demo::is_loaded(&db).await.unwrap());
    let written = counts(&db).await;
    assert_eq!(
        (
            written.contacts,
            written.fields,
            written.users,
            written.tasks
        ),
        (0, 0, 0, 0)
    );
}

/// Two loads at the same moment (two instances started together with `--demo-data`) load the
/// data once: the second waits for the first's transaction (PostgreSQL: the set-up lock;
/// SQLite: the write turn), then finds the marker.
async fn two_loads_at_once_load_once(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (a, b) = tokio::join!(demo::load(&app.db), demo::load(&app.db));
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|outcome| matches!(outcome, DemoOutcome::AlreadyLoaded));
    assert!(matches!(outcomes[0], DemoOutcome::Loaded { .. }));
    assert_eq!(outcomes[1], DemoOutcome::AlreadyLoaded);
    assert_eq!(
        user::Entity::find()
            .filter(user::Column::DisplayName.eq("Sam Sales"))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
}

crate::backend_tests!(
    the_demo_data_loads_once,
    a_demo_contact_reads_and_deletes_through_the_api,
    the_demo_users_see_what_their_access_lists_give_them,
    a_load_that_fails_writes_nothing,
    without_an_administrator_nothing_is_loaded,
    two_loads_at_once_load_once,
);
