//! One test per conversion rule, plus an end-to-end check that a realistic
//! utoipa-style document parses with the `openapiv3` crate afterwards.

use oas_downgrade::{Error, downgrade};
use serde_json::{Value, json};

/// Compares serialized JSON, so that key order is checked too (`Value`
/// equality ignores it).
#[track_caller]
fn assert_json_eq(actual: &Value, expected: &Value) {
    let actual = serde_json::to_string_pretty(actual).expect("serialize actual");
    let expected = serde_json::to_string_pretty(expected).expect("serialize expected");
    assert_eq!(actual, expected);
}

/// A minimal 3.1 document holding `schema` as `components.schemas.S`.
fn document_with_schema(schema: Value) -> Value {
    json!({
        "openapi": "3.1.0",
        "info": { "title": "t", "version": "1" },
        "paths": {},
        "components": { "schemas": { "S": schema } }
    })
}

/// Downgrades `schema` inside a minimal document and returns it.
#[track_caller]
fn downgrade_schema(schema: Value) -> Value {
    let doc = downgrade(document_with_schema(schema)).expect("downgrade");
    doc["components"]["schemas"]["S"].clone()
}

/// Downgrades a minimal document with the given `paths` and `components`
/// and returns the whole result.
#[track_caller]
fn downgrade_document(paths: Value, components: Value) -> Value {
    downgrade(json!({
        "openapi": "3.1.0",
        "info": { "title": "t", "version": "1" },
        "paths": paths,
        "components": components
    }))
    .expect("downgrade")
}

#[test]
fn version_becomes_3_0_3() {
    for version in ["3.1.0", "3.1.1", "3.2.0"] {
        let doc = downgrade(json!({
            "openapi": version,
            "info": { "title": "t", "version": "1" },
            "paths": {}
        }))
        .expect("downgrade");
        assert_json_eq(
            &doc,
            &json!({
                "openapi": "3.0.3",
                "info": { "title": "t", "version": "1" },
                "paths": {}
            }),
        );
    }
}

#[test]
fn a_3_0_document_is_returned_unchanged() {
    let doc = json!({
        "openapi": "3.0.1",
        "info": { "title": "t", "version": "1" },
        "paths": {},
        "components": { "schemas": { "S": { "type": ["string", "null"], "const": 1 } } }
    });
    assert_json_eq(&downgrade(doc.clone()).expect("downgrade"), &doc);
}

#[test]
fn rejects_unsupported_versions() {
    for version in ["2.0", "3.3.0", "4.0.0", "3.1", "3.1.0.1", "3.+1.0", "three"] {
        let doc = json!({ "openapi": version, "info": {}, "paths": {} });
        match downgrade(doc) {
            Err(Error::UnsupportedVersion(found)) => assert_eq!(found, version),
            other => panic!("{version}: expected UnsupportedVersion, got {other:?}"),
        }
    }
    let swagger = json!({ "swagger": "2.0", "info": {}, "paths": {} });
    assert!(matches!(downgrade(swagger), Err(Error::MissingVersion)));
    let numeric = json!({ "openapi": 3.1, "info": {}, "paths": {} });
    assert!(matches!(downgrade(numeric), Err(Error::MissingVersion)));
    assert!(matches!(downgrade(json!([])), Err(Error::NotAnObject)));
}

#[test]
fn type_array_with_null_becomes_nullable() {
    assert_json_eq(
        &downgrade_schema(json!({
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When"
        })),
        &json!({
            "type": "string",
            "nullable": true,
            "format": "date-time",
            "description": "When"
        }),
    );
    // Order inside the array does not matter; a lone type is unwrapped.
    assert_json_eq(
        &downgrade_schema(json!({ "type": ["null", "integer"] })),
        &json!({ "type": "integer", "nullable": true }),
    );
    assert_json_eq(
        &downgrade_schema(json!({ "type": ["boolean"] })),
        &json!({ "type": "boolean" }),
    );
}

#[test]
fn null_type_alone_becomes_nullable_without_type() {
    assert_json_eq(
        &downgrade_schema(json!({ "type": ["null"], "description": "Nothing" })),
        &json!({ "nullable": true, "description": "Nothing" }),
    );
    assert_json_eq(
        &downgrade_schema(json!({ "type": "null" })),
        &json!({ "nullable": true }),
    );
}

