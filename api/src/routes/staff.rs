//! What school staff do for their candidates (R2, R19).

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::password::hash_off_worker;
use crate::auth::principal::StaffOrAdmin;
use crate::auth::secret;
use crate::http::idempotency::carries_secret;
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::use_cases::accounts;

/// A temporary password, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"temporary_password": "kQm4vTzp7RdW", "must_change_password": true}))]
pub struct TemporaryPassword {
    /// Give it to the candidate; it must be changed at the first sign-in.
    pub temporary_password: String,
    /// Always true.
    pub must_change_password: bool,
}

/// Resets a candidate's password to a temporary one (R2: "or by the school office").
///
/// The temporary password is returned once and stored only hashed; until it is
/// changed the candidate gets 403 `password.change_required` everywhere except
/// `PUT /me/password` and sign-out. Staff reach only candidates of their school;
/// any other id is 404.
#[utoipa::path(
    tag = "staff",
    operation_id = "reset_candidate_password",
    params(("id" = Uuid, Path, description = "The candidate's account id.")),
    security(("bearer" = ["staff", "admin"])),
    responses((status = 200, description = "The temporary password (shown once).", body = TemporaryPassword))
)]
#[post("/staff/candidates/{id}/password-reset")]
pub async fn reset_candidate_password(
    user: StaffOrAdmin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::http::extract::parse_id(&id)?;
    let temporary = secret::temporary_password();
    let hash = hash_off_worker(temporary.clone()).await?;
    state
        .change(move |conn| {
            Ok(accounts::reset_candidate_password(
                conn, &user.0, id, &hash,
            )?)
        })
        .await?;
    Ok(carries_secret(
        HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(TemporaryPassword {
                temporary_password: temporary,
                must_change_password: true,
            }),
    ))
}
