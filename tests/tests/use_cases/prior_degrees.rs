//! Prior degrees (前置学历, R3–R7), called without HTTP: the pledge and the draft,
//! reading and listing, modify, submit, and the verification result by id or by
//! certificate number; who may do each, in which status and window, what each
//! writes (history, outbox), and that a refused change writes nothing.

use api::access::Actor;
use api::use_cases::Refusal;
use api::use_cases::prior_degrees::{self as cases, DegreeChanges, NewDegree, Shown};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use diesel::connection::SimpleConnection;
use domain::account::Scope;
use domain::certificate_number::{CertificateNumber, DegreeLevel, EducationType};
use domain::prior_degree::{
    Declared, PriorDegreeAction as A, PriorDegreeStatus as S, VerificationResult,
};
use persistence::history::Entity;
use persistence::prior_degrees::PriorDegreeRow;
use tests::UseCaseDb;
use uuid::Uuid;

use crate::support::{
    OTHER_SCHOOL, PHARMACY, SCHOOL, World, conflict_titled, forbidden, invalid, not_found,
    problems, rule, world,
};

// ---------------------------------------------------------------------------
// The world and its helpers
// ---------------------------------------------------------------------------

/// Everyone a prior-degree test needs: the holder (candidate 1 of [`SCHOOL`]) and
/// the school's staff, a neighbour (candidate 2 of the same school), an outsider
/// (candidate 3 of [`OTHER_SCHOOL`]), the other school's staff, an admin, a
/// service account with `verification:write` and one with only `outbox:read`.
struct People {
    db: UseCaseDb,
    owner: Actor,
    staff: Actor,
    neighbour: Actor,
    outsider: Actor,
    other_staff: Actor,
    admin: Actor,
    verifier: Actor,
    reader: Actor,
}

fn people() -> People {
    let World {
        mut db,
        owner,
        staff,
    } = world();
    let neighbour = db.candidate(2, Some(SCHOOL), PHARMACY);
    let outsider = db.candidate(3, Some(OTHER_SCHOOL), PHARMACY);
    let other_staff = db.staff("wang.laoshi", OTHER_SCHOOL);
    let admin = db.admin("admin");
    let verifier = db.service_account("chsi-sync", &[Scope::VerificationWrite]);
    let reader = db.service_account("sms-gateway", &[Scope::OutboxRead]);
    People {
        db,
        owner,
        staff,
        neighbour,
        outsider,
        other_staff,
        admin,
        verifier,
        reader,
    }
}

/// Now, inside the demo round's prior-degree window, at the database's precision
/// (microseconds), so stored timestamps compare equal.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A minute after the demo round's prior-degree window (60 days) closed: the
/// round is still current (its certification window runs 90 days).
fn after_the_prior_degree_window(db: &UseCaseDb) -> DateTime<Utc> {
    db.round.prior_degree_window.closes_at() + TimeDelta::minutes(1)
}

/// A day after both windows closed: no round is current at all.
fn after_the_round(db: &UseCaseDb) -> DateTime<Utc> {
    db.round.certification_window.closes_at() + TimeDelta::days(1)
}

/// A minute before the demo round's windows opened: no round is current.
fn before_the_round(db: &UseCaseDb) -> DateTime<Utc> {
    db.round.prior_degree_window.opens_at() - TimeDelta::minutes(1)
}

/// An 18-digit certificate number of school 10521, regular (digit 1), graduated
/// 2016, of level code `level` (`06` associate, `05` bachelor), serial `serial`.
/// Serials from 500 up never meet [`UseCaseDb::prior_degree`]'s.
fn number(level: &str, serial: u32) -> String {
    format!("1052112016{level}{serial:06}")
}

/// A regular associate 药学 degree graduated 2016-07-01 with serial `serial`.
fn declared(serial: u32) -> Declared {
    Declared {
        certificate_number: number("06", serial),
        school_name: "湖北职业技术学院".into(),
        major_name: "药学".into(),
        level: "associate".into(),
        education_type: "regular".into(),
        graduation_date: "2016-07-01".into(),
    }
}

/// `declared` with the demo round's pledge accepted.
fn pledged(db: &UseCaseDb, declared: Declared) -> NewDegree {
    NewDegree {
        pledge_version: Some(db.round.pledge.version().to_owned()),
        pledge_accepted: Some(true),
        declared,
    }
}

/// A draft of `actor` with serial `serial`, created now (panics unless created).
fn draft(db: &mut UseCaseDb, actor: &Actor, serial: u32) -> PriorDegreeRow {
    let new = pledged(db, declared(serial));
    cases::create(&mut db.conn, actor, now(), &new)
        .unwrap_or_else(|r| panic!("create {serial}: {r:?}"))
        .row
}

/// Submits `id` for `actor` now (panics unless submitted).
fn submit(db: &mut UseCaseDb, actor: &Actor, id: Uuid) -> PriorDegreeRow {
    cases::submit(&mut db.conn, actor, now(), (id, None))
        .unwrap_or_else(|r| panic!("submit {id}: {r:?}"))
        .row
}

/// Records `result` with `feedback` on `id` as `verifier` now (panics unless recorded).
fn verify(
    db: &mut UseCaseDb,
    verifier: &Actor,
    id: Uuid,
    result: &str,
    feedback: Option<&str>,
) -> PriorDegreeRow {
    cases::verify(
        &mut db.conn,
        verifier,
        now(),
        (id, None),
        (result, feedback),
    )
    .unwrap_or_else(|r| panic!("verify {id}: {r:?}"))
    .row
}

/// A submitted degree of `actor` with serial `serial`.
fn submitted(db: &mut UseCaseDb, actor: &Actor, serial: u32) -> PriorDegreeRow {
    let id = draft(db, actor, serial).id;
    submit(db, actor, id)
}

/// The stored record, read directly (no actor).
fn row(db: &mut UseCaseDb, id: Uuid) -> PriorDegreeRow {
    persistence::prior_degrees::find(&mut db.conn, id, false)
        .unwrap()
        .degree
}

/// A history row as (action, from status, to status, note).
type Step = (String, Option<String>, Option<String>, Option<String>);

/// Every history row of prior degree `id` as (action, from, to, note), read
/// directly (no actor).
fn history(db: &mut UseCaseDb, id: Uuid) -> Vec<Step> {
    persistence::history::list(&mut db.conn, Entity::PriorDegree, id)
        .unwrap()
        .into_iter()
        .map(|h| (h.action, h.from_status, h.to_status, h.note))
        .collect()
}

