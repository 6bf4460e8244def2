//! The candidate's side of an application, called without HTTP: create, read,
//! list, update, check, submit and withdraw (R7–R18), each with what it writes
//! (history, outbox, held courses) and what it refuses, and that a refused change
//! writes nothing.

use api::access::Actor;
use api::use_cases::Refusal;
use api::use_cases::applications::{self, Change, Draft, ListQuery};
use domain::account::Scope;
use domain::application::{ApplicationStatus, ItemDraft, Kind};
use domain::catalog::CertificateKind::{Cet4, Ncre1, Ncre2};
use serde_json::json;
use tests::UseCaseDb;
use uuid::Uuid;

use crate::support::*;

// ---------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------

#[test]
fn a_new_certificate_application_is_a_draft_with_a_create_row_and_canonical_items() {
    let mut w = world();
    let mut draft = by_certificate(Ncre1, &[" 00019 ", "00018"]);
    draft.certificate = Some(claim(Ncre1, "  180101010012 "));
    let created = create(&mut w.db, &w.owner, &draft);

    let row = &created.row;
    assert_eq!(row.status, ApplicationStatus::Draft);
    assert_eq!(row.version, 1);
    assert_eq!(row.candidate_id, w.owner.id);
    assert_eq!(row.round_id, w.db.round.id, "the current round by default");
    assert_eq!(row.major_code, PHARMACY);
    assert_eq!(row.kind.as_str(), "certificate");
    assert_eq!(row.prior_degree_id, None);
    assert_eq!(row.certificate_kind.map(|k| k.as_str()), Some("ncre1"));
    assert_eq!(row.certificate_number.as_deref(), Some("180101010012"));
    assert_eq!(row.submitted_at, None);
    assert_eq!(created.candidate.school_code.as_deref(), Some(SCHOOL));

    // Stored as given in order, codes trimmed, no evidence, not holding anything yet.
    assert_eq!(item_codes(&created), ["00019", "00018"]);
    let positions: Vec<i16> = created.items.iter().map(|i| i.position).collect();
    assert_eq!(positions, [0, 1]);
    for item in &created.items {
        assert!(item.rule_id.is_some(), "{item:?}");
        assert_eq!(item.learned_course_name, None);
        assert_eq!(item.scores, None);
        assert_eq!(item.score_text, None);
        assert!(!item.live, "a draft holds no course (R17)");
        assert_eq!(item.decision, None);
    }
    let stored = applications::get(&mut w.db.conn, &w.owner, &w.db.catalog, row.id).unwrap();
    assert_eq!(item_codes(&stored), ["00019", "00018"]);

    let rows = applications::history(&mut w.db.conn, &w.owner, row.id).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].action, "create");
    assert_eq!(rows[0].from_status, None);
    assert_eq!(rows[0].to_status.as_deref(), Some("draft"));
    assert_eq!(rows[0].actor_id, Some(w.owner.id));
    assert_eq!(rows[0].actor_role, "candidate");
    assert!(
        notifications(&mut w.db, w.owner.id).is_empty(),
        "creating a draft notifies no one"
    );
}

#[test]
fn a_degree_application_stores_the_evidence_canonically() {
    let mut w = world();
    let admin = w.db.admin("admin");
    let degree =
        w.db.prior_degree(&w.owner, "associate", "药学", "effective", &admin);
    let mut spaced = english(" 60 ; 65;70 ");
    spaced.learned_course_name = Some("  大学英语 ".into());
    let pharmacology = ItemDraft {
        course_code: "03029".into(),
        learned_course_name: Some("药理学".into()),
        scores: Some(vec![75]),
        score_text: None,
    };
    let created = create(
        &mut w.db,
        &w.owner,
        &by_degree(degree, vec![tick("03708"), spaced, pharmacology]),
    );
    assert_eq!(created.row.kind.as_str(), "degree");
    assert_eq!(created.row.prior_degree_id, Some(degree));
    assert_eq!(created.row.certificate_kind, None);
    assert_eq!(item_codes(&created), ["03708", "00015", "03029"]);
    let english_ii = &created.items[1];
    assert_eq!(english_ii.learned_course_name.as_deref(), Some("大学英语"));
    assert_eq!(english_ii.score_text.as_deref(), Some("60;65;70"));
    assert_eq!(english_ii.scores, Some(vec![60, 65, 70]));
    let pharmacology = &created.items[2];
    assert_eq!(pharmacology.score_text.as_deref(), Some("75"));
    assert_eq!(pharmacology.scores, Some(vec![75]));
    let ticked = &created.items[0];
    assert_eq!(ticked.learned_course_name, None);
    assert_eq!(ticked.scores, None);
}

