//! Deleting many contacts at once (`PUT /api/2.0/crm/contact`), the trash
//! (`GET /api/2.0/crm/contact/trash`, `POST /api/2.0/crm/contact/{contactid}/restore`) and
//! erasure (`DELETE /api/2.0/crm/contact/trash/{contactid}`), driven over raw HTTP so that every
//! response is compared as the JSON it is.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    sync::atomic::Ordering,
    time::Duration,
};

use chrono::{DateTime, Utc};
use crm_models::{InfoType, ShareType};
use crm_server::contacts::trash::DEFAULT_RETENTION;
use crm_testkit::entities::{
    audit_event, contact, contact_access, contact_info, contact_tag, custom_field,
    custom_field_value, list_item, tag, task, user,
};
use reqwest::{Method, header};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, Set, Statement,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    fixtures,
    helpers::{Backend, TestApp, count, orphans},
    race::{raw_request, release_together},
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The longest a test of this module may take.
const LIMIT: Duration = Duration::from_secs(240);

/// Runs a test body, failing it when it takes longer than [`LIMIT`].
async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(LIMIT, test)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {LIMIT:?}"));
}

const CONTACTS: &str = "/api/2.0/crm/contact";
const TRASH: &str = "/api/2.0/crm/contact/trash";

/// An empty list of IDs.
const NOTHING: Vec<i64> = Vec::new();

/// An ID no contact has.
const MISSING: i32 = 2_000_000_000;

/// Sends a request with `key` and returns the status and the JSON body (`Null` when empty).
async fn call(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut request = client
        .request(method.clone(), app.url(path))
        .header(header::AUTHORIZATION, key);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"))
    };
    (status, body)
}

async fn get(app: &TestApp, key: &str, id: i32) -> (u16, Value) {
    call(app, key, Method::GET, &format!("{CONTACTS}/{id}"), None).await
}

/// The contact as `key`'s user sees it; panics unless the answer is 200.
async fn get_ok(app: &TestApp, key: &str, id: i32) -> Value {
    let (status, body) = get(app, key, id).await;
    assert_eq!(status, 200, "GET {id}: {body}");
    body
}

async fn delete_one(app: &TestApp, key: &str, id: i32) -> (u16, Value) {
    call(app, key, Method::DELETE, &format!("{CONTACTS}/{id}"), None).await
}

async fn batch(app: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    call(app, key, Method::PUT, CONTACTS, Some(body)).await
}

/// `PUT /api/2.0/crm/contact` with a body as written, as the administrator.
async fn raw_batch(app: &TestApp, body: &'static str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .put(app.url(CONTACTS))
        .header(header::AUTHORIZATION, &app.admin_key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn list(app: &TestApp, key: &str, query: &str) -> (u16, Value) {
    let path = if query.is_empty() {
        TRASH.to_owned()
    } else {
        format!("{TRASH}?{query}")
    };
    call(app, key, Method::GET, &path, None).await
}

/// The IDs the trash lists for `key`'s user with `query`; panics unless the answer is 200.
async fn listed(app: &TestApp, key: &str, query: &str) -> Vec<i64> {
    let (status, body) = list(app, key, query).await;
    assert_eq!(status, 200, "GET trash?{query}: {body}");
    ids_of(&body)
}

async fn restore(app: &TestApp, key: &str, id: impl std::fmt::Display) -> (u16, Value) {
    call(
        app,
        key,
        Method::POST,
        &format!("{CONTACTS}/{id}/restore"),
        None,
    )
    .await
}

async fn erase(app: &TestApp, key: &str, id: impl std::fmt::Display) -> (u16, Value) {
    call(app, key, Method::DELETE, &format!("{TRASH}/{id}"), None).await
}

/// The `ID`s of a JSON array of contacts or trash entries.
fn ids_of(body: &Value) -> Vec<i64> {
    body.as_array()
        .unwrap_or_else(|| panic!("not an array: {body}"))
        .iter()
        .map(|item| {
            item["ID"]
                .as_i64()
                .unwrap_or_else(|| panic!("no ID: {item}"))
        })
        .collect()
}

/// Asserts an error body: its status, its code, and that its message starts with `prefix`.
fn assert_error(what: &str, status: u16, body: &Value, expected: u16, code: &str, prefix: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    assert_eq!(body["Status"], expected, "{what}: {body}");
    assert_eq!(body["Code"], code, "{what}: {body}");
    let message = body["Message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(prefix),
        "{what}: the message should start with {prefix:?}: {body}"
    );
}

async fn exists(db: &DatabaseConnection, id: i32) -> bool {
    count(
        db,
        &format!("SELECT COUNT(*) AS n FROM contacts WHERE id = {id}"),
    )
    .await
        == 1
}

async fn in_trash(db: &DatabaseConnection, id: i32) -> bool {
    count(
        db,
        &format!("SELECT COUNT(*) AS n FROM contact_trash WHERE contact_id = {id}"),
    )
    .await
        == 1
}

async fn trash_rows(db: &DatabaseConnection) -> i64 {
    count(db, "SELECT COUNT(*) AS n FROM contact_trash").await
}

/// The audit records of a contact, oldest first.
async fn audit_of(db: &DatabaseConnection, id: i32) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::ContactId.eq(id))
        .order_by_asc(audit_event::Column::Id)
        .all(db)
        .await
        .unwrap()
}

/// How many `…Deleted` and `…Restored` audit records a contact has.
async fn audit_counts(db: &DatabaseConnection, id: i32) -> (usize, usize) {
    let audit = audit_of(db, id).await;
    let deleted = audit
        .iter()
        .filter(|a| a.action.ends_with("Deleted"))
        .count();
    let restored = audit
        .iter()
        .filter(|a| a.action.ends_with("Restored"))
        .count();
    assert_eq!(deleted + restored, audit.len(), "{audit:?}");
    (deleted, restored)
}

async fn company_of(db: &DatabaseConnection, id: i32) -> Option<i32> {
    contact::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("contact {id} exists"))
        .company_id
}

async fn set_company(db: &DatabaseConnection, id: i32, company: Option<i32>) {
    let mut row: contact::ActiveModel = contact::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into();
    row.company_id = Set(company);
    row.update(db).await.unwrap();
}

/// A company shared read-write.
async fn company(db: &DatabaseConnection, creator: Uuid, name: &str) -> i32 {
    let mut row = fixtures::company(creator, name);
    row.share_type = Set(ShareType::ReadWrite.value() as i16);
    fixtures::insert(db, row).await
}

/// A person shared read-write, optionally of a company.
async fn person(db: &DatabaseConnection, creator: Uuid, name: &str, company: Option<i32>) -> i32 {
    let mut row = fixtures::person(creator, name, "Smith");
    row.share_type = Set(ShareType::ReadWrite.value() as i16);
    row.company_id = Set(company);
    fixtures::insert(db, row).await
}

/// Every row of a contact, to compare before a delete and after its restore.
#[derive(Debug, PartialEq)]
struct Rows {
    contact: Option<contact::Model>,
    infos: Vec<contact_info::Model>,
    values: Vec<custom_field_value::Model>,
    tags: Vec<contact_tag::Model>,
    tasks: Vec<task::Model>,
    access: Vec<contact_access::Model>,
}

impl Rows {
    fn children(&self) -> usize {
        self.infos.len()
            + self.values.len()
            + self.tags.len()
            + self.tasks.len()
            + self.access.len()
    }
}

async fn rows(db: &DatabaseConnection, id: i32) -> Rows {
    Rows {
        contact: contact::Entity::find_by_id(id).one(db).await.unwrap(),
        infos: contact_info::Entity::find()
            .filter(contact_info::Column::ContactId.eq(id))
            .order_by_asc(contact_info::Column::Id)
            .all(db)
            .await
            .unwrap(),
        values: custom_field_value::Entity::find()
            .filter(custom_field_value::Column::ContactId.eq(id))
            .order_by_asc(custom_field_value::Column::FieldId)
            .all(db)
            .await
            .unwrap(),
        tags: contact_tag::Entity::find()
            .filter(contact_tag::Column::ContactId.eq(id))
            .order_by_asc(contact_tag::Column::TagId)
            .all(db)
            .await
            .unwrap(),
        tasks: task::Entity::find()
            .filter(task::Column::ContactId.eq(id))
            .order_by_asc(task::Column::Id)
            .all(db)
            .await
            .unwrap(),
        access: contact_access::Entity::find()
            .filter(contact_access::Column::ContactId.eq(id))
            .order_by_asc(contact_access::Column::UserId)
            .all(db)
            .await
            .unwrap(),
    }
}

