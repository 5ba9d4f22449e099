//! Request bodies of the create endpoints, and the objects only they return.
//!
//! Every request type rejects unknown properties, so a misspelt property is an error rather
//! than silently ignored. Length limits are part of the schemas.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{FieldType, InfoType, ShareType};

/// Longest accepted name, title, label, tag or info value, in characters.
pub const MAX_NAME: usize = 255;
/// Longest accepted free text (`About`, `Description`, custom-field values and masks).
pub const MAX_TEXT: usize = 10_000;
/// Most entries accepted in one nested collection of a new contact.
pub const MAX_ITEMS: usize = 100;

/// The `pattern` of every optional text of a request: any characters but U+0000, which
/// PostgreSQL cannot store (so neither backend accepts it: a 400 naming the property). Every
/// other character, control characters included, is stored as it is sent. The
/// `#[schema(pattern)]` attributes repeat it as a literal; a test checks that every text of
/// every request carries it or [`NOT_BLANK_PATTERN`].
pub const TEXT_PATTERN: &str = r"^[^\u0000]*$";

/// The `pattern` of every text that must not be blank: no U+0000 (as [`TEXT_PATTERN`]) and at
/// least one character that is not white space, white space being exactly what `str::trim`
/// removes (Unicode `White_Space`). The class is spelt out rather than written `\s`, because `\s`
/// means a different set in ECMAScript, Python and Rust regular expressions. The
/// `#[schema(pattern)]` attributes repeat it as a literal; a test checks that they agree.
pub const NOT_BLANK_PATTERN: &str = r"^[^\u0000]*[^\u0000\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$";

/// The schema of `Tags`: an array of tag titles, each not blank and at most [`MAX_NAME`]
/// characters long.
fn tag_titles() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_NAME))
                .pattern(Some(NOT_BLANK_PATTERN)),
        )
        .max_items(Some(MAX_ITEMS))
        .description(Some(
            "Tag titles (each not blank, at most 255 characters); a tag is created on first use.",
        ))
        .examples([vec!["vip", "partner"]])
        .build()
}

/// Declares a new-contact request: the given fields, then every field persons and companies
/// share. (Both are flat JSON objects that reject unknown properties, which `#[serde(flatten)]`
/// cannot express.)
macro_rules! new_contact {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }
    ) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
        $(#[$meta])*
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Free-text background information.
            #[serde(default)]
            #[schema(max_length = 10000, pattern = r"^[^\u0000]*$", example = "Met at the Berlin trade fair.")]
            pub about: String,
            /// The industry the contact works in.
            #[serde(default)]
            #[schema(max_length = 255, pattern = r"^[^\u0000]*$", example = "Logistics")]
            pub industry: String,
            /// ID of a contact status (`GET /api/2.0/crm/contact/status`).
            #[serde(default)]
            #[schema(format = Int32, example = 2)]
            pub contact_status_id: Option<i32>,
            /// ID of a contact type (`GET /api/2.0/crm/contact/type`).
            #[serde(default)]
            #[schema(format = Int32, example = 4)]
            pub contact_type_id: Option<i32>,
            /// ISO 4217 code of a currency (`GET /api/2.0/crm/settings/currency`).
            #[serde(default)]
            #[schema(example = "EUR", min_length = 3, max_length = 3, pattern = r"^[^\u0000]*$")]
            pub currency: Option<String>,
            /// How the contact is shared; ReadWrite (1) when absent.
            #[serde(default)]
            pub share_type: ShareType,
            /// IDs of the users the contact is explicitly shared with.
            #[serde(default, deserialize_with = "hyphenated_uuids")]
            #[schema(max_items = 100)]
            pub access_list: Vec<Uuid>,
            /// Phones, emails, websites, social profiles…
            #[serde(default)]
            #[schema(max_items = 100)]
            pub common_data: Vec<NewContactInfo>,
            /// Postal addresses.
            #[serde(default)]
            #[schema(max_items = 100)]
            pub addresses: Vec<NewAddress>,
            /// Values of custom fields defined for this kind of contact.
            #[serde(default)]
            #[schema(max_items = 100)]
            pub custom_fields: Vec<CustomFieldValue>,
            /// Tag titles (each not blank, at most 255 characters); a tag is created on first use.
            #[serde(default)]
            #[schema(schema_with = tag_titles)]
            pub tags: Vec<String>,
        }
    };
}

