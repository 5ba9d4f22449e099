//! Converts an OpenAPI 3.1 document into an OpenAPI 3.0.3 document.
//!
//! Generators such as utoipa emit OpenAPI 3.1, whose schemas are JSON Schema
//! 2020-12, while progenitor and the `openapiv3` crate only read OpenAPI 3.0.
//! [`downgrade`] rewrites a document held as a [`serde_json::Value`] into the
//! closest 3.0.3 equivalent. It knows nothing about any particular API: it
//! walks the whole document and rewrites the constructs listed below.
//!
//! # Document rules
//!
//! * `openapi: 3.1.x` (or `3.2.x`) becomes `openapi: 3.0.3`. A 3.0.x document
//!   is returned unchanged, so the conversion is idempotent; any other version
//!   is rejected with [`Error::UnsupportedVersion`].
//! * 3.1-only fields are dropped: `jsonSchemaDialect`, `webhooks`,
//!   `info.summary` and `info.license.identifier` (the license keeps its
//!   `name`, and its `url` if it has one).
//! * `components.pathItems` is dropped. Path items that `$ref` one of its
//!   entries get a copy of that entry instead, so nothing dangles.
//! * A document without `paths`, or an operation without `responses`, gets an
//!   empty one: 3.0 requires both.
//! * A Reference Object outside a schema (a parameter, response, header,
//!   example, … written as `$ref`) loses the `summary` and `description`
//!   siblings that 3.1 allows next to `$ref`.
//! * A few 3.2 additions that carry no meaning for 3.0 readers are dropped
//!   (`$self`, a tag's `summary`/`parent`/`kind`, a server's `name`, a security
//!   scheme's `deprecated`/`oauth2MetadataUrl`, the `deviceAuthorization`
//!   OAuth flow, a response's `summary`). A response without `description`
//!   gets its `summary` or an empty string.
//!
//! # Schema rules
//!
//! Every Schema Object is rewritten, wherever it is: `components.schemas`, the
//! `schema` of a parameter, header or media type, and recursively inside
//! `properties`, `items`, `additionalProperties`, `allOf`, `oneOf`, `anyOf`
//! and `not`.
//!
//! * `type: [T, "null"]` becomes `type: T, nullable: true`; `type: "null"` or
//!   `type: ["null"]` becomes `nullable: true` with no `type`. Several
//!   non-null types become a `oneOf` with one `{type: T}` per type (`integer`
//!   is left out when `number` is also listed, since it is a subset), plus
//!   `nullable: true` if `"null"` was listed.
//! * A `oneOf`/`anyOf` with a `{type: "null"}` alternative loses it and gains
//!   `nullable: true`. If a single alternative `X` is left, the combinator
//!   becomes `allOf: [X]` (so `oneOf: [{$ref}, {type: null}]` turns into a
//!   nullable `allOf` around the reference); otherwise the remaining
//!   alternatives are kept. Sibling keys such as `description` stay.
//! * `$ref` with sibling keys becomes `allOf: [{$ref}]` next to those keys,
//!   because 3.0 readers ignore everything beside a `$ref`.
//! * `const: V` becomes `enum: [V]`.
//! * `examples: [a, …]` becomes `example: a` (an explicit `example` wins).
//!   The `examples` map of a parameter or media type is 3.0-valid and is
//!   left alone.
//! * Numeric `exclusiveMinimum: n` becomes `minimum: n, exclusiveMinimum:
//!   true` (likewise for the maximum). When an inclusive bound is also given,
//!   the stricter of the two is kept.
//! * `contentEncoding: base64` on a string becomes `format: byte`, and
//!   `contentMediaType: application/octet-stream` becomes `format: binary`,
//!   unless the schema already has a `format`.
//! * Boolean schemas become `{}` (`true`) and `{not: {}}` (`false`), except
//!   as the value of `additionalProperties`, where 3.0 allows booleans.
//! * JSON Schema keywords that 3.0 lacks and that only add validation are
//!   dropped: `$schema`, `$id`, `$anchor`, `$dynamicAnchor`, `$vocabulary`,
//!   `$comment`, `contentEncoding`, `contentMediaType`, `contentSchema`,
//!   `unevaluatedProperties`, `unevaluatedItems`, `dependentRequired`,
//!   `dependentSchemas`, `propertyNames`, `patternProperties`, `contains`,
//!   `minContains`, `maxContains`, `if`, `then` and `else`.
//! * Keywords that change the shape of the data and have no 3.0 equivalent
//!   (`prefixItems`, an array-valued `items`, `$defs`, `$dynamicRef`) make the
//!   conversion fail with [`Error::Unconvertible`], as do a `mutualTLS`
//!   security scheme and the 3.2 `query`/`additionalOperations` operations,
//!   `querystring` parameters, `itemSchema` and `components.mediaTypes`.
//!
//! Everything else, including every `x-*` extension, passes through
//! untouched, in its original order.
//!
//! # Explicit `null`
//!
//! A nullable reference comes out as `{allOf: [{$ref}], nullable: true}`, the
//! form most generators read as "the object or `null`"; but OpenAPI 3.0.3 lets
//! `nullable` add `null` only beside a `type`, so a strict validator refuses
//! the `null`. [`explicit_nulls`] rewrites such schemas with `null` as an
//! alternative of its own, and [`implicit_nulls`] turns them back for the
//! generators that prefer the first form.

