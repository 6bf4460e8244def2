//! School staff's view of their candidates: search, profile and bulk import (R19).

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CACHE_CONTROL};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use domain::account::{Role, SchoolCode};
use domain::candidate_import::{self, CandidateRecord, ImportRow, Importer};
use persistence::accounts::NewAccount;
use persistence::candidates;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::access::Visibility;
use crate::auth::principal::StaffOrAdmin;
use crate::auth::{password, secret};
use crate::http::extract::{ApiQuery, read_body_with_limit};
use crate::http::extract::{lang_of as lang, parse_id};
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::{ApiError, FieldProblem, Lang, Msg};
use crate::routes::views::Profile;
use crate::state::AppState;
use crate::use_cases::candidates as candidates_uc;

/// The largest import file accepted (413 above).
pub const IMPORT_BODY_LIMIT: usize = 5 * 1024 * 1024;

/// The longest search text.
const MAX_Q_CHARS: usize = 50;

/// How to search the candidate list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidateSearch {
    /// Matches an exam number by prefix (`0101182`), an ID number exactly (check
    /// character `X` in either case), or a part of the name in any letter case
    /// (`张`, `li na`). At most 50 characters; blank means no search.
    #[param(example = "0101182", max_length = 50)]
    pub q: Option<String>,
    /// Admins: only this school's candidates. Staff always see their own school
    /// only; another code gives an empty list.
    #[param(example = "HBU01")]
    pub school_code: Option<String>,
}

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
    let principal = user.0;
    let page = page.0.check()?;
    let search = search.0;
    let q = search
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    if q.as_ref().is_some_and(|q| q.chars().count() > MAX_Q_CHARS) {
        return Err(ApiError::field(
            "q",
            domain::Violation::new(
                "q.length",
                format!("搜索内容最多 {MAX_Q_CHARS} 个字符"),
                format!("the search text has at most {MAX_Q_CHARS} characters"),
            ),
        ));
    }
    let requested = search
        .school_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| SchoolCode::parse(c).map_err(|v| ApiError::field("school_code", v)))
        .transpose()?;
    let (rows, total) = state
        .db(move |conn| {
            let school = requested.as_ref().map(|c| c.as_str());
            let window = (page.offset(), page.per_page);
            Ok(candidates_uc::search(
                conn,
                &principal,
                (school, q),
                window,
            )?)
        })
        .await?;
    Ok(web::Json(page.wrap(
        rows.into_iter().map(Profile::for_others).collect(),
        total,
    )))
}

/// A candidate as staff see them: the profile (ID number masked) with the
/// candidate's prior degrees, certification applications and progress (R19).
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateDetail {
    /// The profile.
    #[serde(flatten)]
    pub profile: Profile,
    /// Prior degrees, newest first.
    pub prior_degrees: Vec<crate::routes::prior_degrees::PriorDegreeView>,
    /// Certification applications, newest first.
    pub applications: Vec<crate::routes::applications::ApplicationView>,
    /// Every course of the plan: certified, pending, certifiable or exam; null when
    /// the candidate's major is not in the catalogue.
    pub progress: Option<crate::routes::progress::ProgressView>,
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
    let principal = user.0;
    let id = parse_id(&id)?;
    let lang = lang(&req);
    let cache = state.catalog.clone();
    let detail = state
        .db(move |conn| {
            let now = Utc::now();
            let detail = candidates_uc::detail(conn, &principal, &cache, now, id)?;
            let progress = match crate::routes::progress::progress_for(conn, &cache, id, now, lang)
            {
                Ok(progress) => Some(progress),
                Err(e) if e.problem().status == actix_web::http::StatusCode::NOT_FOUND => None,
                Err(e) => return Err(e),
            };
            Ok(CandidateDetail {
                profile: Profile::for_others(detail.account),
                prior_degrees: (detail.prior_degrees.into_iter())
                    .map(|shown| crate::routes::prior_degrees::PriorDegreeView::of(shown, lang))
                    .collect(),
                applications: (detail.applications.into_iter())
                    .map(crate::routes::applications::ApplicationView::of)
                    .collect(),
                progress,
            })
        })
        .await?;
    Ok(web::Json(detail))
}

