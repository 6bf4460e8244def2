//! Whether this instance can serve correctly: migrations applied, the catalogue
//! loaded into memory, and the database answering now.
//!
//! The database is probed on a connection of its own, not one of the pool: a pool
//! busy with deadline-day traffic is not an unreachable database, and a load
//! balancer must not take a busy instance out of rotation for it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::{Connection, PgConnection, RunQueryDsl};

/// The readiness of this instance.
pub struct Readiness {
    url: String,
    migrated: AtomicBool,
    catalogue: AtomicBool,
    probe: Mutex<Option<PgConnection>>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.debug_struct("Readiness")
            .field("migrated", &self.migrated.load(Ordering::Relaxed))
            .field("catalogue", &self.catalogue.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// `url` with a connect timeout of 2 s unless it names one.
pub(crate) fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&connect_timeout=2")
    } else {
        format!("{url}?connect_timeout=2")
    }
}

impl Readiness {
    /// Not ready yet, for the database at `url`.
    pub fn new(url: &str) -> Self {
        Self {
            url: with_connect_timeout(url),
            migrated: AtomicBool::new(false),
            catalogue: AtomicBool::new(false),
            probe: Mutex::new(None),
        }
    }

    /// Every migration is applied.
    pub fn set_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }

    /// The cache holds the database's current catalogue (or knows there is none).
    pub fn set_catalogue_loaded(&self) {
        self.catalogue.store(true, Ordering::Release);
    }

    /// Whether start-up finished: migrated and the catalogue loaded.
    pub fn started(&self) -> bool {
        self.migrated.load(Ordering::Acquire) && self.catalogue.load(Ordering::Acquire)
    }

    /// A direct connection to the database (not from the pool), for start-up work.
    pub fn connect(&self) -> Result<PgConnection, String> {
        PgConnection::establish(&self.url).map_err(|e| e.to_string())
    }

    /// `Ok` when ready to serve; otherwise why not (for the log, never the body).
    /// Blocking: call it off the async workers.
    pub fn check(&self) -> Result<(), String> {
        if !self.migrated.load(Ordering::Acquire) {
            return Err("migrations not applied yet".into());
        }
        if !self.catalogue.load(Ordering::Acquire) {
            return Err("catalogue not loaded yet".into());
        }
        let mut probe = self.probe.lock().unwrap_or_else(|e| e.into_inner());
        let mut conn = match probe.take() {
            Some(conn) => conn,
            None => self.connect()?,
        };
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .map_err(|e| e.to_string())?;
        *probe = Some(conn);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_never_waits_long_for_a_connection() {
        assert_eq!(
            with_connect_timeout("postgres://u@h/db"),
            "postgres://u@h/db?connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?host=/run"),
            "postgres://u@h/db?host=/run&connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?connect_timeout=9"),
            "postgres://u@h/db?connect_timeout=9"
        );
    }

    #[test]
    fn not_ready_before_migrations_and_the_catalogue() {
        let r = Readiness::new("postgres://nobody@localhost/none?host=/nonexistent");
        assert_eq!(r.check().unwrap_err(), "migrations not applied yet");
        r.set_migrated();
        assert_eq!(r.check().unwrap_err(), "catalogue not loaded yet");
        r.set_catalogue_loaded();
        assert!(r.started());
        assert!(r.check().is_err(), "an unreachable database is not ready");
    }
}
