//! Certification applications (学历成果认证申请): create, read, change, check, submit,
//! withdraw, return, review and history (R7–R20).
//!
//! Each handler parses the request, calls one use case
//! ([`crate::use_cases::applications`], [`crate::use_cases::reviews`]) and renders
//! its answer; the rules are in `domain::application`, who may do what in
//! [`crate::access`].

mod types;

use actix_web::http::header::{self, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::Utc;
use domain::CourseCode;
use domain::application::ReviewChoice;

pub use self::types::*;
use crate::auth::principal::{CandidateUser, Person, StaffOrAdmin};
use crate::http::etag;
use crate::http::extract::{ApiJson, ApiQuery, from_json_slice, lang_of, parse_id};
use crate::http::pagination::Paginated;
use crate::http::problem::{ApiError, FieldChecks, Lang};
use crate::state::AppState;
use crate::use_cases::applications::{self as cases, Application, Change, Draft};
use crate::use_cases::reviews;

fn with_etag(
    mut builder: actix_web::HttpResponseBuilder,
    application: Application,
) -> HttpResponse {
    let view = ApplicationView::of(application);
    builder
        .insert_header(etag::etag_header(view.version))
        .json(view)
}

/// The optional JSON body of an action (empty: the default).
fn optional_body<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        from_json_slice(body)
    }
}

/// Creates a draft application.
///
/// Creates a **draft** for the signed-in candidate in a round (default: the current
/// one), inside the round's certification window (`window.closed`, R18). `kind: degree`
/// needs an effective prior degree of the candidate (`prior_degree.not_effective`, R7);
/// `kind: certificate` needs `certificate: {kind, number, obtained_on}` (R13–R15).
/// Every item is checked against the rules of the round's catalogue version:
/// `course.not_certifiable` (R8, R13–R15), `evidence.not_allowed` (R10),
/// `evidence.required` (R11), `score.separator`, `score.count`, `score.range`,
/// `score.below_pass_mark` (R12), `score.conflict` (both score forms, differing), and
/// 409 `course.duplicate` (twice here, or held by another submitted or certified
/// application). Scores come as `scores: [60,65,70]` or `score_text: "60;65;70"`; they
/// are stored canonically. A learned course name the table does not expect is only a
/// warning (see `…/check`).
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "create_certification_application",
    request_body = CreateApplication,
    security(("bearer" = ["candidate"])),
    responses(
        (status = 201, description = "The draft.", body = ApplicationView,
            headers(("ETag" = String, description = "The version, quoted."),
                    ("Location" = String, description = "The application's URL."))),
        (status = 409, description = "`course.duplicate`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A rule is broken: see `errors[]` (`items[2].score_text` …).", body = crate::http::problem::ProblemBody, content_type = "application/problem+json",
            example = json!({"type": "urn:zikao-cert:problem:score.separator", "title": "请求内容不符合规则", "status": 422,
                "detail": "成绩之间必须用英文分号 ; 分隔", "code": "score.separator",
                "errors": [{"field": "items[2].score_text", "code": "score.separator", "message": "成绩之间必须用英文分号 ; 分隔"}]})),
    )
)]
#[post("/certification-applications")]
pub async fn create_application(
    user: CandidateUser,
    state: web::Data<AppState>,
    body: ApiJson<CreateApplication>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let draft = Draft {
        kind: body.kind.into(),
        round_id: body.round_id,
        prior_degree_id: body.prior_degree_id,
        certificate: body.certificate.as_ref().map(Into::into),
        items: drafts(&body.items),
    };
    let cache = state.catalog.clone();
    let created = state
        .change(move |conn| Ok(cases::create(conn, &user.0, &cache, Utc::now(), &draft)?))
        .await?;
    let mut builder = HttpResponse::Created();
    let location = format!("/api/v1/certification-applications/{}", created.row.id);
    builder.insert_header((LOCATION, location));
    Ok(with_etag(builder, created))
}

/// Lists applications the caller may see.
///
/// Newest first. A candidate sees their own applications, staff those of their school's
/// candidates, an admin all. Filters: `status`, `round_id`, `major_code`,
/// `school_code`, `q` (name or exam number). Items show parsed `scores` and
/// `score_text` (R20).
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "list_certification_applications",
    params(ListQuery),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses((status = 200, description = "One page of applications.", body = Paginated<ApplicationView>))
)]
#[get("/certification-applications")]
pub async fn list_applications(
    user: Person,
    state: web::Data<AppState>,
    query: ApiQuery<ListQuery>,
) -> Result<web::Json<Paginated<ApplicationView>>, ApiError> {
    let (page, filter) = query.0.checked()?;
    let cache = state.catalog.clone();
    let (applications, total) = state
        .db(move |conn| {
            let (offset, limit) = (page.offset(), page.per_page);
            Ok(cases::list(conn, &user.0, &cache, &filter, offset, limit)?)
        })
        .await?;
    let views = applications.into_iter().map(ApplicationView::of).collect();
    Ok(web::Json(page.wrap(views, total)))
}