/// What happened to one row of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// A new account with a temporary password.
    Created,
    /// The exam number or ID number is already registered (or was created by an
    /// earlier row of this file); nothing was changed.
    Skipped,
    /// The row breaks a rule; see `errors`.
    Rejected,
}

/// A problem with one cell of a row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportFieldError {
    /// The column (`phone`), or `row` for the row as a whole.
    pub field: String,
    /// Stable code, as in registration (`phone.format`, `account.exists`…).
    pub code: String,
    /// What is wrong, in the response language.
    pub message: String,
}

/// The outcome of one row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowReport {
    /// Row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// `created`, `skipped` or `rejected`.
    pub status: ImportStatus,
    /// The row's exam-number cell, as written.
    pub exam_number: String,
    /// The new account (created rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Uuid>,
    /// The temporary password (created rows only; shown once, stored only hashed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
    /// Why the row was rejected or skipped; empty for created rows.
    pub errors: Vec<ImportFieldError>,
}

/// The per-row report of an import.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "rows": [
        {"row": 2, "status": "created", "exam_number": "010118200123",
         "account_id": "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", "temporary_password": "kQm4vTzp7RdW", "errors": []},
        {"row": 3, "status": "skipped", "exam_number": "010118200124",
         "errors": [{"field": "exam_number", "code": "account.exists", "message": "该准考证号已注册"}]},
        {"row": 4, "status": "rejected", "exam_number": "01011820012",
         "errors": [{"field": "exam_number", "code": "exam_number.format", "message": "准考证号必须是12位数字"}]}
    ],
    "created": 1, "skipped": 1, "rejected": 1
}))]
pub struct ImportReport {
    /// One entry per data row, in file order.
    pub rows: Vec<ImportRowReport>,
    /// Rows that created an account.
    pub created: usize,
    /// Rows already registered.
    pub skipped: usize,
    /// Rows refused.
    pub rejected: usize,
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

/// Hashes the temporary passwords on a few threads: Argon2 at OWASP parameters
/// costs tens of milliseconds (and 19 MiB) each, so a class list of hundreds is
/// seconds of CPU. At most 4 threads, so one import cannot take every core.
fn hash_all(passwords: &[String]) -> Result<Vec<String>, String> {
    if passwords.is_empty() {
        return Ok(Vec::new());
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let chunk = passwords.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = passwords
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|p| password::hash(p))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut hashes = Vec::with_capacity(passwords.len());
        for handle in handles {
            hashes.extend(handle.join().map_err(|_| "hashing thread panicked")??);
        }
        Ok(hashes)
    })
}

/// A valid row on its way into the database.
struct Pending {
    record: CandidateRecord,
    /// The temporary password and its hash, unless the row is known to exist.
    password: Option<(String, String)>,
}

/// How a row ends, before it is rendered in a language.
enum Outcome {
    Created { id: Uuid, password: String },
    Skipped(FieldProblem),
    Rejected(Vec<FieldProblem>),
}

fn exists_problem(field: &str) -> FieldProblem {
    let (zh, en) = match field {
        "exam_number" => ("该准考证号已注册", "this exam number is already registered"),
        _ => ("该身份证号已注册", "this ID number is already registered"),
    };
    FieldProblem {
        field: field.to_owned(),
        code: "account.exists".into(),
        message: Msg::new(zh, en),
    }
}

