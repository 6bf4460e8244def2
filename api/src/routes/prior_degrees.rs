//! Prior degrees (前置学历, R3–R7): the pledge, the draft, modify, submit, and the
//! verification feedback, single and in batches.
//!
//! State machine: `draft` → `submitted` → `effective` | `rejected`; `rejected` →
//! (edit) → `submitted` again; `effective` is final. See [`domain::prior_degree`].

use actix_web::http::StatusCode;
use actix_web::http::header::{self, LOCATION};
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, PgConnection};
use domain::Violation;
use domain::account::Role;
use domain::catalog::DegreeLevel;
use domain::certificate_number::{
    CertificateNumber, DeclaredDegree, EducationType, require_regular,
};
use domain::prior_degree::{
    self as rules, Caller, PriorDegreeAction, PriorDegreeStatus, VerificationResult,
    VerificationStatus,
};
use domain::window::shanghai;
use persistence::DbError;
use persistence::history::{self, Change, Entity};
use persistence::outbox::{self, NotificationKind};
use persistence::prior_degrees::{
    self as store, CERTIFICATE_NUMBER_KEY, DegreeFields, PriorDegreeRow, PriorDegreeWithSchool,
};
use persistence::rounds::RoundRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::access::Owner;
use crate::auth::principal::{
    CandidateUser, Person, Principal, StaffAdminOrIntegration, forbidden,
};
use crate::http::etag;
use crate::http::extract::{ApiJson, ApiQuery, from_json_slice, read_body};
use crate::http::extract::{lang_of as lang, parse_id};
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::{ApiError, FieldChecks, FieldProblem, Lang, Msg};
use crate::routes::catalog::Level;
use crate::state::AppState;

/// The most rows one batch of verification results may carry.
pub const MAX_BATCH_ROWS: usize = 1000;

// ---------------------------------------------------------------------------
// Bodies

/// A new prior degree (R3: the pledge of the current round must be accepted).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"pledge_version": "2018-1", "pledge_accepted": true,
    "certificate_number": "106521201506001234", "school_name": "湖北中医药高等专科学校",
    "major_name": "药学", "level": "associate", "education_type": "regular",
    "graduation_date": "2015-07-01"}))]
pub struct NewPriorDegree {
    /// The `pledge.version` of the current round (`GET /api/v1/rounds/current`).
    pub pledge_version: Option<String>,
    /// Must be `true`: "I have read and agree to all terms".
    pub pledge_accepted: Option<bool>,
    /// 18 digits (17 for certificates issued before 2002), checked against `level`,
    /// `education_type` and the graduation year.
    pub certificate_number: String,
    /// The issuing school, 1–100 characters.
    pub school_name: String,
    /// The major on the certificate, 1–100 characters.
    pub major_name: String,
    /// `associate` (专科) or `bachelor` (本科).
    #[schema(example = "associate")]
    pub level: String,
    /// `regular` (普通), `adult` (成人), `self_study` (自学考试) or `online` (网络教育).
    #[schema(example = "regular")]
    pub education_type: String,
    /// `YYYY-MM-DD`, not in the future.
    #[schema(example = "2015-07-01")]
    pub graduation_date: String,
}

/// Changes to a draft or rejected prior degree; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"school_name": "湖北中医药高等专科学校", "graduation_date": "2015-06-30"}))]
pub struct PriorDegreeChanges {
    /// See [`NewPriorDegree`].
    pub certificate_number: Option<String>,
    /// See [`NewPriorDegree`].
    pub school_name: Option<String>,
    /// See [`NewPriorDegree`].
    pub major_name: Option<String>,
    /// See [`NewPriorDegree`].
    pub level: Option<String>,
    /// See [`NewPriorDegree`].
    pub education_type: Option<String>,
    /// See [`NewPriorDegree`].
    pub graduation_date: Option<String>,
}

/// A verification result (学信网核验反馈, R5).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"result": "rejected", "feedback": "学信网查无此证书编号，请核对后重新提交"}))]
pub struct VerificationRequest {
    /// `effective` or `rejected`.
    #[schema(example = "effective")]
    pub result: String,
    /// Required for `rejected` (what to correct); at most 1000 characters.
    pub feedback: Option<String>,
}

/// One row of a batch: which certificate number, and its result.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRow {
    /// The certificate number of a submitted prior degree.
    pub certificate_number: String,
    /// `effective` or `rejected`.
    pub result: String,
    /// Required for `rejected`.
    pub feedback: Option<String>,
}

// ---------------------------------------------------------------------------
// Views

/// Status of a prior degree.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StatusValue {
    /// 草稿.
    Draft,
    /// 已提交 (verification pending).
    Submitted,
    /// 已生效.
    Effective,
    /// 核验未通过.
    Rejected,
}

impl From<PriorDegreeStatus> for StatusValue {
    fn from(s: PriorDegreeStatus) -> Self {
        match s {
            PriorDegreeStatus::Draft => Self::Draft,
            PriorDegreeStatus::Submitted => Self::Submitted,
            PriorDegreeStatus::Effective => Self::Effective,
            PriorDegreeStatus::Rejected => Self::Rejected,
        }
    }
}

/// Status of the verification.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatusValue {
    /// Not submitted yet.
    NotSubmitted,
    /// Waiting for the feedback.
    Pending,
    /// Verified.
    Effective,
    /// Not verified; see `feedback`.
    Rejected,
}

impl From<VerificationStatus> for VerificationStatusValue {
    fn from(s: VerificationStatus) -> Self {
        match s {
            VerificationStatus::NotSubmitted => Self::NotSubmitted,
            VerificationStatus::Pending => Self::Pending,
            VerificationStatus::Effective => Self::Effective,
            VerificationStatus::Rejected => Self::Rejected,
        }
    }
}

