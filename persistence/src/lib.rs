//! Postgres storage for zikao-cert through Diesel 2: the schema, embedded
//! migrations, a connection pool, and repositories. Functions take a
//! `&mut PgConnection` so that callers compose them inside one transaction.

pub mod accounts;
pub mod applications;
pub mod candidates;
pub mod catalog;
pub mod enums;
pub mod error;
pub mod history;
pub mod idempotency;
pub mod local_pg;
pub mod outbox;
pub mod pool;
pub mod prior_degrees;
pub mod reports;
pub mod rounds;
pub mod schema;
pub mod signing_keys;
pub mod throttles;
pub mod visibility;

pub use error::DbError;
pub use pool::{DbPool, PooledConn};
