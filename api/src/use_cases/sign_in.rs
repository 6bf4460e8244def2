//! Signing in and staying signed in (R1, R2): sign-in by exam number, ID number or
//! username, refresh-token rotation, sign-out, and the self-service password reset.
//!
//! Sign-in is three steps so that the Argon2 verification in the middle holds no
//! pooled connection: [`account_for`] (lookup and lock check), the caller's
//! verification, then [`failed`] or [`signed_in`].

use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use domain::Violation;
use domain::account::{LoginIdentifier, Role, Scope};
use persistence::accounts::{self, AccountRow, LoginKey};
use persistence::outbox::NotificationKind;
use uuid::Uuid;

use crate::access::Actor;
use crate::auth::keys::{ISSUER, JwtKeys};
use crate::auth::principal::AccessClaims;
use crate::auth::{self, secret};
use crate::use_cases::accounts::set_password;
use crate::use_cases::audit;
use crate::use_cases::{Outcome, Refusal};

/// Why a sign-in or a refresh did not give tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// Unknown login or wrong password (the same answer for both).
    WrongCredentials,
    /// Too many failures for this account; seconds until it opens again.
    Locked {
        /// Seconds left.
        seconds: i64,
    },
    /// The refresh token is unknown, expired, revoked or already spent.
    InvalidRefreshToken,
}

impl From<SignInRefusal> for Refusal {
    fn from(refusal: SignInRefusal) -> Self {
        Refusal::SignIn(refusal)
    }
}

/// A fresh pair of tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The signed access token.
    pub access_token: String,
    /// Seconds it lives.
    pub expires_in: i64,
    /// The opaque refresh token (stored only hashed).
    pub refresh_token: String,
    /// The password is temporary and must be changed first.
    pub must_change_password: bool,
}

fn login_key(identifier: &LoginIdentifier) -> LoginKey {
    match identifier {
        LoginIdentifier::ExamNumber(n) => LoginKey::ExamNumber(n.as_str().into()),
        LoginIdentifier::IdNumber(n) => LoginKey::IdNumber(n.as_str().into()),
        LoginIdentifier::Username(n) => LoginKey::Username(n.as_str().into()),
    }
}

fn find_by_login(conn: &mut PgConnection, login: &str) -> Outcome<Option<AccountRow>> {
    match LoginIdentifier::parse(login) {
        Ok(identifier) => Ok(accounts::find_by_login(conn, &login_key(&identifier))?),
        Err(_) => Ok(None),
    }
}

/// Step 1 of a sign-in: the account `login` names, if any, refused while it is
/// locked. `None` (no such account) must cost the caller a dummy verification.
pub fn account_for(
    conn: &mut PgConnection,
    login: &str,
    now: DateTime<Utc>,
) -> Outcome<Option<AccountRow>> {
    let account = find_by_login(conn, login)?;
    if let Some(until) = (account.as_ref()).and_then(|a| a.locked_until.filter(|u| *u > now)) {
        let seconds = (until - now).num_seconds();
        return Err(SignInRefusal::Locked { seconds }.into());
    }
    Ok(account)
}

/// Step 3 after a wrong password: counts the failure (the fifth in a row locks
/// the account for 15 minutes).
pub fn failed(conn: &mut PgConnection, account: &AccountRow, now: DateTime<Utc>) -> Outcome<()> {
    let until = now + Duration::minutes(auth::LOCK_MINUTES);
    accounts::record_failure(conn, account.id, auth::MAX_FAILED_LOGINS, until)?;
    Ok(())
}

/// Step 3 after a right password: clears the failures and issues a new token
/// family, in one transaction.
pub fn signed_in(
    conn: &mut PgConnection,
    keys: &JwtKeys,
    account: &AccountRow,
    now: DateTime<Utc>,
) -> Outcome<Tokens> {
    super::transaction(conn, |conn| {
        accounts::record_success(conn, account.id)?;
        issue(conn, keys, account, Uuid::now_v7(), now)
    })
}

/// Issues an access token and a refresh token of `family` for `account`.
fn issue(
    conn: &mut PgConnection,
    keys: &JwtKeys,
    account: &AccountRow,
    family: Uuid,
    now: DateTime<Utc>,
) -> Outcome<Tokens> {
    let claims = AccessClaims {
        sub: account.id,
        role: account.role,
        school: account.school_code.clone(),
        scopes: (account.scopes.iter())
            .filter_map(|s| Scope::parse(s).ok())
            .collect(),
        mcp: account.must_change_password,
        iss: ISSUER.into(),
        iat: now.timestamp(),
        exp: now.timestamp() + auth::ACCESS_TOKEN_SECONDS,
        jti: Uuid::now_v7(),
        typ: "access".into(),
    };
    let access_token = keys.sign("at+jwt", &claims).map_err(Refusal::Internal)?;
    let refresh_token = secret::new_token();
    let expires_at = now + Duration::days(auth::REFRESH_TOKEN_DAYS);
    let hash = secret::token_hash(&refresh_token);
    accounts::insert_refresh_token(conn, account.id, family, &hash, expires_at)?;
    Ok(Tokens {
        access_token,
        expires_in: auth::ACCESS_TOKEN_SECONDS,
        refresh_token,
        must_change_password: account.must_change_password,
    })
}

