//! Prior degrees (前置学历, R3–R7): the pledge and the draft, modify, submit, and
//! the verification feedback, one by id or one by certificate number (batches).
//!
//! State machine: `draft` → `submitted` → `effective` | `rejected`; `rejected` →
//! (edit) → `submitted` again; `effective` is final. See [`domain::prior_degree`].
//! Each change is one transaction with its history row; a verification also queues
//! a notification for the holder.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::Violation;
use domain::certificate_number::CertificateNumber;
use domain::prior_degree::{
    self as rules, Caller, Declared, DeclaredFacts, PriorDegreeAction, PriorDegreeStatus,
    VerificationResult,
};
use persistence::DbError;
use persistence::history::{Entity, HistoryRow};
use persistence::outbox::NotificationKind;
use persistence::prior_degrees::{
    self as store, CERTIFICATE_NUMBER_KEY, DegreeFields, PriorDegreeRow, PriorDegreeWithSchool,
};
use persistence::rounds::RoundRecord;
use uuid::Uuid;

use crate::access::{Actor, Owner};
use crate::http::problem::Msg;
use crate::use_cases::audit::{self, Event};
use crate::use_cases::{Outcome, Refusal};

/// A prior degree and what the actor may do with it now (status, window, role).
#[derive(Debug, Clone)]
pub struct Shown {
    /// The stored record.
    pub row: PriorDegreeRow,
    /// The actions open to the actor now.
    pub actions: Vec<PriorDegreeAction>,
}

/// A new prior degree: the accepted pledge (R3) and the declared fields.
#[derive(Debug, Clone, Default)]
pub struct NewDegree {
    /// The pledge version the candidate accepted.
    pub pledge_version: Option<String>,
    /// Whether the candidate ticked "I have read and agree".
    pub pledge_accepted: Option<bool>,
    /// The declared fields.
    pub declared: Declared,
}

/// Changes to the declared fields; absent ones stay as they are.
#[derive(Debug, Clone, Default)]
pub struct DegreeChanges {
    /// See [`Declared`].
    pub certificate_number: Option<String>,
    /// See [`Declared`].
    pub school_name: Option<String>,
    /// See [`Declared`].
    pub major_name: Option<String>,
    /// See [`Declared`].
    pub level: Option<String>,
    /// See [`Declared`].
    pub education_type: Option<String>,
    /// See [`Declared`].
    pub graduation_date: Option<String>,
}

fn no_such_degree() -> Refusal {
    Refusal::not_found("前置学历不存在", "no such prior degree")
}

fn state_conflict(v: Violation) -> Refusal {
    Refusal::ConflictTitled(
        Msg::new("状态不允许此操作", "State conflict"),
        Violation::new("state.conflict", v.zh, v.en),
    )
}

/// Whose a prior degree is, for the access policy.
fn owner_of(degree: &PriorDegreeWithSchool) -> Owner<'_> {
    Owner::new(degree.degree.candidate_id, degree.school_code.as_deref())
}