#[test]
fn a_route_given_the_wrong_way_is_invalid_on_its_field_and_nothing_is_stored() {
    let mut w = world();
    let no_certificate = Draft {
        certificate: None,
        ..by_certificate(Ncre1, &["00018"])
    };
    let refused = applications::create(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        &no_certificate,
    );
    assert_eq!(invalid(refused), problems(&[("certificate", "required")]));

    let both = Draft {
        prior_degree_id: Some(Uuid::now_v7()),
        ..by_certificate(Ncre1, &["00018"])
    };
    let refused = applications::create(&mut w.db.conn, &w.owner, &w.db.catalog, now(), &both);
    assert_eq!(
        invalid(refused),
        problems(&[("prior_degree_id", "not_allowed")])
    );

    let no_degree = Draft {
        kind: Kind::Degree,
        certificate: None,
        ..by_certificate(Ncre1, &["03708"])
    };
    let refused = applications::create(&mut w.db.conn, &w.owner, &w.db.catalog, now(), &no_degree);
    assert_eq!(
        invalid(refused),
        problems(&[("prior_degree_id", "required")])
    );

    let mut bad_claim = by_certificate(Ncre1, &["00018"]);
    bad_claim.certificate = Some(claim(Ncre1, "   "));
    let refused = applications::create(&mut w.db.conn, &w.owner, &w.db.catalog, now(), &bad_claim);
    assert_eq!(
        invalid(refused),
        problems(&[("certificate.number", "certificate.number")])
    );

    let (all, total) = applications::list(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        &ListQuery::default(),
        0,
        50,
    )
    .unwrap();
    assert_eq!((all.len(), total), (0, 0));
}

#[test]
fn only_candidates_create_applications() {
    let mut w = world();
    let admin = w.db.admin("admin");
    let service = w.db.service_account(
        "sync.bot",
        &[Scope::VerificationWrite, Scope::ApplicationsRead],
    );
    for actor in [&w.staff, &admin, &service] {
        forbidden(applications::create(
            &mut w.db.conn,
            actor,
            &w.db.catalog,
            now(),
            &by_certificate(Ncre1, &["00018"]),
        ));
    }
}

#[test]
fn an_unknown_round_is_invalid_on_round_id() {
    let mut w = world();
    let draft = Draft {
        round_id: Some(Uuid::now_v7()),
        ..by_certificate(Ncre1, &["00018"])
    };
    let refused = applications::create(&mut w.db.conn, &w.owner, &w.db.catalog, now(), &draft);
    assert_eq!(invalid(refused), problems(&[("round_id", "round.unknown")]));

    let named = Draft {
        round_id: Some(w.db.round.id),
        ..by_certificate(Ncre1, &["00018"])
    };
    assert_eq!(
        create(&mut w.db, &w.owner, &named).row.round_id,
        w.db.round.id
    );
}

#[test]
fn a_degree_application_needs_the_candidates_own_effective_prior_degree() {
    let mut w = world();
    let admin = w.db.admin("admin");
    let other = w.db.candidate(2, Some(SCHOOL), PHARMACY);
    let pending =
        w.db.prior_degree(&w.owner, "associate", "药学", "submitted", &admin);
    let theirs =
        w.db.prior_degree(&other, "associate", "药学", "effective", &admin);
    for degree in [pending, theirs, Uuid::now_v7()] {
        let refused = applications::create(
            &mut w.db.conn,
            &w.owner,
            &w.db.catalog,
            now(),
            &by_degree(degree, vec![tick("03708")]),
        );
        assert_eq!(
            invalid(refused),
            problems(&[("prior_degree_id", "prior_degree.not_effective")]),
            "{degree}"
        );
    }
}

