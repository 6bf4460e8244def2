//! Certification applications (学历成果认证申请): create, read, change, check, submit,
//! withdraw, return, review and history (R7–R20).
//!
//! Every rule is checked by `domain::application::assess` against the catalogue
//! version of the application's round; every change runs in one transaction with its
//! history row (and, for status changes, an outbox notification). The last line
//! against a doubled submission is the database's live-course unique index.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use domain::account::Role;
use domain::application::{
    self, ApplicationStatus, Assessment, Decision, HeldCourse, ItemInput, RouteChoice,
};
use domain::catalog::{CertificateKind, DegreeLevel, MajorCode, ValidCatalog};
use domain::certificate_number::EducationType;
use domain::eligibility::{PriorDegreeFacts, ScoreInput};
use domain::window::shanghai;
use domain::{CourseCode, Violation};
use persistence::applications::{
    self as store, ApplicationRow, CertificateFacts, ItemRow, ListFilter, NewApplication, NewItem,
    StatusChange,
};
use persistence::catalog::CatalogVersion;
use persistence::history::{self, Change, Entity};
use persistence::outbox::{self, NotificationKind};
use persistence::rounds::RoundRecord;
use persistence::{DbError, accounts};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::access::Owner;
use crate::auth::principal::{CandidateUser, Person, Principal, SignedIn, StaffOrAdmin, forbidden};
use crate::catalog_cache::CatalogCache;
use crate::http::etag;
use crate::http::extract::{ApiJson, ApiQuery, from_json_slice};
use crate::http::extract::{lang_of, parse_id};
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::{ApiError, FieldProblem, Lang, Msg};
use crate::routes::catalog::CertificateKindValue;
use crate::state::AppState;

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

impl ApplicationKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Degree => "degree",
            Self::Certificate => "certificate",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Degree => "学历证书课程认证",
            Self::Certificate => "非学历证书课程认证",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "certificate" {
            Self::Certificate
        } else {
            Self::Degree
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

// ---------------------------------------------------------------------------
// Helpers

/// A rule broken by the request as a whole (no field), with its status.
pub(crate) fn rule_error(status: StatusCode, v: Violation) -> ApiError {
    let title = match status {
        StatusCode::CONFLICT => Msg::new("状态冲突", "Conflict"),
        _ => Msg::new("请求内容不符合规则", "The request breaks a rule"),
    };
    ApiError::new(status, v.code, title, Msg::new(v.zh, v.en))
}

/// Item problems: 409 when every one is a duplicate course, else 422.
fn refuse(errors: Vec<FieldProblem>) -> ApiError {
    let all_duplicates = errors.iter().all(|e| e.code == "course.duplicate");
    let mut e = ApiError::validation(errors);
    if all_duplicates {
        e.0.status = StatusCode::CONFLICT;
        e.0.title = Msg::new("课程重复", "Duplicate course");
    }
    e
}

fn not_found() -> ApiError {
    ApiError::not_found(Msg::new("申请不存在", "no such application"))
}

fn duplicate_live() -> ApiError {
    rule_error(
        StatusCode::CONFLICT,
        Violation::new(
            "course.duplicate",
            "其中有课程已在您的另一份申请中提交或已认证，不能重复申请",
            "a course of this application is already held by another of your applications (submitted or certified)",
        ),
    )
}

fn status_of(row: &ApplicationRow) -> Result<ApplicationStatus, ApiError> {
    Ok(row.status)
}

/// The application if the caller may see it (owner, staff of the candidate's
/// school, admin), else 404. `lock` takes the row lock for a change.
fn visible(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    lock: bool,
) -> Result<ApplicationRow, ApiError> {
    let row = match if lock {
        store::get_for_update(conn, id)
    } else {
        store::get(conn, id)
    } {
        Err(DbError::NotFound) => return Err(not_found()),
        other => other?,
    };
    // A candidate's own record needs no school; anyone else's is judged by it.
    let school = match principal.role {
        Role::Candidate => None,
        _ => store::candidate_of(conn, row.candidate_id)?.2,
    };
    if principal.can_read_application(Owner::new(row.candidate_id, school.as_deref())) {
        Ok(row)
    } else {
        Err(not_found())
    }
}

/// The application's round, its catalogue and the candidate's major in it.
struct Rules {
    round: RoundRecord,
    catalog: Arc<CatalogVersion>,
    major: MajorCode,
}

fn rules_for(
    conn: &mut PgConnection,
    cache: &CatalogCache,
    round: RoundRecord,
    major: &str,
) -> Result<Rules, ApiError> {
    let catalog = cache.version(conn, round.catalog_version_id)?;
    let unknown = || {
        rule_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            Violation::new(
                "major.unknown",
                format!("本轮的专业目录中没有您的专业 {major}"),
                format!("your major {major} is not in this round's catalogue"),
            ),
        )
    };
    let major = MajorCode::parse(major).map_err(|_| unknown())?;
    if catalog.catalog.major(&major).is_none() {
        return Err(unknown());
    }
    Ok(Rules {
        round,
        catalog,
        major,
    })
}

fn not_effective(zh: &str, en: &str) -> Violation {
    Violation::new(
        "prior_degree.not_effective",
        format!("学历证书课程认证须使用本人已生效的前置学历（R7）：{zh}"),
        format!("degree-based certification needs your own effective prior degree (R7): {en}"),
    )
}