/// The prior degree if the actor may read it, else 404. `lock` locks it.
fn load(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Outcome<PriorDegreeWithSchool> {
    match store::find(conn, id, lock) {
        Ok(d) if actor.can_read_prior_degree(owner_of(&d)) => Ok(d),
        Ok(_) | Err(DbError::NotFound) => Err(no_such_degree()),
        Err(e) => Err(e.into()),
    }
}

/// [`load`] locked, for a change the actor must be allowed to make, at the
/// version the actor read.
fn load_for_change(
    conn: &mut PgConnection,
    actor: &Actor,
    (id, expected): (Uuid, Option<i32>),
    allowed: fn(&Actor, Owner<'_>) -> bool,
) -> Outcome<(PriorDegreeRow, Option<String>)> {
    let degree = load(conn, actor, id, true)?;
    if !allowed(actor, owner_of(&degree)) {
        return Err(Refusal::Forbidden);
    }
    if expected.is_some_and(|v| v != degree.degree.version) {
        return Err(Refusal::Stale(Some(degree.degree.version)));
    }
    Ok((degree.degree, degree.school_code))
}

/// What `actor` may do with `row` of a holder of `school` now (status, window and
/// role).
pub fn actions_for(
    conn: &mut PgConnection,
    actor: &Actor,
    (row, school): (&PriorDegreeRow, Option<&str>),
    now: DateTime<Utc>,
) -> Outcome<Vec<PriorDegreeAction>> {
    let owner = Owner::new(row.candidate_id, school);
    let caller = Caller {
        holder: actor.can_edit_prior_degree(owner),
        verifier: actor.can_verify_prior_degree(owner),
    };
    // The window matters only to a holder of an editable degree.
    let window_open = caller.holder
        && row.status.is_editable()
        && persistence::rounds::current(conn, now)?
            .is_some_and(|round| round.prior_degree_window.check_open(now).is_ok());
    Ok(row.status.allowed_actions(caller, window_open))
}

fn shown(
    conn: &mut PgConnection,
    actor: &Actor,
    (row, school): (PriorDegreeRow, Option<String>),
    now: DateTime<Utc>,
) -> Outcome<Shown> {
    let actions = actions_for(conn, actor, (&row, school.as_deref()), now)?;
    Ok(Shown { row, actions })
}

/// The current round, if its prior-degree window is open at `now` (R6).
fn open_round(conn: &mut PgConnection, now: DateTime<Utc>) -> Outcome<RoundRecord> {
    let round = persistence::rounds::current(conn, now)?.ok_or_else(|| {
        Refusal::Rule(Violation::new(
            "window.closed",
            "当前没有开放中的轮次，不能新增、修改或提交前置学历",
            "no round is open now: prior degrees cannot be added, changed or submitted",
        ))
    })?;
    round
        .prior_degree_window
        .check_open(now)
        .map_err(Refusal::Rule)?;
    Ok(round)
}

/// Every declared field checked (all problems at once), as stored.
fn checked(declared: &Declared, now: DateTime<Utc>) -> Outcome<DegreeFields> {
    let today = domain::window::date_in_shanghai(now);
    let facts: DeclaredFacts =
        rules::check_declared(declared, today).map_err(Refusal::invalid_fields)?;
    Ok(DegreeFields {
        certificate_number: facts.certificate_number.as_str().to_owned(),
        school_name: facts.school_name,
        major_name: facts.major_name,
        level: facts.level,
        education_type: facts.education_type,
        graduation_date: facts.graduation_date,
    })
}

/// 409 for a certificate number already on file (decided by the unique index):
/// the message says whether it is the candidate's own record or another account's.
fn duplicate_number(conn: &mut PgConnection, number: &str, candidate: Uuid) -> Refusal {
    let own =
        matches!(store::certificate_holder(conn, number), Ok(Some(holder)) if holder == candidate);
    let violation = if own {
        Violation::new(
            "state.conflict",
            format!("你已登记过学历证书编号 {number}，请修改已有的记录"),
            format!(
                "you have already registered certificate number {number}; modify that record instead"
            ),
        )
    } else {
        Violation::new(
            "state.conflict",
            format!("学历证书编号 {number} 已被其他账号登记；如有疑问请联系学校自考办"),
            format!(
                "certificate number {number} is registered to another account; contact the school's self-study office if this is wrong"
            ),
        )
    };
    let title = Msg::new(
        "学历证书编号已登记",
        "Certificate number already registered",
    );
    Refusal::ConflictTitled(title, violation)
}

/// A write of declared fields; a number already on file is [`duplicate_number`].
fn written(
    conn: &mut PgConnection,
    result: Result<PriorDegreeRow, DbError>,
    number: &str,
    candidate: Uuid,
) -> Outcome<PriorDegreeRow> {
    match result {
        Err(DbError::Unique { constraint }) if constraint == CERTIFICATE_NUMBER_KEY => {
            Err(duplicate_number(conn, number, candidate))
        }
        other => Ok(other?),
    }
}

fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    action: &str,
    (from, to): (Option<PriorDegreeStatus>, PriorDegreeStatus),
    note: Option<&str>,
) -> Outcome<()> {
    let event = Event {
        entity: Entity::PriorDegree,
        id,
        action,
        from: from.map(PriorDegreeStatus::as_str),
        to: Some(to.as_str()),
        note,
    };
    Ok(audit::record(conn, actor, &event)?)
}

/// The candidate `actor` accepts the current round's pledge (R3) and saves a
/// draft inside the prior-degree window (R6); every field is checked, the
/// certificate number against the declared level, type and year.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    new: &NewDegree,
) -> Outcome<Shown> {
    if !actor.can_apply() {
        return Err(Refusal::Forbidden);
    }
    let fields = checked(&new.declared, now)?;
    super::transaction(conn, |conn| {
        let round = open_round(conn, now)?;
        let accepted = new.pledge_accepted == Some(true);
        let version = new.pledge_version.as_deref();
        round
            .pledge
            .check_accepted(version, accepted)
            .map_err(|v| {
                let field = if accepted && version.is_some() {
                    "pledge_version"
                } else {
                    "pledge_accepted"
                };
                Refusal::field(field, v)
            })?;
        let pledge = round.pledge.version();
        let inserted = store::insert_draft(conn, actor.id, round.id, &fields, pledge, now);
        let row = written(conn, inserted, &fields.certificate_number, actor.id)?;
        let note = format!("pledge {pledge}");
        let created = (None, PriorDegreeStatus::Draft);
        record(conn, actor, row.id, "create", created, Some(&note))?;
        shown(conn, actor, (row, actor.school.clone()), now)
    })
}

