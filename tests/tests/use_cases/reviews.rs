//! The school's side of an application, called without HTTP (R19): return it to
//! the candidate with a reason, or decide every course; who may, in which status,
//! what each writes, and that a refused one writes nothing.

use api::access::Actor;
use api::use_cases::applications::{self, Application, Change};
use api::use_cases::{Outcome, Refusal, reviews};
use domain::application::ApplicationStatus;
use domain::catalog::CertificateKind::{Cet4, Ncre1, Ncre2};
use tests::UseCaseDb;
use uuid::Uuid;

use crate::support::*;

// ---------------------------------------------------------------------------
// return_to_candidate
// ---------------------------------------------------------------------------

#[test]
fn staff_of_the_school_return_a_submitted_application_with_a_reason_and_its_courses_are_released() {
    let mut w = world();
    let id = submitted(&mut w, Ncre1, &["00018", "00019"]).row.id;
    let returned = reviews::return_to_candidate(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, Some(2)),
        "  证书编号有误 ",
    )
    .unwrap();
    assert_eq!(returned.row.status, ApplicationStatus::Returned);
    assert_eq!(returned.row.version, 3);
    assert_eq!(returned.row.return_reason.as_deref(), Some("证书编号有误"));
    assert_eq!(
        live(&mut w.db, id),
        [false, false],
        "its courses are released"
    );

    let rows = applications::history(&mut w.db.conn, &w.owner, id).unwrap();
    let last = rows.last().unwrap();
    assert_eq!(last.action, "return");
    assert_eq!(last.from_status.as_deref(), Some("submitted"));
    assert_eq!(last.to_status.as_deref(), Some("returned"));
    assert_eq!(last.note.as_deref(), Some("证书编号有误"));
    assert_eq!(last.actor_id, Some(w.staff.id));
    assert_eq!(last.actor_role, "staff");
    let sent = notifications(&mut w.db, w.owner.id);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["action"], "return");
    assert_eq!(sent[1]["status"], "returned");
    assert_eq!(sent[1]["note"], "证书编号有误");

    // Released: another application takes the courses.
    let other = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre2, &["00018", "00019"]),
    )
    .row
    .id;
    submit(&mut w.db, &w.owner, other, &[]);
}

#[test]
fn a_blank_or_overlong_return_reason_is_invalid_on_reason_and_writes_nothing() {
    let mut w = world();
    let id = submitted(&mut w, Ncre1, &["00018", "00019"]).row.id;
    let before = written(&mut w.db, id);
    for reason in [String::new(), " \n\t ".to_owned(), "因".repeat(1001)] {
        let refused = reviews::return_to_candidate(
            &mut w.db.conn,
            &w.staff,
            &w.db.catalog,
            now(),
            (id, None),
            &reason,
        );
        assert_eq!(
            invalid(refused),
            problems(&[("reason", "reason.length")]),
            "{reason:?}"
        );
    }
    assert_eq!(written(&mut w.db, id), before, "nothing written");
}

#[test]
fn only_staff_of_the_candidates_school_and_admins_return_a_submitted_application() {
    let mut w = world();
    let foreign_staff = w.db.staff("wang.laoshi", OTHER_SCHOOL);
    let admin = w.db.admin("admin");
    let draft = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre1, &["00018", "00019"]),
    )
    .row
    .id;
    fn give_back(db: &mut UseCaseDb, actor: &Actor, id: Uuid) -> Outcome<Application> {
        reviews::return_to_candidate(
            &mut db.conn,
            actor,
            &db.catalog,
            now(),
            (id, None),
            "请补充",
        )
    }
    assert_eq!(
        conflict(give_back(&mut w.db, &w.staff, draft)),
        "state.conflict",
        "a draft is not returned"
    );
    let id = submit(&mut w.db, &w.owner, draft, &[]).row.id;
    let before = written(&mut w.db, id);
    forbidden(give_back(&mut w.db, &w.owner, id));
    not_found(give_back(&mut w.db, &foreign_staff, id));
    let refused = reviews::return_to_candidate(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, Some(1)),
        "请补充",
    );
    assert!(
        matches!(refused, Err(Refusal::Stale(Some(2)))),
        "{refused:?}"
    );
    assert_eq!(written(&mut w.db, id), before, "nothing written");

    let returned = give_back(&mut w.db, &admin, id).unwrap();
    assert_eq!(returned.row.status, ApplicationStatus::Returned);
    let rows = applications::history(&mut w.db.conn, &w.staff, id).unwrap();
    assert_eq!(rows.last().unwrap().actor_role, "admin");
}