/// Education type of a prior degree.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EducationTypeValue {
    /// 普通.
    Regular,
    /// 成人.
    Adult,
    /// 自学考试.
    SelfStudy,
    /// 网络教育.
    Online,
}

impl From<EducationType> for EducationTypeValue {
    fn from(t: EducationType) -> Self {
        match t {
            EducationType::Regular => Self::Regular,
            EducationType::Adult => Self::Adult,
            EducationType::SelfStudy => Self::SelfStudy,
            EducationType::Online => Self::Online,
        }
    }
}

/// Which pledge was accepted, and when (R3).
#[derive(Debug, Serialize, ToSchema)]
pub struct PledgeAcceptance {
    /// The pledge version.
    pub version: String,
    /// When it was accepted.
    pub accepted_at: DateTime<Utc>,
}

/// The verification feedback (R5).
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    /// `not_submitted`, `pending`, `effective` or `rejected`.
    pub status: VerificationStatusValue,
    /// Chinese label of `status`.
    pub status_label: String,
    /// The feedback of the last result (null while none).
    pub feedback: Option<String>,
    /// When the last result was recorded.
    pub verified_at: Option<DateTime<Utc>>,
}

/// Something the holder should know that refuses nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningView {
    /// Stable code, e.g. `certificate_number.legacy_format`.
    pub code: String,
    /// In the response language.
    pub message: String,
    /// In Chinese.
    pub message_zh: String,
    /// In English.
    pub message_en: String,
}

/// A prior degree.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", "candidate_id": "0193a1b2-0000-7e8f-9a0b-1c2d3e4f5a6b",
    "round_id": "0193a1b2-1111-7e8f-9a0b-1c2d3e4f5a6b", "status": "rejected", "status_label": "核验未通过",
    "certificate_number": "106521201506001234", "school_name": "湖北中医药高等专科学校", "major_name": "药学",
    "level": "associate", "level_label": "专科", "education_type": "regular", "education_type_label": "普通",
    "graduation_date": "2015-07-01", "pledge": {"version": "2018-1", "accepted_at": "2018-03-01T09:30:00Z"},
    "verification": {"status": "rejected", "status_label": "未通过",
        "feedback": "学信网查无此证书编号，请核对后重新提交", "verified_at": "2018-03-05T10:00:00Z"},
    "submitted_at": "2018-03-02T08:00:00Z", "usable_for_degree_certification": false,
    "allowed_actions": ["modify", "submit"], "warnings": [], "version": 4,
    "created_at": "2018-03-01T09:30:00Z", "updated_at": "2018-03-05T10:00:00Z"
}))]
pub struct PriorDegreeView {
    /// Id.
    pub id: Uuid,
    /// The holder's account id.
    pub candidate_id: Uuid,
    /// The round it was created in.
    pub round_id: Uuid,
    /// `draft`, `submitted`, `effective` or `rejected`.
    pub status: StatusValue,
    /// Chinese label of `status`.
    pub status_label: String,
    /// The certificate number.
    pub certificate_number: String,
    /// Issuing school.
    pub school_name: String,
    /// Major on the certificate.
    pub major_name: String,
    /// `associate` or `bachelor`.
    pub level: Level,
    /// Chinese label of `level`.
    pub level_label: String,
    /// `regular`, `adult`, `self_study` or `online`.
    pub education_type: EducationTypeValue,
    /// Chinese label of `education_type`.
    pub education_type_label: String,
    /// Graduation date.
    pub graduation_date: NaiveDate,
    /// The pledge accepted (R3).
    pub pledge: PledgeAcceptance,
    /// The verification feedback (R5).
    pub verification: VerificationView,
    /// When last submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// True only when `effective` and regular (R7).
    pub usable_for_degree_certification: bool,
    /// What this caller may do now, by status, window and role: the holder
    /// `modify` and `submit` while `draft` or `rejected` and the prior-degree window
    /// is open; a verifier `verify` while `submitted`.
    pub allowed_actions: Vec<String>,
    /// Warnings (e.g. a legacy 17-digit number, a non-regular degree).
    pub warnings: Vec<WarningView>,
    /// The version; the `ETag` is `"<version>"`.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl PriorDegreeView {
    pub(crate) fn new(
        row: PriorDegreeRow,
        lang: Lang,
        actions: &[PriorDegreeAction],
    ) -> Result<Self, ApiError> {
        let status = row.status;
        let level = row.level;
        let education_type = row.education_type;
        let mut warnings = Vec::new();
        if let Ok(number) = CertificateNumber::parse(&row.certificate_number)
            && let Ok(checked) = number.check(&DeclaredDegree {
                education_type,
                graduation_year: chrono::Datelike::year(&row.graduation_date),
                level,
            })
        {
            warnings.extend(checked.warnings);
        }
        if let Err(v) = require_regular(education_type) {
            warnings.push(v);
        }
        let verification = status.verification();
        Ok(Self {
            id: row.id,
            candidate_id: row.candidate_id,
            round_id: row.round_id,
            status: status.into(),
            status_label: status.label_zh().to_owned(),
            certificate_number: row.certificate_number,
            school_name: row.school_name,
            major_name: row.major_name,
            level: level.into(),
            level_label: level.label_zh().to_owned(),
            education_type: education_type.into(),
            education_type_label: education_type.label_zh().to_owned(),
            graduation_date: row.graduation_date,
            pledge: PledgeAcceptance {
                version: row.pledge_version,
                accepted_at: row.pledge_accepted_at,
            },
            verification: VerificationView {
                status: verification.into(),
                status_label: verification.label_zh().to_owned(),
                feedback: row.verification_feedback,
                verified_at: row.verified_at,
            },
            submitted_at: row.submitted_at,
            usable_for_degree_certification: status == PriorDegreeStatus::Effective
                && education_type == EducationType::Regular,
            allowed_actions: actions.iter().map(|a| a.as_str().to_owned()).collect(),
            warnings: warnings
                .into_iter()
                .map(|w| WarningView {
                    code: w.code.to_owned(),
                    message: match lang {
                        Lang::Zh => w.zh.clone(),
                        Lang::En => w.en.clone(),
                    },
                    message_zh: w.zh,
                    message_en: w.en,
                })
                .collect(),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// One change in a prior degree's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (null: the system).
    pub actor_id: Option<Uuid>,
    /// Their role: `candidate`, `staff`, `admin` or `integration`.
    pub actor_role: String,
    /// `create`, `update`, `submit` or `verify`.
    pub action: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// Feedback, or the fields changed.
    pub note: Option<String>,
}

/// The outcome of one batch row.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    /// The result was recorded.
    Applied,
    /// The row was refused; see `error`.
    Failed,
}

/// Why a batch row was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowError {
    /// Stable code (`not_found`, `state.conflict`, `verification.result`, …).
    pub code: String,
    /// The field of the row, when one is at fault.
    pub field: Option<String>,
    /// In the response language.
    pub message: String,
}

/// One row of a batch report.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchRowReport {
    /// Position of the row among the data rows, from 1 (CSV: the header is not counted).
    pub row: usize,
    /// The certificate number given, if any.
    pub certificate_number: Option<String>,
    /// `applied` or `failed`.
    pub outcome: RowOutcome,
    /// The prior degree, when applied.
    pub prior_degree_id: Option<Uuid>,
    /// Its new status, when applied.
    pub status: Option<StatusValue>,
    /// Why it failed.
    pub error: Option<RowError>,
}

