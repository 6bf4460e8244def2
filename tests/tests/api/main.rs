//! End-to-end tests over HTTP against a real Postgres (see `tests/src/lib.rs`).

mod accounts;
mod courses;
mod errors;
mod health;
mod integration;
mod openapi;
mod staff;
