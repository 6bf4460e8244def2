//! The signing keys of the service (API.md "Keys"): access tokens (`typ: at+jwt`)
//! and decision documents (`typ: zikao-decision+jwt`) are signed with different
//! Ed25519 keys, so a verifier that checks only the signature cannot take one for
//! the other. The keys live in Postgres (`signing_keys`), shared by every
//! instance; `zikao-cert keys rotate` retires the current ones and makes new
//! ones. An instance signs with the keys current when it started; it verifies
//! with, and publishes in the JWK set, every key that is current or was retired
//! less than one lifetime of what it signed ago (access tokens 15 minutes,
//! decision documents a year), and hears of rotations by NOTIFY.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::PgConnection;
use persistence::DbError;
use persistence::signing_keys::{self, KeyRow};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{Jwks, JwtKeys};

/// What a key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Access tokens.
    Access,
    /// Decision documents.
    Decision,
}

/// How long a decision document is valid (its `exp`); re-fetch for a fresh one.
pub const DECISION_LIFETIME_DAYS: i64 = 365;

impl Purpose {
    /// Both purposes.
    pub const ALL: [Purpose; 2] = [Purpose::Access, Purpose::Decision];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Access => "access",
            Purpose::Decision => "decision",
        }
    }

    fn parse(text: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// The JWS header `typ` of what it signs.
    pub fn typ(self) -> &'static str {
        match self {
            Purpose::Access => "at+jwt",
            Purpose::Decision => "zikao-decision+jwt",
        }
    }

    /// How long a retired key keeps verifying: the lifetime of what it signed,
    /// plus a minute of clock skew.
    fn kept(self) -> TimeDelta {
        let lifetime = match self {
            Purpose::Access => TimeDelta::seconds(super::ACCESS_TOKEN_SECONDS),
            Purpose::Decision => TimeDelta::days(DECISION_LIFETIME_DAYS),
        };
        lifetime + TimeDelta::minutes(1)
    }
}

struct Listed {
    purpose: Purpose,
    key: Arc<JwtKeys>,
    retired_at: Option<DateTime<Utc>>,
}

impl Listed {
    fn usable(&self, now: DateTime<Utc>) -> bool {
        self.retired_at
            .is_none_or(|at| at + self.purpose.kept() > now)
    }
}

struct Ring {
    access: Arc<JwtKeys>,
    decision: Option<Arc<JwtKeys>>,
    listed: Vec<Listed>,
}

