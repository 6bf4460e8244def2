//! The signed-in caller's own account.

use actix_web::{HttpRequest, HttpResponse, get, put, web};
use chrono::Utc;
use domain::new_account::check_new_password;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::password::{hash_off_worker, verify_off_worker};
use crate::auth::principal::{SignedIn, SignedInAllowingTemporary};
use crate::http::client;
use crate::http::extract::ApiJson;
use crate::http::problem::ApiError;
use crate::routes::views::Profile;
use crate::state::AppState;
use crate::use_cases::{Refusal, accounts, sign_in};

/// The caller's profile and role.
#[utoipa::path(
    tag = "accounts",
    operation_id = "get_me",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's profile (a candidate sees their full ID number).", body = Profile))
)]
#[get("/me")]
pub async fn get_me(
    user: SignedIn,
    state: web::Data<AppState>,
) -> Result<web::Json<Profile>, ApiError> {
    let row = state
        .db(move |conn| Ok(accounts::own_account(conn, &user.0)?))
        .await?;
    Ok(web::Json(Profile::for_owner(row)))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "kaoshi2026", "new_password": "xinmima2027"}))]
pub struct ChangePassword {
    /// The password in use now (or the temporary one).
    pub current_password: String,
    /// The new password: at least 8 characters, not only digits, not the exam or
    /// ID number, different from the current one.
    pub new_password: String,
}

/// Changes the caller's password.
///
/// Works with a temporary password too (it is the way out of
/// `password.change_required`). Every refresh token of the account is revoked:
/// sign in again with the new password. A wrong `current_password` counts as a
/// failed sign-in of the account from the client address: past those limits,
/// 429 `auth.throttled` with `Retry-After`.
#[utoipa::path(
    tag = "accounts",
    operation_id = "change_password",
    request_body = ChangePassword,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; sign in again."),
        (status = 429, description = "`auth.throttled`: too many wrong current passwords; see `Retry-After`.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[put("/me/password")]
pub async fn change_password(
    req: HttpRequest,
    user: SignedInAllowingTemporary,
    state: web::Data<AppState>,
    body: ApiJson<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.0;
    let ChangePassword {
        current_password,
        new_password,
    } = body.0;
    let address = client::address(&req, &state.trusted_proxies);
    let (me, now) = (actor.clone(), Utc::now());
    let account = state
        .db(move |conn| Ok(accounts::own_account(conn, &me)?))
        .await?;
    let identifiers = accounts::identifiers(&account);
    let new = check_new_password(&new_password, &identifiers, Some(&current_password))
        .map_err(|v| Refusal::field("new_password", v))?;
    // Validation first, then the limits.
    let id = account.id;
    state
        .db(move |conn| Ok(sign_in::check_own_password_attempt(conn, id, address, now)?))
        .await?;
    let stored = Some(account.password_hash.clone());
    if !verify_off_worker(stored, current_password).await? {
        // Its own transaction: the failure counts whatever becomes of the answer.
        state
            .db(move |conn| Ok(sign_in::wrong_own_password(conn, &account, address, now)?))
            .await?;
        return Err(accounts::wrong_current_password().into());
    }
    let hash = hash_off_worker(new.expose().to_owned()).await?;
    state
        .change(move |conn| Ok(accounts::change_own_password(conn, &actor, &hash)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