new_contact! {
    /// A new person.
    NewPerson {
        /// First name (required, not blank).
        #[schema(min_length = 1, max_length = 255, pattern = r"^[^\u0000]*[^\u0000\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$", example = "Jane")]
        first_name: String,
        /// Last name.
        #[serde(default)]
        #[schema(max_length = 255, pattern = r"^[^\u0000]*$", example = "Doe")]
        last_name: String,
        /// Job title.
        #[serde(default)]
        #[schema(max_length = 255, pattern = r"^[^\u0000]*$", example = "Head of purchasing")]
        job_title: String,
        /// ID of the company the person works for.
        #[serde(default)]
        #[schema(format = Int32, example = 7)]
        company_id: Option<i32>,
    }
}

new_contact! {
    /// A new company.
    NewCompany {
        /// The company's name (required, not blank).
        #[schema(min_length = 1, max_length = 255, pattern = r"^[^\u0000]*[^\u0000\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$", example = "Northwind Traders")]
        company_name: String,
    }
}

/// A contact info of a new contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NewContactInfo {
    /// The kind of info (not Address: addresses go in `Addresses`).
    pub info_type: InfoType,
    /// The category: for phones 0 Home, 1 Work, 2 Mobile, 3 Fax, 4 Direct, 5 Other; for every
    /// other kind 0 Home, 1 Work, 2 Other (3 to 5 are then answered with 422).
    #[serde(default)]
    #[schema(format = Int32, minimum = 0, maximum = 5, example = 1)]
    pub category: i32,
    /// The value (required, not blank).
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000]*[^\u0000\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$",
        example = "jane.doe@example.com"
    )]
    pub data: String,
    /// Whether this is the contact's primary info of its kind.
    #[serde(default)]
    pub is_primary: bool,
}

/// A postal address of a new contact.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NewAddress {
    /// Street and house number.
    #[serde(default)]
    #[schema(
        max_length = 255,
        pattern = r"^[^\u0000]*$",
        example = "12 Harbour Road"
    )]
    pub street: String,
    /// City.
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$", example = "Riga")]
    pub city: String,
    /// State or region.
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$", example = "")]
    pub state: String,
    /// Postal code.
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$", example = "LV-1010")]
    pub zip: String,
    /// Country.
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$", example = "Latvia")]
    pub country: String,
    /// Category: 0 Home, 1 Postal, 2 Office, 3 Billing, 4 Other, 5 Work.
    #[serde(default)]
    #[schema(format = Int32, minimum = 0, maximum = 5, example = 2)]
    pub category: i32,
    /// Whether this is the contact's primary address.
    #[serde(default)]
    pub is_primary: bool,
}

/// A new contact's value of a custom field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CustomFieldValue {
    /// ID of a custom field defined for this kind of contact (not a heading).
    #[schema(format = Int32, example = 3)]
    pub field_id: i32,
    /// The value.
    #[schema(max_length = 10000, pattern = r"^[^\u0000]*$", example = "2019-05-01")]
    pub value: String,
}

/// A new contact status or contact type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NewListItem {
    /// The title (required, not blank, unique in its list).
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000]*[^\u0000\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$",
        example = "Lost"
    )]
    pub title: String,
    /// A description.
    #[serde(default)]
    #[schema(max_length = 10000, pattern = r"^[^\u0000]*$", example = "")]
    pub description: String,
    /// A colour, as a CSS hex colour (`#b0b0b0`); kept as sent.
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$", example = "#b0b0b0")]
    pub color: String,
    /// Position in the list; after the last item when absent.
    #[serde(default)]
    #[schema(format = Int32, example = 3)]
    pub sort_order: Option<i32>,
}

/// A new custom-field definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NewCustomField {
    /// The label (required, not blank).
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000]*[^\u0000\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$",
        example = "Customer since"
    )]
    pub label: String,
    /// The kind of field.
    pub field_type: FieldType,
    /// The mask, e.g. the options of a select box as a JSON array.
    #[serde(default)]
    #[schema(max_length = 10000, pattern = r"^[^\u0000]*$", example = "")]
    pub mask: String,
    /// Position in the form; after the last field when absent.
    #[serde(default)]
    #[schema(format = Int32, example = 0)]
    pub position: Option<i32>,
}

