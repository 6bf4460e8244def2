//! Rounds: a prior-degree window, a certification window and a pledge, pinned to the
//! catalogue version current when the round was created (R3, R6, R18).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::Violation;
use domain::window::{Pledge, Window};
use uuid::Uuid;

use crate::DbError;
use crate::schema::rounds;

/// A round as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundRecord {
    /// Round id (UUIDv7).
    pub id: Uuid,
    /// Human name, e.g. `2018年下半年`.
    pub name: String,
    /// When prior-degree applications are accepted (R6).
    pub prior_degree_window: Window,
    /// When certification applications are accepted (R18).
    pub certification_window: Window,
    /// The pledge to accept before a prior-degree application (R3).
    pub pledge: Pledge,
    /// The catalogue version the round is pinned to.
    pub catalog_version_id: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the ETag.
    pub version: i32,
}

impl RoundRecord {
    /// Whether either window is open at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.prior_degree_window.is_open(now) || self.certification_window.is_open(now)
    }

    /// The latest opening instant among the windows open at `now`.
    fn opened_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        [self.prior_degree_window, self.certification_window]
            .into_iter()
            .filter(|w| w.is_open(now))
            .map(|w| w.opens_at())
            .max()
    }
}

/// What a new round needs (checked domain values only).
#[derive(Debug, Clone)]
pub struct NewRound {
    /// Human name (1–100 characters, see [`domain::window::Round::check_name`]).
    pub name: String,
    /// Prior-degree window.
    pub prior_degree_window: Window,
    /// Certification window.
    pub certification_window: Window,
    /// Pledge.
    pub pledge: Pledge,
}

/// A partial change to a round; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct RoundChanges {
    /// New name.
    pub name: Option<String>,
    /// New prior-degree window.
    pub prior_degree_window: Option<Window>,
    /// New certification window.
    pub certification_window: Option<Window>,
    /// New pledge.
    pub pledge: Option<Pledge>,
}

/// The result of an optimistic update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Applied; the round as it is now.
    Updated(RoundRecord),
    /// The caller's version is not the stored one (412); nothing changed.
    Stale {
        /// The stored version.
        current_version: i32,
    },
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = rounds)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct Row {
    id: Uuid,
    name: String,
    prior_degree_opens_at: DateTime<Utc>,
    prior_degree_closes_at: DateTime<Utc>,
    certification_opens_at: DateTime<Utc>,
    certification_closes_at: DateTime<Utc>,
    pledge_version: String,
    pledge_text: String,
    catalog_version_id: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
}

fn corrupt(id: Uuid, v: Violation) -> DbError {
    DbError::Other(format!("round {id} is corrupt: {v}"))
}

