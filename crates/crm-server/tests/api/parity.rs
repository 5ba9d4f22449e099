//! The same answers on SQLite and PostgreSQL where the two differ most: writes racing a delete,
//! simultaneous creates of one title, U+0000 in every text property, bytes after the JSON
//! value, the classes of database errors through `db::write`, the migration that merges
//! duplicate titles, and the rules of `CRM_BOOTSTRAP_API_KEY`.

use std::{
    collections::BTreeMap,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use actix_web::ResponseError;
use chrono::Utc;
use crm_models::ShareType;
use reqwest::header;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, Set, Statement,
};
use sea_orm_migration::MigratorTrait;
use serde_json::{Value, json};

use crm_server::{
    db::{self, DbConfig, Failure},
    error::ApiError,
};
use crm_testkit::{
    entities::{contact, custom_field, list_item, task},
    process::{Launch, ServerProcess},
};

use crate::{
    fixtures,
    helpers::{Backend, TestApp, count, orphans},
    race::{raw_request, release_together},
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A list item row (a contact status unless `kind` says otherwise) for direct inserts.
fn list_item_row(kind: i16, title: &str) -> list_item::ActiveModel {
    list_item::ActiveModel {
        kind: Set(kind),
        title: Set(title.to_owned()),
        title_key: Set(list_item::title_key(title)),
        description: Set(String::new()),
        color: Set(String::new()),
        sort_order: Set(99),
        ..Default::default()
    }
}

/// How many list items of `kind` have the title key `key`.
async fn items_keyed(db: &DatabaseConnection, kind: i16, key: &str) -> u64 {
    list_item::Entity::find()
        .filter(list_item::Column::Kind.eq(kind))
        .filter(list_item::Column::TitleKey.eq(key))
        .count(db)
        .await
        .expect("count")
}

// ---------------------------------------------------------------------------------------------
// 1. Writes racing a delete
// ---------------------------------------------------------------------------------------------

/// Each round: a company, then its delete, 5 tasks on it and 5 persons working for it, released
/// at the same moment. The delete always succeeds; each write either came first (201; the
/// delete then removed its task or unlinked its person) or found the company gone (422 naming
/// the property) — never a 500, never a row pointing at the deleted company.
async fn writes_racing_a_delete_get_201_or_422_and_leave_no_orphans(backend: Backend) {
    const ROUNDS: usize = 20;
    const WRITES: usize = 5;
    let app = TestApp::spawn_on(backend.clone()).await;
    let mut totals: BTreeMap<u16, usize> = BTreeMap::new();
    let mut persons_created = 0_u64;
    let mut problems = Vec::new();
    for round in 0..ROUNDS {
        let mut row = fixtures::company(app.admin.id, &format!("Round {round}"));
        row.share_type = Set(ShareType::ReadWrite.value() as i16);
        let company = fixtures::insert(&app.db, row).await;

        let mut requests = vec![raw_request(
            &app.admin_key,
            "DELETE",
            &format!("/api/2.0/crm/contact/{company}"),
            None,
        )];
        for i in 0..WRITES {
            requests.push(raw_request(
                &app.admin_key,
                "POST",
                "/api/2.0/crm/task",
                Some(&json!({"ContactId": company, "Title": format!("Task {round}.{i}")})),
            ));
            requests.push(raw_request(
                &app.admin_key,
                "POST",
                "/api/2.0/crm/contact/person",
                Some(&json!({"FirstName": format!("Person {round}.{i}"), "CompanyId": company})),
            ));
        }
        let answers = release_together(&app, &requests).await;

        let delete = &answers[0];
        if delete.status != 200 || delete.body["ID"] != json!(company) {
            problems.push(format!(
                "round {round}: the delete answered {} {}",
                delete.status, delete.body
            ));
        }
        for (i, answer) in answers.iter().enumerate().skip(1) {
            let (what, property) = if i % 2 == 1 {
                ("task", "ContactId: ")
            } else {
                ("person", "CompanyId: ")
            };
            *totals.entry(answer.status).or_default() += 1;
            match answer.status {
                201 => persons_created += u64::from(what == "person"),
                422 if answer.message().starts_with(property)
                    && answer.body["Code"] == "invalid_field" => {}
                _ => problems.push(format!(
                    "round {round}: a {what} answered {} {}",
                    answer.status, answer.body
                )),
            }
        }
        let left = count(
            &app.db,
            &format!(
                "SELECT (SELECT COUNT(*) FROM tasks WHERE contact_id = {company}) \
                 + (SELECT COUNT(*) FROM contacts WHERE id = {company} OR company_id = {company}) \
                 AS n"
            ),
        )
        .await;
        if left != 0 {
            problems.push(format!(
                "round {round}: {left} rows still refer to the deleted company"
            ));
        }
    }
    let orphans = orphans(&app.db).await;
    let persons = contact::Entity::find()
        .filter(contact::Column::IsCompany.eq(false))
        .count(&app.db)
        .await
        .unwrap();
    let tasks = task::Entity::find().count(&app.db).await.unwrap();
    let get = |status| totals.get(&status).copied().unwrap_or(0);
    eprintln!(
        "race totals ({backend:?}, {ROUNDS} rounds of 1 delete + {} writes): 201={}, 422={}, \
         500={}, other={}; {orphans} orphans",
        2 * WRITES,
        get(201),
        get(422),
        get(500),
        totals
            .iter()
            .filter(|(status, _)| ![201, 422, 500].contains(*status))
            .map(|(_, n)| n)
            .sum::<usize>(),
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(orphans, 0);
    assert_eq!(
        persons, persons_created,
        "every person answered 201 is kept (unlinked from the deleted company)"
    );
    assert_eq!(tasks, 0, "the tasks answered 201 went with their company");
    assert_eq!(get(201) + get(422), ROUNDS * 2 * WRITES);
}

// ---------------------------------------------------------------------------------------------
// 2. Simultaneous creates of one title
// ---------------------------------------------------------------------------------------------

/// Twelve creates of one new title (written differently: case, surrounding white space) at the
/// same moment, for statuses and for types: one 201, eleven 409 naming `Title`, one row.
async fn simultaneous_creates_of_one_title_make_one_item(backend: Backend) {
    let app = TestApp::spawn_on(backend.clone()).await;
    let variants = [
        "Lead", " lead ", "LEAD", "lead", "Lead  ", "  LEAD", "lEaD", "\tLead", "LeAd", " Lead",
        "lead\t", "LEAD ",
    ];
    for (path, kind) in [
        ("/api/2.0/crm/contact/status", list_item::KIND_STATUS),
        ("/api/2.0/crm/contact/type", list_item::KIND_TYPE),
    ] {
        let before = list_item::Entity::find()
            .filter(list_item::Column::Kind.eq(kind))
            .count(&app.db)
            .await
            .unwrap();
        let requests: Vec<_> = variants
            .iter()
            .map(|title| raw_request(&app.admin_key, "POST", path, Some(&json!({"Title": title}))))
            .collect();
        let answers = release_together(&app, &requests).await;
        let created: Vec<_> = answers.iter().filter(|a| a.status == 201).collect();
        let conflicts: Vec<_> = answers.iter().filter(|a| a.status == 409).collect();
        eprintln!(
            "titles ({backend:?}) {path}: 201={}, 409={}, other={}",
            created.len(),
            conflicts.len(),
            answers.len() - created.len() - conflicts.len()
        );
        assert_eq!(created.len(), 1, "{path}: {answers:#?}");
        assert_eq!(conflicts.len(), variants.len() - 1, "{path}: {answers:#?}");
        for conflict in &conflicts {
            assert!(conflict.message().starts_with("Title:"), "{conflict:?}");
            assert_eq!(conflict.body["Code"], "conflict", "{conflict:?}");
        }
        let winner = answers.iter().position(|a| a.status == 201).unwrap();
        assert_eq!(created[0].body["Title"], variants[winner].trim());
        assert_eq!(items_keyed(&app.db, kind, "lead").await, 1, "{path}");
        let after = list_item::Entity::find()
            .filter(list_item::Column::Kind.eq(kind))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(after, before + 1, "{path}");
    }
}

/// Creates of new statuses, types and custom fields without a position, sent at the same moment:
/// each goes after the last, so their positions are distinct and follow one another.
async fn simultaneous_creates_without_a_position_get_distinct_ones(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    for (path, body, position) in [
        ("/api/2.0/crm/contact/status", json!({}), "SortOrder"),
        ("/api/2.0/crm/contact/type", json!({}), "SortOrder"),
        (
            "/api/2.0/crm/person/customfield",
            json!({"FieldType": 0}),
            "Position",
        ),
    ] {
        for round in 0..3 {
            let requests: Vec<_> = (0..8)
                .map(|i| {
                    let mut body = body.clone();
                    let name = if position == "Position" {
                        "Label"
                    } else {
                        "Title"
                    };
                    body[name] = json!(format!("Item {round}.{i}"));
                    raw_request(&app.admin_key, "POST", path, Some(&body))
                })
                .collect();
            let answers = release_together(&app, &requests).await;
            let mut positions: Vec<i64> = answers
                .iter()
                .map(|answer| {
                    assert_eq!(answer.status, 201, "{path}: {answer:?}");
                    answer.body[position].as_i64().expect("a position")
                })
                .collect();
            positions.sort_unstable();
            let first = positions[0];
            assert_eq!(
                positions,
                (first..first + 8).collect::<Vec<_>>(),
                "{path}, round {round}: one after another"
            );
        }
    }
}

/// When a list's last item is at the largest position, an item created without one has no place
/// after it: 422 naming the property, and nothing is created.
async fn a_list_ending_at_the_largest_position_asks_for_one(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let client = reqwest::Client::new();
    for (path, name, position, base) in [
        (
            "/api/2.0/crm/contact/status",
            "Title",
            "SortOrder",
            json!({}),
        ),
        ("/api/2.0/crm/contact/type", "Title", "SortOrder", json!({})),
        (
            "/api/2.0/crm/company/customfield",
            "Label",
            "Position",
            json!({"FieldType": 0}),
        ),
    ] {
        let post = |title: &str, at: Option<i32>| {
            let mut body = base.clone();
            body[name] = json!(title);
            if let Some(at) = at {
                body[position] = json!(at);
            }
            client
                .post(app.url(path))
                .header(header::AUTHORIZATION, &app.admin_key)
                .json(&body)
                .send()
        };
        let last = post("Last", Some(i32::MAX)).await.unwrap();
        assert_eq!(last.status(), 201, "{path}");
        let after = post("After", None).await.unwrap();
        assert_eq!(after.status(), 422, "{path}");
        let body: Value = after.json().await.unwrap();
        assert_eq!(body["Code"], "invalid_field", "{body}");
        assert!(
            body["Message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{position}: ")),
            "{body}"
        );
        let given = post("Given", Some(7)).await.unwrap();
        assert_eq!(given.status(), 201, "{path}: a position given still works");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. U+0000 in every text property of every request body
// ---------------------------------------------------------------------------------------------

/// The document's schema at `#/components/schemas/…` (or any local `$ref`).
pub(crate) fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("a non-local $ref: {reference}"));
            let target = document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("a dangling $ref: {reference}"));
            resolve(document, target)
        }
        None => schema,
    }
}