/// A history row as [`history`] gives it.
fn step(action: &str, from: Option<&str>, to: &str, note: Option<&str>) -> Step {
    (
        action.to_owned(),
        from.map(str::to_owned),
        Some(to.to_owned()),
        note.map(str::to_owned),
    )
}

/// Every pending outbox notification as (kind, recipient, payload), oldest first.
fn outbox(db: &mut UseCaseDb) -> Vec<(String, Uuid, serde_json::Value)> {
    persistence::outbox::pending(&mut db.conn, 0, 10_000)
        .unwrap()
        .into_iter()
        .map(|n| (n.kind.as_str().to_owned(), n.account_id, n.payload))
        .collect()
}

/// What a change writes, to compare before and after a refused one: the whole
/// stored record (status, fields, feedback, version …), its history rows and
/// every outbox row.
#[derive(Debug, PartialEq)]
struct Written {
    row: PriorDegreeRow,
    history: usize,
    outbox: usize,
}

fn written(db: &mut UseCaseDb, id: Uuid) -> Written {
    Written {
        row: row(db, id),
        history: history(db, id).len(),
        outbox: outbox(db).len(),
    }
}

/// How many prior degrees are stored in all, read directly.
fn stored_count(db: &mut UseCaseDb) -> i64 {
    let all = persistence::visibility::Visibility::All;
    persistence::prior_degrees::list(&mut db.conn, &all, None, 0, 1)
        .unwrap()
        .1
}

/// The ids of a list, in order.
fn ids(shown: &[Shown]) -> Vec<Uuid> {
    shown.iter().map(|s| s.row.id).collect()
}

/// The actions `actor` gets with `id` at `at`.
fn actions(db: &mut UseCaseDb, actor: &Actor, id: Uuid, at: DateTime<Utc>) -> Vec<A> {
    cases::get(&mut db.conn, actor, at, id)
        .unwrap_or_else(|r| panic!("get {id}: {r:?}"))
        .actions
}

/// The code of a `ConflictTitled` refusal that is a state conflict (its title is
/// the generic one), panicking otherwise.
#[track_caller]
fn state_conflict<T: std::fmt::Debug>(outcome: api::use_cases::Outcome<T>) -> &'static str {
    let (title, code, _) = conflict_titled(outcome);
    assert_eq!(title, "State conflict");
    code
}

#[track_caller]
fn stale<T: std::fmt::Debug>(outcome: api::use_cases::Outcome<T>) -> Option<i32> {
    match outcome {
        Err(Refusal::Stale(current)) => current,
        other => panic!("expected Stale, got {other:?}"),
    }
}

/// The English message of a `NotFound` refusal (panics otherwise).
#[track_caller]
fn not_found_en<T: std::fmt::Debug>(outcome: api::use_cases::Outcome<T>) -> String {
    match outcome {
        Err(Refusal::NotFound(msg)) => msg.en.into_owned(),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------

#[test]
fn a_new_prior_degree_is_a_draft_under_the_rounds_pledge_with_a_create_row() {
    let mut p = people();
    let at = now();
    let version = p.db.round.pledge.version().to_owned();
    let new = NewDegree {
        // The version is compared trimmed; the round's own is stored.
        pledge_version: Some(format!(" {version} ")),
        pledge_accepted: Some(true),
        declared: Declared {
            certificate_number: format!(" {} ", number("06", 500)),
            school_name: "  湖北职业技术学院 ".into(),
            major_name: " 药学".into(),
            level: "专科".into(),
            education_type: "普通".into(),
            graduation_date: " 2016-07-01 ".into(),
        },
    };
    let created = cases::create(&mut p.db.conn, &p.owner, at, &new).unwrap();

    let row = &created.row;
    assert_eq!(row.status, S::Draft);
    assert_eq!(row.version, 1);
    assert_eq!(row.candidate_id, p.owner.id);
    assert_eq!(row.round_id, p.db.round.id);
    assert_eq!(row.pledge_version, version);
    assert_eq!(row.pledge_accepted_at, at);
    assert_eq!(row.certificate_number, number("06", 500));
    assert_eq!(row.school_name, "湖北职业技术学院");
    assert_eq!(row.major_name, "药学");
    assert_eq!(row.level, DegreeLevel::Associate);
    assert_eq!(row.education_type, EducationType::Regular);
    assert_eq!(row.graduation_date.to_string(), "2016-07-01");
    assert_eq!(row.submitted_at, None);
    assert_eq!(row.verification_feedback, None);
    assert_eq!(row.verified_at, None);
    assert_eq!(row.verified_by, None);
    assert_eq!(created.actions, [A::Modify, A::Submit]);

    let rows = cases::history(&mut p.db.conn, &p.owner, row.id).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].action, "create");
    assert_eq!(rows[0].from_status, None);
    assert_eq!(rows[0].to_status.as_deref(), Some("draft"));
    assert_eq!(rows[0].note, Some(format!("pledge {version}")));
    assert_eq!(rows[0].actor_id, Some(p.owner.id));
    assert_eq!(rows[0].actor_role, "candidate");
    assert!(outbox(&mut p.db).is_empty(), "a draft notifies no one");
}

#[test]
fn the_pledge_must_be_ticked_and_be_the_rounds_current_version() {
    let mut p = people();
    let current = p.db.round.pledge.version().to_owned();
    for (version, accepted, field) in [
        (None, Some(true), "pledge_accepted"),
        (None, None, "pledge_accepted"),
        (Some(current.as_str()), None, "pledge_accepted"),
        (Some(current.as_str()), Some(false), "pledge_accepted"),
        (Some("2025-old"), Some(false), "pledge_accepted"),
        (Some("2025-old"), Some(true), "pledge_version"),
        (Some(""), Some(true), "pledge_version"),
    ] {
        let new = NewDegree {
            pledge_version: version.map(str::to_owned),
            pledge_accepted: accepted,
            declared: declared(500),
        };
        let refused = cases::create(&mut p.db.conn, &p.owner, now(), &new);
        assert_eq!(
            invalid(refused),
            problems(&[(field, "pledge.not_accepted")]),
            "{version:?} {accepted:?}"
        );
    }
    assert_eq!(stored_count(&mut p.db), 0, "nothing stored");
}

