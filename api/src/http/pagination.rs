//! `?page=1&per_page=50` on every list, answered as `{items, total, page, per_page}`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::http::problem::{ApiError, FieldProblem, Msg};

/// The largest page size.
pub const MAX_PER_PAGE: i64 = 200;

/// Which page of a list to return.
#[derive(Debug, Clone, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000, default = 1, example = 1)]
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<i64>,
    /// Items per page, 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 50, example = 50)]
    #[validate(range(min = 1, max = 200))]
    pub per_page: Option<i64>,
}

/// A checked page request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Page number, from 1.
    pub page: i64,
    /// Items per page.
    pub per_page: i64,
}

impl Page {
    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// Wraps a page of items.
    pub fn wrap<T>(&self, items: Vec<T>, total: i64) -> Paginated<T> {
        Paginated {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

impl PageQuery {
    /// Checks the bounds (422 naming `page` or `per_page`).
    pub fn check(&self) -> Result<Page, ApiError> {
        self.validate().map_err(validation_problem)?;
        Ok(Page {
            page: self.page.unwrap_or(1),
            per_page: self.per_page.unwrap_or(50),
        })
    }
}

/// Turns `validator` errors into field problems.
pub fn validation_problem(errors: validator::ValidationErrors) -> ApiError {
    let mut problems = Vec::new();
    for (field, errs) in errors.field_errors() {
        for err in errs {
            let (zh, en) = match err.code.as_ref() {
                "range" => {
                    let min = err
                        .params
                        .get("min")
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    let max = err
                        .params
                        .get("max")
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    (
                        format!("{field} 必须在 {min} 到 {max} 之间"),
                        format!("{field} must be between {min} and {max}"),
                    )
                }
                "length" => (
                    format!("{field} 的长度不符合要求"),
                    format!("{field} has a wrong length"),
                ),
                other => (
                    format!("{field} 不符合规则（{other}）"),
                    format!("{field} breaks rule {other}"),
                ),
            };
            problems.push(FieldProblem {
                field: field.to_string(),
                code: err.code.to_string().into(),
                message: Msg::new(zh, en),
            });
        }
    }
    problems.sort_by(|a, b| a.field.cmp(&b.field));
    ApiError::validation(problems)
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// How many items the whole list has.
    pub total: i64,
    /// This page's number, from 1.
    pub page: i64,
    /// The page size used.
    pub per_page: i64,
}
