//! The current catalogue, held in memory: catalogue reads are the hottest path on
//! deadline day, so they never touch the database. The cache is filled at start-up,
//! replaced after every import in this process, and re-checked in the background so
//! that an import made by another instance (or a database that was down at start-up)
//! is picked up within [`RECHECK_INTERVAL`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use diesel::PgConnection;
use persistence::DbError;
use persistence::catalog::CatalogVersion;

/// How often the background task compares the cached version with the database's.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(15);

/// A shared handle to the current catalogue version (cheap to clone).
#[derive(Clone, Default)]
pub struct CatalogCache {
    current: Arc<RwLock<Option<Arc<CatalogVersion>>>>,
    /// Versions other than the current one, loaded on first use (a round's pinned
    /// version). Versions never change after their import, so entries never go stale.
    pinned: Arc<RwLock<HashMap<i64, Arc<CatalogVersion>>>>,
}

/// A handle that does not keep the cache (and so its app) alive.
#[derive(Debug, Clone)]
pub struct WeakCatalogCache {
    current: std::sync::Weak<RwLock<Option<Arc<CatalogVersion>>>>,
    pinned: std::sync::Weak<RwLock<HashMap<i64, Arc<CatalogVersion>>>>,
}

impl WeakCatalogCache {
    /// The cache, while its app still holds it.
    pub fn upgrade(&self) -> Option<CatalogCache> {
        Some(CatalogCache {
            current: self.current.upgrade()?,
            pinned: self.pinned.upgrade()?,
        })
    }
}

impl CatalogCache {
    /// A handle for background work that must end with the app.
    pub fn downgrade(&self) -> WeakCatalogCache {
        WeakCatalogCache {
            current: Arc::downgrade(&self.current),
            pinned: Arc::downgrade(&self.pinned),
        }
    }

    /// The current version, or `None` when no catalogue has been imported (or it could
    /// not be loaded yet).
    pub fn current(&self) -> Option<Arc<CatalogVersion>> {
        // A poisoned lock still holds a whole Arc: the writer only swaps it.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Installs `version` unless a newer one is already cached.
    pub fn install(&self, version: CatalogVersion) {
        let mut slot = self.current.write().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|c| c.id < version.id) {
            *slot = Some(Arc::new(version));
        }
    }

    /// The catalogue version `id`, from memory when possible, otherwise loaded once
    /// from the database and kept (`NotFound` when there is no such version).
    pub fn version(
        &self,
        conn: &mut PgConnection,
        id: i64,
    ) -> Result<Arc<CatalogVersion>, DbError> {
        if let Some(current) = self.current().filter(|c| c.id == id) {
            return Ok(current);
        }
        if let Some(found) = self
            .pinned
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            return Ok(found.clone());
        }
        let loaded = Arc::new(persistence::catalog::load(conn, id)?);
        self.pinned
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id)
            .or_insert_with(|| loaded.clone());
        Ok(loaded)
    }

    /// Loads the database's current version if it differs from the cached one.
    pub fn refresh(&self, conn: &mut PgConnection) -> Result<(), DbError> {
        let cached = self.current().map(|c| c.id);
        let latest = persistence::catalog::current_version_id(conn)?;
        if latest.is_some()
            && latest != cached
            && let Some(version) = persistence::catalog::load_current(conn)?
        {
            tracing::info!(version = version.id, label = %version.catalog.label(), "catalogue loaded into memory");
            self.install(version);
        }
        Ok(())
    }
}
