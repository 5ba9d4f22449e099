//! The CRM contacts service: ONLYOFFICE's `DELETE /api/2.0/crm/contact/{contactid}` over SQLite
//! or PostgreSQL, with Swagger UI.
//!
//! `main.rs` is a thin wrapper around [`cli::run`]; tests build an [`startup::Application`]
//! directly on port 0.

pub mod auth;
pub mod cli;
pub mod contacts;
pub mod db;
pub mod demo;
pub mod error;
pub mod json;
pub mod openapi;
pub mod pictures;
pub mod reference;
pub mod routes;
pub mod startup;
pub mod tasks;
pub mod users;
pub mod validate;
