//! The request and response bodies of the application endpoints, and how they map
//! to and from the use cases' values.

use chrono::{DateTime, NaiveDate, Utc};
use domain::CourseCode;
use domain::application::{ApplicationStatus, Decision, ItemDraft, Kind, ReviewChoice};
use domain::catalog::{CertificateKind, MajorCode, ValidCatalog};
use persistence::history::HistoryRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldProblem, Lang, Msg};
use crate::routes::catalog::CertificateKindValue;
use crate::use_cases::applications as cases;
use crate::use_cases::applications::{Application, CertificateClaim, Check, Finding};

// ---------------------------------------------------------------------------
// Requests

/// How the application certifies its courses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationKind {
    /// 学历证书课程认证: by the candidate's effective prior degree (R7–R12).
    Degree,
    /// 非学历证书课程认证: by an NCRE or CET certificate (R13–R15).
    Certificate,
}

domain::choice!(ApplicationKind { ApplicationKind::Degree => "degree", ApplicationKind::Certificate => "certificate" });

impl From<Kind> for ApplicationKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Degree => Self::Degree,
            Kind::Certificate => Self::Certificate,
        }
    }
}

impl From<ApplicationKind> for Kind {
    fn from(kind: ApplicationKind) -> Self {
        match kind {
            ApplicationKind::Degree => Self::Degree,
            ApplicationKind::Certificate => Self::Certificate,
        }
    }
}

/// One course applied for.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"course_code": "00015", "learned_course_name": "大学英语", "score_text": "60;65;70"}))]
pub struct ItemRequest {
    /// Five-digit course code.
    pub course_code: String,
    /// The transcript course that stands for it (R11); none for 03708/03709 (R10)
    /// and for certificate applications.
    pub learned_course_name: Option<String>,
    /// The transcript scores, one per term (English II: three semesters, R12).
    pub scores: Option<Vec<i64>>,
    /// The same as text, terms separated by the ASCII semicolon: `60;65;70` (R12).
    /// If both forms are given they must agree.
    pub score_text: Option<String>,
}

/// The certificate of a certificate application (R13–R15).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "ncre1", "number": "1801010100123", "obtained_on": "2017-06-30"}))]
pub struct CertificateRequest {
    /// `ncre1`, `ncre2`, `cet4` or `cet6`.
    #[schema(value_type = CertificateKindValue)]
    pub kind: CertificateKind,
    /// The certificate's number, 1–40 characters.
    pub number: String,
    /// When it was obtained (`YYYY-MM-DD`, not in the future).
    pub obtained_on: NaiveDate,
}

/// A new application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "degree", "prior_degree_id": "01938f6e-1c2d-7e8f-9a0b-1c2d3e4f5a6b",
    "items": [{"course_code": "03708"}, {"course_code": "03709"},
              {"course_code": "00015", "learned_course_name": "大学英语", "score_text": "60;65;70"}]}))]
pub struct CreateApplication {
    /// `degree` or `certificate`.
    pub kind: ApplicationKind,
    /// The round; default the current one.
    pub round_id: Option<Uuid>,
    /// The candidate's effective prior degree (degree applications only, R7).
    pub prior_degree_id: Option<Uuid>,
    /// The certificate (certificate applications only).
    pub certificate: Option<CertificateRequest>,
    /// The courses applied for.
    #[serde(default)]
    pub items: Vec<ItemRequest>,
}

/// A change to a draft or returned application; absent parts stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [{"course_code": "03708"}, {"course_code": "03709"},
    {"course_code": "00015", "learned_course_name": "大学英语", "scores": [60, 65, 70]}]}))]
pub struct UpdateApplication {
    /// Another effective prior degree of the candidate (degree applications).
    pub prior_degree_id: Option<Uuid>,
    /// Another certificate (certificate applications).
    pub certificate: Option<CertificateRequest>,
    /// The new list of courses, replacing the old one.
    pub items: Option<Vec<ItemRequest>>,
}

/// Submission (R17); the body may be omitted.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"confirm_missing": ["03029"]}))]
pub struct SubmitApplication {
    /// Certifiable courses deliberately left out: must list exactly the missing ones
    /// (R9: "above all do not select fewer"), else `selection.incomplete`.
    #[serde(default)]
    pub confirm_missing: Vec<String>,
}

