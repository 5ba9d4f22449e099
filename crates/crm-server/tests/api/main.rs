//! Black-box tests: each starts the real server on a random port over a fresh SQLite database and
//! drives it through `crm-client` (or raw HTTP where the test is about the HTTP itself).

#![allow(clippy::unwrap_used)]

use crm_testkit::fixtures;

mod auth;
mod bad_input;
mod concurrency;
mod consumers_regressions;
mod create;
mod delete;
mod demo;
mod helpers;
mod http;
mod keycache;
mod limits;
mod metrics;
mod parity;
mod polish;
mod processes;
mod race;
mod rate;
mod trash;
