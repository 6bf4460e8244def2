//! Everything HTTP that is not one resource's handlers: start-up, middleware,
//! extractors, problem+json, the OpenAPI document and the route table.

pub mod client;
pub mod etag;
pub mod extract;
pub mod idempotency;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod route_table;
pub mod startup;
pub mod telemetry;
pub mod transport;
