//! Use-case tests: each state change called directly against Postgres, without
//! HTTP (one database per test, so they run in parallel).

mod accounts;
mod applications;
mod prior_degrees;
mod reviews;
mod stored_enums;
mod support;
