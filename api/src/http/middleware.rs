//! The outermost layer: gives each request an id (`X-Request-Id`), renders every
//! error as problem+json in the caller's language, sets the protective headers
//! (`X-Content-Type-Options: nosniff` everywhere, `Cache-Control: no-store` where
//! personal data is answered), and logs the request.

use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse};

use crate::http::problem::{self, Lang, PROBLEM_JSON, Problem};

/// The header carrying the request id, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Paths whose answers hold personal data (API.md, "Conventions added"): never
/// stored by browsers or proxies.
const PERSONAL: [&str; 5] = [
    "/api/v1/me",
    "/api/v1/staff/candidates",
    "/api/v1/staff/exports",
    "/api/v1/prior-degrees",
    "/api/v1/certification-applications",
];

fn holds_personal_data(path: &str) -> bool {
    PERSONAL.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// `X-Content-Type-Options: nosniff` on every answer, and `Cache-Control:
/// no-store` on every answer of a path holding personal data (unless it says
/// otherwise already).
fn protect(headers: &mut header::HeaderMap, path: &str) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if holds_personal_data(path) && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The id of the current request, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Accepts a caller's id if it is short and plain, so it can be logged safely.
fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    ok.then(|| value.to_owned())
}

/// The middleware function (see the module doc).
pub async fn problem_and_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, Error> {
    let started = Instant::now();
    let request_id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let lang = Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let method = req.method().clone();
    let path = req.path().to_owned();

    let response = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // An error from a middleware below, with no request left to answer with:
        // hand back an error whose response is the rendered problem.
        Err(error) => {
            let status = error.as_response_error().status_code();
            let mut problem = error
                .error_response()
                .extensions()
                .get::<Problem>()
                .cloned()
                .unwrap_or_else(|| problem::for_status(status));
            problem.internal.get_or_insert_with(|| error.to_string());
            log_problem(&problem, &request_id, &method, &path);
            let mut rendered = problem::render(&problem, lang, Some(&request_id), Some(&path));
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                rendered.headers_mut().insert(REQUEST_ID, value);
            }
            protect(rendered.headers_mut(), &path);
            return Err(InternalError::from_response(problem.code.to_string(), rendered).into());
        }
    };

    let status = response.status();
    let mut response = if status.is_client_error() || status.is_server_error() {
        let problem = response
            .response()
            .extensions()
            .get::<Problem>()
            .cloned()
            .or_else(|| {
                let is_problem = response
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
                (!is_problem).then(|| {
                    let mut p = problem::for_status(status);
                    if let Some(error) = response.response().error() {
                        p.internal = Some(error.to_string());
                    }
                    p
                })
            });
        match problem {
            Some(problem) => {
                log_problem(&problem, &request_id, &method, &path);
                let (req, old) = response.into_parts();
                let mut fresh: HttpResponse =
                    problem::render(&problem, lang, Some(&request_id), Some(&path));
                // Keep headers set on the way out (CORS, Allow, Retry-After …).
                for (name, value) in old.headers() {
                    if name != header::CONTENT_TYPE
                        && name != header::CONTENT_LENGTH
                        && name != header::CONTENT_LANGUAGE
                        && !fresh.headers().contains_key(name)
                    {
                        fresh.headers_mut().append(name.clone(), value.clone());
                    }
                }
                ServiceResponse::new(req, fresh).map_into_right_body()
            }
            None => response.map_into_left_body(),
        }
    } else {
        response.map_into_left_body()
    };

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    protect(response.headers_mut(), &path);
    tracing::info!(
        request_id = %request_id,
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(response)
}

/// Internal detail goes to the log (never to the body), tied to the request id.
fn log_problem(problem: &Problem, request_id: &str, method: &Method, path: &str) {
    let Some(internal) = &problem.internal else {
        return;
    };
    let status = problem.status.as_u16();
    if problem.status.is_server_error() {
        tracing::error!(request_id, %method, path, status, error = %internal, "request failed");
    } else {
        tracing::debug!(request_id, %method, path, status, error = %internal, "request rejected");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_paths_are_matched_by_segment() {
        for path in [
            "/api/v1/me",
            "/api/v1/me/progress",
            "/api/v1/staff/candidates/0193",
            "/api/v1/staff/exports/certification-applications.csv",
            "/api/v1/prior-degrees",
            "/api/v1/certification-applications/0193/decision",
        ] {
            assert!(holds_personal_data(path), "{path}");
        }
        for path in [
            "/api/v1/courses",
            "/api/v1/meetings",
            "/healthz",
            "/api/v1/rounds",
        ] {
            assert!(!holds_personal_data(path), "{path}");
        }
    }
}