impl TryFrom<Row> for RoundRecord {
    type Error = DbError;
    fn try_from(row: Row) -> Result<Self, DbError> {
        let id = row.id;
        Ok(Self {
            id,
            name: row.name,
            prior_degree_window: Window::new(row.prior_degree_opens_at, row.prior_degree_closes_at)
                .map_err(|v| corrupt(id, v))?,
            certification_window: Window::new(
                row.certification_opens_at,
                row.certification_closes_at,
            )
            .map_err(|v| corrupt(id, v))?,
            pledge: Pledge::new(&row.pledge_version, &row.pledge_text)
                .map_err(|v| corrupt(id, v))?,
            catalog_version_id: row.catalog_version_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

fn to_row(r: &RoundRecord) -> Row {
    Row {
        id: r.id,
        name: r.name.trim().to_owned(),
        prior_degree_opens_at: r.prior_degree_window.opens_at(),
        prior_degree_closes_at: r.prior_degree_window.closes_at(),
        certification_opens_at: r.certification_window.opens_at(),
        certification_closes_at: r.certification_window.closes_at(),
        pledge_version: r.pledge.version().to_owned(),
        pledge_text: r.pledge.text().to_owned(),
        catalog_version_id: r.catalog_version_id,
        created_at: r.created_at,
        updated_at: r.updated_at,
        version: r.version,
    }
}

/// Creates a round pinned to the current catalogue version. `NotFound` when no
/// catalogue has been imported yet (a round without rules is meaningless).
pub fn create(
    conn: &mut PgConnection,
    new: &NewRound,
    now: DateTime<Utc>,
) -> Result<RoundRecord, DbError> {
    conn.transaction(|conn| {
        let catalog_version_id =
            crate::catalog::current_version_id(conn)?.ok_or(DbError::NotFound)?;
        let record = RoundRecord {
            id: Uuid::now_v7(),
            name: new.name.trim().to_owned(),
            prior_degree_window: new.prior_degree_window,
            certification_window: new.certification_window,
            pledge: new.pledge.clone(),
            catalog_version_id,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        diesel::insert_into(rounds::table)
            .values(to_row(&record))
            .execute(conn)?;
        // Read back what was stored (Postgres keeps microseconds, not nanoseconds).
        get(conn, record.id)
    })
}

/// Applies `changes` if the stored version is `expected_version` (optimistic
/// concurrency), bumping the version. `NotFound` for an unknown id.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    changes: &RoundChanges,
    now: DateTime<Utc>,
) -> Result<UpdateOutcome, DbError> {
    conn.transaction(|conn| {
        let row: Row = rounds::table
            .find(id)
            .select(Row::as_select())
            .for_update()
            .first(conn)?;
        let mut record = RoundRecord::try_from(row)?;
        if record.version != expected_version {
            return Ok(UpdateOutcome::Stale {
                current_version: record.version,
            });
        }
        if let Some(name) = &changes.name {
            record.name = name.trim().to_owned();
        }
        if let Some(w) = changes.prior_degree_window {
            record.prior_degree_window = w;
        }
        if let Some(w) = changes.certification_window {
            record.certification_window = w;
        }
        if let Some(p) = &changes.pledge {
            record.pledge = p.clone();
        }
        record.updated_at = now;
        record.version += 1;
        let row = to_row(&record);
        diesel::update(rounds::table.find(id))
            .set((
                rounds::name.eq(row.name),
                rounds::prior_degree_opens_at.eq(row.prior_degree_opens_at),
                rounds::prior_degree_closes_at.eq(row.prior_degree_closes_at),
                rounds::certification_opens_at.eq(row.certification_opens_at),
                rounds::certification_closes_at.eq(row.certification_closes_at),
                rounds::pledge_version.eq(row.pledge_version),
                rounds::pledge_text.eq(row.pledge_text),
                rounds::updated_at.eq(row.updated_at),
                rounds::version.eq(row.version),
            ))
            .execute(conn)?;
        get(conn, id).map(UpdateOutcome::Updated)
    })
}

/// One page of rounds, newest first, and the total.
pub fn list(
    conn: &mut PgConnection,
    offset: i64,
    limit: i64,
) -> Result<(Vec<RoundRecord>, i64), DbError> {
    let rows: Vec<Row> = rounds::table
        .order(rounds::id.desc())
        .offset(offset)
        .limit(limit)
        .select(Row::as_select())
        .load(conn)?;
    let total = rounds::table.count().get_result(conn)?;
    let records = rows
        .into_iter()
        .map(RoundRecord::try_from)
        .collect::<Result<_, _>>()?;
    Ok((records, total))
}

/// The round with this id.
pub fn get(conn: &mut PgConnection, id: Uuid) -> Result<RoundRecord, DbError> {
    rounds::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?
        .try_into()
}

/// The current round: among the rounds with a window open at `now`, the one whose
/// open window opened most recently (ties: the newest round). `None` when no window
/// is open.
pub fn current(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Option<RoundRecord>, DbError> {
    let open_pd = rounds::prior_degree_opens_at
        .le(now)
        .and(rounds::prior_degree_closes_at.ge(now));
    let open_cert = rounds::certification_opens_at
        .le(now)
        .and(rounds::certification_closes_at.ge(now));
    let rows: Vec<Row> = rounds::table
        .filter(open_pd.or(open_cert))
        .select(Row::as_select())
        .load(conn)?;
    let mut open = rows
        .into_iter()
        .map(RoundRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    open.sort_by_key(|r| (r.opened_at(now), r.id));
    Ok(open.pop())
}
