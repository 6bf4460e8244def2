//! Accounts and sign-in (R1, R2, R19), called without HTTP: self-registration,
//! schools, staff and service accounts, the caller's own account and password, a
//! staff reset to a temporary password; sign-in in three steps with the lock
//! after five failures, refresh-token rotation and reuse detection, sign-out, and
//! the self-service password reset through the outbox. The form checks
//! themselves are unit tests of `domain::new_account`.

use std::fmt::Debug;
use std::net::IpAddr;

use api::access::Actor;
use api::auth::keyring::KeyRing;
use api::auth::keys::JwtKeys;
use api::auth::principal::AccessClaims;
use api::auth::secret::token_hash;
use api::use_cases::accounts as cases;
use api::use_cases::sign_in::{self, SignInRefusal, Tokens};
use api::use_cases::{Outcome, Refusal};
use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use domain::account::{Role, Scope};
use domain::new_account::{
    Registration, RegistrationForm, ServiceAccount, ServiceAccountForm, StaffAccount, StaffForm,
    check_registration, check_service_account, check_staff,
};
use persistence::accounts::{AccountRow, RefreshTokenRow};
use persistence::schema::{accounts, password_reset_tokens, schools};
use tests::{PASSWORD, UseCaseDb, exam_number, id_number};
use uuid::Uuid;

use crate::support::{
    OTHER_SCHOOL, PHARMACY, SCHOOL, World, forbidden, invalid, not_found, problems, world,
};

// ---------------------------------------------------------------------------
// The world and its helpers
// ---------------------------------------------------------------------------

/// Everyone an account test needs: candidate 1 of [`SCHOOL`] and the school's
/// staff, candidate 2 of [`OTHER_SCHOOL`] and its staff, candidate 3 of no school,
/// an admin, a service account, and the signing key.
struct People {
    db: UseCaseDb,
    candidate: Actor,
    staff: Actor,
    outsider: Actor,
    other_staff: Actor,
    unschooled: Actor,
    admin: Actor,
    service: Actor,
    keys: KeyRing,
}

fn people() -> People {
    let World {
        mut db,
        owner: candidate,
        staff,
    } = world();
    let outsider = db.candidate(2, Some(OTHER_SCHOOL), PHARMACY);
    let other_staff = db.staff("wang.laoshi", OTHER_SCHOOL);
    let unschooled = db.candidate(3, None, PHARMACY);
    let admin = db.admin("admin");
    let service = db.service_account("chsi-sync", &[Scope::VerificationWrite]);
    People {
        db,
        candidate,
        staff,
        outsider,
        other_staff,
        unschooled,
        admin,
        service,
        keys: KeyRing::with_access_key(JwtKeys::from_seed([7; 32])),
    }
}

/// Now, at the database's precision (microseconds), so stored timestamps compare
/// equal.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A checked registration of exam number [`exam_number`]`(n)` and ID number
/// [`id_number`]`("20000101", n)` in [`PHARMACY`], of `school` if given.
fn registration(n: u32, school: Option<&str>) -> Registration {
    form(RegistrationForm {
        exam_number: exam_number(n),
        id_number: id_number("20000101", n),
        name: "张小明".into(),
        phone: "13912345678".into(),
        password: PASSWORD.into(),
        major_code: PHARMACY.into(),
        school_code: school.map(str::to_owned),
    })
}

#[track_caller]
fn form(form: RegistrationForm) -> Registration {
    check_registration(&form, today()).unwrap_or_else(|p| panic!("{form:?}: {p:?}"))
}

fn register(db: &mut UseCaseDb, registration: &Registration) -> Outcome<AccountRow> {
    cases::register(
        &mut db.conn,
        &db.catalog,
        registration,
        "hash-of-registration".into(),
    )
}

fn staff_form(username: &str, school: &str) -> StaffAccount {
    check_staff(&StaffForm {
        username: username.into(),
        password: PASSWORD.into(),
        name: "赵老师".into(),
        school_code: school.into(),
    })
    .unwrap()
}

fn service_form(username: &str, scopes: &[&str]) -> ServiceAccount {
    check_service_account(&ServiceAccountForm {
        username: username.into(),
        name: "短信网关".into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    })
    .unwrap()
}

/// The stored account, read directly (no actor).
fn row(db: &mut UseCaseDb, id: Uuid) -> AccountRow {
    persistence::accounts::find(&mut db.conn, id).unwrap()
}

fn account_count(db: &mut UseCaseDb) -> i64 {
    accounts::table.count().get_result(&mut db.conn).unwrap()
}

fn school_count(db: &mut UseCaseDb) -> i64 {
    schools::table.count().get_result(&mut db.conn).unwrap()
}

fn reset_token_count(db: &mut UseCaseDb) -> i64 {
    password_reset_tokens::table
        .count()
        .get_result(&mut db.conn)
        .unwrap()
}

/// The detail code and the (field, code) of a `Taken` refusal (panics otherwise).
#[track_caller]
fn taken<T: Debug>(outcome: Outcome<T>) -> (&'static str, Option<(String, String)>) {
    match outcome {
        Err(Refusal::Taken(taken)) => (
            taken.detail.code,
            taken.field.map(|f| (f.field, f.code.into_owned())),
        ),
        other => panic!("expected Taken, got {other:?}"),
    }
}

fn field(field: &str, code: &str) -> Option<(String, String)> {
    Some((field.to_owned(), code.to_owned()))
}

/// The client address the use-case tests sign in from.
const ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
/// Another client address.
const OTHER_ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 2));

