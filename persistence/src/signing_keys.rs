//! The signing keys of every instance (table `signing_keys`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::DbError;
use crate::schema::signing_keys as k;

/// The channel on which a key rotation is announced.
pub const KEYS_CHANNEL: &str = "zikao_keys";

/// A stored key.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = k)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct KeyRow {
    /// Key id, as in token headers.
    pub kid: String,
    /// `access` or `decision`.
    pub purpose: String,
    /// PKCS#8 PEM of the private key.
    pub private_pem: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Retired (no longer signs) since then.
    pub retired_at: Option<DateTime<Utc>>,
}

// Never print the private key.
impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("kid", &self.kid)
            .field("purpose", &self.purpose)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// Every stored key, oldest first.
pub fn all(conn: &mut PgConnection) -> Result<Vec<KeyRow>, DbError> {
    Ok(k::table
        .select(KeyRow::as_select())
        .order(k::created_at)
        .load(conn)?)
}

/// Stores `kid` as the current key of `purpose` unless the purpose has one
/// already (another instance was first); returns whether it was stored.
pub fn insert_current(
    conn: &mut PgConnection,
    kid: &str,
    purpose: &str,
    private_pem: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let stored = diesel::insert_into(k::table)
        .values((
            k::kid.eq(kid),
            k::purpose.eq(purpose),
            k::private_pem.eq(private_pem),
            k::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(stored == 1)
}

/// Retires the current key of `purpose`, if any.
pub fn retire_current(
    conn: &mut PgConnection,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        k::table
            .filter(k::purpose.eq(purpose))
            .filter(k::retired_at.is_null()),
    )
    .set(k::retired_at.eq(now))
    .execute(conn)?)
}

/// Tells every instance (at commit) that the keys changed.
pub fn announce(conn: &mut PgConnection) -> Result<(), DbError> {
    diesel::sql_query(format!("NOTIFY {KEYS_CHANNEL}")).execute(conn)?;
    Ok(())
}
