//! Rounds (R3, R6, R18): an admin creates one pinned to the current catalogue
//! version and changes its name, windows or pledge; everyone reads them.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::Violation;
use domain::window::{Pledge, Round, Window};
use persistence::DbError;
use persistence::rounds::{self, NewRound, RoundChanges, RoundRecord, UpdateOutcome};
use uuid::Uuid;

use crate::access::Actor;
use crate::http::problem::{FieldProblem, Msg};
use crate::use_cases::{Outcome, Refusal};

/// A window as given: opens at, the last instant inside.
pub type WindowForm = (DateTime<Utc>, DateTime<Utc>);

/// A pledge as given: version label, text.
pub type PledgeForm = (String, String);

/// A new round, as given.
#[derive(Debug, Clone)]
pub struct RoundForm {
    /// 1–100 characters.
    pub name: String,
    /// When prior-degree applications are accepted (R6).
    pub prior_degree_window: WindowForm,
    /// When certification applications are accepted (R18).
    pub certification_window: WindowForm,
    /// The pledge (R3).
    pub pledge: PledgeForm,
}

/// Changes to a round, as given; absent parts stay.
#[derive(Debug, Clone, Default)]
pub struct RoundPatchForm {
    /// New name.
    pub name: Option<String>,
    /// New prior-degree window.
    pub prior_degree_window: Option<WindowForm>,
    /// New certification window.
    pub certification_window: Option<WindowForm>,
    /// New pledge (a new version).
    pub pledge: Option<PledgeForm>,
}

/// Collects every field problem of a round form.
#[derive(Default)]
struct Checks(Vec<FieldProblem>);

impl Checks {
    fn keep<T>(&mut self, field: &str, result: Result<T, Violation>) -> Option<T> {
        result
            .map_err(|v| self.0.push(FieldProblem::from_violation(field, v)))
            .ok()
    }

    fn name(&mut self, name: &str) -> Option<String> {
        self.keep("name", Round::check_name(name))
    }

    fn window(&mut self, field: &str, (opens, closes): WindowForm) -> Option<Window> {
        self.keep(field, Window::new(opens, closes))
    }

    fn pledge(&mut self, (version, text): &PledgeForm) -> Option<Pledge> {
        self.keep("pledge", Pledge::new(version, text))
    }

    fn finish(self) -> Outcome<()> {
        match self.0.is_empty() {
            true => Ok(()),
            false => Err(Refusal::Invalid(self.0)),
        }
    }
}

fn no_such_round() -> Refusal {
    Refusal::not_found("轮次不存在", "no such round")
}

/// Creates a round pinned to the current catalogue version (admins); every field
/// problem at once; 409 `state.conflict` before any catalogue is imported.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    form: &RoundForm,
    now: DateTime<Utc>,
) -> Outcome<RoundRecord> {
    if !actor.can_administer() {
        return Err(Refusal::Forbidden);
    }
    let mut checks = Checks::default();
    let name = checks.name(&form.name);
    let prior = checks.window("prior_degree_window", form.prior_degree_window);
    let certification = checks.window("certification_window", form.certification_window);
    let pledge = checks.pledge(&form.pledge);
    checks.finish()?;
    let (Some(name), Some(prior_degree_window), Some(certification_window), Some(pledge)) =
        (name, prior, certification, pledge)
    else {
        return Err(Refusal::Internal("checked round fields missing".into()));
    };
    let new = NewRound {
        name,
        prior_degree_window,
        certification_window,
        pledge,
    };
    match rounds::create(conn, &new, now) {
        Err(DbError::NotFound) => Err(Refusal::ConflictTitled(
            Msg::new("尚无课程目录", "No catalogue yet"),
            Violation::new(
                "state.conflict",
                "请先导入课程目录，再创建轮次",
                "import a catalogue before creating a round",
            ),
        )),
        other => Ok(other?),
    }
}

/// Changes a round (admins) if it is still at `expected` (the `If-Match`; none:
/// whatever is stored); its catalogue version never changes.
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    (id, expected): (Uuid, Option<i32>),
    patch: &RoundPatchForm,
    now: DateTime<Utc>,
) -> Outcome<RoundRecord> {
    if !actor.can_administer() {
        return Err(Refusal::Forbidden);
    }
    let mut checks = Checks::default();
    let changes = RoundChanges {
        name: patch.name.as_deref().and_then(|n| checks.name(n)),
        prior_degree_window: (patch.prior_degree_window)
            .and_then(|w| checks.window("prior_degree_window", w)),
        certification_window: (patch.certification_window)
            .and_then(|w| checks.window("certification_window", w)),
        pledge: patch.pledge.as_ref().and_then(|p| checks.pledge(p)),
    };
    checks.finish()?;
    let current = match rounds::get(conn, id) {
        Err(DbError::NotFound) => return Err(no_such_round()),
        other => other?,
    };
    let expected = expected.unwrap_or(current.version);
    match rounds::update(conn, id, expected, &changes, now)? {
        UpdateOutcome::Updated(record) => Ok(record),
        UpdateOutcome::Stale { current_version } => Err(Refusal::Stale(Some(current_version))),
    }
}

/// One page of rounds, and the total.
pub fn list(
    conn: &mut PgConnection,
    (offset, limit): (i64, i64),
) -> Outcome<(Vec<RoundRecord>, i64)> {
    Ok(rounds::list(conn, offset, limit)?)
}

/// The most recently opened round with a window open at `now`.
pub fn current(conn: &mut PgConnection, now: DateTime<Utc>) -> Outcome<RoundRecord> {
    rounds::current(conn, now)?
        .ok_or_else(|| Refusal::not_found("当前没有开放中的轮次", "no round has a window open now"))
}