/// A string property of a request body: its path (`CommonData[0].Data`) and whether it is free
/// text (`false` for a string the schema constrains to a format or a list of values: a UUID, a
/// date-time, an enum — a value with U+0000 in it cannot be one, so it breaks the schema).
type StringPath = (String, bool);

/// Collects every string property of `schema`, one item per array, under `path`.
fn string_paths(
    document: &Value,
    schema: &Value,
    path: &str,
    depth: usize,
    out: &mut Vec<StringPath>,
) {
    assert!(depth < 16, "{path}: the schema nests too deep (a cycle?)");
    let schema = resolve(document, schema);
    for combinator in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = schema.get(combinator).and_then(Value::as_array) {
            for part in parts {
                string_paths(document, part, path, depth + 1, out);
            }
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let nested = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            string_paths(document, property, &nested, depth + 1, out);
        }
    }
    assert!(
        !schema
            .get("additionalProperties")
            .is_some_and(Value::is_object),
        "{path}: a map's values cannot be enumerated; cover it by hand"
    );
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => {
            let items = schema
                .get("items")
                .unwrap_or_else(|| panic!("{path}: an array without items"));
            string_paths(document, items, &format!("{path}[0]"), depth + 1, out);
        }
        Some("string") => {
            let free = schema.get("format").is_none() && schema.get("enum").is_none();
            if !out.iter().any(|(known, _)| known == path) {
                out.push((path.to_owned(), free));
            }
        }
        _ => {}
    }
}