/// Sending an application back to the candidate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "英语成绩与成绩单不符，请核对后重新提交"}))]
pub struct ReturnApplication {
    /// Why, 1–1000 characters; the candidate sees it.
    pub reason: String,
}

/// A decision on one course (the API value of `domain::application::Decision`).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecisionValue {
    /// Certified.
    Approved,
    /// Not certified (reason required).
    Rejected,
}

domain::choice!(DecisionValue { DecisionValue::Approved => "approved", DecisionValue::Rejected => "rejected" });

/// One course's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewItem {
    /// The course.
    pub course_code: String,
    /// `approved` or `rejected`.
    #[schema(value_type = DecisionValue)]
    pub decision: Decision,
    /// Why (required for a rejection), up to 1000 characters.
    pub reason: Option<String>,
}

/// A review: one decision per course of the application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [{"course_code": "03708", "decision": "approved"},
    {"course_code": "00015", "decision": "rejected", "reason": "成绩单未显示第三学期成绩"}]}))]
pub struct ReviewApplication {
    /// Every course of the application, each once.
    pub items: Vec<ReviewItem>,
}

// ---------------------------------------------------------------------------
// Views

/// The candidate an application belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateRef {
    /// Account id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Exam number.
    pub exam_number: Option<String>,
    /// School.
    pub school_code: Option<String>,
}

/// The certificate of a certificate application.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    /// `ncre1`, `ncre2`, `cet4`, `cet6`.
    pub kind: String,
    /// Chinese label of `kind`.
    pub kind_label: String,
    /// Its number.
    pub number: String,
    /// When obtained.
    pub obtained_on: NaiveDate,
}

/// One course of an application (R20: what was applied for).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"course_code": "00015", "course_name": "英语（二）", "position": 2,
    "rule_id": "100701-00015", "learned_course_name": "大学英语", "scores": [60, 65, 70],
    "score_text": "60;65;70", "live": true, "decision": null, "decision_label": null, "decision_reason": null}))]
pub struct ItemView {
    /// Course code.
    pub course_code: String,
    /// Course name (from the round's catalogue).
    pub course_name: Option<String>,
    /// Order, from 0.
    pub position: i16,
    /// The rule that certifies it.
    pub rule_id: Option<String>,
    /// The learned course name.
    pub learned_course_name: Option<String>,
    /// The parsed scores.
    pub scores: Option<Vec<i16>>,
    /// The canonical score text, e.g. `60;65;70`.
    pub score_text: Option<String>,
    /// Whether the item holds its course now (submitted, or approved).
    pub live: bool,
    /// `approved` or `rejected` once reviewed.
    pub decision: Option<String>,
    /// Chinese label of `decision`.
    pub decision_label: Option<String>,
    /// Why it was rejected.
    pub decision_reason: Option<String>,
}

/// A certification application.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// The round.
    pub round_id: Uuid,
    /// The catalogue version of the round (its rules apply).
    pub catalog_version_id: i64,
    /// Who applies.
    pub candidate: CandidateRef,
    /// The candidate's self-study major.
    pub major_code: String,
    /// Its name.
    pub major_name: Option<String>,
    /// `degree` or `certificate`.
    pub kind: ApplicationKind,
    /// Chinese label of `kind`.
    pub kind_label: String,
    /// The prior degree (degree applications).
    pub prior_degree_id: Option<Uuid>,
    /// The certificate (certificate applications).
    pub certificate: Option<CertificateView>,
    /// `draft`, `submitted`, `returned`, `approved`, `partially_approved`, `rejected`.
    #[schema(example = "submitted")]
    pub status: String,
    /// Chinese label of `status`.
    pub status_label: String,
    /// Why staff returned it (last time).
    pub return_reason: Option<String>,
    /// Certifiable courses the candidate confirmed leaving out (R9).
    pub confirmed_missing: Vec<String>,
    /// The courses, in order.
    pub items: Vec<ItemView>,
    /// How many courses (R20).
    pub item_count: usize,
    /// When last submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// When reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Who reviewed it.
    pub reviewed_by: Option<Uuid>,
    /// Bumped by every change; also the `ETag`.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A course named in a check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseEntry {
    /// Course code.
    pub course_code: String,
    /// Course name.
    pub course_name: Option<String>,
}

/// One problem or warning of a check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckProblem {
    /// JSON path into the application (`items[2].score_text`), or empty.
    pub field: String,
    /// Stable code (see API.md).
    pub code: String,
    /// What is wrong, in the response language.
    pub message: String,
}

