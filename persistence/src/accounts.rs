//! Accounts, schools, refresh and password-reset tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::account::Role;
use uuid::Uuid;

use crate::DbError;
use crate::schema::{accounts, password_reset_tokens, refresh_tokens, schools};

/// A school row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = schools)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct SchoolRow {
    /// School code.
    pub code: String,
    /// School name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An account row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct AccountRow {
    /// Account id.
    pub id: Uuid,
    /// `candidate`, `staff`, `admin` or `integration`.
    #[diesel(deserialize_as = crate::enums::Stored<Role>)]
    pub role: Role,
    /// Candidate's exam number.
    pub exam_number: Option<String>,
    /// Candidate's resident ID number (full; mask before showing to others).
    pub id_number: Option<String>,
    /// Staff, admin and service-account login.
    pub username: Option<String>,
    /// Display name.
    pub name: String,
    /// Mobile phone.
    pub phone: Option<String>,
    /// Candidate's self-study major.
    pub major_code: Option<String>,
    /// The school (staff always, candidates optionally).
    pub school_code: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// A temporary password must be changed before anything else.
    pub must_change_password: bool,
    /// Service-account scopes.
    pub scopes: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new account.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount {
    /// Account id (UUIDv7).
    pub id: Uuid,
    /// Role.
    #[diesel(serialize_as = crate::enums::Stored<Role>)]
    pub role: Role,
    /// Exam number (candidates).
    pub exam_number: Option<String>,
    /// ID number (candidates).
    pub id_number: Option<String>,
    /// Username (others).
    pub username: Option<String>,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Major (candidates).
    pub major_code: Option<String>,
    /// School.
    pub school_code: Option<String>,
    /// Argon2id hash.
    pub password_hash: String,
    /// Temporary password?
    pub must_change_password: bool,
    /// Scopes (integration).
    pub scopes: Vec<String>,
}

/// Which column a login names.
#[derive(Debug, Clone)]
pub enum LoginKey {
    /// 准考证号.
    ExamNumber(String),
    /// 身份证号.
    IdNumber(String),
    /// Staff, admin or service-account username.
    Username(String),
}

/// Creates a school (unique code: `DbError::Unique`).
pub fn insert_school(
    conn: &mut PgConnection,
    code: &str,
    name: &str,
) -> Result<SchoolRow, DbError> {
    Ok(diesel::insert_into(schools::table)
        .values((schools::code.eq(code), schools::name.eq(name)))
        .returning(SchoolRow::as_returning())
        .get_result(conn)?)
}

/// One page of schools by code, and the total.
pub fn list_schools(
    conn: &mut PgConnection,
    offset: i64,
    limit: i64,
) -> Result<(Vec<SchoolRow>, i64), DbError> {
    let rows = schools::table
        .order(schools::code.asc())
        .offset(offset)
        .limit(limit)
        .select(SchoolRow::as_select())
        .load(conn)?;
    let total = schools::table.count().get_result(conn)?;
    Ok((rows, total))
}

/// Whether a school exists.
pub fn school_exists(conn: &mut PgConnection, code: &str) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        schools::table.filter(schools::code.eq(code)),
    ))
    .get_result(conn)?)
}

/// Inserts an account; a taken exam number, ID number or username is
/// `DbError::Unique` naming the index.
pub fn insert_account(
    conn: &mut PgConnection,
    account: &NewAccount,
) -> Result<AccountRow, DbError> {
    Ok(diesel::insert_into(accounts::table)
        .values(account.clone())
        .returning(AccountRow::as_returning())
        .get_result(conn)?)
}

/// The account with this id.
pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<AccountRow, DbError> {
    Ok(accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)?)
}

/// The account a login names, if any.
pub fn find_by_login(
    conn: &mut PgConnection,
    key: &LoginKey,
) -> Result<Option<AccountRow>, DbError> {
    let query = accounts::table.select(AccountRow::as_select()).into_boxed();
    let query = match key {
        LoginKey::ExamNumber(v) => query.filter(accounts::exam_number.eq(v)),
        LoginKey::IdNumber(v) => query.filter(accounts::id_number.eq(v)),
        LoginKey::Username(v) => query.filter(accounts::username.eq(v)),
    };
    Ok(query.first(conn).optional()?)
}