#[test]
fn an_item_that_breaks_a_rule_is_invalid_on_its_path_and_nothing_is_stored() {
    let mut w = world();
    let mut draft = by_certificate(Ncre1, &["00018", "00015", "00018", "1234"]);
    draft.items.push(ItemDraft {
        learned_course_name: Some("计算机应用基础".into()),
        ..tick("00019")
    });
    let refused = applications::create(&mut w.db.conn, &w.owner, &w.db.catalog, now(), &draft);
    assert_eq!(
        invalid(refused),
        problems(&[
            ("items[1].course_code", "course.not_certifiable"),
            ("items[2].course_code", "course.duplicate"),
            ("items[3].course_code", "course.code_format"),
            ("items[4]", "evidence.not_allowed"),
        ])
    );
    let (_, total) = applications::list(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        &ListQuery::default(),
        0,
        50,
    )
    .unwrap();
    assert_eq!(total, 0);
}

// ---------------------------------------------------------------------------
// get and list
// ---------------------------------------------------------------------------

#[test]
fn an_application_is_seen_by_its_owner_its_schools_staff_and_admins_only() {
    let mut w = world();
    let neighbour = w.db.candidate(2, Some(SCHOOL), PHARMACY);
    let foreigner = w.db.candidate(3, Some(OTHER_SCHOOL), PHARMACY);
    let foreign_staff = w.db.staff("wang.laoshi", OTHER_SCHOOL);
    let admin = w.db.admin("admin");
    let service = w.db.service_account(
        "sync.bot",
        &[
            Scope::VerificationWrite,
            Scope::OutboxRead,
            Scope::ApplicationsRead,
        ],
    );
    let mine = create(&mut w.db, &w.owner, &by_certificate(Ncre1, &["00018"]))
        .row
        .id;
    let theirs = create(&mut w.db, &foreigner, &by_certificate(Cet4, &["00015"]))
        .row
        .id;

    // One application.
    for reader in [&w.owner, &w.staff, &admin] {
        let got = applications::get(&mut w.db.conn, reader, &w.db.catalog, mine)
            .unwrap_or_else(|r| panic!("{:?} reads it: {r:?}", reader.role));
        assert_eq!(got.row.id, mine);
        assert_eq!(item_codes(&got), ["00018"]);
        assert_eq!(got.candidate.name, "考生1");
        applications::history(&mut w.db.conn, reader, mine).unwrap();
        applications::check(&mut w.db.conn, reader, &w.db.catalog, now(), mine).unwrap();
    }
    for stranger in [&neighbour, &foreigner, &foreign_staff, &service] {
        not_found(applications::get(
            &mut w.db.conn,
            stranger,
            &w.db.catalog,
            mine,
        ));
        not_found(applications::history(&mut w.db.conn, stranger, mine));
        not_found(applications::check(
            &mut w.db.conn,
            stranger,
            &w.db.catalog,
            now(),
            mine,
        ));
    }
    not_found(applications::get(
        &mut w.db.conn,
        &admin,
        &w.db.catalog,
        Uuid::now_v7(),
    ));

    // Lists.
    let mut listed = |actor, query: &ListQuery| {
        let (apps, total) =
            applications::list(&mut w.db.conn, actor, &w.db.catalog, query, 0, 50).unwrap();
        assert_eq!(apps.len() as i64, total);
        apps.iter().map(|a| a.row.id).collect::<Vec<Uuid>>()
    };
    let all = ListQuery::default();
    assert_eq!(listed(&w.owner, &all), [mine]);
    assert_eq!(listed(&neighbour, &all), Vec::<Uuid>::new());
    assert_eq!(listed(&foreigner, &all), [theirs]);
    assert_eq!(listed(&w.staff, &all), [mine]);
    assert_eq!(listed(&foreign_staff, &all), [theirs]);
    assert_eq!(listed(&admin, &all), [theirs, mine], "newest first");
    assert_eq!(listed(&service, &all), Vec::<Uuid>::new());
    let other_school = ListQuery {
        school_code: Some(OTHER_SCHOOL.into()),
        ..ListQuery::default()
    };
    assert_eq!(listed(&admin, &other_school), [theirs]);
    assert_eq!(
        listed(&w.staff, &other_school),
        Vec::<Uuid>::new(),
        "staff asking for another school get an empty list"
    );
    let submitted_only = ListQuery {
        status: Some(ApplicationStatus::Submitted),
        ..ListQuery::default()
    };
    assert_eq!(listed(&admin, &submitted_only), Vec::<Uuid>::new());

    let of_owner =
        applications::of_candidate(&mut w.db.conn, &w.staff, &w.db.catalog, w.owner.id).unwrap();
    assert_eq!(
        of_owner.iter().map(|a| a.row.id).collect::<Vec<_>>(),
        [mine]
    );
    for stranger in [&foreign_staff, &w.owner, &service] {
        let refused =
            applications::of_candidate(&mut w.db.conn, stranger, &w.db.catalog, w.owner.id);
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
fn an_update_replaces_the_items_and_records_an_update_row() {
    let mut w = world();
    let id = create(&mut w.db, &w.owner, &by_certificate(Ncre1, &["00018"]))
        .row
        .id;
    let change = Change {
        items: Some(vec![tick("00019"), tick(" 00018")]),
        ..Change::default()
    };
    let updated = applications::update(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, Some(1)),
        &change,
    )
    .unwrap();
    assert_eq!(updated.row.version, 2);
    assert_eq!(updated.row.status, ApplicationStatus::Draft);
    assert_eq!(item_codes(&updated), ["00019", "00018"]);
    let stored = applications::get(&mut w.db.conn, &w.owner, &w.db.catalog, id).unwrap();
    assert_eq!(item_codes(&stored), ["00019", "00018"]);

    let certificate = Change {
        certificate: Some(claim(Ncre2, " 2018NCRE2-77 ")),
        ..Change::default()
    };
    let updated = applications::update(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, None),
        &certificate,
    )
    .unwrap();
    assert_eq!(updated.row.version, 3);
    assert_eq!(
        updated.row.certificate_kind.map(|k| k.as_str()),
        Some("ncre2")
    );
    assert_eq!(
        updated.row.certificate_number.as_deref(),
        Some("2018NCRE2-77")
    );
    assert_eq!(item_codes(&updated), ["00019", "00018"], "the items stay");

    let rows = history(&mut w.db, id);
    assert_eq!(
        rows,
        [
            ("create".to_owned(), None, "draft".to_owned(), None),
            (
                "update".to_owned(),
                Some("draft".to_owned()),
                "draft".to_owned(),
                Some("items".to_owned())
            ),
            (
                "update".to_owned(),
                Some("draft".to_owned()),
                "draft".to_owned(),
                Some("certificate".to_owned())
            ),
        ]
    );
    assert!(notifications(&mut w.db, w.owner.id).is_empty());
}

