//! Prior degrees (前置学历, R3–R7): the pledge, the draft, modify, submit, and the
//! verification feedback, single and in batches.
//!
//! Each handler parses the request, calls one use case
//! ([`crate::use_cases::prior_degrees`]) and renders its answer. State machine:
//! `draft` → `submitted` → `effective` | `rejected`; `rejected` → (edit) →
//! `submitted` again; `effective` is final. See [`domain::prior_degree`].

mod batch;
mod types;

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::Utc;
use domain::Violation;
use domain::prior_degree::PriorDegreeStatus;

pub use self::batch::MAX_BATCH_ROWS;
pub use self::types::*;
use crate::auth::principal::{CandidateUser, Person, StaffAdminOrIntegration};
use crate::http::etag;
use crate::http::extract::{ApiJson, ApiQuery, lang_of as lang, parse_id, read_body};
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::{ApiError, Lang};
use crate::state::AppState;
use crate::use_cases::prior_degrees::{self as cases, Shown};

/// The prior degree as the answer, with its `ETag` (and `Location` when created).
fn respond(status: StatusCode, shown: Shown, lang: Lang) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder.insert_header(etag::etag_header(shown.row.version));
    if status == StatusCode::CREATED {
        builder.insert_header((LOCATION, format!("/api/v1/prior-degrees/{}", shown.row.id)));
    }
    builder.json(PriorDegreeView::of(shown, lang))
}

/// Creates a draft prior degree for the signed-in candidate.
///
/// Step 3–5 of the walkthrough: the candidate accepts the current round's pledge
/// (`pledge_accepted: true` with its `pledge_version`, R3; otherwise 422
/// `pledge.not_accepted`) and saves the application as a **draft**. Only inside the
/// current round's prior-degree window (422 `window.closed`, R6). Every field is
/// checked and all problems are reported at once; the certificate number is checked
/// against the declared level, education type and graduation year
/// (`certificate_number.format`, `certificate_number.mismatch`; a 17-digit pre-2002
/// number passes with a warning). A certificate number belongs to at most one
/// candidate: 409 `state.conflict` when it is already registered. The record keeps
/// which pledge version was accepted and when.
///
/// State machine: `draft` →(submit)→ `submitted` (verification `pending`)
/// →(verification)→ `effective` (final; the only status usable for degree-based
/// certification, R7) or `rejected` →(modify, submit)→ `submitted` again.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "create_prior_degree",
    request_body = NewPriorDegree,
    security(("bearer" = ["candidate"])),
    responses(
        (status = 201, description = "The draft.", body = PriorDegreeView,
            headers(("ETag" = String, description = "The version, quoted."),
                    ("Location" = String, description = "The new prior degree."))),
        (status = 409, description = "`state.conflict`: the certificate number is already registered.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`validation` (per field), `pledge.not_accepted` or `window.closed`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/prior-degrees")]
pub async fn create_prior_degree(
    user: CandidateUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<NewPriorDegree>,
) -> Result<HttpResponse, ApiError> {
    let new = body.0.into();
    let shown = state
        .change(move |conn| Ok(cases::create(conn, &user.0, Utc::now(), &new)?))
        .await?;
    Ok(respond(StatusCode::CREATED, shown, lang(&req)))
}

/// Lists the prior degrees the caller may see.
///
/// Newest first. A candidate sees their own, staff their school's candidates', admins
/// all; service accounts get 403. Optional `status` filter.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "list_prior_degrees",
    params(ListQuery),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses((status = 200, description = "One page of prior degrees.", body = Paginated<PriorDegreeView>))
)]
#[get("/prior-degrees")]
pub async fn list_prior_degrees(
    user: Person,
    req: HttpRequest,
    state: web::Data<AppState>,
    query: ApiQuery<ListQuery>,
) -> Result<web::Json<Paginated<PriorDegreeView>>, ApiError> {
    let query = query.0;
    let page = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .check()?;
    let status = match query.status.as_deref() {
        None => None,
        Some(s) => Some(PriorDegreeStatus::parse(s.trim()).ok_or_else(|| {
            ApiError::field(
                "status",
                Violation::new(
                    "status.unknown",
                    "status 须为 draft、submitted、effective 或 rejected",
                    "status is draft, submitted, effective or rejected",
                ),
            )
        })?),
    };
    let (rows, total) = state
        .db(move |conn| {
            let window = (page.offset(), page.per_page);
            Ok(cases::list(conn, &user.0, Utc::now(), status, window)?)
        })
        .await?;
    let lang = lang(&req);
    let items = rows
        .into_iter()
        .map(|s| PriorDegreeView::of(s, lang))
        .collect();
    Ok(web::Json(page.wrap(items, total)))
}

