//! The candidate's overview: every course of their plan, certified, pending,
//! certifiable (by which route) or to be examined (and where to register, R16).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::Utc;
use domain::eligibility::Standing;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::principal::CandidateUser;
use crate::http::extract::lang_of;
use crate::http::problem::{ApiError, Lang};
use crate::routes::catalog::{CertificateKindValue, RouteValue};
use crate::routes::courses::ExamChannel;
use crate::state::AppState;
use crate::use_cases::progress::{self, CourseProgress, Progress};

/// Where a course stands for the candidate.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProgressStatus {
    /// Approved in a review: no exam needed.
    Certified,
    /// In a submitted application, waiting for review.
    Pending,
    /// Not applied for yet, but the prior degree or a certificate can certify it.
    Certifiable,
    /// Must be examined (R16).
    Exam,
}

impl From<Standing> for ProgressStatus {
    fn from(standing: Standing) -> Self {
        match standing {
            Standing::Certified => Self::Certified,
            Standing::Pending => Self::Pending,
            Standing::Certifiable => Self::Certifiable,
            Standing::Exam => Self::Exam,
        }
    }
}

/// One course of the plan.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"course_code": "00019", "course_name": "计算机基础实践", "status": "certifiable",
    "status_label": "可申请认证", "route": "certificate", "route_label": "非学历证书课程认证",
    "certificate_kinds": ["ncre1", "ncre2"], "exam_channel": "school_office",
    "exam_channel_label": "通过学校自考办报考", "application_id": null,
    "reason": "附表未列此课程，不能凭学历证书认证；可凭全国计算机等级考试一级或全国计算机等级考试二级证书认证（非学历证书课程认证），否则须参加考试（通过学校自考办报考）"}))]
pub struct ProgressEntry {
    /// Course code.
    pub course_code: String,
    /// Course name.
    pub course_name: String,
    /// `certified`, `pending`, `certifiable` or `exam`.
    pub status: ProgressStatus,
    /// Chinese label of `status`.
    pub status_label: String,
    /// How it can be certified (`degree`, `certificate`), or `exam`.
    pub route: RouteValue,
    /// Chinese label of `route`.
    pub route_label: String,
    /// Certificates that certify it for this major (R13–R15).
    pub certificate_kinds: Vec<CertificateKindValue>,
    /// Where its exam is registered if it is not certified (R16): a candidate without
    /// the certificate sits the exam there.
    pub exam_channel: ExamChannel,
    /// Chinese label of `exam_channel`.
    pub exam_channel_label: String,
    /// The application holding it (certified or pending).
    pub application_id: Option<Uuid>,
    /// Why, in the response language.
    pub reason: String,
}

/// The candidate's overview.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressView {
    /// The self-study major.
    pub major_code: String,
    /// Its name.
    pub major_name: String,
    /// The effective prior degree used for degree routes, if any.
    pub prior_degree_id: Option<Uuid>,
    /// The catalogue version the answer comes from (the current round's, else the current one).
    pub catalog_version_id: i64,
    /// Every course of the plan, in plan order.
    pub courses: Vec<ProgressEntry>,
}

/// The candidate's progress over their plan.
///
/// Every course of the signed-in candidate's plan: `certified` (approved), `pending`
/// (submitted, not yet reviewed), `certifiable` (not applied for yet; `route` says how:
/// by the effective prior degree, or by a certificate, `certificate_kinds`), or `exam`.
/// Every course also says where its exam is registered (`exam_channel`, R16), so a
/// pharmacy candidate without an NCRE certificate sees 00018 on the platform and 00019
/// at the school office. Uses the current round's catalogue version (else the current
/// catalogue).
#[utoipa::path(
    tag = "certification-applications",
    operation_id = "get_my_progress",
    security(("bearer" = ["candidate"])),
    responses(
        (status = 200, description = "The overview.", body = ProgressView),
        (status = 404, description = "No catalogue, or the candidate's major is not in it.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/me/progress")]
pub async fn get_progress(
    req: HttpRequest,
    user: CandidateUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let lang = lang_of(&req);
    let cache = state.catalog.clone();
    let progress = state
        .db(move |conn| Ok(progress::own(conn, &user.0, &cache, Utc::now())?))
        .await?;
    let language = match lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_LANGUAGE, language))
        .insert_header((header::VARY, "Accept-Language"))
        .json(ProgressView::of(progress, lang)))
}

impl ProgressView {
    /// The view of `progress`, reasons in `lang`.
    pub fn of(progress: Progress, lang: Lang) -> Self {
        ProgressView {
            major_code: progress.major_code.to_string(),
            major_name: progress.major_name,
            prior_degree_id: progress.prior_degree_id,
            catalog_version_id: progress.catalog_version_id,
            courses: (progress.courses.into_iter())
                .map(|c| ProgressEntry::of(c, lang))
                .collect(),
        }
    }
}

impl ProgressEntry {
    fn of(course: CourseProgress, lang: Lang) -> Self {
        let e = course.eligibility;
        let route = RouteValue::from(e.route);
        ProgressEntry {
            course_code: e.course_code.to_string(),
            course_name: e.course_name,
            status: course.standing.into(),
            status_label: course.standing.label_zh().to_owned(),
            route,
            route_label: route.label().to_owned(),
            certificate_kinds: e.certificate_kinds.into_iter().map(Into::into).collect(),
            exam_channel: e.exam_channel.into(),
            exam_channel_label: e.exam_channel.label_zh().to_owned(),
            application_id: course.application_id,
            reason: match lang {
                Lang::Zh => e.reason_zh,
                Lang::En => e.reason_en,
            },
        }
    }
}