#[test]
fn an_update_at_a_stale_version_is_refused_with_the_current_version() {
    let mut w = world();
    let id = create(&mut w.db, &w.owner, &by_certificate(Ncre1, &["00018"]))
        .row
        .id;
    let before = written(&mut w.db, id);
    let change = Change {
        items: Some(vec![tick("00019")]),
        ..Change::default()
    };
    let refused = applications::update(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, Some(7)),
        &change,
    );
    assert!(
        matches!(refused, Err(Refusal::Stale(Some(1)))),
        "{refused:?}"
    );
    assert_eq!(written(&mut w.db, id), before, "nothing written");
}

#[test]
fn an_empty_change_answers_the_application_as_it_is_without_a_new_version() {
    let mut w = world();
    let id = create(&mut w.db, &w.owner, &by_certificate(Ncre1, &["00018"]))
        .row
        .id;
    let before = written(&mut w.db, id);
    let same = applications::update(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, Some(1)),
        &Change::default(),
    )
    .unwrap();
    assert_eq!(same.row.version, 1);
    assert_eq!(item_codes(&same), ["00018"]);
    assert_eq!(written(&mut w.db, id), before, "no version, no history row");
}

#[test]
fn only_the_owner_updates_and_only_while_draft_or_returned() {
    let mut w = world();
    let neighbour = w.db.candidate(2, Some(SCHOOL), PHARMACY);
    let id = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre1, &["00018", "00019"]),
    )
    .row
    .id;
    let change = Change {
        items: Some(vec![tick("00018")]),
        ..Change::default()
    };
    not_found(applications::update(
        &mut w.db.conn,
        &neighbour,
        &w.db.catalog,
        now(),
        (id, None),
        &change,
    ));
    forbidden(applications::update(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, None),
        &change,
    ));

    submit(&mut w.db, &w.owner, id, &[]);
    let before = written(&mut w.db, id);
    let refused = applications::update(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, None),
        &change,
    );
    assert_eq!(conflict(refused), "state.conflict");
    assert_eq!(written(&mut w.db, id), before, "nothing written");
}

