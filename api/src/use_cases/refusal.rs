//! Why a use case did not do what it was asked.

use domain::Violation;
use persistence::DbError;

use crate::http::problem::{FieldProblem, Msg};

/// A use case's refusal, in terms of the request, not of HTTP.
#[derive(Debug)]
pub enum Refusal {
    /// No such record, or not one the actor may see (never says which).
    NotFound(Msg),
    /// The actor's role may not do this at all.
    Forbidden,
    /// The record's state does not allow it now (`state.conflict`, `course.duplicate` …).
    Conflict(Violation),
    /// A conflict with a title of its own (`state.conflict` "学历证书编号已登记" …).
    ConflictTitled(Msg, Violation),
    /// The request as a whole breaks a rule (`window.closed`, `major.unknown` …).
    Rule(Violation),
    /// Fields break rules; every problem at once. When every problem is
    /// `course.duplicate` it is a conflict rather than bad input.
    Invalid(Vec<FieldProblem>),
    /// The record changed since the caller read it (`If-Match`); the current version.
    Stale(Option<i32>),
    /// Storage failed: unreachable (retry) or a fault.
    Db(DbError),
    /// A fault of ours (a stored value that cannot be, a broken invariant).
    Internal(String),
}

impl Refusal {
    /// One field breaking one rule.
    pub fn field(field: impl Into<String>, violation: Violation) -> Self {
        Refusal::Invalid(vec![FieldProblem::from_violation(field, violation)])
    }

    /// Not found, with what was looked for.
    pub fn not_found(zh: &'static str, en: &'static str) -> Self {
        Refusal::NotFound(Msg::new(zh, en))
    }
}

impl From<DbError> for Refusal {
    fn from(error: DbError) -> Self {
        Refusal::Db(error)
    }
}

impl From<diesel::result::Error> for Refusal {
    fn from(error: diesel::result::Error) -> Self {
        Refusal::Db(error.into())
    }
}
