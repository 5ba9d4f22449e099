//! The CRM contacts service: ONLYOFFICE's `DELETE /api/2.0/crm/contact/{contactid}` over SQLite
//! or PostgreSQL, with Swagger UI.
//!
//! `main.rs` is a thin wrapper around [`cli::run`]; tests build an [`startup::Application`]
//! directly on port 0.

pub mod actor;
pub mod auth;
pub mod cli;
pub mod contacts;
pub mod db;
pub mod deadline;
pub mod demo;
pub mod error;
pub(crate) mod json;
pub mod keycache;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub(crate) mod pictures;
pub mod pools;
pub(crate) mod reference;
pub(crate) mod routes;
pub mod startup;
mod state;
pub(crate) mod tasks;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod users;
pub(crate) mod validate;