#[test]
fn type_union_becomes_one_of() {
    assert_json_eq(
        &downgrade_schema(json!({ "type": ["string", "integer"], "description": "Id" })),
        &json!({
            "oneOf": [{ "type": "string" }, { "type": "integer" }],
            "description": "Id"
        }),
    );
    assert_json_eq(
        &downgrade_schema(json!({ "type": ["string", "null", "boolean"] })),
        &json!({
            "oneOf": [{ "type": "string" }, { "type": "boolean" }],
            "nullable": true
        }),
    );
    // `integer` is a subset of `number`.
    assert_json_eq(
        &downgrade_schema(json!({ "type": ["integer", "number"] })),
        &json!({ "type": "number" }),
    );
    // With `oneOf` already taken, the type union goes into `allOf`.
    assert_json_eq(
        &downgrade_schema(json!({
            "type": ["string", "integer"],
            "oneOf": [{ "minimum": 1 }, { "minLength": 1 }]
        })),
        &json!({
            "allOf": [{ "oneOf": [{ "type": "string" }, { "type": "integer" }] }],
            "oneOf": [{ "minimum": 1 }, { "minLength": 1 }]
        }),
    );
}

#[test]
fn one_of_ref_and_null_becomes_nullable_all_of() {
    let expected = json!({
        "allOf": [{ "$ref": "#/components/schemas/Address" }],
        "nullable": true,
        "description": "Postal address",
        "default": null,
        "example": null
    });
    // Either order, `oneOf` or `anyOf`.
    for (keyword, alternatives) in [
        (
            "oneOf",
            json!([{ "type": "null" }, { "$ref": "#/components/schemas/Address" }]),
        ),
        (
            "oneOf",
            json!([{ "$ref": "#/components/schemas/Address" }, { "type": "null" }]),
        ),
        (
            "anyOf",
            json!([{ "$ref": "#/components/schemas/Address" }, { "type": "null" }]),
        ),
    ] {
        let mut schema = serde_json::Map::new();
        schema.insert(keyword.to_owned(), alternatives);
        schema.insert("description".to_owned(), json!("Postal address"));
        schema.insert("default".to_owned(), Value::Null);
        schema.insert("example".to_owned(), Value::Null);
        assert_json_eq(&downgrade_schema(Value::Object(schema)), &expected);
    }
    // An existing `allOf` receives the alternative.
    assert_json_eq(
        &downgrade_schema(json!({
            "allOf": [{ "$ref": "#/components/schemas/Base" }],
            "oneOf": [{ "$ref": "#/components/schemas/Extra" }, { "type": "null" }]
        })),
        &json!({
            "allOf": [
                { "$ref": "#/components/schemas/Base" },
                { "$ref": "#/components/schemas/Extra" }
            ],
            "nullable": true
        }),
    );
}

#[test]
fn nullable_annotated_ref_is_flattened() {
    // utoipa documents an `Option<Struct>` field this way: the description sits beside the
    // reference, inside the alternative.
    assert_json_eq(
        &downgrade_schema(json!({
            "oneOf": [
                { "type": "null" },
                { "$ref": "#/components/schemas/ListItem", "description": "The status." }
            ]
        })),
        &json!({
            "allOf": [{ "$ref": "#/components/schemas/ListItem" }],
            "description": "The status.",
            "nullable": true
        }),
    );
    // When the parent has its own description, the alternative stays nested.
    assert_json_eq(
        &downgrade_schema(json!({
            "description": "Outer.",
            "oneOf": [
                { "type": "null" },
                { "$ref": "#/components/schemas/ListItem", "description": "Inner." }
            ]
        })),
        &json!({
            "description": "Outer.",
            "allOf": [{
                "allOf": [{ "$ref": "#/components/schemas/ListItem" }],
                "description": "Inner."
            }],
            "nullable": true
        }),
    );
}