/// One prior degree, for whoever may read it.
pub fn get(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, id: Uuid) -> Outcome<Shown> {
    let degree = load(conn, actor, id, false)?;
    shown(conn, actor, (degree.degree, degree.school_code), now)
}

/// One page of the prior degrees the actor may see, newest first, and the total.
pub fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    status: Option<PriorDegreeStatus>,
    (offset, limit): (i64, i64),
) -> Outcome<(Vec<Shown>, i64)> {
    let who = actor.visibility();
    let status = status.map(PriorDegreeStatus::as_str);
    let (rows, total) = store::list(conn, &who, status, offset, limit)?;
    let shown = rows
        .into_iter()
        .map(|d| shown(conn, actor, (d.degree, d.school_code), now))
        .collect::<Outcome<Vec<_>>>()?;
    Ok((shown, total))
}

/// Every prior degree of `candidate_id`, newest first (at most 200), for staff of
/// the candidate's school and admins (404 for anyone else).
pub fn of_candidate(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    candidate_id: Uuid,
) -> Outcome<Vec<Shown>> {
    crate::use_cases::candidates::require_manager(conn, actor, candidate_id)?;
    let who = persistence::visibility::Visibility::Owner(candidate_id);
    let (rows, _) = store::list(conn, &who, None, 0, 200)?;
    rows.into_iter()
        .map(|d| shown(conn, actor, (d.degree, d.school_code), now))
        .collect()
}

/// The holder changes declared fields of a draft or rejected prior degree inside
/// the window (R4, R6); the whole record is checked again. Nothing changed: the
/// record as it is, no history row.
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    target: (Uuid, Option<i32>),
    changes: &DegreeChanges,
) -> Outcome<Shown> {
    super::transaction(conn, |conn| {
        let (current, school) = load_for_change(conn, actor, target, Actor::can_edit_prior_degree)?;
        current.status.check_editable().map_err(state_conflict)?;
        open_round(conn, now)?;
        let pick = |change: &Option<String>, stored: String| change.clone().unwrap_or(stored);
        let declared = Declared {
            certificate_number: pick(
                &changes.certificate_number,
                current.certificate_number.clone(),
            ),
            school_name: pick(&changes.school_name, current.school_name.clone()),
            major_name: pick(&changes.major_name, current.major_name.clone()),
            level: pick(&changes.level, current.level.label_en().to_owned()),
            education_type: pick(
                &changes.education_type,
                current.education_type.as_str().to_owned(),
            ),
            graduation_date: pick(
                &changes.graduation_date,
                current.graduation_date.to_string(),
            ),
        };
        let fields = checked(&declared, now)?;
        let changed: Vec<&str> = [
            (
                "certificate_number",
                fields.certificate_number != current.certificate_number,
            ),
            ("school_name", fields.school_name != current.school_name),
            ("major_name", fields.major_name != current.major_name),
            ("level", fields.level != current.level),
            (
                "education_type",
                fields.education_type != current.education_type,
            ),
            (
                "graduation_date",
                fields.graduation_date != current.graduation_date,
            ),
        ]
        .into_iter()
        .filter_map(|(name, differs)| differs.then_some(name))
        .collect();
        if changed.is_empty() {
            return shown(conn, actor, (current, school), now);
        }
        let updated = store::update_fields(conn, current.id, &fields, now);
        let row = written(conn, updated, &fields.certificate_number, actor.id)?;
        let note = format!("changed: {}", changed.join(", "));
        let same = (Some(current.status), current.status);
        record(conn, actor, row.id, "update", same, Some(&note))?;
        shown(conn, actor, (row, school), now)
    })
}

