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

/// The remembered request of `(caller, key)` younger than `expire_secs`, if any
/// (a read outside any transaction, to replay without waiting).
pub fn find(
    conn: &mut PgConnection,
    caller: &str,
    key: &str,
    expire_secs: i64,
) -> Result<Option<IdempotencyRow>, DbError> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    Ok(k::table
        .filter(k::caller.eq(caller))
        .filter(k::key.eq(key))
        .filter(
            sql::<Bool>("created_at >= now() - make_interval(secs => ")
                .bind::<diesel::sql_types::BigInt, _>(expire_secs)
                .sql(")"),
        )
        .select(IdempotencyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Claims `(caller, key)` for a request with `fingerprint`, inside the
/// transaction of the change it guards: the row is visible to others only when
/// that transaction commits, with the answer stored. A concurrent request with
/// the same key waits on the primary key until then, and then sees the row
/// (`Seen`), or, if the first one rolled back, claims it itself. Rows older than
/// `expire_secs` no longer count.
pub fn claim(
    conn: &mut PgConnection,
    caller: &str,
    key: &str,
    fingerprint: &[u8],
    expire_secs: i64,
) -> Result<Claim, DbError> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    diesel::delete(
        k::table
            .filter(k::caller.eq(caller))
            .filter(k::key.eq(key))
            .filter(
                // A row without an answer is a leftover of a request that never
                // finished (rows commit only with their answer).
                sql::<Bool>("(status IS NULL OR created_at < now() - make_interval(secs => ")
                    .bind::<diesel::sql_types::BigInt, _>(expire_secs)
                    .sql("))"),
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
    // Gone again in between (expired and deleted by a third request): retry.
    row.map(Claim::Seen).ok_or(DbError::Retry)
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

/// Forgets a claimed key (its answer is not to be replayed).
pub fn release(conn: &mut PgConnection, caller: &str, key: &str) -> Result<(), DbError> {
    diesel::delete(k::table.filter(k::caller.eq(caller)).filter(k::key.eq(key))).execute(conn)?;
    Ok(())
}