/// The report of a batch: one row per input row, in input order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"total": 2, "applied": 1, "failed": 1, "rows": [
    {"row": 1, "certificate_number": "106521201506001234", "outcome": "applied",
     "prior_degree_id": "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", "status": "effective", "error": null},
    {"row": 2, "certificate_number": "106521201506009999", "outcome": "failed", "prior_degree_id": null,
     "status": null, "error": {"code": "not_found", "field": "certificate_number",
        "message": "没有已登记的该学历证书编号"}}]}))]
pub struct BatchReport {
    /// Rows read.
    pub total: usize,
    /// Rows applied.
    pub applied: usize,
    /// Rows refused.
    pub failed: usize,
    /// One report per row.
    pub rows: Vec<BatchRowReport>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page number, from 1.
    #[param(minimum = 1, default = 1)]
    pub page: Option<i64>,
    /// Items per page, 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub per_page: Option<i64>,
    /// Only this status: `draft`, `submitted`, `effective` or `rejected`.
    #[param(example = "submitted")]
    pub status: Option<String>,
}

// ---------------------------------------------------------------------------
// Helpers

fn not_found() -> ApiError {
    ApiError::not_found(Msg::new("前置学历不存在", "no such prior degree"))
}

fn conflict(v: Violation) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "state.conflict",
        Msg::new("状态不允许此操作", "State conflict"),
        Msg::new(v.zh, v.en),
    )
}

fn unprocessable(v: Violation) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        v.code,
        Msg::new("请求内容不符合规则", "The request breaks a rule"),
        Msg::new(v.zh, v.en),
    )
}

/// Whose a prior degree is, for the access policy.
fn owner_of(degree: &PriorDegreeWithSchool) -> Owner<'_> {
    Owner::new(degree.degree.candidate_id, degree.school_code.as_deref())
}