/// Step 1 of a sign-in from [`ADDR`]: the account the login names, if any.
fn account_for(
    conn: &mut PgConnection,
    login: &str,
    at: DateTime<Utc>,
) -> Outcome<Option<AccountRow>> {
    sign_in::attempt(conn, login, ADDR, at).map(|a| a.account)
}

/// A wrong password for `login` from `address` at `at`, as the route counts it.
#[track_caller]
fn fail(db: &mut UseCaseDb, login: &str, address: IpAddr, at: DateTime<Utc>) {
    let attempt = sign_in::attempt(&mut db.conn, login, address, at).unwrap();
    sign_in::failed(&mut db.conn, &attempt, at).unwrap();
}

/// Signs `login` in at `at` as the route does after a right password (panics
/// unless the login names an account that may sign in now).
#[track_caller]
fn sign_in(db: &mut UseCaseDb, keys: &KeyRing, login: &str, at: DateTime<Utc>) -> Tokens {
    let attempt = sign_in::attempt(&mut db.conn, login, ADDR, at).unwrap();
    assert!(attempt.account.is_some(), "no account for {login}");
    sign_in::signed_in(&mut db.conn, keys, &attempt, at).unwrap()
}

/// Stored throttle counters as (rule, key, hits), sorted.
fn throttle_rows(db: &mut UseCaseDb) -> Vec<(String, String, i32)> {
    use persistence::schema::throttles as t;
    t::table
        .select((t::rule, t::key, t::hits))
        .order((t::rule, t::key))
        .load(&mut db.conn)
        .unwrap()
}

fn refresh(db: &mut UseCaseDb, keys: &KeyRing, token: &str, at: DateTime<Utc>) -> Outcome<Tokens> {
    sign_in::refresh(&mut db.conn, keys, token, at)
}

#[track_caller]
fn invalid_refresh<T: Debug>(outcome: Outcome<T>) {
    assert!(
        matches!(
            outcome,
            Err(Refusal::SignIn(SignInRefusal::InvalidRefreshToken))
        ),
        "expected InvalidRefreshToken, got {outcome:?}"
    );
}

/// The stored row of refresh token `token`.
fn refresh_row(db: &mut UseCaseDb, token: &str) -> RefreshTokenRow {
    persistence::accounts::refresh_token_for_update(&mut db.conn, &token_hash(token))
        .unwrap()
        .expect("a stored refresh token")
}

/// The seconds left of a `Throttled` refusal (panics otherwise).
#[track_caller]
fn throttled<T: Debug>(outcome: Outcome<T>) -> i64 {
    match outcome {
        Err(Refusal::SignIn(SignInRefusal::Throttled { seconds })) => seconds,
        other => panic!("expected Throttled, got {other:?}"),
    }
}

/// Every pending outbox row as (kind, recipient, payload), oldest first.
fn outbox(db: &mut UseCaseDb) -> Vec<(String, Uuid, serde_json::Value)> {
    persistence::outbox::pending(&mut db.conn, 0, 10_000)
        .unwrap()
        .into_iter()
        .map(|n| (n.kind.as_str().to_owned(), n.account_id, n.payload))
        .collect()
}

/// The token of the only pending notification, which must be a password reset
/// for `recipient`.
#[track_caller]
fn the_reset_token(db: &mut UseCaseDb, recipient: Uuid) -> String {
    let sent = outbox(db);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (kind, to, payload) = &sent[0];
    assert_eq!(kind, "password_reset");
    assert_eq!(*to, recipient);
    payload["token"].as_str().expect("a token").to_owned()
}

#[track_caller]
fn invalid_reset_token<T: Debug>(outcome: Outcome<T>) {
    assert_eq!(
        invalid(outcome),
        problems(&[("token", "password_reset.invalid_token")])
    );
}

// ---------------------------------------------------------------------------
// register
// ---------------------------------------------------------------------------

#[test]
fn a_registration_writes_a_candidate_with_the_given_fields() {
    let mut p = people();
    let before = account_count(&mut p.db);
    let registered = register(&mut p.db, &registration(10, Some(SCHOOL))).unwrap();
    let stored = row(&mut p.db, registered.id);
    assert_eq!(stored.id, registered.id);
    assert_eq!(stored.role, Role::Candidate);
    assert_eq!(stored.exam_number, Some(exam_number(10)));
    assert_eq!(stored.id_number, Some(id_number("20000101", 10)));
    assert_eq!(stored.username, None);
    assert_eq!(stored.name, "张小明");
    assert_eq!(stored.phone.as_deref(), Some("13912345678"));
    assert_eq!(stored.major_code.as_deref(), Some(PHARMACY));
    assert_eq!(stored.school_code.as_deref(), Some(SCHOOL));
    assert_eq!(stored.password_hash, "hash-of-registration");
    assert!(!stored.must_change_password);
    assert!(stored.scopes.is_empty());

    // Without a school, and the new candidate can be found by either login.
    let unschooled = register(&mut p.db, &registration(11, None)).unwrap();
    assert_eq!(row(&mut p.db, unschooled.id).school_code, None);
    assert_eq!(account_count(&mut p.db), before + 2);
    for login in [exam_number(11), id_number("20000101", 11)] {
        let found = account_for(&mut p.db.conn, &login, now()).unwrap();
        assert_eq!(found.map(|a| a.id), Some(unschooled.id), "{login}");
    }
}