/// The preflight check (R9, R17, R20).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"ready": false, "status": "draft", "errors": [],
    "warnings": [{"field": "items", "code": "selection.incomplete",
        "message": "按附表您可以申请 4 门课程，已选 3 门，未选：03029。请不要少选；确实不申请的，请在 confirm_missing 中逐一列出这些课程后再提交"}],
    "expected_courses": [{"course_code": "03708", "course_name": "中国近代史纲要"}],
    "selected_courses": [{"course_code": "03708", "course_name": "中国近代史纲要"}],
    "missing_courses": [{"course_code": "03029", "course_name": "药理学（二）"}],
    "expected_count": 4, "selected_count": 3, "missing_count": 1}))]
pub struct CheckView {
    /// Whether submitting now would succeed without `confirm_missing`: editable
    /// status, window open, no errors, no missing course.
    pub ready: bool,
    /// The application's status.
    pub status: String,
    /// What refuses a submission.
    pub errors: Vec<CheckProblem>,
    /// What to look at (`evidence.name_unexpected`, `selection.incomplete`).
    pub warnings: Vec<CheckProblem>,
    /// The courses this route can certify for the candidate (R9).
    pub expected_courses: Vec<CourseEntry>,
    /// The courses selected.
    pub selected_courses: Vec<CourseEntry>,
    /// Expected courses neither selected nor held by another application.
    pub missing_courses: Vec<CourseEntry>,
    /// "You can apply for N courses".
    pub expected_count: usize,
    /// "You selected M" (of the expected ones).
    pub selected_count: usize,
    /// How many are missing.
    pub missing_count: usize,
}

/// One change of an application.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Sequence number.
    pub id: i64,
    /// Who (null: the system).
    pub actor_id: Option<Uuid>,
    /// Their role.
    pub actor_role: String,
    /// `create`, `update`, `submit`, `withdraw`, `return`, `review`.
    pub action: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// Reason or summary.
    pub note: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this status.
    #[param(example = "submitted")]
    pub status: Option<String>,
    /// Only this round.
    pub round_id: Option<Uuid>,
    /// Only this self-study major.
    #[param(example = "100701")]
    pub major_code: Option<String>,
    /// Only candidates of this school.
    pub school_code: Option<String>,
    /// Text in the candidate's name or exam number.
    pub q: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, default = 1)]
    pub page: Option<i64>,
    /// Items per page, 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub per_page: Option<i64>,
}

impl ListQuery {
    /// The page and the filter, or 422 naming a bad `page`, `per_page` or `status`.
    pub fn checked(self) -> Result<(Page, cases::ListQuery), ApiError> {
        let page = PageQuery {
            page: self.page,
            per_page: self.per_page,
        }
        .check()?;
        let status = match self.status.as_deref() {
            None => None,
            Some(text) => Some(ApplicationStatus::parse(text).ok_or_else(|| {
                ApiError::validation(vec![FieldProblem {
                    field: "status".into(),
                    code: "enum".into(),
                    message: Msg::new(
                        "status 须为 draft、submitted、returned、approved、partially_approved 或 rejected",
                        "status is one of draft, submitted, returned, approved, partially_approved, rejected",
                    ),
                }])
            })?),
        };
        let filter = cases::ListQuery {
            status,
            round_id: self.round_id,
            major_code: self.major_code,
            school_code: self.school_code,
            q: self.q,
        };
        Ok((page, filter))
    }
}

// ---------------------------------------------------------------------------
// Mapping

impl From<&ItemRequest> for ItemDraft {
    fn from(item: &ItemRequest) -> Self {
        Self {
            course_code: item.course_code.clone(),
            learned_course_name: item.learned_course_name.clone(),
            scores: item.scores.clone(),
            score_text: item.score_text.clone(),
        }
    }
}

/// The items of a request as the use cases take them.
pub fn drafts(items: &[ItemRequest]) -> Vec<ItemDraft> {
    items.iter().map(ItemDraft::from).collect()
}

impl From<&CertificateRequest> for CertificateClaim {
    fn from(c: &CertificateRequest) -> Self {
        Self {
            kind: c.kind,
            number: c.number.clone(),
            obtained_on: c.obtained_on,
        }
    }
}

impl From<&ReviewItem> for ReviewChoice {
    fn from(item: &ReviewItem) -> Self {
        Self {
            course_code: item.course_code.clone(),
            decision: item.decision,
            reason: item.reason.clone(),
        }
    }
}

