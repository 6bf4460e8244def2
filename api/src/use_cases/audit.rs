//! The audit rows of a state change: a history row (who, when, from, to, note)
//! and, for changes the candidate hears about, an outbox notification. Call them
//! inside the transaction of the change they record.

use diesel::PgConnection;
use persistence::DbError;
use persistence::history::{self, Change, Entity};
use persistence::outbox::{self, NotificationKind};
use uuid::Uuid;

use crate::access::Actor;

/// What changed: the record, the action and the statuses before and after.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// Which kind of record.
    pub entity: Entity,
    /// The record's id.
    pub id: Uuid,
    /// The action's stable name (`create`, `submit`, `review` …).
    pub action: &'a str,
    /// The status before (none for a creation or a change that keeps it).
    pub from: Option<&'a str>,
    /// The status after.
    pub to: Option<&'a str>,
    /// A reason or feedback, if any.
    pub note: Option<&'a str>,
}

/// Writes the history row of `event`, done by `actor`.
pub fn record(conn: &mut PgConnection, actor: &Actor, event: &Event<'_>) -> Result<(), DbError> {
    history::record(
        conn,
        &Change {
            entity: event.entity,
            entity_id: event.id,
            actor_id: Some(actor.id),
            actor_role: actor.role.as_str(),
            action: event.action,
            from_status: event.from,
            to_status: event.to,
            note: event.note,
        },
    )
}

/// Queues a notification of `kind` for `candidate` with `payload`.
pub fn notify(
    conn: &mut PgConnection,
    kind: NotificationKind,
    candidate: Uuid,
    payload: &serde_json::Value,
) -> Result<(), DbError> {
    outbox::enqueue(conn, kind, candidate, payload).map(|_| ())
}
