//! `Idempotency-Key` on POSTs: a retry with the same key and the same request
//! gets the first answer again (marked `Idempotent-Replayed: true`) instead of
//! acting twice; the same key with a different request is 422
//! `idempotency.mismatch`. Keys are per caller (account, or anonymous) and
//! remembered for 24 hours. Refusals are not remembered: the corrected request
//! can be sent with the same key. Answers that carry a secret ([`CarriesSecret`]:
//! tokens, temporary passwords, service-account secrets) are never stored.
//!
//! The key is part of the change it guards. The middleware puts a [`Pending`]
//! key in the request's task; the handler's one state change
//! ([`AppState::change`]) opens a transaction, claims the key in it, runs the use
//! case and leaves the transaction open; the middleware then stores the answer
//! (or forgets the key, for a refusal or a secret) and commits. So after a crash
//! or a lost commit acknowledgement there is either nothing (the retry runs once)
//! or a stored answer (the retry replays it), and a concurrent duplicate waits on
//! the key until the first commits, then replays its answer.

use std::sync::{Arc, Mutex};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError, web};
use diesel::PgConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::{ConnectionManager, PooledConnection};
use persistence::DbPool;
use persistence::idempotency::{self, Claim, IdempotencyRow};
use sha2::{Digest, Sha256};

use crate::http::extract::read_body;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a replayed answer.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

const EXPIRE_SECS: i64 = 24 * 3600;

type Conn = PooledConnection<ConnectionManager<PgConnection>>;

/// Marks an answer that carries a secret: it is never stored for replay, and its
/// key is forgotten (a retry acts again; a lost secret is replaced, not re-shown).
#[derive(Debug, Clone, Copy)]
pub struct CarriesSecret;

/// Marks `response` as carrying a secret (see [`CarriesSecret`]).
pub fn carries_secret(mut response: HttpResponse) -> HttpResponse {
    response.extensions_mut().insert(CarriesSecret);
    response
}

/// Where the guarded change stands.
enum Slot {
    /// No change has run yet.
    Idle,
    /// The change ran; its transaction, with the claimed key, is still open.
    Open(Conn),
    /// The key was used before for this request: answer with it.
    Replay(IdempotencyRow),
    /// Finished.
    Done,
}

/// The key of the request being handled.
pub struct Pending {
    caller: String,
    key: String,
    fingerprint: Vec<u8>,
    slot: Mutex<Slot>,
}

tokio::task_local! {
    static PENDING: Arc<Pending>;
}

/// The key of the request this task handles, if it carries one.
pub fn pending() -> Option<Arc<Pending>> {
    PENDING.try_with(Arc::clone).ok()
}

fn mismatch() -> ApiError {
    ApiError::field(
        "Idempotency-Key",
        domain::Violation::new(
            "idempotency.mismatch",
            "该 Idempotency-Key 已用于另一个不同的请求",
            "this Idempotency-Key was already used for a different request",
        ),
    )
}

fn replayed() -> ApiError {
    ApiError::internal("replayed: the middleware answers with the stored response")
}

fn rollback(mut conn: Conn) {
    let _ = AnsiTransactionManager::rollback_transaction(&mut *conn);
}

/// Runs `work` in a savepoint of the open transaction. What it wrote stays, also
/// when it answers a refusal (a failed sign-in counts), unless a statement failed
/// and aborted the savepoint (a unique violation …): then the savepoint is rolled
/// back and the transaction, with the claimed key, stays usable.
fn in_savepoint<T>(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    use diesel::connection::SimpleConnection;
    // A savepoint of our own (Diesel's nested transactions of the use case go
    // inside it): releasing it fails only when a statement aborted it.
    conn.batch_execute("SAVEPOINT guarded_change")
        .map_err(persistence::DbError::from)?;
    let outcome = work(conn);
    if let Err(e) = conn.batch_execute("RELEASE SAVEPOINT guarded_change") {
        let restored = conn.batch_execute("ROLLBACK TO SAVEPOINT guarded_change");
        if outcome.is_ok() {
            return Err(persistence::DbError::from(e).into());
        }
        if let Err(e) = restored {
            return Err(persistence::DbError::from(e).into());
        }
    }
    outcome
}

