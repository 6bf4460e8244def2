//! Eligibility: every course of a major's plan with how it can be certified or must
//! be examined (R7–R16), for an assumed or a recorded prior degree.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use domain::catalog::{DegreeLevel, Evidence};
use domain::certificate_number::EducationType;
use domain::eligibility::{Eligibility, PriorDegreeFacts};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CertificateKindValue, EvidenceValue, Level, MajorSummary, RouteValue, major_code};
use crate::http::extract::{ApiQuery, lang_of};
use crate::http::problem::{ApiError, FieldProblem, Lang, Msg};
use crate::routes::courses::ExamChannel;
use crate::state::AppState;
use crate::use_cases::eligibility::{self, Answer, Prior};

/// The prior degree an eligibility answer assumes.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssumedPriorDegree {
    /// Its level.
    pub level: Level,
    /// Chinese label of `level`.
    pub level_label: String,
    /// Its major name (may be empty when not given).
    pub major: String,
    /// The recorded prior degree, when given by `prior_degree_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<uuid::Uuid>,
    /// Its status (`draft`, `submitted`, `effective`, `rejected`), when given by
    /// `prior_degree_id`; only `effective` gives degree routes (R7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Chinese label of `status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_label: Option<String>,
}

/// What a degree-based certification of a course needs (R10–R12).
#[derive(Debug, Serialize, ToSchema)]
pub struct DegreeEvidenceView {
    /// The annex-table rule that decided it.
    pub rule_id: String,
    /// `none` (tick only) or `course_and_scores`.
    pub evidence: EvidenceValue,
    /// Chinese label of `evidence`.
    pub evidence_label: String,
    /// Transcript course names expected to stand for the course (empty for `none`).
    pub expected_names: Vec<String>,
    /// Number of scores, separated by ASCII `;` (English II: 3); absent for `none`.
    pub score_terms: Option<u8>,
    /// Every score must be at least this; absent for `none`.
    pub pass_mark: Option<u8>,
}

impl DegreeEvidenceView {
    fn new(rule_id: String, evidence: &Evidence) -> Self {
        match evidence {
            Evidence::None => Self {
                rule_id,
                evidence: EvidenceValue::None,
                evidence_label: "无需材料，勾选即可".to_owned(),
                expected_names: Vec::new(),
                score_terms: None,
                pass_mark: None,
            },
            Evidence::CourseAndScores {
                expected_names,
                score_terms,
                pass_mark,
            } => Self {
                rule_id,
                evidence: EvidenceValue::CourseAndScores,
                evidence_label: "已学课程名称及成绩".to_owned(),
                expected_names: expected_names.clone(),
                score_terms: Some(*score_terms),
                pass_mark: Some(*pass_mark),
            },
        }
    }
}

/// One course of the plan and how it can be dealt with.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityEntry {
    /// Course code.
    pub course_code: String,
    /// Course name.
    pub course_name: String,
    /// Primary route: `degree` if the prior degree certifies it, else `certificate`
    /// if a certificate does, else `exam`.
    pub route: RouteValue,
    /// Chinese label of `route`.
    pub route_label: String,
    /// The degree rule's id when the route is `degree`.
    pub rule_id: Option<String>,
    /// The degree option and its evidence; null when the prior degree does not
    /// certify the course.
    pub degree: Option<DegreeEvidenceView>,
    /// Certificates that certify the course for this major (may coexist with a degree
    /// option, e.g. English II by CET-4/6).
    pub certificate_kinds: Vec<CertificateKindValue>,
    /// Chinese labels of `certificate_kinds`, same order.
    pub certificate_kind_labels: Vec<String>,
    /// Where the exam is registered if the course is not certified (R16).
    pub exam_channel: ExamChannel,
    /// Chinese label of `exam_channel`.
    pub exam_channel_label: String,
    /// Why, in the response language (Chinese unless `Accept-Language` prefers English).
    pub reason: String,
    /// Why, in Chinese.
    pub reason_zh: String,
    /// Why, in English.
    pub reason_en: String,
}

/// Every course of a major's plan with its route.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityView {
    /// The self-study major.
    pub major: MajorSummary,
    /// The prior degree assumed (a regular one, R7); null when none was given.
    pub prior_degree: Option<AssumedPriorDegree>,
    /// Every course of the plan, in plan order.
    pub courses: Vec<EligibilityEntry>,
    /// The catalogue version this answer comes from.
    pub catalog_version_id: i64,
}

/// The prior degree to assume.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EligibilityQuery {
    /// Level of the prior degree: `associate` or `bachelor` (专科/本科 accepted too).
    /// Without it there is no prior degree and so no degree route.
    #[param(example = "associate")]
    pub prior_level: Option<String>,
    /// Major name of the prior degree, as on its certificate; needs `prior_level`.
    #[param(example = "药学")]
    pub prior_major: Option<String>,
    /// A recorded prior degree (instead of `prior_level`/`prior_major`): its holder,
    /// staff of the holder's school and admins may use it (bearer token required,
    /// 404 for anyone else). Only an `effective` one gives degree routes (R7).
    pub prior_degree_id: Option<String>,
}