/// One application.
///
/// The application with its courses, parsed scores and canonical score text (R20).
/// Visible to its owner, staff of the candidate's school and admins; 404 for anyone
/// else.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "get_certification_application",
    params(("id" = Uuid, Path, description = "Application id.")),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The application.", body = ApplicationView,
            headers(("ETag" = String, description = "The version, quoted."))),
    )
)]
#[get("/certification-applications/{id}")]
pub async fn get_application(
    user: Person,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let cache = state.catalog.clone();
    let application = state
        .db(move |conn| Ok(cases::get(conn, &user.0, &cache, id)?))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), application))
}

/// Changes a draft or returned application.
///
/// Replaces the items and/or the route's evidence (another effective prior degree, or
/// another certificate) while the application is `draft` or `returned` (else 409
/// `state.conflict`) and the window is open (`window.closed`). Checked like creation.
/// `If-Match` with the `ETag` last read is required (428 `precondition.required`
/// without it); a change made elsewhere meanwhile gives 412 `version.stale`.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "update_certification_application",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = String, Header, description = "The ETag last read (required), or `*` to change whatever version is current.")),
    request_body = UpdateApplication,
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The application as it is now.", body = ApplicationView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 409, description = "`state.conflict` or `course.duplicate`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[patch("/certification-applications/{id}")]
pub async fn update_application(
    req: HttpRequest,
    user: CandidateUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<UpdateApplication>,
) -> Result<HttpResponse, ApiError> {
    let target = etag::patch_target(&req, &id)?;
    let body = body.0;
    let change = Change {
        prior_degree_id: body.prior_degree_id,
        certificate: body.certificate.as_ref().map(Into::into),
        items: body.items.as_deref().map(drafts),
    };
    let cache = state.catalog.clone();
    let updated = state
        .change(move |conn| {
            Ok(cases::update(
                conn,
                &user.0,
                &cache,
                Utc::now(),
                target,
                &change,
            )?)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), updated))
}

/// The preflight check.
///
/// The seed's reminders as data (R9, R17, R20): every rule problem that would refuse a
/// submission (`errors[]`, same codes as creation, plus `window.closed` and
/// `prior_degree.not_effective`), things to look at (`warnings[]`:
/// `evidence.name_unexpected`, `selection.incomplete`), and the courses this route can
/// certify (`expected_courses`), those selected and those missing, so a frontend can
/// say "you can apply for 4 courses; you selected 3". `ready` is true when submitting
/// now needs no `confirm_missing`. Messages are in the response language.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "check_certification_application",
    params(("id" = Uuid, Path, description = "Application id.")),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The check.", body = CheckView),
    )
)]
#[get("/certification-applications/{id}/check")]
pub async fn check_application(
    req: HttpRequest,
    user: Person,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let lang = lang_of(&req);
    let cache = state.catalog.clone();
    let check = state
        .change(move |conn| Ok(cases::check(conn, &user.0, &cache, Utc::now(), id)?))
        .await?;
    let language = match lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_LANGUAGE, language))
        .insert_header((header::VARY, "Accept-Language"))
        .json(CheckView::of(&check, lang)))
}

/// Submits an application (R17).
///
/// `draft` or `returned` → `submitted`, inside the window (`window.closed`, R18).
/// Refused with the check's errors (422, or 409 `course.duplicate`); refused with 422
/// `selection.incomplete` while certifiable courses are missing, unless
/// `confirm_missing` lists exactly those (R9). Exactly one of two concurrent submits
/// holding the same course succeeds: the database's live-course index decides. Honours
/// `Idempotency-Key`: a retry with the same key and body gets the first answer again.
/// The body may be omitted.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "submit_certification_application",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = Option<String>, Header, description = "The ETag last read.")),
    request_body(content = Option<SubmitApplication>, content_type = "application/json"),
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The submitted application.", body = ApplicationView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 409, description = "`state.conflict` or `course.duplicate`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A rule is broken, or `selection.incomplete`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json",
            example = json!({"type": "urn:zikao-cert:problem:selection.incomplete", "title": "请求内容不符合规则", "status": 422,
                "detail": "按附表您可以申请 4 门课程，已选 3 门，未选：03029。请不要少选；确实不申请的，请在 confirm_missing 中逐一列出这些课程后再提交",
                "code": "selection.incomplete", "errors": [{"field": "confirm_missing", "code": "selection.incomplete",
                "message": "按附表您可以申请 4 门课程，已选 3 门，未选：03029。请不要少选；确实不申请的，请在 confirm_missing 中逐一列出这些课程后再提交"}]})),
    )
)]
#[post("/certification-applications/{id}/submit")]
pub async fn submit_application(
    req: HttpRequest,
    user: CandidateUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let target = etag::target(&req, &id)?;
    let body: SubmitApplication = optional_body(&body)?;
    let mut checks = FieldChecks::default();
    let confirmed: Vec<CourseCode> = (body.confirm_missing.iter().enumerate())
        .filter_map(|(i, code)| {
            checks.check(
                &format!("confirm_missing[{i}]"),
                CourseCode::parse(code.trim()),
            )
        })
        .collect();
    checks.finish()?;
    let cache = state.catalog.clone();
    let submitted = state
        .change(move |conn| {
            Ok(cases::submit(
                conn,
                &user.0,
                &cache,
                Utc::now(),
                target,
                &confirmed,
            )?)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), submitted))
}