use serde_json::{Map, Value, json};

mod nulls;

pub use nulls::{explicit_nulls, implicit_nulls};

/// A JSON object, in document order.
type Object = Map<String, Value>;

/// The version written into every downgraded document.
const TARGET_VERSION: &str = "3.0.3";

/// How many `$ref` hops to `components.pathItems` are followed before giving
/// up on a (presumably cyclic) chain.
const MAX_PATH_ITEM_REFS: usize = 32;

/// Schema keywords with no 3.0 counterpart that only add validation, and so
/// can be dropped without changing the shape of the data.
const DROPPED_SCHEMA_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$vocabulary",
    "$comment",
    "contentSchema",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentRequired",
    "dependentSchemas",
    "propertyNames",
    "patternProperties",
    "contains",
    "minContains",
    "maxContains",
    "if",
    "then",
    "else",
];

/// Why a document could not be downgraded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document is not a JSON object.
    #[error("an OpenAPI document must be a JSON object")]
    NotAnObject,
    /// The document has no `openapi` field, or it is not a string.
    #[error("the document has no string `openapi` field")]
    MissingVersion,
    /// The document's `openapi` version is neither 3.0.x, 3.1.x nor 3.2.x.
    #[error("unsupported OpenAPI version {0:?}: expected 3.1.x or 3.2.x")]
    UnsupportedVersion(String),
    /// Part of the document has no OpenAPI 3.0 equivalent.
    #[error("cannot express `{pointer}` in OpenAPI 3.0: {reason}")]
    Unconvertible {
        /// JSON Pointer (RFC 6901) to the offending value.
        pointer: String,
        /// What has no 3.0 equivalent.
        reason: String,
    },
}

/// Converts an OpenAPI 3.1 document into OpenAPI 3.0.3.
///
/// 3.2.x documents are accepted too. A 3.0.x document is returned unchanged,
/// which makes `downgrade(downgrade(doc)?)` equal to `downgrade(doc)`. See the
/// [crate documentation](crate) for the rules applied.
///
/// # Errors
///
/// [`Error::NotAnObject`], [`Error::MissingVersion`] or
/// [`Error::UnsupportedVersion`] if `doc` is not an OpenAPI 3.0–3.2 document,
/// and [`Error::Unconvertible`] if it uses a construct that 3.0 cannot express.
pub fn downgrade(doc: Value) -> Result<Value, Error> {
    let Value::Object(root) = doc else {
        return Err(Error::NotAnObject);
    };
    let version = match root.get("openapi") {
        Some(Value::String(version)) => version.clone(),
        _ => return Err(Error::MissingVersion),
    };
    match parse_version(&version) {
        Some((3, 0)) => Ok(Value::Object(root)),
        Some((3, 1 | 2)) => document(root).map(Value::Object),
        _ => Err(Error::UnsupportedVersion(version)),
    }
}

