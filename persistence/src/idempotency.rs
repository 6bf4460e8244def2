//! Remembered answers to POSTs carrying an `Idempotency-Key`.

use diesel::prelude::*;

use crate::DbError;
use crate::schema::idempotency_keys as k;

/// A remembered (or in-flight) request.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = k)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct IdempotencyRow {
    /// SHA-256 of method, path, query and body of the first request.
    pub fingerprint: Vec<u8>,
    /// Its status, or `None` while it is still being handled.
    pub status: Option<i16>,
    /// Its content type.
    pub content_type: Option<String>,
    /// Its `Location`.
    pub location: Option<String>,
    /// Its `ETag`.
    pub etag: Option<String>,
    /// Its body.
    pub body: Option<Vec<u8>>,
}

/// What claiming a key found.
#[derive(Debug)]
pub enum Claim {
    /// The key is new (or expired): this request goes ahead.
    Fresh,
    /// The key was used before (or is in flight).
    Seen(IdempotencyRow),
}

/// Claims `(caller, key)` for a request with `fingerprint`. Rows older than
/// `expire_secs` (and in-flight rows older than `stale_secs`) no longer count.
pub fn claim(
    conn: &mut PgConnection,
    caller: &str,
    key: &str,
    fingerprint: &[u8],
    expire_secs: i64,
    stale_secs: i64,
) -> Result<Claim, DbError> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    diesel::delete(
        k::table
            .filter(k::caller.eq(caller))
            .filter(k::key.eq(key))
            .filter(
                sql::<Bool>("(created_at < now() - make_interval(secs => ")
                    .bind::<diesel::sql_types::BigInt, _>(expire_secs)
                    .sql(") OR (status IS NULL AND created_at < now() - make_interval(secs => ")
                    .bind::<diesel::sql_types::BigInt, _>(stale_secs)
                    .sql(")))"),
            ),
    )
    .execute(conn)?;
    let inserted = diesel::insert_into(k::table)
        .values((
            k::caller.eq(caller),
            k::key.eq(key),
            k::fingerprint.eq(fingerprint),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let row = k::table
        .filter(k::caller.eq(caller))
        .filter(k::key.eq(key))
        .select(IdempotencyRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(row) => Claim::Seen(row),
        // Deleted in between by its owner giving up: treat as fresh next time.
        None => Claim::Fresh,
    })
}

/// Remembers the answer of a claimed key.
#[allow(clippy::too_many_arguments)]
pub fn complete(
    conn: &mut PgConnection,
    caller: &str,
    key: &str,
    status: i16,
    content_type: Option<&str>,
    location: Option<&str>,
    etag: Option<&str>,
    body: &[u8],
) -> Result<(), DbError> {
    diesel::update(k::table.filter(k::caller.eq(caller)).filter(k::key.eq(key)))
        .set((
            k::status.eq(status),
            k::content_type.eq(content_type),
            k::location.eq(location),
            k::etag.eq(etag),
            k::body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets a claimed key (the request failed in a way worth retrying).
pub fn release(conn: &mut PgConnection, caller: &str, key: &str) -> Result<(), DbError> {
    diesel::delete(k::table.filter(k::caller.eq(caller)).filter(k::key.eq(key))).execute(conn)?;
    Ok(())
}