/// A custom-field definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CustomFieldDefinition {
    /// The definition's ID.
    #[serde(rename = "ID")]
    #[schema(format = Int32, example = 3)]
    pub id: i32,
    /// The label.
    #[schema(example = "Customer since")]
    pub label: String,
    /// The kind of field.
    pub field_type: FieldType,
    /// The mask.
    #[schema(example = "")]
    pub mask: String,
    /// Position in the form.
    #[schema(format = Int32, example = 0)]
    pub position: i32,
    /// The kind of contact it is defined for: `contact` (all), `person` or `company`.
    #[schema(example = "person")]
    pub entity_type: String,
}

/// A new task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NewTask {
    /// The title (required, not blank).
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000]*[^\u0000\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$",
        example = "Call back about the offer"
    )]
    pub title: String,
    /// ID of the contact the task is about.
    #[schema(format = Int32, example = 42)]
    pub contact_id: i32,
    /// When the task is due: an RFC 3339 time whose year, in UTC, is 0000 through 9999 (else a
    /// 400). Kept to the microsecond; a leap second (`23:59:60`) is kept as the second after it.
    #[serde(default, deserialize_with = "rfc3339")]
    pub deadline: Option<DateTime<Utc>>,
    /// Whether the task is done.
    #[serde(default)]
    pub is_closed: bool,
}

/// `text` quoted for an error message as a JSON string (`"a\"b\u0001"`), cut after 40
/// characters (an error does not echo a megabyte back).
pub fn quoted(text: &str) -> String {
    let start: String = text.chars().take(40).collect();
    let json = serde_json::Value::String(start).to_string();
    if text.chars().nth(40).is_some() {
        json + "…"
    } else {
        json
    }
}

/// UUIDs written as the schema's `uuid` format has them, `8-4-4-4-12` hexadecimal digits: the
/// `uuid` crate also takes them braced, as URNs and without hyphens. An error names the item
/// (`AccessList[2]`).
fn hyphenated_uuids<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Uuid>, D::Error> {
    struct Hyphenated(Uuid);

    impl<'de> Deserialize<'de> for Hyphenated {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let text = String::deserialize(deserializer)?;
            uuid::fmt::Hyphenated::from_str(&text)
                .map(|uuid| Self(uuid.into()))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "{} is not a UUID written 8-4-4-4-12 hexadecimal digits",
                        quoted(&text)
                    ))
                })
        }
    }

    Ok(Vec::<Hyphenated>::deserialize(deserializer)?
        .into_iter()
        .map(|Hyphenated(uuid)| uuid)
        .collect())
}

/// An optional time written as RFC 3339's `date-time` has it (two-digit month, day, hour,
/// minute and second; four-digit year; `T` between the date and the time): chrono's own
/// parsing also takes a space there, which the schema's `date-time` format does not.
fn rfc3339<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| {
            let not = |why: &dyn std::fmt::Display| {
                serde::de::Error::custom(format!(
                    "{} is not an RFC 3339 time: {why}",
                    quoted(&text)
                ))
            };
            let time = DateTime::parse_from_rfc3339(&text).map_err(|error| not(&error))?;
            // Parsed, so the date is the ten bytes `YYYY-MM-DD` and the separator follows.
            if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
                return Err(not(&"a `T` must separate the date and the time"));
            }
            Ok(time.with_timezone(&Utc))
        })
        .transpose()
}

