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
    /// Sign-in refused for a while after the account's daily failure limit.
    SignInThrottled,
}

impl NotificationKind {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::PasswordReset => "password_reset",
            NotificationKind::VerificationResult => "verification_result",
            NotificationKind::ApplicationStatus => "application_status",
            NotificationKind::SignInThrottled => "sign_in_throttled",
        }
    }

    /// The kind stored as `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        [
            NotificationKind::PasswordReset,
            NotificationKind::VerificationResult,
            NotificationKind::ApplicationStatus,
            NotificationKind::SignInThrottled,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

crate::stored_enum! {
    NotificationKind => |v| v.as_str(), NotificationKind::parse;
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

/// A pending notification with its recipient.
#[derive(Debug, Clone, Queryable)]
pub struct PendingNotification {
    /// Position in the outbox (increasing).
    pub id: i64,
    /// `password_reset`, `verification_result` or `application_status`.
    #[diesel(deserialize_as = crate::enums::Stored<NotificationKind>)]
    pub kind: NotificationKind,
    /// What to deliver.
    pub payload: serde_json::Value,
    /// When it was queued.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The recipient's account id.
    pub account_id: Uuid,
    /// The recipient's name.
    pub name: String,
    /// The recipient's mobile phone.
    pub phone: Option<String>,
    /// The recipient's exam number (candidates).
    pub exam_number: Option<String>,
}

/// Up to `limit` unacknowledged notifications with an id above `after`, in id order.
pub fn pending(
    conn: &mut PgConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<PendingNotification>, DbError> {
    use crate::schema::accounts;
    Ok(outbox::table
        .inner_join(accounts::table)
        .filter(outbox::acked_at.is_null())
        .filter(outbox::id.gt(after))
        .order(outbox::id.asc())
        .limit(limit)
        .select((
            outbox::id,
            outbox::kind,
            outbox::payload,
            outbox::created_at,
            accounts::id,
            accounts::name,
            accounts::phone,
            accounts::exam_number,
        ))
        .load(conn)?)
}

/// Marks a notification delivered; acknowledging again keeps the first time.
/// `DbError::NotFound` when there is no such notification.
pub fn ack(conn: &mut PgConnection, id: i64) -> Result<(), DbError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Timestamptz};
    let changed = diesel::update(outbox::table.find(id))
        .set(outbox::acked_at.eq(sql::<Nullable<Timestamptz>>("COALESCE(acked_at, now())")))
        .execute(conn)?;
    if changed == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}