#[test]
fn a_major_not_in_the_catalogue_is_refused_and_nothing_written() {
    let mut p = people();
    let before = account_count(&mut p.db);
    let mut unknown = registration(10, Some(SCHOOL));
    unknown.major_code = domain::catalog::MajorCode::parse("999999").unwrap();
    let refused = register(&mut p.db, &unknown);
    assert_eq!(
        invalid(refused),
        problems(&[("major_code", "major.unknown")])
    );
    assert_eq!(account_count(&mut p.db), before);
    let found = account_for(&mut p.db.conn, &exam_number(10), now()).unwrap();
    assert!(found.is_none());
}

#[test]
fn a_registered_exam_or_id_number_is_taken_naming_the_field() {
    let mut p = people();
    let first = register(&mut p.db, &registration(10, Some(SCHOOL))).unwrap();
    let before = account_count(&mut p.db);

    // The same registration again: the exam number clashes first.
    let again = register(&mut p.db, &registration(10, Some(SCHOOL)));
    assert_eq!(
        taken(again),
        ("account.exists", field("exam_number", "account.exists"))
    );
    // The same exam number with another ID number.
    let mut same_exam = registration(11, None);
    same_exam.exam_number = registration(10, None).exam_number;
    assert_eq!(
        taken(register(&mut p.db, &same_exam)),
        ("account.exists", field("exam_number", "account.exists"))
    );
    // The same ID number with another exam number, also of a candidate the
    // service made itself.
    let mut same_id = registration(12, None);
    same_id.id_number = registration(10, None).id_number;
    assert_eq!(
        taken(register(&mut p.db, &same_id)),
        ("account.exists", field("id_number", "account.exists"))
    );
    let world_candidate = form(RegistrationForm {
        exam_number: exam_number(13),
        id_number: id_number("19990101", 1),
        name: "张小明".into(),
        phone: "13912345678".into(),
        password: PASSWORD.into(),
        major_code: PHARMACY.into(),
        school_code: None,
    });
    assert_eq!(
        taken(register(&mut p.db, &world_candidate)),
        ("account.exists", field("id_number", "account.exists"))
    );
    assert_eq!(account_count(&mut p.db), before);
    assert_eq!(
        row(&mut p.db, first.id).password_hash,
        "hash-of-registration"
    );
}

#[test]
fn an_unknown_school_is_refused_and_nothing_written() {
    let mut p = people();
    let before = account_count(&mut p.db);
    let refused = register(&mut p.db, &registration(10, Some("ZZU99")));
    assert_eq!(
        invalid(refused),
        problems(&[("school_code", "school.unknown")])
    );
    assert_eq!(account_count(&mut p.db), before);
    assert!(
        account_for(&mut p.db.conn, &exam_number(10), now())
            .unwrap()
            .is_none()
    );
    // The same registration with a school that exists goes through.
    register(&mut p.db, &registration(10, Some(OTHER_SCHOOL))).unwrap();
}

// ---------------------------------------------------------------------------
// Schools, staff and service accounts
// ---------------------------------------------------------------------------

#[test]
fn an_admin_adds_a_school_and_lists_them_by_code() {
    let mut p = people();
    let school =
        cases::create_school(&mut p.db.conn, &p.admin, ("CCNU03", "华中师范大学")).unwrap();
    assert_eq!(
        (school.code.as_str(), school.name.as_str()),
        ("CCNU03", "华中师范大学")
    );

    let (page, total) = cases::list_schools(&mut p.db.conn, (0, 2)).unwrap();
    let codes: Vec<&str> = page.iter().map(|s| s.code.as_str()).collect();
    assert_eq!((codes, total), (vec!["CCNU03", SCHOOL], 3));
    let (page, total) = cases::list_schools(&mut p.db.conn, (2, 2)).unwrap();
    let codes: Vec<&str> = page.iter().map(|s| s.code.as_str()).collect();
    assert_eq!((codes, total), (vec![OTHER_SCHOOL], 3));
    assert_eq!(page[0].name, format!("{OTHER_SCHOOL} 学院"));
}

#[test]
fn a_taken_school_code_is_school_exists_and_only_admins_add_schools() {
    let mut p = people();
    let refused = cases::create_school(&mut p.db.conn, &p.admin, (SCHOOL, "另一所学校"));
    assert_eq!(taken(refused), ("school.exists", None));
    for nobody in [&p.staff, &p.candidate, &p.service] {
        forbidden(cases::create_school(
            &mut p.db.conn,
            nobody,
            ("CCNU03", "华中师范大学"),
        ));
    }
    assert_eq!(school_count(&mut p.db), 2, "nothing added");
    let (page, _) = cases::list_schools(&mut p.db.conn, (0, 10)).unwrap();
    assert_eq!(page[0].name, format!("{SCHOOL} 学院"), "the name is kept");
}

#[test]
fn an_admin_creates_staff_of_an_existing_school() {
    let mut p = people();
    let created = cases::create_staff(
        &mut p.db.conn,
        &p.admin,
        &staff_form("zhao.laoshi", OTHER_SCHOOL),
        "hash-of-staff".into(),
    )
    .unwrap();
    let stored = row(&mut p.db, created.id);
    assert_eq!(stored.role, Role::Staff);
    assert_eq!(stored.username.as_deref(), Some("zhao.laoshi"));
    assert_eq!(stored.name, "赵老师");
    assert_eq!(stored.school_code.as_deref(), Some(OTHER_SCHOOL));
    assert_eq!(stored.password_hash, "hash-of-staff");
    assert_eq!((stored.exam_number, stored.id_number), (None, None));
    assert!(stored.scopes.is_empty());
    assert!(!stored.must_change_password);
    let found = account_for(&mut p.db.conn, "zhao.laoshi", now()).unwrap();
    assert_eq!(found.map(|a| a.id), Some(created.id));
}

