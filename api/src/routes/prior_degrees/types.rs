//! The request and response bodies of the prior-degree endpoints, and how the
//! use cases' values are shown.

use chrono::{DateTime, NaiveDate, Utc};
use domain::certificate_number::{
    CertificateNumber, DeclaredDegree, EducationType, require_regular,
};
use domain::prior_degree::{Declared, PriorDegreeStatus, VerificationStatus};
use persistence::history::HistoryRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::problem::Lang;
use crate::routes::catalog::Level;
use crate::use_cases::prior_degrees::{DegreeChanges, NewDegree, Shown};

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
    /// The view of `shown` in the response language.
    pub fn of(shown: Shown, lang: Lang) -> Self {
        let Shown { row, actions } = shown;
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
        Self {
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
        }
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
// Mapping

impl From<NewPriorDegree> for NewDegree {
    fn from(body: NewPriorDegree) -> Self {
        Self {
            pledge_version: body.pledge_version,
            pledge_accepted: body.pledge_accepted,
            declared: Declared {
                certificate_number: body.certificate_number,
                school_name: body.school_name,
                major_name: body.major_name,
                level: body.level,
                education_type: body.education_type,
                graduation_date: body.graduation_date,
            },
        }
    }
}

impl From<PriorDegreeChanges> for DegreeChanges {
    fn from(body: PriorDegreeChanges) -> Self {
        Self {
            certificate_number: body.certificate_number,
            school_name: body.school_name,
            major_name: body.major_name,
            level: body.level,
            education_type: body.education_type,
            graduation_date: body.graduation_date,
        }
    }
}

impl From<HistoryRow> for HistoryEntry {
    fn from(h: HistoryRow) -> Self {
        Self {
            at: h.at,
            actor_id: h.actor_id,
            actor_role: h.actor_role,
            action: h.action,
            from_status: h.from_status,
            to_status: h.to_status,
            note: h.note,
        }
    }
}