fn duplicate_problem(field: &str, first_row: usize) -> FieldProblem {
    let label = if field == "exam_number" {
        "准考证号"
    } else {
        "身份证号"
    };
    FieldProblem {
        field: field.to_owned(),
        code: "import.duplicate_in_file".into(),
        message: Msg::new(
            format!("与本文件第 {first_row} 行的{label}相同，已由该行创建"),
            format!("the same {field} as row {first_row} of this file, which created it"),
        ),
    }
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
    let principal = user.0;
    require_csv(&req)?;
    let mut payload = payload.into_inner();
    let body = read_body_with_limit(&req, &mut payload, IMPORT_BODY_LIMIT).await?;
    let text = String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::field(
            "file",
            domain::Violation::new(
                "csv.encoding",
                "文件必须是 UTF-8 编码（在 Excel 中另存为“CSV UTF-8”）",
                "the file must be UTF-8 (in Excel: save as \"CSV UTF-8\")",
            ),
        )
    })?;
    let importer = match principal.visibility() {
        Visibility::All => Importer::Admin,
        Visibility::School(code) => Importer::School(
            SchoolCode::parse(&code)
                .map_err(|_| ApiError::internal("staff of a malformed school"))?,
        ),
        _ => return Err(crate::auth::principal::forbidden()),
    };
    let today = Utc::now()
        .with_timezone(&domain::window::shanghai())
        .date_naive();
    let rows = candidate_import::parse(&text, &importer, today).map_err(|problems| {
        ApiError::validation(
            problems
                .into_iter()
                .map(|(at, v)| FieldProblem::from_violation(at, v))
                .collect(),
        )
    })?;
    let report = run_import(&state, rows).await?;
    let lang = lang(&req);
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(render(report, lang)))
}

/// The rows with their outcomes, in file order.
type Outcomes = Vec<(usize, String, Outcome)>;

