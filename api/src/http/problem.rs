//! Every error is an RFC 9457 problem (`application/problem+json`) with a stable
//! `code`, field-level `errors[]`, and messages in Chinese (default) or English.
//!
//! Handlers and extractors return [`ApiError`]; its `error_response` stores the
//! [`Problem`] in the response's extensions. The [`crate::http::middleware`] layer then
//! renders it in the caller's language with the request id, and turns any other
//! error response (actix's own 404, 405, …) into a problem too.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::Violation;
use persistence::DbError;
use serde::Serialize;
use utoipa::ToSchema;

/// The content type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// Simplified Chinese.
    pub zh: Cow<'static, str>,
    /// English.
    pub en: Cow<'static, str>,
}

impl Msg {
    /// A message from its two translations.
    pub fn new(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Self {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// The response language: Chinese unless `Accept-Language` prefers English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Picks zh or en from an `Accept-Language` value by q-weight; ties and
    /// unknown languages fall back to Chinese.
    pub fn from_accept_language(value: Option<&str>) -> Self {
        let Some(value) = value else { return Lang::Zh };
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang).unwrap_or_default()
    }
}

/// A problem with one field of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// JSON path into the request (`items[2].score_text`), or a query/path parameter name.
    pub field: String,
    /// Stable code of the broken rule.
    pub code: Cow<'static, str>,
    /// What is wrong, in both languages.
    pub message: Msg,
}

impl FieldProblem {
    /// A field problem from a domain violation.
    pub fn from_violation(field: impl Into<String>, violation: Violation) -> Self {
        Self {
            field: field.into(),
            code: Cow::Borrowed(violation.code),
            message: Msg::new(violation.zh, violation.en),
        }
    }
}

/// A problem, before it is rendered in a language.
#[derive(Debug, Clone)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: Cow<'static, str>,
    /// Short summary.
    pub title: Msg,
    /// Explanation of this occurrence.
    pub detail: Msg,
    /// Per-field problems.
    pub errors: Vec<FieldProblem>,
    /// Seconds after which a retry may succeed (sets `Retry-After`).
    pub retry_after: Option<u64>,
    /// Internal detail for the log only; never rendered.
    pub internal: Option<String>,
}

/// The error type of every handler and extractor.
#[derive(Debug, Clone)]
pub struct ApiError(pub Box<Problem>);

