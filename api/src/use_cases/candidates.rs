//! Candidate accounts as school staff and admins see them (R19): search, and one
//! candidate with what they have done so far.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::account::Role;
use persistence::accounts::{self, AccountRow};
use persistence::candidates::{self, CandidateFilter};
use uuid::Uuid;

use crate::access::{Actor, Owner};
use crate::catalog_cache::CatalogCache;
use crate::use_cases::applications::{self, Application};
use crate::use_cases::prior_degrees::{self, Shown};
use crate::use_cases::{Outcome, Refusal};

/// A candidate with their prior degrees and applications, newest first.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The account.
    pub account: AccountRow,
    /// Prior degrees (at most 200), as the actor may act on them.
    pub prior_degrees: Vec<Shown>,
    /// Certification applications (at most 200).
    pub applications: Vec<Application>,
}

fn no_such_candidate() -> Refusal {
    Refusal::not_found("考生不存在", "no such candidate")
}

/// The candidate account `id` if the actor manages it (staff of the candidate's
/// school, admins); 404 for anyone else, an unknown id or a non-candidate account.
pub fn require_manager(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Outcome<AccountRow> {
    let row = match accounts::find(conn, id) {
        Err(persistence::DbError::NotFound) => return Err(no_such_candidate()),
        other => other?,
    };
    let managed = actor.can_manage_candidate(Owner::new(id, row.school_code.as_deref()));
    if row.role != Role::Candidate.as_str() || !managed {
        return Err(no_such_candidate());
    }
    Ok(row)
}

/// One page of the candidates the actor may see (staff: their school's; asking for
/// another school: none), matching `q`, by exam number, and the total.
pub fn search(
    conn: &mut PgConnection,
    actor: &Actor,
    (school, q): (Option<&str>, Option<String>),
    (offset, limit): (i64, i64),
) -> Outcome<(Vec<AccountRow>, i64)> {
    let filter = CandidateFilter {
        visibility: actor.scope(school),
        q,
    };
    Ok(candidates::search(conn, &filter, offset, limit)?)
}

/// One candidate the actor manages, with prior degrees and applications.
pub fn detail(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    now: DateTime<Utc>,
    id: Uuid,
) -> Outcome<Detail> {
    let account = require_manager(conn, actor, id)?;
    Ok(Detail {
        prior_degrees: prior_degrees::of_candidate(conn, actor, now, id)?,
        applications: applications::of_candidate(conn, actor, cache, id)?,
        account,
    })
}
