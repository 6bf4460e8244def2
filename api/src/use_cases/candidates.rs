//! Candidate accounts as school staff and admins see them (R19): search, and one
//! candidate with what they have done so far.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::Violation;
use domain::account::{Role, SchoolCode};
use persistence::accounts::{self, AccountRow};
use persistence::candidates::{self, CandidateFilter};
use uuid::Uuid;

use crate::access::{Actor, Owner};
use crate::catalog_cache::CatalogCache;
use crate::use_cases::applications::{self, Application};
use crate::use_cases::prior_degrees::{self, Shown};
use crate::use_cases::progress::{self, Progress};
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
    /// Progress over the plan; none when the candidate's major is not in the
    /// catalogue.
    pub progress: Option<Progress>,
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
    if row.role != Role::Candidate || !managed {
        return Err(no_such_candidate());
    }
    Ok(row)
}

/// The longest search text.
pub const MAX_Q_CHARS: usize = 50;

fn blank_is_none(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// One page of the candidates the actor may see (staff: their school's; asking for
/// another school: none), matching `q`, by exam number, and the total. Blank `q`
/// and `school` mean none; `q` has at most [`MAX_Q_CHARS`] characters (`q.length`),
/// `school` is a school code.
pub fn search(
    conn: &mut PgConnection,
    actor: &Actor,
    (school, q): (Option<&str>, Option<&str>),
    (offset, limit): (i64, i64),
) -> Outcome<(Vec<AccountRow>, i64)> {
    let q = blank_is_none(q);
    if q.is_some_and(|q| q.chars().count() > MAX_Q_CHARS) {
        return Err(Refusal::field(
            "q",
            Violation::new(
                "q.length",
                format!("搜索内容最多 {MAX_Q_CHARS} 个字符"),
                format!("the search text has at most {MAX_Q_CHARS} characters"),
            ),
        ));
    }
    let school = blank_is_none(school)
        .map(|c| SchoolCode::parse(c).map_err(|v| Refusal::field("school_code", v)))
        .transpose()?;
    let filter = CandidateFilter {
        visibility: actor.scope(school.as_ref().map(SchoolCode::as_str)),
        q: q.map(str::to_owned),
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
    let progress = match progress::of_candidate(conn, actor, cache, id, now) {
        Ok(progress) => Some(progress),
        Err(Refusal::NotFound(_)) => None,
        Err(other) => return Err(other),
    };
    Ok(Detail {
        progress,
        prior_degrees: prior_degrees::of_candidate(conn, actor, now, id)?,
        applications: applications::of_candidate(conn, actor, cache, id)?,
        account,
    })
}
