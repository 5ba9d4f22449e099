//! One source for each limit: the limits the published document states (`maxLength`,
//! `minLength`, `maxItems`, `minimum`/`maximum`, the not-blank `pattern`) are exactly the ones the
//! server checks. The test walks every request body of the document and, for each constrained
//! property, sends a value just inside the limit (not refused for it) and one just outside
//! (400 naming the property). A limit changed on one side only fails it.

use crm_models::NOT_BLANK_PATTERN;
use reqwest::header;
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp},
    parity::{Ids, at_path, base_body, concrete_paths, resolve},
};

/// A limit the document states for one property of a request body.
#[derive(Debug, Clone, PartialEq)]
enum Limit {
    /// `maxLength` of a text.
    MaxLength(usize),
    /// `minLength` of a text.
    MinLength(usize),
    /// The not-blank `pattern` of a text.
    NotBlank,
    /// `maxItems` of a list.
    MaxItems(usize),
    /// `minItems` of a list.
    MinItems(usize),
    /// `minimum` of an integer.
    Minimum(i64),
    /// `maximum` of an integer.
    Maximum(i64),
}

/// Collects every limit of `schema` and its properties, one item per array, under `path`.
fn limits(
    document: &Value,
    schema: &Value,
    path: &str,
    depth: usize,
    out: &mut Vec<(String, Limit)>,
) {
    assert!(depth < 16, "{path}: the schema nests too deep (a cycle?)");
    let schema = resolve(document, schema);
    for combinator in ["allOf", "oneOf", "anyOf"] {
        for part in schema[combinator].as_array().into_iter().flatten() {
            limits(document, part, path, depth + 1, out);
        }
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let nested = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        limits(document, property, &nested, depth + 1, out);
    }
    let number = |key: &str| schema[key].as_u64().and_then(|n| usize::try_from(n).ok());
    let mut add = |limit: Limit| {
        let entry = (path.to_owned(), limit);
        if !out.contains(&entry) {
            out.push(entry);
        }
    };
    if let Some(max) = number("maxLength") {
        add(Limit::MaxLength(max));
    }
    if let Some(min) = number("minLength") {
        add(Limit::MinLength(min));
    }
    if let Some(pattern) = schema["pattern"].as_str()
        && pattern == NOT_BLANK_PATTERN
    {
        add(Limit::NotBlank);
    }
    if let Some(max) = number("maxItems") {
        add(Limit::MaxItems(max));
    }
    if let Some(min) = number("minItems") {
        add(Limit::MinItems(min));
    }
    if let Some(min) = schema["minimum"].as_i64() {
        add(Limit::Minimum(min));
    }
    if let Some(max) = schema["maximum"].as_i64() {
        add(Limit::Maximum(max));
    }
    if schema["type"] == "array" {
        limits(
            document,
            &schema["items"],
            &format!("{path}[0]"),
            depth + 1,
            out,
        );
    }
}

/// The value just inside the limit (`true`) or just outside it (`false`), from `current`.
fn probe(limit: &Limit, current: &Value, inside: bool) -> Value {
    let text = |n: usize| json!("x".repeat(n));
    match *limit {
        Limit::MaxLength(max) => text(if inside { max } else { max + 1 }),
        Limit::MinLength(min) if inside => text(min.max(1)),
        Limit::MinLength(min) => text(min - 1),
        Limit::NotBlank if inside => json!(" x "),
        Limit::NotBlank => json!(" \t "),
        Limit::MaxItems(max) => {
            let first = current
                .as_array()
                .and_then(|items| items.first())
                .cloned()
                .unwrap_or_else(|| panic!("the base body has no item in {current}"));
            json!(vec![first; if inside { max } else { max + 1 }])
        }
        Limit::MinItems(min) => {
            let first = current
                .as_array()
                .and_then(|items| items.first())
                .cloned()
                .unwrap_or_else(|| panic!("the base body has no item in {current}"));
            json!(vec![first; if inside { min } else { min - 1 }])
        }
        Limit::Minimum(min) => json!(if inside { min } else { min - 1 }),
        Limit::Maximum(max) => json!(if inside { max } else { max + 1 }),
    }
}

async fn every_limit_in_the_document_is_the_limit_the_server_checks(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let document = crm_server::openapi::document_json();
    let ids = Ids::put_in_place(&app).await;
    let client = reqwest::Client::new();
    let mut checked = 0;
    let mut unique = 0;
    for (template, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let Some(body) = operation.get("requestBody") else {
                continue;
            };
            let schema = &resolve(&document, body)["content"]["application/json"]["schema"];
            let mut found = Vec::new();
            limits(&document, schema, "", 0, &mut found);
            let base = base_body(method, template, &ids).unwrap_or_else(|| {
                panic!("{method} {template}: a new operation with a body; give it a base body")
            });
            let concrete = concrete_paths(&document, template, operation)
                .into_iter()
                .next()
                .expect("a concrete path");
            for (path, limit) in &found {
                for inside in [true, false] {
                    let mut body = base.clone();
                    // Titles are unique in their list: every accepted request needs its own.
                    if let Some(title) = body.get_mut("Title")
                        && path != "Title"
                    {
                        unique += 1;
                        *title = json!(format!("Limit probe {unique}"));
                    }
                    let slot = at_path(&mut body, path).unwrap_or_else(|| {
                        panic!("{method} {template}: the base body has no {path}; add it")
                    });
                    *slot = probe(limit, slot, inside);
                    let http_method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                        .expect("an HTTP method");
                    let response = client
                        .request(http_method, app.url(&concrete))
                        .header(header::AUTHORIZATION, &app.admin_key)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    let status = response.status().as_u16();
                    let error: Value = response.json().await.unwrap_or_default();
                    let message = error["Message"].as_str().unwrap_or_default();
                    // The property the message names, without the index of a list's item.
                    let named = message.starts_with(&format!("{path}: "))
                        || path
                            .strip_suffix("[0]")
                            .is_some_and(|list| message.starts_with(&format!("{list}: ")));
                    let what = format!("{method} {concrete} {path} {limit:?} inside={inside}");
                    if inside {
                        // Accepted (200 for the batch delete), or refused for a rule beyond the schema (a 422, e.g. an
                        // unknown currency code; a 409, a title taken by an earlier probe): a
                        // limit of the schema is always a 400.
                        assert!(
                            matches!(status, 200 | 201 | 409 | 422),
                            "{what}: {status} {error}"
                        );
                    } else {
                        assert_eq!(status, 400, "{what}: {error}");
                        assert!(named, "{what}: the message names the property: {error}");
                    }
                    checked += 1;
                }
            }
        }
    }
    // Every body: names, texts, lists, categories.
    assert!(checked >= 60, "only {checked} probes");
    eprintln!("limits: {checked} probes agree with the document");
}

crate::backend_tests!(every_limit_in_the_document_is_the_limit_the_server_checks);
