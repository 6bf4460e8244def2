//! What the application use-case tests share: a world of two schools, a
//! candidate and the school's staff on the sample catalogue; drafts by
//! certificate or by degree; and readers of what a change wrote (status, version,
//! history, outbox), to show that a refused change wrote nothing.

use std::fmt::Debug;

use api::access::Actor;
use api::use_cases::applications::{self, Application, CertificateClaim, Draft};
use api::use_cases::{Outcome, Refusal};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use domain::CourseCode;
use domain::application::{ApplicationStatus, Decision, ItemDraft, Kind, ReviewChoice};
use domain::catalog::CertificateKind;
use persistence::history::Entity;
use tests::UseCaseDb;
use uuid::Uuid;

/// 药学: 00018 and 00019 by NCRE level 1 (or 2), 00015 by CET-4; by an associate
/// 药学 degree 03708, 03709, 00015 (大学英语, 3 terms) and 03029 (药理学).
pub const PHARMACY: &str = "100701";
/// The school of the world's candidate and staff.
pub const SCHOOL: &str = "HBU01";
/// Another school, with staff of its own.
pub const OTHER_SCHOOL: &str = "WHU02";

/// A sample database with two schools, candidate 1 of [`SCHOOL`] in [`PHARMACY`],
/// and staff of [`SCHOOL`].
pub struct World {
    pub db: UseCaseDb,
    pub owner: Actor,
    pub staff: Actor,
}

pub fn world() -> World {
    let mut db = UseCaseDb::with_sample();
    db.school(SCHOOL);
    db.school(OTHER_SCHOOL);
    let owner = db.candidate(1, Some(SCHOOL), PHARMACY);
    let staff = db.staff("li.laoshi", SCHOOL);
    World { db, owner, staff }
}

/// Now, inside the demo round's certification window.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// After the demo round's certification window (90 days from its creation) closed.
pub fn after_the_window() -> DateTime<Utc> {
    Utc::now() + TimeDelta::days(120)
}

pub fn tick(code: &str) -> ItemDraft {
    ItemDraft {
        course_code: code.into(),
        ..ItemDraft::default()
    }
}

pub fn claim(kind: CertificateKind, number: &str) -> CertificateClaim {
    CertificateClaim {
        kind,
        number: number.into(),
        obtained_on: NaiveDate::from_ymd_opt(2017, 6, 30).unwrap(),
    }
}

/// A certificate application of `kind` ticking `codes`, in the current round.
pub fn by_certificate(kind: CertificateKind, codes: &[&str]) -> Draft {
    Draft {
        kind: Kind::Certificate,
        round_id: None,
        prior_degree_id: None,
        certificate: Some(claim(kind, "180101010012")),
        items: codes.iter().map(|c| tick(c)).collect(),
    }
}

/// A degree application on prior degree `degree` with `items`, in the current round.
pub fn by_degree(degree: Uuid, items: Vec<ItemDraft>) -> Draft {
    Draft {
        kind: Kind::Degree,
        round_id: None,
        prior_degree_id: Some(degree),
        certificate: None,
        items,
    }
}

/// English II (00015) evidence: 大学英语 with `scores` as text.
pub fn english(score_text: &str) -> ItemDraft {
    ItemDraft {
        course_code: "00015".into(),
        learned_course_name: Some("大学英语".into()),
        scores: None,
        score_text: Some(score_text.into()),
    }
}

/// Creates `draft` for `actor` now (panics unless created).
pub fn create(db: &mut UseCaseDb, actor: &Actor, draft: &Draft) -> Application {
    applications::create(&mut db.conn, actor, &db.catalog, now(), draft)
        .unwrap_or_else(|r| panic!("create {draft:?}: {r:?}"))
}

/// Submits application `id` for `actor` now, confirming `missing` (panics unless submitted).
pub fn submit(db: &mut UseCaseDb, actor: &Actor, id: Uuid, missing: &[&str]) -> Application {
    let missing = courses(missing);
    applications::submit(
        &mut db.conn,
        actor,
        &db.catalog,
        now(),
        (id, None),
        &missing,
    )
    .unwrap_or_else(|r| panic!("submit {id}: {r:?}"))
}

/// A certificate application of the world's owner for `codes`, created and submitted.
pub fn submitted(w: &mut World, kind: CertificateKind, codes: &[&str]) -> Application {
    let created = create(&mut w.db, &w.owner, &by_certificate(kind, codes));
    submit(&mut w.db, &w.owner, created.row.id, &[])
}

pub fn courses(codes: &[&str]) -> Vec<CourseCode> {
    codes
        .iter()
        .map(|c| CourseCode::parse(c).unwrap())
        .collect()
}

pub fn approve(code: &str) -> ReviewChoice {
    ReviewChoice {
        course_code: code.into(),
        decision: Decision::Approved,
        reason: None,
    }
}

pub fn reject(code: &str, reason: Option<&str>) -> ReviewChoice {
    ReviewChoice {
        course_code: code.into(),
        decision: Decision::Rejected,
        reason: reason.map(str::to_owned),
    }
}

/// The course codes of an application's items, in order.
pub fn item_codes(app: &Application) -> Vec<&str> {
    app.items.iter().map(|i| i.course_code.as_str()).collect()
}

