//! `null` made explicit for strict OpenAPI 3.0.3 readers, and back.
//!
//! OpenAPI 3.0.3 says that `nullable: true` "adds `null` to the allowed values if `type` is
//! explicitly defined within the same Schema Object". [`downgrade`](crate::downgrade) writes a
//! nullable reference as `{allOf: [{$ref}], nullable: true}` (no `type`), which progenitor,
//! openapi-python-client, openapi-typescript and schemathesis all read as "the object or
//! `null`", but which a strict validator (such as `openapi-schema-validator`, under
//! `openapi-core`) reads as "the object" and then refuses the `null`.
//!
//! [`explicit_nulls`] rewrites every schema with `nullable: true` and no `type` so that `null`
//! is an alternative of its own, which every reader takes at its word:
//!
//! * `{allOf: [X], nullable: true, …}` → `{anyOf: [X, NULL], …}`;
//! * `{oneOf: [A, B], nullable: true, …}` → `{oneOf: [A, B, NULL], …}` (likewise `anyOf`);
//! * `{nullable: true, …}` with nothing else but annotations → `{…NULL, …}`;
//! * anything else `{C…, nullable: true, …}` → `{anyOf: [{C…}, NULL], …}`;
//!
//! where `NULL` is `{type: object, nullable: true, enum: [null]}` (the one value it admits is
//! `null`) and `…` are the annotations (`description`, `example`, `x-…`), which stay where they
//! were. [`implicit_nulls`] is its inverse, for generators that read the first form better
//! (progenitor's types become `Option<X>`): `implicit_nulls(explicit_nulls(d)) == d`.

use serde_json::{Value, json};

use crate::Object;

/// Keys whose values are data, not schemas: never rewritten.
const DATA: &[&str] = &["example", "examples", "default", "enum", "const"];

/// Keys that stay on the outer schema: the annotations, and what describes the schema as a
/// whole (`xml`, `discriminator`).
fn is_annotation(key: &str) -> bool {
    crate::ANNOTATIONS.contains(&key)
        || matches!(key, "xml" | "discriminator")
        || key.starts_with("x-")
}

/// The alternative that admits `null` alone.
fn null_alternative() -> Value {
    json!({ "type": "object", "nullable": true, "enum": [null] })
}

/// Whether `value` is exactly [`null_alternative`].
fn is_null_alternative(value: &Value) -> bool {
    *value == null_alternative()
}

/// Rewrites, everywhere in `doc` (an OpenAPI 3.0 document), each schema whose `nullable` lacks
/// the `type` it needs into one where `null` is an explicit alternative. See the
/// [module documentation](self).
pub fn explicit_nulls(doc: &mut Value) {
    walk(doc, &explicit, Order::InnermostFirst);
}

/// Undoes [`explicit_nulls`]: `{anyOf: [X, NULL]}` becomes `{allOf: [X], nullable: true}` again
/// (or `X`'s own keys with `nullable: true`, when `X` is inline), and so on.
pub fn implicit_nulls(doc: &mut Value) {
    // Outermost first: a schema's `null` alternative is gone before it could be read alone.
    walk(doc, &implicit, Order::OutermostFirst);
}

/// Whether a schema is rewritten before or after the schemas inside it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    InnermostFirst,
    OutermostFirst,
}

/// Applies `rewrite` to every object of `value`, in `order`, skipping data values.
fn walk(value: &mut Value, rewrite: &dyn Fn(&mut Object), order: Order) {
    match value {
        Value::Object(object) => {
            if order == Order::OutermostFirst {
                rewrite(object);
            }
            for (key, child) in object.iter_mut() {
                if !DATA.contains(&key.as_str()) && !key.starts_with("x-") {
                    walk(child, rewrite, order);
                }
            }
            if order == Order::InnermostFirst {
                rewrite(object);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| walk(item, rewrite, order)),
        _ => {}
    }
}

fn explicit(schema: &mut Object) {
    if schema.get("nullable") != Some(&Value::Bool(true)) || schema.contains_key("type") {
        return;
    }
    schema.shift_remove("nullable");
    let constraints: Vec<String> = schema
        .keys()
        .filter(|key| !is_annotation(key))
        .cloned()
        .collect();
    let mut rest = Object::new();
    for key in &constraints {
        if let Some((key, value)) = schema.shift_remove_entry(key) {
            rest.insert(key, value);
        }
    }
    let alternatives = match rest.len() {
        0 => {
            // `null` alone: the schema is the null alternative, annotated.
            let Value::Object(null) = null_alternative() else {
                unreachable!("an object")
            };
            prepend(schema, null);
            return;
        }
        1 => match rest.into_iter().next() {
            Some((key, Value::Array(mut alternatives))) if key == "oneOf" || key == "anyOf" => {
                alternatives.push(null_alternative());
                prepend(
                    schema,
                    Object::from_iter([(key, Value::Array(alternatives))]),
                );
                return;
            }
            Some((key, Value::Array(mut all))) if key == "allOf" && all.len() == 1 => {
                vec![all.remove(0), null_alternative()]
            }
            Some((key, value)) => vec![
                Value::Object(Object::from_iter([(key, value)])),
                null_alternative(),
            ],
            None => unreachable!("one entry"),
        },
        _ => vec![Value::Object(rest), null_alternative()],
    };
    prepend(
        schema,
        Object::from_iter([("anyOf".to_owned(), Value::Array(alternatives))]),
    );
}

fn implicit(schema: &mut Object) {
    // `null` alone, annotated.
    if schema.get("enum") == Some(&json!([null]))
        && schema.get("type") == Some(&json!("object"))
        && schema.get("nullable") == Some(&Value::Bool(true))
        && schema
            .keys()
            .all(|key| matches!(key.as_str(), "type" | "nullable" | "enum") || is_annotation(key))
    {
        schema.shift_remove("type");
        schema.shift_remove("enum");
        return;
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(alternatives)) = schema.get_mut(key) else {
            continue;
        };
        if !alternatives.last().is_some_and(is_null_alternative) {
            continue;
        }
        alternatives.pop();
        if key == "anyOf" && alternatives.len() == 1 {
            let only = alternatives.remove(0);
            schema.shift_remove(key);
            match only {
                Value::Object(inline) if !inline.contains_key("$ref") => {
                    prepend(schema, inline);
                }
                reference => {
                    prepend(
                        schema,
                        Object::from_iter([("allOf".to_owned(), Value::Array(vec![reference]))]),
                    );
                }
            }
        }
        schema.insert("nullable".to_owned(), Value::Bool(true));
        return;
    }
}

/// Puts `entries` before `schema`'s own entries (its annotations), in order.
fn prepend(schema: &mut Object, entries: Object) {
    let own = std::mem::take(schema);
    schema.extend(entries);
    schema.extend(own);
}