/// The holder submits a draft or rejected prior degree for verification inside the
/// window (R4, R6); earlier feedback is cleared from the record (history keeps it).
pub fn submit(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    target: (Uuid, Option<i32>),
) -> Outcome<Shown> {
    super::transaction(conn, |conn| {
        let (current, school) = load_for_change(conn, actor, target, Actor::can_edit_prior_degree)?;
        let to = current.status.submit().map_err(state_conflict)?;
        open_round(conn, now)?;
        let row = store::mark_submitted(conn, current.id, now)?;
        record(
            conn,
            actor,
            row.id,
            "submit",
            (Some(current.status), to),
            None,
        )?;
        shown(conn, actor, (row, school), now)
    })
}

/// Refuses an actor who may verify no prior degree at all (403).
pub fn require_verifier(actor: &Actor) -> Outcome<()> {
    if actor.may_verify() {
        Ok(())
    } else {
        Err(Refusal::Forbidden)
    }
}

/// A verification result as given: `effective`, or `rejected` with feedback
/// (`result`, `feedback` checked).
pub fn checked_result(
    result: &str,
    feedback: Option<&str>,
) -> Result<(VerificationResult, Option<String>), (&'static str, Violation)> {
    let result = VerificationResult::parse(result).map_err(|v| ("result", v))?;
    let feedback = rules::check_feedback(result, feedback).map_err(|v| ("feedback", v))?;
    Ok((result, feedback))
}

/// Records a verification result on a locked prior degree the actor may verify:
/// status, history and an outbox notification for the holder.
fn apply_verification(
    conn: &mut PgConnection,
    actor: &Actor,
    degree: &PriorDegreeRow,
    (result, feedback): (VerificationResult, Option<&str>),
    now: DateTime<Utc>,
) -> Outcome<PriorDegreeRow> {
    let from = degree.status;
    let to = from.verify(result).map_err(state_conflict)?;
    let row = store::mark_verified(conn, degree.id, to.as_str(), feedback, actor.id, now)?;
    record(conn, actor, row.id, "verify", (Some(from), to), feedback)?;
    let payload = serde_json::json!({
        "prior_degree_id": row.id,
        "certificate_number": row.certificate_number,
        "status": to.as_str(),
        "status_label": to.label_zh(),
        "feedback": feedback,
        "verified_at": now,
    });
    audit::notify(
        conn,
        NotificationKind::VerificationResult,
        row.candidate_id,
        &payload,
    )?;
    Ok(row)
}

/// The CHSI verification feedback of a submitted prior degree (R5): `effective`
/// (final) or `rejected` (the holder may modify and submit again). By staff of the
/// holder's school, admins and service accounts with `verification:write`; not
/// bound to the window.
pub fn verify(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    target: (Uuid, Option<i32>),
    (result, feedback): (&str, Option<&str>),
) -> Outcome<Shown> {
    require_verifier(actor)?;
    let (result, feedback) =
        checked_result(result, feedback).map_err(|(field, v)| Refusal::field(field, v))?;
    super::transaction(conn, |conn| {
        let (current, school) =
            load_for_change(conn, actor, target, Actor::can_verify_prior_degree)?;
        let verified = (result, feedback.as_deref());
        let row = apply_verification(conn, actor, &current, verified, now)?;
        shown(conn, actor, (row, school), now)
    })
}

/// [`verify`] for the prior degree with certificate `number`, in its own
/// transaction (one row of a batch): 404 when none the actor may verify has it.
pub fn verify_by_number(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    number: &CertificateNumber,
    (result, feedback): (VerificationResult, Option<&str>),
) -> Outcome<PriorDegreeRow> {
    super::transaction(conn, |conn| {
        let degree = match store::find_by_certificate_number(conn, number.as_str()) {
            Ok(d) if actor.can_verify_prior_degree(owner_of(&d)) => d.degree,
            Ok(_) | Err(DbError::NotFound) => {
                return Err(Refusal::NotFound(Msg::new(
                    format!("没有已登记的学历证书编号 {number}"),
                    format!("no prior degree with certificate number {number} is on file"),
                )));
            }
            Err(e) => return Err(e.into()),
        };
        apply_verification(conn, actor, &degree, (result, feedback), now)
    })
}

/// Every change of a prior degree, oldest first, for whoever may read it.
pub fn history(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Outcome<Vec<HistoryRow>> {
    load(conn, actor, id, false)?;
    Ok(persistence::history::list(conn, Entity::PriorDegree, id)?)
}

/// A prior degree for an eligibility question, for whoever may read it.
pub fn for_eligibility(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
) -> Outcome<PriorDegreeRow> {
    Ok(load(conn, actor, id, false)?.degree)
}
