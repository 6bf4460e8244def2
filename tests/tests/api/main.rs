//! End-to-end tests over HTTP against a real Postgres (see `tests/src/lib.rs`).

mod accounts;
mod applications;
mod catalog;
mod courses;
mod errors;
mod health;
mod idempotency;
mod openapi;
mod schema;
