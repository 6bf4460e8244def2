//! Request extractors whose failures name the field: JSON bodies and query strings
//! are deserialized with `serde_path_to_error`, so a problem says
//! `items[2].scores[1]`, not "invalid type at line 1 column 40".

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::http::problem::{ApiError, FieldProblem, Msg};

/// The largest JSON body accepted, unless a route sets a [`BodyLimit`].
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// A per-app or per-scope override of the body size limit, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body; see the module doc.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// Reads the whole body, refusing more than the app's limit with 413.
pub async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<BytesMut, ApiError> {
    let limit = req
        .app_data::<BodyLimit>()
        .map(|l| l.0)
        .unwrap_or(DEFAULT_BODY_LIMIT);
    read_body_with_limit(req, payload, limit).await
}

/// Reads the whole body, refusing more than `limit` bytes with 413.
pub async fn read_body_with_limit(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<BytesMut, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload.too_large",
            Msg::new("请求内容过大", "Payload too large"),
            Msg::new(
                format!("请求体不能超过 {limit} 字节"),
                format!("the request body may not exceed {limit} bytes"),
            ),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "request.malformed",
                Vec::new(),
                Msg::new(
                    "请求体读取失败",
                    format!("the request body could not be read: {e}"),
                ),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Checks that the body is declared as JSON (`application/json` or `…+json`).
fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match mime.as_deref() {
        Some("application/json") => Ok(()),
        Some(m) if m.starts_with("application/") && m.ends_with("+json") => Ok(()),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type.unsupported",
            Msg::new("不支持的内容类型", "Unsupported media type"),
            Msg::new(
                format!(
                    "请求体必须是 application/json，收到的是 {}",
                    other.unwrap_or("（未声明）")
                ),
                format!(
                    "the body must be application/json; got {}",
                    other.unwrap_or("(none declared)")
                ),
            ),
        )),
    }
}

/// Turns a serde error at `path` into a problem: wrong JSON type → 400,
/// missing or unknown field, unknown enum value, bad value → 422.
fn deserialize_problem(path: &str, message: &str, syntax: bool) -> ApiError {
    let at = path.to_string();
    let at = if at == "." { String::new() } else { at };
    let join = |name: &str| {
        if at.is_empty() {
            name.to_owned()
        } else {
            format!("{at}.{name}")
        }
    };
    if syntax {
        return ApiError::bad_request(
            "json.malformed",
            Vec::new(),
            Msg::new(
                format!("请求体不是合法的 JSON：{message}"),
                format!("the body is not valid JSON: {message}"),
            ),
        );
    }
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_owned);
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or_default();
        let field = join(&name);
        return ApiError::validation(vec![FieldProblem {
            field: field.clone(),
            code: "required".into(),
            message: Msg::new(
                format!("缺少必填字段 {field}"),
                format!("{field} is required"),
            ),
        }]);
    }
    if message.starts_with("unknown field ") {
        let name = quoted(message).unwrap_or_default();
        // The path already ends at the unknown key.
        let field = if at == name || at.ends_with(&format!(".{name}")) {
            at.clone()
        } else {
            join(&name)
        };
        return ApiError::validation(vec![FieldProblem {
            field: field.clone(),
            code: "unknown_field".into(),
            message: Msg::new(
                format!("不认识的字段 {field}（请检查拼写）"),
                format!("unknown field {field} (check the spelling): {message}"),
            ),
        }]);
    }
    if message.starts_with("unknown variant ") {
        return ApiError::validation(vec![FieldProblem {
            field: at.clone(),
            code: "enum".into(),
            message: Msg::new(
                format!("{at} 的取值不在允许范围内：{message}"),
                format!("{at} has a value that is not allowed: {message}"),
            ),
        }]);
    }
    if message.starts_with("invalid type") || message.starts_with("invalid length") {
        return ApiError::bad_request(
            "json.type",
            vec![FieldProblem {
                field: at.clone(),
                code: "json.type".into(),
                message: Msg::new(
                    format!("{at} 的类型不正确：{message}"),
                    format!("{at} has the wrong JSON type: {message}"),
                ),
            }],
            Msg::new(
                format!("{at} 的类型不正确"),
                format!("{at} has the wrong JSON type"),
            ),
        );
    }
    ApiError::validation(vec![FieldProblem {
        field: at.clone(),
        code: "format".into(),
        message: Msg::new(
            format!("{at} 的值不正确：{message}"),
            format!("{at} is not valid: {message}"),
        ),
    }])
}

/// Deserializes JSON bytes, naming the field on failure. Every string in the
/// body is checked as free text first (`text.control`, with every offending field
/// at once) and NFC-normalised, so no operation can store what the convention
/// refuses ([`domain::text`]).
pub fn from_json_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut value: serde_json::Value = serde::Deserialize::deserialize(&mut de)
        .map_err(|e: serde_json::Error| deserialize_problem(".", &e.to_string(), true))?;
    de.end()
        .map_err(|e| deserialize_problem(".", &e.to_string(), true))?;
    let problems = domain::text::check_json(&mut value);
    if !problems.is_empty() {
        return Err(ApiError::validation(
            (problems.into_iter())
                .map(|(path, v)| FieldProblem::from_violation(path, v))
                .collect(),
        ));
    }
    serde_path_to_error::deserialize(value)
        .map_err(|e| deserialize_problem(&e.path().to_string(), &e.inner().to_string(), false))
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            require_json(&req)?;
            let body = read_body(&req, &mut payload).await?;
            from_json_slice(&body).map(ApiJson)
        })
    }
}

/// A query string, deserialized with field names in errors (422 on a bad value).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Postgres cannot store a NUL character: refuse it here, naming the parameter.
        if let Some((key, _)) =
            form_urlencoded::parse(req.query_string().as_bytes()).find(|(_, v)| v.contains('\0'))
        {
            let field = key.into_owned();
            return std::future::ready(Err(ApiError::validation(vec![FieldProblem {
                code: "text.nul".into(),
                message: Msg::new(
                    format!("查询参数 {field} 中不能含有空字符"),
                    format!("query parameter {field} may not contain a NUL character"),
                ),
                field,
            }])));
        }
        let parsed = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        std::future::ready(
            serde_path_to_error::deserialize(parsed)
                .map(ApiQuery)
                .map_err(|e| {
                    let message = e.inner().to_string();
                    let path = e.path().to_string();
                    // Query values are text: a wrong "type" is a malformed value, so 422.
                    let field = if path == "." {
                        message
                            .split('`')
                            .nth(1)
                            .map(str::to_owned)
                            .unwrap_or_default()
                    } else {
                        path
                    };
                    ApiError::validation(vec![FieldProblem {
                        field: field.clone(),
                        code: if message.starts_with("unknown field") {
                            "unknown_field"
                        } else {
                            "format"
                        }
                        .into(),
                        message: Msg::new(
                            format!("查询参数 {field} 不正确：{message}"),
                            format!("query parameter {field} is not valid: {message}"),
                        ),
                    }])
                }),
        )
    }
}

/// Parses a UUID path parameter (`id`), 422 `id.format` otherwise.
pub fn parse_id(text: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(text.trim()).map_err(|_| {
        ApiError::field(
            "id",
            domain::Violation::new("id.format", "编号必须是 UUID", "the id must be a UUID"),
        )
    })
}

/// The response language a request asks for (`Accept-Language`).
pub fn lang_of(req: &HttpRequest) -> crate::http::problem::Lang {
    crate::http::problem::Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}
