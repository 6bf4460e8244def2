//! Liveness and readiness.

use std::time::Duration;

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

/// The database is reachable and every migration is applied.
///
/// Answers 503 while the database is unreachable or not yet migrated, and
/// recovers by itself when it comes back.
#[utoipa::path(
    tag = "service",
    operation_id = "readyz",
    responses(
        (status = 200, description = "Ready to serve.", body = Health),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = state.pool.clone();
    let ready = web::block(move || {
        let mut conn = pool
            .get_timeout(Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        persistence::pool::is_ready(&mut conn).map_err(|e| e.to_string())
    })
    .await?;
    match ready {
        Ok(true) => Ok(HttpResponse::Ok().json(Health {
            status: "ready".into(),
        })),
        Ok(false) => Err(ApiError::unavailable("migrations pending")),
        Err(e) => Err(ApiError::unavailable(e)),
    }
}
