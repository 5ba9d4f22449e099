//! What the tests and the benchmark share, so that each exists once: scratch databases
//! ([`scratch`]), `crm-server` processes ([`process`]), rows put in place through the server's
//! data layer ([`seed`] for the benchmark's thousands of contacts, [`fixtures`] for the tests'
//! hand-made ones), and the counting queries ([`count`], [`orphans`]).
//!
//! The database entities are private to `crm-server`; its `testkit` feature, which only this
//! crate enables, lends them here ([`entities`]).

#![allow(clippy::unwrap_used)]

pub mod fixtures;
pub mod process;
pub mod scratch;
pub mod seed;
mod sql;

pub use crm_server::testkit::entities;
pub use sql::{count, orphans};