#[test]
fn every_bad_declared_field_is_reported_at_once() {
    let mut p = people();
    let new = pledged(
        &p.db,
        Declared {
            certificate_number: "10521-2016".into(),
            school_name: "  ".into(),
            major_name: "药".repeat(101),
            level: "master".into(),
            education_type: "night".into(),
            graduation_date: "2999-07-01".into(),
        },
    );
    let refused = cases::create(&mut p.db.conn, &p.owner, now(), &new);
    assert_eq!(
        invalid(refused),
        problems(&[
            ("school_name", "school_name.length"),
            ("major_name", "major_name.length"),
            ("level", "degree_level.unknown"),
            ("education_type", "education_type.unknown"),
            ("graduation_date", "graduation_date.future"),
            ("certificate_number", "certificate_number.format"),
        ])
    );
    let two_bad = pledged(
        &p.db,
        Declared {
            graduation_date: "2016/07/01".into(),
            major_name: String::new(),
            ..declared(500)
        },
    );
    let refused = cases::create(&mut p.db.conn, &p.owner, now(), &two_bad);
    assert_eq!(
        invalid(refused),
        problems(&[
            ("major_name", "major_name.length"),
            ("graduation_date", "graduation_date.format"),
        ]),
        "the number is not compared with a date that did not parse"
    );
    assert_eq!(stored_count(&mut p.db), 0, "nothing stored");
}

#[test]
fn a_certificate_number_that_contradicts_level_type_or_year_is_invalid_on_the_number() {
    let mut p = people();
    let mismatched = [
        Declared {
            level: "bachelor".into(),
            ..declared(500)
        },
        Declared {
            education_type: "adult".into(),
            ..declared(500)
        },
        Declared {
            graduation_date: "2015-07-01".into(),
            ..declared(500)
        },
        Declared {
            certificate_number: number("07", 500),
            ..declared(500)
        },
    ];
    for declared in mismatched {
        let new = pledged(&p.db, declared.clone());
        let refused = cases::create(&mut p.db.conn, &p.owner, now(), &new);
        assert_eq!(
            invalid(refused),
            problems(&[("certificate_number", "certificate_number.mismatch")]),
            "{declared:?}"
        );
    }
    assert_eq!(stored_count(&mut p.db), 0, "nothing stored");

    // Consistent: a bachelor number for a bachelor, and a 17-digit (pre-2002)
    // number, which cannot be checked and is accepted as it is.
    let bachelor = Declared {
        certificate_number: number("05", 501),
        level: "bachelor".into(),
        ..declared(501)
    };
    let new = pledged(&p.db, bachelor);
    let row = cases::create(&mut p.db.conn, &p.owner, now(), &new)
        .unwrap()
        .row;
    assert_eq!(row.level, DegreeLevel::Bachelor);
    let legacy = Declared {
        certificate_number: "10521199906000123".into(),
        graduation_date: "1999-07-01".into(),
        ..declared(502)
    };
    let new = pledged(&p.db, legacy);
    let row = cases::create(&mut p.db.conn, &p.owner, now(), &new)
        .unwrap()
        .row;
    assert_eq!(row.certificate_number, "10521199906000123");
}

#[test]
fn a_certificate_number_on_file_is_a_titled_conflict_that_says_whose_it_is() {
    let mut p = people();
    let first = draft(&mut p.db, &p.owner, 500);
    let again = pledged(&p.db, declared(500));

    let (title, code, own) =
        conflict_titled(cases::create(&mut p.db.conn, &p.owner, now(), &again));
    assert_eq!(title, "Certificate number already registered");
    assert_eq!(code, "state.conflict");
    assert!(own.contains("you have already registered"), "{own}");
    assert!(own.contains(&number("06", 500)), "{own}");

    let (title, code, theirs) =
        conflict_titled(cases::create(&mut p.db.conn, &p.neighbour, now(), &again));
    assert_eq!(title, "Certificate number already registered");
    assert_eq!(code, "state.conflict");
    assert!(theirs.contains("registered to another account"), "{theirs}");
    assert!(theirs.contains(&number("06", 500)), "{theirs}");
    assert_ne!(own, theirs);

    // The number is compared as stored (trimmed).
    let spaced = pledged(
        &p.db,
        Declared {
            certificate_number: format!("  {}", number("06", 500)),
            ..declared(500)
        },
    );
    conflict_titled(cases::create(&mut p.db.conn, &p.outsider, now(), &spaced));

    assert_eq!(stored_count(&mut p.db), 1, "only the first is stored");
    assert_eq!(history(&mut p.db, first.id).len(), 1);
}

#[test]
fn only_candidates_create_prior_degrees() {
    let mut p = people();
    let new = pledged(&p.db, declared(500));
    for actor in [&p.staff, &p.admin, &p.verifier, &p.reader] {
        forbidden(cases::create(&mut p.db.conn, actor, now(), &new));
    }
    assert_eq!(stored_count(&mut p.db), 0);
}

#[test]
fn no_prior_degree_is_created_outside_the_prior_degree_window() {
    let mut p = people();
    let new = pledged(&p.db, declared(500));
    for at in [
        before_the_round(&p.db),
        after_the_prior_degree_window(&p.db),
        after_the_round(&p.db),
    ] {
        let refused = cases::create(&mut p.db.conn, &p.owner, at, &new);
        assert_eq!(rule(refused), "window.closed", "{at}");
    }
    assert_eq!(stored_count(&mut p.db), 0);
}

#[test]
fn the_holder_may_modify_and_submit_a_draft_only_while_the_window_is_open() {
    let mut p = people();
    let id = draft(&mut p.db, &p.owner, 500).id;
    assert_eq!(
        actions(&mut p.db, &p.owner, id, now()),
        [A::Modify, A::Submit]
    );
    let closed = after_the_prior_degree_window(&p.db);
    assert!(actions(&mut p.db, &p.owner, id, closed).is_empty());
    let gone = after_the_round(&p.db);
    assert!(actions(&mut p.db, &p.owner, id, gone).is_empty());
    // Readers who are not the holder never modify or submit; a draft is not verified.
    for reader in [&p.staff, &p.admin, &p.verifier] {
        assert!(actions(&mut p.db, reader, id, now()).is_empty());
    }

    submit(&mut p.db, &p.owner, id);
    assert!(actions(&mut p.db, &p.owner, id, now()).is_empty());
    for verifier in [&p.staff, &p.admin, &p.verifier] {
        assert_eq!(actions(&mut p.db, verifier, id, now()), [A::Verify]);
        assert_eq!(actions(&mut p.db, verifier, id, gone), [A::Verify]);
    }
}

// ---------------------------------------------------------------------------
// get, list, of_candidate, history
// ---------------------------------------------------------------------------

