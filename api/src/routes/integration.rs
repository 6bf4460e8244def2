//! What integration scripts (service accounts) read: the notification outbox.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use persistence::outbox::{NotificationKind as Stored, PendingNotification};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::auth::principal::IntegrationUser;
use crate::http::extract::ApiQuery;
use crate::http::pagination::validation_problem;
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::use_cases::outbox;

/// Where to continue reading the outbox.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// The last id already seen (exclusive); absent: from the start.
    #[param(minimum = 0, example = 41)]
    #[validate(range(min = 0))]
    pub after: Option<i64>,
    /// How many notifications, 1 to 500.
    #[param(minimum = 1, maximum = 500, default = 100, example = 100)]
    #[validate(range(min = 1, max = 500))]
    pub limit: Option<i64>,
}

/// `password_reset`, `verification_result`, `application_status` or
/// `sign_in_throttled`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A password-reset token for the account (R2); `payload.token` is secret.
    PasswordReset,
    /// A prior degree's verification result (R5).
    VerificationResult,
    /// A certification application's status changed.
    ApplicationStatus,
    /// The account's sign-in is refused for 15 minutes after 50 failures in
    /// 24 hours; `payload.blocked_until` says until when.
    SignInThrottled,
}

impl From<Stored> for NotificationKind {
    fn from(kind: Stored) -> Self {
        match kind {
            Stored::PasswordReset => Self::PasswordReset,
            Stored::VerificationResult => Self::VerificationResult,
            Stored::ApplicationStatus => Self::ApplicationStatus,
            Stored::SignInThrottled => Self::SignInThrottled,
        }
    }
}

/// Who a notification is for.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recipient {
    /// The account id.
    pub account_id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Mobile phone to deliver to, if the account has one.
    pub phone: Option<String>,
    /// Exam number (candidates).
    pub exam_number: Option<String>,
}

/// A notification to deliver.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    /// Position in the outbox; increasing; acknowledge with it.
    pub id: i64,
    /// What it is about.
    pub kind: NotificationKind,
    /// Who it is for.
    pub recipient: Recipient,
    /// What to tell them; its fields depend on `kind` (a password reset has
    /// `token`, `expires_at`, `name`, `phone`).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// A batch of notifications.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "items": [{
        "id": 42, "kind": "password_reset",
        "recipient": {"account_id": "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", "name": "张三",
                      "phone": "13800138000", "exam_number": "010118200123"},
        "payload": {"token": "Zt2w9nq4yJm0b1s7cV3xR8pL5kD6fH2gA9eU4iO0tQw",
                    "expires_at": "2026-03-01T10:00:00Z", "name": "张三", "phone": "13800138000"},
        "created_at": "2026-03-01T09:30:00Z"
    }],
    "next_cursor": 42
}))]
pub struct OutboxPage {
    /// Unacknowledged notifications, in id order.
    pub items: Vec<Notification>,
    /// Pass as `after` to read on: the last id returned, or the `after` given
    /// when nothing was returned (null when neither).
    pub next_cursor: Option<i64>,
}

impl From<PendingNotification> for Notification {
    fn from(row: PendingNotification) -> Self {
        Self {
            id: row.id,
            kind: row.kind.into(),
            recipient: Recipient {
                account_id: row.account_id,
                name: row.name,
                phone: row.phone,
                exam_number: row.exam_number,
            },
            payload: row.payload,
            created_at: row.created_at,
        }
    }
}

/// Reads notifications to deliver (SMS, e-mail): password-reset tokens,
/// verification results and application status changes.
///
/// Service accounts with scope `outbox:read` only. Delivery is **at least
/// once**: a notification is returned, in id order, until it is acknowledged
/// with `POST /integration/outbox/{id}/ack`, so a gateway that crashes between
/// sending and acknowledging sends it again (deduplicate by `id`). `after` pages
/// through one pass; start each new pass without `after`, so that nothing
/// unacknowledged is missed (a notification whose transaction committed late
/// may carry an id below one already seen).
#[utoipa::path(
    tag = "integration",
    operation_id = "read_outbox",
    params(OutboxQuery),
    security(("bearer" = ["integration"])),
    responses(
        (status = 200, description = "Unacknowledged notifications after the cursor (`Cache-Control: no-store`).", body = OutboxPage),
    )
)]
#[get("/integration/outbox")]
pub async fn read_outbox(
    user: IntegrationUser,
    state: web::Data<AppState>,
    query: ApiQuery<OutboxQuery>,
) -> Result<HttpResponse, ApiError> {
    outbox::require_reader(&user.0)?;
    let query = query.0;
    query.validate().map_err(validation_problem)?;
    let (after, limit) = (query.after, query.limit.unwrap_or(100));
    let rows = state
        .db(move |conn| Ok(outbox::pending(conn, &user.0, after, limit)?))
        .await?;
    let next_cursor = rows.last().map(|r| r.id).or(after);
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(OutboxPage {
            items: rows.into_iter().map(Notification::from).collect(),
            next_cursor,
        }))
}

/// Acknowledges a delivered notification; it is not returned again.
///
/// Idempotent: acknowledging twice is 204 both times (the first time is kept).
/// Service accounts with scope `outbox:read` only.
#[utoipa::path(
    tag = "integration",
    operation_id = "ack_outbox",
    params(("id" = i64, Path, description = "The notification's id.", example = 42, minimum = 1)),
    security(("bearer" = ["integration"])),
    responses(
        (status = 204, description = "Acknowledged (or already acknowledged)."),
        (status = 404, description = "`not_found`: no notification has this id.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/integration/outbox/{id}/ack")]
pub async fn ack_outbox(
    user: IntegrationUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    outbox::require_reader(&user.0)?;
    let id: i64 = id.parse().map_err(|_| {
        ApiError::field(
            "id",
            domain::Violation::new(
                "id.format",
                "编号必须是正整数",
                "the id must be a positive integer",
            ),
        )
    })?;
    state
        .change(move |conn| Ok(outbox::ack(conn, &user.0, id)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
