//! The zikao-cert HTTP service: actix-web routes over the `domain` rules and the
//! `persistence` storage, documented by a generated OpenAPI 3.1 document.

pub mod auth;
pub mod catalog_cache;
pub mod catalog_import;
pub mod cli;
pub mod config;
pub mod etag;
pub mod extract;
pub mod idempotency;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
