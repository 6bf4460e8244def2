//! The signed-in caller's own account.

use actix_web::{HttpResponse, get, put, web};
use domain::account::Password;
use persistence::accounts;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::password;
use crate::auth::principal::{SignedIn, SignedInAllowingTemporary};
use crate::http::extract::ApiJson;
use crate::http::problem::ApiError;
use crate::routes::auth::identifiers;
use crate::routes::views::Profile;
use crate::state::AppState;

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
    let id = user.0.id;
    let row = state.db(move |conn| Ok(accounts::find(conn, id)?)).await?;
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
/// sign in again with the new password.
#[utoipa::path(
    tag = "accounts",
    operation_id = "change_password",
    request_body = ChangePassword,
    security(("bearer" = [])),
    responses((status = 204, description = "Changed; sign in again."))
)]
#[put("/me/password")]
pub async fn change_password(
    user: SignedInAllowingTemporary,
    state: web::Data<AppState>,
    body: ApiJson<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let id = user.0.id;
    let ChangePassword {
        current_password,
        new_password,
    } = body.0;
    let account = state.db(move |conn| Ok(accounts::find(conn, id)?)).await?;
    let stored = account.password_hash.clone();
    let current = current_password.clone();
    let current_ok = web::block(move || password::verify(&stored, &current)).await?;
    if !current_ok {
        return Err(ApiError::field(
            "current_password",
            domain::Violation::new(
                "password.wrong",
                "当前密码不正确",
                "the current password is wrong",
            ),
        ));
    }
    let ids = identifiers(&account);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let new =
        Password::parse(&new_password, &refs).map_err(|v| ApiError::field("new_password", v))?;
    if new.expose() == current_password {
        return Err(ApiError::field(
            "new_password",
            domain::Violation::new(
                "password.unchanged",
                "新密码不能与当前密码相同",
                "the new password must differ from the current one",
            ),
        ));
    }
    let hash = web::block(move || password::hash(new.expose()))
        .await?
        .map_err(ApiError::internal)?;
    state
        .tx(move |conn| {
            accounts::set_password(conn, id, &hash, false)?;
            accounts::revoke_all_refresh_tokens(conn, id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
