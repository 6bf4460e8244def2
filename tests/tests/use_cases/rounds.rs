//! Rounds (R3, R6, R18), called without HTTP: an admin creates one pinned to the
//! current catalogue version (every bad field at once; a titled conflict before
//! any catalogue) and changes parts of it under optimistic concurrency, without
//! ever moving it to another catalogue version; everyone lists them and reads the
//! current one.

use api::access::Actor;
use api::use_cases::catalogue::{self, SAMPLE_CATALOG};
use api::use_cases::rounds::{self as cases, RoundForm, RoundPatchForm, WindowForm};
use api::use_cases::{Outcome, Refusal};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use domain::account::{Role, Scope};
use persistence::rounds::RoundRecord;
use tests::UseCaseDb;
use uuid::Uuid;

use crate::support::{
    World, actor_of_role, conflict_titled, empty, forbidden, invalid, not_found, problems, world,
};

// ---------------------------------------------------------------------------
// The world and its helpers
// ---------------------------------------------------------------------------

/// The sample world with an admin and a service account besides the candidate
/// and the staff.
struct People {
    db: UseCaseDb,
    admin: Actor,
    staff: Actor,
    candidate: Actor,
    service: Actor,
}

fn people() -> People {
    let World {
        mut db,
        owner: candidate,
        staff,
    } = world();
    let admin = db.admin("admin");
    let service = db.service_account("chsi-sync", &[Scope::VerificationWrite]);
    People {
        db,
        admin,
        staff,
        candidate,
        service,
    }
}

/// Now, at the database's precision (microseconds), so stored instants compare
/// equal.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

/// A window from `at + opens` to `at + closes`.
fn window(at: DateTime<Utc>, opens: TimeDelta, closes: TimeDelta) -> WindowForm {
    (at + opens, at + closes)
}

fn pledge(version: &str) -> (String, String) {
    (version.into(), "本人承诺所填学历信息真实、准确。".into())
}

/// A valid round named `name` with these windows and pledge `2026-1`.
fn form(name: &str, prior: WindowForm, certification: WindowForm) -> RoundForm {
    RoundForm {
        name: name.into(),
        prior_degree_window: prior,
        certification_window: certification,
        pledge: pledge("2026-1"),
    }
}

/// A valid round whose windows are open for the next 30 days from `at`.
fn open_form(name: &str, at: DateTime<Utc>) -> RoundForm {
    let w = window(at, days(-1), days(30));
    form(name, w, w)
}

fn create(db: &mut UseCaseDb, actor: &Actor, form: &RoundForm) -> Outcome<RoundRecord> {
    cases::create(&mut db.conn, actor, form, now())
}

fn update(
    db: &mut UseCaseDb,
    actor: &Actor,
    target: (Uuid, Option<i32>),
    patch: &RoundPatchForm,
) -> Outcome<RoundRecord> {
    cases::update(&mut db.conn, actor, target, patch, now())
}

/// The stored round, read directly.
fn stored(db: &mut UseCaseDb, id: Uuid) -> RoundRecord {
    persistence::rounds::get(&mut db.conn, id).unwrap()
}

fn round_count(db: &mut UseCaseDb) -> i64 {
    cases::list(&mut db.conn, (0, 1)).unwrap().1
}

/// Imports the sample catalogue again under another label (as the service, no
/// actor); returns the new version.
fn import_again(db: &mut UseCaseDb, label: &str) -> i64 {
    let mut document: serde_json::Value = serde_json::from_str(SAMPLE_CATALOG).unwrap();
    document["label"] = label.into();
    let valid = catalogue::parse_document(document.to_string().as_bytes()).unwrap();
    catalogue::import(&mut db.conn, None, &db.catalog, &valid)
        .unwrap()
        .version_id
}

fn current_version(db: &mut UseCaseDb) -> i64 {
    persistence::catalog::current_version_id(&mut db.conn)
        .unwrap()
        .unwrap()
}

