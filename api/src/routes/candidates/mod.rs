//! School staff's view of their candidates: search, profile and bulk import (R19).
//! The handlers call [`crate::use_cases::candidates`] and
//! [`crate::use_cases::candidate_import`].

mod types;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CACHE_CONTROL};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use domain::candidate_import;
use domain::window::date_in_shanghai;

pub use self::types::*;
use crate::auth::password;
use crate::auth::principal::StaffOrAdmin;
use crate::http::extract::{ApiQuery, read_body_with_limit};
use crate::http::extract::{lang_of as lang, parse_id};
use crate::http::idempotency::carries_secret;
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::{ApiError, Msg};
use crate::routes::views::Profile;
use crate::state::AppState;
use crate::use_cases::Refusal;
use crate::use_cases::candidate_import as import;
use crate::use_cases::candidates as candidates_uc;

/// The largest import file accepted (413 above).
pub const IMPORT_BODY_LIMIT: usize = 5 * 1024 * 1024;

/// Lists candidates, ordered by exam number (R19).
///
/// Staff see only candidates of their own school, admins every candidate
/// (optionally of one `school_code`). ID numbers are masked
/// (`id_number_masked`, e.g. `4201**********123X`; `id_number` is always null here).
#[utoipa::path(
    tag = "staff",
    operation_id = "list_candidates",
    params(CandidateSearch, PageQuery),
    security(("bearer" = ["staff", "admin"])),
    responses((status = 200, description = "One page of candidates, ID numbers masked.", body = Paginated<Profile>,
        example = json!({"items": [{
            "id": "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", "role": "candidate", "role_label": "考生",
            "name": "张三", "exam_number": "010118200123", "id_number": null,
            "id_number_masked": "1101**********002X", "phone": "13800138000", "major_code": "100701",
            "school_code": "HBU01", "username": null, "scopes": [], "must_change_password": false,
            "created_at": "2026-03-01T09:30:00Z"}], "total": 1, "page": 1, "per_page": 50})))
)]
#[get("/staff/candidates")]
pub async fn list_candidates(
    user: StaffOrAdmin,
    state: web::Data<AppState>,
    search: ApiQuery<CandidateSearch>,
    page: ApiQuery<PageQuery>,
) -> Result<web::Json<Paginated<Profile>>, ApiError> {
    let page = page.0.check()?;
    let CandidateSearch { q, school_code } = search.0;
    let (rows, total) = state
        .db(move |conn| {
            let asked = (school_code.as_deref(), q.as_deref());
            let window = (page.offset(), page.per_page);
            Ok(candidates_uc::search(conn, &user.0, asked, window)?)
        })
        .await?;
    let profiles = rows.into_iter().map(Profile::for_others).collect();
    Ok(web::Json(page.wrap(profiles, total)))
}

/// One candidate of the caller's school, with what they have done so far (R19).
///
/// Staff see only their school's candidates (404 otherwise, as for an unknown id
/// or an account that is not a candidate); admins see all.
#[utoipa::path(
    tag = "staff",
    operation_id = "get_candidate",
    params(("id" = Uuid, Path, description = "The candidate's account id.", example = "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b")),
    security(("bearer" = ["staff", "admin"])),
    responses(
        (status = 200, description = "The candidate: masked profile, prior degrees, applications and progress.", body = CandidateDetail),
        (status = 404, description = "`not_found`: no such candidate, or not one of the caller's school.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/staff/candidates/{id}")]
pub async fn get_candidate(
    user: StaffOrAdmin,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<CandidateDetail>, ApiError> {
    let id = parse_id(&id)?;
    let cache = state.catalog.clone();
    let detail = state
        .db(move |conn| {
            Ok(candidates_uc::detail(
                conn,
                &user.0,
                &cache,
                Utc::now(),
                id,
            )?)
        })
        .await?;
    Ok(web::Json(CandidateDetail::of(detail, lang(&req))))
}

/// Checks that the body is declared as `text/csv` (charset, if named, UTF-8).
fn require_csv(req: &HttpRequest) -> Result<(), ApiError> {
    let value = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut parts = value.split(';').map(str::trim);
    let mime = parts.next().unwrap_or("");
    let utf8 = parts.all(|p| {
        p.strip_prefix("charset=")
            .is_none_or(|c| matches!(c.trim_matches('"'), "utf-8" | "utf8"))
    });
    if mime == "text/csv" && utf8 {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "content_type.unsupported",
        Msg::new("不支持的内容类型", "Unsupported media type"),
        Msg::new(
            "请求体必须是 UTF-8 编码的 text/csv",
            "the body must be text/csv in UTF-8",
        ),
    ))
}