/// A custom field for persons, for the contacts [`rich_person`] makes.
async fn text_field(db: &DatabaseConnection, label: &str) -> i32 {
    custom_field::ActiveModel {
        entity_type: Set(custom_field::FOR_PERSON),
        label: Set(label.to_owned()),
        field_type: Set(crm_models::FieldType::TextField.value() as i16),
        mask: Set(String::new()),
        position: Set(7),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

async fn new_tag(db: &DatabaseConnection, title: &str) -> i32 {
    tag::ActiveModel {
        title: Set(title.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// A person shared read-write with one of each child row: an email, a value of `field`, a link
/// to `tag`, a task, and `reader` on its access list (five child rows).
async fn rich_person(
    db: &DatabaseConnection,
    creator: Uuid,
    name: &str,
    field: i32,
    tag: i32,
    reader: Uuid,
) -> i32 {
    let id = person(db, creator, name, None).await;
    let mut email = contact_info::ActiveModel::blank(id, InfoType::Email, 1, true);
    email.data = Set(format!("{}@example.com", name.to_lowercase()));
    email.insert(db).await.unwrap();
    custom_field_value::ActiveModel {
        contact_id: Set(id),
        field_id: Set(field),
        value: Set(format!("value of {name}")),
    }
    .insert(db)
    .await
    .unwrap();
    contact_tag::ActiveModel {
        contact_id: Set(id),
        tag_id: Set(tag),
    }
    .insert(db)
    .await
    .unwrap();
    task::ActiveModel {
        contact_id: Set(id),
        title: Set(format!("Call {name}")),
        deadline: Set(None),
        is_closed: Set(false),
        created_at: Set(fixtures::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    fixtures::grant(db, id, reader).await;
    id
}

fn timestamp(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {value}"))
        .with_timezone(&Utc)
}

// ---------------------------------------------------------------------------------------------
// Batch delete
// ---------------------------------------------------------------------------------------------

async fn a_batch_delete_refuses_bad_lists_naming_the_property(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
        let too_many: Vec<i64> = std::iter::once(i64::from(id))
            .chain(1_000_000..1_000_500)
            .collect();
        assert_eq!(too_many.len(), 501);
        let cases = [
            (json!({ "contactids": [] }), "contactids: "),
            (json!({ "contactids": too_many }), "contactids: "),
            (json!({ "contactids": [id, 0] }), "contactids[1]: "),
            (json!({ "contactids": [-1, id] }), "contactids[0]: "),
            (
                json!({ "contactids": [id, id, 2_147_483_648_i64] }),
                "contactids[2]: ",
            ),
        ];
        for (body, prefix) in &cases {
            let (status, error) = batch(&app, &app.admin_key, body).await;
            let what = format!(
                "PUT {}",
                &body.to_string()[..body.to_string().len().min(60)]
            );
            assert_error(&what, status, &error, 400, "invalid_field", prefix);
        }
        // Bodies that do not match the schema: the JSON path names the property.
        let raw_cases = [
            (r#"{"contactids": [1, "2"]}"#, "contactids[1]: "),
            (r#"{"contactids": [1.5]}"#, "contactids[0]: "),
            (
                r#"{"contactids": [99999999999999999999]}"#,
                "contactids[0]: ",
            ),
            (r#"{"contactids": null}"#, "contactids: "),
            (r#"{"contactids": 5}"#, "contactids: "),
        ];
        for (raw, prefix) in raw_cases {
            let (status, error) = raw_batch(&app, raw).await;
            assert_error(raw, status, &error, 400, "invalid_body", prefix);
        }
        let (status, error) = raw_batch(&app, "{}").await;
        assert_eq!(status, 400, "{error}");
        assert!(
            error["Message"]
                .as_str()
                .is_some_and(|m| m.contains("contactids")),
            "{error}"
        );
        assert!(exists(&app.db, id).await, "a refused batch deletes nothing");
        assert!(audit_of(&app.db, id).await.is_empty());

        // The bounds themselves are accepted: 500 IDs, and 2147483647.
        let mut five_hundred: Vec<i64> = (1_000_000..1_000_498).collect();
        five_hundred.push(i64::from(i32::MAX));
        five_hundred.push(i64::from(id));
        assert_eq!(five_hundred.len(), 500);
        let (status, body) =
            batch(&app, &app.admin_key, &json!({ "contactids": five_hundred })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ids_of(&body), [i64::from(id)]);
    })
    .await;
}

async fn a_batch_delete_returns_the_deleted_contacts_as_get_showed_them_and_skips_the_rest(
    backend: Backend,
) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (member, member_key) = app.member("Max Member").await;
        // On the access list of a read-only contact: the member may delete it.
        let (full, _) = fixtures::full_person(db, &app.admin, &member).await;
        let first = fixtures::shared(db, app.admin.id, ShareType::ReadWrite, &[]).await;
        let second = fixtures::shared(db, app.admin.id, ShareType::ReadWrite, &[]).await;
        let acme = company(db, app.admin.id, "Acme Ltd").await;
        let employee = person(db, app.admin.id, "Ann", Some(acme)).await;
        // Another user's private contact, and a read-only one: not the member's to delete.
        let private = fixtures::shared(db, app.admin.id, ShareType::None, &[]).await;
        let read_only = fixtures::shared(db, app.admin.id, ShareType::Read, &[]).await;
        assert_eq!(get(&app, &member_key, private).await.0, 403);

        let mut before = Vec::new();
        for id in [full, first, acme, second] {
            before.push(get_ok(&app, &member_key, id).await);
        }
        let body = json!({
            "contactids": [full, first, first, MISSING, private, read_only, acme, second, full]
        });
        let (status, deleted) = batch(&app, &member_key, &body).await;
        assert_eq!(status, 200, "{deleted}");
        assert_eq!(
            deleted,
            Value::Array(before),
            "each deleted contact once, in the order sent, as GET showed it just before"
        );

        for id in [full, first, acme, second] {
            assert_eq!(get(&app, &member_key, id).await.0, 404, "{id} is deleted");
            assert!(in_trash(db, id).await, "{id} is in the trash");
            let audit = audit_of(db, id).await;
            assert_eq!(audit.len(), 1, "{id}: one audit record: {audit:?}");
            assert_eq!(audit[0].user_id, Some(member.id));
            let action = if id == acme {
                "CompanyDeleted"
            } else {
                "PersonDeleted"
            };
            assert_eq!(audit[0].action, action);
        }
        for id in [private, read_only] {
            assert!(exists(db, id).await, "{id} was skipped");
            assert!(!in_trash(db, id).await);
            assert!(audit_of(db, id).await.is_empty());
        }
        assert_eq!(
            company_of(db, employee).await,
            None,
            "the company's person stays, unlinked"
        );
        assert_eq!(trash_rows(db).await, 4);
        assert_eq!(orphans(db).await, 0);

        // A batch of nothing but skipped IDs deletes nothing and says so with an empty array.
        let body = json!({ "contactids": [private, read_only, MISSING, full] });
        let (status, deleted) = batch(&app, &member_key, &body).await;
        assert_eq!((status, deleted), (200, json!([])));
        assert_eq!(trash_rows(db).await, 4);

        // The administrator may delete the private one.
        let expected = get_ok(&app, &app.admin_key, private).await;
        let (status, deleted) =
            batch(&app, &app.admin_key, &json!({ "contactids": [private] })).await;
        assert_eq!((status, deleted), (200, json!([expected])));
    })
    .await;
}

/// Gives each contact an email, a task, a tag link and an access entry, in four statements.
async fn give_children(db: &DatabaseConnection, ids: &[i32], tag: i32, reader: Uuid) {
    contact_info::Entity::insert_many(ids.iter().map(|&id| {
        let mut row = contact_info::ActiveModel::blank(id, InfoType::Email, 1, true);
        row.data = Set(format!("c{id}@example.com"));
        row
    }))
    .exec_without_returning(db)
    .await
    .unwrap();
    task::Entity::insert_many(ids.iter().map(|&id| task::ActiveModel {
        contact_id: Set(id),
        title: Set(format!("Task of {id}")),
        deadline: Set(None),
        is_closed: Set(false),
        created_at: Set(fixtures::now()),
        ..Default::default()
    }))
    .exec_without_returning(db)
    .await
    .unwrap();
    contact_tag::Entity::insert_many(ids.iter().map(|&id| contact_tag::ActiveModel {
        contact_id: Set(id),
        tag_id: Set(tag),
    }))
    .exec_without_returning(db)
    .await
    .unwrap();
    contact_access::Entity::insert_many(ids.iter().map(|&id| contact_access::ActiveModel {
        contact_id: Set(id),
        user_id: Set(reader),
    }))
    .exec_without_returning(db)
    .await
    .unwrap();
}

async fn a_batch_of_500_runs_as_many_statements_as_a_batch_of_1(backend: Backend) {
    bounded(async move {
        let title = backend.title();
        let app = TestApp::spawn_on(backend).await;
        let (reader, _) = app.member("Rita Reader").await;
        let tag = new_tag(&app.db, "batch").await;
        let one = fixtures::people(&app.db, app.admin.id, "Single", 1).await;
        let many = fixtures::people(&app.db, app.admin.id, "Batch", 500).await;
        give_children(&app.db, &one, tag, reader.id).await;
        give_children(&app.db, &many, tag, reader.id).await;

        // A second pool on the same database, counting the statements it runs.
        let (counted, statements) = crate::helpers::counting_pool(&app.database_url).await;

        let mut counts = Vec::new();
        for ids in [&one, &many] {
            statements.store(0, Ordering::SeqCst);
            let deleted =
                crm_server::contacts::delete_many(&counted, ids, &app.admin, DEFAULT_RETENTION)
                    .await
                    .unwrap();
            counts.push(statements.load(Ordering::SeqCst));
            let got: Vec<i32> = deleted.iter().map(|c| c.id).collect();
            assert_eq!(&got, ids, "every contact deleted, in the order given");
        }
        eprintln!(
            "batch statements ({title}): 1 → {}, 500 → {}",
            counts[0], counts[1]
        );
        assert!(counts[0] > 0);
        assert_eq!(
            counts[0], counts[1],
            "statements for a batch of 1 and of 500"
        );

        assert_eq!(trash_rows(&app.db).await, 501);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) AS n FROM audit_events").await,
            501
        );
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) AS n FROM contacts").await,
            0
        );
        assert_eq!(orphans(&app.db).await, 0);
    })
    .await;
}

async fn two_overlapping_batches_sent_at_once_delete_each_contact_once(backend: Backend) {
    bounded(async move {
        let title = backend.title();
        let app = TestApp::spawn_on(backend).await;
        let mut splits = Vec::new();
        for round in 0..5 {
            let ids = fixtures::people(&app.db, app.admin.id, &format!("Race{round}"), 90).await;
            let first: Vec<i32> = ids[..60].to_vec();
            // The second in the opposite order, to invite lock-order trouble.
            let second: Vec<i32> = ids[30..].iter().rev().copied().collect();
            let requests = [&first, &second].map(|batch| {
                raw_request(
                    &app.admin_key,
                    "PUT",
                    CONTACTS,
                    Some(&json!({ "contactids": batch })),
                )
            });
            let answers = release_together(&app, &requests).await;
            let mut seen = BTreeMap::<i64, usize>::new();
            for (i, (answer, sent)) in answers.iter().zip([&first, &second]).enumerate() {
                assert_eq!(answer.status, 200, "round {round}, batch {i}: {answer:?}");
                for id in ids_of(&answer.body) {
                    assert!(
                        sent.contains(&i32::try_from(id).unwrap()),
                        "round {round}: batch {i} returned {id}, which it did not name"
                    );
                    *seen.entry(id).or_default() += 1;
                }
            }
            let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
            assert!(twice.is_empty(), "round {round}: deleted twice: {twice:?}");
            let all: BTreeSet<i64> = ids.iter().map(|&id| i64::from(id)).collect();
            let returned: BTreeSet<i64> = seen.keys().copied().collect();
            assert_eq!(returned, all, "round {round}: every contact deleted once");
            splits.push(format!(
                "{}+{}",
                ids_of(&answers[0].body).len(),
                ids_of(&answers[1].body).len()
            ));

            let list = ids
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            for (table, column) in [("audit_events", "contact_id"), ("contact_trash", "contact_id")] {
                let rows = count(
                    &app.db,
                    &format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} IN ({list})"),
                )
                .await;
                let distinct = count(
                    &app.db,
                    &format!(
                        "SELECT COUNT(DISTINCT {column}) AS n FROM {table} WHERE {column} IN ({list})"
                    ),
                )
                .await;
                assert_eq!((rows, distinct), (90, 90), "round {round}: {table}");
            }
            assert_eq!(
                count(
                    &app.db,
                    &format!("SELECT COUNT(*) AS n FROM contacts WHERE id IN ({list})")
                )
                .await,
                0
            );
        }
        eprintln!("overlapping batches ({title}): returned {}", splits.join(", "));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The trash list
// ---------------------------------------------------------------------------------------------

async fn the_trash_lists_newest_first_in_pages_what_the_caller_may_restore(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (mona, mona_key) = app.member("Mona Member").await;
        let (_, nils_key) = app.member("Nils Member").await;
        let (_, other_key) = app.member("Otto Other").await;
        let c1 = person(db, app.admin.id, "One", None).await;
        let c2 = company(db, app.admin.id, "Globex").await;
        let c3 = person(db, app.admin.id, "Three", None).await;
        let c4 = person(db, app.admin.id, "Four", None).await;
        let c5 = person(db, app.admin.id, "Five", None).await;
        assert_eq!(listed(&app, &app.admin_key, "").await, Vec::<i64>::new());

        let pause = || tokio::time::sleep(Duration::from_millis(25));
        let started = Utc::now();
        assert_eq!(delete_one(&app, &mona_key, c1).await.0, 200);
        pause().await;
        assert_eq!(delete_one(&app, &app.admin_key, c2).await.0, 200);
        pause().await;
        let (status, _) = batch(&app, &app.admin_key, &json!({ "contactids": [c3, c4] })).await;
        assert_eq!(status, 200);
        pause().await;
        assert_eq!(delete_one(&app, &nils_key, c5).await.0, 200);
        let finished = Utc::now();

        let ids = |ids: &[i32]| ids.iter().map(|&id| i64::from(id)).collect::<Vec<_>>();
        // c3 and c4 went in one transaction: the same time, then the higher ID first.
        let all = ids(&[c5, c4, c3, c2, c1]);
        let (status, entries) = list(&app, &app.admin_key, "").await;
        assert_eq!(status, 200, "{entries}");
        assert_eq!(ids_of(&entries), all, "newest first: {entries}");
        let entries = entries.as_array().unwrap();
        let globex = &entries[3];
        assert_eq!(globex["DisplayName"], "Globex");
        assert_eq!(globex["IsCompany"], true);
        assert_eq!(globex["DeletedBy"]["Id"], json!(app.admin.id));
        assert_eq!(globex["DeletedBy"]["DisplayName"], "Ada Admin");
        assert_eq!(entries[4]["DisplayName"], "One Smith");
        assert_eq!(entries[4]["IsCompany"], false);
        assert_eq!(entries[4]["DeletedBy"]["Id"], json!(mona.id));
        for entry in entries {
            let deleted = timestamp(&entry["Deleted"]);
            let expires = timestamp(&entry["Expires"]);
            assert!(started <= deleted && deleted <= finished, "{entry}");
            assert_eq!(
                (expires - deleted).to_std().unwrap(),
                DEFAULT_RETENTION,
                "{entry}"
            );
        }

        // Pages.
        for (query, expected) in [
            ("count=2", ids(&[c5, c4])),
            ("count=2&startIndex=2", ids(&[c3, c2])),
            ("count=2&startIndex=4", ids(&[c1])),
            ("startIndex=5", NOTHING),
            ("startIndex=1", ids(&[c4, c3, c2, c1])),
            ("count=1&startIndex=3", ids(&[c2])),
            ("count=500", all.clone()),
            ("startIndex=0&count=5", all.clone()),
        ] {
            assert_eq!(
                listed(&app, &app.admin_key, query).await,
                expected,
                "{query}"
            );
        }

        // A member sees what they deleted, and nothing else.
        assert_eq!(listed(&app, &mona_key, "").await, ids(&[c1]));
        assert_eq!(listed(&app, &mona_key, "startIndex=1").await, NOTHING);
        assert_eq!(listed(&app, &nils_key, "").await, ids(&[c5]));
        assert_eq!(listed(&app, &other_key, "").await, NOTHING);

        // A restored contact leaves the list.
        assert_eq!(restore(&app, &app.admin_key, c3).await.0, 200);
        assert_eq!(
            listed(&app, &app.admin_key, "").await,
            ids(&[c5, c4, c2, c1])
        );
    })
    .await;
}

/// Asserts that each query of the trash is a 400 `invalid_query` whose message names the
/// parameter.
async fn assert_bad_pages(app: &TestApp, cases: &[(&str, &str)]) {
    let mut problems = Vec::new();
    for (query, name) in cases {
        let (status, body) = list(app, &app.admin_key, query).await;
        let message = body["Message"].as_str().unwrap_or_default();
        if status != 400 || body["Code"] != "invalid_query" || !message.contains(name) {
            problems.push(format!(
                "GET trash?{query}: {status} {body} (expected 400 invalid_query naming {name})"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

async fn the_trash_refuses_pages_out_of_range_naming_the_parameter(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        assert_bad_pages(
            &app,
            &[
                ("count=0", "count"),
                ("count=501", "count"),
                ("count=-3", "count"),
                ("startIndex=-1", "startIndex"),
                ("count=5&startIndex=-1", "startIndex"),
                ("startIndex=2147483648", "startIndex"),
            ],
        )
        .await;
        for query in ["count=500&startIndex=0", "count=1", "startIndex=2147483647"] {
            assert_eq!(
                listed(&app, &app.admin_key, query).await,
                NOTHING,
                "{query}"
            );
        }
    })
    .await;
}

/// The document promises that the message of a 400 names `count` or `startIndex`; a value
/// that is not an integer at all must be named too.
async fn the_trash_refuses_pages_that_are_not_integers_naming_the_parameter(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        assert_bad_pages(
            &app,
            &[
                ("count=x", "count"),
                ("count=1.5", "count"),
                ("count=", "count"),
                ("startIndex=x", "startIndex"),
                ("count=10&startIndex=1e3", "startIndex"),
            ],
        )
        .await;
    })
    .await;
}

async fn an_entry_whose_deleter_is_gone_lists_no_deleter(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let (gone, gone_key) = app.member("Gus Gone").await;
        let id = person(&app.db, app.admin.id, "Left", None).await;
        assert_eq!(delete_one(&app, &gone_key, id).await.0, 200);
        user::Entity::delete_by_id(gone.id)
            .exec(&app.db)
            .await
            .unwrap();
        let (status, entries) = list(&app, &app.admin_key, "").await;
        assert_eq!(status, 200, "{entries}");
        assert_eq!(ids_of(&entries), [i64::from(id)]);
        assert_eq!(entries[0]["DeletedBy"], Value::Null, "{entries}");
        assert_eq!(entries[0]["DisplayName"], "Left Smith");
        assert_eq!(restore(&app, &app.admin_key, id).await.0, 200);
    })
    .await;
}

async fn expired_entries_are_not_listed_nor_restored(backend: Backend) {
    bounded(async move {
        let retention = Duration::from_secs(1);
        let app = TestApp::spawn_with(backend, |config| config.trash_retention = retention).await;
        let single = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
        let batched = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
        // One with a tag of its own, whose purge must leave nothing personal either.
        let tag = format!("expiring-{}", Uuid::new_v4().simple());
        let (status, tagged) = call(
            &app,
            &app.admin_key,
            Method::POST,
            "/api/2.0/crm/contact/person",
            Some(&json!({"FirstName": "Tess", "LastName": "Expiring", "Tags": [tag]})),
        )
        .await;
        assert_eq!(status, 201, "{tagged}");
        let tagged = i32::try_from(tagged["ID"].as_i64().unwrap()).unwrap();
        assert_eq!(delete_one(&app, &app.admin_key, tagged).await.0, 200);
        assert_eq!(delete_one(&app, &app.admin_key, single).await.0, 200);
        let (status, _) = batch(&app, &app.admin_key, &json!({ "contactids": [batched] })).await;
        assert_eq!(status, 200);

        let (status, entries) = list(&app, &app.admin_key, "").await;
        assert_eq!(status, 200);
        let ids: BTreeSet<i64> = ids_of(&entries).into_iter().collect();
        assert_eq!(
            ids,
            BTreeSet::from([i64::from(single), i64::from(batched), i64::from(tagged)])
        );
        let mut latest = Utc::now();
        for entry in entries.as_array().unwrap() {
            let expires = timestamp(&entry["Expires"]);
            assert_eq!(
                (expires - timestamp(&entry["Deleted"])).to_std().unwrap(),
                retention
            );
            latest = latest.max(expires);
        }
        let wait = (latest - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300);
        tokio::time::sleep(wait).await;

        assert_eq!(listed(&app, &app.admin_key, "").await, NOTHING, "expired");
        for id in [single, batched] {
            let (status, body) = restore(&app, &app.admin_key, id).await;
            assert_error(
                "restore an expired entry",
                status,
                &body,
                404,
                "not_in_trash",
                "",
            );
            assert!(!exists(&app.db, id).await);
        }
        // An administrator may still erase an expired entry the purge has not reached.
        assert_eq!(erase(&app, &app.admin_key, batched).await.0, 204);
        // The purge erases the others (the server runs it at start and periodically): nothing
        // personal of them is left, as after an erasure.
        assert_eq!(
            crm_server::contacts::trash::purge(&app.db, Utc::now())
                .await
                .unwrap(),
            2
        );
        assert_eq!(trash_rows(&app.db).await, 0);
        for id in [single, batched, tagged] {
            let audit = audit_of(&app.db, id).await;
            assert!(!audit.is_empty(), "{id} has its audit records");
            assert!(
                audit.iter().all(|event| event.display_name.is_empty()),
                "{id}: {audit:?}"
            );
        }
        let left = tag::Entity::find()
            .filter(tag::Column::Title.eq(tag.as_str()))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(left, 0, "the expired contact's own tag went with it");
        if let Some(file) = app.database_url.strip_prefix("sqlite:") {
            no_token_in_the_files(file, &BTreeMap::from([("tag", tag.clone())])).await;
        }
        let (status, body) = erase(&app, &app.admin_key, single).await;
        assert_error(
            "erase a purged entry",
            status,
            &body,
            404,
            "not_in_trash",
            "",
        );
    })
    .await;
}

/// The purge removes expired entries, at most `PURGE_BATCH` (1000) a run, and never one that
/// has not expired.
async fn the_purge_removes_expired_entries_in_bounded_runs(backend: Backend) {
    bounded(async move {
        let retention = Duration::from_secs(1);
        let app = TestApp::spawn_with(backend, |config| config.trash_retention = retention).await;
        let ids = fixtures::people(&app.db, app.admin.id, "Expiring", 1001).await;
        for chunk in ids.chunks(500) {
            let (status, deleted) =
                batch(&app, &app.admin_key, &json!({ "contactids": chunk })).await;
            assert_eq!(status, 200);
            assert_eq!(ids_of(&deleted).len(), chunk.len());
        }
        tokio::time::sleep(retention + Duration::from_millis(300)).await;
        let fresh = person(&app.db, app.admin.id, "Fresh", None).await;
        assert_eq!(delete_one(&app, &app.admin_key, fresh).await.0, 200);

        let purge = || crm_server::contacts::trash::purge(&app.db, Utc::now());
        assert_eq!(
            purge().await.unwrap(),
            crm_server::contacts::trash::PURGE_BATCH
        );
        assert_eq!(purge().await.unwrap(), 1);
        assert_eq!(purge().await.unwrap(), 0);
        assert_eq!(trash_rows(&app.db).await, 1);
        assert!(
            in_trash(&app.db, fresh).await,
            "the entry that has not expired stays"
        );
    })
    .await;
}

async fn a_retention_of_zero_keeps_nothing(backend: Backend) {
    bounded(async move {
        let app =
            TestApp::spawn_with(backend, |config| config.trash_retention = Duration::ZERO).await;
        let (reader, _) = app.member("Rita Reader").await;
        let (full, _) = fixtures::full_person(&app.db, &app.admin, &reader).await;
        let a = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
        let b = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
        assert_eq!(delete_one(&app, &app.admin_key, full).await.0, 200);
        let (status, deleted) = batch(&app, &app.admin_key, &json!({ "contactids": [a, b] })).await;
        assert_eq!(status, 200);
        assert_eq!(ids_of(&deleted), [i64::from(a), i64::from(b)]);

        assert_eq!(listed(&app, &app.admin_key, "").await, NOTHING);
        assert_eq!(trash_rows(&app.db).await, 0);
        for id in [full, a, b] {
            let (status, body) = restore(&app, &app.admin_key, id).await;
            assert_error(
                "restore without a trash",
                status,
                &body,
                404,
                "not_in_trash",
                "",
            );
            let (status, body) = erase(&app, &app.admin_key, id).await;
            assert_error(
                "erase without a trash",
                status,
                &body,
                404,
                "not_in_trash",
                "",
            );
            assert!(!exists(&app.db, id).await);
            assert_eq!(
                audit_counts(&app.db, id).await,
                (1, 0),
                "the delete is audited"
            );
        }
        assert_eq!(rows(&app.db, full).await.children(), 0);
        assert_eq!(orphans(&app.db).await, 0);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Restore
// ---------------------------------------------------------------------------------------------

async fn a_restore_brings_back_a_full_person_as_it_was_under_the_same_id(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (reader, reader_key) = app.member("Rita Reader").await;
        let (id, expected) = fixtures::full_person(db, &app.admin, &reader).await;
        let before = get_ok(&app, &app.admin_key, id).await;
        assert_eq!(before, serde_json::to_value(&expected).unwrap());
        let seen_by_reader = get_ok(&app, &reader_key, id).await;
        let rows_before = rows(db, id).await;
        assert_eq!(
            rows_before.children(),
            13,
            "4 infos, 3 values, 3 tags, 2 tasks, 1 access: {rows_before:?}"
        );
        let others = count(db, "SELECT COUNT(*) AS n FROM contact_tags").await
            + count(db, "SELECT COUNT(*) AS n FROM custom_field_values").await;

        // Through the single delete, then through the batch.
        for round in ["single", "batch"] {
            let (status, deleted) = if round == "single" {
                delete_one(&app, &app.admin_key, id).await
            } else {
                let (status, deleted) =
                    batch(&app, &app.admin_key, &json!({ "contactids": [id] })).await;
                (status, deleted[0].clone())
            };
            assert_eq!(status, 200, "{round}: {deleted}");
            assert_eq!(deleted, before, "{round}: the delete returns the contact");
            assert_eq!(get(&app, &app.admin_key, id).await.0, 404);
            let gone = rows(db, id).await;
            assert!(
                gone.contact.is_none() && gone.children() == 0,
                "{round}: {gone:?}"
            );
            assert!(
                listed(&app, &app.admin_key, "")
                    .await
                    .contains(&i64::from(id))
            );

            let (status, restored) = restore(&app, &app.admin_key, id).await;
            assert_eq!(status, 200, "{round}: {restored}");
            assert_eq!(
                restored, before,
                "{round}: the restore returns the contact as it was"
            );
            assert_eq!(restored["TaskCount"], 2);
            assert_eq!(restored["HaveLateTasks"], true);
            assert_eq!(
                get_ok(&app, &app.admin_key, id).await,
                before,
                "{round}: GET after"
            );
            assert_eq!(
                get_ok(&app, &reader_key, id).await,
                seen_by_reader,
                "{round}: as the reader sees it"
            );
            assert_eq!(
                rows(db, id).await,
                rows_before,
                "{round}: every row, same IDs"
            );
            assert!(!in_trash(db, id).await);
            assert!(
                !listed(&app, &app.admin_key, "")
                    .await
                    .contains(&i64::from(id))
            );
        }

        let audit = audit_of(db, id).await;
        let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "PersonDeleted",
                "PersonRestored",
                "PersonDeleted",
                "PersonRestored"
            ]
        );
        for record in &audit {
            assert_eq!(record.user_id, Some(app.admin.id));
            assert_eq!(record.display_name, "Jane Doe");
        }
        let others_after = count(db, "SELECT COUNT(*) AS n FROM contact_tags").await
            + count(db, "SELECT COUNT(*) AS n FROM custom_field_values").await;
        assert_eq!(others_after, others, "no row more or less");
        assert_eq!(orphans(db).await, 0);
    })
    .await;
}

