//! Regressions found by the consumers of `openapi.yaml` in other ecosystems (`clients/`):
//! schemathesis, the linters, the generated Python and TypeScript clients, Swagger UI.
//!
//! Each test pins both halves of a contract: what the served document says, and that the server
//! does exactly that. The rule they share: a body that breaks its schema is a 400; a body that
//! matches its schema but refers to nothing, or breaks a rule across fields, is a 422.

use reqwest::{Method, StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

/// Sends `body` (if any) with `key` (if any) and returns the status and the JSON body.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, app.url(path));
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The served OpenAPI document.
async fn document(app: &TestApp) -> Value {
    let (status, doc) = send(app, Method::GET, "/api-docs/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

/// Creates a person from a raw body with the admin key.
async fn create_person(app: &TestApp, body: Value) -> (StatusCode, Value) {
    send(
        app,
        Method::POST,
        "/api/2.0/crm/contact/person",
        Some(&app.admin_key),
        Some(body),
    )
    .await
}

/// Asserts an `Error` body with `status`, code `invalid_field` and a message naming `field`.
fn assert_field_error(got: (StatusCode, Value), status: StatusCode, field: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status, status, "{field}: {body}");
    assert_eq!(body["Status"], status.as_u16(), "{body}");
    assert_eq!(body["Code"], "invalid_field", "{body}");
    let message = body["Message"].as_str().unwrap_or_default();
    assert!(message.starts_with(field), "{field}: {message}");
}

/// schemathesis (ST202): `{entityType}` was documented as any string while the server takes only
/// three names. It is now the `EntityType` enum; the server takes exactly its values.
async fn entity_type_is_the_documented_enum(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let doc = document(&app).await;
    let names: Vec<String> =
        serde_json::from_value(doc["components"]["schemas"]["EntityType"]["enum"].clone()).unwrap();
    assert_eq!(names, ["contact", "person", "company"]);
    for path in [
        "/api/2.0/crm/{entityType}/customfield/definitions",
        "/api/2.0/crm/{entityType}/customfield",
    ] {
        let operations = doc["paths"][path].as_object().unwrap();
        for operation in operations.values() {
            let parameter = &operation["parameters"][0];
            assert_eq!(parameter["name"], "entityType");
            assert_eq!(
                parameter["schema"]["$ref"], "#/components/schemas/EntityType",
                "{path}"
            );
        }
    }
    for name in &names {
        let path = format!("/api/2.0/crm/{name}/customfield/definitions");
        let (status, body) = send(&app, Method::GET, &path, Some(&app.admin_key), None).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        let path = format!("/api/2.0/crm/{name}/customfield");
        let field = json!({"Label": format!("For {name}"), "FieldType": 0});
        let (status, body) =
            send(&app, Method::POST, &path, Some(&app.admin_key), Some(field)).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        assert_eq!(body["EntityType"], name.as_str());
    }
    for other in ["0", "deal", "Person", "__proto__"] {
        let path = format!("/api/2.0/crm/{other}/customfield/definitions");
        let got = send(&app, Method::GET, &path, Some(&app.admin_key), None).await;
        assert_field_error(got, StatusCode::BAD_REQUEST, "entityType");
    }
}

/// schemathesis (ST202): schema-valid bodies naming rows that do not exist were answered 400,
/// the status of a schema violation. They are 422 now, documented on each operation.
async fn unknown_references_are_422(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let cases = [
        ("CompanyId", json!({"FirstName": "Jane", "CompanyId": 7})),
        (
            "ContactStatusId",
            json!({"FirstName": "Jane", "ContactStatusId": 999}),
        ),
        (
            "ContactTypeId",
            json!({"FirstName": "Jane", "ContactTypeId": -1}),
        ),
        ("Currency", json!({"FirstName": "Jane", "Currency": "XXX"})),
        (
            "AccessList",
            json!({"FirstName": "Jane", "AccessList": [uuid::Uuid::new_v4()]}),
        ),
        (
            "CustomFields[0].FieldId",
            json!({"FirstName": "Jane", "CustomFields": [{"FieldId": 3, "Value": "v"}]}),
        ),
    ];
    for (field, body) in cases {
        let got = create_person(&app, body).await;
        assert_field_error(got, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let task = json!({"Title": "Call back", "ContactId": 42});
    let got = send(
        &app,
        Method::POST,
        "/api/2.0/crm/task",
        Some(&app.admin_key),
        Some(task),
    )
    .await;
    assert_field_error(got, StatusCode::UNPROCESSABLE_ENTITY, "ContactId");

    // A currency code that is not 3 characters long breaks the schema: 400, not "unknown".
    let got = create_person(&app, json!({"FirstName": "Jane", "Currency": "EURO"})).await;
    assert_field_error(got, StatusCode::BAD_REQUEST, "Currency");
    // Three characters, but not a code as sent: unknown, and named as sent (not trimmed).
    for code in ["   ", " EU"] {
        let (status, body) =
            create_person(&app, json!({"FirstName": "Jane", "Currency": code})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let message = body["Message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("{code:?}")), "{message}");
    }
    // Lower case is the same code.
    let (status, body) = create_person(&app, json!({"FirstName": "Jane", "Currency": "eur"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["Currency"]["Abbreviation"], "EUR", "{body}");

    let doc = document(&app).await;
    for (path, method) in [
        ("/api/2.0/crm/contact/person", "post"),
        ("/api/2.0/crm/contact/company", "post"),
        ("/api/2.0/crm/task", "post"),
    ] {
        let responses = &doc["paths"][path][method]["responses"];
        assert!(
            responses["422"].is_object(),
            "{method} {path} documents 422"
        );
        assert!(
            responses["400"].is_object(),
            "{method} {path} documents 400"
        );
    }
}

/// schemathesis (ST202): a `Category` outside 0..=5 was undocumented; inside it, a category the
/// kind of info does not have is a rule across fields (422), and a body that breaks its schema
/// is a 400 even when it also breaks such a rule.
async fn categories_are_bounded_and_checked_per_kind(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let doc = document(&app).await;
    for schema in ["NewContactInfo", "NewAddress"] {
        let category = &doc["components"]["schemas"][schema]["properties"]["Category"];
        assert_eq!(
            (&category["minimum"], &category["maximum"]),
            (&json!(0), &json!(5))
        );
    }
    let info = |info_type: i32, category: i32| {
        json!({"FirstName": "Jane", "CommonData": [
            {"InfoType": info_type, "Category": category, "Data": "x"}
        ]})
    };
    let address =
        |category: i32| json!({"FirstName": "Jane", "Addresses": [{"Category": category}]});

    for category in [-1, 6, i32::MAX] {
        let got = create_person(&app, info(0, category)).await;
        assert_field_error(got, StatusCode::BAD_REQUEST, "CommonData[0].Category");
        let got = create_person(&app, address(category)).await;
        assert_field_error(got, StatusCode::BAD_REQUEST, "Addresses[0].Category");
    }
    // Email (1) has Home, Work, Other only; a phone (0) has six categories.
    let got = create_person(&app, info(1, 3)).await;
    assert_field_error(
        got,
        StatusCode::UNPROCESSABLE_ENTITY,
        "CommonData[0].Category",
    );
    let (status, body) = create_person(&app, info(0, 5)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = create_person(&app, address(5)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // An address in CommonData is a rule across fields...
    let got = create_person(&app, info(7, 0)).await;
    assert_field_error(
        got,
        StatusCode::UNPROCESSABLE_ENTITY,
        "CommonData[0].InfoType",
    );
    // ...but a blank Data beside it breaks the schema, which comes first.
    let both = json!({"FirstName": "Jane", "CommonData": [{"InfoType": 7, "Data": " "}]});
    let got = create_person(&app, both).await;
    assert_field_error(got, StatusCode::BAD_REQUEST, "CommonData[0].Data");
    let twice = json!({"FirstName": "Jane", "CustomFields": [
        {"FieldId": 1, "Value": "a"}, {"FieldId": 1, "Value": "b"}
    ]});
    let got = create_person(&app, twice).await;
    assert_field_error(
        got,
        StatusCode::UNPROCESSABLE_ENTITY,
        "CustomFields[1].FieldId",
    );
}

/// schemathesis (ST202): "not blank" was only `minLength: 1`, and tag titles had no documented
/// limits. Both carry the `NOT_BLANK_PATTERN` now, whose class is exactly the white space the
/// server trims: every character in it makes a blank text (400), and characters outside it that
/// other regex dialects call white space (U+001C, U+FEFF) do not.
async fn blank_texts_follow_the_documented_pattern(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let doc = document(&app).await;
    let person = &doc["components"]["schemas"]["NewPerson"]["properties"];
    assert_eq!(
        person["FirstName"]["pattern"],
        crm_models::NOT_BLANK_PATTERN
    );
    let tag = &person["Tags"]["items"];
    assert_eq!(tag["pattern"], crm_models::NOT_BLANK_PATTERN);
    assert_eq!(
        (&tag["minLength"], &tag["maxLength"]),
        (&json!(1), &json!(255))
    );

    let whitespace = (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace());
    for blank in whitespace {
        let text = format!("{blank}{blank}");
        let got = create_person(&app, json!({"FirstName": text})).await;
        assert_field_error(got, StatusCode::BAD_REQUEST, "FirstName");
        let got = create_person(&app, json!({"FirstName": "Jane", "Tags": [text]})).await;
        assert_field_error(got, StatusCode::BAD_REQUEST, "Tags[0]");
    }
    for not_blank in ["\u{1c}", "\u{feff}", "\u{200b}"] {
        let (status, body) = create_person(&app, json!({"FirstName": not_blank})).await;
        assert_eq!(status, StatusCode::CREATED, "{not_blank:?}: {body}");
    }
    let got = create_person(
        &app,
        json!({"FirstName": "Jane", "Tags": ["x".repeat(256)]}),
    )
    .await;
    assert_field_error(got, StatusCode::BAD_REQUEST, "Tags[0]");
    let (status, body) = create_person(
        &app,
        json!({"FirstName": "Jane", "Tags": ["x".repeat(255)]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Redocly (`security-defined`) and schemathesis (`ignored_auth`): `/healthz` had no `security`
/// at all; it says `security: []` now (public), and answers without a key; so does `/metrics`.
async fn health_is_documented_as_public(backend: Backend) {
    const PUBLIC: [&str; 2] = ["/healthz", "/metrics"];
    let app = TestApp::spawn_on(backend).await;
    let doc = document(&app).await;
    for path in PUBLIC {
        assert_eq!(doc["paths"][path]["get"]["security"], json!([]), "{path}");
        let (status, body) = send(&app, Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    // Every other operation needs the key.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !PUBLIC.contains(&path.as_str()) {
                assert_eq!(
                    operation["security"],
                    json!([{"apiKey": []}]),
                    "{method} {path}"
                );
            }
        }
    }
}

/// Redocly (`no-empty-servers`), Spectral (`oas3-api-servers`): the document names its server
/// relative to itself, so Swagger UI calls whichever host serves it.
async fn servers_are_relative(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let doc = document(&app).await;
    assert_eq!(doc["servers"][0]["url"], "/");
    assert_eq!(doc["servers"].as_array().map(Vec::len), Some(1));
}

/// schemathesis' stateful phase follows these links: from a created contact to reading and
/// deleting it by its `ID`. Following them by hand: read, delete, then a 404 on both.
async fn links_lead_from_a_new_contact_to_reading_and_deleting_it(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let doc = document(&app).await;
    for path in [
        "/api/2.0/crm/contact/person",
        "/api/2.0/crm/contact/company",
    ] {
        let links = &doc["paths"][path]["post"]["responses"]["201"]["links"];
        for (name, operation_id) in [
            ("GetContact", "getContact"),
            ("DeleteContact", "deleteContact"),
        ] {
            assert_eq!(links[name]["operationId"], operation_id, "{path}");
            assert_eq!(
                links[name]["parameters"]["contactid"], "$response.body#/ID",
                "{path}"
            );
        }
    }
    let (status, created) =
        create_person(&app, json!({"FirstName": "Jane", "LastName": "Doe"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/api/2.0/crm/contact/{}", created["ID"]);
    let key = Some(app.admin_key.as_str());
    let (status, read) = send(&app, Method::GET, &path, key, None).await;
    assert_eq!(
        (status, &read["DisplayName"]),
        (StatusCode::OK, &json!("Jane Doe"))
    );
    let (status, deleted) = send(&app, Method::DELETE, &path, key, None).await;
    assert_eq!((status, &deleted["ID"]), (StatusCode::OK, &created["ID"]));
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = send(&app, method, &path, key, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["Code"], "contact_not_found");
    }
}

/// schemathesis (examples phase, "validation mismatch") and Swagger UI ("Try it out" fills the
/// body in from the example): the create examples named rows that do not exist on a fresh
/// database (`CompanyId` 7, `ContactTypeId` 1, a custom field 3), so a person trying them got a
/// 422. Each documented request example now succeeds as it is, in the order a person would try
/// them (the task example names contact 1, the first one created).
async fn request_examples_work_on_a_fresh_server(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let doc = document(&app).await;
    for path in [
        "/api/2.0/crm/contact/person",
        "/api/2.0/crm/contact/company",
        "/api/2.0/crm/task",
    ] {
        let example =
            doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"]
                .clone();
        assert!(example.is_object(), "{path} has a request example");
        let (status, body) = send(
            &app,
            Method::POST,
            path,
            Some(&app.admin_key),
            Some(example),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
    }
}

/// `POST /task` by the administrator: a task on `contact` due at `deadline`.
async fn post_task(app: &TestApp, contact: i64, deadline: &str) -> (StatusCode, Value) {
    let body = json!({"Title": "Call back", "ContactId": contact, "Deadline": deadline});
    let key = Some(app.admin_key.as_str());
    send(app, Method::POST, "/api/2.0/crm/task", key, Some(body)).await
}

/// A task's deadline is a time RFC 3339 can write (years 0000 through 9999), and whether it is
/// late is the same on both backends: SQLite, which keeps times as text, took a deadline in the
/// year 10000 (written `+10000-…`) for one long past.
async fn task_deadlines_are_rfc3339_years_and_late_alike(backend: Backend) {
    async fn new_contact(app: &TestApp) -> i64 {
        let (status, body) = create_person(app, json!({"FirstName": "Jane"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["ID"].as_i64().expect("an ID")
    }
    async fn late(app: &TestApp, contact: i64) -> bool {
        let path = format!("/api/2.0/crm/contact/{contact}");
        let (status, body) = send(app, Method::GET, &path, Some(&app.admin_key), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["HaveLateTasks"].as_bool().expect("HaveLateTasks")
    }

    let app = TestApp::spawn_on(backend).await;
    let contact = new_contact(&app).await;
    // Not RFC 3339 at all: the schema's 400.
    for deadline in [
        "+10000-01-01T00:00:00Z",
        "-0001-12-31T00:00:00Z",
        "2020-1-1T0:0:0Z",
        // The schema's `date-time` has a `T` between the date and the time.
        "2026-12-01 09:00:00Z",
    ] {
        let (status, body) = post_task(&app, contact, deadline).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{deadline}: {body}");
        assert_eq!(body["Code"], "invalid_body", "{body}");
        let message = body["Message"].as_str().unwrap_or_default();
        assert!(message.starts_with("Deadline: "), "{message}");
    }
    // RFC 3339, but in UTC (and with the leap second as the second after it) outside the years
    // 0000 through 9999.
    for deadline in ["9999-12-31T23:59:60Z", "0000-01-01T00:00:00+01:00"] {
        let got = post_task(&app, contact, deadline).await;
        assert_field_error(got, StatusCode::BAD_REQUEST, "Deadline");
    }
    assert!(!late(&app, contact).await, "no task was added");

    let (status, body) = post_task(&app, contact, "9999-12-31T23:59:59.999999Z").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["Deadline"], "9999-12-31T23:59:59.999999Z");
    assert!(!late(&app, contact).await, "due in the year 9999");

    let contact = new_contact(&app).await;
    let (status, body) = post_task(&app, contact, "0000-01-01T00:00:00Z").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(late(&app, contact).await, "due in the year 0");
}

/// Times are kept to the microsecond on both backends (SQLite, keeping text, kept nanoseconds,
/// PostgreSQL microseconds), and a leap second is the second after it on both.
async fn times_are_kept_to_the_microsecond_alike(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (status, contact) = create_person(&app, json!({"FirstName": "Jane"})).await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let id = contact["ID"].as_i64().expect("an ID");
    let fraction = |time: &Value| {
        let text = time
            .as_str()
            .expect("a time")
            .trim_end_matches('Z')
            .to_owned();
        text.split_once('.').map_or(0, |(_, digits)| digits.len())
    };
    assert!(fraction(&contact["Created"]) <= 6, "{}", contact["Created"]);
    for (sent, kept) in [
        (
            "2020-01-01T00:00:00.123456789Z",
            "2020-01-01T00:00:00.123456Z",
        ),
        ("2020-01-01T00:00:00.0000005Z", "2020-01-01T00:00:00Z"),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z"),
        ("2016-12-31T23:59:60.5+00:00", "2017-01-01T00:00:00.500Z"),
    ] {
        let (status, task) = post_task(&app, id, sent).await;
        assert_eq!(status, StatusCode::CREATED, "{sent}: {task}");
        assert_eq!(task["Deadline"], kept, "{sent}");
    }
    let path = format!("/api/2.0/crm/contact/{id}");
    let (status, deleted) = send(&app, Method::DELETE, &path, Some(&app.admin_key), None).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    let (status, trash) = send(
        &app,
        Method::GET,
        "/api/2.0/crm/contact/trash",
        Some(&app.admin_key),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{trash}");
    let entry = &trash[0];
    assert!(fraction(&entry["Deleted"]) <= 6, "{entry}");
    assert!(fraction(&entry["Expires"]) <= 6, "{entry}");
}

/// A body, or an item of one of its lists, sent as an array of the object's values is a 400 on
/// every endpoint that takes JSON (serde would take a struct from an array of its fields in
/// order; the schemas say object), and creates nothing.
async fn arrays_in_place_of_objects_are_400s(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let key = Some(app.admin_key.as_str());
    let cases = [
        (
            Method::POST,
            "/api/2.0/crm/contact/person",
            json!(["Jane"]),
            None,
        ),
        (
            Method::POST,
            "/api/2.0/crm/contact/company",
            json!(["Acme"]),
            None,
        ),
        (
            Method::POST,
            "/api/2.0/crm/contact/status",
            json!(["Lost"]),
            None,
        ),
        (
            Method::POST,
            "/api/2.0/crm/person/customfield",
            json!(["Label", 0]),
            None,
        ),
        (Method::POST, "/api/2.0/crm/task", json!(["Call", 1]), None),
        (Method::PUT, "/api/2.0/crm/contact", json!([[1]]), None),
        (
            Method::POST,
            "/api/2.0/crm/contact/person",
            json!({"FirstName": "Jane", "CommonData": [{"InfoType": 1, "Data": "a@b.c"}, [1, 0, "x"]]}),
            Some("CommonData[1]"),
        ),
        (
            Method::POST,
            "/api/2.0/crm/contact/company",
            json!({"CompanyName": "Acme", "CustomFields": [[1, "v"]]}),
            Some("CustomFields[0]"),
        ),
    ];
    for (method, path, body, at) in cases {
        let (status, answer) = send(&app, method.clone(), path, key, Some(body.clone())).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {answer}"
        );
        assert_eq!(answer["Code"], "invalid_body", "{answer}");
        let message = answer["Message"].as_str().unwrap_or_default();
        assert!(
            message.contains("an array where a JSON object belongs"),
            "{message}"
        );
        if let Some(at) = at {
            assert!(message.starts_with(at), "{at}: {message}");
        }
    }
    let (status, statuses) =
        send(&app, Method::GET, "/api/2.0/crm/contact/status", key, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !statuses.to_string().contains("Lost"),
        "nothing was created: {statuses}"
    );
}

/// `AccessList` takes UUIDs as the schema's `uuid` format writes them (8-4-4-4-12 hexadecimal
/// digits), not the braced, URN or unhyphenated forms the `uuid` crate also reads; and a body
/// declared in a charset other than UTF-8 is a 415.
async fn uuids_are_hyphenated_and_bodies_utf8(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let admin = app.admin.id;
    for written in [
        format!("{{{admin}}}"),
        format!("urn:uuid:{admin}"),
        admin.simple().to_string(),
    ] {
        let got = create_person(&app, json!({"FirstName": "Jane", "AccessList": [written]})).await;
        let (status, body) = &got;
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{written}: {body}");
        let message = body["Message"].as_str().unwrap_or_default();
        assert!(message.starts_with("AccessList"), "{message}");
    }
    let upper = admin.hyphenated().to_string().to_uppercase();
    let (status, body) =
        create_person(&app, json!({"FirstName": "Jane", "AccessList": [upper]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let response = reqwest::Client::new()
        .post(app.url("/api/2.0/crm/contact/person"))
        .header(header::AUTHORIZATION, &app.admin_key)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-16")
        .body(r#"{"FirstName": "Jane"}"#)
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // White space around the parameters' semicolon is allowed (RFC 9110); a content coding is
    // not: the body is never decoded, so it is a 415 saying so, not a malformed-JSON 400.
    let post = |content_type: &'static str, encoding: Option<&'static str>| {
        let mut request = reqwest::Client::new()
            .post(app.url("/api/2.0/crm/contact/person"))
            .header(header::AUTHORIZATION, &app.admin_key)
            .header(header::CONTENT_TYPE, content_type)
            .body(r#"{"FirstName": "Spaced"}"#);
        if let Some(encoding) = encoding {
            request = request.header(header::CONTENT_ENCODING, encoding);
        }
        request.send()
    };
    for spaced in [
        "application/json ;charset=utf-8",
        "application/json ; charset=UTF-8",
    ] {
        let response = post(spaced, None).await.expect("a response");
        assert_eq!(response.status(), StatusCode::CREATED, "{spaced}");
    }
    for encoding in ["gzip", "br", "deflate"] {
        let response = post("application/json", Some(encoding))
            .await
            .expect("a response");
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{encoding}"
        );
        assert_eq!(
            response
                .headers()
                .get(header::ACCEPT_ENCODING)
                .map(|v| v.as_bytes()),
            Some(&b"identity"[..]),
            "{encoding}"
        );
        let body: Value = response.json().await.expect("a JSON error");
        assert_eq!(body["Code"], "unsupported_media_type", "{encoding}: {body}");
    }
    let response = post("application/json", Some("identity"))
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::CREATED);
    // A 415 for the media type says nothing of codings.
    let response = post("text/plain", None).await.expect("a response");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response.headers().get(header::ACCEPT_ENCODING), None);
}

/// A person joins only a company the caller may edit, as a task joins only a contact the caller
/// may edit: a private company (which the caller may not even read) or a read-only one is a 403
/// and nothing is created; a company shared read-write, or one the caller is listed on, is fine.
async fn a_person_joins_only_a_company_the_caller_may_edit(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (member, member_key) = app.member("Bob").await;
    let company = |share: i32, access: Vec<String>| {
        json!({"CompanyName": format!("Co {share} {}", access.len()), "ShareType": share,
               "AccessList": access})
    };
    let mut companies = Vec::new();
    for body in [
        company(0, Vec::new()),
        company(2, Vec::new()),
        company(1, Vec::new()),
        company(0, vec![member.id.to_string()]),
    ] {
        let key = Some(app.admin_key.as_str());
        let (status, created) = send(
            &app,
            Method::POST,
            "/api/2.0/crm/contact/company",
            key,
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        companies.push(created["ID"].as_i64().expect("an ID"));
    }
    // A private person too: the member learns it may not edit it, not what kind of contact it
    // is.
    let (status, private) = create_person(
        &app,
        json!({"FirstName": "Hidden", "ShareType": 0, "AccessList": []}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{private}");
    companies.push(private["ID"].as_i64().expect("an ID"));
    for (company, expected) in companies.iter().zip([403, 403, 201, 201, 403]) {
        let body = json!({"FirstName": "Sneaky", "CompanyId": company});
        let (status, answer) = send(
            &app,
            Method::POST,
            "/api/2.0/crm/contact/person",
            Some(&member_key),
            Some(body),
        )
        .await;
        assert_eq!(status.as_u16(), expected, "company {company}: {answer}");
    }
    let people = crm_testkit::entities::contact::Entity::find()
        .filter(crm_testkit::entities::contact::Column::FirstName.eq("Sneaky"))
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(people, 2, "only the allowed ones were created");
}

crate::backend_tests!(
    request_examples_work_on_a_fresh_server,
    entity_type_is_the_documented_enum,
    unknown_references_are_422,
    categories_are_bounded_and_checked_per_kind,
    blank_texts_follow_the_documented_pattern,
    health_is_documented_as_public,
    servers_are_relative,
    links_lead_from_a_new_contact_to_reading_and_deleting_it,
    task_deadlines_are_rfc3339_years_and_late_alike,
    times_are_kept_to_the_microsecond_alike,
    arrays_in_place_of_objects_are_400s,
    uuids_are_hyphenated_and_bodies_utf8,
    a_person_joins_only_a_company_the_caller_may_edit,
);
