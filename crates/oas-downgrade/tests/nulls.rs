//! `explicit_nulls` and its inverse `implicit_nulls`: one test per rule, each also checking
//! that the inverse gives the input back.

use oas_downgrade::{explicit_nulls, implicit_nulls};
use serde_json::{Value, json};

/// Compares serialized JSON, so that key order is checked too.
#[track_caller]
fn assert_json_eq(actual: &Value, expected: &Value) {
    let actual = serde_json::to_string_pretty(actual).expect("serialize actual");
    let expected = serde_json::to_string_pretty(expected).expect("serialize expected");
    assert_eq!(actual, expected);
}

/// `explicit_nulls` of a document holding `schema` as a property turns it into `expected`, and
/// `implicit_nulls` turns that back into `schema` (`nullable` last, where `downgrade` puts it).
#[track_caller]
fn check(schema: Value, expected: Value) {
    let document = |property: Value| {
        json!({
            "openapi": "3.0.3",
            "components": { "schemas": { "S": {
                "type": "object",
                "properties": { "p": property }
            } } }
        })
    };
    let mut doc = document(schema.clone());
    explicit_nulls(&mut doc);
    assert_json_eq(&doc, &document(expected));
    implicit_nulls(&mut doc);
    assert_json_eq(&doc, &document(schema));
}

const NULL: fn() -> Value = || json!({ "type": "object", "nullable": true, "enum": [null] });

#[test]
fn a_nullable_reference_gets_null_as_an_alternative() {
    check(
        json!({
            "allOf": [{ "$ref": "#/components/schemas/Address" }],
            "description": "Postal address",
            "nullable": true
        }),
        json!({
            "anyOf": [{ "$ref": "#/components/schemas/Address" }, NULL()],
            "description": "Postal address"
        }),
    );
}

#[test]
fn a_nullable_one_of_or_any_of_gets_null_appended() {
    for keyword in ["oneOf", "anyOf"] {
        let alternatives = json!([{ "type": "string" }, { "type": "integer" }]);
        let mut with_null = alternatives.clone();
        with_null.as_array_mut().unwrap().push(NULL());
        check(
            json!({ keyword: alternatives, "nullable": true }),
            json!({ keyword: with_null }),
        );
    }
}

#[test]
fn null_alone_is_the_null_alternative() {
    check(
        json!({ "nullable": true, "description": "Nothing" }),
        json!({ "type": "object", "nullable": true, "enum": [null], "description": "Nothing" }),
    );
}

#[test]
fn other_untyped_constraints_become_the_other_alternative() {
    check(
        json!({
            "properties": { "a": { "type": "string" } },
            "required": ["a"],
            "x-note": "kept",
            "nullable": true
        }),
        json!({
            "anyOf": [
                { "properties": { "a": { "type": "string" } }, "required": ["a"] },
                NULL()
            ],
            "x-note": "kept"
        }),
    );
}

#[test]
fn typed_schemas_and_data_are_left_alone() {
    check(
        json!({ "type": "string", "nullable": true }),
        json!({ "type": "string", "nullable": true }),
    );
    // An example that looks like a nullable schema is data.
    check(
        json!({ "type": "object", "example": { "nullable": true } }),
        json!({ "type": "object", "example": { "nullable": true } }),
    );
    // `nullable: false` adds nothing.
    check(
        json!({ "allOf": [{ "$ref": "#/components/schemas/A" }], "nullable": false }),
        json!({ "allOf": [{ "$ref": "#/components/schemas/A" }], "nullable": false }),
    );
}

#[test]
fn nested_nullable_schemas_are_rewritten_too() {
    check(
        json!({
            "type": "array",
            "items": { "allOf": [{ "$ref": "#/components/schemas/A" }], "nullable": true }
        }),
        json!({
            "type": "array",
            "items": { "anyOf": [{ "$ref": "#/components/schemas/A" }, NULL()] }
        }),
    );
}