impl Pending {
    /// Runs `work` in the transaction that claims the key (opening it on the first
    /// change of the request) and keeps the transaction open for [`finish`].
    pub fn run<T>(
        &self,
        pool: &DbPool,
        work: impl FnOnce(&mut PgConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        let mut conn = match std::mem::replace(&mut *slot, Slot::Done) {
            Slot::Open(conn) => conn,
            Slot::Idle => {
                let mut conn = pool
                    .get()
                    .map_err(|e| ApiError::unavailable(e.to_string()))?;
                AnsiTransactionManager::begin_transaction(&mut *conn)
                    .map_err(persistence::DbError::from)?;
                let claim = idempotency::claim(
                    &mut conn,
                    &self.caller,
                    &self.key,
                    &self.fingerprint,
                    EXPIRE_SECS,
                );
                match claim {
                    Ok(Claim::Fresh) => conn,
                    Ok(Claim::Seen(row)) => {
                        rollback(conn);
                        if row.fingerprint != self.fingerprint {
                            return Err(mismatch());
                        }
                        *slot = Slot::Replay(row);
                        return Err(replayed());
                    }
                    Err(e) => {
                        rollback(conn);
                        return Err(e.into());
                    }
                }
            }
            other => {
                *slot = other;
                return Err(ApiError::internal("a change after the request finished"));
            }
        };
        let outcome = in_savepoint(&mut conn, work);
        *slot = Slot::Open(conn);
        outcome
    }
}

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
                .verify_access::<crate::auth::principal::AccessClaims>(token.trim())
                .ok()
        })
        .map(|claims| claims.sub.to_string())
        .unwrap_or_else(|| "anonymous".into())
}

/// Only successes are remembered, and never one carrying a secret.
fn remembered(response: &ServiceResponse<BoxBody>) -> bool {
    let status = response.status();
    let secret = response
        .response()
        .extensions()
        .get::<CarriesSecret>()
        .is_some();
    (status.is_success() || status.is_redirection()) && !secret
}

fn replay(row: IdempotencyRow) -> HttpResponse {
    let status = row
        .status
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
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
    response.body(row.body.unwrap_or_default())
}

/// The key and the request's fingerprint, when it is a POST with a valid key.
enum Keyed {
    /// Not a POST with a key: idempotency does not apply.
    No,
    /// A malformed key.
    Bad,
    /// A key.
    Yes(String),
}

fn keyed(req: &ServiceRequest) -> Keyed {
    match req.headers().get(&IDEMPOTENCY_KEY) {
        Some(value) if req.method() == Method::POST => match value.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()) => {
                Keyed::Yes(k.to_owned())
            }
            _ => Keyed::Bad,
        },
        _ => Keyed::No,
    }
}

fn fingerprint(req: &ServiceRequest, body: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update([0]);
    hasher.update(req.path());
    hasher.update([0]);
    hasher.update(req.query_string());
    hasher.update([0]);
    hasher.update(body);
    hasher.finalize().to_vec()
}

/// An answer to remember: status, content type, location, ETag and body.
type Answer<'a> = (i16, [Option<String>; 3], &'a [u8]);

/// Stores the answer (or forgets the key) and commits the change.
fn commit(
    mut conn: Conn,
    pending: &Pending,
    answer: Option<Answer<'_>>,
) -> Result<(), persistence::DbError> {
    let (caller, key) = (pending.caller.as_str(), pending.key.as_str());
    let stored = match answer {
        Some((status, [content_type, location, etag], body)) => idempotency::complete(
            &mut conn,
            caller,
            key,
            status,
            content_type.as_deref(),
            location.as_deref(),
            etag.as_deref(),
            body,
        ),
        None => idempotency::release(&mut conn, caller, key),
    };
    if let Err(e) = stored {
        rollback(conn);
        return Err(e);
    }
    AnsiTransactionManager::commit_transaction(&mut *conn).map_err(persistence::DbError::from)
}

