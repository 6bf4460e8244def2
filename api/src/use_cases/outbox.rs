//! The notification outbox as gateways read it (SMS, e-mail): at-least-once
//! delivery, in id order, until acknowledged. Service accounts with `outbox:read`
//! only.

use diesel::PgConnection;
use persistence::DbError;
use persistence::outbox::{self, PendingNotification};

use crate::access::Actor;
use crate::use_cases::{Outcome, Refusal};

/// Refuses (403) an actor who may not read the outbox; the use cases below check it
/// too, handlers call it first so that a caller without the scope learns nothing
/// about their input.
pub fn require_reader(actor: &Actor) -> Outcome<()> {
    match actor.can_read_outbox() {
        true => Ok(()),
        false => Err(Refusal::Forbidden),
    }
}

/// Up to `limit` unacknowledged notifications with an id above `after` (none:
/// from the start), in id order.
pub fn pending(
    conn: &mut PgConnection,
    actor: &Actor,
    after: Option<i64>,
    limit: i64,
) -> Outcome<Vec<PendingNotification>> {
    require_reader(actor)?;
    Ok(outbox::pending(conn, after.unwrap_or(0), limit)?)
}

/// Acknowledges notification `id` (again: no change); 404 for an unknown id.
pub fn ack(conn: &mut PgConnection, actor: &Actor, id: i64) -> Outcome<()> {
    require_reader(actor)?;
    super::transaction(conn, |conn| match outbox::ack(conn, id) {
        Err(DbError::NotFound) => Err(Refusal::not_found("通知不存在", "no such notification")),
        other => Ok(other?),
    })
}