impl EligibilityEntry {
    fn of(e: Eligibility, lang: Lang) -> Self {
        let route = RouteValue::from(e.route);
        Self {
            course_code: e.course_code.to_string(),
            course_name: e.course_name,
            route,
            route_label: route.label().to_owned(),
            rule_id: e.rule_id,
            degree: e
                .degree
                .map(|d| DegreeEvidenceView::new(d.rule_id, &d.evidence)),
            certificate_kind_labels: e
                .certificate_kinds
                .iter()
                .map(|k| k.label_zh().to_owned())
                .collect(),
            certificate_kinds: e.certificate_kinds.into_iter().map(Into::into).collect(),
            exam_channel: e.exam_channel.into(),
            exam_channel_label: e.exam_channel.label_zh().to_owned(),
            reason: match lang {
                Lang::Zh => e.reason_zh.clone(),
                Lang::En => e.reason_en.clone(),
            },
            reason_zh: e.reason_zh,
            reason_en: e.reason_en,
        }
    }
}

impl EligibilityView {
    /// The answer in the response language.
    pub fn of(answer: Answer, lang: Lang) -> Self {
        let Answer {
            catalog,
            major,
            prior,
            recorded,
            courses,
        } = answer;
        let summary = catalog
            .catalog
            .major(&major)
            .map(MajorSummary::from)
            .expect("the answer's major is in its catalogue");
        let recorded = recorded.as_ref();
        Self {
            major: summary,
            prior_degree: prior.map(|p| AssumedPriorDegree {
                level: p.level.into(),
                level_label: p.level.label_zh().to_owned(),
                major: p.major_name,
                id: recorded.map(|row| row.id),
                status: recorded.map(|row| row.status.as_str().to_owned()),
                status_label: recorded.map(|row| row.status.label_zh().to_owned()),
            }),
            courses: courses
                .into_iter()
                .map(|e| EligibilityEntry::of(e, lang))
                .collect(),
            catalog_version_id: catalog.id,
        }
    }
}

/// Parses the eligibility query: `prior_level` (422 naming it when malformed, or
/// missing while `prior_major` is given).
fn prior_degree(query: &EligibilityQuery) -> Result<Option<PriorDegreeFacts>, ApiError> {
    let major = query.prior_major.as_deref().map(str::trim).unwrap_or("");
    let Some(level) = query.prior_level.as_deref() else {
        if major.is_empty() {
            return Ok(None);
        }
        return Err(ApiError::validation(vec![FieldProblem {
            field: "prior_level".into(),
            code: "required".into(),
            message: Msg::new(
                "给出 prior_major 时须同时给出 prior_level（associate 或 bachelor）",
                "prior_major needs prior_level (associate or bachelor)",
            ),
        }]));
    };
    let level = DegreeLevel::parse(level).map_err(|v| ApiError::field("prior_level", v))?;
    Ok(Some(PriorDegreeFacts {
        level,
        major_name: major.to_owned(),
        // The seed's degree route is for regular (普通) degrees (R7, step 10).
        education_type: EducationType::Regular,
    }))
}