#[test]
fn a_returned_application_can_be_changed_and_resubmitted() {
    let mut w = world();
    let id = submitted(&mut w, Ncre1, &["00018", "00019"]).row.id;
    reviews::return_to_candidate(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, None),
        "证书编号有误",
    )
    .unwrap();

    let change = Change {
        certificate: Some(claim(Ncre1, "180101010099")),
        items: Some(vec![tick("00019"), tick("00018")]),
        ..Change::default()
    };
    let changed = applications::update(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, Some(3)),
        &change,
    )
    .unwrap();
    assert_eq!(
        changed.row.status,
        ApplicationStatus::Returned,
        "still returned"
    );
    assert_eq!(
        changed.row.certificate_number.as_deref(),
        Some("180101010099")
    );
    assert_eq!(item_codes(&changed), ["00019", "00018"]);
    let check = applications::check(&mut w.db.conn, &w.owner, &w.db.catalog, now(), id).unwrap();
    assert!(check.ready(), "{:?}", check.errors);

    let resubmitted = submit(&mut w.db, &w.owner, id, &[]);
    assert_eq!(resubmitted.row.status, ApplicationStatus::Submitted);
    assert_eq!(live(&mut w.db, id), [true, true]);
    assert_eq!(
        steps(&mut w.db, id),
        expect_steps(&[
            ("create", "draft"),
            ("submit", "submitted"),
            ("return", "returned"),
            ("update", "returned"),
            ("submit", "submitted"),
        ])
    );
    let sent = notifications(&mut w.db, w.owner.id);
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2]["from_status"], "returned");
    assert_eq!(sent[2]["status"], "submitted");
}

// ---------------------------------------------------------------------------
// review
// ---------------------------------------------------------------------------

#[test]
fn staff_decide_every_course_and_the_application_is_approved_partially_approved_or_rejected() {
    let mut w = world();
    let second = w.db.candidate(2, Some(SCHOOL), PHARMACY);
    let third = w.db.candidate(3, Some(SCHOOL), PHARMACY);
    fn application_of(db: &mut UseCaseDb, who: &Actor) -> Uuid {
        let id = create(db, who, &by_certificate(Ncre1, &["00018", "00019"]))
            .row
            .id;
        submit(db, who, id, &[]).row.id
    }
    let owner = w.owner.clone();
    let all = application_of(&mut w.db, &owner);
    let some = application_of(&mut w.db, &second);
    let none = application_of(&mut w.db, &third);

    let at = now();
    let cases = [
        (
            all,
            vec![approve("00018"), approve(" 00019 ")],
            ApplicationStatus::Approved,
            "approved 2 of 2",
        ),
        (
            some,
            vec![reject("00019", Some(" 成绩单缺页 ")), approve("00018")],
            ApplicationStatus::PartiallyApproved,
            "approved 1 of 2",
        ),
        (
            none,
            vec![
                reject("00018", Some("证书过期")),
                reject("00019", Some("证书过期")),
            ],
            ApplicationStatus::Rejected,
            "approved 0 of 2",
        ),
    ];
    for (id, choices, status, note) in cases {
        let reviewed = reviews::review(
            &mut w.db.conn,
            &w.staff,
            &w.db.catalog,
            at,
            (id, Some(2)),
            &choices,
        )
        .unwrap_or_else(|r| panic!("{status:?}: {r:?}"));
        assert_eq!(reviewed.row.status, status);
        assert_eq!(reviewed.row.version, 3);
        assert_eq!(reviewed.row.reviewed_by, Some(w.staff.id));
        assert!(reviewed.row.reviewed_at.is_some());
        let rows = history(&mut w.db, id);
        let last = rows.last().unwrap();
        assert_eq!(last.0, "review");
        assert_eq!(last.1.as_deref(), Some("submitted"));
        assert_eq!(last.2, status.as_str());
        assert_eq!(last.3.as_deref(), Some(note));
    }

    // Each course's decision, reason and hold: approved ones stay certified,
    // rejected ones are released.
    type Decided = (String, Option<String>, Option<String>, bool);
    fn decided(db: &mut UseCaseDb, id: Uuid) -> Vec<Decided> {
        persistence::applications::items(&mut db.conn, id)
            .unwrap()
            .into_iter()
            .map(|i| (i.course_code, i.decision, i.decision_reason, i.live))
            .collect()
    }
    fn d(code: &str, decision: &str, reason: Option<&str>, live: bool) -> Decided {
        (
            code.to_owned(),
            Some(decision.to_owned()),
            reason.map(str::to_owned),
            live,
        )
    }
    assert_eq!(
        decided(&mut w.db, all),
        [
            d("00018", "approved", None, true),
            d("00019", "approved", None, true),
        ]
    );
    assert_eq!(
        decided(&mut w.db, some),
        [
            d("00018", "approved", None, true),
            d("00019", "rejected", Some("成绩单缺页"), false),
        ]
    );
    assert_eq!(
        decided(&mut w.db, none),
        [
            d("00018", "rejected", Some("证书过期"), false),
            d("00019", "rejected", Some("证书过期"), false),
        ]
    );
    let sent = notifications(&mut w.db, second.id);
    assert_eq!(sent.last().unwrap()["status"], "partially_approved");

    // A certified course cannot be applied for again; a rejected one can.
    let again = applications::create(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        &by_certificate(Ncre2, &["00018"]),
    );
    assert_eq!(
        invalid(again),
        problems(&[("items[0].course_code", "course.duplicate")])
    );
    let retry = create(&mut w.db, &second, &by_certificate(Ncre2, &["00019"]))
        .row
        .id;
    submit(&mut w.db, &second, retry, &[]);
}