#[test]
fn a_prior_degree_is_read_by_its_holder_the_schools_staff_admins_and_verifying_services() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    for reader in [&p.owner, &p.staff, &p.admin, &p.verifier] {
        let shown = cases::get(&mut p.db.conn, reader, now(), id).unwrap();
        assert_eq!(shown.row.id, id);
        let rows = cases::history(&mut p.db.conn, reader, id).unwrap();
        assert_eq!(rows.len(), 2, "{:?}", reader.role);
    }
    for stranger in [&p.neighbour, &p.outsider, &p.other_staff, &p.reader] {
        not_found(cases::get(&mut p.db.conn, stranger, now(), id));
        not_found(cases::history(&mut p.db.conn, stranger, id));
    }
    not_found(cases::get(&mut p.db.conn, &p.admin, now(), Uuid::now_v7()));
    not_found(cases::history(&mut p.db.conn, &p.admin, Uuid::now_v7()));
}

#[test]
fn a_list_shows_each_actor_exactly_what_it_may_see() {
    let mut p = people();
    let schoolless = p.db.candidate(4, None, PHARMACY);
    let mine_draft = draft(&mut p.db, &p.owner, 500).id;
    let mine_submitted = submitted(&mut p.db, &p.owner, 501).id;
    let neighbours = submitted(&mut p.db, &p.neighbour, 502).id;
    let homeless = draft(&mut p.db, &schoolless, 503).id;

    let mut list = |actor: &Actor, status: Option<S>| {
        let (shown, total) = cases::list(&mut p.db.conn, actor, now(), status, (0, 50)).unwrap();
        assert_eq!(total, shown.len() as i64);
        ids(&shown)
    };
    // Newest first.
    assert_eq!(list(&p.owner, None), [mine_submitted, mine_draft]);
    assert_eq!(list(&p.neighbour, None), [neighbours]);
    assert_eq!(list(&schoolless, None), [homeless]);
    assert!(list(&p.outsider, None).is_empty());
    assert_eq!(
        list(&p.staff, None),
        [neighbours, mine_submitted, mine_draft]
    );
    assert!(
        list(&p.other_staff, None).is_empty(),
        "another school's staff"
    );
    let everyone = [homeless, neighbours, mine_submitted, mine_draft];
    assert_eq!(list(&p.admin, None), everyone);
    assert_eq!(list(&p.verifier, None), everyone);
    assert!(list(&p.reader, None).is_empty(), "outbox:read reads none");

    // The status filter narrows within what the actor sees.
    assert_eq!(
        list(&p.staff, Some(S::Submitted)),
        [neighbours, mine_submitted]
    );
    assert_eq!(list(&p.staff, Some(S::Draft)), [mine_draft]);
    assert_eq!(list(&p.admin, Some(S::Draft)), [homeless, mine_draft]);
    assert_eq!(list(&p.owner, Some(S::Submitted)), [mine_submitted]);
    assert!(list(&p.owner, Some(S::Effective)).is_empty());

    // A page, with the total of all.
    let (page, total) = cases::list(&mut p.db.conn, &p.staff, now(), None, (1, 1)).unwrap();
    assert_eq!(ids(&page), [mine_submitted]);
    assert_eq!(total, 3);

    // Each row carries the actor's actions.
    let (shown, _) = cases::list(&mut p.db.conn, &p.owner, now(), None, (0, 50)).unwrap();
    let acts: Vec<Vec<A>> = shown.into_iter().map(|s| s.actions).collect();
    assert_eq!(acts, [vec![], vec![A::Modify, A::Submit]]);
    let (shown, _) = cases::list(&mut p.db.conn, &p.staff, now(), None, (0, 50)).unwrap();
    let acts: Vec<Vec<A>> = shown.into_iter().map(|s| s.actions).collect();
    assert_eq!(acts, [vec![A::Verify], vec![A::Verify], vec![]]);
}