async fn a_restore_links_a_company_and_its_people_again_where_it_can(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let admin = app.admin.id;
        let key = app.admin_key.clone();

        // A company's people come back to it, unless they moved or are gone.
        let acme = company(db, admin, "Acme Ltd").await;
        let globex = company(db, admin, "Globex").await;
        let stays = person(db, admin, "Ann", Some(acme)).await;
        let moves = person(db, admin, "Bob", Some(acme)).await;
        let leaves = person(db, admin, "Cid", Some(acme)).await;
        let before = get_ok(&app, &key, acme).await;
        assert_eq!(delete_one(&app, &key, acme).await.0, 200);
        for id in [stays, moves, leaves] {
            assert_eq!(
                company_of(db, id).await,
                None,
                "{id} unlinked by the delete"
            );
        }
        set_company(db, moves, Some(globex)).await;
        assert_eq!(delete_one(&app, &key, leaves).await.0, 200);
        let (status, restored) = restore(&app, &key, acme).await;
        assert_eq!(status, 200, "{restored}");
        assert_eq!(
            serde_json::to_value(&restored).unwrap(),
            serde_json::to_value(&before).unwrap()
        );
        assert_eq!(company_of(db, stays).await, Some(acme), "linked again");
        assert_eq!(
            company_of(db, moves).await,
            Some(globex),
            "keeps its new company"
        );
        assert!(!exists(db, leaves).await, "a deleted person stays deleted");
        // Deleted after the company's delete had unlinked it, it comes back to the restored
        // company all the same: as when restored before the company, or deleted with it in one
        // batch.
        assert_eq!(restore(&app, &key, leaves).await.0, 200);
        assert_eq!(company_of(db, leaves).await, Some(acme));
        // One that had moved to another company before its delete comes back there.
        let wanders = person(db, admin, "Wendy", Some(acme)).await;
        assert_eq!(delete_one(&app, &key, acme).await.0, 200);
        set_company(db, wanders, Some(globex)).await;
        assert_eq!(delete_one(&app, &key, wanders).await.0, 200);
        assert_eq!(restore(&app, &key, acme).await.0, 200);
        assert_eq!(restore(&app, &key, wanders).await.0, 200);
        assert_eq!(company_of(db, wanders).await, Some(globex));

        // A person comes back to its company when the company still exists…
        let person_of_globex = person(db, admin, "Dan", Some(globex)).await;
        assert_eq!(delete_one(&app, &key, person_of_globex).await.0, 200);
        assert_eq!(restore(&app, &key, person_of_globex).await.0, 200);
        assert_eq!(company_of(db, person_of_globex).await, Some(globex));

        // …and unlinked when the company was deleted meanwhile.
        let initech = company(db, admin, "Initech").await;
        let orphaned = person(db, admin, "Eve", Some(initech)).await;
        assert_eq!(delete_one(&app, &key, orphaned).await.0, 200);
        assert_eq!(delete_one(&app, &key, initech).await.0, 200);
        let (status, restored) = restore(&app, &key, orphaned).await;
        assert_eq!(status, 200, "{restored}");
        assert_eq!(company_of(db, orphaned).await, None);
        assert_eq!(orphans(db).await, 0);
        // The company, restored after it, takes the person back.
        assert_eq!(restore(&app, &key, initech).await.0, 200);
        assert_eq!(company_of(db, orphaned).await, Some(initech));

        // A company and its person deleted in one batch: the person comes back unlinked while
        // the company is gone, and linked again when the company comes back.
        let hooli = company(db, admin, "Hooli").await;
        let gavin = person(db, admin, "Gavin", Some(hooli)).await;
        let (status, _) = batch(&app, &key, &json!({ "contactids": [hooli, gavin] })).await;
        assert_eq!(status, 200);
        assert_eq!(restore(&app, &key, gavin).await.0, 200);
        assert_eq!(company_of(db, gavin).await, None);
        assert_eq!(restore(&app, &key, hooli).await.0, 200);
        assert_eq!(company_of(db, gavin).await, Some(hooli));
        assert_eq!(orphans(db).await, 0);
    })
    .await;
}

