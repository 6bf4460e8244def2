//! The course catalogue (R16: every course says where its exam is registered),
//! served from the in-memory current catalogue.

use actix_web::{get, web};
use domain::CourseCode;
use domain::catalog::{self, Course};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::extract::ApiQuery;
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::{ApiError, Msg};
use crate::state::AppState;

/// Where a course's exam is registered when it is not certified (R16).
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExamChannel {
    /// On the candidate service platform, like any twice-a-year exam.
    Platform,
    /// Through the school's self-study office.
    SchoolOffice,
}

domain::choice!(ExamChannel { ExamChannel::Platform => "platform", ExamChannel::SchoolOffice => "school_office" });

impl From<catalog::ExamChannel> for ExamChannel {
    fn from(channel: catalog::ExamChannel) -> Self {
        match channel {
            catalog::ExamChannel::Platform => Self::Platform,
            catalog::ExamChannel::SchoolOffice => Self::SchoolOffice,
        }
    }
}

/// A self-study course.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "code": "00018", "name": "计算机基础", "credits": 2, "practical": false,
    "exam_channel": "platform", "exam_channel_label": "在考生服务平台报考"
}))]
pub struct CourseView {
    /// Five-digit course code.
    #[schema(pattern = "^[0-9]{5}$")]
    pub code: String,
    /// Chinese course name.
    pub name: String,
    /// Credits.
    pub credits: i16,
    /// Whether it is a practical (实践) course.
    pub practical: bool,
    /// Where its exam is registered when it is not certified (R16).
    pub exam_channel: ExamChannel,
    /// Chinese label of `exam_channel`.
    pub exam_channel_label: String,
}

impl From<&Course> for CourseView {
    fn from(course: &Course) -> Self {
        Self {
            code: course.code.to_string(),
            name: course.name.clone(),
            credits: i16::from(course.credits),
            practical: course.practical,
            exam_channel: course.exam_channel.into(),
            exam_channel_label: course.exam_channel.label_zh().to_owned(),
        }
    }
}

/// Lists the courses of the current catalogue, ordered by code.
///
/// Every course of the current catalogue version, ordered by code, with where its exam
/// is registered when it is not certified (R16). Served from memory; an empty list
/// until a catalogue is imported.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "list_courses",
    params(PageQuery),
    responses((status = 200, description = "One page of courses.", body = Paginated<CourseView>,
        example = json!({"items": [{"code": "00015", "name": "英语（二）", "credits": 14,
            "practical": false, "exam_channel": "platform", "exam_channel_label": "在考生服务平台报考"}],
            "total": 13, "page": 1, "per_page": 1})))
)]
#[get("/courses")]
pub async fn list_courses(
    state: web::Data<AppState>,
    query: ApiQuery<PageQuery>,
) -> Result<web::Json<Paginated<CourseView>>, ApiError> {
    let page = query.0.check()?;
    let Some(current) = state.catalog.current() else {
        return Ok(web::Json(page.wrap(Vec::new(), 0)));
    };
    let mut courses: Vec<&Course> = current.catalog.courses().iter().collect();
    courses.sort_by_key(|c| c.code);
    let total = courses.len() as i64;
    let items = courses
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(0))
        .map(CourseView::from)
        .collect();
    Ok(web::Json(page.wrap(items, total)))
}

/// One course of the current catalogue.
///
/// One course of the current catalogue version by its five-digit code.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "get_course",
    params(("code" = String, Path, description = "Five-digit course code.", example = "03708", pattern = "^[0-9]{5}$")),
    responses(
        (status = 200, description = "The course.", body = CourseView,
            example = json!({"code": "00019", "name": "计算机基础实践", "credits": 2, "practical": true,
                "exam_channel": "school_office", "exam_channel_label": "通过学校自考办报考"})),
        (status = 404, description = "No course has this code in the current catalogue.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/courses/{code}")]
pub async fn get_course(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<web::Json<CourseView>, ApiError> {
    let code = CourseCode::parse(&code).map_err(|v| ApiError::field("code", v))?;
    state
        .catalog
        .current()
        .and_then(|c| c.catalog.course(&code).map(CourseView::from))
        .map(web::Json)
        .ok_or_else(|| {
            ApiError::not_found(Msg::new(
                format!("课程 {code} 不存在"),
                format!("there is no course {code}"),
            ))
        })
}
