//! `Idempotency-Key` on POSTs: a retry with the same key and the same request
//! gets the first answer again (marked `Idempotent-Replayed: true`) instead of
//! acting twice; the same key with a different request is 422
//! `idempotency.mismatch`; while the first is still being handled, 409
//! `idempotency.in_progress`. Keys are per caller (account, or anonymous) and
//! remembered for 24 hours. Only successes are remembered: after a refusal or
//! a server error the key is free again, so the corrected request can be sent
//! with the same key. Answers marked `Cache-Control: no-store` (tokens,
//! temporary passwords, secrets) are never stored.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError, web};
use persistence::idempotency::{self, Claim};
use sha2::{Digest, Sha256};

use crate::http::extract::read_body;
use crate::http::problem::{ApiError, Msg};
use crate::state::AppState;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a replayed answer.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

const EXPIRE_SECS: i64 = 24 * 3600;
const STALE_SECS: i64 = 300;

fn bad_key() -> ApiError {
    ApiError::field(
        "Idempotency-Key",
        domain::Violation::new(
            "idempotency.key_format",
            "Idempotency-Key 必须是 1–200 个可见 ASCII 字符（建议使用 UUID）",
            "Idempotency-Key must be 1–200 visible ASCII characters (a UUID is a good choice)",
        ),
    )
}

/// Who the key belongs to: the verified token's subject, or `anonymous`.
fn caller(req: &ServiceRequest, state: &AppState) -> String {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| {
            state
                .keys
                .verify::<crate::auth::principal::AccessClaims>(token.trim())
                .ok()
        })
        .map(|claims| claims.sub.to_string())
        .unwrap_or_else(|| "anonymous".into())
}

/// Only successes are remembered, and never one marked `no-store`: those carry
/// secrets (tokens, temporary passwords) that must not be kept.
fn remembered(response: &ServiceResponse<BoxBody>) -> bool {
    let status = response.status();
    let no_store = response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store"));
    (status.is_success() || status.is_redirection()) && !no_store
}

/// The middleware function.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // An unauthenticated call of a secured operation is refused by its handler
    // (401); idempotency does not apply to it.
    if req.headers().contains_key(&IDEMPOTENCY_KEY)
        && let Some(state) = req.app_data::<web::Data<AppState>>()
        && let Some(table) = req.app_data::<web::Data<crate::http::openapi::RouteTable>>()
        && table.is_secured(req.method().as_str(), req.path())
        && caller(&req, state) == "anonymous"
    {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let key = match req.headers().get(&IDEMPOTENCY_KEY) {
        Some(value) if req.method() == Method::POST => {
            value.to_str().ok().map(str::to_owned).ok_or_else(bad_key)
        }
        _ => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body);
        }
    };
    let key = match key {
        Ok(k) if !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()) => k,
        _ => return Ok(req.error_response(bad_key())),
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let mut payload = req.take_payload();
    let body = match read_body(req.request(), &mut payload).await {
        Ok(body) => body.freeze(),
        Err(e) => return Ok(req.error_response(e)),
    };
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update([0]);
    hasher.update(req.path());
    hasher.update([0]);
    hasher.update(req.query_string());
    hasher.update([0]);
    hasher.update(&body);
    let fingerprint = hasher.finalize().to_vec();
    let caller = caller(&req, &state);

    let claim = {
        let (caller, key, fingerprint) = (caller.clone(), key.clone(), fingerprint.clone());
        state
            .db(move |conn| {
                Ok(idempotency::claim(
                    conn,
                    &caller,
                    &key,
                    &fingerprint,
                    EXPIRE_SECS,
                    STALE_SECS,
                )?)
            })
            .await
    };
    match claim {
        Err(e) => return Ok(req.error_response(e)),
        Ok(Claim::Seen(row)) if row.fingerprint != fingerprint => {
            return Ok(req.error_response(ApiError::field(
                "Idempotency-Key",
                domain::Violation::new(
                    "idempotency.mismatch",
                    "该 Idempotency-Key 已用于另一个不同的请求",
                    "this Idempotency-Key was already used for a different request",
                ),
            )));
        }
        Ok(Claim::Seen(row)) => {
            let Some(status) = row.status else {
                let e = ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency.in_progress",
                    Msg::new("请求处理中", "Request in progress"),
                    Msg::new(
                        "使用同一 Idempotency-Key 的请求仍在处理中，请稍后重试",
                        "a request with this Idempotency-Key is still being handled; retry shortly",
                    ),
                )
                .with_retry_after(1);
                return Ok(req.error_response(e));
            };
            let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
            let mut response = HttpResponse::build(status);
            response.insert_header((REPLAYED, HeaderValue::from_static("true")));
            if let Some(ct) = row.content_type {
                response.insert_header((header::CONTENT_TYPE, ct));
            }
            if let Some(location) = row.location {
                response.insert_header((header::LOCATION, location));
            }
            if let Some(etag) = row.etag {
                response.insert_header((header::ETAG, etag));
            }
            let response = response.body(row.body.unwrap_or_default());
            return Ok(req.into_response(response));
        }
        Ok(Claim::Fresh) => {}
    }

    req.set_payload(Payload::from(body));
    let outcome = next.call(req).await;
    let response = match outcome {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            let (caller, key) = (caller.clone(), key.clone());
            let _ = state
                .db(move |conn| Ok(idempotency::release(conn, &caller, &key)?))
                .await;
            return Err(e);
        }
    };
    let status = response.status();
    if !remembered(&response) {
        let _ = state
            .db(move |conn| Ok(idempotency::release(conn, &caller, &key)?))
            .await;
        return Ok(response);
    }
    let (http_req, res) = response.into_parts();
    let (res, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let _ = state
                .db(move |conn| Ok(idempotency::release(conn, &caller, &key)?))
                .await;
            return Ok(ServiceResponse::new(
                http_req,
                ApiError::internal("response body unreadable").error_response(),
            ));
        }
    };
    let header_text = |name: HeaderName| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (content_type, location, etag) = (
        header_text(header::CONTENT_TYPE),
        header_text(header::LOCATION),
        header_text(header::ETAG),
    );
    let stored = bytes.clone();
    let saved = state
        .db(move |conn| {
            Ok(idempotency::complete(
                conn,
                &caller,
                &key,
                status.as_u16() as i16,
                content_type.as_deref(),
                location.as_deref(),
                etag.as_deref(),
                &stored,
            )?)
        })
        .await;
    if let Err(e) = saved {
        tracing::warn!(error = %e, "could not remember an idempotent answer");
    }
    Ok(ServiceResponse::new(
        http_req,
        res.set_body(BoxBody::new(bytes)),
    ))
}