// ---------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------

#[test]
fn the_check_of_a_fresh_draft_reports_the_missing_courses_and_is_not_ready() {
    let mut w = world();
    let admin = w.db.admin("admin");
    let degree =
        w.db.prior_degree(&w.owner, "associate", "药学", "effective", &admin);
    let id = create(
        &mut w.db,
        &w.owner,
        &by_degree(degree, vec![tick("03708"), english("60;65;70")]),
    )
    .row
    .id;
    let check = applications::check(&mut w.db.conn, &w.owner, &w.db.catalog, now(), id).unwrap();
    let codes =
        |list: &[domain::CourseCode]| list.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert_eq!(check.status, ApplicationStatus::Draft);
    assert!(check.errors.is_empty(), "{:?}", check.errors);
    assert_eq!(
        codes(&check.assessment.expected),
        ["03708", "03709", "00015", "03029"]
    );
    assert_eq!(codes(&check.assessment.selected), ["03708", "00015"]);
    assert_eq!(codes(&check.assessment.missing), ["03709", "03029"]);
    assert!(!check.ready());
    let warnings: Vec<(&str, &str)> = check
        .warnings
        .iter()
        .map(|f| (f.field.as_str(), f.violation.code))
        .collect();
    assert_eq!(warnings, [("items", "selection.incomplete")]);

    // Complete by certificate: ready.
    let complete = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre1, &["00018", "00019"]),
    )
    .row
    .id;
    let check =
        applications::check(&mut w.db.conn, &w.owner, &w.db.catalog, now(), complete).unwrap();
    assert!(check.ready(), "{:?} {:?}", check.errors, check.assessment);
    assert!(check.warnings.is_empty());

    // After the window: an error, not ready.
    let late = applications::check(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        after_the_window(),
        complete,
    )
    .unwrap();
    let errors: Vec<(&str, &str)> = late
        .errors
        .iter()
        .map(|f| (f.field.as_str(), f.violation.code))
        .collect();
    assert_eq!(errors, [("", "window.closed")]);
    assert!(!late.ready());

    // An empty draft: an error on items.
    let empty = create(&mut w.db, &w.owner, &by_certificate(Ncre1, &[]))
        .row
        .id;
    let check = applications::check(&mut w.db.conn, &w.owner, &w.db.catalog, now(), empty).unwrap();
    assert!(
        check
            .errors
            .iter()
            .any(|f| f.field == "items" && f.violation.code == "required"),
        "{:?}",
        check.errors
    );
    assert!(!check.ready());
}

// ---------------------------------------------------------------------------
// submit
// ---------------------------------------------------------------------------

#[test]
fn submitting_a_draft_holds_its_courses_with_a_history_row_and_a_notification() {
    let mut w = world();
    let id = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre1, &["00018", "00019"]),
    )
    .row
    .id;
    let at = now();
    let submitted = applications::submit(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        at,
        (id, Some(1)),
        &[],
    )
    .unwrap();
    assert_eq!(submitted.row.status, ApplicationStatus::Submitted);
    assert_eq!(submitted.row.version, 2);
    let submitted_at = submitted.row.submitted_at.expect("submitted_at is set");
    assert!(
        (submitted_at - at).num_milliseconds().abs() < 1,
        "{submitted_at} vs {at}"
    );
    assert!(submitted.row.confirmed_missing.is_empty());
    assert!(
        submitted.items.iter().all(|i| i.live),
        "{:?}",
        submitted.items
    );

    assert_eq!(
        history(&mut w.db, id),
        [
            ("create".to_owned(), None, "draft".to_owned(), None),
            (
                "submit".to_owned(),
                Some("draft".to_owned()),
                "submitted".to_owned(),
                None
            ),
        ]
    );
    let sent = notifications(&mut w.db, w.owner.id);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["application_id"], json!(id));
    assert_eq!(sent[0]["action"], "submit");
    assert_eq!(sent[0]["from_status"], "draft");
    assert_eq!(sent[0]["status"], "submitted");
    assert_eq!(sent[0]["status_label"], "已提交");

    // Submitted once only.
    let again = applications::submit(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, None),
        &[],
    );
    assert_eq!(conflict(again), "state.conflict");
}