async fn a_restore_drops_what_is_gone_meanwhile_and_creates_gone_tags_again(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (reader, _) = app.member("Rita Reader").await;
        let (id, _) = fixtures::full_person(db, &app.admin, &reader).await;
        let before = get_ok(&app, &app.admin_key, id).await;
        assert_eq!(delete_one(&app, &app.admin_key, id).await.0, 200);

        // Gone meanwhile, straight in the database: a custom field, the status, a tag and the
        // user on the access list.
        let notes = custom_field::Entity::find()
            .filter(custom_field::Column::Label.eq("Notes"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        custom_field::Entity::delete_by_id(notes.id).exec(db).await.unwrap();
        let status_id = before["ContactStatus"]["ID"].as_i64().unwrap();
        list_item::Entity::delete_by_id(i32::try_from(status_id).unwrap())
            .exec(db)
            .await
            .unwrap();
        tag::Entity::delete_many()
            .filter(tag::Column::Title.eq("vip"))
            .exec(db)
            .await
            .unwrap();
        user::Entity::delete_by_id(reader.id).exec(db).await.unwrap();

        let (status, restored) = restore(&app, &app.admin_key, id).await;
        assert_eq!(status, 200, "{restored}");
        let mut expected = before.clone();
        expected["CustomFields"]
            .as_array_mut()
            .unwrap()
            .retain(|field| field["Label"] != "Notes");
        expected["ContactStatus"] = Value::Null;
        expected["AccessList"] = json!([]);
        assert_eq!(restored, expected, "the value, the status and the access entry dropped");
        assert_eq!(get_ok(&app, &app.admin_key, id).await, expected);
        assert_eq!(restored["Tags"], json!(["berlin-2026", "partner", "vip"]));

        let row = contact::Entity::find_by_id(id).one(db).await.unwrap().unwrap();
        assert_eq!(row.status_id, None);
        assert!(row.type_id.is_some(), "the type is still there");
        let vip = tag::Entity::find()
            .filter(tag::Column::Title.eq("vip"))
            .one(db)
            .await
            .unwrap()
            .expect("the tag created again");
        assert_eq!(
            count(
                db,
                &format!(
                    "SELECT COUNT(*) AS n FROM contact_tags WHERE contact_id = {id} AND tag_id = {}",
                    vip.id
                )
            )
            .await,
            1
        );
        assert_eq!(
            count(
                db,
                &format!(
                    "SELECT COUNT(*) AS n FROM custom_field_values WHERE field_id = {}",
                    notes.id
                )
            )
            .await,
            0
        );
        assert_eq!(orphans(db).await, 0);
    })
    .await;
}

/// PostgreSQL: a status and a custom field deleted by a transaction that commits while the
/// restore runs are dropped too, not a foreign-key 422: the restore reads what it refers to
/// `FOR KEY SHARE`, so it waits for the delete and then finds them gone. (On SQLite a write
/// transaction has the file to itself from its `BEGIN`.)
/// SQLite: while a reader of another connection keeps a snapshot from before an erasure (an
/// online backup, say), the log cannot be emptied; writes go on without waiting for it, and
/// once the reader lets go the log is emptied.
#[tokio::test]
async fn sqlite_a_reader_holding_an_old_snapshot_delays_the_wipe_not_the_writes() {
    use sea_orm::sqlx::{Connection, Executor, sqlite::SqliteConnection};

    bounded(async move {
        let app = TestApp::spawn_on(Backend::Sqlite).await;
        let file = app.database_url.strip_prefix("sqlite:").unwrap().to_owned();
        let token = format!("zq{}", &Uuid::new_v4().simple().to_string()[..14]);
        let (status, created) = call(
            &app,
            &app.admin_key,
            Method::POST,
            "/api/2.0/crm/contact/person",
            Some(&json!({"FirstName": token, "LastName": "Erased"})),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let id = i32::try_from(created["ID"].as_i64().unwrap()).unwrap();
        assert_eq!(delete_one(&app, &app.admin_key, id).await.0, 200);

        let mut reader = SqliteConnection::connect(&app.database_url).await.unwrap();
        reader.execute("BEGIN").await.unwrap();
        reader
            .execute("SELECT count(*) FROM contact_trash")
            .await
            .unwrap();
        assert_eq!(erase(&app, &app.admin_key, id).await.0, 204);
        // Writes meanwhile: none waits for the reader (a try at emptying the log gives up
        // after 50 ms), where a try that waited out the busy timeout would hold each for 5 s.
        for n in 0..5 {
            let started = std::time::Instant::now();
            let (status, body) = call(
                &app,
                &app.admin_key,
                Method::POST,
                "/api/2.0/crm/contact/person",
                Some(&json!({"FirstName": format!("Writer {n}")})),
            )
            .await;
            assert_eq!(status, 201, "{body}");
            assert!(
                started.elapsed() < Duration::from_millis(2_500),
                "write {n} took {:?} while the reader held its snapshot",
                started.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        reader.execute("COMMIT").await.unwrap();
        reader.close().await.unwrap();
        no_token_in_the_files(&file, &BTreeMap::from([("first_name", token)])).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_what_goes_while_a_restore_runs_is_dropped_too() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let Some(backend) = crate::helpers::postgres() else {
        return;
    };
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (reader, _) = app.member("Rita Reader").await;
        let (id, _) = fixtures::full_person(db, &app.admin, &reader).await;
        let before = get_ok(&app, &app.admin_key, id).await;
        assert_eq!(delete_one(&app, &app.admin_key, id).await.0, 200);
        let status_id = before["ContactStatus"]["ID"].as_i64().unwrap();
        let other = sea_orm::Database::connect(&app.database_url).await.unwrap();
        let remover = other.begin().await.unwrap();
        remover
            .execute_unprepared(&format!(
                "DELETE FROM list_items WHERE id = {status_id}; \
                 DELETE FROM custom_fields WHERE label = 'Notes'"
            ))
            .await
            .unwrap();
        let commit = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            remover.commit().await.unwrap();
        });
        let (status, restored) = restore(&app, &app.admin_key, id).await;
        commit.await.unwrap();
        assert_eq!(status, 200, "{restored}");
        let mut expected = before.clone();
        expected["CustomFields"]
            .as_array_mut()
            .unwrap()
            .retain(|field| field["Label"] != "Notes");
        expected["ContactStatus"] = Value::Null;
        assert_eq!(restored, expected, "the value and the status dropped");
        assert_eq!(orphans(db).await, 0);
        other.close().await.ok();
    })
    .await;
}

/// Every contact has a creator, so a creator gone meanwhile cannot be dropped: the restore is
/// refused with a client error (not a 500), the same on both backends, and the entry stays in
/// the trash, whole, to be restored later or erased.
async fn a_restore_whose_creator_is_gone_is_refused_and_keeps_the_entry(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (creator, _) = app.member("Carl Creator").await;
        let (reader, _) = app.member("Rita Reader").await;
        let field = text_field(db, "Notes").await;
        let tag = new_tag(db, "kept").await;
        let id = rich_person(db, creator.id, "Orphan", field, tag, reader.id).await;
        assert_eq!(delete_one(&app, &app.admin_key, id).await.0, 200);
        user::Entity::delete_by_id(creator.id)
            .exec(db)
            .await
            .unwrap();

        let (status, body) = restore(&app, &app.admin_key, id).await;
        assert!(
            matches!(status, 409 | 422) && body["Code"] != "internal_error",
            "a restore whose creator is gone: expected 409 or 422, got {status} {body}"
        );
        assert!(in_trash(db, id).await, "the entry stays");
        let left = rows(db, id).await;
        assert!(left.contact.is_none() && left.children() == 0, "{left:?}");
        assert_eq!(orphans(db).await, 0);
        assert_eq!(erase(&app, &app.admin_key, id).await.0, 204);
    })
    .await;
}