/// Returns the major and minor numbers of a `major.minor.patch` version.
fn parse_version(version: &str) -> Option<(u32, u32)> {
    fn number(part: &str) -> Option<u32> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    }
    let mut parts = version.split('.');
    let major = number(parts.next()?)?;
    let minor = number(parts.next()?)?;
    number(parts.next()?)?;
    parts.next().is_none().then_some((major, minor))
}

/// Converts the OpenAPI Object.
fn document(mut root: Object) -> Result<Object, Error> {
    // `components.pathItems` goes away, so its entries are inlined wherever a
    // path item refers to them.
    let path_items = root
        .get_mut("components")
        .and_then(Value::as_object_mut)
        .and_then(|components| components.shift_remove("pathItems"));
    let converter = Converter {
        path_items: match path_items {
            Some(Value::Object(path_items)) => path_items,
            _ => Object::new(),
        },
    };

    let mut out = Object::with_capacity(root.len() + 1);
    for (key, value) in root {
        let here = pointer("", &key);
        let value = match key.as_str() {
            "openapi" => Value::from(TARGET_VERSION),
            "jsonSchemaDialect" | "webhooks" | "$self" => continue,
            "info" => info(value)?,
            "servers" => servers(value, &here)?,
            "paths" => converter.paths(value, &here)?,
            "components" => converter.components(value, &here)?,
            "tags" => tags(value, &here)?,
            _ => value,
        };
        out.insert(key, value);
    }
    if !out.contains_key("paths") {
        let paths = ("paths".to_owned(), Value::Object(Object::new()));
        match out.get_mut("info").map(Value::take) {
            Some(info) => splice(&mut out, "info", vec![("info".to_owned(), info), paths]),
            None => out.extend([paths]),
        }
    }
    Ok(out)
}

/// Drops `summary` (3.1) and `license.identifier` (3.1) from the Info Object.
fn info(value: Value) -> Result<Value, Error> {
    rebuild(value, |key, value| match key {
        "summary" => Ok(None),
        "license" => rebuild(value, |key, value| {
            Ok((key != "identifier").then_some(value))
        })
        .map(Some),
        _ => Ok(Some(value)),
    })
}

/// Drops the 3.2 `name` of each Server Object.
fn servers(value: Value, ptr: &str) -> Result<Value, Error> {
    each_item(value, ptr, |server, _| {
        rebuild(server, |key, value| Ok((key != "name").then_some(value)))
    })
}

/// Drops the 3.2 `summary`, `parent` and `kind` of each Tag Object.
fn tags(value: Value, ptr: &str) -> Result<Value, Error> {
    each_item(value, ptr, |tag, _| {
        rebuild(tag, |key, value| {
            Ok((!matches!(key, "summary" | "parent" | "kind")).then_some(value))
        })
    })
}

/// The parts of the conversion that need to look things up in the document.
struct Converter {
    /// The former `components.pathItems`.
    path_items: Object,
}

impl Converter {
    /// Converts the Paths Object.
    fn paths(&self, value: Value, ptr: &str) -> Result<Value, Error> {
        each_field(value, ptr, |item, ptr| self.path_item(item, ptr))
    }