/// The value at `path` (`CommonData[0].Data`, `Tags[0]`) of a JSON document.
pub(crate) fn at_path<'a>(document: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut here = document;
    for part in path.split('.') {
        let (name, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(n, rest)| (n, rest));
        here = here.as_object_mut()?.get_mut(name)?;
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            let index: usize = index.trim_end_matches(']').parse().ok()?;
            here = here.as_array_mut()?.get_mut(index)?;
        }
    }
    Some(here)
}

/// What a valid body of each operation is made of.
pub(crate) struct Ids {
    pub(crate) user: uuid::Uuid,
    pub(crate) field: i32,
    pub(crate) contact: i32,
}

impl Ids {
    /// A custom field for every contact, and a contact shared read-write.
    pub(crate) async fn put_in_place(app: &TestApp) -> Self {
        let field = custom_field::ActiveModel {
            entity_type: Set(custom_field::FOR_CONTACT),
            label: Set("Source".to_owned()),
            field_type: Set(crm_models::FieldType::TextField.value() as i16),
            mask: Set(String::new()),
            position: Set(0),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .expect("custom field")
        .id;
        Self {
            user: app.admin.id,
            field,
            contact: fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await,
        }
    }
}

/// A valid body for the operation, with every optional text set and one item in every array
/// (so that every nested path exists); `None` for an operation this test does not know, which
/// fails the test.
pub(crate) fn base_body(method: &str, path: &str, ids: &Ids) -> Option<Value> {
    let contact = |name_properties: Value| {
        let mut body = json!({
            "About": "Met at the fair.",
            "Industry": "Logistics",
            "ContactStatusId": null,
            "ContactTypeId": null,
            "Currency": "EUR",
            "ShareType": 1,
            "AccessList": [ids.user],
            "CommonData": [{"InfoType": 1, "Category": 0, "Data": "a@example.com", "IsPrimary": true}],
            "Addresses": [{
                "Street": "1 Dock St", "City": "Riga", "State": "Riga", "Zip": "LV-1001",
                "Country": "Latvia", "Category": 1, "IsPrimary": true
            }],
            "CustomFields": [{"FieldId": ids.field, "Value": "v"}],
            "Tags": ["nul"],
        });
        let object = body.as_object_mut().expect("an object");
        for (name, value) in name_properties.as_object().expect("an object") {
            object.insert(name.clone(), value.clone());
        }
        body
    };
    match (method, path) {
        ("post", "/api/2.0/crm/contact/person") => Some(contact(json!({
            "FirstName": "Ann", "LastName": "Lee", "JobTitle": "Buyer", "CompanyId": null
        }))),
        ("post", "/api/2.0/crm/contact/company") => {
            Some(contact(json!({"CompanyName": "Nul Trading"})))
        }
        ("post", "/api/2.0/crm/contact/status" | "/api/2.0/crm/contact/type") => Some(json!({
            "Title": "Nul base", "Description": "d", "Color": "#123456", "SortOrder": null
        })),
        ("post", "/api/2.0/crm/task") => Some(json!({
            "Title": "Call", "ContactId": ids.contact, "Deadline": "2030-01-01T00:00:00Z",
            "IsClosed": false
        })),
        ("post", "/api/2.0/crm/{entityType}/customfield") => Some(json!({
            "Label": "Nul", "FieldType": 0, "Mask": "", "Position": null
        })),
        // IDs that name no contact: the batch deletes nothing and answers 200.
        ("put", "/api/2.0/crm/contact") => Some(json!({"contactids": [2147483647]})),
        _ => None,
    }
}

/// Every concrete path of a path template: each path parameter takes each value its schema
/// lists (`enum`), or its example.
pub(crate) fn concrete_paths(document: &Value, template: &str, operation: &Value) -> Vec<String> {
    let mut paths = vec![template.to_owned()];
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let parameter = resolve(document, parameter);
        if parameter["in"] != "path" {
            continue;
        }
        let name = parameter["name"].as_str().expect("a parameter name");
        let schema = resolve(document, &parameter["schema"]);
        let values: Vec<String> = match (schema["enum"].as_array(), parameter.get("example")) {
            (Some(values), _) => values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect(),
            (None, Some(example)) => vec![
                example
                    .as_str()
                    .map_or_else(|| example.to_string(), str::to_owned),
            ],
            (None, None) => panic!("{template}: no value known for the path parameter {name}"),
        };
        paths = paths
            .iter()
            .flat_map(|path| {
                values
                    .iter()
                    .map(move |value| path.replace(&format!("{{{name}}}"), value))
            })
            .collect();
    }
    paths
}

