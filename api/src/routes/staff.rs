//! What school staff do for their candidates (R2, R19).

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, post, web};
use domain::account::Role;
use persistence::accounts;
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Owner;
use crate::auth::principal::StaffOrAdmin;
use crate::auth::{password, secret};
use crate::http::problem::{ApiError, Msg};
use crate::state::AppState;

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
    let not_found = || ApiError::not_found(Msg::new("考生不存在", "no such candidate"));
    let id = crate::http::extract::parse_id(&id)?;
    let principal = user.0;
    let temporary = secret::temporary_password();
    let for_hash = temporary.clone();
    let hash = web::block(move || password::hash(&for_hash))
        .await?
        .map_err(ApiError::internal)?;
    state
        .tx(move |conn| {
            let account = match accounts::find(conn, id) {
                Err(persistence::DbError::NotFound) => return Err(not_found()),
                other => other?,
            };
            if account.role != Role::Candidate.as_str()
                || !principal.can_manage_candidate(Owner::new(id, account.school_code.as_deref()))
            {
                return Err(not_found());
            }
            accounts::set_password(conn, id, &hash, true)?;
            accounts::revoke_all_refresh_tokens(conn, id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(TemporaryPassword {
            temporary_password: temporary,
            must_change_password: true,
        }))
}