/// One prior degree.
///
/// The prior degree with its pledge acceptance, its verification feedback
/// (`verification.status`: `not_submitted`, `pending`, `effective`, `rejected`) and the
/// actions its holder may take now. Visible to its holder, staff of the holder's school
/// and admins; anyone else gets 404.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "get_prior_degree",
    params(("id" = Uuid, Path, description = "The prior degree's id.")),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The prior degree.", body = PriorDegreeView,
            headers(("ETag" = String, description = "The version, quoted; send it as If-Match."))),
    )
)]
#[get("/prior-degrees/{id}")]
pub async fn get_prior_degree(
    user: Person,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let shown = state
        .db(move |conn| Ok(cases::get(conn, &user.0, Utc::now(), id)?))
        .await?;
    Ok(respond(StatusCode::OK, shown, lang(&req)))
}

/// Modifies a draft or rejected prior degree.
///
/// Step 6 ("modify", R4): the holder changes any of the declared fields while the prior
/// degree is `draft` or `rejected` (otherwise 409 `state.conflict`), inside the current
/// round's prior-degree window (422 `window.closed`, R6). The whole record is checked
/// again, the certificate number against the declared fields. The `ETag` last read is
/// required as `If-Match` (428 `precondition.required` without it); a stale version is
/// 412 `version.stale`. The status does not change; a
/// rejected degree stays `rejected` until it is submitted again.
///
/// State machine: `draft` →(submit)→ `submitted` →(verification)→ `effective` (final)
/// or `rejected` →(modify, submit)→ `submitted` again.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "update_prior_degree",
    params(
        ("id" = Uuid, Path, description = "The prior degree's id."),
        ("If-Match" = String, Header, description = "The ETag last read, e.g. \"2\" (required), or `*` to change whatever version is current."),
    ),
    request_body = PriorDegreeChanges,
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The prior degree as changed.", body = PriorDegreeView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 409, description = "`state.conflict`: not `draft` or `rejected`, or the certificate number is registered already.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[patch("/prior-degrees/{id}")]
pub async fn update_prior_degree(
    user: CandidateUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<PriorDegreeChanges>,
) -> Result<HttpResponse, ApiError> {
    let target = etag::patch_target(&req, &id)?;
    let changes = body.0.into();
    let shown = state
        .change(move |conn| Ok(cases::update(conn, &user.0, Utc::now(), target, &changes)?))
        .await?;
    Ok(respond(StatusCode::OK, shown, lang(&req)))
}

/// Submits a draft or rejected prior degree for verification.
///
/// Steps 5–6 ("submit", R4): `draft` or `rejected` → `submitted`, verification
/// `pending`; any earlier feedback is cleared from the record (the history keeps it).
/// Only the holder, only inside the current round's prior-degree window (422
/// `window.closed`, R6); from any other status 409 `state.conflict`. `If-Match` is
/// honoured (412 `version.stale`).
///
/// State machine: `draft` →(submit)→ `submitted` →(verification)→ `effective` (final)
/// or `rejected` →(modify, submit)→ `submitted` again.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "submit_prior_degree",
    params(
        ("id" = Uuid, Path, description = "The prior degree's id."),
        ("If-Match" = Option<String>, Header, description = "The ETag last read."),
    ),
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The prior degree, now `submitted`.", body = PriorDegreeView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 409, description = "`state.conflict`: not `draft` or `rejected`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`window.closed`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/prior-degrees/{id}/submit")]
pub async fn submit_prior_degree(
    user: CandidateUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = etag::target(&req, &id)?;
    let shown = state
        .change(move |conn| Ok(cases::submit(conn, &user.0, Utc::now(), target)?))
        .await?;
    Ok(respond(StatusCode::OK, shown, lang(&req)))
}

/// Records the verification result of a submitted prior degree.
///
/// Step 7 (R5): the CHSI (学信网) verification feedback. `submitted` → `effective` (final:
/// usable for degree-based certification, R7) or `rejected` (the holder may modify and
/// submit again; `feedback` is required and tells them what to correct). From any other
/// status 409 `state.conflict`. By staff of the holder's school, admins, or service
/// accounts with scope `verification:write` (without it 403); other staff get 404. Not
/// bound to the window. Writes a history row and a `verification_result` notification
/// to the outbox for the holder, in the same transaction. `If-Match` is honoured (412
/// `version.stale`).
///
/// State machine: `draft` →(submit)→ `submitted` →(verification)→ `effective` (final)
/// or `rejected` →(modify, submit)→ `submitted` again.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "verify_prior_degree",
    params(
        ("id" = Uuid, Path, description = "The prior degree's id."),
        ("If-Match" = Option<String>, Header, description = "The ETag last read."),
    ),
    request_body = VerificationRequest,
    security(("bearer" = ["staff", "admin", "integration"])),
    responses(
        (status = 200, description = "The prior degree with its result.", body = PriorDegreeView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 409, description = "`state.conflict`: not `submitted`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/prior-degrees/{id}/verification")]
