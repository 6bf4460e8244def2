//! Liveness and readiness.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::problem::ApiError;
use crate::state::AppState;

/// The health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready` (database reachable and migrated).
    #[schema(example = "ok")]
    pub status: String,
}

/// The process is alive.
#[utoipa::path(
    tag = "service",
    operation_id = "healthz",
    responses((status = 200, description = "The process is alive.", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// Ready to serve: every migration is applied, the catalogue is loaded into
/// memory and the database answers.
///
/// Answers 503 while any of these is not so (at start, while the database is
/// unreachable), and recovers by itself. It probes the database on a connection of
/// its own: a busy pool does not make an instance unready.
#[utoipa::path(
    tag = "service",
    operation_id = "readyz",
    responses(
        (status = 200, description = "Ready to serve.", body = Health),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let readiness = state.readiness.clone();
    match web::block(move || readiness.check()).await? {
        Ok(()) => Ok(HttpResponse::Ok().json(Health {
            status: "ready".into(),
        })),
        Err(why) => Err(ApiError::unavailable(why)),
    }
}
