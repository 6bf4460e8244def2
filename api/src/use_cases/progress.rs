//! A candidate's progress over their plan: every course certified, pending,
//! certifiable (by which route) or to be examined, and where its exam is
//! registered (R16). Uses the current round's catalogue version, else the current
//! catalogue.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::catalog::MajorCode;
use domain::eligibility::{self, Eligibility, PriorDegreeFacts, Standing};
use persistence::DbError;
use persistence::accounts::{self, AccountRow};
use persistence::applications as store;
use uuid::Uuid;

use crate::access::{Actor, Owner};
use crate::catalog_cache::CatalogCache;
use crate::use_cases::{Outcome, Refusal};

/// One course of the plan and where it stands.
#[derive(Debug, Clone)]
pub struct CourseProgress {
    /// The course, its route and why.
    pub eligibility: Eligibility,
    /// Where it stands.
    pub standing: Standing,
    /// The application holding it (certified or pending).
    pub application_id: Option<Uuid>,
}

/// The progress over the plan.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The self-study major.
    pub major_code: MajorCode,
    /// Its name.
    pub major_name: String,
    /// The effective prior degree used for degree routes, if any.
    pub prior_degree_id: Option<Uuid>,
    /// The catalogue version the answer comes from.
    pub catalog_version_id: i64,
    /// Every course of the plan, in plan order.
    pub courses: Vec<CourseProgress>,
}

fn no_major() -> Refusal {
    Refusal::not_found("目录中没有您的专业", "your major is not in the catalogue")
}

/// The signed-in candidate's own progress.
pub fn own(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    now: DateTime<Utc>,
) -> Outcome<Progress> {
    let account = accounts::find(conn, actor.id)?;
    of_account(conn, cache, &account, now)
}

/// The progress of candidate `id`, for whoever may read the candidate (the
/// candidate, staff of their school, admins); 404 for anyone else.
pub fn of_candidate(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    id: Uuid,
    now: DateTime<Utc>,
) -> Outcome<Progress> {
    let account = match accounts::find(conn, id) {
        Err(DbError::NotFound) => {
            return Err(Refusal::not_found("考生不存在", "no such candidate"));
        }
        other => other?,
    };
    if !actor.can_read_candidate(Owner::new(id, account.school_code.as_deref())) {
        return Err(Refusal::not_found("考生不存在", "no such candidate"));
    }
    of_account(conn, cache, &account, now)
}

fn of_account(
    conn: &mut PgConnection,
    cache: &CatalogCache,
    account: &AccountRow,
    now: DateTime<Utc>,
) -> Outcome<Progress> {
    let catalog = match persistence::rounds::current(conn, now)? {
        Some(round) => cache.version(conn, round.catalog_version_id)?,
        None => cache.current().ok_or_else(no_major)?,
    };
    let major =
        MajorCode::parse(account.major_code.as_deref().unwrap_or("")).map_err(|_| no_major())?;
    let major_name = catalog
        .catalog
        .major(&major)
        .ok_or_else(no_major)?
        .name
        .clone();
    let prior = store::effective_prior_degree(conn, account.id)?;
    let facts = prior.as_ref().map(|p| PriorDegreeFacts {
        level: p.level,
        major_name: p.major_name.clone(),
        education_type: p.education_type,
    });
    let list = eligibility::eligibility(&catalog.catalog, &major, facts.as_ref())
        .map_err(|_| no_major())?;
    let held: HashMap<String, store::HeldRow> = store::held_courses(conn, account.id, None)?
        .into_iter()
        .map(|h| (h.course_code.clone(), h))
        .collect();
    let courses = (list.into_iter())
        .map(|eligibility| {
            let holding = held.get(&eligibility.course_code.to_string());
            let approved = holding.map(|h| h.decision.as_deref() == Some("approved"));
            CourseProgress {
                standing: Standing::of(approved, eligibility.route),
                application_id: holding.map(|h| h.application_id),
                eligibility,
            }
        })
        .collect();
    Ok(Progress {
        major_code: major,
        major_name,
        prior_degree_id: prior.map(|p| p.id),
        catalog_version_id: catalog.id,
        courses,
    })
}
