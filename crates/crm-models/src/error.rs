//! The one error body of the API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response (4xx and 5xx).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Error {
    /// The HTTP status code, repeated.
    #[schema(example = 404, format = Int32)]
    pub status: u16,
    /// A stable, machine-readable code, e.g. `contact_not_found`.
    #[schema(example = "contact_not_found")]
    pub code: String,
    /// A human-readable explanation, at most 500 characters (a longer one is cut and ends with
    /// `…`).
    #[schema(example = "No contact with ID 42 exists.")]
    pub message: String,
}

impl Error {
    /// Builds an error body.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The state of the service, from `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// `ok` when the service can serve requests, `unavailable` otherwise.
    #[schema(example = "ok")]
    pub status: String,
    /// `up` when a query to the database succeeded just now, `down` otherwise.
    #[schema(example = "up")]
    pub database: String,
}
