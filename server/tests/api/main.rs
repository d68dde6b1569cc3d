//! HTTP tests: the real server on port 0 with a fresh database per test, on
//! SQLite and on PostgreSQL (`TEST_POSTGRES_URL`).

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is the test
// failing, with its place.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod helpers;

mod auth;
mod cli;
mod contract;
mod differential;
mod fuzz;
mod groups;
mod hardening;
mod insights;
mod isolation;
mod lookalike;
mod manage;
mod matrix;
mod segments;
mod spark;
mod system;
mod uploads;
mod warehouse;
mod warehouse_table;