#[test]
fn one_of_several_alternatives_and_null_keeps_the_rest() {
    assert_json_eq(
        &downgrade_schema(json!({
            "oneOf": [
                { "$ref": "#/components/schemas/Cat" },
                { "type": "null" },
                { "$ref": "#/components/schemas/Dog" }
            ],
            "discriminator": { "propertyName": "kind" }
        })),
        &json!({
            "oneOf": [
                { "$ref": "#/components/schemas/Cat" },
                { "$ref": "#/components/schemas/Dog" }
            ],
            "nullable": true,
            "discriminator": { "propertyName": "kind" }
        }),
    );
    // A `oneOf` without `null` is left alone, even with a single alternative.
    assert_json_eq(
        &downgrade_schema(json!({ "oneOf": [{ "$ref": "#/components/schemas/Cat" }] })),
        &json!({ "oneOf": [{ "$ref": "#/components/schemas/Cat" }] }),
    );
    // Only `null`: just nullable.
    assert_json_eq(
        &downgrade_schema(json!({ "anyOf": [{ "type": "null" }] })),
        &json!({ "nullable": true }),
    );
}

#[test]
fn schema_ref_with_siblings_moves_into_all_of() {
    assert_json_eq(
        &downgrade_schema(json!({
            "type": "object",
            "properties": {
                "status": {
                    "$ref": "#/components/schemas/Status",
                    "description": "Current status",
                    "readOnly": true
                },
                "plain": { "$ref": "#/components/schemas/Status" },
                "commented": { "$ref": "#/components/schemas/Status", "$comment": "dropped" }
            }
        })),
        &json!({
            "type": "object",
            "properties": {
                "status": {
                    "allOf": [{ "$ref": "#/components/schemas/Status" }],
                    "description": "Current status",
                    "readOnly": true
                },
                "plain": { "$ref": "#/components/schemas/Status" },
                "commented": { "$ref": "#/components/schemas/Status" }
            }
        }),
    );
}

#[test]
fn reference_objects_outside_schemas_keep_only_ref() {
    let doc = downgrade_document(
        json!({
            "/things": {
                "get": {
                    "parameters": [{
                        "$ref": "#/components/parameters/Limit",
                        "summary": "Page size",
                        "description": "How many"
                    }],
                    "responses": {
                        "200": { "$ref": "#/components/responses/Ok", "description": "Fine" }
                    }
                }
            }
        }),
        json!({}),
    );
    assert_json_eq(
        &doc["paths"],
        &json!({
            "/things": {
                "get": {
                    "parameters": [{ "$ref": "#/components/parameters/Limit" }],
                    "responses": { "200": { "$ref": "#/components/responses/Ok" } }
                }
            }
        }),
    );
}

#[test]
fn const_becomes_single_value_enum() {
    assert_json_eq(
        &downgrade_schema(json!({ "type": "string", "const": "circle" })),
        &json!({ "type": "string", "enum": ["circle"] }),
    );
}

#[test]
fn schema_examples_array_becomes_example() {
    assert_json_eq(
        &downgrade_schema(json!({ "type": "string", "examples": ["a", "b"] })),
        &json!({ "type": "string", "example": "a" }),
    );
    // An explicit `example` wins; an empty array disappears.
    assert_json_eq(
        &downgrade_schema(json!({ "examples": ["a"], "example": "z" })),
        &json!({ "example": "z" }),
    );
    assert_json_eq(
        &downgrade_schema(json!({ "type": "string", "examples": [] })),
        &json!({ "type": "string" }),
    );
}

#[test]
fn media_type_and_parameter_examples_maps_are_untouched() {
    let examples = json!({ "one": { "summary": "One", "value": 1 } });
    let doc = downgrade_document(
        json!({
            "/n": {
                "get": {
                    "parameters": [{
                        "name": "n",
                        "in": "query",
                        "schema": { "type": "integer", "examples": [1] },
                        "examples": examples
                    }],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": { "type": "integer" },
                                    "examples": examples
                                }
                            }
                        }
                    }
                }
            }
        }),
        json!({}),
    );
    let get = &doc["paths"]["/n"]["get"];
    assert_json_eq(
        &get["parameters"][0],
        &json!({
            "name": "n",
            "in": "query",
            "schema": { "type": "integer", "example": 1 },
            "examples": examples
        }),
    );
    assert_json_eq(
        &get["responses"]["200"]["content"]["application/json"]["examples"],
        &examples,
    );
}