/// The prior degree as the degree route needs it: the candidate's and effective
/// (R7), else `prior_degree.not_effective`.
fn degree_route(
    conn: &mut PgConnection,
    candidate: Uuid,
    prior_degree_id: Uuid,
) -> Result<RouteChoice, Violation> {
    let Some(row) = store::prior_degree(conn, prior_degree_id)
        .map_err(|e| Violation::new("internal", e.to_string(), e.to_string()))?
    else {
        return Err(not_effective(
            "找不到该前置学历",
            "there is no such prior degree",
        ));
    };
    if row.candidate_id != candidate {
        return Err(not_effective(
            "找不到该前置学历",
            "there is no such prior degree",
        ));
    }
    if row.status != "effective" {
        return Err(not_effective(
            &format!("该前置学历的状态为“{}”，尚未生效", row.status),
            &format!("its status is {}, not effective", row.status),
        ));
    }
    let level = DegreeLevel::parse(&row.level)?;
    let education_type = match row.education_type.as_str() {
        "regular" => EducationType::Regular,
        "adult" => EducationType::Adult,
        "self_study" => EducationType::SelfStudy,
        _ => EducationType::Online,
    };
    Ok(RouteChoice::Degree(PriorDegreeFacts {
        level,
        major_name: row.major_name,
        education_type,
    }))
}

/// The route of a stored application.
fn stored_route(conn: &mut PgConnection, row: &ApplicationRow) -> Result<RouteChoice, Violation> {
    match (row.prior_degree_id, row.certificate_kind.as_deref()) {
        (Some(id), _) => degree_route(conn, row.candidate_id, id),
        (None, Some(kind)) => CertificateKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .map(RouteChoice::Certificate)
            .ok_or_else(|| Violation::new("internal", "证书类型无效", "bad certificate kind")),
        (None, None) => Err(Violation::new("internal", "申请缺少认证途径", "no route")),
    }
}

/// Routes errors that are really server faults to 500.
fn route_error(field: &str, v: Violation) -> ApiError {
    if v.code == "internal" {
        ApiError::internal(v.en)
    } else {
        ApiError::field(field, v)
    }
}

fn held(
    conn: &mut PgConnection,
    candidate: Uuid,
    except: Option<Uuid>,
) -> Result<Vec<HeldCourse>, ApiError> {
    Ok(store::held_courses(conn, candidate, except)?
        .into_iter()
        .filter_map(|h| {
            Some(HeldCourse {
                course_code: CourseCode::parse(&h.course_code).ok()?,
                certified: h.decision.as_deref() == Some("approved"),
            })
        })
        .collect())
}

fn input_of(item: &ItemRequest) -> ItemInput<'_> {
    ItemInput {
        course_code: &item.course_code,
        learned_course_name: item.learned_course_name.as_deref(),
        scores: match (&item.scores, &item.score_text) {
            (Some(list), _) => ScoreInput::List(list),
            (None, Some(text)) => ScoreInput::Text(text),
            (None, None) => ScoreInput::Missing,
        },
    }
}

fn stored_input(item: &ItemRow) -> ItemInput<'_> {
    ItemInput {
        course_code: &item.course_code,
        learned_course_name: item.learned_course_name.as_deref(),
        scores: item
            .score_text
            .as_deref()
            .map(ScoreInput::Text)
            .unwrap_or(ScoreInput::Missing),
    }
}

/// Both score forms given and different: `score.conflict`.
fn score_conflicts(items: &[ItemRequest]) -> Vec<FieldProblem> {
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let (Some(list), Some(text)) = (&item.scores, &item.score_text) else {
                return None;
            };
            let joined = list
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(";");
            let normalised: String = text.split(';').map(str::trim).collect::<Vec<_>>().join(";");
            (joined != normalised.trim()).then(|| {
                FieldProblem::from_violation(
                    format!("items[{i}].score_text"),
                    Violation::new(
                        "score.conflict",
                        format!(
                            "scores（{joined}）与 score_text（{}）不一致，只填一种即可",
                            text.trim()
                        ),
                        format!(
                            "scores ({joined}) and score_text ({}) differ; give one of them",
                            text.trim()
                        ),
                    ),
                )
            })
        })
        .collect()
}

fn item_problems(a: &Assessment) -> Vec<FieldProblem> {
    a.errors
        .iter()
        .map(|p| FieldProblem::from_violation(p.field.path(p.index), p.violation.clone()))
        .collect()
}

/// Checks request items and turns them into rows, or refuses.
fn checked_items(
    rules: &Rules,
    route: &RouteChoice,
    items: &[ItemRequest],
    held: &[HeldCourse],
) -> Result<Vec<NewItem>, ApiError> {
    let inputs: Vec<ItemInput<'_>> = items.iter().map(input_of).collect();
    let a = application::assess(&rules.catalog.catalog, &rules.major, route, &inputs, held)
        .map_err(|v| route_error("prior_degree_id", v))?;
    let mut errors = item_problems(&a);
    errors.extend(score_conflicts(items));
    if !errors.is_empty() {
        errors.sort_by(|x, y| x.field.cmp(&y.field));
        return Err(refuse(errors));
    }
    Ok(a.checked
        .into_iter()
        .map(|c| NewItem {
            course_code: c.course_code.to_string(),
            rule_id: c.rule_id,
            learned_course_name: c.learned_course_name,
            scores: c
                .scores
                .as_ref()
                .map(|s| s.scores().iter().map(|&x| i16::from(x)).collect()),
            score_text: c.scores.as_ref().map(|s| s.canonical_text()),
        })
        .collect())
}