fn course_name(catalog: &ValidCatalog, code: &str) -> Option<String> {
    CourseCode::parse(code)
        .ok()
        .and_then(|c| catalog.course(&c).map(|c| c.name.clone()))
}

impl ApplicationView {
    /// The view of `application`; course and major names from its round's catalogue.
    pub fn of(application: Application) -> Self {
        let Application {
            row,
            items,
            candidate,
            catalog,
        } = application;
        let version_id = catalog.id;
        let catalog = &catalog.catalog;
        let kind: ApplicationKind = row.kind.into();
        let major_name = MajorCode::parse(&row.major_code)
            .ok()
            .and_then(|m| catalog.major(&m).map(|m| m.name.clone()));
        let certificate = match (
            row.certificate_kind,
            row.certificate_number,
            row.certificate_obtained_on,
        ) {
            (Some(kind), Some(number), Some(obtained_on)) => Some(CertificateView {
                kind_label: kind.label_zh().to_owned(),
                kind: kind.as_str().to_owned(),
                number,
                obtained_on,
            }),
            _ => None,
        };
        let items: Vec<ItemView> = items
            .into_iter()
            .map(|i| ItemView {
                course_name: course_name(catalog, &i.course_code),
                decision_label: i
                    .decision
                    .as_deref()
                    .and_then(Decision::parse)
                    .map(|d| d.label_zh().to_owned()),
                course_code: i.course_code,
                position: i.position,
                rule_id: i.rule_id,
                learned_course_name: i.learned_course_name,
                scores: i.scores,
                score_text: i.score_text,
                live: i.live,
                decision: i.decision,
                decision_reason: i.decision_reason,
            })
            .collect();
        let status = row.status;
        ApplicationView {
            id: row.id,
            round_id: row.round_id,
            catalog_version_id: version_id,
            candidate: CandidateRef {
                id: row.candidate_id,
                name: candidate.name,
                exam_number: candidate.exam_number,
                school_code: candidate.school_code,
            },
            major_code: row.major_code,
            major_name,
            kind,
            kind_label: row.kind.label_zh().to_owned(),
            prior_degree_id: row.prior_degree_id,
            certificate,
            status: status.as_str().to_owned(),
            status_label: status.label_zh().to_owned(),
            return_reason: row.return_reason,
            confirmed_missing: row.confirmed_missing,
            item_count: items.len(),
            items,
            submitted_at: row.submitted_at,
            reviewed_at: row.reviewed_at,
            reviewed_by: row.reviewed_by,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn entries(catalog: &ValidCatalog, codes: &[CourseCode]) -> Vec<CourseEntry> {
    codes
        .iter()
        .map(|c| CourseEntry {
            course_code: c.to_string(),
            course_name: catalog.course(c).map(|c| c.name.clone()),
        })
        .collect()
}

impl CheckProblem {
    fn of(finding: &Finding, lang: Lang) -> Self {
        let v = &finding.violation;
        Self {
            field: finding.field.clone(),
            code: v.code.to_owned(),
            message: match lang {
                Lang::Zh => v.zh.clone(),
                Lang::En => v.en.clone(),
            },
        }
    }
}

impl CheckView {
    /// The check in the response language.
    pub fn of(check: &Check, lang: Lang) -> Self {
        let a = &check.assessment;
        let catalog = &check.catalog.catalog;
        let problems = |list: &[Finding]| list.iter().map(|f| CheckProblem::of(f, lang)).collect();
        CheckView {
            ready: check.ready(),
            status: check.status.as_str().to_owned(),
            errors: problems(&check.errors),
            warnings: problems(&check.warnings),
            expected_count: a.expected.len(),
            selected_count: a.selected.iter().filter(|c| a.expected.contains(c)).count(),
            missing_count: a.missing.len(),
            expected_courses: entries(catalog, &a.expected),
            selected_courses: entries(catalog, &a.selected),
            missing_courses: entries(catalog, &a.missing),
        }
    }
}

impl From<HistoryRow> for HistoryEntry {
    fn from(h: HistoryRow) -> Self {
        Self {
            id: h.id,
            actor_id: h.actor_id,
            actor_role: h.actor_role,
            action: h.action,
            from_status: h.from_status,
            to_status: h.to_status,
            note: h.note,
            at: h.at,
        }
    }
}