#[test]
fn numeric_exclusive_bounds_become_boolean() {
    assert_json_eq(
        &downgrade_schema(json!({
            "type": "number",
            "exclusiveMinimum": 5,
            "exclusiveMaximum": 10.5
        })),
        &json!({
            "type": "number",
            "minimum": 5,
            "exclusiveMinimum": true,
            "maximum": 10.5,
            "exclusiveMaximum": true
        }),
    );
    // With an inclusive bound as well, the stricter one is kept.
    assert_json_eq(
        &downgrade_schema(json!({
            "type": "integer",
            "minimum": 0,
            "exclusiveMinimum": 3,
            "maximum": 7,
            "exclusiveMaximum": 9
        })),
        &json!({
            "type": "integer",
            "minimum": 3,
            "exclusiveMinimum": true,
            "maximum": 7
        }),
    );
    // 3.0-style boolean bounds are already fine.
    assert_json_eq(
        &downgrade_schema(json!({ "minimum": 1, "exclusiveMinimum": true })),
        &json!({ "minimum": 1, "exclusiveMinimum": true }),
    );
}

#[test]
fn drops_3_1_only_fields() {
    let doc = downgrade(json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "t",
            "summary": "Short",
            "license": { "name": "MIT", "identifier": "MIT" },
            "version": "1",
            "x-logo": "logo.png"
        },
        "paths": {},
        "webhooks": { "ping": { "post": { "responses": {} } } },
        "components": {
            "schemas": {
                "S": {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "$id": "https://example.com/s",
                    "$comment": "internal",
                    "type": "object",
                    "properties": {
                        "blob": { "type": "string", "contentEncoding": "base64url" }
                    },
                    "unevaluatedProperties": false,
                    "dependentRequired": { "a": ["b"] },
                    "propertyNames": { "pattern": "^[a-z]+$" },
                    "patternProperties": { "^x": {} },
                    "if": { "required": ["a"] },
                    "then": { "required": ["b"] },
                    "x-rust-type": "crate::S"
                }
            },
            "pathItems": { "Ping": { "get": { "responses": {} } } }
        }
    }))
    .expect("downgrade");
    assert_json_eq(
        &doc,
        &json!({
            "openapi": "3.0.3",
            "info": {
                "title": "t",
                "license": { "name": "MIT" },
                "version": "1",
                "x-logo": "logo.png"
            },
            "paths": {},
            "components": {
                "schemas": {
                    "S": {
                        "type": "object",
                        "properties": { "blob": { "type": "string" } },
                        "x-rust-type": "crate::S"
                    }
                }
            }
        }),
    );
}

#[test]
fn license_url_is_kept() {
    let doc = downgrade(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "t",
            "version": "1",
            "license": { "name": "MIT", "identifier": "MIT", "url": "https://mit.example" }
        },
        "paths": {}
    }))
    .expect("downgrade");
    assert_json_eq(
        &doc["info"]["license"],
        &json!({ "name": "MIT", "url": "https://mit.example" }),
    );
}

#[test]
fn content_media_type_and_encoding_become_format() {
    assert_json_eq(
        &downgrade_schema(json!({
            "type": "string",
            "contentMediaType": "application/octet-stream"
        })),
        &json!({ "type": "string", "format": "binary" }),
    );
    assert_json_eq(
        &downgrade_schema(json!({
            "type": ["string", "null"],
            "contentEncoding": "base64",
            "contentMediaType": "image/png"
        })),
        &json!({ "type": "string", "format": "byte", "nullable": true }),
    );
    // An explicit format wins; non-strings get none.
    assert_json_eq(
        &downgrade_schema(json!({
            "type": "string",
            "format": "uri",
            "contentMediaType": "application/octet-stream"
        })),
        &json!({ "type": "string", "format": "uri" }),
    );
    assert_json_eq(
        &downgrade_schema(json!({ "contentMediaType": "application/octet-stream" })),
        &json!({}),
    );
}

