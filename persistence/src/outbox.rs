//! The notification outbox: rows a delivery gateway reads, at least once, in order.

use diesel::prelude::*;
use uuid::Uuid;

use crate::DbError;
use crate::schema::outbox;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// A password-reset token for the candidate (R2).
    PasswordReset,
    /// A prior degree's verification result (R5).
    VerificationResult,
    /// A certification application's status change.
    ApplicationStatus,
}

impl NotificationKind {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::PasswordReset => "password_reset",
            NotificationKind::VerificationResult => "verification_result",
            NotificationKind::ApplicationStatus => "application_status",
        }
    }
}

/// Queues a notification; call it inside the transaction of the change it reports.
pub fn enqueue(
    conn: &mut PgConnection,
    kind: NotificationKind,
    recipient: Uuid,
    payload: &serde_json::Value,
) -> Result<i64, DbError> {
    Ok(diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(kind.as_str()),
            outbox::recipient_account_id.eq(recipient),
            outbox::payload.eq(payload),
        ))
        .returning(outbox::id)
        .get_result(conn)?)
}
