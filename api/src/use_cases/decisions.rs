//! The review's decision of an application, as the signed decision document states
//! it (R20). Course names come from the catalogue version the application's round
//! is pinned to, not from the current one: a later catalogue that renames a course
//! does not change what was decided.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::CourseCode;
use domain::application::ApplicationStatus;
use persistence::DbError;
use persistence::applications as store;
use uuid::Uuid;

use crate::access::{Actor, Owner};
use crate::catalog_cache::CatalogCache;
use crate::use_cases::{Outcome, Refusal};

/// One decided course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedCourse {
    /// Course code.
    pub course_code: String,
    /// Its name in the round's catalogue version.
    pub course_name: Option<String>,
    /// `approved` or `rejected`.
    pub decision: String,
    /// The reason given, if any.
    pub reason: Option<String>,
}

/// A reviewed application's decision.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The application.
    pub application_id: Uuid,
    /// The candidate's exam number (empty if none).
    pub exam_number: String,
    /// The candidate's name.
    pub candidate_name: String,
    /// The round.
    pub round_id: Uuid,
    /// The round's name.
    pub round_name: String,
    /// The self-study major.
    pub major_code: String,
    /// `approved`, `partially_approved` or `rejected`.
    pub status: ApplicationStatus,
    /// When it was reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Every course with its decision, in the application's order.
    pub courses: Vec<DecidedCourse>,
}

fn no_such_application() -> Refusal {
    Refusal::not_found("申请不存在", "no such application")
}

/// The decision of application `id`, for whoever may read it (owner, staff of the
/// candidate's school, admins); 404 for anyone else, 409 `state.conflict` before
/// the review.
pub fn of_application(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    id: Uuid,
) -> Outcome<Decision> {
    let row = match store::get(conn, id) {
        Err(DbError::NotFound) => return Err(no_such_application()),
        other => other?,
    };
    let (name, exam_number, school) = store::candidate_of(conn, row.candidate_id)?;
    if !actor.can_read_application(Owner::new(row.candidate_id, school.as_deref())) {
        return Err(no_such_application());
    }
    if !row.status.is_reviewed() {
        return Err(Refusal::Conflict(domain::Violation::new(
            "state.conflict",
            "申请审核完成后才有签名的审核结果",
            "a signed decision exists only once the application is reviewed",
        )));
    }
    let round = persistence::rounds::get(conn, row.round_id)?;
    let catalog = cache.version(conn, round.catalog_version_id)?;
    let courses = store::items(conn, row.id)?
        .into_iter()
        .map(|item| DecidedCourse {
            course_name: CourseCode::parse(&item.course_code)
                .ok()
                .and_then(|code| catalog.catalog.course(&code).map(|c| c.name.clone())),
            course_code: item.course_code,
            decision: item.decision.unwrap_or_else(|| "rejected".into()),
            reason: item.decision_reason,
        })
        .collect();
    Ok(Decision {
        application_id: row.id,
        exam_number: exam_number.unwrap_or_default(),
        candidate_name: name,
        round_id: round.id,
        round_name: round.name,
        major_code: row.major_code,
        status: row.status,
        reviewed_at: row.reviewed_at,
        courses,
    })
}
