//! What staff and integrations take away: the streamed CSV export, statistics,
//! and signed decisions (R19, R20).

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use persistence::reports::{self, ApplicationFilter, ExportRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::access::Visibility;
use crate::auth::keys::ISSUER;
use crate::auth::principal::{Person, Principal, StaffOrAdmin};
use crate::http::extract::ApiQuery;
use crate::http::problem::{ApiError, FieldChecks};
use crate::state::AppState;
use crate::use_cases::decisions;

const STATUSES: [&str; 6] = [
    "draft",
    "submitted",
    "returned",
    "approved",
    "partially_approved",
    "rejected",
];
/// Rows fetched per database round trip while exporting.
const CHUNK: i64 = 2000;

/// Filters of the export (the same as the application list).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Application status: draft, submitted, returned, approved, partially_approved, rejected.
    #[param(example = "submitted")]
    pub status: Option<String>,
    /// Round id.
    pub round_id: Option<String>,
    /// The candidates' self-study major.
    #[param(example = "100701")]
    pub major_code: Option<String>,
    /// School (admins; staff always get their own school).
    #[param(example = "HBU01")]
    pub school_code: Option<String>,
    /// Exam number prefix or part of the candidate's name.
    pub q: Option<String>,
}

fn filter_for(principal: &Principal, query: ExportQuery) -> Result<ApplicationFilter, ApiError> {
    let mut checks = FieldChecks::default();
    if let Some(status) = &query.status
        && !STATUSES.contains(&status.as_str())
    {
        checks.push(
            "status",
            domain::Violation::new(
                "enum",
                format!("status 只能是 {}", STATUSES.join("、")),
                format!("status is one of {}", STATUSES.join(", ")),
            ),
        );
    }
    let round_id = match query.round_id.as_deref().map(Uuid::parse_str) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            checks.push(
                "round_id",
                domain::Violation::new(
                    "id.format",
                    "轮次编号必须是 UUID",
                    "round_id must be a UUID",
                ),
            );
            None
        }
        None => None,
    };
    checks.finish()?;
    let requested = query.school_code.map(|s| s.trim().to_ascii_uppercase());
    Ok(ApplicationFilter {
        status: query.status,
        round_id,
        major_code: query
            .major_code
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty()),
        visibility: principal.scope(requested.as_deref()),
        q: query
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty()),
    })
}

/// One CSV field: quoted when it holds a comma, quote or line break; a leading
/// `=`, `+`, `-` or `@` is escaped with `'` so that spreadsheets do not run it as a formula.
fn field(out: &mut String, value: &str) {
    let guarded;
    let value = if value.starts_with(['=', '+', '-', '@']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn line(out: &mut String, values: &[&str]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, v);
    }
    out.push_str("\r\n");
}

const HEADER: [&str; 17] = [
    "application_id",
    "exam_number",
    "candidate_name",
    "school_code",
    "major_code",
    "round",
    "route",
    "certificate_kind",
    "course_code",
    "course_name",
    "learned_course_name",
    "score_text",
    "status",
    "decision",
    "decision_reason",
    "submitted_at",
    "reviewed_at",
];

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.with_timezone(&domain::window::shanghai()).to_rfc3339())
        .unwrap_or_default()
}

