//! Importing candidates from a school's class list (R19), called without HTTP: who
//! imports into which school, then `prepare` (each row decided before hashing:
//! rejected for its own problems or an unknown school or major, no password drawn
//! when already registered) and `commit` (the unique indexes decide what is
//! created and what skipped). The file checks themselves are unit tests of
//! `domain::candidate_import`.

use api::access::Actor;
use api::use_cases::Outcome;
use api::use_cases::candidate_import::{self as cases, RowOutcome, RowReport};
use chrono::Utc;
use diesel::prelude::*;
use domain::account::{Role, SchoolCode, Scope};
use domain::candidate_import::{Importer, parse};
use domain::window::date_in_shanghai;
use persistence::accounts::AccountRow;
use persistence::schema::accounts;
use tests::{UseCaseDb, exam_number, id_number};
use uuid::Uuid;

use crate::support::{OTHER_SCHOOL, PHARMACY, SCHOOL, World, forbidden, world};

// ---------------------------------------------------------------------------
// The world and its helpers
// ---------------------------------------------------------------------------

/// The sample world (candidate 1 of [`SCHOOL`] registered, the school's staff)
/// with an admin.
struct People {
    db: UseCaseDb,
    admin: Actor,
    staff: Actor,
    candidate: Actor,
}

fn people() -> People {
    let World {
        mut db,
        owner: candidate,
        staff,
    } = world();
    let admin = db.admin("admin");
    People {
        db,
        admin,
        staff,
        candidate,
    }
}

const HEADER: &str = "exam_number,id_number,name,phone,major_code";

/// A CSV file of `rows` under [`HEADER`] (with a `school_code` column when
/// `with_school`).
fn file(with_school: bool, rows: &[String]) -> String {
    let header = match with_school {
        true => format!("{HEADER},school_code"),
        false => HEADER.to_owned(),
    };
    let mut text = header + "\r\n";
    for row in rows {
        text.push_str(row);
        text.push_str("\r\n");
    }
    text
}

/// A row of candidate [`exam_number`]`(exam)` with ID number
/// [`id_number`]`("20000101", id)` in `major`.
fn row(exam: u32, id: u32, major: &str) -> String {
    format!(
        "{},{},王小二,13912345678,{major}",
        exam_number(exam),
        id_number("20000101", id)
    )
}

/// [`row`] with a `school_code` cell.
fn row_of(exam: u32, id: u32, major: &str, school: &str) -> String {
    format!("{},{school}", row(exam, id, major))
}

/// What an import returned: the temporary passwords `prepare` drew (in row order)
/// and the report of `commit`, which was given the hash `hash-{i}` for the i-th
/// password.
struct Imported {
    passwords: Vec<String>,
    reports: Vec<RowReport>,
}

/// Imports `text` as `actor` the way the route does: importer, parse, prepare
/// with the cached catalogue, hash every drawn password, commit.
fn import(db: &mut UseCaseDb, actor: &Actor, text: &str) -> Imported {
    let importer = cases::importer(actor).unwrap();
    let rows = parse(text, &importer, date_in_shanghai(Utc::now()))
        .unwrap_or_else(|p| panic!("the file is refused: {p:?}"));
    let prepared = cases::prepare(&mut db.conn, db.catalog.current(), rows).unwrap();
    let passwords = prepared.passwords();
    let hashes = (0..passwords.len()).map(|i| format!("hash-{i}")).collect();
    let reports = cases::commit(&mut db.conn, prepared, hashes).unwrap();
    Imported { passwords, reports }
}

/// A row's outcome, to compare: its number, `created`, or `skipped`/`rejected`
/// with the (field, code) of each problem.
type Seen<'a> = (usize, &'a str, Vec<(String, String)>);

fn outcome(report: &RowReport) -> Seen<'_> {
    let pairs = |problems: &[api::http::problem::FieldProblem]| {
        (problems.iter())
            .map(|p| (p.field.clone(), p.code.clone().into_owned()))
            .collect()
    };
    match &report.outcome {
        RowOutcome::Created { .. } => (report.row, "created", Vec::new()),
        RowOutcome::Skipped(problem) => {
            (report.row, "skipped", pairs(std::slice::from_ref(problem)))
        }
        RowOutcome::Rejected(problems) => (report.row, "rejected", pairs(problems)),
    }
}