/// An erasure removes the tags no contact uses; another deleted contact that had such a tag
/// gets it back, created again by its title, when it is restored.
async fn a_tag_an_erasure_removed_comes_back_with_a_restore(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (reader, _) = app.member("Rita Reader").await;
        let field = text_field(db, "Notes").await;
        let shared_tag = new_tag(db, "trade-fair-2026").await;
        let erased = rich_person(db, app.admin.id, "Erased", field, shared_tag, reader.id).await;
        let kept = rich_person(db, app.admin.id, "Kept", field, shared_tag, reader.id).await;
        let before = get_ok(&app, &app.admin_key, kept).await;
        let (status, _) = batch(
            &app,
            &app.admin_key,
            &json!({ "contactids": [erased, kept] }),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(erase(&app, &app.admin_key, erased).await.0, 204);
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) AS n FROM tags WHERE title = 'trade-fair-2026'"
            )
            .await,
            0,
            "no contact uses the tag: the erasure removed it"
        );
        let (status, restored) = restore(&app, &app.admin_key, kept).await;
        assert_eq!(status, 200, "{restored}");
        assert_eq!(
            serde_json::to_value(&restored).unwrap(),
            serde_json::to_value(&before).unwrap()
        );
        assert_eq!(restored["Tags"], json!(["trade-fair-2026"]));
    })
    .await;
}

async fn a_restore_is_404_outside_the_trash_and_403_to_others(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (_, mona_key) = app.member("Mona Member").await;
        let (_, nils_key) = app.member("Nils Member").await;
        let admin = app.admin.id;

        let live = person(db, admin, "Live", None).await;
        for (what, id) in [("never deleted", live), ("no such contact", MISSING)] {
            let (status, body) = restore(&app, &app.admin_key, id).await;
            assert_error(what, status, &body, 404, "not_in_trash", "");
        }
        assert!(exists(db, live).await);
        for raw in ["0", "2147483648"] {
            let (status, body) = restore(&app, &app.admin_key, raw).await;
            assert_error(raw, status, &body, 400, "invalid_contact_id", "");
        }

        // Deleted by Mona: Nils may not restore it, the administrator may.
        let by_mona = person(db, admin, "ByMona", None).await;
        let before = get_ok(&app, &app.admin_key, by_mona).await;
        assert_eq!(delete_one(&app, &mona_key, by_mona).await.0, 200);
        let (status, body) = restore(&app, &nils_key, by_mona).await;
        assert_error("another member", status, &body, 403, "forbidden", "");
        assert!(in_trash(db, by_mona).await && !exists(db, by_mona).await);
        let (status, restored) = restore(&app, &app.admin_key, by_mona).await;
        assert_eq!((status, &restored), (200, &before));
        for key in [&app.admin_key, &mona_key] {
            let (status, body) = restore(&app, key, by_mona).await;
            assert_error("already restored", status, &body, 404, "not_in_trash", "");
        }

        // Mona may restore what she deleted.
        let own = person(db, admin, "Own", None).await;
        assert_eq!(delete_one(&app, &mona_key, own).await.0, 200);
        let (status, restored) = restore(&app, &mona_key, own).await;
        assert_eq!(status, 200, "{restored}");
        assert_eq!(restored["ID"], own);

        // Deleted by the administrator: not Mona's to restore; once erased, 404 to everyone.
        let by_admin = person(db, admin, "ByAdmin", None).await;
        assert_eq!(delete_one(&app, &app.admin_key, by_admin).await.0, 200);
        let (status, body) = restore(&app, &mona_key, by_admin).await;
        assert_error(
            "a member, an admin's delete",
            status,
            &body,
            403,
            "forbidden",
            "",
        );
        assert_eq!(erase(&app, &app.admin_key, by_admin).await.0, 204);
        for key in [&app.admin_key, &mona_key] {
            let (status, body) = restore(&app, key, by_admin).await;
            assert_error("erased", status, &body, 404, "not_in_trash", "");
        }
        assert!(!exists(db, by_admin).await);
    })
    .await;
}

async fn a_restore_and_a_delete_of_one_id_racing_stay_consistent(backend: Backend) {
    bounded(async move {
        let title = backend.title();
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (reader, _) = app.member("Rita Reader").await;
        let field = text_field(db, "Race notes").await;
        let tag = new_tag(db, "racing").await;
        let mut outcomes = BTreeMap::<String, usize>::new();
        let mut problems = Vec::new();
        for round in 0..12 {
            let id = rich_person(
                db,
                app.admin.id,
                &format!("R{round}"),
                field,
                tag,
                reader.id,
            )
            .await;
            // Even rounds start in the trash, odd rounds with the contact in place.
            let starts_in_trash = round % 2 == 0;
            if starts_in_trash {
                assert_eq!(delete_one(&app, &app.admin_key, id).await.0, 200);
            }
            let (deletes_before, _) = audit_counts(db, id).await;
            let restore_request = raw_request(
                &app.admin_key,
                "POST",
                &format!("{CONTACTS}/{id}/restore"),
                None,
            );
            let delete_request =
                raw_request(&app.admin_key, "DELETE", &format!("{CONTACTS}/{id}"), None);
            let requests = if round % 4 < 2 {
                [restore_request, delete_request]
            } else {
                [delete_request, restore_request]
            };
            let kinds = if round % 4 < 2 {
                ["restore", "delete"]
            } else {
                ["delete", "restore"]
            };
            let answers = release_together(&app, &requests).await;
            let mut restored = 0;
            let mut deleted = 0;
            let mut outcome = Vec::new();
            for (kind, answer) in kinds.iter().zip(&answers) {
                outcome.push(format!("{kind} {}", answer.status));
                match (*kind, answer.status) {
                    ("restore", 200) | ("delete", 200) if answer.body["ID"] != json!(id) => {
                        problems.push(format!("round {round}: {kind} answered {:?}", answer))
                    }
                    ("restore", 200) => restored += 1,
                    ("delete", 200) => deleted += 1,
                    ("restore", 404) if answer.body["Code"] == "not_in_trash" => {}
                    ("delete", 404) if answer.body["Code"] == "contact_not_found" => {}
                    _ => problems.push(format!("round {round}: {kind} answered {:?}", answer)),
                }
            }
            outcome.sort();
            *outcomes
                .entry(format!(
                    "{} → {}",
                    if starts_in_trash {
                        "in trash"
                    } else {
                        "in place"
                    },
                    outcome.join(", ")
                ))
                .or_default() += 1;

            let now_exists = exists(db, id).await;
            let now_in_trash = in_trash(db, id).await;
            if now_exists == now_in_trash {
                problems.push(format!(
                    "round {round}: exists={now_exists}, in trash={now_in_trash}"
                ));
            }
            // From the start state, each successful delete puts it in the trash, each
            // successful restore takes it out.
            let expected_in_trash = i32::from(starts_in_trash) + deleted - restored;
            if expected_in_trash != i32::from(now_in_trash) {
                problems.push(format!(
                    "round {round}: {deleted} deletes and {restored} restores from \
                     in-trash={starts_in_trash}, yet in trash={now_in_trash}"
                ));
            }
            let (deletes, restores) = audit_counts(db, id).await;
            if (deletes, restores) != (deletes_before + deleted as usize, restored as usize) {
                problems.push(format!(
                    "round {round}: audit has {deletes} deletes and {restores} restores after \
                     {deleted} deletes and {restored} restores answered 200"
                ));
            }
            let rows = rows(db, id).await;
            let children = if now_exists { 5 } else { 0 };
            if rows.children() != children {
                problems.push(format!("round {round}: child rows {rows:?}"));
            }
        }
        let orphans = orphans(db).await;
        eprintln!("restore/delete race ({title}): {outcomes:?}; {orphans} orphans");
        assert_eq!(orphans, 0);
        assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    })
    .await;
}