    /// Converts a Path Item Object.
    fn path_item(&self, value: Value, ptr: &str) -> Result<Value, Error> {
        let value = self.resolve_path_item(value, ptr)?;
        rebuild(value, |key, value| {
            let here = pointer(ptr, key);
            Ok(Some(match key {
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace" => {
                    self.operation(value, &here)?
                }
                "query" | "additionalOperations" => {
                    return Err(unconvertible(here, "OpenAPI 3.0 has no such operations"));
                }
                "parameters" => parameters(value, &here)?,
                "servers" => servers(value, &here)?,
                _ => value,
            }))
        })
    }

    /// Replaces a `$ref` to `#/components/pathItems/…` by (a copy of) its
    /// target, keeping the referring item's own fields on top.
    fn resolve_path_item(&self, mut value: Value, ptr: &str) -> Result<Value, Error> {
        for _ in 0..MAX_PATH_ITEM_REFS {
            let Some(name) = value
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|reference| reference.strip_prefix("#/components/pathItems/"))
                .map(unescape)
            else {
                return Ok(value);
            };
            let Some(Value::Object(target)) = self.path_items.get(&name) else {
                return Err(unconvertible(
                    pointer(ptr, "$ref"),
                    &format!("`components.pathItems` has no path item {name:?}"),
                ));
            };
            let mut merged = target.clone();
            if let Value::Object(local) = value {
                merged.extend(local.into_iter().filter(|(key, _)| key != "$ref"));
            }
            value = Value::Object(merged);
        }
        Err(unconvertible(
            pointer(ptr, "$ref"),
            "the chain of `components.pathItems` references is cyclic or too long",
        ))
    }

    /// Converts an Operation Object.
    fn operation(&self, value: Value, ptr: &str) -> Result<Value, Error> {
        let mut operation = rebuild(value, |key, value| {
            let here = pointer(ptr, key);
            Ok(Some(match key {
                "parameters" => parameters(value, &here)?,
                "requestBody" => reference_or(value, &here, request_body)?,
                "responses" => responses(value, &here)?,
                "callbacks" => each_value(value, &here, |callback, ptr| {
                    reference_or(callback, ptr, |callback, ptr| self.callback(callback, ptr))
                })?,
                "servers" => servers(value, &here)?,
                _ => value,
            }))
        })?;
        if let Value::Object(operation) = &mut operation {
            operation
                .entry("responses")
                .or_insert_with(|| Value::Object(Object::new()));
        }
        Ok(operation)
    }

    /// Converts a Callback Object.
    fn callback(&self, value: Value, ptr: &str) -> Result<Value, Error> {
        each_field(value, ptr, |item, ptr| self.path_item(item, ptr))
    }

    /// Converts the Components Object.
    fn components(&self, value: Value, ptr: &str) -> Result<Value, Error> {
        rebuild(value, |key, value| {
            let here = pointer(ptr, key);
            Ok(Some(match key {
                "schemas" => each_value(value, &here, schema)?,
                "responses" => {
                    each_value(value, &here, |item, ptr| reference_or(item, ptr, response))?
                }
                "parameters" | "headers" => {
                    each_value(value, &here, |item, ptr| reference_or(item, ptr, parameter))?
                }
                "examples" | "links" => each_value(value, &here, |item, ptr| {
                    reference_or(item, ptr, |item, _| Ok(item))
                })?,
                "requestBodies" => each_value(value, &here, |item, ptr| {
                    reference_or(item, ptr, request_body)
                })?,
                "securitySchemes" => each_value(value, &here, |item, ptr| {
                    reference_or(item, ptr, security_scheme)
                })?,
                "callbacks" => each_value(value, &here, |item, ptr| {
                    reference_or(item, ptr, |item, ptr| self.callback(item, ptr))
                })?,
                "pathItems" => return Ok(None),
                "mediaTypes" => {
                    return Err(unconvertible(
                        here,
                        "OpenAPI 3.0 has no reusable media types",
                    ));
                }
                _ => value,
            }))
        })
    }
}

/// Converts a list of parameters (or references to them).
fn parameters(value: Value, ptr: &str) -> Result<Value, Error> {
    each_item(value, ptr, |item, ptr| reference_or(item, ptr, parameter))
}

/// Converts a Parameter Object or a Header Object.
fn parameter(value: Value, ptr: &str) -> Result<Value, Error> {
    rebuild(value, |key, value| {
        let here = pointer(ptr, key);
        Ok(Some(match key {
            "in" if value == "querystring" => {
                return Err(unconvertible(
                    here,
                    "OpenAPI 3.0 has no `querystring` parameters",
                ));
            }
            "schema" => schema(value, &here)?,
            "content" => content(value, &here)?,
            "examples" => examples(value, &here)?,
            _ => value,
        }))
    })
}

/// Converts a Request Body Object.
fn request_body(value: Value, ptr: &str) -> Result<Value, Error> {
    rebuild(value, |key, value| {
        let here = pointer(ptr, key);
        Ok(Some(match key {
            "content" => content(value, &here)?,
            _ => value,
        }))
    })
}

