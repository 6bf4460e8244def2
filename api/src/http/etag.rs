//! Optimistic concurrency: mutable resources carry a version, sent as a strong
//! `ETag`; changes may send `If-Match` and get 412 `version.stale` when someone
//! else changed the resource first.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};

use crate::http::problem::{ApiError, Msg};

/// The `ETag` of a resource at `version`: `"<version>"`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The header value of [`etag`].
pub fn etag_header(version: i32) -> (header::HeaderName, HeaderValue) {
    (
        header::ETAG,
        HeaderValue::from_str(&etag(version)).unwrap_or_else(|_| HeaderValue::from_static("\"0\"")),
    )
}

/// The version an `If-Match` header names: `None` without the header (the change
/// then applies to whatever version is current), `Some(v)` for `"v"` (or `W/"v"`),
/// and 412 for anything unparseable or `*`-less lists that name no version.
pub fn if_match(req: &HttpRequest) -> Result<Option<i32>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.trim_start_matches("W/").trim_matches('"');
    tag.parse::<i32>().map(Some).map_err(|_| stale(None))
}

/// The version a `PATCH` names in `If-Match`, which it must send: 428
/// `precondition.required` without the header (a blind change would overwrite what
/// someone else changed meanwhile). `*` says "whatever is current" explicitly.
pub fn required_if_match(req: &HttpRequest) -> Result<Option<i32>, ApiError> {
    if req.headers().get(header::IF_MATCH).is_none() {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition.required",
            Msg::new("缺少 If-Match", "If-Match required"),
            Msg::new(
                "修改前请先获取记录，并在 If-Match 中带上其 ETag",
                "read the resource first and send its ETag in If-Match",
            ),
        ));
    }
    if_match(req)
}

/// 412: the resource changed since the caller read it.
pub fn stale(current: Option<i32>) -> ApiError {
    let detail = match current {
        Some(v) => Msg::new(
            format!("记录已被修改（当前版本 {}），请重新获取后再提交", etag(v)),
            format!(
                "the resource has changed (current ETag {}); fetch it again and retry",
                etag(v)
            ),
        ),
        None => Msg::new(
            "If-Match 与当前版本不符，请重新获取后再提交",
            "If-Match does not match the current version; fetch the resource again and retry",
        ),
    };
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "version.stale",
        Msg::new("版本已过期", "Stale version"),
        detail,
    )
}

/// Checks `If-Match` against the current version.
pub fn check(expected: Option<i32>, current: i32) -> Result<(), ApiError> {
    match expected {
        Some(v) if v != current => Err(stale(Some(current))),
        _ => Ok(()),
    }
}

/// The record id of the path and the required version of `If-Match`: what a
/// `PATCH` names.
pub fn patch_target(req: &HttpRequest, id: &str) -> Result<(uuid::Uuid, Option<i32>), ApiError> {
    Ok((crate::http::extract::parse_id(id)?, required_if_match(req)?))
}

/// The record id of the path and the version of `If-Match`: what a change names.
pub fn target(req: &HttpRequest, id: &str) -> Result<(uuid::Uuid, Option<i32>), ApiError> {
    Ok((crate::http::extract::parse_id(id)?, if_match(req)?))
}