#[test]
fn a_second_application_for_a_submitted_course_is_refused_course_duplicate_and_writes_nothing() {
    let mut w = world();
    let first = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre1, &["00018", "00019"]),
    )
    .row
    .id;
    // Both drafts may exist: a draft holds nothing (R17).
    let second = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre2, &["00019", "00018"]),
    )
    .row
    .id;
    submit(&mut w.db, &w.owner, first, &[]);

    let before = written(&mut w.db, second);
    let refused = applications::submit(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (second, None),
        &[],
    );
    // Every problem is `course.duplicate` (rendered as 409 by the HTTP layer).
    assert_eq!(
        invalid(refused),
        problems(&[
            ("items[0].course_code", "course.duplicate"),
            ("items[1].course_code", "course.duplicate"),
        ])
    );
    let after = written(&mut w.db, second);
    assert_eq!(
        after, before,
        "status, version, history, outbox and items unchanged"
    );
    assert_eq!(
        live(&mut w.db, first),
        [true, true],
        "the first keeps its courses"
    );

    // A new application for a held course is refused the same way at creation.
    let refused = applications::create(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        &by_certificate(Ncre1, &["00018"]),
    );
    assert_eq!(
        invalid(refused),
        problems(&[("items[0].course_code", "course.duplicate")])
    );
}

#[test]
fn leaving_out_a_certifiable_course_needs_exactly_the_missing_ones_confirmed() {
    let mut w = world();
    let id = create(&mut w.db, &w.owner, &by_certificate(Ncre1, &["00018"]))
        .row
        .id;
    let before = written(&mut w.db, id);
    for confirmed in [&[][..], &["00019", "00018"][..], &["00018"][..]] {
        let refused = applications::submit(
            &mut w.db.conn,
            &w.owner,
            &w.db.catalog,
            now(),
            (id, None),
            &courses(confirmed),
        );
        assert_eq!(
            invalid(refused),
            problems(&[("confirm_missing", "selection.incomplete")]),
            "{confirmed:?}"
        );
        assert_eq!(written(&mut w.db, id), before, "nothing written");
    }
    let submitted = submit(&mut w.db, &w.owner, id, &["00019"]);
    assert_ne!(
        written(&mut w.db, id),
        before,
        "a change is seen by `written`"
    );
    assert_eq!(submitted.row.status, ApplicationStatus::Submitted);
    assert_eq!(submitted.row.confirmed_missing, ["00019"]);
    let rows = history(&mut w.db, id);
    assert_eq!(rows[1].3.as_deref(), Some("confirmed missing: 00019"));

    // Nothing missing: nothing may be confirmed.
    let full = create(&mut w.db, &w.owner, &by_certificate(Cet4, &["00015"]))
        .row
        .id;
    let refused = applications::submit(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (full, None),
        &courses(&["00015"]),
    );
    assert_eq!(
        invalid(refused),
        problems(&[("confirm_missing", "selection.incomplete")])
    );
}

#[test]
fn an_empty_draft_is_saved_but_cannot_be_submitted() {
    let mut w = world();
    let id = create(&mut w.db, &w.owner, &by_certificate(Ncre1, &[]))
        .row
        .id;
    let before = written(&mut w.db, id);
    let refused = applications::submit(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, None),
        &[],
    );
    assert_eq!(invalid(refused), problems(&[("items", "required")]));
    assert_eq!(written(&mut w.db, id), before);
}