/// Converts a Responses Object.
fn responses(value: Value, ptr: &str) -> Result<Value, Error> {
    each_field(value, ptr, |item, ptr| reference_or(item, ptr, response))
}

/// Converts a Response Object.
fn response(value: Value, ptr: &str) -> Result<Value, Error> {
    let summary = value.get("summary").cloned();
    let mut response = rebuild(value, |key, value| {
        let here = pointer(ptr, key);
        Ok(Some(match key {
            "summary" => return Ok(None),
            "headers" => headers(value, &here)?,
            "content" => content(value, &here)?,
            "links" => each_value(value, &here, |link, ptr| {
                reference_or(link, ptr, |link, _| Ok(link))
            })?,
            _ => value,
        }))
    })?;
    if let Value::Object(response) = &mut response
        && !response.contains_key("description")
    {
        let description = summary.unwrap_or_else(|| Value::from(""));
        response.shift_insert(0, "description".to_owned(), description);
    }
    Ok(response)
}

/// Converts a map of headers (or references to them).
fn headers(value: Value, ptr: &str) -> Result<Value, Error> {
    each_value(value, ptr, |item, ptr| reference_or(item, ptr, parameter))
}

/// Converts a map of examples (or references to them).
fn examples(value: Value, ptr: &str) -> Result<Value, Error> {
    each_value(value, ptr, |item, ptr| {
        reference_or(item, ptr, |item, _| Ok(item))
    })
}

/// Converts a `content` map of Media Type Objects.
fn content(value: Value, ptr: &str) -> Result<Value, Error> {
    each_value(value, ptr, media_type)
}

/// Converts a Media Type Object.
fn media_type(value: Value, ptr: &str) -> Result<Value, Error> {
    rebuild(value, |key, value| {
        let here = pointer(ptr, key);
        Ok(Some(match key {
            "schema" => schema(value, &here)?,
            "itemSchema" => {
                return Err(unconvertible(here, "OpenAPI 3.0 has no `itemSchema`"));
            }
            "examples" => examples(value, &here)?,
            "encoding" => each_value(value, &here, |encoding, ptr| {
                rebuild(encoding, |key, value| {
                    let here = pointer(ptr, key);
                    Ok(Some(match key {
                        "headers" => headers(value, &here)?,
                        _ => value,
                    }))
                })
            })?,
            _ => value,
        }))
    })
}

/// Converts a Security Scheme Object.
fn security_scheme(value: Value, ptr: &str) -> Result<Value, Error> {
    rebuild(value, |key, value| match key {
        "type" if value == "mutualTLS" => Err(unconvertible(
            pointer(ptr, key),
            "OpenAPI 3.0 has no `mutualTLS` security scheme",
        )),
        "deprecated" | "oauth2MetadataUrl" => Ok(None),
        "flows" => rebuild(value, |key, value| {
            Ok((key != "deviceAuthorization").then_some(value))
        })
        .map(Some),
        _ => Ok(Some(value)),
    })
}

/// Replaces a Reference Object's `summary` and `description` (3.1 allows them
/// beside `$ref`, 3.0 does not), or converts a non-reference with `convert`.
fn reference_or(
    value: Value,
    ptr: &str,
    convert: impl FnOnce(Value, &str) -> Result<Value, Error>,
) -> Result<Value, Error> {
    match value {
        Value::Object(mut reference) if reference.contains_key("$ref") => {
            reference.shift_remove("summary");
            reference.shift_remove("description");
            Ok(Value::Object(reference))
        }
        other => convert(other, ptr),
    }
}

