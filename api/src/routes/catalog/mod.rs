//! Self-study majors, their plans, eligibility per plan course, and certificate kinds
//! (R8, R10–R16), served from the in-memory current catalogue.

mod eligibility;

use std::sync::Arc;

use actix_web::{get, web};
use domain::catalog::{self, CertificateKind, DegreeLevel, Major, MajorCode};
use domain::eligibility::Route;
use persistence::catalog::CatalogVersion;
use serde::Serialize;
use utoipa::ToSchema;

pub use self::eligibility::*;
use crate::http::extract::ApiQuery;
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::{ApiError, Msg};
use crate::routes::courses::CourseView;
use crate::state::AppState;

/// Level of a self-study major or of a prior degree.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// 专科.
    Associate,
    /// 本科.
    Bachelor,
}

impl From<DegreeLevel> for Level {
    fn from(level: DegreeLevel) -> Self {
        match level {
            DegreeLevel::Associate => Self::Associate,
            DegreeLevel::Bachelor => Self::Bachelor,
        }
    }
}

/// A certificate that certifies courses (R13–R15).
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CertificateKindValue {
    /// 全国计算机等级考试一级.
    Ncre1,
    /// 全国计算机等级考试二级.
    Ncre2,
    /// 大学英语四级.
    Cet4,
    /// 大学英语六级.
    Cet6,
}

impl From<CertificateKind> for CertificateKindValue {
    fn from(kind: CertificateKind) -> Self {
        match kind {
            CertificateKind::Ncre1 => Self::Ncre1,
            CertificateKind::Ncre2 => Self::Ncre2,
            CertificateKind::Cet4 => Self::Cet4,
            CertificateKind::Cet6 => Self::Cet6,
        }
    }
}

/// How a course can be dealt with.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RouteValue {
    /// Certified by the prior degree (学历证书课程认证, R7–R12).
    Degree,
    /// Certified by a non-degree certificate (非学历证书课程认证, R13–R15).
    Certificate,
    /// Examined (R16).
    Exam,
}

impl RouteValue {
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Degree => "学历证书课程认证",
            Self::Certificate => "非学历证书课程认证",
            Self::Exam => "参加考试",
        }
    }
}

impl From<Route> for RouteValue {
    fn from(route: Route) -> Self {
        match route {
            Route::Degree => Self::Degree,
            Route::Certificate => Self::Certificate,
            Route::Exam => Self::Exam,
        }
    }
}

/// The evidence a degree-based certification needs.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceValue {
    /// Ticking is enough (03708, 03709: R10).
    None,
    /// The learned course name and the transcript scores (R11, R12).
    CourseAndScores,
}

/// A self-study major in a list.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "100701", "name": "药学", "level": "bachelor",
    "level_label": "本科", "course_count": 7}))]
pub struct MajorSummary {
    /// Major code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// Level of the self-study major.
    pub level: Level,
    /// Chinese label of `level`.
    pub level_label: String,
    /// Number of courses in its plan.
    pub course_count: usize,
}

impl From<&Major> for MajorSummary {
    fn from(major: &Major) -> Self {
        Self {
            code: major.code.to_string(),
            name: major.name.clone(),
            level: major.level.into(),
            level_label: major.level.label_zh().to_owned(),
            course_count: major.plan.len(),
        }
    }
}

/// A self-study major with its course plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct MajorView {
    /// Major code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// Level of the self-study major.
    pub level: Level,
    /// Chinese label of `level`.
    pub level_label: String,
    /// The course plan in display order, courses inlined.
    pub plan: Vec<CourseView>,
    /// The catalogue version this answer comes from.
    pub catalog_version_id: i64,
}

/// The courses one certificate kind certifies for one major.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertifiedCourses {
    /// Major code.
    pub major_code: String,
    /// Major name.
    pub major_name: String,
    /// The courses of that major's plan this certificate certifies.
    pub courses: Vec<CourseRef>,
}

/// A course by code and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseRef {
    /// Course code.
    pub code: String,
    /// Course name.
    pub name: String,
}

/// A certificate kind and what it certifies (R13–R15).
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateKindView {
    /// The kind.
    pub kind: CertificateKindValue,
    /// Chinese label.
    pub label: String,
    /// English label.
    pub label_en: String,
    /// Per major, the courses it certifies; majors it certifies nothing for are left out.
    pub certifies: Vec<CertifiedCourses>,
}

fn current_or_404(state: &AppState, code: &MajorCode) -> Result<Arc<CatalogVersion>, ApiError> {
    state
        .catalog
        .current()
        .filter(|c| c.catalog.major(code).is_some())
        .ok_or_else(|| {
            ApiError::not_found(Msg::new(
                format!("专业 {code} 不存在"),
                format!("there is no major {code}"),
            ))
        })
}