/// A task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    /// The task's ID.
    #[serde(rename = "ID")]
    #[schema(format = Int32, example = 5)]
    pub id: i32,
    /// The title.
    #[schema(example = "Call back about the offer")]
    pub title: String,
    /// ID of the contact the task is about.
    #[schema(format = Int32, example = 42)]
    pub contact_id: i32,
    /// When the task is due, or `null`.
    #[schema(required = true)]
    pub deadline: Option<DateTime<Utc>>,
    /// Whether the task is done.
    pub is_closed: bool,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use utoipa::PartialSchema;

    #[test]
    fn quoted_texts_are_json_strings_of_at_most_40_characters() {
        assert_eq!(super::quoted("plain"), r#""plain""#);
        // JSON's escapes, not Rust's (`\u{1}`): a client reads the message as it reads JSON.
        assert_eq!(super::quoted("\u{1}\"x\\"), r#""\u0001\"x\\""#);
        assert_eq!(super::quoted("i\u{307}\u{202e}"), "\"i\u{307}\u{202e}\"");
        let long = "é".repeat(41);
        assert_eq!(super::quoted(&long), format!("\"{}\"…", "é".repeat(40)));
        assert_eq!(
            super::quoted(&long[..80]),
            format!("\"{}\"", "é".repeat(40))
        );
    }

    use super::*;

    /// The white space `str::trim` removes (Unicode `White_Space`), as the inside of a regular
    /// expression's character class. Spelt out rather than written `\s`, because `\s` means a
    /// different set in ECMAScript, Python and Rust regular expressions.
    const WHITE_SPACE_CLASS: &str =
        r"\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

    /// The characters [`WHITE_SPACE_CLASS`] lists.
    fn listed_characters() -> BTreeSet<char> {
        let class = WHITE_SPACE_CLASS;
        let mut singles = Vec::new();
        let mut chars = class.chars().peekable();
        while let Some(c) = chars.next() {
            let single = if c == '\\' {
                match chars.next() {
                    Some('t') => '\t',
                    Some('n') => '\n',
                    Some('f') => '\u{c}',
                    Some('r') => '\r',
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).collect();
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .unwrap_or_default()
                    }
                    other => panic!("unexpected escape {other:?}"),
                }
            } else {
                c
            };
            singles.push(single);
        }
        // `a-b` ranges: a `-` between two listed characters.
        let mut listed = BTreeSet::new();
        let mut i = 0;
        while i < singles.len() {
            if singles.get(i + 1) == Some(&'-') && i + 2 < singles.len() {
                listed.extend(singles[i]..=singles[i + 2]);
                i += 3;
            } else {
                listed.insert(singles[i]);
                i += 1;
            }
        }
        listed
    }

    #[test]
    fn not_blank_pattern_excludes_exactly_what_trim_removes() {
        let whitespace: BTreeSet<char> = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        assert_eq!(listed_characters(), whitespace);
        assert_eq!(
            NOT_BLANK_PATTERN,
            format!(r"^[^\u0000]*[^\u0000{WHITE_SPACE_CLASS}][^\u0000]*$")
        );
    }

    /// The `pattern` of every schema of a text (`type` string or [string, null], no `format`)
    /// inside `value`; `None` for a text without one.
    fn text_patterns(value: &serde_json::Value, found: &mut Vec<Option<String>>) {
        match value {
            serde_json::Value::Object(object) => {
                let is_text = match object.get("type") {
                    Some(serde_json::Value::String(kind)) => kind == "string",
                    Some(serde_json::Value::Array(kinds)) => kinds.iter().any(|k| k == "string"),
                    _ => false,
                };
                if is_text && !object.contains_key("format") {
                    found.push(
                        object
                            .get("pattern")
                            .and_then(|p| p.as_str())
                            .map(str::to_owned),
                    );
                }
                object.values().for_each(|v| text_patterns(v, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| text_patterns(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_text_of_every_request_carries_a_pattern() {
        // (schema, texts, required texts): each required text and each tag title is not blank.
        let schemas = [
            ("NewPerson", serde_json::to_value(NewPerson::schema()), 7, 2),
            (
                "NewCompany",
                serde_json::to_value(NewCompany::schema()),
                5,
                2,
            ),
            (
                "NewContactInfo",
                serde_json::to_value(NewContactInfo::schema()),
                1,
                1,
            ),
            (
                "NewAddress",
                serde_json::to_value(NewAddress::schema()),
                5,
                0,
            ),
            (
                "CustomFieldValue",
                serde_json::to_value(CustomFieldValue::schema()),
                1,
                0,
            ),
            (
                "NewListItem",
                serde_json::to_value(NewListItem::schema()),
                3,
                1,
            ),
            (
                "NewCustomField",
                serde_json::to_value(NewCustomField::schema()),
                2,
                1,
            ),
            ("NewTask", serde_json::to_value(NewTask::schema()), 1, 1),
        ];
        for (name, schema, texts, required) in schemas {
            let mut found = Vec::new();
            text_patterns(&schema.unwrap_or_default(), &mut found);
            assert_eq!(found.len(), texts, "{name}: {found:?}");
            let not_blank = found
                .iter()
                .filter(|p| p.as_deref() == Some(NOT_BLANK_PATTERN))
                .count();
            let text = found
                .iter()
                .filter(|p| p.as_deref() == Some(TEXT_PATTERN))
                .count();
            assert_eq!(not_blank, required, "{name}: {found:?}");
            assert_eq!(text, texts - required, "{name}: {found:?}");
        }
    }
}