/// Loads a prior degree the caller may see (404 otherwise).
pub fn load_visible(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    lock: bool,
) -> Result<PriorDegreeWithSchool, ApiError> {
    match store::find(conn, id, lock) {
        Ok(d) if principal.can_read_prior_degree(owner_of(&d)) => Ok(d),
        Ok(_) | Err(DbError::NotFound) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// The current round, if its prior-degree window is open at `now` (R6).
fn open_round(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<RoundRecord, ApiError> {
    let round = persistence::rounds::current(conn, now)?.ok_or_else(|| {
        unprocessable(Violation::new(
            "window.closed",
            "当前没有开放中的轮次，不能新增、修改或提交前置学历",
            "no round is open now: prior degrees cannot be added, changed or submitted",
        ))
    })?;
    round
        .prior_degree_window
        .check_open(now)
        .map_err(unprocessable)?;
    Ok(round)
}

fn today_in_shanghai(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&shanghai()).date_naive()
}

/// The declared fields as text, before their checks.
struct RawFields {
    certificate_number: String,
    school_name: String,
    major_name: String,
    level: String,
    education_type: String,
    graduation_date: String,
}

/// Checks every field, reporting all problems at once, then the certificate
/// number against the declared level, type and year.
fn check_fields(raw: &RawFields, today: NaiveDate) -> Result<DegreeFields, ApiError> {
    let mut checks = FieldChecks::default();
    let school_name = checks.check(
        "school_name",
        rules::check_name(&raw.school_name, "school_name.length", "学校名称"),
    );
    let major_name = checks.check(
        "major_name",
        rules::check_name(&raw.major_name, "major_name.length", "专业名称"),
    );
    let level = checks.check("level", DegreeLevel::parse(&raw.level));
    let education_type = checks.check(
        "education_type",
        rules::parse_education_type(&raw.education_type),
    );
    let graduation_date = checks.check(
        "graduation_date",
        rules::check_graduation_date(&raw.graduation_date, today),
    );
    let number = checks.check(
        "certificate_number",
        CertificateNumber::parse(&raw.certificate_number),
    );
    if let (Some(number), Some(level), Some(education_type), Some(date)) =
        (number.clone(), level, education_type, graduation_date)
    {
        checks.check(
            "certificate_number",
            number.check(&DeclaredDegree {
                education_type,
                graduation_year: chrono::Datelike::year(&date),
                level,
            }),
        );
    }
    checks.finish()?;
    match (
        number,
        school_name,
        major_name,
        level,
        education_type,
        graduation_date,
    ) {
        (Some(n), Some(s), Some(m), Some(l), Some(t), Some(d)) => Ok(DegreeFields {
            certificate_number: n.as_str().to_owned(),
            school_name: s,
            major_name: m,
            level: l,
            education_type: t,
            graduation_date: d,
        }),
        _ => Err(ApiError::internal("checked prior-degree fields missing")),
    }
}

/// 409 for a certificate number already on file (decided by the unique index):
/// the message says whether it is the caller's own record or another account's.
fn duplicate_number(conn: &mut PgConnection, number: &str, candidate: Uuid) -> ApiError {
    let own =
        matches!(store::certificate_holder(conn, number), Ok(Some(holder)) if holder == candidate);
    let detail = if own {
        Msg::new(
            format!("你已登记过学历证书编号 {number}，请修改已有的记录"),
            format!(
                "you have already registered certificate number {number}; modify that record instead"
            ),
        )
    } else {
        Msg::new(
            format!("学历证书编号 {number} 已被其他账号登记；如有疑问请联系学校自考办"),
            format!(
                "certificate number {number} is registered to another account; contact the school's self-study office if this is wrong"
            ),
        )
    };
    ApiError::new(
        StatusCode::CONFLICT,
        "state.conflict",
        Msg::new(
            "学历证书编号已登记",
            "Certificate number already registered",
        ),
        detail,
    )
}

fn map_write(
    conn: &mut PgConnection,
    result: Result<PriorDegreeRow, DbError>,
    number: &str,
    candidate: Uuid,
) -> Result<PriorDegreeRow, ApiError> {
    match result {
        Err(DbError::Unique { constraint }) if constraint == CERTIFICATE_NUMBER_KEY => {
            Err(duplicate_number(conn, number, candidate))
        }
        other => Ok(other?),
    }
}

fn record(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    action: &str,
    from: Option<&str>,
    to: Option<&str>,
    note: Option<&str>,
) -> Result<(), ApiError> {
    history::record(
        conn,
        &Change {
            entity: Entity::PriorDegree,
            entity_id: id,
            actor_id: Some(principal.id),
            actor_role: principal.role.as_str(),
            action,
            from_status: from,
            to_status: to,
            note,
        },
    )?;
    Ok(())
}

/// What `actor` may do with `row` now (status, window and role).
pub(crate) fn actions_for(
    conn: &mut PgConnection,
    actor: &Principal,
    row: &PriorDegreeRow,
    now: DateTime<Utc>,
) -> Result<Vec<PriorDegreeAction>, ApiError> {
    let status = row.status;
    let caller = Caller {
        holder: actor.role == Role::Candidate && actor.id == row.candidate_id,
        verifier: actor.may_verify(),
    };
    // The window matters only to a holder of an editable degree.
    let window_open = caller.holder
        && status.is_editable()
        && persistence::rounds::current(conn, now)?
            .is_some_and(|round| round.prior_degree_window.check_open(now).is_ok());
    Ok(status.allowed_actions(caller, window_open))
}

async fn respond(
    state: &AppState,
    actor: Principal,
    status: StatusCode,
    row: PriorDegreeRow,
    lang: Lang,
) -> Result<HttpResponse, ApiError> {
    let version = row.version;
    let id = row.id;
    let (row, actions) = state
        .db(move |conn| {
            let actions = actions_for(conn, &actor, &row, Utc::now())?;
            Ok((row, actions))
        })
        .await?;
    let view = PriorDegreeView::new(row, lang, &actions)?;
    let mut builder = HttpResponse::build(status);
    builder.insert_header(etag::etag_header(version));
    if status == StatusCode::CREATED {
        builder.insert_header((LOCATION, format!("/api/v1/prior-degrees/{id}")));
    }
    Ok(builder.json(view))
}

/// Records a verification result on a locked, visible prior degree: status, history
/// and an outbox notification for the candidate, in the caller's transaction.
fn apply_verification(
    conn: &mut PgConnection,
    principal: &Principal,
    degree: &PriorDegreeRow,
    result: VerificationResult,
    feedback: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PriorDegreeRow, ApiError> {
    let from = degree.status;
    let to = from.verify(result).map_err(conflict)?;
    let row = store::mark_verified(conn, degree.id, to.as_str(), feedback, principal.id, now)?;
    record(
        conn,
        principal,
        row.id,
        "verify",
        Some(from.as_str()),
        Some(to.as_str()),
        feedback,
    )?;
    outbox::enqueue(
        conn,
        NotificationKind::VerificationResult,
        row.candidate_id,
        &serde_json::json!({
            "prior_degree_id": row.id,
            "certificate_number": row.certificate_number,
            "status": to.as_str(),
            "status_label": to.label_zh(),
            "feedback": feedback,
            "verified_at": now,
        }),
    )?;
    Ok(row)
}

// ---------------------------------------------------------------------------
// Handlers

/// Creates a draft prior degree for the signed-in candidate.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "create_prior_degree",
    description = "Step 3–5 of the walkthrough: the candidate accepts the current round's pledge \
        (`pledge_accepted: true` with its `pledge_version`, R3; otherwise 422 `pledge.not_accepted`) \
        and saves the application as a **draft**. Only inside the current round's prior-degree window \
        (422 `window.closed`, R6). Every field is checked and all problems are reported at once; the \
        certificate number is checked against the declared level, education type and graduation year \
        (`certificate_number.format`, `certificate_number.mismatch`; a 17-digit pre-2002 number passes \
        with a warning). A certificate number belongs to at most one candidate: 409 `state.conflict` \
        when it is already registered. The record keeps which pledge version was accepted and when.\n\n\
        State machine: `draft` →(submit)→ `submitted` (verification `pending`) →(verification)→ \
        `effective` (final; the only status usable for degree-based certification, R7) or `rejected` \
        →(modify, submit)→ `submitted` again.",
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
    let principal = user.0;
    let actor = principal.clone();
    let body = body.0;
    let now = Utc::now();
    let fields = check_fields(
        &RawFields {
            certificate_number: body.certificate_number,
            school_name: body.school_name,
            major_name: body.major_name,
            level: body.level,
            education_type: body.education_type,
            graduation_date: body.graduation_date,
        },
        today_in_shanghai(now),
    )?;
    let row = state
        .tx(move |conn| {
            let round = open_round(conn, now)?;
            let accepted = body.pledge_accepted == Some(true);
            round
                .pledge
                .check_accepted(body.pledge_version.as_deref(), accepted)
                .map_err(|v| {
                    let field = if accepted && body.pledge_version.is_some() {
                        "pledge_version"
                    } else {
                        "pledge_accepted"
                    };
                    ApiError::field(field, v)
                })?;
            let inserted = store::insert_draft(
                conn,
                principal.id,
                round.id,
                &fields,
                round.pledge.version(),
                now,
            );
            let row = map_write(conn, inserted, &fields.certificate_number, principal.id)?;
            let note = format!("pledge {}", round.pledge.version());
            record(
                conn,
                &principal,
                row.id,
                "create",
                None,
                Some("draft"),
                Some(&note),
            )?;
            Ok(row)
        })
        .await?;
    respond(&state, actor, StatusCode::CREATED, row, lang(&req)).await
}

/// Lists the prior degrees the caller may see.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "list_prior_degrees",
    description = "Newest first. A candidate sees their own, staff their school's candidates', \
        admins all; service accounts get 403. Optional `status` filter.",
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
    let principal = user.0;
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
    // Own degrees, the school's, or all (staff without a school: none).
    let who = principal.visibility();
    let (rows, total) = state
        .db(move |conn| {
            let (rows, total) = store::list(
                conn,
                &who,
                status.map(PriorDegreeStatus::as_str),
                page.offset(),
                page.per_page,
            )?;
            let now = Utc::now();
            let rows = rows
                .into_iter()
                .map(|d| {
                    let actions = actions_for(conn, &principal, &d.degree, now)?;
                    Ok((d.degree, actions))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok((rows, total))
        })
        .await?;
    let lang = lang(&req);
    let items = rows
        .into_iter()
        .map(|(degree, actions)| PriorDegreeView::new(degree, lang, &actions))
        .collect::<Result<_, _>>()?;
    Ok(web::Json(page.wrap(items, total)))
}

/// One prior degree.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "get_prior_degree",
    description = "The prior degree with its pledge acceptance, its verification feedback \
        (`verification.status`: `not_submitted`, `pending`, `effective`, `rejected`) and the actions \
        its holder may take now. Visible to its holder, staff of the holder's school and admins; \
        anyone else gets 404.",
    params(("id" = Uuid, Path, description = "The prior degree's id.")),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The prior degree.", body = PriorDegreeView,
            headers(("ETag" = String, description = "The version, quoted; send it as If-Match."))),
        (status = 404, description = "Unknown, or not visible to the caller.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/prior-degrees/{id}")]
pub async fn get_prior_degree(
    user: Person,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = user.0;
    let actor = principal.clone();
    let id = parse_id(&id)?;
    let degree = state
        .db(move |conn| load_visible(conn, &principal, id, false))
        .await?;
    respond(&state, actor, StatusCode::OK, degree.degree, lang(&req)).await
}

/// Modifies a draft or rejected prior degree.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "update_prior_degree",
    description = "Step 6 (\"modify\", R4): the holder changes any of the declared fields while the \
        prior degree is `draft` or `rejected` (otherwise 409 `state.conflict`), inside the current \
        round's prior-degree window (422 `window.closed`, R6). The whole record is checked again, \
        the certificate number against the declared fields. Send the `ETag` as `If-Match`: a stale \
        version is 412 `version.stale`. The status does not change; a rejected degree stays \
        `rejected` until it is submitted again.\n\n\
        State machine: `draft` →(submit)→ `submitted` →(verification)→ `effective` (final) or \
        `rejected` →(modify, submit)→ `submitted` again.",
    params(
        ("id" = Uuid, Path, description = "The prior degree's id."),
        ("If-Match" = Option<String>, Header, description = "The ETag last read, e.g. \"2\"."),
    ),
    request_body = PriorDegreeChanges,
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The prior degree as changed.", body = PriorDegreeView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 404, description = "Unknown, or not the caller's.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`state.conflict`: not `draft` or `rejected`, or the certificate number is registered already.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "`version.stale`: If-Match does not match.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
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
    let principal = user.0;
    let actor = principal.clone();
    let id = parse_id(&id)?;
    let expected = etag::if_match(&req)?;
    let changes = body.0;
    let now = Utc::now();
    let row = state
        .tx(move |conn| {
            let current = load_visible(conn, &principal, id, true)?.degree;
            etag::check(expected, current.version)?;
            let status = current.status;
            status.check_editable().map_err(conflict)?;
            open_round(conn, now)?;
            let raw = RawFields {
                certificate_number: changes
                    .certificate_number
                    .unwrap_or_else(|| current.certificate_number.clone()),
                school_name: changes
                    .school_name
                    .unwrap_or_else(|| current.school_name.clone()),
                major_name: changes
                    .major_name
                    .unwrap_or_else(|| current.major_name.clone()),
                level: changes
                    .level
                    .unwrap_or_else(|| current.level.label_en().to_owned()),
                education_type: changes
                    .education_type
                    .unwrap_or_else(|| current.education_type.as_str().to_owned()),
                graduation_date: changes
                    .graduation_date
                    .unwrap_or_else(|| current.graduation_date.to_string()),
            };
            let fields = check_fields(&raw, today_in_shanghai(now))?;
            let changed: Vec<&str> = [
                (
                    "certificate_number",
                    fields.certificate_number != current.certificate_number,
                ),
                ("school_name", fields.school_name != current.school_name),
                ("major_name", fields.major_name != current.major_name),
                ("level", fields.level != current.level),
                (
                    "education_type",
                    fields.education_type != current.education_type,
                ),
                (
                    "graduation_date",
                    fields.graduation_date != current.graduation_date,
                ),
            ]
            .into_iter()
            .filter_map(|(name, differs)| differs.then_some(name))
            .collect();
            if changed.is_empty() {
                return Ok(current);
            }
            let updated = store::update_fields(conn, id, &fields, now);
            let row = map_write(conn, updated, &fields.certificate_number, principal.id)?;
            let note = format!("changed: {}", changed.join(", "));
            record(
                conn,
                &principal,
                id,
                "update",
                Some(status.as_str()),
                Some(status.as_str()),
                Some(&note),
            )?;
            Ok(row)
        })
        .await?;
    respond(&state, actor, StatusCode::OK, row, lang(&req)).await
}

