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
    /// Something with this name exists already (`account.exists`, `school.exists`),
    /// with the field that names it, if one does.
    Taken(Box<Taken>),
    /// Signing in or refreshing gave no tokens.
    SignIn(crate::use_cases::sign_in::SignInRefusal),
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

/// What exists already, for [`Refusal::Taken`].
#[derive(Debug)]
pub struct Taken {
    /// The problem's title.
    pub title: Msg,
    /// The code and what happened.
    pub detail: Violation,
    /// The field that clashes.
    pub field: Option<FieldProblem>,
}

impl Refusal {
    /// Something with this name exists already.
    pub fn taken(title: Msg, detail: Violation, field: Option<FieldProblem>) -> Self {
        Refusal::Taken(Box::new(Taken {
            title,
            detail,
            field,
        }))
    }

    /// One field breaking one rule.
    pub fn field(field: impl Into<String>, violation: Violation) -> Self {
        Refusal::Invalid(vec![FieldProblem::from_violation(field, violation)])
    }

    /// Every problem of a checked form, by field.
    pub fn invalid_fields<F: Into<String>>(
        problems: impl IntoIterator<Item = (F, Violation)>,
    ) -> Self {
        Refusal::Invalid(
            (problems.into_iter())
                .map(|(field, v)| FieldProblem::from_violation(field, v))
                .collect(),
        )
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