/// Withdraws a submitted application back to draft.
///
/// The owner takes a `submitted`, not yet reviewed application back to `draft` while
/// the window is open; its courses are released. 409 `state.conflict` in any other
/// status.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "withdraw_certification_application",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = Option<String>, Header, description = "The ETag last read.")),
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The application, now a draft.", body = ApplicationView),
        (status = 409, description = "`state.conflict`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`window.closed`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/certification-applications/{id}/withdraw")]
pub async fn withdraw_application(
    req: HttpRequest,
    user: CandidateUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = etag::target(&req, &id)?;
    let cache = state.catalog.clone();
    let withdrawn = state
        .change(move |conn| Ok(cases::withdraw(conn, &user.0, &cache, Utc::now(), target)?))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), withdrawn))
}

/// Returns a submitted application to the candidate.
///
/// Staff of the candidate's school or an admin send a `submitted` application back with
/// a reason → `returned`: its courses are released, and the candidate may edit and
/// resubmit it while the window is open. Allowed after the window closes.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "return_certification_application",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = Option<String>, Header, description = "The ETag last read.")),
    request_body = ReturnApplication,
    security(("bearer" = ["staff", "admin"])),
    responses(
        (status = 200, description = "The returned application.", body = ApplicationView),
        (status = 409, description = "`state.conflict`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/certification-applications/{id}/return")]
pub async fn return_application(
    req: HttpRequest,
    user: StaffOrAdmin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<ReturnApplication>,
) -> Result<HttpResponse, ApiError> {
    let target = etag::target(&req, &id)?;
    let reason = body.0.reason;
    let cache = state.catalog.clone();
    let returned = state
        .change(move |conn| {
            let now = Utc::now();
            Ok(reviews::return_to_candidate(
                conn, &user.0, &cache, now, target, &reason,
            )?)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), returned))
}

/// Reviews a submitted application, course by course.
///
/// Staff of the candidate's school or an admin decide every course of a `submitted`
/// application, each once: `approved`, or `rejected` with a reason
/// (`review.reason_required`). The application becomes `approved`, `partially_approved`
/// or `rejected`; rejected courses are released, approved ones stay certified. Allowed
/// after the window closes. Errors: `review.unknown_course`, `review.duplicate`,
/// `review.incomplete`.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "review_certification_application",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = Option<String>, Header, description = "The ETag last read.")),
    request_body = ReviewApplication,
    security(("bearer" = ["staff", "admin"])),
    responses(
        (status = 200, description = "The reviewed application.", body = ApplicationView),
        (status = 409, description = "`state.conflict`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/certification-applications/{id}/review")]
pub async fn review_application(
    req: HttpRequest,
    user: StaffOrAdmin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<ReviewApplication>,
) -> Result<HttpResponse, ApiError> {
    let target = etag::target(&req, &id)?;
    let choices: Vec<ReviewChoice> = body.0.items.iter().map(Into::into).collect();
    let cache = state.catalog.clone();
    let reviewed = state
        .change(move |conn| {
            Ok(reviews::review(
                conn,
                &user.0,
                &cache,
                Utc::now(),
                target,
                &choices,
            )?)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), reviewed))
}

/// Every change of an application.
///
/// Every change, oldest first: who, when, from, to, note.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "get_certification_application_history",
    params(("id" = Uuid, Path, description = "Application id.")),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The history.", body = Vec<HistoryEntry>),
    )
)]
#[get("/certification-applications/{id}/history")]
pub async fn application_history(
    user: Person,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Vec<HistoryEntry>>, ApiError> {
    let id = parse_id(&id)?;
    let rows = state
        .db(move |conn| Ok(cases::history(conn, &user.0, id)?))
        .await?;
    Ok(web::Json(
        rows.into_iter().map(HistoryEntry::from).collect(),
    ))
}
