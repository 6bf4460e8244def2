//! Registration, sign-in, token refresh, sign-out and password resets (R1, R2).
//!
//! Each handler parses the request, calls the use cases of
//! [`crate::use_cases::sign_in`] and [`crate::use_cases::accounts`], and renders
//! the answer. Argon2 runs between the steps on the blocking pool, never while a
//! pooled connection is held.

mod types;

use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use domain::new_account::{self, RegistrationForm};
use domain::window::date_in_shanghai;

pub use self::types::*;
use crate::auth::keys::Jwks;
use crate::auth::password::{hash_off_worker, verify_off_worker};
use crate::auth::principal::SignedInAllowingTemporary;
use crate::http::client;
use crate::http::extract::ApiJson;
use crate::http::idempotency::carries_secret;
use crate::http::problem::ApiError;
use crate::routes::views::Profile;
use crate::state::AppState;
use crate::use_cases::Refusal;
use crate::use_cases::accounts;
use crate::use_cases::sign_in::{self, SignInRefusal};

/// Registers a candidate account (R1).
///
/// Every field is checked and every problem reported at once. A second
/// registration with the same exam number or ID number is 409 `account.exists`.
/// Every attempt that passes validation counts: past 20 per client address in an
/// hour, 429 `auth.throttled` with `Retry-After`.
#[utoipa::path(
    tag = "accounts",
    operation_id = "register",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The new candidate's profile.", body = Profile),
        (status = 409, description = "`account.exists`: the exam number or ID number is already registered.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "`auth.throttled`: too many registrations from this address; see `Retry-After`.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let form = RegistrationForm::from(body.0);
    let registration = new_account::check_registration(&form, date_in_shanghai(Utc::now()))
        .map_err(Refusal::invalid_fields)?;
    let address = client::address(&req, &state.trusted_proxies);
    state
        .db(move |conn| Ok(accounts::registration_attempt(conn, address, Utc::now())?))
        .await?;
    let hash = hash_off_worker(registration.password.expose().to_owned()).await?;
    let cache = state.catalog.clone();
    let row = state
        .change(move |conn| Ok(accounts::register(conn, &cache, &registration, hash)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, "/api/v1/me"))
        .json(Profile::for_owner(row)))
}

fn no_store(pair: TokenPair) -> HttpResponse {
    carries_secret(
        HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(pair),
    )
}

/// Signs in (R1).
///
/// An unknown login and a wrong password get the same 401
/// `auth.invalid_credentials` in the same time, and count alike. Limits, shared
/// by every instance (the client address is the TCP peer or, behind
/// `TRUSTED_PROXIES`, from `X-Forwarded-For`): 5 failures per login and address
/// in 15 minutes refuse that pair; 50 per login in 24 hours refuse it from every
/// address for 15 minutes (and the holder is told); 100 per address in 15
/// minutes refuse that address. Refused: 429 `auth.throttled` with
/// `Retry-After`. A successful sign-in forgets the pair's failures.
#[utoipa::path(
    tag = "accounts",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenPair),
        (status = 401, description = "`auth.invalid_credentials`: wrong login or password.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "`auth.throttled`: too many failures for this login, this pair or this address; see `Retry-After`.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let address = client::address(&req, &state.trusted_proxies);
    let LoginRequest {
        login: name,
        password,
    } = body.0;
    let now = Utc::now();
    let attempt = state
        .db(move |conn| Ok(sign_in::attempt(conn, &name, address, now)?))
        .await?;
    let stored = (attempt.account.as_ref()).map(|a| a.password_hash.clone());
    let right = verify_off_worker(stored, password).await?;
    if !right || attempt.account.is_none() {
        // Its own transaction: the failure counts whatever becomes of the answer.
        state
            .db(move |conn| Ok(sign_in::failed(conn, &attempt, now)?))
            .await?;
        return Err(Refusal::from(SignInRefusal::WrongCredentials).into());
    }
    let keys = state.keys.clone();
    let tokens = state
        .change(move |conn| Ok(sign_in::signed_in(conn, &keys, &attempt, now)?))
        .await?;
    Ok(no_store(tokens.into()))
}

/// Exchanges a refresh token for a new pair.
///
/// Refresh tokens rotate: each works once. Presenting a spent one again (a sign
/// it was stolen) revokes every token of its family, and the caller must sign in.
#[utoipa::path(
    tag = "accounts",
    operation_id = "refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the old refresh token is spent.", body = TokenPair),
        (status = 401, description = "`auth.invalid_token`: unknown, expired, revoked or reused.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let keys = state.keys.clone();
    let token = body.0.refresh_token;
    let tokens = state
        .change(move |conn| Ok(sign_in::refresh(conn, &keys, &token, Utc::now())?))
        .await?;
    Ok(no_store(tokens.into()))
}

/// Signs out: revokes the refresh token and its family.
///
/// Always 204 for a signed-in caller, also when the token was already revoked
/// (signing out twice is not an error). The session's access tokens are refused
/// (401 `auth.revoked`) on every instance within a second.
#[utoipa::path(
    tag = "accounts",
    operation_id = "logout",
    request_body = LogoutRequest,
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out."))
)]
#[post("/auth/logout")]
pub async fn logout(
    user: SignedInAllowingTemporary,
    state: web::Data<AppState>,
    body: ApiJson<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.0.refresh_token;
    state
        .change(move |conn| Ok(sign_in::sign_out(conn, &user.0, &token)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Starts a self-service password reset (R2).
///
/// Answers 202 whatever the login, so accounts cannot be discovered. For a real
/// account, a single-use token valid for 30 minutes is written to the
/// notification outbox, from which a gateway sends it by SMS. At most 3 requests
/// per account and 20 per client address in an hour send anything; more are
/// answered 202 all the same.
#[utoipa::path(
    tag = "accounts",
    operation_id = "request_password_reset",
    request_body = ResetRequest,
    responses((status = 202, description = "Accepted (whether or not the account exists).", body = Accepted))
)]
#[post("/auth/password-resets")]
pub async fn request_password_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = body.0.login;
    let address = client::address(&req, &state.trusted_proxies);
    state
        .change(move |conn| Ok(sign_in::request_reset(conn, &name, address, Utc::now())?))
        .await?;
    Ok(HttpResponse::Accepted().json(Accepted::reset_requested()))
}

/// Completes a password reset (R2): sets the password, spends the token and
/// revokes every refresh token of the account.
#[utoipa::path(
    tag = "accounts",
    operation_id = "confirm_password_reset",
    request_body = ResetConfirm,
    responses((status = 204, description = "The password is set; sign in with it."))
)]
#[post("/auth/password-resets/confirm")]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    body: ApiJson<ResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let ResetConfirm {
        token,
        new_password,
    } = body.0;
    let lookup = token.clone();
    let account = state
        .db(move |conn| Ok(sign_in::reset_account(conn, &lookup, Utc::now())?))
        .await?;
    let password =
        new_account::check_new_password(&new_password, &accounts::identifiers(&account), None)
            .map_err(|v| Refusal::field("new_password", v))?;
    let hash = hash_off_worker(password.expose().to_owned()).await?;
    state
        .change(move |conn| Ok(sign_in::reset_password(conn, &token, &hash, Utc::now())?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The public keys that verify access tokens and signed decisions.
#[utoipa::path(
    tag = "accounts",
    operation_id = "jwks",
    responses((status = 200, description = "The JSON Web Key Set (Ed25519).", body = Jwks))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .json(state.keys.jwks())
}