async fn run_import(state: &AppState, rows: Vec<ImportRow>) -> Result<Outcomes, ApiError> {
    // A read to avoid hashing passwords for rows that are certainly skipped
    // (accounts are never deleted); the unique indexes still decide below.
    let exams: Vec<String> = rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .map(|c| c.exam_number.as_str().to_owned())
        .collect();
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .map(|c| c.id_number.as_str().to_owned())
        .collect();
    let schools: Vec<String> = rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .filter_map(|c| c.school_code.as_ref().map(|s| s.as_str().to_owned()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let (known_exams, known_ids, known_schools) = state
        .db(move |conn| {
            let (e, i) = candidates::registered_keys(conn, &exams, &ids)?;
            let s = candidates::existing_schools(conn, &schools)?;
            Ok((e, i, s))
        })
        .await?;
    let catalog = state.catalog.current();
    let mut to_hash = Vec::new();
    let mut entries: Vec<(usize, String, Result<Pending, Vec<FieldProblem>>)> = Vec::new();
    for row in rows {
        let entry = match row.result {
            Err(problems) => Err(problems
                .into_iter()
                .map(|(field, v)| FieldProblem::from_violation(field, v))
                .collect()),
            Ok(record) => {
                let unknown_school = record
                    .school_code
                    .as_ref()
                    .is_some_and(|s| !known_schools.contains(s.as_str()));
                let unknown_major = catalog
                    .as_ref()
                    .is_none_or(|c| c.catalog.major(&record.major_code).is_none());
                if unknown_school {
                    Err(vec![FieldProblem::from_violation(
                        "school_code",
                        domain::Violation::new(
                            "school.unknown",
                            "学校代码不存在",
                            "there is no school with this code",
                        ),
                    )])
                } else if unknown_major {
                    Err(vec![FieldProblem::from_violation(
                        "major_code",
                        domain::Violation::new(
                            "major.unknown",
                            format!("自考专业 {} 不在目录中", record.major_code),
                            format!(
                                "there is no self-study major {} in the catalogue",
                                record.major_code
                            ),
                        ),
                    )])
                } else {
                    let known = known_exams.contains(record.exam_number.as_str())
                        || known_ids.contains(record.id_number.as_str());
                    if !known {
                        to_hash.push(secret::temporary_password());
                    }
                    Ok(Pending {
                        record,
                        password: None,
                    })
                }
            }
        };
        entries.push((row.row, row.exam_number, entry));
    }
    let hashes = {
        let passwords = to_hash.clone();
        web::block(move || hash_all(&passwords))
            .await?
            .map_err(ApiError::internal)?
    };
    let mut fresh = to_hash.into_iter().zip(hashes);
    for (_, _, entry) in &mut entries {
        if let Ok(pending) = entry {
            let known = known_exams.contains(pending.record.exam_number.as_str())
                || known_ids.contains(pending.record.id_number.as_str());
            if !known {
                pending.password = fresh.next();
            }
        }
    }
    state
        .tx(move |conn| {
            let mut outcomes = Vec::with_capacity(entries.len());
            // Keys created by earlier rows of this file, with their row.
            let mut created_exams: HashMap<String, usize> = HashMap::new();
            let mut created_ids: HashMap<String, usize> = HashMap::new();
            for (row, exam_text, entry) in entries {
                let outcome = match entry {
                    Err(problems) => Outcome::Rejected(problems),
                    Ok(Pending { record, password }) => {
                        let exam = record.exam_number.as_str().to_owned();
                        let id_number = record.id_number.as_str().to_owned();
                        let inserted = match &password {
                            Some((_, hash)) => candidates::insert_unless_registered(
                                conn,
                                &new_candidate(&record, hash.clone()),
                            )?,
                            None => None,
                        };
                        match (inserted, password) {
                            (Some(account), Some((password, _))) => {
                                created_exams.insert(exam, row);
                                created_ids.insert(id_number, row);
                                Outcome::Created {
                                    id: account.id,
                                    password,
                                }
                            }
                            _ => {
                                let problem = if let Some(first) = created_exams.get(&exam) {
                                    duplicate_problem("exam_number", *first)
                                } else if let Some(first) = created_ids.get(&id_number) {
                                    duplicate_problem("id_number", *first)
                                } else if candidates::exam_number_registered(conn, &exam)? {
                                    exists_problem("exam_number")
                                } else {
                                    exists_problem("id_number")
                                };
                                Outcome::Skipped(problem)
                            }
                        }
                    }
                };
                outcomes.push((row, exam_text, outcome));
            }
            Ok(outcomes)
        })
        .await
}

fn new_candidate(record: &CandidateRecord, password_hash: String) -> NewAccount {
    NewAccount {
        id: Uuid::now_v7(),
        role: Role::Candidate.as_str().into(),
        exam_number: Some(record.exam_number.as_str().into()),
        id_number: Some(record.id_number.as_str().into()),
        username: None,
        name: record.name.as_str().into(),
        phone: Some(record.phone.as_str().into()),
        major_code: Some(record.major_code.as_str().into()),
        school_code: record.school_code.as_ref().map(|s| s.as_str().to_owned()),
        password_hash,
        must_change_password: true,
        scopes: Vec::new(),
    }
}

fn render(outcomes: Outcomes, lang: Lang) -> ImportReport {
    let field_errors = |problems: Vec<FieldProblem>| -> Vec<ImportFieldError> {
        problems
            .into_iter()
            .map(|p| ImportFieldError {
                field: p.field,
                code: p.code.into_owned(),
                message: p.message.get(lang).to_owned(),
            })
            .collect()
    };
    let mut report = ImportReport {
        rows: Vec::with_capacity(outcomes.len()),
        created: 0,
        skipped: 0,
        rejected: 0,
    };
    for (row, exam_number, outcome) in outcomes {
        let (status, account_id, temporary_password, errors) = match outcome {
            Outcome::Created { id, password } => {
                report.created += 1;
                (ImportStatus::Created, Some(id), Some(password), Vec::new())
            }
            Outcome::Skipped(problem) => {
                report.skipped += 1;
                (
                    ImportStatus::Skipped,
                    None,
                    None,
                    field_errors(vec![problem]),
                )
            }
            Outcome::Rejected(problems) => {
                report.rejected += 1;
                (ImportStatus::Rejected, None, None, field_errors(problems))
            }
        };
        report.rows.push(ImportRowReport {
            row,
            status,
            exam_number,
            account_id,
            temporary_password,
            errors,
        });
    }
    report
}