#[test]
fn staff_with_a_taken_username_or_an_unknown_school_are_refused() {
    let mut p = people();
    let before = account_count(&mut p.db);
    // Taken by staff, and by a service account (one name space).
    for username in ["li.laoshi", "chsi-sync"] {
        let refused = cases::create_staff(
            &mut p.db.conn,
            &p.admin,
            &staff_form(username, SCHOOL),
            "hash".into(),
        );
        assert_eq!(
            taken(refused),
            ("account.exists", field("username", "account.exists")),
            "{username}"
        );
    }
    let refused = cases::create_staff(
        &mut p.db.conn,
        &p.admin,
        &staff_form("zhao.laoshi", "ZZU99"),
        "hash".into(),
    );
    assert_eq!(
        invalid(refused),
        problems(&[("school_code", "school.unknown")])
    );
    assert_eq!(account_count(&mut p.db), before);
}

#[test]
fn only_admins_create_staff_and_service_accounts() {
    let mut p = people();
    let before = account_count(&mut p.db);
    for nobody in [&p.staff, &p.candidate, &p.service] {
        forbidden(cases::create_staff(
            &mut p.db.conn,
            nobody,
            &staff_form("zhao.laoshi", SCHOOL),
            "hash".into(),
        ));
        forbidden(cases::create_service_account(
            &mut p.db.conn,
            nobody,
            &service_form("sms-gateway", &["outbox:read"]),
            "hash".into(),
        ));
    }
    assert_eq!(account_count(&mut p.db), before);
}

#[test]
fn a_service_account_stores_its_scopes_in_order() {
    let mut p = people();
    let created = cases::create_service_account(
        &mut p.db.conn,
        &p.admin,
        &service_form("sms-gateway", &["outbox:read", "applications:read"]),
        "hash-of-secret".into(),
    )
    .unwrap();
    let stored = row(&mut p.db, created.id);
    assert_eq!(stored.role, Role::Integration);
    assert_eq!(stored.username.as_deref(), Some("sms-gateway"));
    assert_eq!(stored.name, "短信网关");
    assert_eq!(stored.scopes, ["outbox:read", "applications:read"]);
    assert_eq!(stored.school_code, None);
    assert_eq!(stored.password_hash, "hash-of-secret");

    // Its token carries the scopes.
    let tokens = sign_in(&mut p.db, &p.keys, "sms-gateway", now());
    let claims: AccessClaims = p.keys.verify_access(&tokens.access_token).unwrap();
    assert_eq!(claims.role, Role::Integration);
    assert_eq!(claims.scopes, [Scope::OutboxRead, Scope::ApplicationsRead]);

    let refused = cases::create_service_account(
        &mut p.db.conn,
        &p.admin,
        &service_form("li.laoshi", &["outbox:read"]),
        "hash".into(),
    );
    assert_eq!(
        taken(refused),
        ("account.exists", field("username", "account.exists"))
    );
}

// ---------------------------------------------------------------------------
// Own account and password
// ---------------------------------------------------------------------------

#[test]
fn own_account_and_the_identifiers_a_password_must_not_equal() {
    let mut p = people();
    let mine = cases::own_account(&mut p.db.conn, &p.candidate).unwrap();
    assert_eq!(mine.id, p.candidate.id);
    assert_eq!(
        cases::identifiers(&mine),
        [exam_number(1), id_number("19990101", 1)]
    );
    let staff = cases::own_account(&mut p.db.conn, &p.staff).unwrap();
    assert_eq!(staff.id, p.staff.id);
    assert_eq!(cases::identifiers(&staff), ["li.laoshi"]);
    let service = cases::own_account(&mut p.db.conn, &p.service).unwrap();
    assert_eq!(cases::identifiers(&service), ["chsi-sync"]);
}

#[test]
fn changing_the_own_password_sets_it_for_good_and_ends_every_session() {
    let mut p = people();
    // A temporary password from the school office first.
    cases::reset_candidate_password(&mut p.db.conn, &p.staff, p.candidate.id, "temporary").unwrap();
    let session = sign_in(&mut p.db, &p.keys, &exam_number(1), now());
    assert!(session.must_change_password);
    let other = sign_in(&mut p.db, &p.keys, &exam_number(1), now());

    let hash = api::auth::password::hash("xinmima2026").unwrap();
    cases::change_own_password(&mut p.db.conn, &p.candidate, &hash).unwrap();
    let stored = row(&mut p.db, p.candidate.id);
    assert!(api::auth::password::verify(
        &stored.password_hash,
        "xinmima2026"
    ));
    assert!(!stored.must_change_password);
    for token in [&session.refresh_token, &other.refresh_token] {
        assert!(refresh_row(&mut p.db, token).revoked_at.is_some());
        invalid_refresh(refresh(&mut p.db, &p.keys, token, now()));
    }
    // Signing in again gives a normal session.
    assert!(!sign_in(&mut p.db, &p.keys, &exam_number(1), now()).must_change_password);
}

// ---------------------------------------------------------------------------
// reset_candidate_password
// ---------------------------------------------------------------------------