fn row_line(out: &mut String, row: &ExportRow, course_name: &str) {
    let id = row.application_id.to_string();
    let (submitted, reviewed) = (time(row.submitted_at), time(row.reviewed_at));
    line(
        out,
        &[
            &id,
            row.exam_number.as_deref().unwrap_or(""),
            &row.candidate_name,
            row.school_code.as_deref().unwrap_or(""),
            &row.major_code,
            &row.round_name,
            &row.kind,
            row.certificate_kind.as_deref().unwrap_or(""),
            &row.course_code,
            course_name,
            row.learned_course_name.as_deref().unwrap_or(""),
            row.score_text.as_deref().unwrap_or(""),
            &row.status,
            row.decision.as_deref().unwrap_or(""),
            row.decision_reason.as_deref().unwrap_or(""),
            &submitted,
            &reviewed,
        ],
    );
}

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
    let filter = filter_for(&user.0, query.0)?;
    let catalog = state.catalog.current();
    // Take the connection before answering, so an unreachable database is a 503,
    // not a broken file.
    let pool = state.pool.clone();
    let mut conn = web::block(move || pool.get())
        .await?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    // A small bounded channel: the database is read only as fast as the client
    // takes the file (back-pressure), so memory stays flat.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = String::from("\u{feff}");
        line(&mut out, &HEADER);
        let mut after = None;
        loop {
            let rows = match reports::export_chunk(&mut conn, &filter, after, CHUNK) {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "export failed midway");
                    let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
                    return;
                }
            };
            for row in &rows {
                let name = catalog
                    .as_ref()
                    .and_then(|c| {
                        domain::CourseCode::parse(&row.course_code)
                            .ok()
                            .and_then(|code| c.catalog.course(&code))
                    })
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                row_line(&mut out, row, &name);
            }
            if tx
                .blocking_send(Ok(Bytes::from(std::mem::take(&mut out))))
                .is_err()
            {
                return; // The client went away.
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == CHUNK => {
                    after = Some((last.application_id, last.position))
                }
                _ => return,
            }
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

/// Query of the statistics.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Round id; all rounds when absent.
    pub round_id: Option<String>,
    /// School (admins only; staff always get their own school).
    pub school_code: Option<String>,
}

/// A count per key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCount {
    /// A status, major code or course code.
    pub key: String,
    /// How many.
    pub count: i64,
}

/// Item counts of one course.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseStats {
    /// Course code.
    pub course_code: String,
    /// Course name (current catalogue).
    pub course_name: Option<String>,
    /// Items in submitted or reviewed applications.
    pub requested: i64,
    /// Approved items.
    pub approved: i64,
    /// Rejected items.
    pub rejected: i64,
}

/// Statistics of the caller's scope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"round_id": null, "school_code": "HBU01",
    "applications_by_status": [{"key": "submitted", "count": 12}],
    "applications_by_major": [{"key": "100701", "count": 12}],
    "items_by_course": [{"course_code": "00015", "course_name": "英语（二）", "requested": 12, "approved": 3, "rejected": 1}],
    "prior_degrees_by_status": [{"key": "effective", "count": 10}]}))]
pub struct StatsView {
    /// The round counted (null: all rounds).
    pub round_id: Option<Uuid>,
    /// The school counted (null: all schools, admins only).
    pub school_code: Option<String>,
    /// Applications per status.
    pub applications_by_status: Vec<KeyCount>,
    /// Applications per self-study major.
    pub applications_by_major: Vec<KeyCount>,
    /// Items per course (drafts excluded).
    pub items_by_course: Vec<CourseStats>,
    /// Prior degrees per status (draft, submitted = pending verification, effective, rejected).
    pub prior_degrees_by_status: Vec<KeyCount>,
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
    let query = query.0;
    let round_id = match query.round_id.as_deref().map(Uuid::parse_str) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return Err(ApiError::field(
                "round_id",
                domain::Violation::new(
                    "id.format",
                    "轮次编号必须是 UUID",
                    "round_id must be a UUID",
                ),
            ));
        }
        None => None,
    };
    let requested = query.school_code.map(|s| s.trim().to_ascii_uppercase());
    let visibility = user.0.scope(requested.as_deref());
    // The school counted: the one the caller may see, or the one asked for (nothing counted).
    let school = match &visibility {
        Visibility::School(s) => Some(s.clone()),
        _ => requested,
    };
    let stats = state
        .db(move |conn| Ok(reports::stats(conn, round_id, &visibility)?))
        .await?;
    let catalog = state.catalog.current();
    let counts = |v: Vec<reports::Count>| {
        v.into_iter()
            .map(|c| KeyCount {
                key: c.key,
                count: c.count,
            })
            .collect()
    };
    Ok(web::Json(StatsView {
        round_id,
        school_code: school,
        applications_by_status: counts(stats.by_status),
        applications_by_major: counts(stats.by_major),
        items_by_course: stats
            .by_course
            .into_iter()
            .map(|c| CourseStats {
                course_name: catalog.as_ref().and_then(|cat| {
                    domain::CourseCode::parse(&c.course_code)
                        .ok()
                        .and_then(|code| cat.catalog.course(&code).map(|x| x.name.clone()))
                }),
                course_code: c.course_code,
                requested: c.requested,
                approved: c.approved,
                rejected: c.rejected,
            })
            .collect(),
        prior_degrees_by_status: counts(stats.prior_degrees),
    }))
}