/// Submits a draft or rejected prior degree for verification.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "submit_prior_degree",
    description = "Steps 5–6 (\"submit\", R4): `draft` or `rejected` → `submitted`, verification \
        `pending`; any earlier feedback is cleared from the record (the history keeps it). Only the \
        holder, only inside the current round's prior-degree window (422 `window.closed`, R6); from \
        any other status 409 `state.conflict`. `If-Match` is honoured (412 `version.stale`).\n\n\
        State machine: `draft` →(submit)→ `submitted` →(verification)→ `effective` (final) or \
        `rejected` →(modify, submit)→ `submitted` again.",
    params(
        ("id" = Uuid, Path, description = "The prior degree's id."),
        ("If-Match" = Option<String>, Header, description = "The ETag last read."),
    ),
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The prior degree, now `submitted`.", body = PriorDegreeView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 404, description = "Unknown, or not the caller's.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`state.conflict`: not `draft` or `rejected`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "`version.stale`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
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
    let principal = user.0;
    let actor = principal.clone();
    let id = parse_id(&id)?;
    let expected = etag::if_match(&req)?;
    let now = Utc::now();
    let row = state
        .tx(move |conn| {
            let current = load_visible(conn, &principal, id, true)?.degree;
            etag::check(expected, current.version)?;
            let from = current.status;
            let to = from.submit().map_err(conflict)?;
            open_round(conn, now)?;
            let row = store::mark_submitted(conn, id, now)?;
            record(
                conn,
                &principal,
                id,
                "submit",
                Some(from.as_str()),
                Some(to.as_str()),
                None,
            )?;
            Ok(row)
        })
        .await?;
    respond(&state, actor, StatusCode::OK, row, lang(&req)).await
}