#[test]
fn only_the_owner_submits() {
    let mut w = world();
    let neighbour = w.db.candidate(2, Some(SCHOOL), PHARMACY);
    let admin = w.db.admin("admin");
    let id = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre1, &["00018", "00019"]),
    )
    .row
    .id;
    let before = written(&mut w.db, id);
    let mut try_submit =
        |actor| applications::submit(&mut w.db.conn, actor, &w.db.catalog, now(), (id, None), &[]);
    not_found(try_submit(&neighbour));
    forbidden(try_submit(&w.staff));
    forbidden(try_submit(&admin));
    let refused = applications::submit(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, Some(9)),
        &[],
    );
    assert!(
        matches!(refused, Err(Refusal::Stale(Some(1)))),
        "{refused:?}"
    );
    assert_eq!(written(&mut w.db, id), before);
}

#[test]
fn nothing_is_created_changed_submitted_or_withdrawn_outside_the_window() {
    let mut w = world();
    let late = after_the_window();
    let early = w.db.round.certification_window.opens_at() - chrono::TimeDelta::minutes(1);
    for at in [early, late] {
        let refused = applications::create(
            &mut w.db.conn,
            &w.owner,
            &w.db.catalog,
            at,
            &by_certificate(Ncre1, &["00018", "00019"]),
        );
        assert_eq!(rule(refused), "window.closed", "{at}");
    }
    let draft = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre1, &["00018", "00019"]),
    )
    .row
    .id;
    let change = Change {
        items: Some(vec![tick("00018")]),
        ..Change::default()
    };
    let before = written(&mut w.db, draft);
    assert_eq!(
        rule(applications::update(
            &mut w.db.conn,
            &w.owner,
            &w.db.catalog,
            late,
            (draft, None),
            &change
        )),
        "window.closed"
    );
    assert_eq!(
        rule(applications::submit(
            &mut w.db.conn,
            &w.owner,
            &w.db.catalog,
            late,
            (draft, None),
            &[]
        )),
        "window.closed"
    );
    assert_eq!(written(&mut w.db, draft), before);

    submit(&mut w.db, &w.owner, draft, &[]);
    let before = written(&mut w.db, draft);
    assert_eq!(
        rule(applications::withdraw(
            &mut w.db.conn,
            &w.owner,
            &w.db.catalog,
            late,
            (draft, None)
        )),
        "window.closed"
    );
    assert_eq!(written(&mut w.db, draft), before);
}

// ---------------------------------------------------------------------------
// withdraw
// ---------------------------------------------------------------------------

#[test]
fn a_submitted_application_can_be_withdrawn_only_by_its_owner_while_the_window_is_open() {
    let mut w = world();
    let neighbour = w.db.candidate(2, Some(SCHOOL), PHARMACY);
    let admin = w.db.admin("admin");
    let draft = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre1, &["00018", "00019"]),
    )
    .row
    .id;
    assert_eq!(
        conflict(applications::withdraw(
            &mut w.db.conn,
            &w.owner,
            &w.db.catalog,
            now(),
            (draft, None)
        )),
        "state.conflict",
        "a draft is not withdrawn"
    );
    let id = submit(&mut w.db, &w.owner, draft, &[]).row.id;
    let before = written(&mut w.db, id);
    not_found(applications::withdraw(
        &mut w.db.conn,
        &neighbour,
        &w.db.catalog,
        now(),
        (id, None),
    ));
    // Staff and admins read it but may not act for the candidate.
    applications::get(&mut w.db.conn, &w.staff, &w.db.catalog, id).unwrap();
    forbidden(applications::withdraw(
        &mut w.db.conn,
        &w.staff,
        &w.db.catalog,
        now(),
        (id, None),
    ));
    forbidden(applications::withdraw(
        &mut w.db.conn,
        &admin,
        &w.db.catalog,
        now(),
        (id, None),
    ));
    assert_eq!(written(&mut w.db, id), before, "nothing written");

    let withdrawn = applications::withdraw(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        (id, Some(2)),
    )
    .unwrap();
    assert_eq!(withdrawn.row.status, ApplicationStatus::Draft);
    assert_eq!(withdrawn.row.version, 3);
    assert_eq!(withdrawn.row.submitted_at, None);
    assert_eq!(
        live(&mut w.db, id),
        [false, false],
        "its courses are released"
    );
    assert_eq!(
        steps(&mut w.db, id),
        expect_steps(&[
            ("create", "draft"),
            ("submit", "submitted"),
            ("withdraw", "draft")
        ])
    );
    let sent = notifications(&mut w.db, w.owner.id);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["action"], "withdraw");
    assert_eq!(sent[1]["from_status"], "submitted");
    assert_eq!(sent[1]["status"], "draft");

    // Released: another application may now take the courses.
    let other = create(
        &mut w.db,
        &w.owner,
        &by_certificate(Ncre2, &["00018", "00019"]),
    )
    .row
    .id;
    submit(&mut w.db, &w.owner, other, &[]);
}

