//! Rounds: their windows and pledge (R3, R6, R18), and the current one.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use domain::window::Window;
use persistence::rounds::RoundRecord;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::etag;
use crate::http::extract::ApiQuery;
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::use_cases::rounds;

/// A window in which applications are accepted (both ends included).
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    /// When it opens.
    pub opens_at: DateTime<Utc>,
    /// The last instant still inside it (a date's deadline is 23:59:59.999 in Asia/Shanghai).
    pub closes_at: DateTime<Utc>,
    /// Whether it is open now, by the server clock.
    pub is_open: bool,
}

impl WindowView {
    fn new(window: Window, now: DateTime<Utc>) -> Self {
        Self {
            opens_at: window.opens_at(),
            closes_at: window.closes_at(),
            is_open: window.is_open(now),
        }
    }
}

/// The declaration accepted before a prior-degree application (R3).
#[derive(Debug, Serialize, ToSchema)]
pub struct PledgeView {
    /// Version label; a prior-degree application names the version it accepted.
    pub version: String,
    /// The full text.
    pub text: String,
}

/// A round.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01938f6e-1c2d-7e8f-9a0b-1c2d3e4f5a6b", "name": "2018年下半年",
    "prior_degree_window": {"opens_at": "2018-02-28T16:00:00Z", "closes_at": "2018-03-23T15:59:59.999Z", "is_open": false},
    "certification_window": {"opens_at": "2018-08-31T16:00:00Z", "closes_at": "2018-09-30T15:59:59.999Z", "is_open": false},
    "pledge": {"version": "2018-2", "text": "本人承诺……"},
    "catalog_version_id": 1, "created_at": "2018-02-20T02:00:00Z", "updated_at": "2018-02-20T02:00:00Z", "version": 1
}))]
pub struct RoundView {
    /// Round id (UUIDv7).
    pub id: Uuid,
    /// Human name.
    pub name: String,
    /// When prior-degree applications are accepted (R6).
    pub prior_degree_window: WindowView,
    /// When certification applications are accepted (R18).
    pub certification_window: WindowView,
    /// The pledge (R3).
    pub pledge: PledgeView,
    /// The catalogue version the round is pinned to (its rules never change).
    pub catalog_version_id: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; also sent as the `ETag`.
    pub version: i32,
}

impl RoundView {
    pub(crate) fn new(r: RoundRecord, now: DateTime<Utc>) -> Self {
        Self {
            id: r.id,
            name: r.name,
            prior_degree_window: WindowView::new(r.prior_degree_window, now),
            certification_window: WindowView::new(r.certification_window, now),
            pledge: PledgeView {
                version: r.pledge.version().to_owned(),
                text: r.pledge.text().to_owned(),
            },
            catalog_version_id: r.catalog_version_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// Lists the rounds, newest first.
///
/// Every round, newest first, with its prior-degree and certification windows, its
/// pledge and the catalogue version it is pinned to.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "list_rounds",
    params(PageQuery),
    responses((status = 200, description = "One page of rounds.", body = Paginated<RoundView>,
        example = json!({"items": [], "total": 0, "page": 1, "per_page": 50})))
)]
#[get("/rounds")]
pub async fn list_rounds(
    state: web::Data<AppState>,
    query: ApiQuery<PageQuery>,
) -> Result<web::Json<Paginated<RoundView>>, ApiError> {
    let page = query.0.check()?;
    let (rows, total) = state
        .db(move |conn| Ok(rounds::list(conn, (page.offset(), page.per_page))?))
        .await?;
    let now = Utc::now();
    Ok(web::Json(page.wrap(
        rows.into_iter().map(|r| RoundView::new(r, now)).collect(),
        total,
    )))
}

/// The current round.
///
/// The most recently opened round with a window open now (by the server clock): among
/// the rounds whose prior-degree or certification window is open, the one whose open
/// window opened last. Prior degrees use its pledge and prior-degree window;
/// applications default to it. The `ETag` is the round's `version`.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "get_current_round",
    responses(
        (status = 200, description = "The current round.", body = RoundView,
            headers(("ETag" = String, description = "The round's version, quoted, e.g. \"1\"."))),
        (status = 404, description = "No round has a window open now.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json",
            example = json!({"type": "urn:zikao-cert:problem:not_found", "title": "未找到", "status": 404,
                "detail": "当前没有开放中的轮次", "code": "not_found", "errors": []})),
    )
)]
#[get("/rounds/current")]
pub async fn get_current_round(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let round = state
        .db(move |conn| Ok(rounds::current(conn, now)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag::etag_header(round.version))
        .json(RoundView::new(round, now)))
}
