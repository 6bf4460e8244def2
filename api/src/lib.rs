//! The zikao-cert HTTP service: actix-web routes over the `domain` rules and the
//! `persistence` storage, documented by a generated OpenAPI 3.1 document.
//!
//! Layers (see README "Architecture"): `http` (startup, middleware, extractors,
//! problem+json, OpenAPI, the route table) → `routes` (thin handlers: parse, call one
//! use case, render) → `use_cases` (one module per workflow, synchronous, one
//! transaction per state change) and `access` (the one access policy) → `domain`
//! and `persistence`.

pub mod access;
pub mod auth;
pub mod catalog_cache;
pub mod cli;
pub mod config;
pub mod http;
pub mod readiness;
pub mod routes;
pub mod state;
pub mod use_cases;
