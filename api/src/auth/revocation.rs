//! Revoked sessions, known to every instance within a second (API.md "Sign-in
//! abuse"): an access token names its session (`sid`, the refresh-token family);
//! logout, refresh-token reuse, a password change or reset and a new
//! service-account secret revoke families, and a token of a revoked family is
//! refused with 401 `auth.revoked` although its signature and expiry are good.
//!
//! Each instance keeps the families revoked within an access token's lifetime in
//! memory (the check on every authenticated request is one hash lookup under a
//! read lock). The transaction that revokes announces the account on the
//! `zikao_revocations` channel (NOTIFY, delivered at commit); a listener thread
//! on a connection of its own polls for those every 50 ms and loads that
//! account's revoked families. On start and after every reconnect it loads all
//! of them, so nothing said while it was away is missed. The same thread hears of
//! key rotations (`zikao_keys`) and reloads the listed keys
//! ([`super::keyring::KeyRing::reload`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use persistence::accounts::{self, REVOCATION_CHANNEL};
use persistence::signing_keys::KEYS_CHANNEL;

use super::keyring::KeyRing;
use uuid::Uuid;

/// How often the listener looks for announcements.
const POLL: Duration = Duration::from_millis(50);
/// How often the listener checks that its connection is alive and forgets
/// sessions whose access tokens have all expired.
const HEALTH: Duration = Duration::from_secs(10);

/// The sessions revoked recently, by family id, with when.
#[derive(Debug, Default)]
pub struct Revocations {
    sessions: RwLock<HashMap<Uuid, DateTime<Utc>>>,
}

/// How long a revoked session must be remembered: an access token of it may
/// have been issued up to the revocation and lives this long (plus a minute of
/// clock skew between instances and the database).
fn remembered() -> TimeDelta {
    TimeDelta::seconds(super::ACCESS_TOKEN_SECONDS) + TimeDelta::minutes(1)
}

impl Revocations {
    /// Whether the session `sid` was revoked.
    pub fn is_revoked(&self, sid: Uuid) -> bool {
        let sessions = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        sessions.contains_key(&sid)
    }

    /// Remembers revoked sessions.
    pub fn add(&self, revoked: impl IntoIterator<Item = (Uuid, DateTime<Utc>)>) {
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        sessions.extend(revoked);
    }

    /// Forgets sessions revoked so long ago that none of their tokens is valid.
    pub fn prune(&self, now: DateTime<Utc>) {
        let cutoff = now - remembered();
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, at| *at > cutoff);
    }

    /// How many sessions are remembered.
    pub fn len(&self) -> usize {
        self.sessions.read().map_or(0, |s| s.len())
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Starts the listener for the database at `url`; it ends when `revocations`
/// is dropped.
pub fn spawn_listener(url: &str, revocations: &Arc<Revocations>, keys: &Arc<KeyRing>) {
    let url = crate::readiness::with_connect_timeout(url);
    let weak = Arc::downgrade(revocations);
    let keys = Arc::downgrade(keys);
    let spawned = std::thread::Builder::new()
        .name("revocations".into())
        .spawn(move || listen(&url, &weak, &keys));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the revocation listener");
    }
}

fn listen(url: &str, weak: &Weak<Revocations>, keys: &Weak<KeyRing>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        if weak.strong_count() == 0 {
            return;
        }
        match listen_once(url, weak, keys) {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "revocation listener lost its connection; reconnecting");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Listens on one connection until it fails (`Err`) or the app is gone (`Ok`).
fn listen_once(url: &str, weak: &Weak<Revocations>, keys: &Weak<KeyRing>) -> Result<(), String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    for channel in [REVOCATION_CHANNEL, KEYS_CHANNEL] {
        diesel::sql_query(format!("LISTEN {channel}"))
            .execute(&mut conn)
            .map_err(|e| e.to_string())?;
    }
    // Listening first, then loading: nothing falls between the two.
    let all = accounts::revoked_sessions(&mut conn, None, Utc::now() - remembered())
        .map_err(|e| e.to_string())?;
    match weak.upgrade() {
        Some(revocations) => revocations.add(all),
        None => return Ok(()),
    }
    let mut checked = Instant::now();
    loop {
        let Some(revocations) = weak.upgrade() else {
            return Ok(());
        };
        let mut announced = Vec::new();
        let mut rotated = false;
        for notification in conn.notifications_iter() {
            let notification = notification.map_err(|e| e.to_string())?;
            if notification.channel == KEYS_CHANNEL {
                rotated = true;
            } else if let Ok(account) = notification.payload.parse::<Uuid>() {
                announced.push(account);
            }
        }
        if rotated && let Some(keys) = keys.upgrade() {
            keys.reload(&mut conn).map_err(|e| e.to_string())?;
        }
        announced.sort_unstable();
        announced.dedup();
        for account in announced {
            let since = Utc::now() - remembered();
            let revoked = accounts::revoked_sessions(&mut conn, Some(account), since)
                .map_err(|e| e.to_string())?;
            revocations.add(revoked);
        }
        if checked.elapsed() >= HEALTH {
            diesel::sql_query("SELECT 1")
                .execute(&mut conn)
                .map_err(|e| e.to_string())?;
            revocations.prune(Utc::now());
            checked = Instant::now();
        }
        drop(revocations);
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_sessions_are_known_until_their_tokens_have_expired() {
        let r = Revocations::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let now = Utc::now();
        r.add([(a, now), (b, now - TimeDelta::minutes(17))]);
        assert!(r.is_revoked(a) && r.is_revoked(b));
        assert!(!r.is_revoked(Uuid::now_v7()));
        r.prune(now);
        assert!(r.is_revoked(a));
        assert!(!r.is_revoked(b), "every token of b has expired");
        assert_eq!(r.len(), 1);
    }
}
