//! What every handler shares, and how it runs blocking database work.

use std::sync::Arc;

use diesel::PgConnection;
use persistence::DbPool;

use crate::auth::keyring::KeyRing;
use crate::catalog_cache::CatalogCache;
use crate::http::problem::ApiError;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: DbPool,
    /// The signing keys (access tokens, decision documents).
    pub keys: Arc<KeyRing>,
    /// Sessions revoked recently (kept current by a LISTEN thread).
    pub revocations: Arc<crate::auth::revocation::Revocations>,
    /// `TRUSTED_PROXIES`: whose `X-Forwarded-For` names the client address.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// The current catalogue, in memory (catalogue reads never hit the database).
    pub catalog: CatalogCache,
    /// Whether this instance can serve (migrated, catalogue loaded, database up).
    pub readiness: Arc<crate::readiness::Readiness>,
}

impl AppState {
    /// Runs `work` with a pooled connection on the blocking thread pool, so that
    /// Diesel never blocks the async workers.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool
                .get()
                .map_err(|e| ApiError::unavailable(e.to_string()))?;
            work(&mut conn)
        })
        .await?
    }

    /// Runs the request's one state change. For a POST with an `Idempotency-Key`
    /// it runs in the transaction that claims the key, which the idempotency
    /// middleware commits with the answer ([`crate::http::idempotency`]);
    /// otherwise as [`AppState::db`] (the use case commits its own transaction).
    pub async fn change<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        match crate::http::idempotency::pending() {
            None => self.db(work).await,
            Some(pending) => {
                let pool = self.pool.clone();
                actix_web::web::block(move || pending.run(&pool, work)).await?
            }
        }
    }
}
