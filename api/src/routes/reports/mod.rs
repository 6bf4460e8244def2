//! What staff and integrations take away: the streamed CSV export, statistics,
//! and signed decisions (R19, R20). The handlers call
//! [`crate::use_cases::reports`] and [`crate::use_cases::decisions`].

mod csv;
mod types;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use chrono::Utc;

pub use self::types::*;
use crate::auth::principal::{Person, StaffOrAdmin};
use crate::http::extract::ApiQuery;
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::use_cases::{decisions, reports};

type Chunk = Result<Bytes, std::io::Error>;

/// Exports the filtered applications as CSV, one row per course (item).
///
/// Columns: `application_id, exam_number, candidate_name, school_code, major_code,
/// round, route, certificate_kind, course_code, course_name, learned_course_name,
/// score_text, status, decision, decision_reason, submitted_at, reviewed_at`
/// (times in Asia/Shanghai). It opens correctly in Excel: UTF-8 with BOM, CRLF,
/// RFC 4180 quoting; cells starting with `= + - @` get a leading `'`. The file is
/// streamed from the database in chunks, so memory does not grow with its size.
/// Staff export only their school.
#[utoipa::path(
    tag = "staff",
    operation_id = "export_applications_csv",
    params(ExportQuery),
    security(("bearer" = ["staff", "admin"])),
    responses((status = 200, description = "The CSV file (streamed).", content_type = "text/csv",
        body = String,
        example = "\u{feff}application_id,exam_number,candidate_name,...\r\n0193…,010118200123,张三,HBU01,100701,2026年下半年,degree,,00015,英语（二）,大学英语,60;65;70,submitted,,,2026-09-10T10:00:00+08:00,\r\n"))
)]
#[get("/staff/exports/certification-applications.csv")]
pub async fn export_applications(
    user: StaffOrAdmin,
    state: web::Data<AppState>,
    query: ApiQuery<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = reports::export_query(&user.0, query.0.into())?;
    let catalog = state.catalog.current();
    // Take the connection before answering, so an unreachable database is a 503,
    // not a broken file.
    let pool = state.pool.clone();
    let mut conn = web::block(move || pool.get())
        .await?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    // A small bounded channel: the database is read only as fast as the client
    // takes the file (back-pressure), so memory stays flat.
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = csv::start();
        let sent = reports::export(&mut conn, &filter, catalog, |rows| {
            csv::lines(&mut out, &rows);
            tx.blocking_send(Ok(Bytes::from(std::mem::take(&mut out))))
                .is_ok()
        });
        if let Err(e) = sent {
            tracing::error!(error = ?e, "export failed midway");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            "attachment; filename=\"certification-applications.csv\"",
        ))
        .insert_header((CACHE_CONTROL, "no-store"))
        .streaming(stream))
}

/// Counts applications by status, major and course, and prior degrees by
/// verification status, for a round and the caller's scope (staff: their school).
#[utoipa::path(
    tag = "staff",
    operation_id = "statistics",
    params(StatsQuery),
    security(("bearer" = ["staff", "admin"])),
    responses((status = 200, description = "The counts.", body = StatsView))
)]
#[get("/staff/stats")]
pub async fn statistics(
    user: StaffOrAdmin,
    state: web::Data<AppState>,
    query: ApiQuery<StatsQuery>,
) -> Result<web::Json<StatsView>, ApiError> {
    let StatsQuery {
        round_id,
        school_code,
    } = query.0;
    let catalog = state.catalog.current();
    let statistics = state
        .db(move |conn| {
            let asked = (round_id.as_deref(), school_code.as_deref());
            Ok(reports::statistics(conn, &user.0, catalog, asked)?)
        })
        .await?;
    Ok(web::Json(statistics.into()))
}

/// The review's decision, signed with the service's key (R20).
///
/// Once an application is reviewed, its owner, staff of the candidate's school
/// and admins get a compact JWS (header `typ: zikao-decision+jwt`, signed with the
/// decision key, never the access-token key) holding the candidate's exam number,
/// the round and each course with its decision, valid for a year (`exp`; fetch it
/// again for a fresh one). Anyone can verify it with the key `kid` of
/// `/.well-known/jwks.json` (EdDSA / Ed25519); a changed byte fails verification.
/// Before the review: 409 `state.conflict`.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "signed_decision",
    params(("id" = Uuid, Path, description = "Application id.")),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The signed decision.", body = SignedDecision),
        (status = 409, description = "`state.conflict`: not reviewed yet.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/certification-applications/{id}/decision")]
pub async fn signed_decision(
    user: Person,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<SignedDecision>, ApiError> {
    let id = crate::http::extract::parse_id(&id)?;
    let cache = state.catalog.clone();
    let decision = state
        .db(move |conn| Ok(decisions::of_application(conn, &user.0, &cache, id)?))
        .await?;
    let claims = DecisionClaims::of(decision, Utc::now());
    let (jws, kid) = (state.keys.sign_decision(&claims)).map_err(ApiError::internal)?;
    Ok(web::Json(SignedDecision {
        jws,
        kid,
        alg: "EdDSA".into(),
        jwks_uri: "/.well-known/jwks.json".into(),
        claims,
    }))
}