#[test]
fn of_candidate_lists_one_candidates_degrees_newest_first_with_the_callers_actions() {
    let mut p = people();
    let older = draft(&mut p.db, &p.owner, 500).id;
    let newer = submitted(&mut p.db, &p.owner, 501).id;
    submitted(&mut p.db, &p.neighbour, 502);

    let shown = cases::of_candidate(&mut p.db.conn, &p.staff, now(), p.owner.id).unwrap();
    assert_eq!(ids(&shown), [newer, older]);
    assert_eq!(shown[0].actions, [A::Verify]);
    assert!(shown[1].actions.is_empty());
    let shown = cases::of_candidate(&mut p.db.conn, &p.admin, now(), p.owner.id).unwrap();
    assert_eq!(ids(&shown), [newer, older]);
    assert!(
        cases::of_candidate(&mut p.db.conn, &p.admin, now(), p.outsider.id)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn of_candidate_is_for_the_candidates_school_staff_and_admins_only() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    let shown = cases::of_candidate(&mut p.db.conn, &p.staff, now(), p.owner.id).unwrap();
    assert_eq!(ids(&shown), [id]);
    assert_eq!(shown[0].actions, [A::Verify]);
    for stranger in [&p.other_staff, &p.owner] {
        let refused = cases::of_candidate(&mut p.db.conn, stranger, now(), p.owner.id);
        assert!(
            matches!(refused, Err(Refusal::NotFound(_))),
            "{stranger:?}: {refused:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// update
// ---------------------------------------------------------------------------

#[test]
fn an_update_changes_the_declared_fields_and_records_which() {
    let mut p = people();
    let created = draft(&mut p.db, &p.owner, 500);
    let at = now() + TimeDelta::minutes(5);
    let changes = DegreeChanges {
        school_name: Some(" 湖北职业技术学院（医学院） ".into()),
        major_name: Some("药品经营与管理".into()),
        ..DegreeChanges::default()
    };
    let updated = cases::update(
        &mut p.db.conn,
        &p.owner,
        at,
        (created.id, Some(1)),
        &changes,
    )
    .unwrap();
    let row = &updated.row;
    assert_eq!(row.status, S::Draft);
    assert_eq!(row.version, 2);
    assert_eq!(row.school_name, "湖北职业技术学院（医学院）");
    assert_eq!(row.major_name, "药品经营与管理");
    assert_eq!(row.certificate_number, created.certificate_number);
    assert_eq!(row.updated_at, at);
    assert_eq!(row.created_at, created.created_at);
    assert_eq!(updated.actions, [A::Modify, A::Submit]);

    // A bachelor: the level and the number change together.
    let changes = DegreeChanges {
        level: Some("bachelor".into()),
        certificate_number: Some(number("05", 500)),
        ..DegreeChanges::default()
    };
    let updated = cases::update(
        &mut p.db.conn,
        &p.owner,
        now(),
        (created.id, None),
        &changes,
    )
    .unwrap();
    assert_eq!(updated.row.level, DegreeLevel::Bachelor);
    assert_eq!(updated.row.version, 3);

    assert_eq!(
        history(&mut p.db, created.id)[1..],
        [
            step(
                "update",
                Some("draft"),
                "draft",
                Some("changed: school_name, major_name")
            ),
            step(
                "update",
                Some("draft"),
                "draft",
                Some("changed: certificate_number, level")
            ),
        ]
    );
    assert!(outbox(&mut p.db).is_empty(), "a change notifies no one");
}

#[test]
fn an_update_that_changes_nothing_writes_nothing() {
    let mut p = people();
    let id = draft(&mut p.db, &p.owner, 500).id;
    let before = written(&mut p.db, id);
    for changes in [
        DegreeChanges::default(),
        DegreeChanges {
            major_name: Some("  药学 ".into()),
            level: Some("专科".into()),
            education_type: Some("普通".into()),
            graduation_date: Some("2016-07-01".into()),
            certificate_number: Some(format!(" {}", number("06", 500))),
            school_name: Some("湖北职业技术学院".into()),
        },
    ] {
        let same = cases::update(&mut p.db.conn, &p.owner, now(), (id, Some(1)), &changes).unwrap();
        assert_eq!(same.row, before.row, "{changes:?}");
        assert_eq!(same.actions, [A::Modify, A::Submit]);
    }
    assert_eq!(
        written(&mut p.db, id),
        before,
        "no history row, same version"
    );
}

#[test]
fn an_update_is_checked_as_a_whole_record() {
    let mut p = people();
    let id = draft(&mut p.db, &p.owner, 500).id;
    let before = written(&mut p.db, id);
    // The level alone no longer matches the stored number.
    let changes = DegreeChanges {
        level: Some("bachelor".into()),
        ..DegreeChanges::default()
    };
    let refused = cases::update(&mut p.db.conn, &p.owner, now(), (id, None), &changes);
    assert_eq!(
        invalid(refused),
        problems(&[("certificate_number", "certificate_number.mismatch")])
    );
    let changes = DegreeChanges {
        school_name: Some(String::new()),
        graduation_date: Some("yesterday".into()),
        ..DegreeChanges::default()
    };
    let refused = cases::update(&mut p.db.conn, &p.owner, now(), (id, None), &changes);
    assert_eq!(
        invalid(refused),
        problems(&[
            ("school_name", "school_name.length"),
            ("graduation_date", "graduation_date.format"),
        ])
    );
    assert_eq!(written(&mut p.db, id), before);
}

#[test]
fn an_update_to_a_number_on_file_is_a_titled_conflict() {
    let mut p = people();
    draft(&mut p.db, &p.owner, 500);
    draft(&mut p.db, &p.neighbour, 501);
    let id = draft(&mut p.db, &p.owner, 502).id;
    let before = written(&mut p.db, id);
    let to = |serial| DegreeChanges {
        certificate_number: Some(number("06", serial)),
        ..DegreeChanges::default()
    };
    let (_, code, own) = conflict_titled(cases::update(
        &mut p.db.conn,
        &p.owner,
        now(),
        (id, None),
        &to(500),
    ));
    assert_eq!(code, "state.conflict");
    assert!(own.contains("you have already registered"), "{own}");
    let (_, code, theirs) = conflict_titled(cases::update(
        &mut p.db.conn,
        &p.owner,
        now(),
        (id, None),
        &to(501),
    ));
    assert_eq!(code, "state.conflict");
    assert!(theirs.contains("registered to another account"), "{theirs}");
    assert_eq!(written(&mut p.db, id), before);
}

#[test]
fn an_update_at_a_stale_version_is_refused_with_the_current_one() {
    let mut p = people();
    let id = draft(&mut p.db, &p.owner, 500).id;
    let changes = DegreeChanges {
        major_name: Some("药品经营与管理".into()),
        ..DegreeChanges::default()
    };
    cases::update(&mut p.db.conn, &p.owner, now(), (id, Some(1)), &changes).unwrap();
    let before = written(&mut p.db, id);
    let again = DegreeChanges {
        major_name: Some("药学".into()),
        ..DegreeChanges::default()
    };
    let refused = cases::update(&mut p.db.conn, &p.owner, now(), (id, Some(1)), &again);
    assert_eq!(stale(refused), Some(2));
    assert_eq!(written(&mut p.db, id), before);
}

#[test]
fn a_submitted_or_effective_degree_cannot_be_modified() {
    let mut p = people();
    let changes = DegreeChanges {
        major_name: Some("药品经营与管理".into()),
        ..DegreeChanges::default()
    };
    let pending = submitted(&mut p.db, &p.owner, 500).id;
    let effective = submitted(&mut p.db, &p.owner, 501).id;
    verify(&mut p.db, &p.staff, effective, "effective", None);
    for id in [pending, effective] {
        let before = written(&mut p.db, id);
        let refused = cases::update(&mut p.db.conn, &p.owner, now(), (id, None), &changes);
        assert_eq!(state_conflict(refused), "state.conflict");
        assert_eq!(written(&mut p.db, id), before);
    }
}

#[test]
fn only_the_holder_modifies_a_prior_degree() {
    let mut p = people();
    let id = draft(&mut p.db, &p.owner, 500).id;
    let before = written(&mut p.db, id);
    let changes = DegreeChanges {
        major_name: Some("药品经营与管理".into()),
        ..DegreeChanges::default()
    };
    for stranger in [&p.neighbour, &p.outsider, &p.other_staff, &p.reader] {
        not_found(cases::update(
            &mut p.db.conn,
            stranger,
            now(),
            (id, None),
            &changes,
        ));
    }
    // Readers who are not the holder may not act for the candidate.
    for reader in [&p.staff, &p.admin, &p.verifier] {
        forbidden(cases::update(
            &mut p.db.conn,
            reader,
            now(),
            (id, None),
            &changes,
        ));
    }
    not_found(cases::update(
        &mut p.db.conn,
        &p.owner,
        now(),
        (Uuid::now_v7(), None),
        &changes,
    ));
    assert_eq!(written(&mut p.db, id), before);
}

// ---------------------------------------------------------------------------
// submit
// ---------------------------------------------------------------------------

#[test]
fn submitting_a_draft_makes_it_submitted_with_a_history_row() {
    let mut p = people();
    let id = draft(&mut p.db, &p.owner, 500).id;
    let at = now() + TimeDelta::minutes(1);
    let shown = cases::submit(&mut p.db.conn, &p.owner, at, (id, Some(1))).unwrap();
    assert_eq!(shown.row.status, S::Submitted);
    assert_eq!(shown.row.version, 2);
    assert_eq!(shown.row.submitted_at, Some(at));
    assert_eq!(shown.row.updated_at, at);
    assert!(shown.actions.is_empty(), "the holder waits for the result");
    assert_eq!(
        history(&mut p.db, id)[1..],
        [step("submit", Some("draft"), "submitted", None)]
    );
    let rows = cases::history(&mut p.db.conn, &p.owner, id).unwrap();
    assert_eq!(rows[1].actor_id, Some(p.owner.id));
    assert_eq!(rows[1].actor_role, "candidate");
    assert!(outbox(&mut p.db).is_empty(), "submitting notifies no one");
}

#[test]
fn a_rejected_degree_is_modified_and_submitted_again_and_its_old_feedback_cleared() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    let rejected = verify(
        &mut p.db,
        &p.staff,
        id,
        "rejected",
        Some("学信网查无此证书"),
    );
    assert_eq!(rejected.status, S::Rejected);
    assert_eq!(
        actions(&mut p.db, &p.owner, id, now()),
        [A::Modify, A::Submit]
    );
    assert!(actions(&mut p.db, &p.staff, id, now()).is_empty());

    let changes = DegreeChanges {
        certificate_number: Some(number("06", 501)),
        ..DegreeChanges::default()
    };
    let changed = cases::update(&mut p.db.conn, &p.owner, now(), (id, Some(3)), &changes)
        .unwrap()
        .row;
    assert_eq!(changed.status, S::Rejected);
    assert_eq!(
        changed.verification_feedback.as_deref(),
        Some("学信网查无此证书"),
        "the feedback stays until the next submission"
    );
    let again = cases::submit(&mut p.db.conn, &p.owner, now(), (id, Some(4)))
        .unwrap()
        .row;
    assert_eq!(again.status, S::Submitted);
    assert_eq!(again.version, 5);
    assert_eq!(again.verification_feedback, None);
    assert_eq!(again.verified_at, None);
    assert_eq!(again.verified_by, None);
    assert_eq!(
        history(&mut p.db, id),
        [
            step(
                "create",
                None,
                "draft",
                Some(&format!("pledge {}", p.db.round.pledge.version()))
            ),
            step("submit", Some("draft"), "submitted", None),
            step(
                "verify",
                Some("submitted"),
                "rejected",
                Some("学信网查无此证书")
            ),
            step(
                "update",
                Some("rejected"),
                "rejected",
                Some("changed: certificate_number")
            ),
            step("submit", Some("rejected"), "submitted", None),
        ]
    );
    // And verified again.
    let effective = verify(&mut p.db, &p.staff, id, "effective", None);
    assert_eq!(effective.status, S::Effective);
}

#[test]
fn an_effective_degree_is_final() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    verify(&mut p.db, &p.staff, id, "effective", None);
    let before = written(&mut p.db, id);
    assert_eq!(
        state_conflict(cases::submit(&mut p.db.conn, &p.owner, now(), (id, None))),
        "state.conflict"
    );
    for (result, feedback) in [("effective", None), ("rejected", Some("撤销"))] {
        let refused = cases::verify(
            &mut p.db.conn,
            &p.admin,
            now(),
            (id, None),
            (result, feedback),
        );
        assert_eq!(state_conflict(refused), "state.conflict");
    }
    assert!(actions(&mut p.db, &p.owner, id, now()).is_empty());
    assert!(actions(&mut p.db, &p.staff, id, now()).is_empty());
    assert_eq!(written(&mut p.db, id), before);
}

#[test]
fn a_submitted_degree_is_not_submitted_twice() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    let before = written(&mut p.db, id);
    let (_, code, en) = conflict_titled(cases::submit(&mut p.db.conn, &p.owner, now(), (id, None)));
    assert_eq!(code, "state.conflict");
    assert!(en.ends_with("it is submitted"), "{en}");
    assert_eq!(written(&mut p.db, id), before);
}

#[test]
fn only_the_holder_submits_at_the_version_read() {
    let mut p = people();
    let id = draft(&mut p.db, &p.owner, 500).id;
    let before = written(&mut p.db, id);
    for stranger in [&p.neighbour, &p.outsider, &p.other_staff, &p.reader] {
        not_found(cases::submit(&mut p.db.conn, stranger, now(), (id, None)));
    }
    for reader in [&p.staff, &p.admin, &p.verifier] {
        forbidden(cases::submit(&mut p.db.conn, reader, now(), (id, None)));
    }
    assert_eq!(
        stale(cases::submit(
            &mut p.db.conn,
            &p.owner,
            now(),
            (id, Some(7))
        )),
        Some(1)
    );
    assert_eq!(written(&mut p.db, id), before);
}

#[test]
fn nothing_is_changed_or_submitted_outside_the_window() {
    let mut p = people();
    let draft_id = draft(&mut p.db, &p.owner, 500).id;
    let rejected_id = submitted(&mut p.db, &p.owner, 501).id;
    verify(
        &mut p.db,
        &p.staff,
        rejected_id,
        "rejected",
        Some("姓名不符"),
    );
    let changes = DegreeChanges {
        major_name: Some("药品经营与管理".into()),
        ..DegreeChanges::default()
    };
    for id in [draft_id, rejected_id] {
        let before = written(&mut p.db, id);
        for at in [after_the_prior_degree_window(&p.db), after_the_round(&p.db)] {
            let refused = cases::update(&mut p.db.conn, &p.owner, at, (id, None), &changes);
            assert_eq!(rule(refused), "window.closed", "update at {at}");
            let refused = cases::submit(&mut p.db.conn, &p.owner, at, (id, None));
            assert_eq!(rule(refused), "window.closed", "submit at {at}");
        }
        assert_eq!(written(&mut p.db, id), before);
    }
}

// ---------------------------------------------------------------------------
// verify
// ---------------------------------------------------------------------------

#[test]
fn staff_of_the_school_record_a_result_with_a_history_row_and_a_notification() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    let at = now() + TimeDelta::minutes(3);
    let shown = cases::verify(
        &mut p.db.conn,
        &p.staff,
        at,
        (id, Some(2)),
        ("effective", Some("  ")),
    )
    .unwrap();
    let row = &shown.row;
    assert_eq!(row.status, S::Effective);
    assert_eq!(row.version, 3);
    assert_eq!(row.verification_feedback, None, "blank feedback is none");
    assert_eq!(row.verified_at, Some(at));
    assert_eq!(row.verified_by, Some(p.staff.id));
    assert!(shown.actions.is_empty());

    let rows = cases::history(&mut p.db.conn, &p.staff, id).unwrap();
    let last = rows.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.from_status.as_deref()),
        ("verify", Some("submitted"))
    );
    assert_eq!(last.to_status.as_deref(), Some("effective"));
    assert_eq!(last.note, None);
    assert_eq!(last.actor_id, Some(p.staff.id));
    assert_eq!(last.actor_role, "staff");

    let sent = outbox(&mut p.db);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (kind, to, payload) = &sent[0];
    assert_eq!(kind, "verification_result");
    assert_eq!(*to, p.owner.id, "for the holder");
    assert_eq!(payload["prior_degree_id"], id.to_string());
    assert_eq!(payload["certificate_number"], number("06", 500));
    assert_eq!(payload["status"], "effective");
    assert_eq!(payload["status_label"], "已生效");
    assert_eq!(payload["feedback"], serde_json::Value::Null);
    assert!(payload["verified_at"].is_string(), "{payload}");
}

