//! Checks of request fields; each failure is a 400 whose message starts with the field's path.

use chrono::{DateTime, Datelike, Utc};

use crate::error::ApiError;

/// A required text: not blank, at most `max` characters.
pub fn required(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_field(
            field,
            "is required and must not be blank",
        ));
    }
    optional(field, value, max)
}

/// An optional text: at most `max` characters.
pub fn optional(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let length = value.chars().count();
    if length > max {
        return Err(ApiError::invalid_field(
            field,
            format!("is {length} characters long; the limit is {max}"),
        ));
    }
    Ok(())
}

/// An optional time that RFC 3339 can write: years 0000 through 9999 (its `date-fullyear` is four
/// digits). Later and earlier years would also compare wrongly on SQLite, which keeps times as
/// text.
pub fn rfc3339_time(field: &str, value: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match value {
        Some(time) if !(0..=9999).contains(&time.year()) => Err(ApiError::invalid_field(
            field,
            format!(
                "in UTC, the year {} is outside RFC 3339's 0000 through 9999",
                time.year()
            ),
        )),
        _ => Ok(()),
    }
}

/// A collection of at most `max` entries.
pub fn items(field: &str, len: usize, max: usize) -> Result<(), ApiError> {
    if len > max {
        return Err(ApiError::invalid_field(
            field,
            format!("has {len} entries; the limit is {max}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), ApiError>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(
            message(required("FirstName", "  ", 5)),
            "FirstName: is required and must not be blank"
        );
        assert_eq!(
            message(optional("Zip", "123456", 5)),
            "Zip: is 6 characters long; the limit is 5"
        );
        assert_eq!(
            message(items("Tags", 3, 2)),
            "Tags: has 3 entries; the limit is 2"
        );
        assert!(required("A", "é", 1).is_ok());
    }
}