#[test]
fn prefix_items_is_unconvertible() {
    let err = downgrade(document_with_schema(json!({
        "type": "object",
        "properties": {
            "pair": { "type": "array", "prefixItems": [{ "type": "string" }, { "type": "integer" }] }
        }
    })))
    .expect_err("prefixItems must be rejected");
    match err {
        Error::Unconvertible { pointer, .. } => {
            assert_eq!(pointer, "/components/schemas/S/properties/pair/prefixItems")
        }
        other => panic!("expected Unconvertible, got {other:?}"),
    }
}

#[test]
fn other_unconvertible_constructs_are_rejected() {
    let cases = [
        document_with_schema(json!({ "type": "array", "items": [{ "type": "string" }] })),
        document_with_schema(json!({ "$defs": { "A": {} } })),
        json!({
            "openapi": "3.1.0",
            "info": { "title": "t", "version": "1" },
            "paths": {},
            "components": { "securitySchemes": { "tls": { "type": "mutualTLS" } } }
        }),
        json!({
            "openapi": "3.1.0",
            "info": { "title": "t", "version": "1" },
            "paths": { "/a": { "$ref": "#/components/pathItems/Missing" } }
        }),
    ];
    for doc in cases {
        assert!(
            matches!(downgrade(doc.clone()), Err(Error::Unconvertible { .. })),
            "{doc}"
        );
    }
}

#[test]
fn components_path_items_are_dropped_and_inlined() {
    let doc = downgrade(json!({
        "openapi": "3.1.0",
        "info": { "title": "t", "version": "1" },
        "paths": {
            "/health": { "$ref": "#/components/pathItems/Health", "summary": "Liveness" }
        },
        "components": {
            "pathItems": {
                "Health": {
                    "summary": "Health",
                    "get": { "responses": { "200": { "description": "up" } } }
                }
            },
            "schemas": {}
        }
    }))
    .expect("downgrade");
    assert_json_eq(
        &doc,
        &json!({
            "openapi": "3.0.3",
            "info": { "title": "t", "version": "1" },
            "paths": {
                "/health": {
                    "summary": "Liveness",
                    "get": { "responses": { "200": { "description": "up" } } }
                }
            },
            "components": { "schemas": {} }
        }),
    );
}