/// Converts a Schema Object (see the crate documentation for the rules).
fn schema(value: Value, ptr: &str) -> Result<Value, Error> {
    let object = match value {
        Value::Bool(true) => return Ok(Value::Object(Object::new())),
        Value::Bool(false) => return Ok(json!({ "not": {} })),
        Value::Object(object) => object,
        other => return Ok(other),
    };

    let mut out = Object::with_capacity(object.len() + 1);
    // Combinators left with a single alternative once `null` was removed.
    let mut collapse = Vec::new();
    let mut base64 = false;
    let mut octet_stream = false;
    for (key, value) in object {
        let here = pointer(ptr, &key);
        match key.as_str() {
            extension if extension.starts_with("x-") => {
                out.insert(key, value);
            }
            dropped if DROPPED_SCHEMA_KEYWORDS.contains(&dropped) => {}
            "prefixItems" => {
                return Err(unconvertible(
                    here,
                    "OpenAPI 3.0 has no tuple schemas (`prefixItems`)",
                ));
            }
            "$defs" => {
                return Err(unconvertible(
                    here,
                    "OpenAPI 3.0 has no embedded definitions; move them to `components.schemas`",
                ));
            }
            "$dynamicRef" => {
                return Err(unconvertible(here, "OpenAPI 3.0 has no dynamic references"));
            }
            "contentEncoding" => base64 = value == "base64",
            "contentMediaType" => octet_stream = value == "application/octet-stream",
            "type" => type_keyword(&mut out, value),
            "nullable" => {
                // Not a 3.1 keyword, but tolerated: never undo a `nullable`
                // derived from `type` or `oneOf`.
                if value == true || out.get("nullable") != Some(&Value::Bool(true)) {
                    out.insert(key, value);
                }
            }
            "const" => {
                out.insert("enum".to_owned(), Value::Array(vec![value]));
            }
            "enum" => {
                // `const` is stricter; keep it if it came first.
                if !out.contains_key("enum") {
                    out.insert(key, value);
                }
            }
            "examples" => match value {
                Value::Array(examples) => {
                    if let Some(first) = examples.into_iter().next() {
                        out.entry("example").or_insert(first);
                    }
                }
                other => {
                    out.insert(key, other);
                }
            },
            "properties" => {
                out.insert(key, each_value(value, &here, schema)?);
            }
            "items" if value.is_array() => {
                return Err(unconvertible(
                    here,
                    "OpenAPI 3.0 has no tuple schemas (array-valued `items`)",
                ));
            }
            "items" | "not" => {
                out.insert(key, schema(value, &here)?);
            }
            "additionalProperties" if !value.is_boolean() => {
                out.insert(key, schema(value, &here)?);
            }
            "allOf" => {
                out.insert(key, each_item(value, &here, schema)?);
            }
            "oneOf" | "anyOf" => {
                let Value::Array(alternatives) = value else {
                    out.insert(key, value);
                    continue;
                };
                let mut has_null = false;
                let mut kept = Vec::with_capacity(alternatives.len());
                for (index, alternative) in alternatives.into_iter().enumerate() {
                    if is_null_schema(&alternative) {
                        has_null = true;
                    } else {
                        kept.push(schema(alternative, &pointer(&here, &index.to_string()))?);
                    }
                }
                if has_null {
                    if kept.len() == 1 {
                        collapse.push(key.clone());
                    }
                    if !kept.is_empty() {
                        out.insert(key, Value::Array(kept));
                    }
                    mark_nullable(&mut out);
                } else {
                    out.insert(key, Value::Array(kept));
                }
            }
            _ => {
                out.insert(key, value);
            }
        }
    }

    for key in collapse {
        if let Some(only) = out
            .get_mut(&key)
            .and_then(Value::as_array_mut)
            .and_then(Vec::pop)
        {
            match hoist(only, &out) {
                Ok(entries) => splice(&mut out, &key, entries),
                Err(only) => add_to_all_of(&mut out, &key, only, false),
            }
        }
    }
    split_type_union(&mut out);
    exclusive_bound(
        &mut out,
        "exclusiveMinimum",
        "minimum",
        |inclusive, exclusive| inclusive > exclusive,
    );
    exclusive_bound(
        &mut out,
        "exclusiveMaximum",
        "maximum",
        |inclusive, exclusive| inclusive < exclusive,
    );
    let format = if base64 {
        Some("byte")
    } else if octet_stream {
        Some("binary")
    } else {
        None
    };
    if let Some(format) = format
        && out.get("type").and_then(Value::as_str) == Some("string")
        && !out.contains_key("format")
    {
        let entries = vec![
            ("type".to_owned(), Value::from("string")),
            ("format".to_owned(), Value::from(format)),
        ];
        splice(&mut out, "type", entries);
    }
    wrap_ref(&mut out);
    Ok(Value::Object(out))
}