/// Every course of a major's plan with how it can be certified or must be examined.
///
/// For every course of the major's plan, in plan order: the route — `degree` (certified
/// by the prior degree, with the evidence it needs: `none` for 03708/03709 (R10), or
/// the learned course name with the expected names, `score_terms` and `pass_mark` (R11,
/// R12)), `certificate` (with the certificate kinds, R13–R15), or `exam` (with where it
/// is registered, R16) — and a human reason. The prior degree is described by
/// `prior_level` and `prior_major` and assumed to be a regular (普通) degree (R7);
/// without it there are no degree routes. Alternatively `prior_degree_id` names a
/// recorded prior degree (bearer token required: its holder, staff of the holder's
/// school or an admin; 401 without a token, 404 for anyone else): its level, major and
/// education type are used, and only an `effective` one gives degree routes — for any
/// other status the reasons say what it would certify once effective (R7). `reason` is
/// in the response language (Chinese unless `Accept-Language` prefers English;
/// `Content-Language` says which); `reason_zh` and `reason_en` always carry both.
/// Served from memory.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "get_major_eligibility",
    params(
        ("code" = String, Path, description = "Major code.", example = "100701"),
        EligibilityQuery,
    ),
    responses(
        (status = 401, description = "`auth.required` / `auth.invalid_token`: `prior_degree_id` given without a valid token.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: a service account asked with `prior_degree_id`.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 200, description = "The plan's courses with their routes.", body = EligibilityView,
            example = json!({
                "major": {"code": "100701", "name": "药学", "level": "bachelor", "level_label": "本科", "course_count": 7},
                "prior_degree": {"level": "associate", "level_label": "专科", "major": "药学"},
                "courses": [
                    {"course_code": "00015", "course_name": "英语（二）", "route": "degree", "route_label": "学历证书课程认证",
                     "rule_id": "100701-00015",
                     "degree": {"rule_id": "100701-00015", "evidence": "course_and_scores", "evidence_label": "已学课程名称及成绩",
                                "expected_names": ["大学英语"], "score_terms": 3, "pass_mark": 60},
                     "certificate_kinds": ["cet4", "cet6"], "certificate_kind_labels": ["大学英语四级", "大学英语六级"],
                     "exam_channel": "platform", "exam_channel_label": "在考生服务平台报考",
                     "reason": "可凭学历证书认证：填写已学课程名称（大学英语）及成绩单上的成绩（3项，以英文分号 ; 分隔，每项不低于60分）；也可凭大学英语四级或大学英语六级证书认证",
                     "reason_zh": "可凭学历证书认证：填写已学课程名称（大学英语）及成绩单上的成绩（3项，以英文分号 ; 分隔，每项不低于60分）；也可凭大学英语四级或大学英语六级证书认证",
                     "reason_en": "certifiable by your degree: give the learned course name (大学英语) and its transcript score (3 term(s), separated by ASCII ;, each at least 60); a CET-4 or CET-6 certificate also certifies it"},
                    {"course_code": "00019", "course_name": "计算机基础实践", "route": "certificate", "route_label": "非学历证书课程认证",
                     "rule_id": null, "degree": null,
                     "certificate_kinds": ["ncre1", "ncre2"], "certificate_kind_labels": ["全国计算机等级考试一级", "全国计算机等级考试二级"],
                     "exam_channel": "school_office", "exam_channel_label": "通过学校自考办报考",
                     "reason": "附表未列此课程，不能凭学历证书认证；可凭全国计算机等级考试一级或全国计算机等级考试二级证书认证（非学历证书课程认证），否则须参加考试（通过学校自考办报考）",
                     "reason_zh": "附表未列此课程，不能凭学历证书认证；可凭全国计算机等级考试一级或全国计算机等级考试二级证书认证（非学历证书课程认证），否则须参加考试（通过学校自考办报考）",
                     "reason_en": "the annex table does not list it for degree-based certification; a NCRE level 1 or NCRE level 2 certificate certifies it (certificate-based certification), otherwise the exam must be sat (registered through the school's self-study office)"}
                ],
                "catalog_version_id": 1
            })),
        (status = 404, description = "No major has this code in the current catalogue.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`code` or `prior_level` is malformed, or `prior_major` is given without `prior_level`.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json",
            example = json!({"type": "urn:zikao-cert:problem:degree_level.unknown", "title": "请求内容不符合规则", "status": 422,
                "detail": "学历层次须为 associate（专科）或 bachelor（本科），收到的是“master”", "code": "degree_level.unknown",
                "errors": [{"field": "prior_level", "code": "degree_level.unknown",
                            "message": "学历层次须为 associate（专科）或 bachelor（本科），收到的是“master”"}]})),
    )
)]
#[get("/majors/{code}/eligibility")]
pub async fn get_major_eligibility(
    req: HttpRequest,
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: ApiQuery<EligibilityQuery>,
) -> Result<HttpResponse, ApiError> {
    let code = major_code(&code)?;
    let prior = match query.0.prior_degree_id.as_deref() {
        None => prior_degree(&query.0)?.map_or(Prior::None, Prior::Assumed),
        Some(_) if query.0.prior_level.is_some() || query.0.prior_major.is_some() => {
            return Err(ApiError::validation(vec![FieldProblem {
                field: "prior_degree_id".into(),
                code: "prior_degree_id.exclusive".into(),
                message: Msg::new(
                    "prior_degree_id 不能与 prior_level、prior_major 同时给出",
                    "give prior_degree_id or prior_level/prior_major, not both",
                ),
            }]));
        }
        Some(id) => Prior::Recorded(Box::new(recorded_prior_degree(&req, &state, id).await?)),
    };
    let answer = eligibility::of_major(&state.catalog, &code, prior)?;
    let lang = lang_of(&req);
    let language = match lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_LANGUAGE, language))
        .insert_header((header::VARY, "Accept-Language"))
        .json(EligibilityView::of(answer, lang)))
}

/// A recorded prior degree for an eligibility question (`prior_degree_id`): it
/// needs a signed-in person who may read it.
async fn recorded_prior_degree(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
) -> Result<persistence::prior_degrees::PriorDegreeRow, ApiError> {
    use actix_web::FromRequest;
    let actor = crate::auth::principal::Person::extract(req).await?.0;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| {
        ApiError::field(
            "prior_degree_id",
            domain::Violation::new(
                "id.format",
                "prior_degree_id 必须是 UUID",
                "prior_degree_id must be a UUID",
            ),
        )
    })?;
    state
        .db(move |conn| {
            Ok(crate::use_cases::prior_degrees::for_eligibility(
                conn, &actor, id,
            )?)
        })
        .await
}
