//! Use-case tests: each state change called directly against Postgres, without
//! HTTP (one database per test, so they run in parallel).

mod accounts;
mod applications;
mod candidate_import;
mod catalogue;
mod outbox;
mod prior_degrees;
mod reviews;
mod rounds;
mod stored_enums;
mod support;