fn outcomes(imported: &Imported) -> Vec<Seen<'_>> {
    imported.reports.iter().map(outcome).collect()
}

fn created(row: usize) -> Seen<'static> {
    (row, "created", Vec::new())
}

fn skipped(row: usize, field: &str, code: &str) -> Seen<'static> {
    (row, "skipped", vec![(field.to_owned(), code.to_owned())])
}

fn rejected(row: usize, pairs: &[(&str, &str)]) -> Seen<'static> {
    let pairs = (pairs.iter())
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect();
    (row, "rejected", pairs)
}

/// The account and temporary password of a created row (panics otherwise).
#[track_caller]
fn created_account(report: &RowReport) -> (Uuid, &str) {
    match &report.outcome {
        RowOutcome::Created { id, password } => (*id, password.as_str()),
        other => panic!("row {} was not created: {other:?}", report.row),
    }
}

/// The message (English) of a skipped row (panics otherwise).
#[track_caller]
fn skip_message(report: &RowReport) -> String {
    match &report.outcome {
        RowOutcome::Skipped(problem) => problem.message.en.clone().into_owned(),
        other => panic!("row {} was not skipped: {other:?}", report.row),
    }
}

fn account_count(db: &mut UseCaseDb) -> i64 {
    accounts::table.count().get_result(&mut db.conn).unwrap()
}

fn account(db: &mut UseCaseDb, id: Uuid) -> AccountRow {
    persistence::accounts::find(&mut db.conn, id).unwrap()
}

/// The accounts holding this exam number or ID number.
fn holders(db: &mut UseCaseDb, exam: &str, id: &str) -> Vec<Uuid> {
    accounts::table
        .filter(
            accounts::exam_number
                .eq(exam)
                .or(accounts::id_number.eq(id)),
        )
        .select(accounts::id)
        .load(&mut db.conn)
        .unwrap()
}

// ---------------------------------------------------------------------------
// importer
// ---------------------------------------------------------------------------

#[test]
fn admins_import_into_any_school_and_staff_into_their_own() {
    let mut p = people();
    assert_eq!(cases::importer(&p.admin).unwrap(), Importer::Admin);
    assert_eq!(
        cases::importer(&p.staff).unwrap(),
        Importer::School(SchoolCode::parse(SCHOOL).unwrap())
    );
    let other_staff = p.db.staff("wang.laoshi", OTHER_SCHOOL);
    assert_eq!(
        cases::importer(&other_staff).unwrap(),
        Importer::School(SchoolCode::parse(OTHER_SCHOOL).unwrap())
    );
    // Staff without a school (which the database does not allow, but a token
    // might say), candidates and service accounts import nothing.
    let schoolless = Actor {
        school: None,
        ..p.staff.clone()
    };
    assert_eq!(schoolless.role, Role::Staff);
    forbidden(cases::importer(&schoolless));
    forbidden(cases::importer(&p.candidate));
    for scope in [Scope::VerificationWrite, Scope::OutboxRead] {
        let service = p.db.service_account(
            &format!("svc-{}", scope.as_str().replace(':', "-")),
            &[scope],
        );
        let refused: Outcome<Importer> = cases::importer(&service);
        forbidden(refused);
    }
}

// ---------------------------------------------------------------------------
// prepare and commit
// ---------------------------------------------------------------------------

#[test]
fn valid_rows_create_candidates_who_must_change_their_temporary_password() {
    let mut p = people();
    let before = account_count(&mut p.db);
    let text = file(false, &[row(10, 10, PHARMACY), row(11, 11, "120402")]);
    let imported = import(&mut p.db, &p.staff, &text);
    assert_eq!(outcomes(&imported), vec![created(2), created(3)]);
    assert_eq!(imported.passwords.len(), 2);
    assert_ne!(imported.passwords[0], imported.passwords[1]);
    assert_eq!(account_count(&mut p.db), before + 2);

    for (i, (n, major)) in [(10, PHARMACY), (11, "120402")].into_iter().enumerate() {
        let report = &imported.reports[i];
        assert_eq!(report.exam_number, exam_number(n));
        let (id, password) = created_account(report);
        assert_eq!(password, imported.passwords[i], "row {}", report.row);
        let stored = account(&mut p.db, id);
        assert_eq!(stored.role, Role::Candidate);
        assert_eq!(stored.exam_number, Some(exam_number(n)));
        assert_eq!(stored.id_number, Some(id_number("20000101", n)));
        assert_eq!(stored.name, "王小二");
        assert_eq!(stored.phone.as_deref(), Some("13912345678"));
        assert_eq!(stored.major_code.as_deref(), Some(major));
        assert_eq!(
            stored.school_code.as_deref(),
            Some(SCHOOL),
            "the staff's own"
        );
        assert!(stored.must_change_password);
        assert_eq!(stored.password_hash, format!("hash-{i}"), "its own hash");
        assert!(stored.username.is_none() && stored.scopes.is_empty());
    }
}