#[test]
fn staff_of_the_candidates_school_set_a_temporary_password() {
    let mut p = people();
    let session = sign_in(&mut p.db, &p.keys, &exam_number(1), now());
    // Shut out by five wrong passwords.
    for _ in 0..5 {
        fail(&mut p.db, &exam_number(1), ADDR, now());
    }
    throttled(account_for(&mut p.db.conn, &exam_number(1), now()));

    cases::reset_candidate_password(&mut p.db.conn, &p.staff, p.candidate.id, "temporary").unwrap();
    let stored = row(&mut p.db, p.candidate.id);
    assert!(stored.must_change_password);
    assert_eq!(stored.password_hash, "temporary");
    // The failures against the old password are forgotten.
    let left: Vec<_> = throttle_rows(&mut p.db)
        .into_iter()
        .filter(|(rule, _, _)| rule != "login_address")
        .collect();
    assert_eq!(left, [], "only the address counter stays");
    invalid_refresh(refresh(&mut p.db, &p.keys, &session.refresh_token, now()));
    let tokens = sign_in(&mut p.db, &p.keys, &exam_number(1), now());
    assert!(tokens.must_change_password);
    let claims: AccessClaims = p.keys.verify_access(&tokens.access_token).unwrap();
    assert!(claims.mcp);
}

#[test]
fn nobody_else_finds_the_candidate_but_admins_reset_anyone() {
    let mut p = people();
    let before = row(&mut p.db, p.candidate.id);
    for stranger in [&p.other_staff, &p.candidate, &p.outsider, &p.service] {
        not_found(cases::reset_candidate_password(
            &mut p.db.conn,
            stranger,
            p.candidate.id,
            "temporary",
        ));
    }
    // Staff never reach a candidate of no school, another staff member or an
    // unknown id.
    for id in [
        p.unschooled.id,
        p.other_staff.id,
        p.admin.id,
        Uuid::now_v7(),
    ] {
        not_found(cases::reset_candidate_password(
            &mut p.db.conn,
            &p.staff,
            id,
            "temporary",
        ));
    }
    let after = row(&mut p.db, p.candidate.id);
    assert_eq!(
        (after.password_hash, after.must_change_password),
        (before.password_hash, false)
    );
    assert_eq!(row(&mut p.db, p.other_staff.id).password_hash, "not-a-hash");

    for id in [p.candidate.id, p.outsider.id, p.unschooled.id] {
        cases::reset_candidate_password(&mut p.db.conn, &p.admin, id, "by-admin").unwrap();
        let stored = row(&mut p.db, id);
        assert_eq!(
            (stored.password_hash.as_str(), stored.must_change_password),
            ("by-admin", true)
        );
    }
    // Admins reset candidates only.
    not_found(cases::reset_candidate_password(
        &mut p.db.conn,
        &p.admin,
        p.staff.id,
        "by-admin",
    ));
    assert!(!row(&mut p.db, p.staff.id).must_change_password);
}

// ---------------------------------------------------------------------------
// Sign-in: account_for, failed, signed_in
// ---------------------------------------------------------------------------

#[test]
fn account_for_finds_by_any_login_and_nothing_for_an_unknown_one() {
    let mut p = people();
    let at = now();
    for (login, id) in [
        (exam_number(1), p.candidate.id),
        (format!("  {}  ", id_number("19990101", 1)), p.candidate.id),
        ("li.laoshi".to_owned(), p.staff.id),
        ("chsi-sync".to_owned(), p.service.id),
    ] {
        let found = account_for(&mut p.db.conn, &login, at).unwrap();
        assert_eq!(found.map(|a| a.id), Some(id), "{login:?}");
    }
    for login in [
        exam_number(99),
        id_number("19990101", 99),
        "nobody".to_owned(),
        String::new(),
        "12345".to_owned(),
        "not a login!".to_owned(),
        "x".repeat(500),
    ] {
        let found = account_for(&mut p.db.conn, &login, at).unwrap();
        assert!(found.is_none(), "{login:?}: {found:?}");
    }
}

#[test]
fn five_failures_refuse_that_account_from_that_address_for_fifteen_minutes() {
    let mut p = people();
    let at = now();
    let login = exam_number(1);
    for _ in 1..=4 {
        fail(&mut p.db, &login, ADDR, at);
    }
    assert!(
        account_for(&mut p.db.conn, &login, at).unwrap().is_some(),
        "four failures do not refuse"
    );
    fail(&mut p.db, &login, ADDR, at);
    let subject = p.candidate.id.to_string();
    assert_eq!(
        throttle_rows(&mut p.db),
        [
            ("login_account".to_owned(), subject.clone(), 5),
            ("login_address".to_owned(), ADDR.to_string(), 5),
            ("login_pair".to_owned(), format!("{subject} {ADDR}"), 5),
        ]
    );

    assert_eq!(throttled(account_for(&mut p.db.conn, &login, at)), 900);
    // By the other login of the same account too, with the time left.
    let ten_minutes_on = at + TimeDelta::minutes(10);
    let by_id = id_number("19990101", 1);
    assert_eq!(
        throttled(account_for(&mut p.db.conn, &by_id, ten_minutes_on)),
        300
    );
    // The same account from another address, and other accounts, may sign in.
    let elsewhere = sign_in::attempt(&mut p.db.conn, &login, OTHER_ADDR, at).unwrap();
    assert_eq!(elsewhere.account.map(|a| a.id), Some(p.candidate.id));
    assert!(
        account_for(&mut p.db.conn, &exam_number(2), at)
            .unwrap()
            .is_some()
    );
    // After fifteen minutes it opens again.
    let open = account_for(&mut p.db.conn, &login, at + TimeDelta::minutes(15))
        .unwrap()
        .unwrap();
    assert_eq!(open.id, p.candidate.id);
}