impl ApiError {
    /// A problem with a status, code and messages.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        title: Msg,
        detail: Msg,
    ) -> Self {
        Self(Box::new(Problem {
            status,
            code: code.into(),
            title,
            detail,
            errors: Vec::new(),
            retry_after: None,
            internal: None,
        }))
    }

    /// 422 for malformed fields. With one field problem the top-level code is that
    /// field's code; with several different ones it is `validation`.
    pub fn validation(errors: Vec<FieldProblem>) -> Self {
        let code: Cow<'static, str> = match errors.as_slice() {
            [] => Cow::Borrowed("validation"),
            [first, rest @ ..] if rest.iter().all(|e| e.code == first.code) => first.code.clone(),
            _ => Cow::Borrowed("validation"),
        };
        let detail = match errors.as_slice() {
            [only] => only.message.clone(),
            _ => Msg::new(
                format!("请求中有 {} 处错误，详见 errors", errors.len()),
                format!("the request has {} problems; see errors", errors.len()),
            ),
        };
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            Msg::new("请求内容不符合规则", "The request breaks a rule"),
            detail,
        );
        e.0.errors = errors;
        e
    }

    /// 422 for one field that breaks a domain rule.
    pub fn field(field: impl Into<String>, violation: Violation) -> Self {
        Self::validation(vec![FieldProblem::from_violation(field, violation)])
    }

    /// 400: the body is not JSON, or a value has the wrong JSON type.
    pub fn bad_request(code: &'static str, errors: Vec<FieldProblem>, detail: Msg) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            code,
            Msg::new("请求格式错误", "Malformed request"),
            detail,
        );
        e.0.errors = errors;
        e
    }

    /// 404: unknown, or not visible to the caller (never reveals which).
    pub fn not_found(what: Msg) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            Msg::new("未找到", "Not found"),
            what,
        )
    }

    /// 503: the database cannot be reached right now.
    pub fn unavailable(internal: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service.unavailable",
            Msg::new("服务暂时不可用", "Service temporarily unavailable"),
            Msg::new(
                "数据库暂时无法访问，请稍后重试",
                "the database is unreachable; retry shortly",
            ),
        );
        e.0.retry_after = Some(5);
        e.0.internal = Some(internal.into());
        e
    }

    /// 500: a bug or an operational fault; the detail goes to the log only.
    pub fn internal(internal: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            Msg::new("服务器内部错误", "Internal server error"),
            Msg::new(
                "服务器处理请求时出错，已记录；请凭请求编号联系管理员",
                "the server failed to handle the request; it was logged, quote the request id",
            ),
        );
        e.0.internal = Some(internal.into());
        e
    }

    /// Adds a `Retry-After`.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds);
        self
    }

    /// The problem inside.
    pub fn problem(&self) -> &Problem {
        &self.0
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.status.as_u16(), self.0.code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let problem = (*self.0).clone();
        let mut response = render(&problem, Lang::Zh, None, None);
        response.extensions_mut().insert(problem);
        response
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::NotFound => ApiError::not_found(Msg::new("记录不存在", "no such record")),
            DbError::Unavailable(detail) => ApiError::unavailable(detail),
            DbError::InvalidText => ApiError::validation(vec![FieldProblem {
                field: String::new(),
                code: "text.nul".into(),
                message: Msg::new(
                    "文本中不能含有空字符（\\u0000）",
                    "text may not contain a NUL character (\\u0000)",
                ),
            }]),
            DbError::Retry => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service.unavailable",
                    Msg::new("服务繁忙", "Service busy"),
                    Msg::new(
                        "记录正被同时修改，请稍后重试",
                        "the record was being changed concurrently; retry shortly",
                    ),
                );
                e.0.retry_after = Some(1);
                e
            }
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<crate::use_cases::Refusal> for ApiError {
    fn from(refusal: crate::use_cases::Refusal) -> Self {
        use crate::use_cases::Refusal;
        match refusal {
            Refusal::NotFound(what) => ApiError::not_found(what),
            Refusal::Forbidden => crate::auth::principal::forbidden(),
            Refusal::Conflict(v) => ApiError::new(
                StatusCode::CONFLICT,
                v.code,
                Msg::new("状态冲突", "Conflict"),
                Msg::new(v.zh, v.en),
            ),
            Refusal::ConflictTitled(title, v) => {
                ApiError::new(StatusCode::CONFLICT, v.code, title, Msg::new(v.zh, v.en))
            }
            Refusal::Taken(taken) => {
                let crate::use_cases::Taken {
                    title,
                    detail,
                    field,
                } = *taken;
                let mut e = ApiError::new(
                    StatusCode::CONFLICT,
                    detail.code,
                    title,
                    Msg::new(detail.zh, detail.en),
                );
                e.0.errors.extend(field);
                e
            }
            Refusal::SignIn(refusal) => sign_in_problem(refusal),
            Refusal::Rule(v) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                v.code,
                Msg::new("请求内容不符合规则", "The request breaks a rule"),
                Msg::new(v.zh, v.en),
            ),
            Refusal::Invalid(errors) => {
                let all_duplicates =
                    !errors.is_empty() && errors.iter().all(|e| e.code == "course.duplicate");
                let mut e = ApiError::validation(errors);
                if all_duplicates {
                    e.0.status = StatusCode::CONFLICT;
                    e.0.title = Msg::new("课程重复", "Duplicate course");
                }
                e
            }
            Refusal::Stale(current) => crate::http::etag::stale(current),
            Refusal::Db(e) => e.into(),
            Refusal::Internal(text) => ApiError::internal(text),
        }
    }
}