fn major_code(text: &str) -> Result<MajorCode, ApiError> {
    MajorCode::parse(text).map_err(|v| ApiError::field("code", v))
}

/// Lists the self-study majors of the current catalogue.
///
/// The self-study majors (自考专业) of the current catalogue version, in catalogue order,
/// with their level and the size of their plan. Served from memory.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "list_majors",
    params(PageQuery),
    responses((status = 200, description = "One page of majors.", body = Paginated<MajorSummary>,
        example = json!({"items": [{"code": "100701", "name": "药学", "level": "bachelor",
            "level_label": "本科", "course_count": 7}], "total": 3, "page": 1, "per_page": 1})))
)]
#[get("/majors")]
pub async fn list_majors(
    state: web::Data<AppState>,
    query: ApiQuery<PageQuery>,
) -> Result<web::Json<Paginated<MajorSummary>>, ApiError> {
    let page = query.0.check()?;
    let Some(current) = state.catalog.current() else {
        return Ok(web::Json(page.wrap(Vec::new(), 0)));
    };
    let majors = current.catalog.majors();
    let items = majors
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(0))
        .map(MajorSummary::from)
        .collect();
    Ok(web::Json(page.wrap(items, majors.len() as i64)))
}

/// One self-study major with its course plan.
///
/// A self-study major of the current catalogue with its course plan in display order,
/// each course inlined (R8).
#[utoipa::path(
    tag = "catalogue",
    operation_id = "get_major",
    params(("code" = String, Path, description = "Major code: 1–10 ASCII letters or digits.", example = "100701")),
    responses(
        (status = 200, description = "The major and its plan.", body = MajorView,
            example = json!({"code": "090502", "name": "园林", "level": "bachelor", "level_label": "本科",
                "plan": [{"code": "03708", "name": "中国近代史纲要", "credits": 2, "practical": false,
                    "exam_channel": "platform", "exam_channel_label": "在考生服务平台报考"}],
                "catalog_version_id": 1})),
        (status = 404, description = "No major has this code in the current catalogue.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/majors/{code}")]
pub async fn get_major(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<web::Json<MajorView>, ApiError> {
    let code = major_code(&code)?;
    let current = current_or_404(&state, &code)?;
    let catalog = &current.catalog;
    let major = catalog.major(&code).expect("checked by current_or_404");
    Ok(web::Json(MajorView {
        code: major.code.to_string(),
        name: major.name.clone(),
        level: major.level.into(),
        level_label: major.level.label_zh().to_owned(),
        plan: major
            .plan
            .iter()
            .filter_map(|c| catalog.course(c).map(CourseView::from))
            .collect(),
        catalog_version_id: current.id,
    }))
}

/// The certificate kinds and the courses each certifies, per major.
///
/// `ncre1`, `ncre2`, `cet4` and `cet6`, always all four, each with its labels and, per
/// major of the current catalogue, the plan courses it certifies (R13–R15). Served from
/// memory.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "list_certificate_kinds",
    responses((status = 200, description = "Every certificate kind.", body = Vec<CertificateKindView>,
        example = json!([{"kind": "ncre2", "label": "全国计算机等级考试二级", "label_en": "NCRE level 2",
            "certifies": [{"major_code": "120402", "major_name": "行政管理",
                "courses": [{"code": "00051", "name": "管理系统中计算机应用"},
                            {"code": "00052", "name": "管理系统中计算机应用实践"}]}]}])))
)]
#[get("/certificate-kinds")]
pub async fn list_certificate_kinds(
    state: web::Data<AppState>,
) -> web::Json<Vec<CertificateKindView>> {
    let current = state.catalog.current();
    let views = CertificateKind::ALL
        .into_iter()
        .map(|kind| CertificateKindView {
            kind: kind.into(),
            label: kind.label_zh().to_owned(),
            label_en: kind.label_en().to_owned(),
            certifies: current
                .as_ref()
                .map(|c| certified_by(&c.catalog, kind))
                .unwrap_or_default(),
        })
        .collect();
    web::Json(views)
}

fn certified_by(catalog: &catalog::ValidCatalog, kind: CertificateKind) -> Vec<CertifiedCourses> {
    catalog
        .majors()
        .iter()
        .filter_map(|major| {
            let courses: Vec<CourseRef> = major
                .plan
                .iter()
                .filter(|c| {
                    catalog
                        .certificate_kinds_for(&major.code, c)
                        .contains(&kind)
                })
                .filter_map(|c| catalog.course(c))
                .map(|c| CourseRef {
                    code: c.code.to_string(),
                    name: c.name.clone(),
                })
                .collect();
            (!courses.is_empty()).then(|| CertifiedCourses {
                major_code: major.code.to_string(),
                major_name: major.name.clone(),
                courses,
            })
        })
        .collect()
}