/// Writes a schema's `type` into `out`: `"null"` becomes `nullable: true`, a
/// single remaining type becomes a string, and a union stays an array (for
/// [`split_type_union`] to turn into a `oneOf`).
fn type_keyword(out: &mut Object, value: Value) {
    match value {
        Value::String(name) if name == "null" => mark_nullable(out),
        Value::Array(types) => {
            let mut nullable = false;
            let mut kept: Vec<Value> = Vec::with_capacity(types.len());
            for name in types {
                if name == "null" {
                    nullable = true;
                } else if !kept.contains(&name) {
                    kept.push(name);
                }
            }
            if kept.iter().any(|name| name == "number") {
                kept.retain(|name| name != "integer");
            }
            match kept.len() {
                0 => {}
                1 => {
                    out.insert("type".to_owned(), kept.swap_remove(0));
                }
                _ => {
                    out.insert("type".to_owned(), Value::Array(kept));
                }
            }
            if nullable {
                mark_nullable(out);
            }
        }
        other => {
            out.insert("type".to_owned(), other);
        }
    }
}

/// Turns a `type` array (a union of several non-null types) into a `oneOf`
/// with one `{type: T}` alternative per type. If the schema already has a
/// `oneOf`, that union goes into `allOf` instead.
fn split_type_union(out: &mut Object) {
    let Some(Value::Array(types)) = out.get("type") else {
        return;
    };
    let alternatives = Value::Array(types.iter().map(|name| json!({ "type": name })).collect());
    if out.contains_key("oneOf") {
        add_to_all_of(out, "type", json!({ "oneOf": alternatives }), false);
    } else {
        splice(out, "type", vec![("oneOf".to_owned(), alternatives)]);
    }
}

/// Turns a numeric (3.1) `exclusive_key` into a 3.0 `bound_key` plus
/// `exclusive_key: true`, keeping whichever bound is stricter when the schema
/// has both. `inclusive_wins(inclusive, exclusive)` tells when the inclusive
/// bound is the stricter one.
fn exclusive_bound(
    out: &mut Object,
    exclusive_key: &str,
    bound_key: &str,
    inclusive_wins: fn(f64, f64) -> bool,
) {
    let Some(Value::Number(exclusive)) = out.get(exclusive_key) else {
        return;
    };
    let exclusive = exclusive.clone();
    let inclusive = out.get(bound_key).and_then(Value::as_f64);
    if let (Some(inclusive), Some(limit)) = (inclusive, exclusive.as_f64())
        && inclusive_wins(inclusive, limit)
    {
        out.shift_remove(exclusive_key);
        return;
    }
    out.shift_remove(bound_key);
    let entries = vec![
        (bound_key.to_owned(), Value::Number(exclusive)),
        (exclusive_key.to_owned(), Value::Bool(true)),
    ];
    splice(out, exclusive_key, entries);
}

/// Keys that only annotate a schema; they may move from an alternative to its parent.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "example",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "externalDocs",
];

/// The entries of the one alternative left of a nullable `oneOf`/`anyOf`, when it is an
/// annotated `allOf` (what a documented `$ref` became) that can stand in the parent itself:
/// `{oneOf: [{allOf: [R], description: D}, null]}` → `{allOf: [R], description: D, nullable}`
/// rather than an `allOf` nested in an `allOf`. Otherwise the alternative is given back.
fn hoist(only: Value, parent: &Object) -> Result<Vec<(String, Value)>, Value> {
    let Value::Object(object) = only else {
        return Err(only);
    };
    let fits = object.contains_key("allOf")
        && !parent.contains_key("allOf")
        && object.keys().all(|key| {
            key == "allOf"
                || ((ANNOTATIONS.contains(&key.as_str()) || key.starts_with("x-"))
                    && !parent.contains_key(key))
        });
    if fits {
        Ok(object.into_iter().collect())
    } else {
        Err(Value::Object(object))
    }
}