#[test]
fn unknown_logins_count_and_are_refused_exactly_like_known_ones() {
    let mut p = people();
    let at = now();
    let (known, unknown) = (exam_number(1), exam_number(99));
    for _ in 0..5 {
        fail(&mut p.db, &known, ADDR, at);
        fail(&mut p.db, &unknown, ADDR, at);
    }
    assert_eq!(throttled(account_for(&mut p.db.conn, &known, at)), 900);
    assert_eq!(throttled(account_for(&mut p.db.conn, &unknown, at)), 900);
    // Counted under the login, as typed (trimmed, lower case).
    let rows = throttle_rows(&mut p.db);
    assert!(
        rows.contains(&("login_pair".into(), format!("login:{unknown} {ADDR}"), 5)),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("login_account".into(), format!("login:{unknown}"), 5)),
        "{rows:?}"
    );
    assert!(rows.contains(&("login_address".into(), ADDR.to_string(), 10)));
}

#[test]
fn fifty_failures_in_a_day_refuse_the_account_everywhere_and_tell_its_holder() {
    let mut p = people();
    let login = exam_number(1);
    let start = now();
    // Ten addresses, five failures each, an hour apart: no pair or address limit
    // is left when the next address starts.
    for i in 0..10u8 {
        let address = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, i));
        let at = start + TimeDelta::hours(i64::from(i));
        for _ in 0..5 {
            fail(&mut p.db, &login, address, at);
        }
    }
    let last = start + TimeDelta::hours(9);
    // Refused from an address never used before, for 15 minutes.
    let fresh = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 77));
    assert_eq!(
        throttled(sign_in::attempt(&mut p.db.conn, &login, fresh, last)),
        900
    );
    let open = last + TimeDelta::minutes(15);
    assert!(sign_in::attempt(&mut p.db.conn, &login, fresh, open).is_ok());
    // The holder was told once.
    let sent = outbox(&mut p.db);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (kind, to, payload) = &sent[0];
    assert_eq!((kind.as_str(), *to), ("sign_in_throttled", p.candidate.id));
    assert_eq!(payload["failures"], 50);
    assert_eq!(payload["phone"], "13800138000");
}

#[test]
fn a_hundred_failures_from_one_address_refuse_that_address_for_every_login() {
    let mut p = people();
    let at = now();
    for n in 0..100 {
        fail(&mut p.db, &format!("nobody-{n}"), ADDR, at);
    }
    assert_eq!(
        throttled(account_for(&mut p.db.conn, &exam_number(2), at)),
        900
    );
    let elsewhere = sign_in::attempt(&mut p.db.conn, &exam_number(2), OTHER_ADDR, at).unwrap();
    assert!(elsewhere.account.is_some());
}

#[test]
fn a_sign_in_clears_the_failures_and_gives_a_signed_access_token() {
    let mut p = people();
    let at = Utc::now();
    for _ in 0..3 {
        fail(&mut p.db, "li.laoshi", ADDR, at);
        fail(&mut p.db, "li.laoshi", OTHER_ADDR, at);
    }
    let tokens = sign_in(&mut p.db, &p.keys, "li.laoshi", at);
    // This pair's failures are forgotten; the other address's and the account's stay.
    let subject = p.staff.id.to_string();
    let pairs: Vec<(String, i32)> = throttle_rows(&mut p.db)
        .into_iter()
        .filter(|(rule, _, _)| rule == "login_pair")
        .map(|(_, key, hits)| (key, hits))
        .collect();
    assert_eq!(pairs, [(format!("{subject} {OTHER_ADDR}"), 3)]);

    assert_eq!(tokens.expires_in, 900);
    assert!(!tokens.must_change_password);
    let claims: AccessClaims = p.keys.verify_access(&tokens.access_token).unwrap();
    assert_eq!(claims.sub, p.staff.id);
    assert_eq!(claims.role, Role::Staff);
    assert_eq!(claims.school.as_deref(), Some(SCHOOL));
    assert!(claims.scopes.is_empty());
    assert!(!claims.mcp);
    assert_eq!(claims.typ, "access");
    assert_eq!(
        (claims.iat, claims.exp),
        (at.timestamp(), at.timestamp() + 900)
    );
    assert!(
        JwtKeys::from_seed([8; 32])
            .verify::<AccessClaims>(&tokens.access_token)
            .is_err(),
        "signed with the service's key only"
    );

    let stored = refresh_row(&mut p.db, &tokens.refresh_token);
    assert_eq!(stored.account_id, p.staff.id);
    assert_eq!(stored.expires_at, at.trunc_subsecs(6) + TimeDelta::days(30));
    assert_eq!((stored.used_at, stored.revoked_at), (None, None));
}

// ---------------------------------------------------------------------------
// refresh
// ---------------------------------------------------------------------------

#[test]
fn a_refresh_token_works_once_and_its_reuse_revokes_the_whole_family() {
    let mut p = people();
    let login = exam_number(1);
    let first = sign_in(&mut p.db, &p.keys, &login, now());
    let elsewhere = sign_in(&mut p.db, &p.keys, &login, now());

    let second = refresh(&mut p.db, &p.keys, &first.refresh_token, now()).unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let claims: AccessClaims = p.keys.verify_access(&second.access_token).unwrap();
    assert_eq!(claims.sub, p.candidate.id);
    assert_eq!(claims.role, Role::Candidate);
    let spent = refresh_row(&mut p.db, &first.refresh_token);
    assert!(spent.used_at.is_some());
    let family = spent.family_id;
    assert_eq!(
        refresh_row(&mut p.db, &second.refresh_token).family_id,
        family
    );
    assert_ne!(
        refresh_row(&mut p.db, &elsewhere.refresh_token).family_id,
        family
    );

    // The spent token again: refused, and the family is gone.
    invalid_refresh(refresh(&mut p.db, &p.keys, &first.refresh_token, now()));
    assert!(
        refresh_row(&mut p.db, &second.refresh_token)
            .revoked_at
            .is_some()
    );
    invalid_refresh(refresh(&mut p.db, &p.keys, &second.refresh_token, now()));
    // Another sign-in of the same account is another family and still works.
    let third = refresh(&mut p.db, &p.keys, &elsewhere.refresh_token, now()).unwrap();
    refresh(&mut p.db, &p.keys, &third.refresh_token, now()).unwrap();
    // An unknown token.
    invalid_refresh(refresh(&mut p.db, &p.keys, "no-such-token", now()));
}