/// Exchanges a refresh token for a new pair of the same family. A spent or revoked
/// token presented again (a sign it was stolen) revokes the whole family; that
/// revocation commits although the answer is a refusal.
pub fn refresh(
    conn: &mut PgConnection,
    keys: &JwtKeys,
    refresh_token: &str,
    now: DateTime<Utc>,
) -> Outcome<Tokens> {
    let hash = secret::token_hash(refresh_token);
    let outcome: Outcome<Outcome<Tokens>> = super::transaction(conn, |conn| {
        let invalid = || Err(SignInRefusal::InvalidRefreshToken.into());
        let Some(token) = accounts::refresh_token_for_update(conn, &hash)? else {
            return Ok(invalid());
        };
        if token.used_at.is_some() || token.revoked_at.is_some() {
            let revoked = accounts::revoke_family(conn, token.family_id)?;
            tracing::warn!(family = %token.family_id, revoked, "refresh token reused; family revoked");
            return Ok(invalid());
        }
        if token.expires_at <= now {
            return Ok(invalid());
        }
        accounts::mark_refresh_token_used(conn, token.id)?;
        let account = accounts::find(conn, token.account_id)?;
        issue(conn, keys, &account, token.family_id, now).map(Ok)
    });
    outcome?
}

/// Signs out: revokes the family of the actor's refresh token (someone else's
/// token, an unknown or an already revoked one change nothing).
pub fn sign_out(conn: &mut PgConnection, actor: &Actor, refresh_token: &str) -> Outcome<()> {
    let hash = secret::token_hash(refresh_token);
    super::transaction(conn, |conn| {
        if let Some(token) = accounts::refresh_token_for_update(conn, &hash)?
            && token.account_id == actor.id
        {
            accounts::revoke_family(conn, token.family_id)?;
        }
        Ok(())
    })
}

/// Starts a password reset (R2): for an account `login` names (not a service
/// account), a single-use token valid for 30 minutes goes to the notification
/// outbox with the phone to send it to. Nothing tells whether the account exists.
pub fn request_reset(conn: &mut PgConnection, login: &str, now: DateTime<Utc>) -> Outcome<()> {
    super::transaction(conn, |conn| {
        let Some(account) = find_by_login(conn, login)? else {
            return Ok(());
        };
        if account.role == Role::Integration {
            return Ok(());
        }
        let token = secret::new_token();
        let expires_at = now + Duration::minutes(auth::RESET_TOKEN_MINUTES);
        accounts::insert_reset_token(conn, account.id, &secret::token_hash(&token), expires_at)?;
        let payload = serde_json::json!({
            "token": token, "expires_at": expires_at, "name": account.name, "phone": account.phone,
        });
        Ok(audit::notify(
            conn,
            NotificationKind::PasswordReset,
            account.id,
            &payload,
        )?)
    })
}

fn invalid_reset_token() -> Refusal {
    Refusal::field(
        "token",
        Violation::new(
            "password_reset.invalid_token",
            "重置令牌无效、已过期或已使用，请重新申请",
            "the reset token is invalid, expired or already used; request a new one",
        ),
    )
}

/// The account an unused, unexpired reset token is for (to check the new password
/// against its identifiers before hashing it).
pub fn reset_account(
    conn: &mut PgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Outcome<AccountRow> {
    let hash = secret::token_hash(token);
    match accounts::reset_token_account(conn, &hash, now)? {
        Some(id) => Ok(accounts::find(conn, id)?),
        None => Err(invalid_reset_token()),
    }
}

/// Completes a reset: spends the token, sets the password and revokes every
/// refresh token of the account, in one transaction.
pub fn reset_password(
    conn: &mut PgConnection,
    token: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Outcome<()> {
    let hash = secret::token_hash(token);
    super::transaction(conn, |conn| {
        let Some(account_id) = accounts::spend_reset_token(conn, &hash, now)? else {
            return Err(invalid_reset_token());
        };
        set_password(conn, account_id, password_hash, false)
    })
}