async fn two_restores_and_an_erasure_racing_consume_the_entry_once(backend: Backend) {
    bounded(async move {
        let title = backend.title();
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (reader, _) = app.member("Rita Reader").await;
        let field = text_field(db, "Race notes").await;
        let mut outcomes = BTreeMap::<String, usize>::new();
        let mut problems = Vec::new();
        for round in 0..9 {
            // A tag of its own: an erasure removes the tags no contact uses any more.
            let tag = new_tag(db, &format!("racing-{round}")).await;
            let id = rich_person(
                db,
                app.admin.id,
                &format!("E{round}"),
                field,
                tag,
                reader.id,
            )
            .await;
            assert_eq!(delete_one(&app, &app.admin_key, id).await.0, 200);
            let restore_request = || {
                raw_request(
                    &app.admin_key,
                    "POST",
                    &format!("{CONTACTS}/{id}/restore"),
                    None,
                )
            };
            let erase_request =
                raw_request(&app.admin_key, "DELETE", &format!("{TRASH}/{id}"), None);
            let mut requests = [
                ("restore", restore_request()),
                ("restore", restore_request()),
                ("erase", erase_request),
            ];
            requests.rotate_left(round % 3);
            let raw: Vec<Vec<u8>> = requests.iter().map(|(_, r)| r.clone()).collect();
            let answers = release_together(&app, &raw).await;
            let (mut restored, mut erased) = (0, 0);
            let mut outcome = Vec::new();
            for ((kind, _), answer) in requests.iter().zip(&answers) {
                outcome.push(format!("{kind} {}", answer.status));
                match (*kind, answer.status) {
                    ("restore", 200) if answer.body["ID"] == json!(id) => restored += 1,
                    ("erase", 204) => erased += 1,
                    (_, 404) if answer.body["Code"] == "not_in_trash" => {}
                    _ => problems.push(format!("round {round}: {kind} answered {answer:?}")),
                }
            }
            outcome.sort();
            *outcomes.entry(outcome.join(", ")).or_default() += 1;
            if restored + erased != 1 {
                problems.push(format!(
                    "round {round}: {restored} restores and {erased} erasures succeeded"
                ));
            }
            let now_exists = exists(db, id).await;
            if now_exists != (restored == 1) || in_trash(db, id).await {
                problems.push(format!(
                    "round {round}: exists={now_exists}, in trash={} after {restored} \
                     restores and {erased} erasures",
                    in_trash(db, id).await
                ));
            }
            let children = rows(db, id).await.children();
            if children != if now_exists { 5 } else { 0 } {
                problems.push(format!("round {round}: {children} child rows"));
            }
            let audit = audit_of(db, id).await;
            let named = audit.iter().filter(|a| !a.display_name.is_empty()).count();
            let expected_named = if erased == 1 { 0 } else { audit.len() };
            if named != expected_named || audit.len() != 1 + restored {
                problems.push(format!("round {round}: audit {audit:?}"));
            }
        }
        let orphans = orphans(db).await;
        eprintln!("restore/restore/erase race ({title}): {outcomes:?}; {orphans} orphans");
        assert_eq!(orphans, 0);
        assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Erasure
// ---------------------------------------------------------------------------------------------

async fn erasure_is_for_administrators_and_for_what_is_in_the_trash(backend: Backend) {
    bounded(async move {
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (_, mona_key) = app.member("Mona Member").await;
        let live = person(db, app.admin.id, "Live", None).await;
        let gone = person(db, app.admin.id, "Gone", None).await;
        assert_eq!(delete_one(&app, &mona_key, gone).await.0, 200);

        // Not even the member who deleted it.
        let (status, body) = erase(&app, &mona_key, gone).await;
        assert_error("a member", status, &body, 403, "forbidden", "");
        assert!(in_trash(db, gone).await);
        for (what, id) in [("never deleted", live), ("no such contact", MISSING)] {
            let (status, body) = erase(&app, &app.admin_key, id).await;
            assert_error(what, status, &body, 404, "not_in_trash", "");
        }
        assert!(
            exists(db, live).await,
            "an erase outside the trash touches nothing"
        );
        let (status, body) = erase(&app, &app.admin_key, "0").await;
        assert_error("ID 0", status, &body, 400, "invalid_contact_id", "");

        let (status, body) = erase(&app, &app.admin_key, gone).await;
        assert_eq!((status, body), (204, Value::Null));
        let (status, body) = erase(&app, &app.admin_key, gone).await;
        assert_error("erased twice", status, &body, 404, "not_in_trash", "");
        assert!(!in_trash(db, gone).await && !exists(db, gone).await);
        assert_eq!(listed(&app, &app.admin_key, "").await, NOTHING);
        assert_eq!(listed(&app, &mona_key, "").await, NOTHING);
        let (status, body) = restore(&app, &app.admin_key, gone).await;
        assert_error(
            "restore after erasure",
            status,
            &body,
            404,
            "not_in_trash",
            "",
        );
    })
    .await;
}

#[derive(Debug, FromQueryResult)]
struct Name {
    name: String,
}

#[derive(Debug, FromQueryResult)]
struct Line {
    line: Option<String>,
}

/// Every table of the database, read from its catalogue.
async fn tables(db: &DatabaseConnection) -> Vec<String> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             ORDER BY table_name"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    };
    Name::find_by_statement(Statement::from_string(backend, sql))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.name)
        .collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// Every row of `table` as text, every column in it, lower-cased.
async fn rows_as_text(db: &DatabaseConnection, table: &str) -> Vec<String> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!("SELECT CAST(x AS TEXT) AS line FROM \"{table}\" x"),
        _ => {
            // Each column's bytes, whatever their type (UUIDs are blobs), as hex.
            let columns: Vec<String> = Name::find_by_statement(Statement::from_string(
                backend,
                format!("SELECT name FROM pragma_table_info('{table}')"),
            ))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|column| format!("hex(CAST(\"{}\" AS BLOB))", column.name))
            .collect();
            assert!(!columns.is_empty(), "{table} has columns");
            format!(
                "SELECT {} AS line FROM \"{table}\"",
                columns.join(" || '7C' || ")
            )
        }
    };
    Line::find_by_statement(Statement::from_string(backend, sql))
        .all(db)
        .await
        .unwrap_or_else(|e| panic!("reading {table}: {e}"))
        .into_iter()
        .map(|row| {
            let line = row.line.unwrap_or_default();
            match backend {
                DbBackend::Postgres => line,
                _ => String::from_utf8_lossy(&unhex(&line)).into_owned(),
            }
            .to_lowercase()
        })
        .collect()
}

/// Where each of `tokens` occurs: (table, token, rows).
async fn find_tokens(
    db: &DatabaseConnection,
    tokens: &BTreeMap<&str, String>,
) -> (Vec<String>, Vec<(String, String, usize)>) {
    let tables = tables(db).await;
    let mut found = Vec::new();
    for table in &tables {
        let lines = rows_as_text(db, table).await;
        for (field, token) in tokens {
            let n = lines
                .iter()
                .filter(|line| line.contains(token.as_str()))
                .count();
            if n > 0 {
                found.push((table.clone(), (*field).to_owned(), n));
            }
        }
    }
    (tables, found)
}