#[test]
fn schemas_are_rewritten_wherever_they_are() {
    let doc = downgrade_document(
        json!({
            "/items/{id}": {
                "parameters": [{
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "schema": { "type": "integer", "exclusiveMinimum": 0 }
                }],
                "put": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": { "type": ["string", "null"] }
                                }
                            }
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "ok",
                            "headers": {
                                "X-Rate": { "schema": { "const": 1 } }
                            },
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "additionalProperties": { "type": ["number", "null"] },
                                        "not": { "const": 0 }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }),
        json!({
            "schemas": {
                "S": {
                    "allOf": [{ "$ref": "#/components/schemas/T", "title": "T" }],
                    "additionalProperties": false
                }
            }
        }),
    );
    assert_json_eq(
        &doc,
        &json!({
            "openapi": "3.0.3",
            "info": { "title": "t", "version": "1" },
            "paths": {
                "/items/{id}": {
                    "parameters": [{
                        "name": "id",
                        "in": "path",
                        "required": true,
                        "schema": { "type": "integer", "minimum": 0, "exclusiveMinimum": true }
                    }],
                    "put": {
                        "requestBody": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": { "type": "string", "nullable": true }
                                    }
                                }
                            }
                        },
                        "responses": {
                            "200": {
                                "description": "ok",
                                "headers": {
                                    "X-Rate": { "schema": { "enum": [1] } }
                                },
                                "content": {
                                    "application/json": {
                                        "schema": {
                                            "type": "object",
                                            "additionalProperties": {
                                                "type": "number",
                                                "nullable": true
                                            },
                                            "not": { "enum": [0] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
            "components": {
                "schemas": {
                    "S": {
                        "allOf": [{ "allOf": [{ "$ref": "#/components/schemas/T" }], "title": "T" }],
                        "additionalProperties": false
                    }
                }
            }
        }),
    );
}

#[test]
fn boolean_schemas_become_objects() {
    assert_json_eq(
        &downgrade_schema(json!({
            "type": "object",
            "properties": { "anything": true, "nothing": false },
            "additionalProperties": true
        })),
        &json!({
            "type": "object",
            "properties": { "anything": {}, "nothing": { "not": {} } },
            "additionalProperties": true
        }),
    );
}

#[test]
fn missing_paths_and_responses_are_added() {
    let doc = downgrade(json!({
        "openapi": "3.1.0",
        "info": { "title": "t", "version": "1" },
        "components": {
            "callbacks": {
                "onEvent": { "{$request.body#/url}": { "post": { "operationId": "event" } } }
            }
        }
    }))
    .expect("downgrade");
    assert_json_eq(
        &doc,
        &json!({
            "openapi": "3.0.3",
            "info": { "title": "t", "version": "1" },
            "paths": {},
            "components": {
                "callbacks": {
                    "onEvent": {
                        "{$request.body#/url}": {
                            "post": { "operationId": "event", "responses": {} }
                        }
                    }
                }
            }
        }),
    );
}

#[test]
fn extensions_are_untouched() {
    let extension = json!({ "type": ["string", "null"], "const": 1, "$ref": "x", "a": "b" });
    let doc = downgrade_document(
        json!({ "x-paths-ext": extension }),
        json!({
            "schemas": {
                "S": { "type": "integer", "x-ext": extension },
                "x-looks-like-an-extension": { "type": ["integer", "null"] }
            }
        }),
    );
    assert_json_eq(&doc["paths"]["x-paths-ext"], &extension);
    assert_json_eq(&doc["components"]["schemas"]["S"]["x-ext"], &extension);
    // Inside a map of names, `x-` is just a name.
    assert_json_eq(
        &doc["components"]["schemas"]["x-looks-like-an-extension"],
        &json!({ "type": "integer", "nullable": true }),
    );
}

/// What utoipa 6 emits for a small CRUD API.
fn utoipa_document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "crm",
            "description": "Customer relationship management",
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" },
            "version": "0.1.0"
        },
        "paths": {
            "/api/v1/customers/{id}": {
                "get": {
                    "tags": ["customers"],
                    "summary": "Fetch one customer",
                    "operationId": "get_customer",
                    "parameters": [{
                        "name": "id",
                        "in": "path",
                        "description": "Customer id",
                        "required": true,
                        "schema": { "type": "integer", "format": "int64", "minimum": 1 }
                    }],
                    "responses": {
                        "200": {
                            "description": "The customer",
                            "content": {
                                "application/json": {
                                    "schema": { "$ref": "#/components/schemas/Customer" }
                                }
                            }
                        },
                        "404": {
                            "description": "No such customer",
                            "content": {
                                "application/json": {
                                    "schema": { "$ref": "#/components/schemas/ErrorBody" }
                                }
                            }
                        }
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Address": {
                    "type": "object",
                    "required": ["city"],
                    "properties": { "city": { "type": "string" } }
                },
                "Customer": {
                    "type": "object",
                    "required": ["id", "name", "status"],
                    "properties": {
                        "id": { "type": "integer", "format": "int64", "minimum": 0 },
                        "name": { "type": "string", "examples": ["Ada"] },
                        "email": { "type": ["string", "null"] },
                        "status": { "$ref": "#/components/schemas/Status" },
                        "address": {
                            "oneOf": [
                                { "type": "null" },
                                { "$ref": "#/components/schemas/Address" }
                            ]
                        }
                    }
                },
                "ErrorBody": {
                    "type": "object",
                    "required": ["message"],
                    "properties": { "message": { "type": "string" } }
                },
                "Status": {
                    "type": "integer",
                    "format": "int32",
                    "enum": [0, 1, 2],
                    "x-enum-varnames": ["Lead", "Active", "Churned"]
                }
            },
            "securitySchemes": {
                "api_key": { "type": "apiKey", "in": "header", "name": "x-api-key" }
            }
        },
        "security": [{ "api_key": [] }]
    })
}

#[test]
fn utoipa_document_parses_as_openapi_3_0() {
    use openapiv3::{
        IntegerType, OpenAPI, ParameterSchemaOrContent, ReferenceOr, SchemaKind, Type,
    };

    let downgraded = downgrade(utoipa_document()).expect("downgrade");
    let api: OpenAPI = serde_json::from_value(downgraded).expect("valid OpenAPI 3.0");

    assert_eq!(api.openapi, "3.0.3");
    let license = api.info.license.as_ref().expect("license");
    assert_eq!(license.name, "MIT OR Apache-2.0");
    assert_eq!(license.url, None);

    let security = api.security.as_ref().expect("top-level security");
    assert_eq!(security.len(), 1);
    assert_eq!(security[0].get("api_key"), Some(&Vec::new()));

    let components = api.components.as_ref().expect("components");
    assert!(matches!(
        components.security_schemes.get("api_key"),
        Some(ReferenceOr::Item(openapiv3::SecurityScheme::APIKey { .. }))
    ));

    let Some(ReferenceOr::Item(customer)) = components.schemas.get("Customer") else {
        panic!("Customer schema missing");
    };
    let SchemaKind::Type(Type::Object(customer)) = &customer.schema_kind else {
        panic!("Customer is not an object: {customer:?}");
    };

    // The nullable `$ref` survived as a nullable `allOf` around the reference.
    let Some(ReferenceOr::Item(address)) = customer.properties.get("address") else {
        panic!("address is not an inline schema");
    };
    assert!(address.schema_data.nullable);
    let SchemaKind::AllOf { all_of } = &address.schema_kind else {
        panic!("address is not an allOf: {address:?}");
    };
    assert_eq!(
        all_of,
        &vec![ReferenceOr::Reference {
            reference: "#/components/schemas/Address".to_owned()
        }]
    );

    let Some(ReferenceOr::Item(email)) = customer.properties.get("email") else {
        panic!("email is not an inline schema");
    };
    assert!(email.schema_data.nullable);
    assert!(matches!(
        email.schema_kind,
        SchemaKind::Type(Type::String(_))
    ));

    let Some(ReferenceOr::Item(name)) = customer.properties.get("name") else {
        panic!("name is not an inline schema");
    };
    assert_eq!(name.schema_data.example, Some(json!("Ada")));

    let Some(ReferenceOr::Item(status)) = components.schemas.get("Status") else {
        panic!("Status schema missing");
    };
    let SchemaKind::Type(Type::Integer(IntegerType { enumeration, .. })) = &status.schema_kind
    else {
        panic!("Status is not an integer: {status:?}");
    };
    assert_eq!(enumeration, &vec![Some(0), Some(1), Some(2)]);
    assert_eq!(
        status.schema_data.extensions.get("x-enum-varnames"),
        Some(&json!(["Lead", "Active", "Churned"]))
    );

    let path = api
        .paths
        .paths
        .get("/api/v1/customers/{id}")
        .and_then(ReferenceOr::as_item)
        .expect("path item");
    let get = path.get.as_ref().expect("GET operation");
    let Some(ReferenceOr::Item(parameter)) = get.parameters.first() else {
        panic!("missing path parameter");
    };
    let ParameterSchemaOrContent::Schema(ReferenceOr::Item(id)) =
        &parameter.parameter_data_ref().format
    else {
        panic!("path parameter has no inline schema");
    };
    let SchemaKind::Type(Type::Integer(id)) = &id.schema_kind else {
        panic!("path parameter is not an integer");
    };
    assert_eq!(id.minimum, Some(1));
}

#[test]
fn downgrade_is_idempotent() {
    let once = downgrade(utoipa_document()).expect("first downgrade");
    let twice = downgrade(once.clone()).expect("second downgrade");
    assert_json_eq(&twice, &once);

    let schema_doc = document_with_schema(json!({
        "oneOf": [{ "$ref": "#/components/schemas/A" }, { "type": "null" }],
        "type": ["string", "integer", "null"],
        "exclusiveMaximum": 3
    }));
    let once = downgrade(schema_doc).expect("first downgrade");
    let twice = downgrade(once.clone()).expect("second downgrade");
    assert_json_eq(&twice, &once);
}