#[test]
fn an_admin_imports_into_the_school_a_row_names_or_none() {
    let mut p = people();
    let text = file(
        true,
        &[
            row_of(10, 10, PHARMACY, OTHER_SCHOOL),
            row_of(11, 11, PHARMACY, ""),
        ],
    );
    let imported = import(&mut p.db, &p.admin, &text);
    assert_eq!(outcomes(&imported), vec![created(2), created(3)]);
    let (first, _) = created_account(&imported.reports[0]);
    let (second, _) = created_account(&imported.reports[1]);
    assert_eq!(
        account(&mut p.db, first).school_code.as_deref(),
        Some(OTHER_SCHOOL)
    );
    assert_eq!(account(&mut p.db, second).school_code, None);
}

#[test]
fn a_registered_exam_or_id_number_is_skipped_and_gets_no_password() {
    let mut p = people();
    // The world's candidate 1 holds exam number 1 and ID number ("19990101", 1).
    let before = account(&mut p.db, p.candidate.id).password_hash;
    let registered_id = id_number("19990101", 1);
    let text = file(
        false,
        &[
            row(12, 12, PHARMACY),
            row(1, 10, PHARMACY),
            format!(
                "{},{registered_id},王小二,13912345678,{PHARMACY}",
                exam_number(11)
            ),
        ],
    );
    let count = account_count(&mut p.db);
    let imported = import(&mut p.db, &p.staff, &text);
    assert_eq!(
        outcomes(&imported),
        vec![
            created(2),
            skipped(3, "exam_number", "account.exists"),
            skipped(4, "id_number", "account.exists"),
        ]
    );
    assert_eq!(imported.passwords.len(), 1, "a password for row 2 only");
    let (id, password) = created_account(&imported.reports[0]);
    assert_eq!(password, imported.passwords[0]);
    assert_eq!(account(&mut p.db, id).password_hash, "hash-0");
    assert_eq!(account_count(&mut p.db), count + 1);
    let after = account(&mut p.db, p.candidate.id);
    assert_eq!(after.password_hash, before, "untouched");
    assert_eq!(after.name, "考生1");
    assert!(!after.must_change_password);
    assert!(holders(&mut p.db, &exam_number(11), &id_number("20000101", 10)).is_empty());
}

#[test]
fn a_later_row_with_the_same_id_or_exam_number_is_skipped_naming_the_first() {
    let mut p = people();
    let text = file(
        false,
        &[
            row(10, 10, PHARMACY),
            row(11, 10, PHARMACY),
            row(12, 12, PHARMACY),
            row(12, 13, PHARMACY),
        ],
    );
    let imported = import(&mut p.db, &p.staff, &text);
    assert_eq!(
        outcomes(&imported),
        vec![
            created(2),
            skipped(3, "id_number", "import.duplicate_in_file"),
            created(4),
            skipped(5, "exam_number", "import.duplicate_in_file"),
        ]
    );
    assert!(
        skip_message(&imported.reports[1]).contains("row 2"),
        "{}",
        skip_message(&imported.reports[1])
    );
    assert!(
        skip_message(&imported.reports[3]).contains("row 4"),
        "{}",
        skip_message(&imported.reports[3])
    );
    // One account per key: the first row's.
    let (first, _) = created_account(&imported.reports[0]);
    let (third, _) = created_account(&imported.reports[2]);
    assert_eq!(
        holders(&mut p.db, &exam_number(11), &id_number("20000101", 10)),
        vec![first]
    );
    assert_eq!(
        holders(&mut p.db, &exam_number(12), &id_number("20000101", 13)),
        vec![third]
    );
}