/// SQLite: within a few seconds of an erasure, none of `tokens` is in the bytes of the database
/// `file` or of its write-ahead log — not in a table, nor in the file's free space, nor in a
/// page of the log written before the erasure.
async fn no_token_in_the_files(file: &str, tokens: &BTreeMap<&str, String>) {
    let database = std::fs::metadata(file).map(|meta| meta.len());
    assert!(
        database.as_ref().is_ok_and(|&len| len > 0),
        "{file}: {database:?}"
    );
    let files = [file.to_owned(), format!("{file}-wal")];
    let left = || {
        let mut left = Vec::new();
        for file in &files {
            // The log may be missing; the database file is there (above).
            let bytes = std::fs::read(file).unwrap_or_default();
            for (field, token) in tokens {
                if bytes
                    .windows(token.len())
                    .any(|window| window == token.as_bytes())
                {
                    left.push(format!("{field} in {file}"));
                }
            }
        }
        left
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = left();
        if found.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "10 s after the erasure, still in the files: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_erased_contact_leaves_no_personal_data_in_any_table(backend: Backend) {
    bounded(async move {
        let started = Utc::now() - chrono::Duration::seconds(1);
        let app = TestApp::spawn_on(backend).await;
        let db = &app.db;
        let (reader, _) = app.member("Rita Reader").await;
        let fields = [
            "first_name",
            "last_name",
            "company_name",
            "job_title",
            "about",
            "industry",
            "small_photo_url",
            "medium_photo_url",
            "email",
            "phone",
            "website",
            "street",
            "city",
            "state",
            "zip",
            "country",
            "custom_value",
            "tag",
            "task",
        ];
        let tokens: BTreeMap<&str, String> = fields
            .iter()
            .map(|field| {
                (
                    *field,
                    format!("zq{}", &Uuid::new_v4().simple().to_string()[..14]),
                )
            })
            .collect();
        let t = |field: &str| tokens[field].clone();

        let warm = list_item::Entity::find()
            .filter(list_item::Column::Kind.eq(list_item::KIND_STATUS))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let mut row = fixtures::person(app.admin.id, &t("first_name"), &t("last_name"));
        row.company_name = Set(t("company_name"));
        row.job_title = Set(t("job_title"));
        row.about = Set(format!("About: {}", t("about")));
        row.industry = Set(t("industry"));
        row.small_photo_url = Set(Some(format!(
            "https://img.example.com/{}",
            t("small_photo_url")
        )));
        row.medium_photo_url = Set(Some(format!(
            "https://img.example.com/{}",
            t("medium_photo_url")
        )));
        row.status_id = Set(Some(warm.id));
        row.currency = Set(Some("EUR".to_owned()));
        row.share_type = Set(ShareType::ReadWrite.value() as i16);
        let id = fixtures::insert(db, row).await;
        for (info_type, category, field) in [
            (InfoType::Email, 1, "email"),
            (InfoType::Phone, 2, "phone"),
            (InfoType::Website, 1, "website"),
        ] {
            let mut info = contact_info::ActiveModel::blank(id, info_type, category, true);
            info.data = Set(format!("{}@example.com", t(field)));
            info.insert(db).await.unwrap();
        }
        let mut address = contact_info::ActiveModel::blank(id, InfoType::Address, 2, true);
        address.street = Set(t("street"));
        address.city = Set(t("city"));
        address.state = Set(t("state"));
        address.zip = Set(t("zip"));
        address.country = Set(t("country"));
        address.insert(db).await.unwrap();
        let field = text_field(db, "Hobby").await;
        custom_field_value::ActiveModel {
            contact_id: Set(id),
            field_id: Set(field),
            value: Set(t("custom_value")),
        }
        .insert(db)
        .await
        .unwrap();
        let tag_id = new_tag(db, &t("tag")).await;
        contact_tag::ActiveModel {
            contact_id: Set(id),
            tag_id: Set(tag_id),
        }
        .insert(db)
        .await
        .unwrap();
        task::ActiveModel {
            contact_id: Set(id),
            title: Set(t("task")),
            deadline: Set(Some(fixtures::now())),
            is_closed: Set(false),
            created_at: Set(fixtures::now()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        fixtures::grant(db, id, reader.id).await;
        // Someone else, whose data must stay.
        let (other, _) = fixtures::full_person(db, &app.admin, &reader).await;

        // The scan finds every token while the contact exists (it sees what it looks for).
        let (names, found) = find_tokens(db, &tokens).await;
        for table in [
            "contacts",
            "contact_infos",
            "custom_field_values",
            "tags",
            "tasks",
            "audit_events",
            "contact_trash",
            "users",
        ] {
            assert!(names.iter().any(|n| n == table), "{table} in {names:?}");
        }
        let fields_found: BTreeSet<&str> = found.iter().map(|(_, f, _)| f.as_str()).collect();
        assert_eq!(fields_found, tokens.keys().copied().collect(), "{found:?}");

        // Deleted, restored, deleted again (three audit records), then kept in the trash.
        let before = get_ok(&app, &app.admin_key, id).await;
        assert_eq!(delete_one(&app, &app.admin_key, id).await.0, 200);
        assert_eq!(restore(&app, &app.admin_key, id).await, (200, before));
        let (status, _) = batch(&app, &app.admin_key, &json!({ "contactids": [id] })).await;
        assert_eq!(status, 200);
        let (_, found) = find_tokens(db, &tokens).await;
        let in_the_trash: BTreeSet<&str> = found
            .iter()
            .filter(|(table, _, _)| table == "contact_trash")
            .map(|(_, f, _)| f.as_str())
            .collect();
        assert_eq!(in_the_trash, tokens.keys().copied().collect(), "{found:?}");

        assert_eq!(erase(&app, &app.admin_key, id).await.0, 204);
        let (names, found) = find_tokens(db, &tokens).await;
        eprintln!("erasure scan: {} tables: {}", names.len(), names.join(", "));
        assert!(
            found.is_empty(),
            "personal data left after the erasure (table, field, rows): {found:?}"
        );
        if let Some(file) = app.database_url.strip_prefix("sqlite:") {
            no_token_in_the_files(file, &tokens).await;
        }

        // The audit records stay, without the name.
        let finished = Utc::now() + chrono::Duration::seconds(1);
        let audit = audit_of(db, id).await;
        let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            actions,
            ["PersonDeleted", "PersonRestored", "PersonDeleted"]
        );
        for record in &audit {
            assert_eq!(record.contact_id, id);
            assert_eq!(record.user_id, Some(app.admin.id));
            assert!(
                started <= record.occurred_at && record.occurred_at <= finished,
                "{record:?}"
            );
            assert_eq!(record.display_name, "", "{record:?}");
        }
        // The other contact is untouched.
        let other_contact = get_ok(&app, &app.admin_key, other).await;
        assert_eq!(other_contact["DisplayName"], "Jane Doe");
        assert_eq!(
            other_contact["Tags"],
            json!(["berlin-2026", "partner", "vip"])
        );
        assert_eq!(orphans(db).await, 0);
    })
    .await;
}

/// A company and a person, each released for deletion together with writes that refer to it
/// (tasks on the person, people of the company): every write that got 201 comes back with the
/// restore — the delete either saw it, or the write found the contact gone (422).
async fn writes_racing_a_delete_come_back_with_the_restore(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    for round in 0..8 {
        let mut person = fixtures::person(app.admin.id, &format!("Racer {round}"), "X");
        person.share_type = Set(crm_models::ShareType::ReadWrite.value() as i16);
        let x = fixtures::insert(&app.db, person).await;
        let mut company = fixtures::company(app.admin.id, &format!("Race Co {round}"));
        company.share_type = Set(crm_models::ShareType::ReadWrite.value() as i16);
        let c = fixtures::insert(&app.db, company).await;
        let key = &app.admin_key;
        let mut requests = vec![
            raw_request(key, "DELETE", &format!("{CONTACTS}/{x}"), None),
            raw_request(key, "PUT", CONTACTS, Some(&json!({"contactids": [c]}))),
        ];
        for i in 0..4 {
            requests.push(raw_request(
                key,
                "POST",
                "/api/2.0/crm/task",
                Some(&json!({"Title": format!("T{i}"), "ContactId": x})),
            ));
            requests.push(raw_request(
                key,
                "POST",
                "/api/2.0/crm/contact/person",
                Some(&json!({"FirstName": format!("P{i}"), "CompanyId": c})),
            ));
        }
        let answers = release_together(&app, &requests).await;
        assert_eq!(answers[0].status, 200, "{:?}", answers[0]);
        assert_eq!(answers[1].status, 200, "{:?}", answers[1]);
        let mut tasks = 0;
        let mut people = Vec::new();
        for (i, answer) in answers.iter().enumerate().skip(2) {
            match (i % 2 == 0, answer.status) {
                (true, 201) => tasks += 1,
                (false, 201) => people.push(answer.body["ID"].as_i64().unwrap()),
                (_, 422) => {}
                other => panic!("round {round}: {other:?} {answer:?}"),
            }
        }
        assert_eq!(
            answers[0].body["TaskCount"], tasks,
            "round {round}: the delete returns the contact with every task it deleted"
        );
        let client = reqwest::Client::new();
        for id in [x, c] {
            let restored: Value = client
                .post(app.url(&format!("{CONTACTS}/{id}/restore")))
                .header(header::AUTHORIZATION, key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if id == x {
                assert_eq!(restored["TaskCount"], tasks, "round {round}: {restored}");
            }
        }
        for person in people {
            let linked = count(
                &app.db,
                &format!(
                    "SELECT COUNT(*) AS n FROM contacts WHERE id = {person} AND company_id = {c}"
                ),
            )
            .await;
            assert_eq!(
                linked, 1,
                "round {round}: person {person} is linked to {c} again"
            );
        }
    }
    assert_eq!(orphans(&app.db).await, 0);
}

/// A company and its people, deleted together, restored at the same moment: every person is
/// linked to the company again, whichever restore ran first.
async fn a_company_and_its_people_restored_at_once_are_linked_again(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    for round in 0..6 {
        let c = company(&app.db, app.admin.id, &format!("Together {round}")).await;
        let mut people = Vec::new();
        for i in 0..3 {
            let name = format!("Member {round}.{i}");
            people.push(person(&app.db, app.admin.id, &name, Some(c)).await);
        }
        let ids: Vec<i32> = std::iter::once(c).chain(people.iter().copied()).collect();
        let client = reqwest::Client::new();
        let deleted = client
            .put(app.url(CONTACTS))
            .header(header::AUTHORIZATION, &app.admin_key)
            .json(&json!({"contactids": ids}))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 200);
        let requests: Vec<Vec<u8>> = ids
            .iter()
            .map(|id| {
                raw_request(
                    &app.admin_key,
                    "POST",
                    &format!("{CONTACTS}/{id}/restore"),
                    None,
                )
            })
            .collect();
        for answer in release_together(&app, &requests).await {
            assert_eq!(answer.status, 200, "round {round}: {answer:?}");
        }
        let linked = count(
            &app.db,
            &format!("SELECT COUNT(*) AS n FROM contacts WHERE company_id = {c}"),
        )
        .await;
        assert_eq!(
            linked, 3,
            "round {round}: every person is linked to {c} again"
        );
    }
}

/// A company's delete and the restore of one of its people, released together: whichever
/// commits first, the person is linked to the company again once the company is restored.
async fn a_company_deleted_while_its_person_is_restored_takes_the_person_back(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    for round in 0..8 {
        let c = company(&app.db, app.admin.id, &format!("Racing {round}")).await;
        let p = person(&app.db, app.admin.id, &format!("Member {round}"), Some(c)).await;
        let (status, body) = delete_one(&app, &app.admin_key, p).await;
        assert_eq!(status, 200, "{body}");
        let requests = vec![
            raw_request(&app.admin_key, "DELETE", &format!("{CONTACTS}/{c}"), None),
            raw_request(
                &app.admin_key,
                "POST",
                &format!("{CONTACTS}/{p}/restore"),
                None,
            ),
        ];
        for answer in release_together(&app, &requests).await {
            assert_eq!(answer.status, 200, "round {round}: {answer:?}");
        }
        assert_eq!(company_of(&app.db, p).await, None, "round {round}");
        let (status, body) = restore(&app, &app.admin_key, c).await;
        assert_eq!(status, 200, "round {round}: {body}");
        assert_eq!(
            company_of(&app.db, p).await,
            Some(c),
            "round {round}: the person is linked to its company again"
        );
    }
}

/// An erasure removing a tag no contact uses, released together with creates that use the tag:
/// every created contact keeps the tag.
async fn an_erasure_racing_creates_of_its_tag_leaves_them_their_tag(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let client = reqwest::Client::new();
    for round in 0..8 {
        let tag = format!("fleeting-{round}");
        let created: Value = client
            .post(app.url("/api/2.0/crm/contact/person"))
            .header(header::AUTHORIZATION, &app.admin_key)
            .json(&json!({"FirstName": "Erased", "Tags": [tag]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let e = created["ID"].as_i64().unwrap();
        let deleted = client
            .delete(app.url(&format!("{CONTACTS}/{e}")))
            .header(header::AUTHORIZATION, &app.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 200);
        let mut requests = vec![raw_request(
            &app.admin_key,
            "DELETE",
            &format!("{TRASH}/{e}"),
            None,
        )];
        for i in 0..4 {
            requests.push(raw_request(
                &app.admin_key,
                "POST",
                "/api/2.0/crm/contact/person",
                Some(&json!({"FirstName": format!("Keeper {i}"), "Tags": [tag]})),
            ));
        }
        let answers = release_together(&app, &requests).await;
        assert_eq!(answers[0].status, 204, "{:?}", answers[0]);
        for answer in &answers[1..] {
            assert_eq!(answer.status, 201, "{answer:?}");
            let id = answer.body["ID"].as_i64().unwrap();
            let read: Value = client
                .get(app.url(&format!("{CONTACTS}/{id}")))
                .header(header::AUTHORIZATION, &app.admin_key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(read["Tags"], json!([tag]), "round {round}: {read}");
        }
    }
}

/// Task deadlines outside the years 1–9999 (chrono writes them `+10000-…`, `0000-…`; the API
/// takes them) survive the trash: the restored contact's tasks have them, on both backends.
async fn deadlines_outside_the_years_1_to_9999_come_back_with_the_restore(backend: Backend) {
    use chrono::NaiveDate;

    let app = TestApp::spawn_on(backend).await;
    let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let deadlines: Vec<DateTime<Utc>> = [(10_000, 1, 1), (0, 6, 30), (-44, 3, 15), (9_999, 12, 31)]
        .into_iter()
        .map(|(year, month, day)| {
            NaiveDate::from_ymd_opt(year, month, day)
                .unwrap()
                .and_hms_micro_opt(12, 34, 56, 789_012)
                .unwrap()
                .and_utc()
        })
        .collect();
    for deadline in &deadlines {
        task::ActiveModel {
            contact_id: Set(id),
            title: Set(format!("Due {deadline}")),
            deadline: Set(Some(*deadline)),
            is_closed: Set(false),
            created_at: Set(fixtures::now()),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let key = app.admin_key.clone();
    let (status, body) = delete_one(&app, &key, id).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = restore(&app, &key, id).await;
    assert_eq!(status, 200, "{body}");
    let mut back: Vec<DateTime<Utc>> = task::Entity::find()
        .filter(task::Column::ContactId.eq(id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|task| task.deadline)
        .collect();
    back.sort();
    let mut expected = deadlines.clone();
    expected.sort();
    assert_eq!(back, expected);
}

/// Another connection's open transaction holding what a delete of contact `id` needs: the
/// contact's row (PostgreSQL, `FOR KEY SHARE` as a create of a task takes it), the write lock of
/// the file (SQLite). The connection comes back too, to be closed once the transaction ends.
async fn hold_what_a_delete_needs(
    app: &TestApp,
    id: i32,
) -> (sea_orm::DatabaseConnection, sea_orm::DatabaseTransaction) {
    use sea_orm::{ConnectionTrait, SqliteTransactionMode, TransactionOptions, TransactionTrait};

    let other = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let holder = other
        .begin_with_options(TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        })
        .await
        .unwrap();
    if other.get_database_backend() == DbBackend::Postgres {
        holder
            .execute_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT 1 FROM contacts WHERE id = {id} FOR KEY SHARE"),
            ))
            .await
            .unwrap();
    }
    (other, holder)
}

/// PostgreSQL: a transaction of another connection holding contact `id`'s row `FOR UPDATE`, which
/// a restore's writes referring to the contact wait for too (a delete's `FOR KEY SHARE` would
/// not stop them); it holds the row until committed or dropped.
async fn hold_for_update(
    app: &TestApp,
    id: i32,
) -> (sea_orm::DatabaseConnection, sea_orm::DatabaseTransaction) {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let other = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let holder = other.begin().await.unwrap();
    holder
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT 1 FROM contacts WHERE id = {id} FOR UPDATE"),
        ))
        .await
        .unwrap();
    (other, holder)
}

/// A delete abandoned by the request timeout (it waited for a lock held elsewhere) answers 503
/// and leaves nothing behind once the lock is released: the contact stays, no audit record, no
/// trash entry.
async fn a_delete_over_the_request_timeout_leaves_the_contact(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = Duration::from_millis(300);
    })
    .await;
    let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let (other, holder) = hold_what_a_delete_needs(&app, id).await;
    let key = app.admin_key.clone();
    let (status, body) = delete_one(&app, &key, id).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["Code"], "request_timeout", "{body}");
    // The abandoned delete is still waiting for the lock: let it have it, then look.
    tokio::time::sleep(Duration::from_millis(200)).await;
    holder.commit().await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (status, body) = get(&app, &key, id).await;
    assert_eq!(status, 200, "the contact is still there: {body}");
    assert_eq!(
        count(
            &app.db,
            &format!("SELECT COUNT(*) AS n FROM audit_events WHERE contact_id = {id}")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app.db,
            &format!("SELECT COUNT(*) AS n FROM contact_trash WHERE contact_id = {id}")
        )
        .await,
        0
    );
    other.close().await.ok();
}

/// A delete that waits for a lock held elsewhere, released before the request's deadline, gets
/// it and deletes: the lock wait the delete allows itself is the time left, not less. Its audit
/// record and trash entry are dated when it deleted, after the wait, not when it was sent.
async fn a_delete_waiting_for_a_lock_released_in_time_deletes(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = Duration::from_secs(3);
    })
    .await;
    let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let (other, holder) = hold_what_a_delete_needs(&app, id).await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        holder.commit().await.unwrap();
    });
    let key = app.admin_key.clone();
    let started = std::time::Instant::now();
    let sent = Utc::now();
    let (status, body) = delete_one(&app, &key, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ID"], id, "{body}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the delete waited for the lock: {:?}",
        started.elapsed()
    );
    release.await.unwrap();
    let (status, _) = get(&app, &key, id).await;
    assert_eq!(status, 404);
    let audit = audit_of(&app.db, id).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    let waited = chrono::Duration::milliseconds(500);
    assert!(
        audit[0].occurred_at >= sent + waited,
        "dated after the wait: sent {sent}, recorded {}",
        audit[0].occurred_at
    );
    let (status, entries) = list(&app, &key, "").await;
    assert_eq!(status, 200, "{entries}");
    let entry = &entries[0];
    assert_eq!(entry["ID"], id, "{entries}");
    let deleted = timestamp(&entry["Deleted"]);
    assert_eq!(deleted, audit[0].occurred_at, "{entry}");
    assert_eq!(
        timestamp(&entry["Expires"]) - deleted,
        chrono::Duration::from_std(DEFAULT_RETENTION).unwrap(),
        "{entry}"
    );
    other.close().await.ok();
}