/// 401 for wrong credentials or a bad refresh token, 429 `auth.throttled` with
/// `Retry-After` past a limit of sign-in abuse.
fn sign_in_problem(refusal: crate::use_cases::sign_in::SignInRefusal) -> ApiError {
    use crate::use_cases::sign_in::SignInRefusal;
    match refusal {
        SignInRefusal::WrongCredentials => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth.invalid_credentials",
            Msg::new("登录失败", "Sign-in failed"),
            Msg::new("账号或密码错误", "wrong login or password"),
        ),
        SignInRefusal::Throttled { seconds } => {
            let minutes = (seconds + 59) / 60;
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "auth.throttled",
                Msg::new("尝试过于频繁", "Too many attempts"),
                Msg::new(
                    format!("尝试次数过多，请 {minutes} 分钟后再试，或找回密码"),
                    format!(
                        "too many attempts; try again in {minutes} minutes or reset the password"
                    ),
                ),
            )
            .with_retry_after(seconds.max(1) as u64)
        }
        SignInRefusal::InvalidRefreshToken => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth.invalid_token",
            Msg::new("需要重新登录", "Sign in again"),
            Msg::new(
                "刷新令牌无效、已过期或已被使用，请重新登录",
                "the refresh token is invalid, expired or spent; sign in again",
            ),
        ),
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        DbError::from(error).into()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::internal(format!("blocking task failed: {error}"))
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    title = "Problem",
    example = json!({
        "type": "urn:zikao-cert:problem:score.separator",
        "title": "请求内容不符合规则",
        "status": 422,
        "detail": "成绩之间必须用英文分号 ; 分隔，例如 60;65;70",
        "code": "score.separator",
        "errors": [{"field": "items[2].score_text", "code": "score.separator",
                    "message": "成绩之间必须用英文分号 ; 分隔，例如 60;65;70"}],
        "request_id": "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b",
        "instance": "/api/v1/certification-applications"
    })
)]
pub struct ProblemBody {
    /// A URI naming the problem type: `urn:zikao-cert:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the problem type, in the response language.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request, in the response language.
    pub detail: String,
    /// Stable machine-readable code (see API.md), e.g. `window.closed`.
    pub code: String,
    /// Problems with individual fields; empty when none.
    pub errors: Vec<FieldErrorBody>,
    /// The request id, also sent as `X-Request-Id`; quote it when reporting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// One field's problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// JSON path into the request body (`items[2].score_text`), or the name of a
    /// query or path parameter.
    pub field: String,
    /// Stable code of the broken rule, e.g. `score.count`.
    pub code: String,
    /// What is wrong, in the response language.
    pub message: String,
}

/// Renders `problem` as a response in `lang`.
pub fn render(
    problem: &Problem,
    lang: Lang,
    request_id: Option<&str>,
    instance: Option<&str>,
) -> HttpResponse {
    let body = problem_body(problem, lang, request_id, instance);
    let mut builder = HttpResponse::build(problem.status);
    builder.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
    builder.insert_header((
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(match lang {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }),
    ));
    if problem.status == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"zikao-cert\""));
    }
    if let Some(seconds) = problem.retry_after {
        builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    builder.body(serde_json::to_string(&body).unwrap_or_else(|_| "{}".into()))
}

/// The body of `problem` in `lang`.
pub fn problem_body(
    problem: &Problem,
    lang: Lang,
    request_id: Option<&str>,
    instance: Option<&str>,
) -> ProblemBody {
    ProblemBody {
        type_: format!("urn:zikao-cert:problem:{}", problem.code),
        title: problem.title.get(lang).to_owned(),
        status: problem.status.as_u16(),
        detail: problem.detail.get(lang).to_owned(),
        code: problem.code.to_string(),
        errors: problem
            .errors
            .iter()
            .map(|e| FieldErrorBody {
                field: e.field.clone(),
                code: e.code.to_string(),
                message: e.message.get(lang).to_owned(),
            })
            .collect(),
        request_id: request_id.map(str::to_owned),
        instance: instance.map(str::to_owned),
    }
}

