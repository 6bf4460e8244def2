//! Use-case tests: each state change called directly against Postgres, without
//! HTTP (one database per test, so they run in parallel).

mod applications;
mod reviews;
mod stored_enums;
mod support;