/// Checks a certificate's number and date.
fn certificate_facts(
    c: &CertificateRequest,
    today: NaiveDate,
) -> Result<CertificateFacts, ApiError> {
    let number = c.number.trim();
    let chars = number.chars().count();
    let mut problems = Vec::new();
    if chars == 0 || chars > 40 {
        problems.push(FieldProblem::from_violation(
            "certificate.number",
            Violation::new(
                "certificate.number",
                "证书编号须为1到40个字符",
                "the certificate number is 1 to 40 characters",
            ),
        ));
    }
    if c.obtained_on > today {
        problems.push(FieldProblem::from_violation(
            "certificate.obtained_on",
            Violation::new(
                "certificate.obtained_on",
                "取得证书日期不能晚于今天",
                "the date the certificate was obtained cannot be in the future",
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    Ok(CertificateFacts {
        kind: c.kind.as_str().to_owned(),
        number: number.to_owned(),
        obtained_on: c.obtained_on,
    })
}

fn course_name(catalog: &ValidCatalog, code: &str) -> Option<String> {
    CourseCode::parse(code)
        .ok()
        .and_then(|c| catalog.course(&c).map(|c| c.name.clone()))
}

/// Builds the view of an application.
fn view(
    conn: &mut PgConnection,
    cache: &CatalogCache,
    row: ApplicationRow,
    items: Vec<ItemRow>,
    rounds: &mut HashMap<Uuid, i64>,
) -> Result<ApplicationView, ApiError> {
    let version_id = match rounds.get(&row.round_id) {
        Some(v) => *v,
        None => {
            let v = persistence::rounds::get(conn, row.round_id)?.catalog_version_id;
            rounds.insert(row.round_id, v);
            v
        }
    };
    let catalog = cache.version(conn, version_id)?;
    let catalog = &catalog.catalog;
    let (name, exam_number, school_code) = store::candidate_of(conn, row.candidate_id)?;
    let status = status_of(&row)?;
    let kind = ApplicationKind::parse(&row.kind);
    let major_name = MajorCode::parse(&row.major_code)
        .ok()
        .and_then(|m| catalog.major(&m).map(|m| m.name.clone()));
    let certificate = match (
        row.certificate_kind.clone(),
        row.certificate_number.clone(),
        row.certificate_obtained_on,
    ) {
        (Some(kind), Some(number), Some(obtained_on)) => Some(CertificateView {
            kind_label: CertificateKind::ALL
                .into_iter()
                .find(|k| k.as_str() == kind)
                .map(|k| k.label_zh().to_owned())
                .unwrap_or_default(),
            kind,
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
    Ok(ApplicationView {
        id: row.id,
        round_id: row.round_id,
        catalog_version_id: version_id,
        candidate: CandidateRef {
            id: row.candidate_id,
            name,
            exam_number,
            school_code,
        },
        major_code: row.major_code,
        major_name,
        kind,
        kind_label: kind.label().to_owned(),
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
    })
}

fn view_of(
    conn: &mut PgConnection,
    cache: &CatalogCache,
    row: ApplicationRow,
) -> Result<ApplicationView, ApiError> {
    let items = store::items(conn, row.id)?;
    view(conn, cache, row, items, &mut HashMap::new())
}

fn with_etag(mut builder: actix_web::HttpResponseBuilder, view: &ApplicationView) -> HttpResponse {
    builder
        .insert_header(etag::etag_header(view.version))
        .json(view)
}

fn record(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    action: &str,
    from: Option<ApplicationStatus>,
    to: Option<ApplicationStatus>,
    note: Option<&str>,
) -> Result<(), ApiError> {
    history::record(
        conn,
        &Change {
            entity: Entity::CertificationApplication,
            entity_id: id,
            actor_id: Some(principal.id),
            actor_role: principal.role.as_str(),
            action,
            from_status: from.map(ApplicationStatus::as_str),
            to_status: to.map(ApplicationStatus::as_str),
            note,
        },
    )?;
    Ok(())
}

/// History row and outbox notification of a status change.
fn status_changed(
    conn: &mut PgConnection,
    principal: &Principal,
    row: &ApplicationRow,
    action: &str,
    from: ApplicationStatus,
    to: ApplicationStatus,
    note: Option<&str>,
) -> Result<(), ApiError> {
    record(conn, principal, row.id, action, Some(from), Some(to), note)?;
    outbox::enqueue(
        conn,
        NotificationKind::ApplicationStatus,
        row.candidate_id,
        &serde_json::json!({
            "application_id": row.id,
            "action": action,
            "from_status": from.as_str(),
            "status": to.as_str(),
            "status_label": to.label_zh(),
            "note": note,
        }),
    )?;
    Ok(())
}

fn require_editable(status: ApplicationStatus, zh: &str, en: &str) -> Result<(), ApiError> {
    if status.is_editable() {
        Ok(())
    } else {
        Err(rule_error(
            StatusCode::CONFLICT,
            application::state_conflict(status, zh, en),
        ))
    }
}

fn window_open(round: &RoundRecord, now: DateTime<Utc>) -> Result<(), ApiError> {
    round
        .certification_window
        .check_open(now)
        .map_err(|v| rule_error(StatusCode::UNPROCESSABLE_ENTITY, v))
}

/// The optional JSON body of an action (empty: the default).
fn optional_body<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        from_json_slice(body)
    }
}

// ---------------------------------------------------------------------------
// Handlers

/// Creates a draft application.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "create_certification_application",
    description = "Creates a **draft** for the signed-in candidate in a round (default: the current \
        one), inside the round's certification window (`window.closed`, R18). `kind: degree` needs \
        an effective prior degree of the candidate (`prior_degree.not_effective`, R7); `kind: \
        certificate` needs `certificate: {kind, number, obtained_on}` (R13–R15). Every item is \
        checked against the rules of the round's catalogue version: `course.not_certifiable` \
        (R8, R13–R15), `evidence.not_allowed` (R10), `evidence.required` (R11), `score.separator`, \
        `score.count`, `score.range`, `score.below_pass_mark` (R12), `score.conflict` (both score \
        forms, differing), and 409 `course.duplicate` (twice here, or held by another submitted \
        or certified application). Scores come as `scores: [60,65,70]` or `score_text: \"60;65;70\"`; \
        they are stored canonically. A learned course name the table does not expect is only a \
        warning (see `…/check`).",
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
    let principal = user.0;
    let body = body.0;
    let now = Utc::now();
    let today = now.with_timezone(&shanghai()).date_naive();
    let certificate = match (body.kind, &body.certificate, body.prior_degree_id) {
        (ApplicationKind::Degree, None, Some(_)) => None,
        (ApplicationKind::Certificate, Some(c), None) => Some(certificate_facts(c, today)?),
        (ApplicationKind::Degree, _, _) => {
            return Err(route_shape_error(
                body.prior_degree_id.is_none(),
                "prior_degree_id",
                "certificate",
            ));
        }
        (ApplicationKind::Certificate, _, _) => {
            return Err(route_shape_error(
                body.certificate.is_none(),
                "certificate",
                "prior_degree_id",
            ));
        }
    };
    let cache = state.catalog.clone();
    let view = state
        .tx(move |conn| {
            let account = accounts::find(conn, principal.id)?;
            let round = match body.round_id {
                Some(id) => match persistence::rounds::get(conn, id) {
                    Err(DbError::NotFound) => {
                        return Err(ApiError::field(
                            "round_id",
                            Violation::new(
                                "round.unknown",
                                "没有这个轮次",
                                "there is no such round",
                            ),
                        ));
                    }
                    other => other?,
                },
                None => persistence::rounds::current(conn, now)?.ok_or_else(|| {
                    rule_error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Violation::new(
                            "window.closed",
                            "当前没有开放中的认证轮次",
                            "no round is open for certification applications now",
                        ),
                    )
                })?,
            };
            window_open(&round, now)?;
            let rules = rules_for(
                conn,
                &cache,
                round,
                account.major_code.as_deref().unwrap_or(""),
            )?;
            let route = match (&certificate, body.prior_degree_id) {
                (Some(c), _) => RouteChoice::Certificate(
                    CertificateKind::ALL
                        .into_iter()
                        .find(|k| k.as_str() == c.kind)
                        .unwrap_or(CertificateKind::Ncre1),
                ),
                (None, Some(id)) => degree_route(conn, principal.id, id)
                    .map_err(|v| route_error("prior_degree_id", v))?,
                (None, None) => unreachable!("checked above"),
            };
            let held = held(conn, principal.id, None)?;
            let items = checked_items(&rules, &route, &body.items, &held)?;
            let new = NewApplication {
                id: Uuid::now_v7(),
                candidate_id: principal.id,
                round_id: rules.round.id,
                major_code: rules.major.to_string(),
                kind: body.kind.as_str().to_owned(),
                prior_degree_id: certificate
                    .is_none()
                    .then_some(body.prior_degree_id)
                    .flatten(),
                certificate_kind: certificate.as_ref().map(|c| c.kind.clone()),
                certificate_number: certificate.as_ref().map(|c| c.number.clone()),
                certificate_obtained_on: certificate.as_ref().map(|c| c.obtained_on),
                status: ApplicationStatus::Draft.as_str().to_owned(),
            };
            let row = store::insert(conn, &new, &items)?;
            record(
                conn,
                &principal,
                row.id,
                "create",
                None,
                Some(ApplicationStatus::Draft),
                None,
            )?;
            view_of(conn, &cache, row)
        })
        .await?;
    let mut builder = HttpResponse::Created();
    builder.insert_header((
        LOCATION,
        format!("/api/v1/certification-applications/{}", view.id),
    ));
    Ok(with_etag(builder, &view))
}

/// 422 for a route given the wrong way: `missing` names the required field, else the
/// `other` field is not allowed for this kind.
fn route_shape_error(missing: bool, required: &str, other: &str) -> ApiError {
    if missing {
        ApiError::validation(vec![FieldProblem {
            field: required.to_owned(),
            code: "required".into(),
            message: Msg::new(
                format!("此类申请须填写 {required}"),
                format!("{required} is required for this kind of application"),
            ),
        }])
    } else {
        ApiError::validation(vec![FieldProblem {
            field: other.to_owned(),
            code: "not_allowed".into(),
            message: Msg::new(
                format!("此类申请不能填写 {other}"),
                format!("{other} is not allowed for this kind of application"),
            ),
        }])
    }
}

/// Lists applications the caller may see.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "list_certification_applications",
    description = "Newest first. A candidate sees their own applications, staff those of their \
        school's candidates, an admin all. Filters: `status`, `round_id`, `major_code`, \
        `school_code`, `q` (name or exam number). Items show parsed `scores` and `score_text` (R20).",
    params(ListQuery),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses((status = 200, description = "One page of applications.", body = Paginated<ApplicationView>))
)]
#[get("/certification-applications")]
pub async fn list_applications(
    user: SignedIn,
    state: web::Data<AppState>,
    query: ApiQuery<ListQuery>,
) -> Result<web::Json<Paginated<ApplicationView>>, ApiError> {
    let principal = user.0;
    let q = query.0;
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .check()?;
    if let Some(status) = &q.status
        && ApplicationStatus::parse(status).is_none()
    {
        return Err(ApiError::validation(vec![FieldProblem {
            field: "status".into(),
            code: "enum".into(),
            message: Msg::new(
                "status 须为 draft、submitted、returned、approved、partially_approved 或 rejected",
                "status is one of draft, submitted, returned, approved, partially_approved, rejected",
            ),
        }]));
    }
    let mut filter = ListFilter {
        status: q.status,
        round_id: q.round_id,
        major_code: q.major_code,
        school_code: q.school_code,
        q: q.q,
        ..ListFilter::default()
    };
    match principal.role {
        Role::Candidate => filter.candidate_id = Some(principal.id),
        Role::Staff => {
            // Staff without a school see nothing.
            filter.scope_school = Some(principal.school.clone().unwrap_or_default());
        }
        Role::Admin => {}
        _ => return Err(forbidden()),
    }
    let cache = state.catalog.clone();
    let (items, total) = state
        .db(move |conn| {
            let (rows, total) = store::list(conn, &filter, page.offset(), page.per_page)?;
            let ids: Vec<Uuid> = rows.iter().map(|r| r.application.id).collect();
            let mut all_items = store::items_of(conn, &ids)?;
            let mut rounds = HashMap::new();
            let mut views = Vec::with_capacity(rows.len());
            for listed in rows {
                let id = listed.application.id;
                let (mine, rest): (Vec<ItemRow>, Vec<ItemRow>) =
                    all_items.into_iter().partition(|i| i.application_id == id);
                all_items = rest;
                views.push(view(conn, &cache, listed.application, mine, &mut rounds)?);
            }
            Ok((views, total))
        })
        .await?;
    Ok(web::Json(page.wrap(items, total)))
}

/// One application.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "get_certification_application",
    description = "The application with its courses, parsed scores and canonical score text (R20). \
        Visible to its owner, staff of the candidate's school and admins; 404 for anyone else.",
    params(("id" = Uuid, Path, description = "Application id.")),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The application.", body = ApplicationView,
            headers(("ETag" = String, description = "The version, quoted."))),
        (status = 404, description = "Unknown or not visible.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/certification-applications/{id}")]