/// PostgreSQL: a restore that waits past its deadline for a lock held outside the service
/// answers 503 and lets go of the trash's turn at its deadline, not when the lock is released:
/// a restore of another contact, sent after that 503, is served while the lock is still held.
/// Before, the abandoned restore's statement went on waiting, its rollback queued behind it,
/// and every restore and erasure of every instance waited with it.
#[tokio::test]
async fn postgres_a_restore_past_its_deadline_lets_go_of_the_trash() {
    let Some(backend) = crate::helpers::postgres() else {
        return;
    };
    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = Duration::from_millis(1_000);
    })
    .await;
    let key = app.admin_key.clone();
    let acme = company(&app.db, app.admin.id, "Acme").await;
    let jane = person(&app.db, app.admin.id, "Jane", Some(acme)).await;
    let john = person(&app.db, app.admin.id, "John", None).await;
    for id in [jane, john] {
        let (status, body) = delete_one(&app, &key, id).await;
        assert_eq!(status, 200, "{body}");
    }
    // Jane's restore links her to Acme again, which needs a lock on Acme's row.
    let (other, holder) = hold_for_update(&app, acme).await;
    let (status, body) = restore(&app, &key, jane).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["Code"], "request_timeout", "{body}");
    let (status, body) = restore(&app, &key, john).await;
    assert_eq!(status, 200, "served while Acme is still locked: {body}");
    holder.commit().await.unwrap();
    assert!(
        in_trash(&app.db, jane).await,
        "the abandoned restore kept nothing"
    );
    let (status, body) = restore(&app, &key, jane).await;
    assert_eq!(status, 200, "{body}");
    other.close().await.ok();
}

/// PostgreSQL: a batch whose contacts are each held by another transaction waits for them, in
/// all, no longer than the request's time — not the time left for each — then answers 503 and
/// keeps nothing, the contact it did lock included.
#[tokio::test]
async fn postgres_a_batch_waits_for_its_locks_no_longer_than_the_request_timeout() {
    let Some(backend) = crate::helpers::postgres() else {
        return;
    };
    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = Duration::from_millis(1_500);
    })
    .await;
    let first = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let second = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let (other_first, holder_first) = hold_what_a_delete_needs(&app, first).await;
    let (other_second, holder_second) = hold_what_a_delete_needs(&app, second).await;
    // The first is released before the deadline, the second well after it.
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        holder_first.commit().await.unwrap();
        tokio::time::sleep(Duration::from_millis(2_300)).await;
        holder_second.commit().await.unwrap();
    });
    let key = app.admin_key.clone();
    let started = std::time::Instant::now();
    let (status, body) = batch(&app, &key, &json!({ "contactids": [first, second] })).await;
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["Code"], "request_timeout", "{body}");
    assert!(
        took < Duration::from_millis(2_200),
        "answered at the deadline, not when the second lock was released: {took:?}"
    );
    release.await.unwrap();
    for id in [first, second] {
        let (status, body) = get(&app, &key, id).await;
        assert_eq!(status, 200, "contact {id} is still there: {body}");
    }
    assert_eq!(
        count(
            &app.db,
            &format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE contact_id IN ({first}, {second})"
            )
        )
        .await,
        0
    );
    other_first.close().await.ok();
    other_second.close().await.ok();
}

/// Waits until `n` connections of the test's database wait for a lock.
async fn waiting_for_locks(db: &DatabaseConnection, n: i64) {
    let sql = "SELECT COUNT(*) AS n FROM pg_stat_activity \
               WHERE datname = current_database() AND wait_event_type = 'Lock'";
    while count(db, sql).await < n {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// PostgreSQL: a batch that reaches a company while the company's restore has not committed
/// (the restore waits for a person it links again, held by another transaction) leaves the
/// company alone once the restore commits: it deletes only what it locked. Before, it read the
/// restored company with a later snapshot and deleted it without its lock, so a task added to
/// it in that moment went with it and was missing from the trash.
#[tokio::test]
async fn postgres_a_batch_racing_a_restore_deletes_only_what_it_locked() {
    let Some(backend) = crate::helpers::postgres() else {
        return;
    };
    bounded(async {
        let app = TestApp::spawn_on(backend).await;
        let key = app.admin_key.clone();
        let c = company(&app.db, app.admin.id, "Returning").await;
        let p = person(&app.db, app.admin.id, "Member", Some(c)).await;
        assert!(c < p, "the batch locks the company first");
        let (status, body) = delete_one(&app, &key, c).await;
        assert_eq!(status, 200, "{body}");

        let (other, holder) = hold_for_update(&app, p).await;
        let db = &app.db;
        let restoring = restore(&app, &key, c);
        let batching = async {
            // The restore has put the company back (not committed) and waits for the person.
            waiting_for_locks(db, 1).await;
            batch(&app, &key, &json!({ "contactids": [c, p] })).await
        };
        let releasing = async move {
            // The batch found no company to lock and waits for the person too.
            waiting_for_locks(db, 2).await;
            holder.commit().await.unwrap();
        };
        let ((restored, restore_body), (batched, batch_body), ()) =
            tokio::join!(restoring, batching, releasing);
        assert_eq!(restored, 200, "{restore_body}");
        assert_eq!(batched, 200, "{batch_body}");
        assert_eq!(
            ids_of(&batch_body),
            vec![i64::from(p)],
            "the batch deleted the person it locked, not the company it could not: {batch_body}"
        );
        let (status, body) = get(&app, &key, c).await;
        assert_eq!(status, 200, "the restored company stays: {body}");
        assert!(!in_trash(&app.db, c).await);
        assert!(in_trash(&app.db, p).await);
        other.close().await.ok();
    })
    .await;
}

crate::backend_tests!(
    a_batch_delete_refuses_bad_lists_naming_the_property,
    a_delete_over_the_request_timeout_leaves_the_contact,
    a_delete_waiting_for_a_lock_released_in_time_deletes,
    deadlines_outside_the_years_1_to_9999_come_back_with_the_restore,
    a_batch_delete_returns_the_deleted_contacts_as_get_showed_them_and_skips_the_rest,
    a_batch_of_500_runs_as_many_statements_as_a_batch_of_1,
    two_overlapping_batches_sent_at_once_delete_each_contact_once,
    the_trash_lists_newest_first_in_pages_what_the_caller_may_restore,
    the_trash_refuses_pages_out_of_range_naming_the_parameter,
    the_trash_refuses_pages_that_are_not_integers_naming_the_parameter,
    an_entry_whose_deleter_is_gone_lists_no_deleter,
    expired_entries_are_not_listed_nor_restored,
    the_purge_removes_expired_entries_in_bounded_runs,
    a_retention_of_zero_keeps_nothing,
    a_restore_brings_back_a_full_person_as_it_was_under_the_same_id,
    a_restore_links_a_company_and_its_people_again_where_it_can,
    a_restore_drops_what_is_gone_meanwhile_and_creates_gone_tags_again,
    a_restore_whose_creator_is_gone_is_refused_and_keeps_the_entry,
    a_tag_an_erasure_removed_comes_back_with_a_restore,
    a_restore_is_404_outside_the_trash_and_403_to_others,
    a_restore_and_a_delete_of_one_id_racing_stay_consistent,
    two_restores_and_an_erasure_racing_consume_the_entry_once,
    erasure_is_for_administrators_and_for_what_is_in_the_trash,
    an_erased_contact_leaves_no_personal_data_in_any_table,
    the_rust_client_batch_deletes_lists_restores_and_erases,
    writes_racing_a_delete_come_back_with_the_restore,
    a_company_and_its_people_restored_at_once_are_linked_again,
    a_company_deleted_while_its_person_is_restored_takes_the_person_back,
    an_erasure_racing_creates_of_its_tag_leaves_them_their_tag,
);

/// The generated Rust client covers the four operations: a batch delete, the trash list, a
/// restore and an erasure, with their documented errors typed.
async fn the_rust_client_batch_deletes_lists_restores_and_erases(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let client = app.admin_client();
    let mut ids = Vec::new();
    for name in ["Ann", "Bob", "Cyd"] {
        let row = fixtures::person(app.admin.id, name, "Client");
        ids.push(fixtures::insert(&app.db, row).await);
    }
    let before = client
        .get_contact(crate::helpers::cid(ids[1]))
        .await
        .unwrap()
        .into_inner();
    let deleted = client
        .delete_contacts(&crm_models::BatchDelete {
            contactids: ids
                .iter()
                .map(|&id| i64::from(id))
                .chain([2_147_483_647])
                .collect(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        deleted.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids,
        "the three deleted, the unknown ID skipped"
    );
    let trash = client.list_trash(None, None).await.unwrap().into_inner();
    assert_eq!(trash.len(), 3);
    assert!(trash.iter().all(|entry| entry.deleted < entry.expires));
    let page = client
        .list_trash(std::num::NonZeroU32::new(1), Some(1))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, trash[1].id);

    let restored = client
        .restore_contact(crate::helpers::cid(ids[1]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serde_json::to_value(&restored).unwrap(),
        serde_json::to_value(&before).unwrap()
    );
    let (status, error) =
        crate::helpers::error_status(client.restore_contact(crate::helpers::cid(ids[1])).await);
    assert_eq!((status, error.code.as_str()), (404, "not_in_trash"));

    client
        .erase_contact(crate::helpers::cid(ids[2]))
        .await
        .unwrap();
    let (status, _) =
        crate::helpers::error_status(client.erase_contact(crate::helpers::cid(ids[2])).await);
    assert_eq!(status, 404);
    let (_, key) = app.member("Mo").await;
    let (status, error) = crate::helpers::error_status(
        app.client(&key)
            .erase_contact(crate::helpers::cid(ids[0]))
            .await,
    );
    assert_eq!((status, error.code.as_str()), (403, "forbidden"));
    let left = client.list_trash(None, None).await.unwrap().into_inner();
    assert_eq!(left.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[0]]);
}