#[test]
fn an_unknown_school_or_major_or_a_bad_row_rejects_only_that_row() {
    let mut p = people();
    let count = account_count(&mut p.db);
    let text = file(
        true,
        &[
            row_of(10, 10, PHARMACY, "ZZU99"),
            row_of(11, 11, "999999", SCHOOL),
            format!(
                "12345,{},张3,1380013800,{PHARMACY},",
                id_number("20000101", 12)
            ),
            row_of(13, 13, PHARMACY, SCHOOL),
        ],
    );
    let imported = import(&mut p.db, &p.admin, &text);
    assert_eq!(
        outcomes(&imported),
        vec![
            rejected(2, &[("school_code", "school.unknown")]),
            rejected(3, &[("major_code", "major.unknown")]),
            rejected(
                4,
                &[
                    ("exam_number", "exam_number.format"),
                    ("name", "name.format"),
                    ("phone", "phone.format"),
                ]
            ),
            created(5),
        ]
    );
    assert_eq!(imported.reports[2].exam_number, "12345", "as written");
    assert_eq!(imported.passwords.len(), 1);
    assert_eq!(account_count(&mut p.db), count + 1);
    assert!(holders(&mut p.db, &exam_number(10), &id_number("20000101", 11)).is_empty());

    // Staff naming another school in the row.
    let text = file(true, &[row_of(14, 14, PHARMACY, OTHER_SCHOOL)]);
    let imported = import(&mut p.db, &p.staff, &text);
    assert_eq!(
        outcomes(&imported),
        vec![rejected(2, &[("school_code", "school.not_own")])]
    );
    assert!(imported.passwords.is_empty());
    assert_eq!(account_count(&mut p.db), count + 1);
}

#[test]
fn without_a_catalogue_in_memory_every_major_is_unknown() {
    let mut p = people();
    let rows = parse(
        &file(false, &[row(10, 10, PHARMACY)]),
        &cases::importer(&p.staff).unwrap(),
        date_in_shanghai(Utc::now()),
    )
    .unwrap();
    let prepared = cases::prepare(&mut p.db.conn, None, rows).unwrap();
    assert!(prepared.passwords().is_empty());
    let reports = cases::commit(&mut p.db.conn, prepared, Vec::new()).unwrap();
    assert_eq!(
        reports.iter().map(outcome).collect::<Vec<_>>(),
        vec![rejected(2, &[("major_code", "major.unknown")])]
    );
}

#[test]
fn importing_the_same_file_twice_creates_nothing_the_second_time() {
    let mut p = people();
    let text = file(false, &[row(10, 10, PHARMACY), row(11, 11, PHARMACY)]);
    let first = import(&mut p.db, &p.staff, &text);
    assert_eq!(outcomes(&first), vec![created(2), created(3)]);
    let count = account_count(&mut p.db);
    let ids: Vec<Uuid> = first.reports.iter().map(|r| created_account(r).0).collect();

    let second = import(&mut p.db, &p.staff, &text);
    assert!(second.passwords.is_empty(), "no password drawn");
    assert_eq!(
        outcomes(&second),
        vec![
            skipped(2, "exam_number", "account.exists"),
            skipped(3, "exam_number", "account.exists"),
        ]
    );
    assert_eq!(account_count(&mut p.db), count);
    for (i, id) in ids.into_iter().enumerate() {
        assert_eq!(account(&mut p.db, id).password_hash, format!("hash-{i}"));
    }
}

#[test]
fn a_registered_row_before_new_ones_takes_no_hash_of_theirs() {
    // Regression: a row skipped as registered used to consume the next new row's
    // hash, so that row got another's password and the last new row none.
    let mut p = people();
    let text = file(
        false,
        &[
            row(1, 10, PHARMACY),
            row(12, 12, PHARMACY),
            row(13, 13, PHARMACY),
        ],
    );
    let imported = import(&mut p.db, &p.staff, &text);
    assert_eq!(
        outcomes(&imported),
        vec![
            skipped(2, "exam_number", "account.exists"),
            created(3),
            created(4),
        ]
    );
    assert_eq!(imported.passwords.len(), 2);
    for (i, report) in imported.reports[1..].iter().enumerate() {
        let (id, password) = created_account(report);
        assert_eq!(password, imported.passwords[i]);
        assert_eq!(account(&mut p.db, id).password_hash, format!("hash-{i}"));
    }
}
