//! Administration of the catalogue (the annex table, R8) and of rounds (R3, R6, R18).

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, LOCATION};
use actix_web::{HttpRequest, HttpResponse, patch, post, put, web};
use chrono::{DateTime, Utc};
use domain::catalog::parse_rules_csv;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::principal::AdminUser;
use crate::http::etag;
use crate::http::extract::{ApiJson, read_body_with_limit};
use crate::http::problem::{ApiError, Msg};
use crate::routes::rounds::RoundView;
use crate::state::AppState;
use crate::use_cases::catalogue::{self, ImportReport};
use crate::use_cases::rounds::{self, PledgeForm, RoundForm, RoundPatchForm, WindowForm};

/// The largest catalogue document or annex CSV accepted.
pub const CATALOG_LIMIT: usize = 8 * 1024 * 1024;

/// What an import stored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"version_id": 3, "label": "示例目录（据通知附件2整理，非正式）", "courses": 14,
    "majors": 3, "degree_rules": 20, "certificate_rules": 8}))]
pub struct ImportReportView {
    /// The new current catalogue version. Rounds created from now on are pinned to it;
    /// existing rounds keep theirs.
    pub version_id: i64,
    /// The catalogue's label.
    pub label: String,
    /// Courses stored.
    pub courses: usize,
    /// Majors stored.
    pub majors: usize,
    /// Degree rules (annex rows) stored.
    pub degree_rules: usize,
    /// Certificate rules stored.
    pub certificate_rules: usize,
}

impl From<ImportReport> for ImportReportView {
    fn from(r: ImportReport) -> Self {
        Self {
            version_id: r.version_id,
            label: r.label,
            courses: r.courses,
            majors: r.majors,
            degree_rules: r.degree_rules,
            certificate_rules: r.certificate_rules,
        }
    }
}

async fn body_of(
    req: &HttpRequest,
    payload: &mut Payload,
    mime: &str,
) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if declared.as_deref() != Some(mime) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type.unsupported",
            Msg::new("不支持的内容类型", "Unsupported media type"),
            Msg::new(
                format!("请求体必须是 {mime}"),
                format!("the body must be {mime}"),
            ),
        ));
    }
    // A catalogue is larger than ordinary bodies: this route has its own limit.
    Ok(read_body_with_limit(req, payload, CATALOG_LIMIT)
        .await?
        .to_vec())
}

/// Replaces the catalogue from one JSON document (R8).
///
/// The document (the format of `data/sample-catalog.json`: `label`, `courses`,
/// `majors`, `degree_rules`, `certificate_rules`) is validated whole; every problem
/// is reported at once with its JSON path (`majors[1].plan[3]`), and nothing is
/// stored unless all is well. A valid document becomes a new catalogue version,
/// served at once; rounds already created keep the version they were pinned to.
#[utoipa::path(
    tag = "admin",
    operation_id = "import_catalog",
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "A catalogue document, as data/sample-catalog.json.",
        example = json!({"label": "2026年下半年目录", "courses": [{"code": "03708", "name": "中国近代史纲要", "credits": 2}],
            "majors": [{"code": "100701", "name": "药学", "level": "bachelor", "plan": ["03708"]}],
            "degree_rules": [{"major_code": "100701", "course_code": "03708", "evidence": "none"}],
            "certificate_rules": []})),
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "Stored as the new current version.", body = ImportReportView),
    )
)]
#[put("/admin/catalog")]
pub async fn import_catalog(
    admin: AdminUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = body_of(&req, &mut payload.into_inner(), "application/json").await?;
    let catalog = catalogue::parse_document(&body).map_err(catalogue::invalid)?;
    let cache = state.catalog.clone();
    let report = state
        .change(move |conn| Ok(catalogue::import(conn, Some(&admin.0), &cache, &catalog)?))
        .await?;
    Ok(HttpResponse::Created().json(ImportReportView::from(report)))
}

/// Imports the annex table (degree rules) as CSV (R8, R10–R12).
///
/// UTF-8 with or without BOM, CRLF or LF, RFC 4180 quoting; header
/// `major_code,course_code,evidence,expected_names,score_terms,pass_mark,prior_levels,prior_majors`
/// (any order; optional `id`), list cells separated by `|`. The rows replace the
/// degree rules of the current catalogue; the result is validated whole (a problem
/// names its row and column, the header being row 1) and stored as a new version,
/// or nothing is stored.
#[utoipa::path(
    tag = "admin",
    operation_id = "import_rules_csv",
    request_body(content = String, content_type = "text/csv",
        description = "The annex table.",
        example = "major_code,course_code,evidence,expected_names,score_terms,pass_mark,prior_levels,prior_majors\r\n100701,03708,none,,,,,\r\n100701,00015,course_and_scores,大学英语,3,60,,\r\n"),
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "Stored as the new current version.", body = ImportReportView),
        (status = 409, description = "`state.conflict`: no catalogue yet; import a JSON catalogue first.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/admin/catalog/rules.csv")]
