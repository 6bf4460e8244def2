//! What every handler shares, and how it runs blocking database work.

use diesel::PgConnection;
use persistence::DbPool;

use crate::catalog_cache::CatalogCache;
use crate::problem::ApiError;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: DbPool,
    /// The current catalogue, in memory (catalogue reads never hit the database).
    pub catalog: CatalogCache,
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
}