pub async fn verify_prior_degree(
    user: StaffAdminOrIntegration,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<VerificationRequest>,
) -> Result<HttpResponse, ApiError> {
    cases::require_verifier(&user.0)?;
    let target = etag::target(&req, &id)?;
    let VerificationRequest { result, feedback } = body.0;
    let shown = state
        .change(move |conn| {
            let verdict = (result.as_str(), feedback.as_deref());
            Ok(cases::verify(conn, &user.0, Utc::now(), target, verdict)?)
        })
        .await?;
    Ok(respond(StatusCode::OK, shown, lang(&req)))
}

/// Records many verification results at once.
///
/// The verification feedback for many prior degrees, by certificate number: a JSON
/// array of `{certificate_number, result, feedback}` (`Content-Type: application/json`)
/// or CSV (`Content-Type: text/csv`, UTF-8, a header row naming the columns
/// `certificate_number,result,feedback`, fields quoted as in RFC 4180 when they hold
/// commas). Each row is applied in its own transaction exactly like `POST
/// /prior-degrees/{id}/verification` (history row, outbox notification); a bad row —
/// malformed, unknown or not visible (`not_found`), not `submitted` (`state.conflict`)
/// — is reported and rejects nothing else. The report has one row per input row, in
/// order. Staff reach only their school's candidates; service accounts need
/// `verification:write`. At most 1000 rows.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "verify_prior_degrees_batch",
    request_body(description = "The results.", content(
        (Vec<BatchRow> = "application/json", example = json!([
            {"certificate_number": "106521201506001234", "result": "effective", "feedback": null},
            {"certificate_number": "106521201506005678", "result": "rejected", "feedback": "学信网查无此证书"}])),
        (String = "text/csv", example = json!("certificate_number,result,feedback\n106521201506001234,effective,\n106521201506005678,rejected,学信网查无此证书\n")),
    )),
    security(("bearer" = ["staff", "admin", "integration"])),
    responses(
        (status = 200, description = "One report row per input row.", body = BatchReport),
    )
)]
#[post("/prior-degrees/verifications")]
pub async fn verify_prior_degrees_batch(
    user: StaffAdminOrIntegration,
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    cases::require_verifier(&user.0)?;
    let mut payload = payload.into_inner();
    let body = read_body(&req, &mut payload).await?;
    let rows = batch::parse_batch(&req, &body)?;
    let lang = lang(&req);
    let now = Utc::now();
    let reports = state
        .change(move |conn| {
            Ok(rows
                .into_iter()
                .enumerate()
                .map(|(i, row)| batch::apply_row(conn, &user.0, i + 1, row, now, lang))
                .collect::<Vec<_>>())
        })
        .await?;
    let applied = reports
        .iter()
        .filter(|r| r.outcome == RowOutcome::Applied)
        .count();
    Ok(HttpResponse::Ok().json(BatchReport {
        total: reports.len(),
        applied,
        failed: reports.len() - applied,
        rows: reports,
    }))
}

/// Every change of a prior degree.
///
/// Every change, oldest first: who (account and role), when, from which status to
/// which, and a note (the verification feedback, or the fields changed). Visible to
/// whoever may see the prior degree.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "get_prior_degree_history",
    params(("id" = Uuid, Path, description = "The prior degree's id."), PageQuery),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The history.", body = Paginated<HistoryEntry>),
    )
)]
#[get("/prior-degrees/{id}/history")]
pub async fn get_prior_degree_history(
    user: Person,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: ApiQuery<PageQuery>,
) -> Result<web::Json<Paginated<HistoryEntry>>, ApiError> {
    let id = parse_id(&id)?;
    let page = query.0.check()?;
    let rows = state
        .db(move |conn| Ok(cases::history(conn, &user.0, id)?))
        .await?;
    let total = rows.len() as i64;
    let items = rows
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(0))
        .map(HistoryEntry::from)
        .collect();
    Ok(web::Json(page.wrap(items, total)))
}