/// The keys this instance signs with and verifies with.
pub struct KeyRing {
    ring: RwLock<Ring>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A ring holding only `access` (the configured key, before the database's
    /// keys are loaded; tests).
    pub fn with_access_key(access: JwtKeys) -> Self {
        let access = Arc::new(access);
        Self {
            ring: RwLock::new(Ring {
                listed: vec![Listed {
                    purpose: Purpose::Access,
                    key: access.clone(),
                    retired_at: None,
                }],
                access,
                decision: None,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Signs access-token claims with the current access key.
    pub fn sign_access<T: Serialize>(&self, claims: &T) -> Result<String, String> {
        let key = self.read().access.clone();
        key.sign(Purpose::Access.typ(), claims)
    }

    /// Signs decision claims with the current decision key; returns the JWS and
    /// the key's `kid`.
    pub fn sign_decision<T: Serialize>(&self, claims: &T) -> Result<(String, String), String> {
        let key = (self.read().decision.clone())
            .ok_or_else(|| "the decision key is not loaded yet".to_owned())?;
        Ok((
            key.sign(Purpose::Decision.typ(), claims)?,
            key.kid().to_owned(),
        ))
    }

    /// Verifies an access token: header `typ: at+jwt`, a `kid` of a usable access
    /// key, then signature, expiry and issuer.
    pub fn verify_access<T: DeserializeOwned>(&self, token: &str) -> Result<T, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        if header.typ.as_deref() != Some(Purpose::Access.typ()) {
            return Err("not an access token (typ)".into());
        }
        let kid = header.kid.ok_or("no kid")?;
        let now = Utc::now();
        let key = (self.read().listed.iter())
            .find(|l| l.purpose == Purpose::Access && l.key.kid() == kid && l.usable(now))
            .map(|l| l.key.clone())
            .ok_or_else(|| format!("unknown or retired access key {kid}"))?;
        key.verify(token)
    }

    /// The public keys: every usable key of either purpose.
    pub fn jwks(&self) -> Jwks {
        let now = Utc::now();
        let ring = self.read();
        let mut keys = Vec::new();
        for listed in ring.listed.iter().filter(|l| l.usable(now)) {
            if !keys
                .iter()
                .any(|k: &super::keys::Jwk| k.kid == listed.key.kid())
            {
                keys.extend(listed.key.jwks().keys);
            }
        }
        Jwks { keys }
    }

    /// The current access key as PEM (tests start replicas with it).
    pub fn access_pem(&self) -> String {
        self.read().access.to_pem()
    }

    /// Loads the database's keys, storing `configured` as the access key and a new
    /// decision key where the database has no current key of that purpose yet (the
    /// first start after an upgrade keeps the configured key's tokens valid). Signs
    /// with the current keys from now on.
    pub fn load(&self, conn: &mut PgConnection, now: DateTime<Utc>) -> Result<(), DbError> {
        let configured = self.read().access.clone();
        let rows = signing_keys::all(conn)?;
        let current = |purpose: Purpose| {
            rows.iter()
                .any(|r| r.purpose == purpose.as_str() && r.retired_at.is_none())
        };
        if !current(Purpose::Access) {
            let pem = configured.to_pem();
            signing_keys::insert_current(conn, configured.kid(), "access", &pem, now)?;
        }
        if !current(Purpose::Decision) {
            let key = JwtKeys::generate();
            signing_keys::insert_current(conn, key.kid(), "decision", &key.to_pem(), now)?;
        }
        self.install(&signing_keys::all(conn)?, true)
    }

    /// Reloads the listed keys after a rotation elsewhere (signing keys stay as
    /// they are until the next start).
    pub fn reload(&self, conn: &mut PgConnection) -> Result<(), DbError> {
        self.install(&signing_keys::all(conn)?, false)
    }

    fn install(&self, rows: &[KeyRow], signing: bool) -> Result<(), DbError> {
        let mut listed = Vec::new();
        for row in rows {
            let (Some(purpose), Ok(key)) = (
                Purpose::parse(&row.purpose),
                JwtKeys::from_pem(&row.private_pem),
            ) else {
                tracing::error!(kid = %row.kid, "a stored signing key is unusable; skipped");
                continue;
            };
            listed.push(Listed {
                purpose,
                key: Arc::new(key),
                retired_at: row.retired_at,
            });
        }
        let current = |purpose: Purpose| {
            (listed.iter())
                .rfind(|l| l.purpose == purpose && l.retired_at.is_none())
                .map(|l| l.key.clone())
        };
        let mut ring = self.ring.write().unwrap_or_else(|e| e.into_inner());
        if signing {
            if let Some(access) = current(Purpose::Access) {
                ring.access = access;
            }
            ring.decision = current(Purpose::Decision);
        }
        // The keys this instance signs with stay listed whatever the table says.
        let mine: Vec<Arc<JwtKeys>> = [Some(ring.access.clone()), ring.decision.clone()]
            .into_iter()
            .flatten()
            .collect();
        for key in mine {
            if !listed.iter().any(|l| l.key.kid() == key.kid()) {
                let purpose = if ring.decision.as_ref().is_some_and(|d| d.kid() == key.kid()) {
                    Purpose::Decision
                } else {
                    Purpose::Access
                };
                listed.push(Listed {
                    purpose,
                    key,
                    retired_at: None,
                });
            }
        }
        ring.listed = listed;
        Ok(())
    }
}

/// Retires the current keys and makes new ones, in one transaction, and tells
/// every instance; returns the new keys' ids by purpose.
pub fn rotate(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<(Purpose, String)>, DbError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let mut made = Vec::new();
        for purpose in Purpose::ALL {
            signing_keys::retire_current(conn, purpose.as_str(), now)?;
            let key = JwtKeys::generate();
            signing_keys::insert_current(conn, key.kid(), purpose.as_str(), &key.to_pem(), now)?;
            made.push((purpose, key.kid().to_owned()));
        }
        signing_keys::announce(conn)?;
        Ok(made)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct C {
        sub: String,
        iss: String,
        exp: i64,
    }

    fn claims() -> C {
        C {
            sub: "x".into(),
            iss: super::super::keys::ISSUER.into(),
            exp: Utc::now().timestamp() + 60,
        }
    }

    #[test]
    fn an_access_token_verifies_and_a_token_of_another_typ_or_key_does_not() {
        let ring = KeyRing::with_access_key(JwtKeys::generate());
        let token = ring.sign_access(&claims()).unwrap();
        assert_eq!(ring.verify_access::<C>(&token).unwrap(), claims());
        // Same key, another typ (a decision signed with the access key): refused.
        let access = ring.read().access.clone();
        let other_typ = access.sign(Purpose::Decision.typ(), &claims()).unwrap();
        assert!(ring.verify_access::<C>(&other_typ).is_err());
        // A key not in the ring: refused.
        let stranger = JwtKeys::generate().sign("at+jwt", &claims()).unwrap();
        assert!(ring.verify_access::<C>(&stranger).is_err());
        assert!(
            ring.sign_decision(&claims()).is_err(),
            "no decision key yet"
        );
    }

    #[test]
    fn retired_keys_are_kept_as_long_as_what_they_signed_lives() {
        let now = Utc::now();
        let listed = |purpose, ago: i64| Listed {
            purpose,
            key: Arc::new(JwtKeys::generate()),
            retired_at: Some(now - TimeDelta::minutes(ago)),
        };
        assert!(listed(Purpose::Access, 15).usable(now));
        assert!(!listed(Purpose::Access, 17).usable(now));
        assert!(listed(Purpose::Decision, 60 * 24 * 300).usable(now));
        assert!(!listed(Purpose::Decision, 60 * 24 * 366).usable(now));
    }
}
