//! The connection pool and the migrations.

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::{RunQueryDsl, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::DbError;

/// The migrations in `persistence/migrations`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// A pool of Postgres connections.
pub type DbPool = Pool<ConnectionManager<PgConnection>>;
/// One connection taken from the pool.
pub type PooledConn = PooledConnection<ConnectionManager<PgConnection>>;

/// Any number that no other application on the server uses for an advisory lock.
const MIGRATION_LOCK_KEY: i64 = 0x7a696b616f; // "zikao"

/// Builds a pool; it does not wait for the database (readiness reports it).
pub fn build_pool(database_url: &str, max_size: u32) -> DbPool {
    Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(true)
        .build_unchecked(ConnectionManager::<PgConnection>::new(database_url))
}

/// Runs pending migrations under a session advisory lock, so that several
/// instances starting at once migrate exactly once.
pub fn run_migrations(conn: &mut PgConnection) -> Result<usize, DbError> {
    sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")).execute(conn)?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| DbError::Other(format!("migration failed: {e}")));
    sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(conn)?;
    result
}

/// True when the database answers and has every migration applied.
pub fn is_ready(conn: &mut PgConnection) -> Result<bool, DbError> {
    sql_query("SELECT 1").execute(conn)?;
    conn.has_pending_migration(MIGRATIONS)
        .map(|pending| !pending)
        .map_err(|e| DbError::Other(e.to_string()))
}