/// Records the verification result of a submitted prior degree.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "verify_prior_degree",
    description = "Step 7 (R5): the CHSI (学信网) verification feedback. `submitted` → `effective` \
        (final: usable for degree-based certification, R7) or `rejected` (the holder may modify and \
        submit again; `feedback` is required and tells them what to correct). From any other status \
        409 `state.conflict`. By staff of the holder's school, admins, or service accounts with \
        scope `verification:write` (without it 403); other staff get 404. Not bound to the window. \
        Writes a history row and a `verification_result` notification to the outbox for the holder, \
        in the same transaction. `If-Match` is honoured (412 `version.stale`).\n\n\
        State machine: `draft` →(submit)→ `submitted` →(verification)→ `effective` (final) or \
        `rejected` →(modify, submit)→ `submitted` again.",
    params(
        ("id" = Uuid, Path, description = "The prior degree's id."),
        ("If-Match" = Option<String>, Header, description = "The ETag last read."),
    ),
    request_body = VerificationRequest,
    security(("bearer" = ["staff", "admin", "integration"])),
    responses(
        (status = 200, description = "The prior degree with its result.", body = PriorDegreeView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 404, description = "Unknown, or not visible to the caller.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`state.conflict`: not `submitted`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "`version.stale`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
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
    let principal = user.0;
    if !principal.may_verify() {
        return Err(forbidden());
    }
    let actor = principal.clone();
    let id = parse_id(&id)?;
    let expected = etag::if_match(&req)?;
    let mut checks = FieldChecks::default();
    let result = checks.check("result", VerificationResult::parse(&body.0.result));
    let feedback = result.and_then(|r| {
        checks.check(
            "feedback",
            rules::check_feedback(r, body.0.feedback.as_deref()),
        )
    });
    checks.finish()?;
    let (Some(result), Some(feedback)) = (result, feedback) else {
        return Err(ApiError::internal("checked verification missing"));
    };
    let now = Utc::now();
    let row = state
        .tx(move |conn| {
            let current = load_visible(conn, &principal, id, true)?.degree;
            etag::check(expected, current.version)?;
            apply_verification(conn, &principal, &current, result, feedback.as_deref(), now)
        })
        .await?;
    respond(&state, actor, StatusCode::OK, row, lang(&req)).await
}

/// Records many verification results at once.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "verify_prior_degrees_batch",
    description = "The verification feedback for many prior degrees, by certificate number: a JSON \
        array of `{certificate_number, result, feedback}` (`Content-Type: application/json`) or CSV \
        (`Content-Type: text/csv`, UTF-8, a header row naming the columns `certificate_number,result,feedback`, \
        fields quoted as in RFC 4180 when they hold commas). Each row is applied in its own \
        transaction exactly like `POST /prior-degrees/{id}/verification` (history row, outbox \
        notification); a bad row — malformed, unknown or not visible (`not_found`), not `submitted` \
        (`state.conflict`) — is reported and rejects nothing else. The report has one row per input \
        row, in order. Staff reach only their school's candidates; service accounts need \
        `verification:write`. At most 1000 rows.",
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
    let principal = user.0;
    if !principal.may_verify() {
        return Err(forbidden());
    }
    let mut payload = payload.into_inner();
    let body = read_body(&req, &mut payload).await?;
    let rows = parse_batch(&req, &body)?;
    let lang = lang(&req);
    let now = Utc::now();
    let reports = state
        .db(move |conn| {
            Ok(rows
                .into_iter()
                .enumerate()
                .map(|(i, row)| apply_batch_row(conn, &principal, i + 1, row, now, lang))
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

/// A batch row as read: its fields, or why it could not be read.
type ParsedRow = Result<BatchRow, (Option<String>, FieldProblem)>;

fn parse_batch(req: &HttpRequest, body: &[u8]) -> Result<Vec<ParsedRow>, ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let rows = match mime.as_str() {
        "application/json" => {
            let values: Vec<serde_json::Value> = from_json_slice(body)?;
            values
                .into_iter()
                .map(|v| {
                    let number = v
                        .get("certificate_number")
                        .and_then(|n| n.as_str())
                        .map(str::to_owned);
                    serde_json::from_value::<BatchRow>(v).map_err(|e| {
                        (
                            number,
                            FieldProblem {
                                field: String::new(),
                                code: "validation".into(),
                                message: Msg::new(
                                    format!("该行格式不正确：{e}"),
                                    format!("the row is malformed: {e}"),
                                ),
                            },
                        )
                    })
                })
                .collect::<Vec<_>>()
        }
        "text/csv" => {
            let text = std::str::from_utf8(body).map_err(|_| {
                ApiError::bad_request(
                    "csv.encoding",
                    Vec::new(),
                    Msg::new("CSV 必须是 UTF-8 编码", "the CSV must be UTF-8"),
                )
            })?;
            csv_rows(text)?
        }
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content_type.unsupported",
                Msg::new("不支持的内容类型", "Unsupported media type"),
                Msg::new(
                    format!("请求体须为 application/json 或 text/csv，收到的是 {other}"),
                    format!("the body must be application/json or text/csv; got {other}"),
                ),
            ));
        }
    };
    if rows.is_empty() {
        return Err(ApiError::field(
            "",
            Violation::new("batch.empty", "没有任何数据行", "the batch has no rows"),
        ));
    }
    if rows.len() > MAX_BATCH_ROWS {
        return Err(ApiError::field(
            "",
            Violation::new(
                "batch.too_large",
                format!("一次最多 {MAX_BATCH_ROWS} 行，收到 {} 行", rows.len()),
                format!("at most {MAX_BATCH_ROWS} rows at once; got {}", rows.len()),
            ),
        ));
    }
    Ok(rows)
}

