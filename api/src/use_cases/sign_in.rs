//! Signing in and staying signed in (R1, R2): sign-in by exam number, ID number or
//! username, refresh-token rotation, sign-out, and the self-service password reset.
//!
//! Sign-in is three steps so that the Argon2 verification in the middle holds no
//! pooled connection: [`attempt`] (lookup and throttle check), the caller's
//! verification, then [`failed`] or [`signed_in`]. The limits of sign-in abuse
//! (API.md) are counted in the database, shared by every instance
//! ([`super::throttles`]).

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use domain::Violation;
use domain::account::{LoginIdentifier, Role, Scope};
use domain::throttle::Rule;
use persistence::accounts::{self, AccountRow, LoginKey};
use persistence::outbox::NotificationKind;
use uuid::Uuid;

use crate::access::Actor;
use crate::auth::keyring::KeyRing;
use crate::auth::keys::ISSUER;
use crate::auth::principal::AccessClaims;
use crate::auth::{self, secret};
use crate::use_cases::accounts::set_password;
use crate::use_cases::audit;
use crate::use_cases::throttles;
use crate::use_cases::{Outcome, Refusal};

/// Why a sign-in or a refresh did not give tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// Unknown login or wrong password (the same answer for both).
    WrongCredentials,
    /// Past a limit of sign-in abuse; seconds until it lets the request through.
    Throttled {
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

/// A sign-in attempt between its steps: the account the login names (if any)
/// and what its failures are counted against.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The account, or `None` when the login names none (the caller must still
    /// spend a dummy verification).
    pub account: Option<AccountRow>,
    /// The account id, or `login:` and the login ([`throttles::subject`]).
    pub subject: String,
    /// The client address.
    pub address: IpAddr,
}

impl Attempt {
    fn keys(&self) -> [(Rule, String); 3] {
        [
            (
                Rule::LoginPair,
                throttles::pair(&self.subject, self.address),
            ),
            (Rule::LoginAccount, self.subject.clone()),
            (Rule::LoginAddress, self.address.to_string()),
        ]
    }
}

fn borrowed(keys: &[(Rule, String)]) -> Vec<(Rule, &str)> {
    keys.iter().map(|(r, k)| (*r, k.as_str())).collect()
}

/// Step 1 of a sign-in: the account `login` names, if any, refused with
/// `Throttled` while a limit holds for the pair, the account or the address
/// (known and unknown logins alike).
pub fn attempt(
    conn: &mut PgConnection,
    login: &str,
    address: IpAddr,
    now: DateTime<Utc>,
) -> Outcome<Attempt> {
    let account = find_by_login(conn, login)?;
    let attempt = Attempt {
        subject: throttles::subject(account.as_ref().map(|a| a.id), login),
        account,
        address,
    };
    throttles::check(conn, &borrowed(&attempt.keys()), now)?;
    Ok(attempt)
}

/// Step 3 after a wrong password or an unknown login: counts the failure for the
/// pair, the account and the address, in one transaction. The failure that
/// reaches the account's daily limit tells the account holder (outbox).
pub fn failed(conn: &mut PgConnection, attempt: &Attempt, now: DateTime<Utc>) -> Outcome<()> {
    count_failure(conn, attempt.account.as_ref(), &attempt.keys(), now)
}

/// Counts a failure under `keys` (the account's own key second) in one
/// transaction; the failure that reaches the account's daily limit tells the
/// holder (outbox).
fn count_failure(
    conn: &mut PgConnection,
    account: Option<&AccountRow>,
    keys: &[(Rule, String)],
    now: DateTime<Utc>,
) -> Outcome<()> {
    super::transaction(conn, |conn| {
        let counters = throttles::count(conn, &borrowed(keys), now)?;
        let daily = Rule::LoginAccount.limit().hits;
        if let Some(account) = account
            && counters[1].hits == daily
        {
            warned(conn, account, daily, counters[1].blocked_until)?;
        }
        Ok(())
    })
}

/// A wrong `current_password` on a password change: counted like a failed
/// sign-in of that account from that address (the pair and account limits).
pub fn check_own_password_attempt(
    conn: &mut PgConnection,
    account: Uuid,
    address: IpAddr,
    now: DateTime<Utc>,
) -> Outcome<()> {
    let keys = own_password_keys(account, address);
    throttles::check(conn, &borrowed(&keys), now)
}

/// Counts a wrong `current_password` (see [`check_own_password_attempt`]).
pub fn wrong_own_password(
    conn: &mut PgConnection,
    account: &AccountRow,
    address: IpAddr,
    now: DateTime<Utc>,
) -> Outcome<()> {
    let keys = own_password_keys(account.id, address);
    count_failure(conn, Some(account), &keys, now)
}

fn own_password_keys(account: Uuid, address: IpAddr) -> [(Rule, String); 2] {
    let subject = throttles::subject(Some(account), "");
    [
        (Rule::LoginPair, throttles::pair(&subject, address)),
        (Rule::LoginAccount, subject),
    ]
}

/// Tells the holder that their account's sign-in is refused for a while.
fn warned(
    conn: &mut PgConnection,
    account: &AccountRow,
    failures: i32,
    until: Option<DateTime<Utc>>,
) -> Outcome<()> {
    let payload = serde_json::json!({
        "name": account.name, "phone": account.phone, "failures": failures, "blocked_until": until,
    });
    Ok(audit::notify(
        conn,
        NotificationKind::SignInThrottled,
        account.id,
        &payload,
    )?)
}

/// Step 3 after a right password: forgets this pair's failures and issues a new
/// token family, in one transaction.
pub fn signed_in(
    conn: &mut PgConnection,
    keys: &KeyRing,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Outcome<Tokens> {
    let account = attempt
        .account
        .as_ref()
        .ok_or(SignInRefusal::WrongCredentials)?;
    super::transaction(conn, |conn| {
        let pair = throttles::pair(&attempt.subject, attempt.address);
        persistence::throttles::clear(conn, Rule::LoginPair, &pair)?;
        issue(conn, keys, account, Uuid::now_v7(), now)
    })
}

/// Issues an access token and a refresh token of `family` for `account`.
fn issue(
    conn: &mut PgConnection,
    keys: &KeyRing,
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
        sid: family,
        typ: "access".into(),
    };
    let access_token = keys.sign_access(&claims).map_err(Refusal::Internal)?;
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
    keys: &KeyRing,
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
/// Every request counts (per address, and per account when it names one); past
/// either limit the request is accepted all the same but sends nothing.
pub fn request_reset(
    conn: &mut PgConnection,
    login: &str,
    address: IpAddr,
    now: DateTime<Utc>,
) -> Outcome<()> {
    super::transaction(conn, |conn| {
        let account = find_by_login(conn, login)?;
        let address_key = address.to_string();
        let account_key = throttles::subject(account.as_ref().map(|a| a.id), login);
        let rules = [
            (Rule::ResetAddress, address_key.as_str()),
            (Rule::ResetAccount, account_key.as_str()),
        ];
        let counters = throttles::count(conn, &rules, now)?;
        let exceeded = (rules.iter().zip(&counters)).any(|((rule, _), c)| rule.exceeded(c));
        let Some(account) = account else {
            return Ok(());
        };
        if account.role == Role::Integration || exceeded {
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