#[track_caller]
fn stale<T: std::fmt::Debug>(outcome: Outcome<T>) -> Option<i32> {
    match outcome {
        Err(Refusal::Stale(current)) => current,
        other => panic!("expected Stale, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------

#[test]
fn an_admin_creates_a_round_pinned_to_the_current_catalogue_version() {
    let mut p = people();
    let demo_version = p.db.round.catalog_version_id;
    let newer = import_again(&mut p.db, "2026 年目录");
    assert!(newer > demo_version);

    let at = now();
    let prior = window(at, days(1), days(20));
    let certification = window(at, days(21), days(40));
    let mut new = form("  2026年上半年  ", prior, certification);
    new.pledge = pledge(" 2026-spring-1 ");
    let created = cases::create(&mut p.db.conn, &p.admin, &new, at).unwrap();

    assert_eq!(created.name, "2026年上半年", "the name is trimmed");
    assert_eq!(
        (
            created.prior_degree_window.opens_at(),
            created.prior_degree_window.closes_at()
        ),
        prior
    );
    assert_eq!(
        (
            created.certification_window.opens_at(),
            created.certification_window.closes_at()
        ),
        certification
    );
    assert_eq!(created.pledge.version(), "2026-spring-1");
    assert_eq!(created.pledge.text(), "本人承诺所填学历信息真实、准确。");
    assert_eq!(created.catalog_version_id, newer, "the current version");
    assert_eq!((created.created_at, created.updated_at), (at, at));
    assert_eq!(created.version, 1);
    assert_eq!(stored(&mut p.db, created.id), created);
    let demo = p.db.round.id;
    assert_eq!(
        stored(&mut p.db, demo).catalog_version_id,
        demo_version,
        "the demo round stays on its version"
    );
    assert_eq!(round_count(&mut p.db), 2);
}

#[test]
fn only_admins_create_rounds() {
    let mut p = people();
    let new = open_form("2026年上半年", now());
    for nobody in [&p.staff, &p.candidate, &p.service] {
        forbidden(create(&mut p.db, nobody, &new));
    }
    // Refused before the form is looked at.
    let mut bad = new.clone();
    bad.name = String::new();
    forbidden(create(&mut p.db, &p.staff, &bad));
    assert_eq!(round_count(&mut p.db), 1, "only the demo round");
}

#[test]
fn every_bad_field_of_a_new_round_is_reported_at_once_and_nothing_stored() {
    let mut p = people();
    let at = now();
    let bad = RoundForm {
        name: "   ".into(),
        prior_degree_window: (at, at - TimeDelta::seconds(1)),
        certification_window: (at, at),
        pledge: pledge(""),
    };
    assert_eq!(
        invalid(create(&mut p.db, &p.admin, &bad)),
        problems(&[
            ("name", "round.name"),
            ("prior_degree_window", "window.invalid"),
            ("certification_window", "window.invalid"),
            ("pledge", "pledge.version"),
        ])
    );

    // One bad field alone: a name over 100 characters, a blank pledge text, a
    // pledge version over 50 characters.
    let mut long = open_form(&"名".repeat(101), at);
    assert_eq!(
        invalid(create(&mut p.db, &p.admin, &long)),
        problems(&[("name", "round.name")])
    );
    let mut textless = open_form("2026年上半年", at);
    textless.pledge = ("2026-1".into(), " \n".into());
    assert_eq!(
        invalid(create(&mut p.db, &p.admin, &textless)),
        problems(&[("pledge", "pledge.text")])
    );
    let mut versioned = open_form("2026年上半年", at);
    versioned.pledge = pledge(&"v".repeat(51));
    assert_eq!(
        invalid(create(&mut p.db, &p.admin, &versioned)),
        problems(&[("pledge", "pledge.version")])
    );
    assert_eq!(round_count(&mut p.db), 1, "nothing stored");

    // 100 characters are enough.
    long.name = "名".repeat(100);
    let created = create(&mut p.db, &p.admin, &long).unwrap();
    assert_eq!(created.name.chars().count(), 100);
}

#[test]
fn a_round_before_any_catalogue_is_a_titled_state_conflict() {
    let mut db = empty();
    let admin = actor_of_role(Role::Admin);
    let new = open_form("2026年上半年", now());
    let (title, code, message) = conflict_titled(cases::create(&mut db.conn, &admin, &new, now()));
    assert_eq!(title, "No catalogue yet");
    assert_eq!(code, "state.conflict");
    assert!(message.contains("import a catalogue"), "{message}");
    assert_eq!(cases::list(&mut db.conn, (0, 10)).unwrap(), (vec![], 0));
}

// ---------------------------------------------------------------------------
// update
// ---------------------------------------------------------------------------

#[test]
fn a_partial_change_keeps_the_other_parts_and_bumps_the_version() {
    let mut p = people();
    let before = p.db.round.clone();

    let renamed = update(
        &mut p.db,
        &p.admin,
        (before.id, Some(1)),
        &RoundPatchForm {
            name: Some(" 2026年上半年（正式） ".into()),
            ..RoundPatchForm::default()
        },
    )
    .unwrap();
    assert_eq!(renamed.name, "2026年上半年（正式）");
    assert_eq!(renamed.prior_degree_window, before.prior_degree_window);
    assert_eq!(renamed.certification_window, before.certification_window);
    assert_eq!(renamed.pledge, before.pledge);
    assert_eq!(renamed.created_at, before.created_at);
    assert!(renamed.updated_at > before.updated_at);
    assert_eq!(renamed.version, 2);
    assert_eq!(stored(&mut p.db, before.id), renamed);

    // Only the certification window and the pledge now: the new name stays.
    let at = now();
    let certification = window(at, days(-2), days(10));
    let changed = update(
        &mut p.db,
        &p.admin,
        (before.id, Some(2)),
        &RoundPatchForm {
            certification_window: Some(certification),
            pledge: Some(pledge("2026-2")),
            ..RoundPatchForm::default()
        },
    )
    .unwrap();
    assert_eq!(changed.name, "2026年上半年（正式）");
    assert_eq!(changed.prior_degree_window, before.prior_degree_window);
    assert_eq!(
        (
            changed.certification_window.opens_at(),
            changed.certification_window.closes_at()
        ),
        certification
    );
    assert_eq!(changed.pledge.version(), "2026-2");
    assert_eq!(changed.version, 3);
    assert_eq!(stored(&mut p.db, before.id), changed);

    // An empty change still counts as a change.
    let untouched = update(
        &mut p.db,
        &p.admin,
        (before.id, None),
        &RoundPatchForm::default(),
    )
    .unwrap();
    assert_eq!(untouched.version, 4);
    assert_eq!(untouched.name, changed.name);
}

#[test]
fn a_stale_version_is_refused_with_the_current_one_and_nothing_changes() {
    let mut p = people();
    let id = p.db.round.id;
    let rename = |name: &str| RoundPatchForm {
        name: Some(name.into()),
        ..RoundPatchForm::default()
    };
    update(&mut p.db, &p.admin, (id, Some(1)), &rename("第一次")).unwrap();
    let at_two = stored(&mut p.db, id);

    // Someone who read version 1 (or a version that never was).
    for expected in [1, 3, 0] {
        let refused = update(&mut p.db, &p.admin, (id, Some(expected)), &rename("第二次"));
        assert_eq!(stale(refused), Some(2), "expected {expected}");
    }
    assert_eq!(stored(&mut p.db, id), at_two, "nothing changed");

    // The current version, or none (whatever is stored), goes through.
    let third = update(&mut p.db, &p.admin, (id, Some(2)), &rename("第二次")).unwrap();
    assert_eq!((third.name.as_str(), third.version), ("第二次", 3));
    let fourth = update(&mut p.db, &p.admin, (id, None), &rename("第三次")).unwrap();
    assert_eq!((fourth.name.as_str(), fourth.version), ("第三次", 4));
    assert_eq!(stored(&mut p.db, id), fourth);
}

#[test]
fn a_bad_change_reports_every_problem_and_changes_nothing() {
    let mut p = people();
    let id = p.db.round.id;
    let at = now();
    let refused = update(
        &mut p.db,
        &p.admin,
        (id, None),
        &RoundPatchForm {
            name: Some(String::new()),
            prior_degree_window: Some(window(at, days(1), days(30))),
            certification_window: Some(window(at, days(3), days(2))),
            pledge: Some(pledge(" ")),
        },
    );
    assert_eq!(
        invalid(refused),
        problems(&[
            ("name", "round.name"),
            ("certification_window", "window.invalid"),
            ("pledge", "pledge.version"),
        ])
    );
    assert_eq!(stored(&mut p.db, id), p.db.round, "nothing changed");
}

#[test]
fn an_unknown_round_is_not_found_and_only_admins_change_rounds() {
    let mut p = people();
    let rename = RoundPatchForm {
        name: Some("改名".into()),
        ..RoundPatchForm::default()
    };
    not_found(update(&mut p.db, &p.admin, (Uuid::now_v7(), None), &rename));
    not_found(update(
        &mut p.db,
        &p.admin,
        (Uuid::now_v7(), Some(1)),
        &rename,
    ));
    let id = p.db.round.id;
    for nobody in [&p.staff, &p.candidate, &p.service] {
        forbidden(update(&mut p.db, nobody, (id, None), &rename));
    }
    assert_eq!(stored(&mut p.db, id), p.db.round, "nothing changed");
}

#[test]
fn a_change_never_moves_the_round_to_another_catalogue_version() {
    let mut p = people();
    let (id, pinned) = (p.db.round.id, p.db.round.catalog_version_id);
    let newer = import_again(&mut p.db, "2026 年目录（修订）");
    assert_eq!(current_version(&mut p.db), newer);
    let at = now();
    let w = window(at, days(-1), days(100));
    let changed = update(
        &mut p.db,
        &p.admin,
        (id, None),
        &RoundPatchForm {
            name: Some("延长的轮次".into()),
            prior_degree_window: Some(w),
            certification_window: Some(w),
            pledge: Some(pledge("2026-3")),
        },
    )
    .unwrap();
    assert_eq!(changed.catalog_version_id, pinned);
    assert_eq!(stored(&mut p.db, id).catalog_version_id, pinned);
    assert_eq!(changed.version, 2);
}

// ---------------------------------------------------------------------------
// list and current
// ---------------------------------------------------------------------------

#[test]
fn rounds_are_listed_newest_first_in_pages_with_the_total() {
    let mut p = people();
    let at = now();
    let first = create(&mut p.db, &p.admin, &open_form("第一轮", at)).unwrap();
    let second = create(&mut p.db, &p.admin, &open_form("第二轮", at)).unwrap();
    let ids = |page: &[RoundRecord]| page.iter().map(|r| r.id).collect::<Vec<_>>();

    let (page, total) = cases::list(&mut p.db.conn, (0, 2)).unwrap();
    assert_eq!((ids(&page), total), (vec![second.id, first.id], 3));
    assert_eq!(page[0], second);
    let (page, total) = cases::list(&mut p.db.conn, (2, 2)).unwrap();
    assert_eq!((ids(&page), total), (vec![p.db.round.id], 3));
    let (page, total) = cases::list(&mut p.db.conn, (3, 2)).unwrap();
    assert_eq!((ids(&page), total), (vec![], 3));
}

#[test]
fn the_current_round_is_the_most_recently_opened_with_a_window_open() {
    let mut p = people();
    // A year on, when the demo round has long closed.
    let base = now() + days(365);
    // A: open since base-10d (prior) and base-3d (certification), until base+10d.
    let a = create(
        &mut p.db,
        &p.admin,
        &form(
            "A",
            window(base, days(-10), days(10)),
            window(base, days(-3), days(5)),
        ),
    )
    .unwrap();
    // B, created later: prior open since base-5d until base+1d; certification
    // from base+2d to base+30d.
    let b = create(
        &mut p.db,
        &p.admin,
        &form(
            "B",
            window(base, days(-5), days(1)),
            window(base, days(2), days(30)),
        ),
    )
    .unwrap();
    // C: prior closed before base; certification from base+1d to base+28d.
    let c = create(
        &mut p.db,
        &p.admin,
        &form(
            "C",
            window(base, days(-20), days(-1)),
            window(base, days(1), days(28)),
        ),
    )
    .unwrap();
    let current = |db: &mut UseCaseDb, at: DateTime<Utc>| cases::current(&mut db.conn, at);

    // At base: A's certification window opened last among the open ones
    // (B's is not open yet, C's prior window closed).
    assert_eq!(current(&mut p.db, base).unwrap(), a);
    // A day and an hour later: C's certification window opened at base+1d.
    assert_eq!(
        current(&mut p.db, base + days(1) + TimeDelta::hours(1))
            .unwrap()
            .id,
        c.id
    );
    // 25 days on A has closed; B's certification window opened after C's.
    assert_eq!(current(&mut p.db, base + days(25)).unwrap().id, b.id);
    // 29 days on only B is open.
    assert_eq!(current(&mut p.db, base + days(29)).unwrap().id, b.id);
    // The closing instant is still inside.
    let closes = b.certification_window.closes_at();
    assert_eq!(current(&mut p.db, closes).unwrap().id, b.id);
    // Now, only the demo round is open.
    assert_eq!(current(&mut p.db, now()).unwrap().id, p.db.round.id);
}

#[test]
fn no_round_open_is_not_found() {
    let mut p = people();
    let end = now() + days(500);
    create(
        &mut p.db,
        &p.admin,
        &form(
            "later",
            window(end, days(-30), days(-20)),
            window(end, days(-10), days(0)),
        ),
    )
    .unwrap();
    // Between the windows of the later round, after the demo round closed.
    not_found(cases::current(&mut p.db.conn, end - days(15)));
    // Past every window.
    not_found(cases::current(
        &mut p.db.conn,
        end + TimeDelta::milliseconds(1),
    ));
    // Before the demo round opened.
    not_found(cases::current(
        &mut p.db.conn,
        p.db.round.created_at - days(2),
    ));
    // No round at all.
    let mut db = empty();
    not_found(cases::current(&mut db.conn, now()));
}