/// The middleware function.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let keyed = keyed(&req);
    if matches!(keyed, Keyed::No) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let caller = caller(&req, &state);
    // An unauthenticated call of a secured operation is refused by its handler
    // (401), whatever its key; idempotency does not apply to it.
    if caller == "anonymous"
        && let Some(table) = req.app_data::<web::Data<crate::http::openapi::RouteTable>>()
        && table.is_secured(req.method().as_str(), req.path())
    {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let Keyed::Yes(key) = keyed else {
        return Ok(req.error_response(bad_key()));
    };
    let mut payload = req.take_payload();
    let body = match read_body(req.request(), &mut payload).await {
        Ok(body) => body.freeze(),
        Err(e) => return Ok(req.error_response(e)),
    };
    let fingerprint = fingerprint(&req, &body);
    // A remembered answer is replayed without waiting for a connection to write.
    let seen = {
        let (caller, key) = (caller.clone(), key.clone());
        state
            .db(move |conn| Ok(idempotency::find(conn, &caller, &key, EXPIRE_SECS)?))
            .await
    };
    // A row without an answer is a leftover the claim clears.
    match seen.map(|row| row.filter(|r| r.status.is_some())) {
        Err(e) => return Ok(req.error_response(e)),
        Ok(Some(row)) if row.fingerprint != fingerprint => {
            return Ok(req.error_response(mismatch()));
        }
        Ok(Some(row)) => return Ok(req.into_response(replay(row))),
        Ok(None) => {}
    }
    let pending = Arc::new(Pending {
        caller,
        key,
        fingerprint,
        slot: Mutex::new(Slot::Idle),
    });
    req.set_payload(Payload::from(body));
    let outcome = PENDING.scope(pending.clone(), next.call(req)).await;
    let slot = {
        let mut slot = pending.slot.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *slot, Slot::Done)
    };
    let response = match (outcome, slot) {
        (Ok(response), Slot::Replay(row)) => {
            let (http_req, _) = response.into_parts();
            return Ok(ServiceResponse::new(http_req, replay(row)));
        }
        (Ok(response), Slot::Open(conn)) => (response.map_into_boxed_body(), conn),
        (Ok(response), _) => return Ok(response.map_into_boxed_body()),
        (Err(e), Slot::Open(conn)) => {
            // The handler failed after its change: keep the change, forget the key.
            let pending = pending.clone();
            let _ = web::block(move || commit(conn, &pending, None)).await;
            return Err(e);
        }
        (Err(e), _) => return Err(e),
    };
    finish(response, pending).await
}

/// Stores a remembered answer and commits; a commit that fails answers 503 (the
/// change may or may not have committed: the retry with the same key finds the
/// stored answer, or runs once).
async fn finish(
    (response, conn): (ServiceResponse<BoxBody>, Conn),
    pending: Arc<Pending>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let status = response.status();
    let remember = remembered(&response);
    let (http_req, res) = response.into_parts();
    let (res, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            rollback(conn);
            let e = ApiError::internal("response body unreadable");
            return Ok(ServiceResponse::new(http_req, e.error_response()));
        }
    };
    let header_text = |name: HeaderName| {
        (res.headers().get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let headers = [
        header_text(header::CONTENT_TYPE),
        header_text(header::LOCATION),
        header_text(header::ETAG),
    ];
    let stored = bytes.clone();
    let committed = web::block(move || {
        let answer = remember.then_some((status.as_u16() as i16, headers, &stored[..]));
        commit(conn, &pending, answer)
    })
    .await;
    match committed {
        Ok(Ok(())) => Ok(ServiceResponse::new(
            http_req,
            res.set_body(BoxBody::new(bytes)),
        )),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the guarded change did not commit");
            let e = ApiError::unavailable(format!("commit failed: {e}"));
            Ok(ServiceResponse::new(http_req, e.error_response()))
        }
        Err(e) => Err(e.into()),
    }
}