/// Moves a `$ref` that has sibling keys into `allOf`, where 3.0 readers see it.
fn wrap_ref(out: &mut Object) {
    if out.len() < 2 {
        return;
    }
    let Some(reference) = out.get_mut("$ref").map(Value::take) else {
        return;
    };
    add_to_all_of(out, "$ref", json!({ "$ref": reference }), true);
}

/// Whether a `oneOf`/`anyOf` alternative only admits `null`.
fn is_null_schema(schema: &Value) -> bool {
    let Value::Object(object) = schema else {
        return false;
    };
    let null_type = match object.get("type") {
        Some(Value::String(name)) => name == "null",
        Some(Value::Array(names)) => !names.is_empty() && names.iter().all(|name| name == "null"),
        _ => false,
    };
    null_type
        && object.keys().all(|key| {
            matches!(key.as_str(), "type" | "title" | "description" | "$comment")
                || key.starts_with("x-")
        })
}

/// Sets `nullable: true`.
fn mark_nullable(out: &mut Object) {
    out.insert("nullable".to_owned(), Value::Bool(true));
}

/// Adds `member` to the schema's `allOf` (at the front or the back) and
/// removes `replacing`; without an `allOf`, one holding just `member` takes
/// the place of `replacing`.
fn add_to_all_of(out: &mut Object, replacing: &str, member: Value, front: bool) {
    if let Some(Value::Array(all_of)) = out.get_mut("allOf") {
        if front {
            all_of.insert(0, member);
        } else {
            all_of.push(member);
        }
        out.shift_remove(replacing);
    } else {
        splice(
            out,
            replacing,
            vec![("allOf".to_owned(), Value::Array(vec![member]))],
        );
    }
}

/// Replaces the entry `key` of `object` by `entries`, in place.
fn splice(object: &mut Object, key: &str, entries: Vec<(String, Value)>) {
    let old = std::mem::take(object);
    let mut entries = Some(entries);
    for (name, value) in old {
        if name == key {
            if let Some(entries) = entries.take() {
                object.extend(entries);
            }
        } else {
            object.insert(name, value);
        }
    }
}

/// Rebuilds an object entry by entry, in order: `convert(key, value)` gives
/// the new value, or `None` to drop the entry. Non-objects pass through.
fn rebuild(
    value: Value,
    mut convert: impl FnMut(&str, Value) -> Result<Option<Value>, Error>,
) -> Result<Value, Error> {
    let Value::Object(object) = value else {
        return Ok(value);
    };
    let mut out = Object::with_capacity(object.len());
    for (key, value) in object {
        if let Some(value) = convert(&key, value)? {
            out.insert(key, value);
        }
    }
    Ok(Value::Object(out))
}

/// Converts every value of a map whose keys are names (property names,
/// component names, media types, …).
fn each_value(
    value: Value,
    ptr: &str,
    mut convert: impl FnMut(Value, &str) -> Result<Value, Error>,
) -> Result<Value, Error> {
    rebuild(value, |key, value| {
        convert(value, &pointer(ptr, key)).map(Some)
    })
}

/// Converts every field of an extensible object (Paths, Responses, Callback)
/// except its `x-*` extensions.
fn each_field(
    value: Value,
    ptr: &str,
    mut convert: impl FnMut(Value, &str) -> Result<Value, Error>,
) -> Result<Value, Error> {
    rebuild(value, |key, value| {
        if key.starts_with("x-") {
            Ok(Some(value))
        } else {
            convert(value, &pointer(ptr, key)).map(Some)
        }
    })
}

/// Converts every item of an array. Non-arrays pass through.
fn each_item(
    value: Value,
    ptr: &str,
    mut convert: impl FnMut(Value, &str) -> Result<Value, Error>,
) -> Result<Value, Error> {
    let Value::Array(items) = value else {
        return Ok(value);
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| convert(item, &pointer(ptr, &index.to_string())))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// Appends `token` to the JSON Pointer `parent`, escaping it.
fn pointer(parent: &str, token: &str) -> String {
    format!("{parent}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// Unescapes a JSON Pointer token.
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Builds an [`Error::Unconvertible`].
fn unconvertible(pointer: String, reason: &str) -> Error {
    Error::Unconvertible {
        pointer,
        reason: reason.to_owned(),
    }
}
