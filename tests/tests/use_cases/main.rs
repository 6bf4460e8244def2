//! Use-case tests: each state change called directly against Postgres, without
//! HTTP (one database per test, so they run in parallel).

mod stored_enums;