// ---------------------------------------------------------------------------
// transactions Postgres aborts (deadlock, serialization failure)
// ---------------------------------------------------------------------------

/// Makes the next `times` inserts of an application fail as Postgres fails a
/// transaction that lost a race (`errcode` 40001 or 40P01). The count is a
/// sequence, which a rollback does not reset, so it also counts the attempts.
fn abort_inserts(db: &mut UseCaseDb, times: i64, errcode: &str, message: &str) {
    use diesel::connection::SimpleConnection;
    db.conn
        .batch_execute(&format!(
            "CREATE SEQUENCE aborts;
             CREATE FUNCTION abort_insert() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN
                    IF nextval('aborts') <= {times} THEN
                      RAISE EXCEPTION '{message}' USING ERRCODE = '{errcode}';
                    END IF;
                    RETURN NEW;
                  END $$;
             CREATE TRIGGER abort_insert BEFORE INSERT ON certification_applications
               FOR EACH ROW EXECUTE FUNCTION abort_insert();"
        ))
        .expect("install the trigger");
}

fn attempts(db: &mut UseCaseDb) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Last {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        last_value: i64,
    }
    diesel::sql_query("SELECT last_value FROM aborts")
        .get_result::<Last>(&mut db.conn)
        .expect("attempts")
        .last_value
}

fn applications_of(db: &mut UseCaseDb, actor: &Actor) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM certification_applications WHERE candidate_id = '{}'",
        actor.id
    ))
    .get_result::<Count>(&mut db.conn)
    .expect("count")
    .n
}

#[test]
fn a_create_aborted_by_a_serialization_failure_runs_again_and_writes_once() {
    let mut w = world();
    abort_inserts(&mut w.db, 2, "40001", "could not serialize access");
    let created = create(&mut w.db, &w.owner, &by_certificate(Ncre1, &["00019"]));
    assert_eq!(
        attempts(&mut w.db),
        3,
        "two aborted attempts, the third wrote"
    );
    assert_eq!(applications_of(&mut w.db, &w.owner), 1);
    let rows = applications::history(&mut w.db.conn, &w.owner, created.row.id).unwrap();
    assert_eq!(rows.len(), 1, "one create row, not one per attempt");
}

#[test]
fn a_create_that_loses_a_deadlock_runs_again() {
    let mut w = world();
    abort_inserts(&mut w.db, 1, "40P01", "deadlock detected");
    create(&mut w.db, &w.owner, &by_certificate(Ncre1, &["00019"]));
    assert_eq!(attempts(&mut w.db), 2);
    assert_eq!(applications_of(&mut w.db, &w.owner), 1);
}

#[test]
fn a_create_aborted_every_time_is_refused_for_a_retry_after_a_bounded_number_of_attempts() {
    let mut w = world();
    abort_inserts(&mut w.db, 1000, "40001", "could not serialize access");
    let refused = applications::create(
        &mut w.db.conn,
        &w.owner,
        &w.db.catalog,
        now(),
        &by_certificate(Ncre1, &["00019"]),
    );
    assert!(
        matches!(refused, Err(Refusal::Db(persistence::DbError::Retry))),
        "{refused:?}"
    );
    assert_eq!(attempts(&mut w.db), i64::from(api::use_cases::ATTEMPTS));
    assert_eq!(applications_of(&mut w.db, &w.owner), 0, "nothing written");
}