/// The problem for an error response that did not come from an [`ApiError`]
/// (actix's own 404, 405, payload and CORS errors): chosen by status.
pub fn for_status(status: StatusCode) -> Problem {
    let (code, title, detail) = match status.as_u16() {
        400 => (
            "request.malformed",
            Msg::new("请求格式错误", "Malformed request"),
            Msg::new("请求无法解析", "the request could not be parsed"),
        ),
        401 => (
            "auth.required",
            Msg::new("需要登录", "Authentication required"),
            Msg::new("请先登录", "sign in first"),
        ),
        403 => (
            "forbidden",
            Msg::new("无权操作", "Forbidden"),
            Msg::new("当前身份无权执行此操作", "this role may not do this"),
        ),
        404 => (
            "not_found",
            Msg::new("未找到", "Not found"),
            Msg::new("请求的地址不存在", "no such resource"),
        ),
        405 => (
            "method.not_allowed",
            Msg::new("不支持的请求方法", "Method not allowed"),
            Msg::new(
                "该地址不支持此请求方法",
                "this path does not support this method",
            ),
        ),
        413 => (
            "payload.too_large",
            Msg::new("请求内容过大", "Payload too large"),
            Msg::new(
                "请求体超过大小限制",
                "the request body exceeds the size limit",
            ),
        ),
        408 => (
            "request.timeout",
            Msg::new("请求超时", "Request timeout"),
            Msg::new(
                "未能及时收到完整的请求头，连接已关闭",
                "the request head did not arrive in time; the connection was closed",
            ),
        ),
        431 => (
            "request.headers_too_large",
            Msg::new("请求头过大", "Request header fields too large"),
            Msg::new(
                "请求头超过大小限制，连接已关闭",
                "the request head exceeds the size limit; the connection was closed",
            ),
        ),
        415 => (
            "content_type.unsupported",
            Msg::new("不支持的内容类型", "Unsupported media type"),
            Msg::new(
                "请求体必须是 application/json",
                "the body must be application/json",
            ),
        ),
        s if s >= 500 => (
            "internal",
            Msg::new("服务器内部错误", "Internal server error"),
            Msg::new(
                "服务器处理请求时出错，已记录",
                "the server failed to handle the request; it was logged",
            ),
        ),
        _ => (
            "request.rejected",
            Msg::new("请求被拒绝", "Request rejected"),
            Msg::new("请求未被接受", "the request was not accepted"),
        ),
    };
    Problem {
        status,
        code: Cow::Borrowed(code),
        title,
        detail,
        errors: Vec::new(),
        retry_after: None,
        internal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_chosen_only_when_preferred() {
        assert_eq!(Lang::from_accept_language(None), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.5")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("en;q=0.4, zh;q=0.6")),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language(Some("de")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en;q=0")), Lang::Zh);
    }

    #[test]
    fn several_different_field_codes_make_the_top_code_validation() {
        let a = FieldProblem::from_violation("a", Violation::new("score.count", "", ""));
        let b = FieldProblem::from_violation("b", Violation::new("score.range", "", ""));
        assert_eq!(
            ApiError::validation(vec![a.clone()]).problem().code,
            "score.count"
        );
        assert_eq!(
            ApiError::validation(vec![a, b]).problem().code,
            "validation"
        );
    }
}

/// Collects every field problem of a request, so that one answer lists them all.
#[derive(Debug, Default)]
pub struct FieldChecks {
    errors: Vec<FieldProblem>,
}

impl FieldChecks {
    /// Keeps the value, or records the violation against `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, Violation>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(violation) => {
                self.errors
                    .push(FieldProblem::from_violation(field, violation));
                None
            }
        }
    }

    /// Records a violation.
    pub fn push(&mut self, field: &str, violation: Violation) {
        self.errors
            .push(FieldProblem::from_violation(field, violation));
    }

    /// 422 listing every recorded problem, or `Ok` when there are none.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}