pub async fn import_rules_csv(
    admin: AdminUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = body_of(&req, &mut payload.into_inner(), "text/csv").await?;
    let text = String::from_utf8(body).map_err(|_| {
        ApiError::field(
            "body",
            domain::Violation::new(
                "csv.encoding",
                "CSV 文件必须是 UTF-8 编码",
                "the CSV file must be UTF-8",
            ),
        )
    })?;
    let rules = parse_rules_csv(&text).map_err(catalogue::invalid)?;
    let cache = state.catalog.clone();
    let report = state
        .change(move |conn| {
            Ok(catalogue::replace_degree_rules(
                conn, &admin.0, &cache, rules,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(ImportReportView::from(report)))
}

/// A window as given by an admin.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    /// When it opens (RFC 3339 instant).
    pub opens_at: DateTime<Utc>,
    /// The last instant inside it; a deadline "until 23 March" is `…-03-23T23:59:59.999+08:00`.
    pub closes_at: DateTime<Utc>,
}

/// A pledge as given by an admin.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PledgeInput {
    /// Version label (1–50 characters) that prior-degree applications must name.
    pub version: String,
    /// The full text.
    pub text: String,
}

/// A new round.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "2026年下半年",
    "prior_degree_window": {"opens_at": "2026-03-01T00:00:00+08:00", "closes_at": "2026-03-23T23:59:59.999+08:00"},
    "certification_window": {"opens_at": "2026-09-01T00:00:00+08:00", "closes_at": "2026-09-30T23:59:59.999+08:00"},
    "pledge": {"version": "2026-2", "text": "本人承诺所提交信息真实、准确……"}
}))]
pub struct NewRoundInput {
    /// Human name (1–100 characters).
    pub name: String,
    /// When prior-degree applications are accepted (R6).
    pub prior_degree_window: WindowInput,
    /// When certification applications are accepted (R18).
    pub certification_window: WindowInput,
    /// The pledge (R3).
    pub pledge: PledgeInput,
}

impl From<WindowInput> for WindowForm {
    fn from(w: WindowInput) -> Self {
        (w.opens_at, w.closes_at)
    }
}

impl From<PledgeInput> for PledgeForm {
    fn from(p: PledgeInput) -> Self {
        (p.version, p.text)
    }
}

/// Creates a round, pinned to the current catalogue version.
#[utoipa::path(
    tag = "admin",
    operation_id = "create_round",
    request_body = NewRoundInput,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The round; `ETag` carries its version.", body = RoundView),
        (status = 409, description = "`state.conflict`: no catalogue yet.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/admin/rounds")]
pub async fn create_round(
    admin: AdminUser,
    state: web::Data<AppState>,
    body: ApiJson<NewRoundInput>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let form = RoundForm {
        name: body.name,
        prior_degree_window: body.prior_degree_window.into(),
        certification_window: body.certification_window.into(),
        pledge: body.pledge.into(),
    };
    let now = Utc::now();
    let record = state
        .change(move |conn| Ok(rounds::create(conn, &admin.0, &form, now)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag::etag_header(record.version))
        .insert_header((LOCATION, format!("/api/v1/rounds/{}", record.id)))
        .json(RoundView::new(record, now)))
}

/// Changes to a round; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"certification_window": {"opens_at": "2026-09-01T00:00:00+08:00", "closes_at": "2026-10-08T23:59:59.999+08:00"}}))]
pub struct RoundPatch {
    /// New name.
    pub name: Option<String>,
    /// New prior-degree window.
    pub prior_degree_window: Option<WindowInput>,
    /// New certification window.
    pub certification_window: Option<WindowInput>,
    /// New pledge (a new version: earlier acceptances named the old one).
    pub pledge: Option<PledgeInput>,
}

/// Changes a round (e.g. extends a deadline). Its catalogue version never changes.
///
/// `If-Match` with the `ETag` you read is required (428 `precondition.required`
/// without it): a round changed meanwhile gives 412 `version.stale`.
#[utoipa::path(
    tag = "admin",
    operation_id = "update_round",
    params(
        ("id" = Uuid, Path, description = "Round id."),
        ("If-Match" = String, Header, description = "The `ETag` last read, e.g. `\"3\"` (required), or `*` to change whatever version is current."),
    ),
    request_body = RoundPatch,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The changed round with its new `ETag`.", body = RoundView),
    )
)]
#[patch("/admin/rounds/{id}")]
pub async fn update_round(
    admin: AdminUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<RoundPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::http::extract::parse_id(&id)?;
    let expected = etag::required_if_match(&req)?;
    let body = body.0;
    let patch = RoundPatchForm {
        name: body.name,
        prior_degree_window: body.prior_degree_window.map(Into::into),
        certification_window: body.certification_window.map(Into::into),
        pledge: body.pledge.map(Into::into),
    };
    let now = Utc::now();
    let record = state
        .change(move |conn| Ok(rounds::update(conn, &admin.0, (id, expected), &patch, now)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag::etag_header(record.version))
        .json(RoundView::new(record, now)))
}
