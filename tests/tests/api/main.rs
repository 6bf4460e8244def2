//! End-to-end tests over HTTP against a real Postgres (see `tests/src/lib.rs`).

mod accounts;
mod admin_catalog;
mod applications;
mod authorization;
mod catalog;
mod choices;
mod courses;
mod errors;
mod health;
mod idempotency;
mod integration;
mod openapi;
mod prior_degrees;
mod reports;
mod schema;
mod staff;