#[test]
fn an_expired_refresh_token_fails() {
    let mut p = people();
    let at = now();
    let tokens = sign_in(&mut p.db, &p.keys, &exam_number(1), at);
    let refused = refresh(
        &mut p.db,
        &p.keys,
        &tokens.refresh_token,
        at + TimeDelta::days(31),
    );
    invalid_refresh(refused);
    let stored = refresh_row(&mut p.db, &tokens.refresh_token);
    assert_eq!(
        (stored.used_at, stored.revoked_at),
        (None, None),
        "an expired token is only refused"
    );
    // The same token, still inside its 30 days.
    refresh(
        &mut p.db,
        &p.keys,
        &tokens.refresh_token,
        at + TimeDelta::days(29),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------
// sign_out
// ---------------------------------------------------------------------------

#[test]
fn sign_out_revokes_the_family_of_the_actors_own_token_only() {
    let mut p = people();
    let first = sign_in(&mut p.db, &p.keys, &exam_number(1), now());
    let mine = refresh(&mut p.db, &p.keys, &first.refresh_token, now()).unwrap();
    let my_other_device = sign_in(&mut p.db, &p.keys, &exam_number(1), now());
    let theirs = sign_in(&mut p.db, &p.keys, "li.laoshi", now());

    sign_in::sign_out(&mut p.db.conn, &p.candidate, &mine.refresh_token).unwrap();
    for token in [&first.refresh_token, &mine.refresh_token] {
        assert!(refresh_row(&mut p.db, token).revoked_at.is_some());
    }
    invalid_refresh(refresh(&mut p.db, &p.keys, &mine.refresh_token, now()));
    refresh(&mut p.db, &p.keys, &my_other_device.refresh_token, now()).unwrap();

    // Someone else's token, an unknown one and one already revoked change nothing.
    sign_in::sign_out(&mut p.db.conn, &p.candidate, &theirs.refresh_token).unwrap();
    sign_in::sign_out(&mut p.db.conn, &p.candidate, "no-such-token").unwrap();
    sign_in::sign_out(&mut p.db.conn, &p.candidate, &mine.refresh_token).unwrap();
    assert_eq!(
        refresh_row(&mut p.db, &theirs.refresh_token).revoked_at,
        None
    );
    refresh(&mut p.db, &p.keys, &theirs.refresh_token, now()).unwrap();
}

// ---------------------------------------------------------------------------
// The self-service password reset
// ---------------------------------------------------------------------------

#[test]
fn a_reset_request_queues_one_notification_whose_token_sets_the_password() {
    let mut p = people();
    let at = now();
    let session = sign_in(&mut p.db, &p.keys, &exam_number(1), at);
    sign_in::request_reset(&mut p.db.conn, &exam_number(1), ADDR, at).unwrap();

    let sent = outbox(&mut p.db);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (kind, to, payload) = &sent[0];
    assert_eq!(kind, "password_reset");
    assert_eq!(*to, p.candidate.id);
    assert_eq!(payload["name"], "考生1");
    assert_eq!(payload["phone"], "13800138000");
    let expires: DateTime<Utc> = serde_json::from_value(payload["expires_at"].clone()).unwrap();
    assert_eq!(expires, at + TimeDelta::minutes(30));
    let token = payload["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 32, "{token}");
    assert_eq!(reset_token_count(&mut p.db), 1);

    let account = sign_in::reset_account(&mut p.db.conn, &token, at).unwrap();
    assert_eq!(account.id, p.candidate.id);
    let later = at + TimeDelta::minutes(5);
    sign_in::reset_password(&mut p.db.conn, &token, "new-hash", later).unwrap();
    let stored = row(&mut p.db, p.candidate.id);
    assert_eq!(stored.password_hash, "new-hash");
    assert!(!stored.must_change_password);

    // Every session of the account ends.
    assert!(
        refresh_row(&mut p.db, &session.refresh_token)
            .revoked_at
            .is_some()
    );
    invalid_refresh(refresh(&mut p.db, &p.keys, &session.refresh_token, later));

    // The token is spent.
    invalid_reset_token(sign_in::reset_password(
        &mut p.db.conn,
        &token,
        "another-hash",
        later,
    ));
    invalid_reset_token(sign_in::reset_account(&mut p.db.conn, &token, later));
    assert_eq!(row(&mut p.db, p.candidate.id).password_hash, "new-hash");
}

#[test]
fn a_reset_token_expires_after_thirty_minutes_and_an_unknown_one_never_works() {
    let mut p = people();
    let at = now();
    sign_in::request_reset(&mut p.db.conn, &id_number("19990101", 1), ADDR, at).unwrap();
    let token = the_reset_token(&mut p.db, p.candidate.id);
    let late = at + TimeDelta::minutes(31);
    invalid_reset_token(sign_in::reset_account(&mut p.db.conn, &token, late));
    invalid_reset_token(sign_in::reset_password(
        &mut p.db.conn,
        &token,
        "late",
        late,
    ));
    assert_eq!(row(&mut p.db, p.candidate.id).password_hash, "not-a-hash");
    for unknown in ["", "no-such-token"] {
        invalid_reset_token(sign_in::reset_account(&mut p.db.conn, unknown, at));
        invalid_reset_token(sign_in::reset_password(&mut p.db.conn, unknown, "x", at));
    }
    // Still good inside the thirty minutes.
    let in_time = at + TimeDelta::minutes(29);
    sign_in::reset_password(&mut p.db.conn, &token, "in-time", in_time).unwrap();
    assert_eq!(row(&mut p.db, p.candidate.id).password_hash, "in-time");
}

#[test]
fn a_reset_forgets_the_failures_and_ends_a_temporary_password() {
    let mut p = people();
    let at = now();
    cases::reset_candidate_password(&mut p.db.conn, &p.staff, p.candidate.id, "temporary").unwrap();
    for _ in 0..5 {
        fail(&mut p.db, &exam_number(1), ADDR, at);
    }
    throttled(account_for(&mut p.db.conn, &exam_number(1), at));
    sign_in::request_reset(&mut p.db.conn, &exam_number(1), ADDR, at).unwrap();
    let token = the_reset_token(&mut p.db, p.candidate.id);
    sign_in::reset_password(&mut p.db.conn, &token, "chosen", at).unwrap();
    let stored = row(&mut p.db, p.candidate.id);
    assert_eq!(
        (stored.password_hash.as_str(), stored.must_change_password),
        ("chosen", false)
    );
    assert!(
        account_for(&mut p.db.conn, &exam_number(1), at)
            .unwrap()
            .is_some()
    );
}

#[test]
fn past_three_reset_requests_an_hour_nothing_more_is_sent() {
    let mut p = people();
    let at = now();
    for _ in 0..5 {
        sign_in::request_reset(&mut p.db.conn, &exam_number(1), ADDR, at).unwrap();
    }
    assert_eq!(outbox(&mut p.db).len(), 3);
    assert_eq!(reset_token_count(&mut p.db), 3);
    // An hour later, again.
    let later = at + TimeDelta::hours(1);
    sign_in::request_reset(&mut p.db.conn, &exam_number(1), OTHER_ADDR, later).unwrap();
    assert_eq!(outbox(&mut p.db).len(), 4);
}

#[test]
fn past_twenty_reset_requests_from_one_address_nothing_more_is_sent() {
    let mut p = people();
    let at = now();
    for n in 0..20 {
        sign_in::request_reset(&mut p.db.conn, &format!("nobody-{n}"), ADDR, at).unwrap();
    }
    sign_in::request_reset(&mut p.db.conn, &exam_number(1), ADDR, at).unwrap();
    assert!(outbox(&mut p.db).is_empty());
    sign_in::request_reset(&mut p.db.conn, &exam_number(1), OTHER_ADDR, at).unwrap();
    assert_eq!(outbox(&mut p.db).len(), 1);
}

#[test]
fn staff_may_reset_their_own_password_too() {
    let mut p = people();
    let at = now();
    sign_in::request_reset(&mut p.db.conn, "li.laoshi", ADDR, at).unwrap();
    let token = the_reset_token(&mut p.db, p.staff.id);
    assert_eq!(outbox(&mut p.db)[0].2["phone"], serde_json::Value::Null);
    sign_in::reset_password(&mut p.db.conn, &token, "staff-hash", at).unwrap();
    assert_eq!(row(&mut p.db, p.staff.id).password_hash, "staff-hash");
}

#[test]
fn no_reset_is_queued_for_a_service_account_or_an_unknown_login() {
    let mut p = people();
    for login in [
        "chsi-sync".to_owned(),
        "nobody".to_owned(),
        exam_number(99),
        id_number("19990101", 99),
        String::new(),
        "not a login!".to_owned(),
    ] {
        sign_in::request_reset(&mut p.db.conn, &login, ADDR, now()).unwrap();
    }
    let sent = outbox(&mut p.db);
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(reset_token_count(&mut p.db), 0);
    assert_eq!(row(&mut p.db, p.service.id).password_hash, "not-a-hash");
}

#[test]
fn a_password_set_any_way_voids_every_reset_token_still_unused() {
    let mut p = people();
    let at = now();
    // Two reset requests: two tokens in the outbox.
    sign_in::request_reset(&mut p.db.conn, &exam_number(1), ADDR, at).unwrap();
    sign_in::request_reset(&mut p.db.conn, &exam_number(1), ADDR, at).unwrap();
    let tokens: Vec<String> = outbox(&mut p.db)
        .into_iter()
        .map(|(_, _, payload)| payload["token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 2);
    sign_in::reset_password(&mut p.db.conn, &tokens[0], "first-hash", at).unwrap();
    // The other token can no longer set the password again.
    invalid_reset_token(sign_in::reset_password(
        &mut p.db.conn,
        &tokens[1],
        "second-hash",
        at,
    ));
    assert_eq!(row(&mut p.db, p.candidate.id).password_hash, "first-hash");

    // A change of the own password voids a token asked for before it, too.
    sign_in::request_reset(&mut p.db.conn, &exam_number(1), ADDR, at).unwrap();
    let third = outbox(&mut p.db)[2].2["token"].as_str().unwrap().to_owned();
    cases::change_own_password(&mut p.db.conn, &p.candidate, "changed-hash").unwrap();
    invalid_reset_token(sign_in::reset_account(&mut p.db.conn, &third, at));
}