#[test]
fn admins_and_verifying_services_record_results_for_any_school() {
    let mut p = people();
    let owners = submitted(&mut p.db, &p.owner, 500).id;
    let outsiders = submitted(&mut p.db, &p.outsider, 501).id;

    let rejected = verify(
        &mut p.db,
        &p.admin,
        owners,
        "rejected",
        Some(" 毕业年份有误 "),
    );
    assert_eq!(rejected.status, S::Rejected);
    assert_eq!(
        rejected.verification_feedback.as_deref(),
        Some("毕业年份有误")
    );
    assert_eq!(rejected.verified_by, Some(p.admin.id));
    let effective = verify(&mut p.db, &p.verifier, outsiders, "effective", None);
    assert_eq!(effective.status, S::Effective);
    assert_eq!(effective.verified_by, Some(p.verifier.id));

    assert_eq!(
        history(&mut p.db, owners).last().unwrap(),
        &step(
            "verify",
            Some("submitted"),
            "rejected",
            Some("毕业年份有误")
        )
    );
    let rows = cases::history(&mut p.db.conn, &p.verifier, outsiders).unwrap();
    assert_eq!(rows.last().unwrap().actor_role, "integration");

    let sent = outbox(&mut p.db);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].1, p.owner.id);
    assert_eq!(sent[0].2["status"], "rejected");
    assert_eq!(sent[0].2["status_label"], "核验未通过");
    assert_eq!(sent[0].2["feedback"], "毕业年份有误");
    assert_eq!(sent[1].1, p.outsider.id);
    assert_eq!(sent[1].2["status"], "effective");
    assert!(
        sent.iter()
            .all(|(kind, _, _)| kind == "verification_result")
    );
}