/// Reads the CSV form of a batch (split by [`domain::csv::records`]). Broken quoting
/// refuses the whole batch, naming the row (422 `csv.format`); a line of only spaces
/// counts as blank.
fn csv_rows(text: &str) -> Result<Vec<ParsedRow>, ApiError> {
    let records = domain::csv::records(text)
        .map_err(|e| ApiError::field(format!("row {}", e.row), e.violation))?;
    let mut records = records
        .into_iter()
        .map(|r| r.cells)
        .filter(|cells| !(cells.len() == 1 && cells[0].trim().is_empty()));
    let header: Vec<String> = records
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(number_at), Some(result_at)) = (column("certificate_number"), column("result"))
    else {
        return Err(ApiError::field(
            "header",
            Violation::new(
                "csv.header",
                "CSV 第一行须为表头 certificate_number,result,feedback",
                "the first CSV line must be the header certificate_number,result,feedback",
            ),
        ));
    };
    let feedback_at = column("feedback");
    Ok(records
        .map(|r| {
            let get = |i: usize| r.get(i).map(|v| v.trim().to_owned());
            match (get(number_at), get(result_at)) {
                (Some(certificate_number), Some(result)) => Ok(BatchRow {
                    certificate_number,
                    result,
                    feedback: feedback_at.and_then(get).filter(|f| !f.is_empty()),
                }),
                (number, _) => Err((
                    number,
                    FieldProblem {
                        field: String::new(),
                        code: "csv.columns".into(),
                        message: Msg::new(
                            format!("该行只有 {} 列，少于表头的列数", r.len()),
                            format!(
                                "the row has only {} columns, fewer than the header",
                                r.len()
                            ),
                        ),
                    },
                )),
            }
        })
        .collect())
}