pub async fn get_application(
    user: Person,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = user.0;
    let id = parse_id(&id)?;
    let cache = state.catalog.clone();
    let view = state
        .db(move |conn| {
            let row = visible(conn, &principal, id, false)?;
            view_of(conn, &cache, row)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &view))
}

/// Changes a draft or returned application.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "update_certification_application",
    description = "Replaces the items and/or the route's evidence (another effective prior degree, \
        or another certificate) while the application is `draft` or `returned` (else 409 \
        `state.conflict`) and the window is open (`window.closed`). Checked like creation. Send \
        `If-Match` with the `ETag` to avoid overwriting a change made elsewhere (412 `version.stale`).",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = Option<String>, Header, description = "The ETag last read.")),
    request_body = UpdateApplication,
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The application as it is now.", body = ApplicationView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 404, description = "Unknown or not the caller's.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`state.conflict` or `course.duplicate`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "`version.stale`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
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
    let principal = user.0;
    let id = parse_id(&id)?;
    let expected = etag::if_match(&req)?;
    let body = body.0;
    let now = Utc::now();
    let today = now.with_timezone(&shanghai()).date_naive();
    let certificate = body
        .certificate
        .as_ref()
        .map(|c| certificate_facts(c, today))
        .transpose()?;
    let cache = state.catalog.clone();
    let view = state
        .tx(move |conn| {
            let row = visible(conn, &principal, id, true)?;
            etag::check(expected, row.version)?;
            let status = status_of(&row)?;
            require_editable(status, "修改", "changed")?;
            let round = persistence::rounds::get(conn, row.round_id)?;
            window_open(&round, now)?;
            let rules = rules_for(conn, &cache, round, &row.major_code)?;
            let kind = ApplicationKind::parse(&row.kind);
            match kind {
                ApplicationKind::Degree if certificate.is_some() => {
                    return Err(route_shape_error(false, "prior_degree_id", "certificate"));
                }
                ApplicationKind::Certificate if body.prior_degree_id.is_some() => {
                    return Err(route_shape_error(false, "certificate", "prior_degree_id"));
                }
                _ => {}
            }
            let prior_degree_id = body.prior_degree_id.or(row.prior_degree_id);
            let route = match (&certificate, kind) {
                (Some(c), _) => RouteChoice::Certificate(
                    CertificateKind::ALL
                        .into_iter()
                        .find(|k| k.as_str() == c.kind)
                        .unwrap_or(CertificateKind::Ncre1),
                ),
                (None, ApplicationKind::Degree) => {
                    degree_route(conn, row.candidate_id, prior_degree_id.unwrap_or_default())
                        .map_err(|v| route_error("prior_degree_id", v))?
                }
                (None, ApplicationKind::Certificate) => {
                    stored_route(conn, &row).map_err(|v| route_error("certificate", v))?
                }
            };
            let held = held(conn, row.candidate_id, Some(row.id))?;
            let new_items = match &body.items {
                Some(items) => checked_items(&rules, &route, items, &held)?,
                None => {
                    // The route changed: the stored items must still pass.
                    let stored = store::items(conn, row.id)?;
                    let as_requests: Vec<ItemRequest> = stored
                        .iter()
                        .map(|i| ItemRequest {
                            course_code: i.course_code.clone(),
                            learned_course_name: i.learned_course_name.clone(),
                            scores: None,
                            score_text: i.score_text.clone(),
                        })
                        .collect();
                    checked_items(&rules, &route, &as_requests, &held)?
                }
            };
            store::replace_items(conn, &row, &new_items)?;
            let stored_certificate = match (&certificate, kind) {
                (Some(c), _) => Some(c.clone()),
                (None, ApplicationKind::Certificate) => Some(CertificateFacts {
                    kind: row.certificate_kind.clone().unwrap_or_default(),
                    number: row.certificate_number.clone().unwrap_or_default(),
                    obtained_on: row.certificate_obtained_on.unwrap_or(today),
                }),
                (None, ApplicationKind::Degree) => None,
            };
            let updated = store::update_route(
                conn,
                row.id,
                match kind {
                    ApplicationKind::Degree => prior_degree_id,
                    ApplicationKind::Certificate => None,
                },
                stored_certificate.as_ref(),
                now,
            )?;
            let mut changed = Vec::new();
            if body.items.is_some() {
                changed.push("items");
            }
            if body.prior_degree_id.is_some() {
                changed.push("prior_degree_id");
            }
            if certificate.is_some() {
                changed.push("certificate");
            }
            record(
                conn,
                &principal,
                row.id,
                "update",
                Some(status),
                Some(status),
                Some(&changed.join(", ")),
            )?;
            view_of(conn, &cache, updated)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &view))
}