#[test]
fn a_review_missing_a_decision_is_invalid_on_items_and_writes_nothing() {
    let mut w = world();
    let id = submitted(&mut w, Ncre1, &["00018", "00019"]).row.id;
    let before = written(&mut w.db, id);
    let refused = reviews::review(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, None),
        &[approve("00018")],
    );
    assert_eq!(
        invalid(refused),
        problems(&[("items", "review.incomplete")])
    );
    let refused = reviews::review(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, None),
        &[],
    );
    assert_eq!(
        invalid(refused),
        problems(&[("items", "review.incomplete")])
    );
    assert_eq!(
        written(&mut w.db, id),
        before,
        "status, version, history, outbox and decisions unchanged"
    );
}

#[test]
fn a_rejection_needs_a_reason_and_every_decision_names_a_course_of_the_application_once() {
    let mut w = world();
    let id = submitted(&mut w, Ncre1, &["00018", "00019"]).row.id;
    let before = written(&mut w.db, id);
    let cases = [
        (
            vec![approve("00018"), reject("00019", None)],
            problems(&[("items[1].reason", "review.reason_required")]),
        ),
        (
            vec![reject("00018", Some("   ")), approve("00019")],
            problems(&[("items[0].reason", "review.reason_required")]),
        ),
        (
            vec![approve("00018"), approve("00019"), approve("00015")],
            problems(&[("items[2].course_code", "review.unknown_course")]),
        ),
        (
            vec![approve("00018"), approve("00019"), approve("00018")],
            problems(&[("items[2].course_code", "review.duplicate")]),
        ),
    ];
    for (choices, expected) in cases {
        let refused = reviews::review(
            &mut w.db.conn,
            &w.staff,
            &w.db.catalog,
            now(),
            (id, None),
            &choices,
        );
        assert_eq!(invalid(refused), expected, "{choices:?}");
        assert_eq!(written(&mut w.db, id), before, "nothing written");
    }
}

#[test]
fn an_application_is_reviewed_once() {
    let mut w = world();
    let id = submitted(&mut w, Cet4, &["00015"]).row.id;
    let decide = [approve("00015")];
    reviews::review(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, None),
        &decide,
    )
    .unwrap();
    let before = written(&mut w.db, id);
    let again = reviews::review(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, None),
        &decide,
    );
    assert_eq!(conflict(again), "state.conflict");
    let give_back = reviews::return_to_candidate(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, None),
        "再看看",
    );
    assert_eq!(conflict(give_back), "state.conflict");
    let withdraw =
        applications::withdraw(&mut w.db.conn, &w.owner, &w.db.catalog, now(), (id, None));
    assert_eq!(conflict(withdraw), "state.conflict");
    let change = Change {
        items: Some(vec![tick("00015")]),
        ..Change::default()
    };
    let update = applications::update(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, None),
        &change,
    );
    assert_eq!(conflict(update), "state.conflict");
    assert_eq!(written(&mut w.db, id), before, "nothing written");
}

#[test]
fn only_staff_of_the_candidates_school_and_admins_review_and_also_after_the_window() {
    let mut w = world();
    let foreign_staff = w.db.staff("wang.laoshi", OTHER_SCHOOL);
    let admin = w.db.admin("admin");
    let id = submitted(&mut w, Ncre1, &["00018", "00019"]).row.id;
    let decide = [approve("00018"), approve("00019")];
    let before = written(&mut w.db, id);
    forbidden(reviews::review(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, None),
        &decide,
    ));
    not_found(reviews::review(
        &mut w.db.conn,
        &foreign_staff,
        &w.db.catalog,
        now(),
        (id, None),
        &decide,
    ));
    let stale = reviews::review(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, Some(1)),
        &decide,
    );
    assert!(matches!(stale, Err(Refusal::Stale(Some(2)))), "{stale:?}");
    assert_eq!(written(&mut w.db, id), before, "nothing written");

    let reviewed = reviews::review(
        &mut w.db.conn,
        &admin,
        &w.db.catalog,
        after_the_window(),
        (id, None),
        &decide,
    )
    .unwrap();
    assert_eq!(reviewed.row.status, ApplicationStatus::Approved);
    assert_eq!(reviewed.row.reviewed_by, Some(admin.id));
}
