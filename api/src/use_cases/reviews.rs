//! The school's side of an application (R19): send it back to the candidate with a
//! reason, or decide every course. Both are allowed after the window closes.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::application::{self, Action, ApplicationStatus, Decision, ReviewChoice};
use persistence::applications::{self as store, StatusChange};
use uuid::Uuid;

use crate::access::Actor;
use crate::catalog_cache::CatalogCache;
use crate::http::problem::FieldProblem;
use crate::use_cases::applications::{Application, load_for_change, read_model, status_changed};
use crate::use_cases::{Outcome, Refusal};

/// Staff of the candidate's school or an admin send a submitted application back
/// with a reason (1–1000 characters): it becomes `returned`, its courses are
/// released, and the candidate may change and resubmit it while the window is open.
pub fn return_to_candidate(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    now: DateTime<Utc>,
    (id, expected): (Uuid, Option<i32>),
    reason: &str,
) -> Outcome<Application> {
    let reason =
        application::check_return_reason(reason).map_err(|v| Refusal::field("reason", v))?;
    super::transaction(conn, |conn| {
        let (row, candidate) =
            load_for_change(conn, actor, id, expected, Actor::can_review_application)?;
        row.status
            .check(Action::Return)
            .map_err(Refusal::Conflict)?;
        store::set_live(conn, row.id, false)?;
        let change = StatusChange {
            return_reason: Some(reason.clone()),
            ..StatusChange::default()
        };
        let returned = ApplicationStatus::Returned.as_str();
        let updated = store::set_status(conn, &row, returned, &change, now)?;
        status_changed(conn, actor, &updated, "return", row.status, Some(&reason))?;
        read_model(conn, cache, updated, candidate)
    })
}

/// Staff of the candidate's school or an admin decide every course of a submitted
/// application, each once (`domain::application::check_review`): it becomes
/// `approved`, `partially_approved` or `rejected`; rejected courses are released,
/// approved ones stay certified.
pub fn review(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    now: DateTime<Utc>,
    (id, expected): (Uuid, Option<i32>),
    choices: &[ReviewChoice],
) -> Outcome<Application> {
    super::transaction(conn, |conn| {
        let (row, candidate) =
            load_for_change(conn, actor, id, expected, Actor::can_review_application)?;
        row.status
            .check(Action::Review)
            .map_err(Refusal::Conflict)?;
        let items = store::items(conn, row.id)?;
        let courses: Vec<&str> = items.iter().map(|i| i.course_code.as_str()).collect();
        let problems = application::check_review(&courses, choices);
        if !problems.is_empty() {
            return Err(Refusal::Invalid(
                problems
                    .into_iter()
                    .map(|(field, v)| FieldProblem::from_violation(field, v))
                    .collect(),
            ));
        }
        for choice in choices {
            let decision = choice.decision.as_str();
            store::decide_item(conn, row.id, choice.code(), decision, choice.reason())?;
        }
        let decisions: Vec<Decision> = choices.iter().map(|c| c.decision).collect();
        let outcome = application::review_outcome(&decisions)
            .ok_or_else(|| Refusal::Internal("review without items".into()))?;
        let change = StatusChange {
            return_reason: row.return_reason.clone(),
            reviewed_by: Some(actor.id),
            reviewed_at: Some(now),
            ..StatusChange::default()
        };
        let updated = store::set_status(conn, &row, outcome.as_str(), &change, now)?;
        let approved = decisions
            .iter()
            .filter(|d| **d == Decision::Approved)
            .count();
        let note = format!("approved {approved} of {}", decisions.len());
        status_changed(conn, actor, &updated, "review", row.status, Some(&note))?;
        read_model(conn, cache, updated, candidate)
    })
}