#[test]
fn a_rejection_needs_feedback_and_the_result_must_be_effective_or_rejected() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    let before = written(&mut p.db, id);
    let long = "长".repeat(1001);
    for (result, feedback, field, code) in [
        ("rejected", None, "feedback", "verification.feedback"),
        ("rejected", Some("   "), "feedback", "verification.feedback"),
        (
            "effective",
            Some(long.as_str()),
            "feedback",
            "verification.feedback",
        ),
        ("valid", None, "result", "verification.result"),
        ("", Some("ok"), "result", "verification.result"),
    ] {
        let refused = cases::verify(
            &mut p.db.conn,
            &p.staff,
            now(),
            (id, None),
            (result, feedback),
        );
        assert_eq!(
            invalid(refused),
            problems(&[(field, code)]),
            "{result:?} {feedback:?}"
        );
    }
    assert_eq!(written(&mut p.db, id), before);

    // checked_result is the same check, for the batch.
    assert_eq!(
        cases::checked_result(" rejected ", Some(" 查无此证 ")).unwrap(),
        (VerificationResult::Rejected, Some("查无此证".to_owned()))
    );
    assert_eq!(
        cases::checked_result("effective", None).unwrap(),
        (VerificationResult::Effective, None)
    );
    assert_eq!(
        cases::checked_result("rejected", None).unwrap_err().0,
        "feedback"
    );
    assert_eq!(cases::checked_result("ok", None).unwrap_err().0, "result");
}

#[test]
fn only_a_submitted_degree_is_verified() {
    let mut p = people();
    let draft_id = draft(&mut p.db, &p.owner, 500).id;
    let effective_id = submitted(&mut p.db, &p.owner, 501).id;
    verify(&mut p.db, &p.staff, effective_id, "effective", None);
    let rejected_id = submitted(&mut p.db, &p.owner, 502).id;
    verify(
        &mut p.db,
        &p.staff,
        rejected_id,
        "rejected",
        Some("查无此证"),
    );
    for (id, status) in [
        (draft_id, "draft"),
        (effective_id, "effective"),
        (rejected_id, "rejected"),
    ] {
        let before = written(&mut p.db, id);
        let refused = cases::verify(
            &mut p.db.conn,
            &p.staff,
            now(),
            (id, None),
            ("effective", None),
        );
        let (title, code, en) = conflict_titled(refused);
        assert_eq!(title, "State conflict");
        assert_eq!(code, "state.conflict");
        assert!(en.ends_with(&format!("it is {status}")), "{en}");
        assert_eq!(written(&mut p.db, id), before, "{status}");
    }
}

#[test]
fn another_schools_staff_do_not_find_it_and_non_verifiers_are_forbidden() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    let before = written(&mut p.db, id);
    let verdict = ("effective", None);
    not_found(cases::verify(
        &mut p.db.conn,
        &p.other_staff,
        now(),
        (id, None),
        verdict,
    ));
    // Who may verify nothing at all is refused before the record is looked at,
    // the holder included.
    for nobody in [&p.reader, &p.owner, &p.neighbour, &p.outsider] {
        forbidden(cases::require_verifier(nobody));
        forbidden(cases::verify(
            &mut p.db.conn,
            nobody,
            now(),
            (id, None),
            verdict,
        ));
    }
    for verifier in [&p.staff, &p.other_staff, &p.admin, &p.verifier] {
        cases::require_verifier(verifier).unwrap();
    }
    // An unknown id, and a stale version.
    not_found(cases::verify(
        &mut p.db.conn,
        &p.admin,
        now(),
        (Uuid::now_v7(), None),
        verdict,
    ));
    assert_eq!(
        stale(cases::verify(
            &mut p.db.conn,
            &p.staff,
            now(),
            (id, Some(1)),
            verdict
        )),
        Some(2)
    );
    assert_eq!(written(&mut p.db, id), before, "a refusal writes nothing");
}

