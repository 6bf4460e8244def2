//! The audit trail of prior degrees and applications: who, when, from, to, note.
//! Write it inside the transaction of the change it records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::DbError;
use crate::schema::history;

/// What a history row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A prior degree.
    PriorDegree,
    /// A certification application.
    CertificationApplication,
}

impl Entity {
    fn as_str(self) -> &'static str {
        match self {
            Entity::PriorDegree => "prior_degree",
            Entity::CertificationApplication => "certification_application",
        }
    }
}

/// One change.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = history)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct HistoryRow {
    /// Sequence number.
    pub id: i64,
    /// Who did it (None: the system).
    pub actor_id: Option<Uuid>,
    /// Their role.
    pub actor_role: String,
    /// What was done (`create`, `update`, `submit`, `verify`, …).
    pub action: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// A note (feedback, reason).
    pub note: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// The record.
    pub entity: Entity,
    /// Its id.
    pub entity_id: Uuid,
    /// Who.
    pub actor_id: Option<Uuid>,
    /// Their role.
    pub actor_role: &'a str,
    /// What.
    pub action: &'a str,
    /// Status before.
    pub from_status: Option<&'a str>,
    /// Status after.
    pub to_status: Option<&'a str>,
    /// A note.
    pub note: Option<&'a str>,
}

/// Records a change.
pub fn record(conn: &mut PgConnection, change: &Change<'_>) -> Result<(), DbError> {
    diesel::insert_into(history::table)
        .values((
            history::entity.eq(change.entity.as_str()),
            history::entity_id.eq(change.entity_id),
            history::actor_id.eq(change.actor_id),
            history::actor_role.eq(change.actor_role),
            history::action.eq(change.action),
            history::from_status.eq(change.from_status),
            history::to_status.eq(change.to_status),
            history::note.eq(change.note),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every change of a record, oldest first.
pub fn list(
    conn: &mut PgConnection,
    entity: Entity,
    entity_id: Uuid,
) -> Result<Vec<HistoryRow>, DbError> {
    Ok(history::table
        .filter(history::entity.eq(entity.as_str()))
        .filter(history::entity_id.eq(entity_id))
        .order(history::id.asc())
        .select(HistoryRow::as_select())
        .load(conn)?)
}