/// The full assessment of a stored application: route problem, or the assessment.
fn assess_stored(
    conn: &mut PgConnection,
    rules: &Rules,
    row: &ApplicationRow,
    items: &[ItemRow],
) -> Result<Result<Assessment, FieldProblem>, ApiError> {
    let field = if row.kind == "degree" {
        "prior_degree_id"
    } else {
        "certificate"
    };
    let route = match stored_route(conn, row) {
        Ok(r) => r,
        Err(v) if v.code == "internal" => return Err(ApiError::internal(v.en)),
        Err(v) => return Ok(Err(FieldProblem::from_violation(field, v))),
    };
    let held = held(conn, row.candidate_id, Some(row.id))?;
    let inputs: Vec<ItemInput<'_>> = items.iter().map(stored_input).collect();
    Ok(
        application::assess(&rules.catalog.catalog, &rules.major, &route, &inputs, &held)
            .map_err(|v| FieldProblem::from_violation(field, v)),
    )
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

/// The preflight check.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "check_certification_application",
    description = "The seed's reminders as data (R9, R17, R20): every rule problem that would refuse \
        a submission (`errors[]`, same codes as creation, plus `window.closed` and \
        `prior_degree.not_effective`), things to look at (`warnings[]`: `evidence.name_unexpected`, \
        `selection.incomplete`), and the courses this route can certify (`expected_courses`), \
        those selected and those missing, so a frontend can say \"you can apply for 4 courses; you \
        selected 3\". `ready` is true when submitting now needs no `confirm_missing`. Messages are \
        in the response language.",
    params(("id" = Uuid, Path, description = "Application id.")),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The check.", body = CheckView),
        (status = 404, description = "Unknown or not visible.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/certification-applications/{id}/check")]