fn apply_batch_row(
    conn: &mut PgConnection,
    principal: &Principal,
    position: usize,
    row: ParsedRow,
    now: DateTime<Utc>,
    lang: Lang,
) -> BatchRowReport {
    let failed = |number: Option<String>, problem: FieldProblem| BatchRowReport {
        row: position,
        certificate_number: number,
        outcome: RowOutcome::Failed,
        prior_degree_id: None,
        status: None,
        error: Some(RowError {
            code: problem.code.to_string(),
            field: (!problem.field.is_empty()).then_some(problem.field),
            message: problem.message.get(lang).to_owned(),
        }),
    };
    let row = match row {
        Ok(row) => row,
        Err((number, problem)) => return failed(number, problem),
    };
    let number_text = row.certificate_number.trim().to_owned();
    let checked = (|| {
        let number = CertificateNumber::parse(&row.certificate_number)
            .map_err(|v| FieldProblem::from_violation("certificate_number", v))?;
        let result = VerificationResult::parse(&row.result)
            .map_err(|v| FieldProblem::from_violation("result", v))?;
        let feedback = rules::check_feedback(result, row.feedback.as_deref())
            .map_err(|v| FieldProblem::from_violation("feedback", v))?;
        Ok::<_, FieldProblem>((number, result, feedback))
    })();
    let (number, result, feedback) = match checked {
        Ok(c) => c,
        Err(problem) => return failed(Some(number_text), problem),
    };
    let applied = conn.transaction(|conn| {
        let degree = match store::find_by_certificate_number(conn, number.as_str()) {
            Ok(d) if principal.can_read_prior_degree(owner_of(&d)) => d.degree,
            Ok(_) | Err(DbError::NotFound) => {
                return Err(ApiError::not_found(Msg::new(
                    format!("没有已登记的学历证书编号 {number}"),
                    format!("no prior degree with certificate number {number} is on file"),
                )));
            }
            Err(e) => return Err(e.into()),
        };
        apply_verification(conn, principal, &degree, result, feedback.as_deref(), now)
    });
    match applied {
        Ok(degree) => BatchRowReport {
            row: position,
            certificate_number: Some(number.to_string()),
            outcome: RowOutcome::Applied,
            prior_degree_id: Some(degree.id),
            status: Some(degree.status.into()),
            error: None,
        },
        Err(e) => {
            let p = e.problem();
            if p.status.is_server_error() {
                tracing::error!(error = ?p.internal, "batch verification row failed");
            }
            failed(
                Some(number.to_string()),
                FieldProblem {
                    field: if p.code == "not_found" {
                        "certificate_number".into()
                    } else {
                        String::new()
                    },
                    code: p.code.clone(),
                    message: p.detail.clone(),
                },
            )
        }
    }
}

/// Every change of a prior degree.
#[utoipa::path(
    tag = "prior-degrees",
    operation_id = "get_prior_degree_history",
    description = "Every change, oldest first: who (account and role), when, from which status to \
        which, and a note (the verification feedback, or the fields changed). Visible to whoever \
        may see the prior degree.",
    params(("id" = Uuid, Path, description = "The prior degree's id."), PageQuery),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The history.", body = Paginated<HistoryEntry>),
        (status = 404, description = "Unknown, or not visible to the caller.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/prior-degrees/{id}/history")]
pub async fn get_prior_degree_history(
    user: Person,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: ApiQuery<PageQuery>,
) -> Result<web::Json<Paginated<HistoryEntry>>, ApiError> {
    let principal = user.0;
    let id = parse_id(&id)?;
    let page = query.0.check()?;
    let rows = state
        .db(move |conn| {
            load_visible(conn, &principal, id, false)?;
            Ok(history::list(conn, Entity::PriorDegree, id)?)
        })
        .await?;
    let total = rows.len() as i64;
    let items = rows
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(0))
        .map(|h| HistoryEntry {
            at: h.at,
            actor_id: h.actor_id,
            actor_role: h.actor_role,
            action: h.action,
            from_status: h.from_status,
            to_status: h.to_status,
            note: h.note,
        })
        .collect();
    Ok(web::Json(page.wrap(items, total)))
}

/// For the eligibility endpoint: the facts of a prior degree the caller may see,
/// its status, and whether it is effective (only then does it give degree routes).
pub async fn prior_degree_for_eligibility(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
) -> Result<
    (
        PriorDegreeRow,
        PriorDegreeStatus,
        EducationType,
        DegreeLevel,
    ),
    ApiError,
> {
    let principal = Person::extract(req).await?.0;
    let id = Uuid::parse_str(id.trim()).map_err(|_| {
        ApiError::field(
            "prior_degree_id",
            Violation::new(
                "id.format",
                "prior_degree_id 必须是 UUID",
                "prior_degree_id must be a UUID",
            ),
        )
    })?;
    let degree = state
        .db(move |conn| load_visible(conn, &principal, id, false))
        .await?
        .degree;
    let status = degree.status;
    let education_type = degree.education_type;
    let level = degree.level;
    Ok((degree, status, education_type, level))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_splits_quoted_fields_and_crlf() {
        let rows = csv_rows(
            "\u{feff}certificate_number,result,feedback\r\n1,rejected,\"x, \"\"y\"\"\"\r\n\n  \n2,effective,\n3,rejected,\"多\n行\"\n",
        )
        .unwrap();
        let rows: Vec<(&str, &str, Option<&str>)> = rows
            .iter()
            .map(|r| {
                let r = r.as_ref().unwrap();
                (&*r.certificate_number, &*r.result, r.feedback.as_deref())
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("1", "rejected", Some("x, \"y\"")),
                ("2", "effective", None),
                ("3", "rejected", Some("多\n行")),
            ]
        );
    }

    #[test]
    fn broken_csv_quoting_is_refused_naming_the_row() {
        for (text, row) in [
            (
                "certificate_number,result\n1,effective\n2,rej\"ected\n",
                "row 3",
            ),
            ("certificate_number,result\n1,\"effective\"x\n", "row 2"),
            ("certificate_number,result\n\n1,\"effective\n", "row 3"),
        ] {
            let problem = csv_rows(text).unwrap_err();
            let problem = problem.problem();
            assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY, "{text:?}");
            assert_eq!(problem.code, "csv.format", "{text:?}");
            assert_eq!(problem.errors[0].field, row, "{text:?}");
            assert!(
                problem.errors[0]
                    .message
                    .en
                    .starts_with(&format!("{row}: ")),
                "{text:?}"
            );
        }
    }

    #[test]
    fn csv_needs_a_header_with_the_columns() {
        assert!(csv_rows("number,result\n1,effective\n").is_err());
        let rows = csv_rows("result,certificate_number\neffective,106521201506001234\nrejected\n")
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].as_ref().unwrap().certificate_number,
            "106521201506001234"
        );
        assert!(rows[1].is_err());
    }
}