/// Which items hold their course now.
pub fn live(db: &mut UseCaseDb, id: Uuid) -> Vec<bool> {
    persistence::applications::items(&mut db.conn, id)
        .unwrap()
        .iter()
        .map(|i| i.live)
        .collect()
}

/// The field and code of every problem of an `Invalid` refusal (panics otherwise).
#[track_caller]
pub fn invalid<T: Debug>(outcome: Outcome<T>) -> Vec<(String, String)> {
    match outcome {
        Err(Refusal::Invalid(problems)) => problems
            .into_iter()
            .map(|p| (p.field, p.code.into_owned()))
            .collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// `(field, code)` pairs, for comparing with [`invalid`].
pub fn problems(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect()
}

/// The code of a `Conflict` refusal (panics otherwise).
#[track_caller]
pub fn conflict<T: Debug>(outcome: Outcome<T>) -> &'static str {
    match outcome {
        Err(Refusal::Conflict(v)) => v.code,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

/// The code of a `Rule` refusal (panics otherwise).
#[track_caller]
pub fn rule<T: Debug>(outcome: Outcome<T>) -> &'static str {
    match outcome {
        Err(Refusal::Rule(v)) => v.code,
        other => panic!("expected Rule, got {other:?}"),
    }
}

#[track_caller]
pub fn forbidden<T: Debug>(outcome: Outcome<T>) {
    assert!(
        matches!(outcome, Err(Refusal::Forbidden)),
        "expected Forbidden, got {outcome:?}"
    );
}

#[track_caller]
pub fn not_found<T: Debug>(outcome: Outcome<T>) {
    assert!(
        matches!(outcome, Err(Refusal::NotFound(_))),
        "expected NotFound, got {outcome:?}"
    );
}

/// Every history row of application `id` as (action, from, to, note), read
/// directly (no actor).
pub fn history(
    db: &mut UseCaseDb,
    id: Uuid,
) -> Vec<(String, Option<String>, String, Option<String>)> {
    persistence::history::list(&mut db.conn, Entity::CertificationApplication, id)
        .unwrap()
        .into_iter()
        .map(|h| {
            (
                h.action,
                h.from_status,
                h.to_status.unwrap_or_default(),
                h.note,
            )
        })
        .collect()
}

/// The (action, to status) of each history row of `id`.
pub fn steps(db: &mut UseCaseDb, id: Uuid) -> Vec<(String, String)> {
    history(db, id)
        .into_iter()
        .map(|(action, _, to, _)| (action, to))
        .collect()
}

pub fn expect_steps(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    problems(pairs)
}

/// The payloads of the pending outbox notifications for `recipient`, oldest first.
pub fn notifications(db: &mut UseCaseDb, recipient: Uuid) -> Vec<serde_json::Value> {
    persistence::outbox::pending(&mut db.conn, 0, 10_000)
        .unwrap()
        .into_iter()
        .filter(|n| n.account_id == recipient)
        .map(|n| {
            assert_eq!(n.kind.as_str(), "application_status");
            n.payload
        })
        .collect()
}

/// What a change writes, to compare before and after a refused one: the stored
/// status and version, the history rows, every outbox row, and the items.
#[derive(Debug, PartialEq)]
pub struct Written {
    status: ApplicationStatus,
    version: i32,
    return_reason: Option<String>,
    history: usize,
    outbox: usize,
    items: Vec<(String, bool, Option<String>)>,
}

pub fn written(db: &mut UseCaseDb, id: Uuid) -> Written {
    let row = persistence::applications::get(&mut db.conn, id).unwrap();
    let items = persistence::applications::items(&mut db.conn, id)
        .unwrap()
        .into_iter()
        .map(|i| (i.course_code, i.live, i.decision))
        .collect();
    Written {
        status: row.status,
        version: row.version,
        return_reason: row.return_reason,
        history: history(db, id).len(),
        outbox: persistence::outbox::pending(&mut db.conn, 0, 10_000)
            .unwrap()
            .len(),
        items,
    }
}

/// The title (English), code and English message of a `ConflictTitled` refusal
/// (panics otherwise).
#[track_caller]
pub fn conflict_titled<T: Debug>(outcome: Outcome<T>) -> (String, &'static str, String) {
    match outcome {
        Err(Refusal::ConflictTitled(title, v)) => (title.en.into_owned(), v.code, v.en),
        other => panic!("expected ConflictTitled, got {other:?}"),
    }
}

/// A fresh, migrated database without a catalogue or a round, as a new
/// installation has it (dropped with the value).
pub struct Empty {
    pub conn: diesel::PgConnection,
    name: String,
}

pub fn empty() -> Empty {
    use diesel::Connection;
    let (url, name) = tests::fresh_database();
    let conn = diesel::PgConnection::establish(&url).expect("connect");
    Empty { conn, name }
}

impl Drop for Empty {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // On a thread of its own: a failure only leaves the database behind.
        let _ = std::thread::spawn(move || tests::admin_sql(&sql)).join();
    }
}

/// The actor of an account of `role` that no row stands for (the use cases that
/// only ask the role, on a database without accounts).
pub fn actor_of_role(role: domain::account::Role) -> Actor {
    Actor {
        id: Uuid::now_v7(),
        role,
        school: None,
        scopes: Vec::new(),
        must_change_password: false,
    }
}