pub async fn check_application(
    req: HttpRequest,
    user: Person,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = user.0;
    let id = parse_id(&id)?;
    let lang = lang_of(&req);
    let cache = state.catalog.clone();
    let now = Utc::now();
    let view = state
        .db(move |conn| {
            let row = visible(conn, &principal, id, false)?;
            let status = status_of(&row)?;
            let items = store::items(conn, row.id)?;
            let round = persistence::rounds::get(conn, row.round_id)?;
            let window = round.certification_window;
            let rules = rules_for(conn, &cache, round, &row.major_code)?;
            let problem = |field: String, v: &Violation| CheckProblem {
                field,
                code: v.code.to_owned(),
                message: match lang {
                    Lang::Zh => v.zh.clone(),
                    Lang::En => v.en.clone(),
                },
            };
            let mut errors = Vec::new();
            let mut warnings = Vec::new();
            if status.is_editable()
                && let Err(v) = window.check_open(now)
            {
                errors.push(problem(String::new(), &v));
            }
            let assessment = match assess_stored(conn, &rules, &row, &items)? {
                Ok(a) => a,
                Err(fp) => {
                    errors.push(CheckProblem {
                        field: fp.field,
                        code: fp.code.to_string(),
                        message: fp.message.get(lang).to_owned(),
                    });
                    Assessment::default()
                }
            };
            for p in &assessment.errors {
                errors.push(problem(p.field.path(p.index), &p.violation));
            }
            if items.is_empty() {
                errors.push(problem("items".into(), &no_items()));
            }
            for p in &assessment.warnings {
                warnings.push(problem(p.field.path(p.index), &p.violation));
            }
            if !assessment.missing.is_empty() {
                warnings.push(problem(
                    "items".into(),
                    &application::selection_incomplete(&assessment),
                ));
            }
            let catalog = &rules.catalog.catalog;
            let selected_count = assessment
                .selected
                .iter()
                .filter(|c| assessment.expected.contains(c))
                .count();
            Ok(CheckView {
                ready: status.is_editable() && errors.is_empty() && assessment.missing.is_empty(),
                status: status.as_str().to_owned(),
                errors,
                warnings,
                expected_count: assessment.expected.len(),
                selected_count,
                missing_count: assessment.missing.len(),
                expected_courses: entries(catalog, &assessment.expected),
                selected_courses: entries(catalog, &assessment.selected),
                missing_courses: entries(catalog, &assessment.missing),
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_LANGUAGE,
            match lang {
                Lang::Zh => "zh-CN",
                Lang::En => "en",
            },
        ))
        .insert_header((header::VARY, "Accept-Language"))
        .json(view))
}

fn no_items() -> Violation {
    Violation::new(
        "required",
        "申请中至少要有一门课程",
        "an application needs at least one course",
    )
}

/// Submits an application (R17).
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "submit_certification_application",
    description = "`draft` or `returned` → `submitted`, inside the window (`window.closed`, R18). \
        Refused with the check's errors (422, or 409 `course.duplicate`); refused with 422 \
        `selection.incomplete` while certifiable courses are missing, unless `confirm_missing` \
        lists exactly those (R9). Exactly one of two concurrent submits holding the same course \
        succeeds: the database's live-course index decides. Honours `Idempotency-Key`: a retry with \
        the same key and body gets the first answer again. The body may be omitted.",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = Option<String>, Header, description = "The ETag last read.")),
    request_body(content = Option<SubmitApplication>, content_type = "application/json"),
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The submitted application.", body = ApplicationView,
            headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 404, description = "Unknown or not the caller's.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`state.conflict` or `course.duplicate`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "`version.stale`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
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
    let principal = user.0;
    let id = parse_id(&id)?;
    let expected = etag::if_match(&req)?;
    let body: SubmitApplication = optional_body(&body)?;
    let mut confirmed = Vec::new();
    let mut checks = crate::http::problem::FieldChecks::default();
    for (i, code) in body.confirm_missing.iter().enumerate() {
        if let Some(c) = checks.check(
            &format!("confirm_missing[{i}]"),
            CourseCode::parse(code.trim()),
        ) {
            confirmed.push(c);
        }
    }
    checks.finish()?;
    let now = Utc::now();
    let cache = state.catalog.clone();
    let view = state
        .tx(move |conn| {
            let row = visible(conn, &principal, id, true)?;
            etag::check(expected, row.version)?;
            let status = status_of(&row)?;
            require_editable(status, "提交", "submitted")?;
            let round = persistence::rounds::get(conn, row.round_id)?;
            window_open(&round, now)?;
            let rules = rules_for(conn, &cache, round, &row.major_code)?;
            let items = store::items(conn, row.id)?;
            if items.is_empty() {
                return Err(ApiError::field("items", no_items()));
            }
            let assessment = match assess_stored(conn, &rules, &row, &items)? {
                Ok(a) => a,
                Err(fp) => return Err(ApiError::validation(vec![fp])),
            };
            let errors = item_problems(&assessment);
            if !errors.is_empty() {
                return Err(refuse(errors));
            }
            application::check_confirmed_missing(&assessment, &confirmed)
                .map_err(|v| ApiError::field("confirm_missing", v))?;
            match store::set_live(conn, row.id, true) {
                Err(DbError::Unique { constraint }) if constraint == store::LIVE_COURSE_KEY => {
                    return Err(duplicate_live());
                }
                other => other?,
            }
            let updated = store::set_status(
                conn,
                &row,
                ApplicationStatus::Submitted.as_str(),
                &StatusChange {
                    submitted_at: Some(now),
                    return_reason: row.return_reason.clone(),
                    confirmed_missing: Some(
                        assessment.missing.iter().map(ToString::to_string).collect(),
                    ),
                    ..StatusChange::default()
                },
                now,
            )?;
            let note = (!assessment.missing.is_empty()).then(|| {
                format!(
                    "confirmed missing: {}",
                    assessment
                        .missing
                        .iter()
                        .map(CourseCode::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            status_changed(
                conn,
                &principal,
                &updated,
                "submit",
                status,
                ApplicationStatus::Submitted,
                note.as_deref(),
            )?;
            view_of(conn, &cache, updated)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &view))
}

/// Withdraws a submitted application back to draft.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "withdraw_certification_application",
    description = "The owner takes a `submitted`, not yet reviewed application back to `draft` while \
        the window is open; its courses are released. 409 `state.conflict` in any other status.",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = Option<String>, Header, description = "The ETag last read.")),
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The application, now a draft.", body = ApplicationView),
        (status = 404, description = "Unknown or not the caller's.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
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
    let principal = user.0;
    let id = parse_id(&id)?;
    let expected = etag::if_match(&req)?;
    let now = Utc::now();
    let cache = state.catalog.clone();
    let view = state
        .tx(move |conn| {
            let row = visible(conn, &principal, id, true)?;
            etag::check(expected, row.version)?;
            let status = status_of(&row)?;
            if status != ApplicationStatus::Submitted {
                return Err(rule_error(
                    StatusCode::CONFLICT,
                    application::state_conflict(status, "撤回", "withdrawn"),
                ));
            }
            let round = persistence::rounds::get(conn, row.round_id)?;
            window_open(&round, now)?;
            store::set_live(conn, row.id, false)?;
            let updated = store::set_status(
                conn,
                &row,
                ApplicationStatus::Draft.as_str(),
                &StatusChange {
                    clear_submitted: true,
                    return_reason: row.return_reason.clone(),
                    ..StatusChange::default()
                },
                now,
            )?;
            status_changed(
                conn,
                &principal,
                &updated,
                "withdraw",
                status,
                ApplicationStatus::Draft,
                None,
            )?;
            view_of(conn, &cache, updated)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &view))
}

/// Returns a submitted application to the candidate.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "return_certification_application",
    description = "Staff of the candidate's school or an admin send a `submitted` application back \
        with a reason → `returned`: its courses are released, and the candidate may edit and \
        resubmit it while the window is open. Allowed after the window closes.",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = Option<String>, Header, description = "The ETag last read.")),
    request_body = ReturnApplication,
    security(("bearer" = ["staff", "admin"])),
    responses(
        (status = 200, description = "The returned application.", body = ApplicationView),
        (status = 404, description = "Unknown or not visible.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
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
    let principal = user.0;
    let id = parse_id(&id)?;
    let expected = etag::if_match(&req)?;
    let reason = body.0.reason.trim().to_owned();
    let chars = reason.chars().count();
    if chars == 0 || chars > 1000 {
        return Err(ApiError::field(
            "reason",
            Violation::new(
                "reason.length",
                "退回原因须为1到1000个字符",
                "the reason is 1 to 1000 characters",
            ),
        ));
    }
    let now = Utc::now();
    let cache = state.catalog.clone();
    let view = state
        .tx(move |conn| {
            let row = visible(conn, &principal, id, true)?;
            etag::check(expected, row.version)?;
            let status = status_of(&row)?;
            if status != ApplicationStatus::Submitted {
                return Err(rule_error(
                    StatusCode::CONFLICT,
                    application::state_conflict(status, "退回", "returned"),
                ));
            }
            store::set_live(conn, row.id, false)?;
            let updated = store::set_status(
                conn,
                &row,
                ApplicationStatus::Returned.as_str(),
                &StatusChange {
                    return_reason: Some(reason.clone()),
                    ..StatusChange::default()
                },
                now,
            )?;
            status_changed(
                conn,
                &principal,
                &updated,
                "return",
                status,
                ApplicationStatus::Returned,
                Some(&reason),
            )?;
            view_of(conn, &cache, updated)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &view))
}

/// Reviews a submitted application, course by course.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "review_certification_application",
    description = "Staff of the candidate's school or an admin decide every course of a `submitted` \
        application, each once: `approved`, or `rejected` with a reason (`review.reason_required`). \
        The application becomes `approved`, `partially_approved` or `rejected`; rejected courses \
        are released, approved ones stay certified. Allowed after the window closes. Errors: \
        `review.unknown_course`, `review.duplicate`, `review.incomplete`.",
    params(("id" = Uuid, Path, description = "Application id."),
           ("If-Match" = Option<String>, Header, description = "The ETag last read.")),
    request_body = ReviewApplication,
    security(("bearer" = ["staff", "admin"])),
    responses(
        (status = 200, description = "The reviewed application.", body = ApplicationView),
        (status = 404, description = "Unknown or not visible.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
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
    let principal = user.0;
    let id = parse_id(&id)?;
    let expected = etag::if_match(&req)?;
    let review = body.0;
    let now = Utc::now();
    let cache = state.catalog.clone();
    let view = state
        .tx(move |conn| {
            let row = visible(conn, &principal, id, true)?;
            etag::check(expected, row.version)?;
            let status = status_of(&row)?;
            if status != ApplicationStatus::Submitted {
                return Err(rule_error(
                    StatusCode::CONFLICT,
                    application::state_conflict(status, "审核", "reviewed"),
                ));
            }
            let items = store::items(conn, row.id)?;
            let mut checks = crate::http::problem::FieldChecks::default();
            let mut seen = Vec::new();
            for (i, item) in review.items.iter().enumerate() {
                let code = item.course_code.trim();
                if !items.iter().any(|x| x.course_code == code) {
                    checks.push(
                        &format!("items[{i}].course_code"),
                        Violation::new(
                            "review.unknown_course",
                            format!("课程 {code} 不在该申请中"),
                            format!("course {code} is not in this application"),
                        ),
                    );
                } else if seen.contains(&code) {
                    checks.push(
                        &format!("items[{i}].course_code"),
                        Violation::new(
                            "review.duplicate",
                            format!("课程 {code} 的审核结果给了不止一次"),
                            format!("course {code} is decided more than once"),
                        ),
                    );
                }
                seen.push(code);
                let reason = item.reason.as_deref().map(str::trim).unwrap_or("");
                if item.decision == Decision::Rejected && reason.is_empty() {
                    checks.push(
                        &format!("items[{i}].reason"),
                        Violation::new(
                            "review.reason_required",
                            "不通过的课程须填写原因",
                            "a rejected course needs a reason",
                        ),
                    );
                }
                if reason.chars().count() > 1000 {
                    checks.push(
                        &format!("items[{i}].reason"),
                        Violation::new(
                            "reason.length",
                            "原因不能超过1000个字符",
                            "the reason is at most 1000 characters",
                        ),
                    );
                }
            }
            let undecided: Vec<&str> = items
                .iter()
                .map(|x| x.course_code.as_str())
                .filter(|c| !seen.contains(c))
                .collect();
            if !undecided.is_empty() {
                let list = undecided.join(", ");
                checks.push(
                    "items",
                    Violation::new(
                        "review.incomplete",
                        format!("每门课程都须给出审核结果，缺少：{list}"),
                        format!("every course needs a decision; missing: {list}"),
                    ),
                );
            }
            checks.finish()?;
            let mut decisions = Vec::new();
            for item in &review.items {
                let reason = item
                    .reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty());
                store::decide_item(
                    conn,
                    row.id,
                    item.course_code.trim(),
                    item.decision.as_str(),
                    reason,
                )?;
                decisions.push(item.decision);
            }
            let outcome = application::review_outcome(&decisions)
                .ok_or_else(|| ApiError::internal("review without items"))?;
            let updated = store::set_status(
                conn,
                &row,
                outcome.as_str(),
                &StatusChange {
                    return_reason: row.return_reason.clone(),
                    reviewed_by: Some(principal.id),
                    reviewed_at: Some(now),
                    ..StatusChange::default()
                },
                now,
            )?;
            let approved = decisions
                .iter()
                .filter(|d| **d == Decision::Approved)
                .count();
            let note = format!("approved {approved} of {}", decisions.len());
            status_changed(
                conn,
                &principal,
                &updated,
                "review",
                status,
                outcome,
                Some(&note),
            )?;
            view_of(conn, &cache, updated)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &view))
}

/// Every change of an application.
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "get_certification_application_history",
    description = "Every change, oldest first: who, when, from, to, note.",
    params(("id" = Uuid, Path, description = "Application id.")),
    security(("bearer" = ["candidate", "staff", "admin"])),
    responses(
        (status = 200, description = "The history.", body = Vec<HistoryEntry>),
        (status = 404, description = "Unknown or not visible.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/certification-applications/{id}/history")]
pub async fn application_history(
    user: Person,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Vec<HistoryEntry>>, ApiError> {
    let principal = user.0;
    let id = parse_id(&id)?;
    let rows = state
        .db(move |conn| {
            visible(conn, &principal, id, false)?;
            Ok(history::list(conn, Entity::CertificationApplication, id)?)
        })
        .await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|h| HistoryEntry {
                id: h.id,
                actor_id: h.actor_id,
                actor_role: h.actor_role,
                action: h.action,
                from_status: h.from_status,
                to_status: h.to_status,
                note: h.note,
                at: h.at,
            })
            .collect(),
    ))
}

/// Every application of `candidate_id`, newest first (at most 200), as views;
/// shown to staff in the candidate's detail.
pub fn views_of_candidate(
    conn: &mut PgConnection,
    cache: &CatalogCache,
    candidate_id: Uuid,
) -> Result<Vec<ApplicationView>, ApiError> {
    let filter = store::ListFilter {
        candidate_id: Some(candidate_id),
        ..Default::default()
    };
    let (rows, _) = store::list(conn, &filter, 0, 200)?;
    // All items in one query, as the list endpoint does.
    let ids: Vec<Uuid> = rows.iter().map(|l| l.application.id).collect();
    let mut items_by_application: HashMap<Uuid, Vec<ItemRow>> = HashMap::new();
    for item in store::items_of(conn, &ids)? {
        items_by_application
            .entry(item.application_id)
            .or_default()
            .push(item);
    }
    let mut rounds = HashMap::new();
    rows.into_iter()
        .map(|listed| {
            let items = items_by_application
                .remove(&listed.application.id)
                .unwrap_or_default();
            view(conn, cache, listed.application, items, &mut rounds)
        })
        .collect()
}