/// The body as UTF-8 text (`csv.encoding` otherwise), at most [`IMPORT_BODY_LIMIT`].
async fn csv_text(req: &HttpRequest, payload: web::Payload) -> Result<String, ApiError> {
    require_csv(req)?;
    let mut payload = payload.into_inner();
    let body = read_body_with_limit(req, &mut payload, IMPORT_BODY_LIMIT).await?;
    String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::field(
            "file",
            domain::Violation::new(
                "csv.encoding",
                "文件必须是 UTF-8 编码（在 Excel 中另存为“CSV UTF-8”）",
                "the file must be UTF-8 (in Excel: save as \"CSV UTF-8\")",
            ),
        )
    })
}

/// Imports candidate accounts from CSV (R19); answers a per-row report.
///
/// **Body:** `text/csv`, UTF-8 with or without BOM, CRLF or LF, RFC 4180 quoting
/// (`"…"`, `""` for a quote), at most 5 MiB (413 above) and 1000 data rows (422
/// `csv.too_many_rows` above). A header row is required, columns in any order:
///
/// | column | rule (as in registration) |
/// |---|---|
/// | `exam_number` | 准考证号, 12 digits (format the spreadsheet column as text to keep leading zeros) |
/// | `id_number` | 18-character resident ID, check character verified, `x` accepted |
/// | `name` | 2–30 characters, `·` allowed, no digits |
/// | `phone` | mainland mobile, 11 digits starting 1[3-9], `+86` allowed |
/// | `major_code` | self-study major code (1–10 letters or digits) |
/// | `school_code` | optional. Admins: the candidate's school (blank: none). Staff: blank or their own school; candidates are always created in the importer's school |
///
/// Cells are trimmed. A missing, unknown or repeated column, or broken quoting,
/// refuses the whole file (422, nothing created). Otherwise every row is
/// reported: `created` (a candidate account whose temporary password is in the
/// report, shown only here, stored only hashed, and must be changed at first
/// sign-in), `skipped` (its exam number or ID number is already registered, or
/// an earlier row of the file registered it: decided by the unique indexes, so
/// importing the same file twice creates nothing twice) or `rejected` (with each
/// bad field and its code); a bad row rejects only itself. All created accounts
/// are committed in one transaction. Hashing the temporary passwords is the slow
/// part (roughly 20–40 ms of CPU per created row).
#[utoipa::path(
    tag = "staff",
    operation_id = "import_candidates",
    request_body(content = String, content_type = "text/csv",
        description = "Header row, then one candidate per row.",
        example = "exam_number,id_number,name,phone,major_code\r\n010118200123,11010519491231002X,张三,13800138000,100701\r\n010118200124,42010219990101001x,\"欧阳·娜娜\",13912345678,100701\r\n"),
    security(("bearer" = ["staff", "admin"])),
    responses(
        (status = 200, description = "The per-row report (`Cache-Control: no-store`: it holds temporary passwords).", body = ImportReport),
        (status = 413, description = "`payload.too_large`: the file exceeds 5 MiB.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "`content_type.unsupported`: the body is not declared as text/csv (UTF-8).",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The file as a whole is unusable: not UTF-8 (`csv.encoding`), no header (`csv.header_missing`), a missing, unknown or repeated column, broken quoting (`csv.format`) or more than 1000 rows (`csv.too_many_rows`).",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/staff/candidates/import")]
pub async fn import_candidates(
    user: StaffOrAdmin,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let text = csv_text(&req, payload).await?;
    let importer = import::importer(&user.0)?;
    let rows = candidate_import::parse(&text, &importer, date_in_shanghai(Utc::now()))
        .map_err(Refusal::invalid_fields)?;
    let catalog = state.catalog.current();
    let prepared = state
        .db(move |conn| Ok(import::prepare(conn, catalog, rows)?))
        .await?;
    let passwords = prepared.passwords();
    let hashes = web::block(move || password::hash_many(&passwords))
        .await?
        .map_err(ApiError::internal)?;
    let reports = state
        .change(move |conn| Ok(import::commit(conn, prepared, hashes)?))
        .await?;
    Ok(carries_secret(
        HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(ImportReport::of(reports, lang(&req))),
    ))
}