/// Sets a new password hash (and whether it is temporary).
pub fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
    temporary: bool,
) -> Result<(), DbError> {
    let changed = diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(hash),
            accounts::must_change_password.eq(temporary),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// A stored refresh token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct RefreshTokenRow {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub account_id: Uuid,
    /// Rotation family.
    pub family_id: Uuid,
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Expires.
    pub expires_at: DateTime<Utc>,
    /// Spent (rotated) at.
    pub used_at: Option<DateTime<Utc>>,
    /// Revoked at.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Stores a refresh token's hash.
pub fn insert_refresh_token(
    conn: &mut PgConnection,
    account_id: Uuid,
    family_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::account_id.eq(account_id),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The refresh token with this hash, locked for the rest of the transaction.
pub fn refresh_token_for_update(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<RefreshTokenRow>, DbError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// Marks a refresh token spent.
pub fn mark_refresh_token_used(conn: &mut PgConnection, id: Uuid) -> Result<(), DbError> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::used_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// Revokes every token of a rotation family.
pub fn revoke_family(conn: &mut PgConnection, family_id: Uuid) -> Result<usize, DbError> {
    let accounts: Vec<Uuid> = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .returning(refresh_tokens::account_id)
    .get_results(conn)?;
    if let Some(account) = accounts.first() {
        announce_revocation(conn, *account)?;
    }
    Ok(accounts.len())
}

/// Revokes every refresh token of an account (password changed or reset).
pub fn revoke_all_refresh_tokens(
    conn: &mut PgConnection,
    account_id: Uuid,
) -> Result<usize, DbError> {
    let revoked = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::account_id.eq(account_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)?;
    if revoked > 0 {
        announce_revocation(conn, account_id)?;
    }
    Ok(revoked)
}

/// The channel on which revocations are announced; the payload is the account id.
pub const REVOCATION_CHANNEL: &str = "zikao_revocations";

/// Tells every instance (at commit) that sessions of `account` were revoked.
fn announce_revocation(conn: &mut PgConnection, account: Uuid) -> Result<(), DbError> {
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<diesel::sql_types::Text, _>(REVOCATION_CHANNEL)
        .bind::<diesel::sql_types::Text, _>(account.to_string())
        .execute(conn)?;
    Ok(())
}

/// Sessions (refresh-token families) revoked after `since`, with when, for one
/// account or for all.
pub fn revoked_sessions(
    conn: &mut PgConnection,
    account: Option<Uuid>,
    since: DateTime<Utc>,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, DbError> {
    use diesel::dsl::max;
    let mut query = refresh_tokens::table
        .filter(refresh_tokens::revoked_at.gt(since))
        .group_by(refresh_tokens::family_id)
        .select((refresh_tokens::family_id, max(refresh_tokens::revoked_at)))
        .into_boxed();
    if let Some(account) = account {
        query = query.filter(refresh_tokens::account_id.eq(account));
    }
    let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(family, at)| Some((family, at?)))
        .collect())
}

/// Stores a password-reset token's hash.
pub fn insert_reset_token(
    conn: &mut PgConnection,
    account_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::insert_into(password_reset_tokens::table)
        .values((
            password_reset_tokens::id.eq(Uuid::now_v7()),
            password_reset_tokens::account_id.eq(account_id),
            password_reset_tokens::token_hash.eq(token_hash),
            password_reset_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The account of a reset token that is unused and unexpired at `now`.
pub fn reset_token_account(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbError> {
    Ok(password_reset_tokens::table
        .filter(password_reset_tokens::token_hash.eq(token_hash))
        .filter(password_reset_tokens::used_at.is_null())
        .filter(password_reset_tokens::expires_at.gt(now))
        .select(password_reset_tokens::account_id)
        .first(conn)
        .optional()?)
}

/// Spends every unused reset token of `account_id` (a password set another way
/// makes them void).
pub fn spend_all_reset_tokens(
    conn: &mut PgConnection,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        password_reset_tokens::table
            .filter(password_reset_tokens::account_id.eq(account_id))
            .filter(password_reset_tokens::used_at.is_null()),
    )
    .set(password_reset_tokens::used_at.eq(now))
    .execute(conn)?)
}

/// Spends a reset token that is unused and unexpired at `now`; returns its account.
pub fn spend_reset_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbError> {
    Ok(diesel::update(
        password_reset_tokens::table
            .filter(password_reset_tokens::token_hash.eq(token_hash))
            .filter(password_reset_tokens::used_at.is_null())
            .filter(password_reset_tokens::expires_at.gt(now)),
    )
    .set(password_reset_tokens::used_at.eq(now))
    .returning(password_reset_tokens::account_id)
    .get_result(conn)
    .optional()?)
}