/// One course's decision, as signed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedCourse {
    /// Course code.
    pub course_code: String,
    /// Course name.
    pub course_name: Option<String>,
    /// `approved` or `rejected`.
    pub decision: String,
    /// The reason of a rejection.
    pub reason: Option<String>,
}

/// The round, as signed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedRound {
    /// Round id.
    pub id: Uuid,
    /// Round name.
    pub name: String,
}

/// The claims of a signed decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionClaims {
    /// Issuer: `zikao-cert`.
    pub iss: String,
    /// The application id.
    pub sub: Uuid,
    /// When it was signed (Unix seconds).
    pub iat: i64,
    /// Always `decision` (never usable as an access token).
    pub typ: String,
    /// The candidate's exam number.
    pub exam_number: String,
    /// The candidate's name.
    pub candidate_name: String,
    /// The round.
    pub round: SignedRound,
    /// The self-study major.
    pub major_code: String,
    /// `approved`, `partially_approved` or `rejected`.
    pub status: String,
    /// When it was reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Each course with its decision.
    pub courses: Vec<SignedCourse>,
}

/// A signed decision.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"jws": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiIsInR5cCI6ImRlY2lzaW9uK2p3dCJ9.eyJzdWIiOiIuLi4ifQ.c2ln",
    "kid": "nLd2ZbC1p1nQb2Zk", "alg": "EdDSA", "jwks_uri": "/.well-known/jwks.json"}))]
pub struct SignedDecision {
    /// Compact JWS (EdDSA) of the claims; verify it with the key `kid` of the JWK set.
    pub jws: String,
    /// The signing key's id.
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// Where the public keys are.
    pub jwks_uri: String,
    /// The signed claims, for display (the JWS is what counts).
    pub claims: DecisionClaims,
}

/// The review's decision, signed with the service's key (R20).
///
/// Once an application is reviewed, its owner, staff of the candidate's school
/// and admins get a compact JWS holding the candidate's exam number, the round and
/// each course with its decision. Anyone can verify it with the public keys at
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
    let actor = user.0;
    let cache = state.catalog.clone();
    let decision = state
        .db(move |conn| Ok(decisions::of_application(conn, &actor, &cache, id)?))
        .await?;
    let claims = DecisionClaims {
        iss: ISSUER.into(),
        sub: decision.application_id,
        iat: Utc::now().timestamp(),
        typ: "decision".into(),
        exam_number: decision.exam_number,
        candidate_name: decision.candidate_name,
        round: SignedRound {
            id: decision.round_id,
            name: decision.round_name,
        },
        major_code: decision.major_code,
        status: decision.status.as_str().to_owned(),
        reviewed_at: decision.reviewed_at,
        courses: decision
            .courses
            .into_iter()
            .map(|c| SignedCourse {
                course_code: c.course_code,
                course_name: c.course_name,
                decision: c.decision,
                reason: c.reason,
            })
            .collect(),
    };
    let jws = state
        .keys
        .sign("decision+jwt", &claims)
        .map_err(ApiError::internal)?;
    Ok(web::Json(SignedDecision {
        jws,
        kid: state.keys.kid().to_owned(),
        alg: "EdDSA".into(),
        jwks_uri: "/.well-known/jwks.json".into(),
        claims,
    }))
}