#[test]
fn verification_is_not_bound_to_the_window() {
    let mut p = people();
    let late = submitted(&mut p.db, &p.owner, 500).id;
    let later = submitted(&mut p.db, &p.owner, 501).id;
    let at = after_the_prior_degree_window(&p.db);
    let row = cases::verify(
        &mut p.db.conn,
        &p.staff,
        at,
        (late, None),
        ("effective", None),
    )
    .unwrap()
    .row;
    assert_eq!(row.status, S::Effective);
    let at = after_the_round(&p.db);
    let shown = cases::verify(
        &mut p.db.conn,
        &p.verifier,
        at,
        (later, None),
        ("rejected", Some("查无此证")),
    )
    .unwrap();
    assert_eq!(shown.row.status, S::Rejected);
    assert!(
        shown.actions.is_empty(),
        "a service account never modifies the candidate's record"
    );
    assert!(
        actions(&mut p.db, &p.owner, later, at).is_empty(),
        "with the window closed the holder cannot correct it"
    );
    assert_eq!(outbox(&mut p.db).len(), 2);
}

#[test]
fn a_verification_whose_notification_fails_writes_nothing() {
    // The status, the history row and the outbox row are one transaction: make the
    // outbox refuse rows and the whole verification is rolled back.
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    let before = written(&mut p.db, id);
    p.db.conn
        .batch_execute(
            "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$;
             CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox
               FOR EACH ROW EXECUTE FUNCTION refuse_outbox();",
        )
        .expect("install the trigger");
    let refused = cases::verify(
        &mut p.db.conn,
        &p.staff,
        now(),
        (id, None),
        ("effective", None),
    );
    assert!(matches!(refused, Err(Refusal::Db(_))), "{refused:?}");
    assert_eq!(written(&mut p.db, id), before);
    p.db.conn
        .batch_execute("DROP TRIGGER refuse_outbox ON outbox;")
        .unwrap();
    let row = verify(&mut p.db, &p.staff, id, "effective", None);
    assert_eq!(row.version, 3);
    assert_eq!(history(&mut p.db, id).len(), 3);
    assert_eq!(outbox(&mut p.db).len(), 1);
}

// ---------------------------------------------------------------------------
// verify_by_number
// ---------------------------------------------------------------------------

#[test]
fn verify_by_number_finds_the_degree_by_its_certificate_number() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    let other = submitted(&mut p.db, &p.owner, 501).id;
    let first = CertificateNumber::parse(&number("06", 500)).unwrap();
    let row = cases::verify_by_number(
        &mut p.db.conn,
        &p.staff,
        now(),
        &first,
        (VerificationResult::Rejected, Some("毕业证书信息不符")),
    )
    .unwrap();
    assert_eq!(row.id, id);
    assert_eq!(row.status, S::Rejected);
    assert_eq!(
        row.verification_feedback.as_deref(),
        Some("毕业证书信息不符")
    );
    assert_eq!(row.verified_by, Some(p.staff.id));
    assert_eq!(row.version, 3);
    assert_eq!(
        history(&mut p.db, id).last().unwrap(),
        &step(
            "verify",
            Some("submitted"),
            "rejected",
            Some("毕业证书信息不符")
        )
    );
    let sent = outbox(&mut p.db);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "verification_result");
    assert_eq!(sent[0].1, p.owner.id);
    assert_eq!(sent[0].2["prior_degree_id"], id.to_string());
    assert_eq!(row_status(&mut p.db, other), S::Submitted, "only that one");

    // A service account, after the window, and a number no longer pending.
    let second = CertificateNumber::parse(&number("06", 501)).unwrap();
    let at = after_the_round(&p.db);
    let row = cases::verify_by_number(
        &mut p.db.conn,
        &p.verifier,
        at,
        &second,
        (VerificationResult::Effective, None),
    )
    .unwrap();
    assert_eq!(row.status, S::Effective);
    let before = written(&mut p.db, other);
    let refused = cases::verify_by_number(
        &mut p.db.conn,
        &p.verifier,
        now(),
        &second,
        (VerificationResult::Effective, None),
    );
    assert_eq!(state_conflict(refused), "state.conflict");
    assert_eq!(written(&mut p.db, other), before);
}

fn row_status(db: &mut UseCaseDb, id: Uuid) -> S {
    row(db, id).status
}

#[test]
fn verify_by_number_of_an_unknown_or_another_schools_number_is_not_found_naming_it() {
    let mut p = people();
    let id = submitted(&mut p.db, &p.owner, 500).id;
    let before = written(&mut p.db, id);
    let verdict = (VerificationResult::Effective, None);

    let unknown = CertificateNumber::parse(&number("06", 999)).unwrap();
    let en = not_found_en(cases::verify_by_number(
        &mut p.db.conn,
        &p.admin,
        now(),
        &unknown,
        verdict,
    ));
    assert!(en.contains(&number("06", 999)), "{en}");

    let theirs = CertificateNumber::parse(&number("06", 500)).unwrap();
    for stranger in [&p.other_staff, &p.reader, &p.owner] {
        let en = not_found_en(cases::verify_by_number(
            &mut p.db.conn,
            stranger,
            now(),
            &theirs,
            verdict,
        ));
        assert!(en.contains(&number("06", 500)), "{en}");
    }
    assert_eq!(written(&mut p.db, id), before);
}

// ---------------------------------------------------------------------------
// for_eligibility
// ---------------------------------------------------------------------------

#[test]
fn for_eligibility_gives_a_degree_only_to_who_may_read_it() {
    let mut p = people();
    let id =
        p.db.prior_degree(&p.owner, "associate", "药学", "effective", &p.staff);
    for reader in [&p.owner, &p.staff, &p.admin, &p.verifier] {
        let row = cases::for_eligibility(&mut p.db.conn, reader, id).unwrap();
        assert_eq!(row.id, id);
        assert_eq!(row.status, S::Effective);
    }
    for stranger in [&p.neighbour, &p.outsider, &p.other_staff, &p.reader] {
        not_found(cases::for_eligibility(&mut p.db.conn, stranger, id));
    }
    not_found(cases::for_eligibility(
        &mut p.db.conn,
        &p.owner,
        Uuid::now_v7(),
    ));
}
