//! The course catalogue (R16: every course says where its exam is registered).

use actix_web::{get, web};
use domain::CourseCode;
use persistence::courses::CourseRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::ApiQuery;
use crate::pagination::{PageQuery, Paginated};
use crate::problem::{ApiError, Msg};
use crate::state::AppState;

/// Where a course's exam is registered when it is not certified (R16).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExamChannel {
    /// On the candidate service platform, like any twice-a-year exam.
    Platform,
    /// Through the school's self-study office.
    SchoolOffice,
}

impl ExamChannel {
    fn from_db(text: &str) -> Self {
        match text {
            "school_office" => ExamChannel::SchoolOffice,
            _ => ExamChannel::Platform,
        }
    }

    /// The Chinese label a frontend shows.
    pub fn label(self) -> &'static str {
        match self {
            ExamChannel::Platform => "通过平台报名",
            ExamChannel::SchoolOffice => "联系学校自考办报名",
        }
    }
}

/// A self-study course.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "code": "00018", "name": "计算机基础", "credits": 2, "practical": false,
    "exam_channel": "platform", "exam_channel_label": "通过平台报名"
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

impl From<CourseRow> for CourseView {
    fn from(row: CourseRow) -> Self {
        let channel = ExamChannel::from_db(&row.exam_channel);
        Self {
            code: row.code,
            name: row.name,
            credits: row.credits,
            practical: row.practical,
            exam_channel: channel,
            exam_channel_label: channel.label().to_owned(),
        }
    }
}

/// Lists the courses of the current catalogue, ordered by code.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "list_courses",
    params(PageQuery),
    responses((status = 200, description = "One page of courses.", body = Paginated<CourseView>))
)]
#[get("/courses")]
pub async fn list_courses(
    state: web::Data<AppState>,
    query: ApiQuery<PageQuery>,
) -> Result<web::Json<Paginated<CourseView>>, ApiError> {
    let page = query.0.check()?;
    let (rows, total) = state
        .db(move |conn| {
            Ok(persistence::courses::list(
                conn,
                page.offset(),
                page.per_page,
            )?)
        })
        .await?;
    Ok(web::Json(page.wrap(
        rows.into_iter().map(CourseView::from).collect(),
        total,
    )))
}

/// One course of the current catalogue.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "get_course",
    params(("code" = String, Path, description = "Five-digit course code.", example = "03708", pattern = "^[0-9]{5}$")),
    responses(
        (status = 200, description = "The course.", body = CourseView),
        (status = 404, description = "No course has this code in the current catalogue.", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[get("/courses/{code}")]
pub async fn get_course(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<web::Json<CourseView>, ApiError> {
    let code = CourseCode::parse(&code).map_err(|v| ApiError::field("code", v))?;
    let row = state
        .db(move |conn| match persistence::courses::find(conn, code) {
            Err(persistence::DbError::NotFound) => Err(ApiError::not_found(Msg::new(
                format!("课程 {code} 不存在"),
                format!("there is no course {code}"),
            ))),
            other => Ok(other?),
        })
        .await?;
    Ok(web::Json(row.into()))
}