/// Walks the published document: for every operation with a JSON body and every string
/// property of that body (nested ones included), a valid body with that one property set to
/// `"a\u0000b"` is refused with a 400 whose message starts with the property's path; nothing is
/// written.
async fn nul_in_any_text_property_is_a_400_naming_it(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let document = crm_server::openapi::document_json();
    let ids = Ids::put_in_place(&app).await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: &Value| {
        client
            .post(app.url(path))
            .header(header::AUTHORIZATION, &app.admin_key)
            .json(body)
            .send()
    };
    let rows = |db: DatabaseConnection| async move {
        count(
            &db,
            "SELECT (SELECT COUNT(*) FROM contacts) + (SELECT COUNT(*) FROM tasks) \
             + (SELECT COUNT(*) FROM list_items) + (SELECT COUNT(*) FROM custom_fields) \
             + (SELECT COUNT(*) FROM tags) + (SELECT COUNT(*) FROM contact_infos) AS n",
        )
        .await
    };

    let mut covered: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut operations = 0;
    for (template, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let Some(body) = operation.get("requestBody") else {
                continue;
            };
            operations += 1;
            let body = resolve(&document, body);
            let schema = body
                .pointer("/content/application~1json/schema")
                .unwrap_or_else(|| panic!("{method} {template}: a body that is not JSON"));
            let mut paths = Vec::new();
            string_paths(&document, schema, "", 0, &mut paths);
            if paths.is_empty() {
                // A body of numbers only (the batch delete's IDs): no text to carry U+0000.
                continue;
            }
            let base = base_body(method, template, &ids).unwrap_or_else(|| {
                panic!("{method} {template}: a new operation with a body; give it a base body here")
            });
            for concrete in concrete_paths(&document, template, operation) {
                // The base body is valid: what makes the requests below fail is the U+0000.
                let response = post(&concrete, &base).await.unwrap();
                let status = response.status().as_u16();
                let text = response.text().await.unwrap();
                assert_eq!(status, 201, "{method} {concrete}, the base body: {text}");

                let before = rows(app.db.clone()).await;
                for (path, free) in &paths {
                    let mut body = base.clone();
                    let slot = at_path(&mut body, path).unwrap_or_else(|| {
                        panic!("{method} {template}: the base body has no {path}; add it")
                    });
                    *slot = json!("a\u{0}b");
                    let response = post(&concrete, &body).await.unwrap();
                    let status = response.status().as_u16();
                    let error: Value = response.json().await.unwrap();
                    let message = error["Message"].as_str().unwrap_or_default();
                    assert_eq!(status, 400, "{method} {concrete} {path}: {error}");
                    assert!(
                        message.starts_with(&format!("{path}: ")),
                        "{method} {concrete} {path}: {error}"
                    );
                    let code = if *free {
                        "invalid_field"
                    } else {
                        "invalid_body"
                    };
                    assert_eq!(error["Code"], code, "{method} {concrete} {path}: {error}");
                }
                assert_eq!(rows(app.db.clone()).await, before, "{method} {concrete}");
                covered
                    .entry(format!("{} {concrete}", method.to_uppercase()))
                    .or_default()
                    .extend(paths.iter().map(|(path, _)| path.clone()));
            }
        }
    }
    assert!(operations >= 6, "{operations} operations with a body");
    let person = &covered["POST /api/2.0/crm/contact/person"];
    for expected in [
        "FirstName",
        "CommonData[0].Data",
        "Addresses[0].Street",
        "Tags[0]",
        "CustomFields[0].Value",
        "Currency",
    ] {
        assert!(
            person.iter().any(|p| p == expected),
            "{expected}: {person:?}"
        );
    }
    eprintln!(
        "U+0000: {} request bodies, {} string properties: {covered:?}",
        covered.len(),
        covered.values().map(Vec::len).sum::<usize>()
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Bytes after the JSON value
// ---------------------------------------------------------------------------------------------

async fn bytes_after_the_json_value_are_a_400_and_create_nothing(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let contact_id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let client = reqwest::Client::new();
    let rows = |db: DatabaseConnection| async move {
        count(
            &db,
            "SELECT (SELECT COUNT(*) FROM contacts) + (SELECT COUNT(*) FROM tasks) \
             + (SELECT COUNT(*) FROM list_items) AS n",
        )
        .await
    };
    let before = rows(app.db.clone()).await;
    let task = format!(r#"{{"Title":"S","ContactId":{contact_id}}}"#);
    for (path, value, another) in [
        (
            "/api/2.0/crm/contact/person",
            r#"{"FirstName":"A"}"#,
            r#"{"FirstName":"B"}"#,
        ),
        (
            "/api/2.0/crm/contact/status",
            r#"{"Title":"S"}"#,
            r#"{"Title":"T"}"#,
        ),
        ("/api/2.0/crm/task", task.as_str(), task.as_str()),
    ] {
        for body in [
            format!("{value}{another}"),
            format!("{value} x"),
            format!(r#"{value}, "DROP""#),
        ] {
            let response = client
                .post(app.url(path))
                .header(header::AUTHORIZATION, &app.admin_key)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let error: Value = response.json().await.unwrap();
            assert_eq!(status, 400, "{path} {body}: {error}");
            assert_eq!(error["Code"], "malformed_json", "{path} {body}: {error}");
            assert!(
                error["Message"]
                    .as_str()
                    .is_some_and(|m| m.contains("trailing characters")),
                "{path} {body}: {error}"
            );
        }
        // The same value alone is accepted: the bytes after it were the only fault.
        let response = client
            .post(app.url(path))
            .header(header::AUTHORIZATION, &app.admin_key)
            .header(header::CONTENT_TYPE, "application/json")
            .body(format!("{value} \r\n\t"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "{path} {value}");
    }
    assert_eq!(
        rows(app.db.clone()).await,
        before + 3,
        "only the three valid bodies created anything"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Database errors through db::write
// ---------------------------------------------------------------------------------------------

async fn database_errors_through_db_write_map_alike(backend: Backend) {
    let app = TestApp::spawn_on(backend.clone()).await;
    let db = &app.db;
    let postgres = matches!(backend, Backend::Postgres(_));
    let probes = |title: &'static str| async move {
        items_keyed(db, list_item::KIND_STATUS, &list_item::title_key(title)).await
    };

    // (a) A foreign key: a task for a contact that does not exist. A row written before it in
    // the same unit of work is rolled back.
    let result: Result<task::Model, ApiError> = db::write(db, |tx| async move {
        list_item_row(list_item::KIND_STATUS, "Probe fk")
            .insert(&*tx)
            .await?;
        task::ActiveModel {
            contact_id: Set(999_999),
            title: Set("Orphan".to_owned()),
            deadline: Set(None),
            is_closed: Set(false),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&*tx)
        .await
        .map_err(ApiError::from)
    })
    .await;
    let error = result.expect_err("a task for no contact");
    assert_eq!(error.status_code().as_u16(), 422, "{error}");
    assert_eq!(error.code(), "invalid_field");
    // PostgreSQL names the foreign key (`fk_tasks_contact`); SQLite names none.
    let property = if postgres {
        "ContactId: "
    } else {
        "(a reference): "
    };
    assert!(error.to_string().starts_with(property), "{error}");
    assert_eq!(probes("Probe fk").await, 0, "rolled back");

    // (b) A unique index: a title already in the list ("Cold" is seeded).
    let result: Result<list_item::Model, ApiError> = db::write(db, |tx| async move {
        list_item_row(list_item::KIND_STATUS, "Probe unique")
            .insert(&*tx)
            .await?;
        list_item_row(list_item::KIND_STATUS, " COLD ")
            .insert(&*tx)
            .await
            .map_err(ApiError::from)
    })
    .await;
    let error = result.expect_err("a second Cold");
    assert_eq!(error.status_code().as_u16(), 409, "{error}");
    assert_eq!(error.code(), "conflict");
    assert!(error.to_string().starts_with("Title: "), "{error}");
    assert_eq!(probes("Probe unique").await, 0, "rolled back");
    assert_eq!(items_keyed(db, list_item::KIND_STATUS, "cold").await, 1);

    // (c) Serialization failures and deadlocks are retried, WRITE_ATTEMPTS times in all. Only
    // PostgreSQL can be made to raise them: on SQLite the writers of a process take turns and
    // each holds the file's write lock from `BEGIN IMMEDIATE`, so a write never meets a
    // serialization failure (SQLITE_BUSY_SNAPSHOT) or a deadlock to retry.
    if postgres {
        for code in ["40001", "40P01"] {
            let attempts = AtomicU32::new(0);
            let attempts = &attempts;
            let raise =
                format!("DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '{code}'; END $$");
            let raise = raise.as_str();
            let result: Result<(), ApiError> = db::write(db, |tx| async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                list_item_row(list_item::KIND_STATUS, "Probe retry")
                    .insert(&*tx)
                    .await?;
                tx.execute_unprepared(raise).await?;
                Ok(())
            })
            .await;
            assert_eq!(
                attempts.load(Ordering::SeqCst),
                db::WRITE_ATTEMPTS,
                "{code}"
            );
            let error = result.expect_err("every attempt fails");
            assert_eq!(error.status_code().as_u16(), 503, "{code}: {error}");
            assert_eq!(error.code(), "write_conflict", "{code}");
            assert_eq!(probes("Probe retry").await, 0, "{code}: rolled back");

            // The same with the database error itself as the unit of work's error.
            let attempts_db = AtomicU32::new(0);
            let attempts_db = &attempts_db;
            let result: Result<(), sea_orm::DbErr> = db::write(db, |tx| async move {
                attempts_db.fetch_add(1, Ordering::SeqCst);
                tx.execute_unprepared(raise).await.map(|_| ())
            })
            .await;
            let error = result.expect_err("every attempt fails");
            assert_eq!(db::classify(&error), Failure::Retryable, "{code}");
            assert_eq!(attempts_db.load(Ordering::SeqCst), db::WRITE_ATTEMPTS);
        }

        let attempts = AtomicU32::new(0);
        let attempts = &attempts;
        let result: Result<u32, ApiError> = db::write(db, |tx| async move {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            list_item_row(list_item::KIND_STATUS, "Probe second attempt")
                .insert(&*tx)
                .await?;
            if attempt == 1 {
                tx.execute_unprepared(
                    "DO $$ BEGIN RAISE EXCEPTION 'once' USING ERRCODE = '40001'; END $$",
                )
                .await?;
            }
            Ok(attempt)
        })
        .await;
        assert_eq!(result.expect("the second attempt succeeds"), 2);
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        assert_eq!(probes("Probe second attempt").await, 1, "committed once");
    }

    // (d) Anything else: a bug, a 500.
    let attempts = AtomicU32::new(0);
    let attempts = &attempts;
    let result: Result<(), ApiError> = db::write(db, |tx| async move {
        attempts.fetch_add(1, Ordering::SeqCst);
        list_item_row(list_item::KIND_STATUS, "Probe syntax")
            .insert(&*tx)
            .await?;
        tx.execute_unprepared("SELEC 1 FROM nowhere").await?;
        Ok(())
    })
    .await;
    let error = result.expect_err("a syntax error");
    assert_eq!(error.status_code().as_u16(), 500, "{error}");
    assert_eq!(error.code(), "internal_error");
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "not retried");
    assert_eq!(probes("Probe syntax").await, 0, "rolled back");

    // An error of the unit of work's own (no database error at all) rolls back too.
    let result: Result<(), ApiError> = db::write(db, |tx| async move {
        list_item_row(list_item::KIND_STATUS, "Probe own error")
            .insert(&*tx)
            .await?;
        Err(ApiError::Conflict("Title: refused by the test".to_owned()))
    })
    .await;
    assert_eq!(result.expect_err("refused").status_code().as_u16(), 409);
    assert_eq!(probes("Probe own error").await, 0, "rolled back");

    // And the next write goes through.
    let result: Result<list_item::Model, ApiError> = db::write(db, |tx| async move {
        Ok(list_item_row(list_item::KIND_STATUS, "Probe after")
            .insert(&*tx)
            .await?)
    })
    .await;
    result.expect("a write after the failures");
    assert_eq!(probes("Probe after").await, 1);
}

// ---------------------------------------------------------------------------------------------
// 6. The migration that merges duplicate titles
// ---------------------------------------------------------------------------------------------

#[derive(Debug, FromQueryResult)]
struct Item {
    id: i32,
    title: String,
}

async fn the_unique_titles_migration_merges_duplicates(backend: Backend) {
    let (_scratch, url) = crate::helpers::scratch(&backend).await;
    let db = db::connect(&DbConfig::new(url)).await.expect("database");
    crm_server::db::migration::Migrator::up(&db, Some(3))
        .await
        .expect("the migrations before the unique titles");
    let sql = db.get_database_backend();
    // Two statuses with one title (as concurrent creates could store them before the index).
    let mut ids = Vec::new();
    for title in ["Lead", " lead"] {
        db.execute_raw(Statement::from_sql_and_values(
            sql,
            "INSERT INTO list_items (kind, title, description, color, sort_order) \
             VALUES ($1, $2, '', '', 10)",
            [list_item::KIND_STATUS.into(), title.into()],
        ))
        .await
        .expect("insert a status");
        let item = Item::find_by_statement(Statement::from_sql_and_values(
            sql,
            "SELECT id, title FROM list_items WHERE title = $1",
            [title.into()],
        ))
        .one(&db)
        .await
        .expect("query")
        .expect("the status");
        ids.push(item.id);
    }
    let (first, second) = (ids[0], ids[1]);
    assert!(first < second);
    let user = crm_server::users::add_user(
        &db,
        crm_server::users::NewUser {
            name: "Mig Rator".to_owned(),
            ..Default::default()
        },
    )
    .await
    .expect("a user");
    let mut row = fixtures::person(user.id, "Pat", "Pending");
    row.status_id = Set(Some(second));
    let person = fixtures::insert(&db, row).await;

    db::migrate(&db).await.expect("the remaining migrations");

    let leads = Item::find_by_statement(Statement::from_sql_and_values(
        sql,
        "SELECT id, title FROM list_items WHERE kind = $1 AND title_key = $2 ORDER BY id",
        [list_item::KIND_STATUS.into(), "lead".into()],
    ))
    .all(&db)
    .await
    .expect("query");
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!((leads[0].id, leads[0].title.as_str()), (first, "Lead"));
    let person = contact::Entity::find_by_id(person)
        .one(&db)
        .await
        .expect("query")
        .expect("the person");
    assert_eq!(person.status_id, Some(first));
    // The seeded titles got their keys too.
    assert_eq!(items_keyed(&db, list_item::KIND_STATUS, "cold").await, 1);

    let error = list_item_row(list_item::KIND_STATUS, "LEAD")
        .insert(&db)
        .await
        .expect_err("a third Lead");
    assert!(
        matches!(db::classify(&error), Failure::Unique(_)),
        "{error:?}"
    );
    let error = ApiError::from(error);
    assert_eq!(error.status_code().as_u16(), 409);
    assert!(error.to_string().starts_with("Title: "), "{error}");
    // A type may have the title a status has.
    list_item_row(list_item::KIND_TYPE, "LEAD")
        .insert(&db)
        .await
        .expect("a type titled Lead");
    db.close().await.ok();
}

// ---------------------------------------------------------------------------------------------
// 7. CRM_BOOTSTRAP_API_KEY
// ---------------------------------------------------------------------------------------------

const SERVER: &str = env!("CARGO_BIN_EXE_crm-server");

/// Environment variables of the server that the test's own environment must not set.
const SERVER_ENV: &[&str] = &[
    "CRM_BOOTSTRAP_API_KEY",
    "CRM_DEMO_DATA",
    "CRM_WORKERS",
    "CRM_BIND",
    "DATABASE_URL",
];

fn server_command(args: &[&str]) -> Command {
    let mut command = Command::new(SERVER);
    command.args(args).env("NO_COLOR", "1");
    for name in SERVER_ENV {
        command.env_remove(name);
    }
    command
}

/// A process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (at most `limit`) for `child` to exit.
async fn exit_within(child: &mut Running, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the process did not exit within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `command` to its end (at most 60 s) with stdout and stderr in files of `dir`; returns
/// the exit status, stdout and stderr.
async fn run(mut command: Command, dir: &Path, name: &str) -> (ExitStatus, String, String) {
    let out = dir.join(format!("{name}.out"));
    let err = dir.join(format!("{name}.err"));
    let mut child = Running(
        command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("the server binary runs"),
    );
    let status = exit_within(&mut child, Duration::from_secs(60)).await;
    (
        status,
        std::fs::read_to_string(out).expect("stdout"),
        std::fs::read_to_string(err).expect("stderr"),
    )
}

async fn users(url: &str) -> i64 {
    let db = sea_orm::Database::connect(url).await.expect("database");
    let n = count(&db, "SELECT COUNT(*) AS n FROM users").await;
    db.close().await.ok();
    n
}

/// A bad key stops the server with one line on stderr (and creates no administrator); a good
/// key on a database that has users is ignored, and the log says so.
async fn the_bootstrap_key_is_checked_and_ignored_once_there_are_users(backend: Backend) {
    let (_scratch, url) = crate::helpers::scratch(&backend).await;
    let dir = tempfile::tempdir().expect("temporary folder");

    for (i, key) in ["a", "ключключключключключ"].into_iter().enumerate() {
        let mut command =
            server_command(&["serve", "--bind", "127.0.0.1:0", "--database-url", &url]);
        // At the default log level: the key is checked before the database is even opened.
        command
            .env("CRM_BOOTSTRAP_API_KEY", key)
            .env("RUST_LOG", "info");
        let (status, stdout, stderr) = run(command, dir.path(), &format!("bad{i}")).await;
        let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(status.code(), Some(1), "{key:?}: {stderr}");
        assert_eq!(lines.len(), 1, "{key:?}: {stderr}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains("CRM_BOOTSTRAP_API_KEY"),
            "{key:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{key:?}: {stderr}");
        assert!(
            stdout.trim().is_empty(),
            "{key:?}: no key printed: {stdout}"
        );
        assert!(!stderr.contains("ключ"), "the key is not echoed: {stderr}");
    }
    // The key is checked before the database is opened: nothing was created in it.
    match &backend {
        Backend::Sqlite => assert!(
            !Path::new(url.trim_start_matches("sqlite:")).exists(),
            "the SQLite file was not created"
        ),
        Backend::Postgres(_) => {
            let db = sea_orm::Database::connect(&url).await.expect("database");
            let tables = count(
                &db,
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 'users'",
            )
            .await;
            db.close().await.ok();
            assert_eq!(tables, 0, "the database was not migrated");
        }
    }

    // A database with a user already.
    let mut command = server_command(&[
        "users",
        "add",
        "--name",
        "Early Bird",
        "--database-url",
        &url,
    ]);
    command.env("RUST_LOG", "warn");
    let (status, stdout, stderr) = run(command, dir.path(), "users-add").await;
    assert!(status.success(), "{stderr}");
    uuid::Uuid::parse_str(stdout.trim()).expect("the new user's ID");

    const KEY: &str = "B00757A9-0000-4000-8000-00000000CAFE";
    assert_eq!(KEY.len(), 36);
    let log = dir.path().join("server.log");
    let mut server = ServerProcess::start(Launch {
        log: Some(&log),
        rust_log: "info",
        ..Launch::new(Path::new(SERVER), &url, KEY)
    })
    .await
    .expect("the server starts");
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let text = std::fs::read_to_string(&log).expect("the log");
    let ignored: Vec<_> = text
        .lines()
        .filter(|line| line.contains("CRM_BOOTSTRAP_API_KEY is set but ignored"))
        .collect();
    assert_eq!(ignored.len(), 1, "{text}");
    assert!(!text.contains(KEY), "the key is not logged: {text}");
    // The key was not given to anyone.
    let response = client
        .get(format!("{address}/api/2.0/crm/contact/1"))
        .header(header::AUTHORIZATION, KEY)
        .send()
        .await
        .expect("response");
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(users(&url).await, 1);

    let status = server.terminate().await.expect("SIGTERM stops the server");
    assert!(status.success(), "a clean stop: {status:?}");
}

/// A version of the service starts on a database a newer version migrated further (a roll-out
/// under way, a roll-back of the binary): it has every migration this version knows, so it is
/// used as it is. One that lacks a migration this version knows as well is refused.
async fn an_older_version_starts_on_a_database_a_newer_one_migrated(backend: Backend) {
    let (_scratch, url) = crate::helpers::scratch(&backend).await;
    let config = DbConfig::new(url);
    let db = db::connect_and_migrate(&config).await.expect("migrated");
    db.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) \
         VALUES ('m20991231_000099_from_the_future', 0)",
    )
    .await
    .unwrap();
    let again = db::connect_and_migrate(&config)
        .await
        .expect("a database migrated further is used as it is");
    again.close().await.ok();
    let last = crm_server::db::migration::Migrator::migrations()
        .last()
        .expect("migrations")
        .name()
        .to_owned();
    db.execute_unprepared(&format!(
        "DELETE FROM seaql_migrations WHERE version = '{last}'"
    ))
    .await
    .unwrap();
    let error = db::connect_and_migrate(&config)
        .await
        .expect_err("a migration this version knows is missing");
    let message = error.to_string();
    assert!(
        message.contains("m20991231_000099_from_the_future") && message.contains(&last),
        "{message}"
    );
    db.close().await.ok();
}

crate::backend_tests!(
    an_older_version_starts_on_a_database_a_newer_one_migrated,
    writes_racing_a_delete_get_201_or_422_and_leave_no_orphans,
    simultaneous_creates_of_one_title_make_one_item,
    simultaneous_creates_without_a_position_get_distinct_ones,
    a_list_ending_at_the_largest_position_asks_for_one,
    nul_in_any_text_property_is_a_400_naming_it,
    bytes_after_the_json_value_are_a_400_and_create_nothing,
    database_errors_through_db_write_map_alike,
    the_unique_titles_migration_merges_duplicates,
    the_bootstrap_key_is_checked_and_ignored_once_there_are_users,
);
