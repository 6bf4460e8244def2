//! The catalogue (R8), called without HTTP: importing a whole checked document as
//! the new current version (served from memory at once), replacing the annex
//! table alone (checked whole with the rest of the current catalogue; nothing
//! stored when invalid), the paths of a document's problems, and seeding a fresh
//! installation once.

use std::sync::Arc;

use api::access::Actor;
use api::catalog_cache::CatalogCache;
use api::use_cases::catalogue::{
    self as cases, DEMO_PLEDGE_TEXT, DEMO_PLEDGE_VERSION, ImportReport, SAMPLE_CATALOG,
};
use chrono::{SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use domain::CourseCode;
use domain::account::{Role, Scope};
use domain::catalog::{DegreeRule, Evidence, MajorCode, ValidCatalog};
use persistence::catalog::CatalogVersion;
use persistence::schema::{catalog_versions, rounds};
use serde_json::{Value, json};
use tests::UseCaseDb;
use uuid::Uuid;

use crate::support::{
    World, actor_of_role, conflict_titled, empty, forbidden, invalid, problems, world,
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
    let service = db.service_account("sms-gateway", &[Scope::OutboxRead]);
    People {
        db,
        admin,
        staff,
        candidate,
        service,
    }
}

/// The sample catalogue document as JSON, to change before parsing.
fn sample() -> Value {
    serde_json::from_str(SAMPLE_CATALOG).unwrap()
}

/// `document` parsed and checked (panics with its problems otherwise).
#[track_caller]
fn valid(document: &Value) -> ValidCatalog {
    cases::parse_document(document.to_string().as_bytes())
        .unwrap_or_else(|p| panic!("the test catalogue is invalid: {p:?}"))
}

/// The (path, code) of each problem of a document that does not parse.
#[track_caller]
fn document_problems(json: &str) -> Vec<(String, String)> {
    match cases::parse_document(json.as_bytes()) {
        Ok(_) => panic!("expected problems, the document is valid"),
        Err(problems) => problems
            .into_iter()
            .map(|(path, v)| (path, v.code.to_owned()))
            .collect(),
    }
}

fn current_version_id(conn: &mut PgConnection) -> Option<i64> {
    persistence::catalog::current_version_id(conn).unwrap()
}

fn version_count(conn: &mut PgConnection) -> i64 {
    catalog_versions::table.count().get_result(conn).unwrap()
}

fn round_count(conn: &mut PgConnection) -> i64 {
    rounds::table.count().get_result(conn).unwrap()
}

/// Who a stored version was imported by.
fn imported_by(conn: &mut PgConnection, version: i64) -> Option<Uuid> {
    catalog_versions::table
        .find(version)
        .select(catalog_versions::imported_by)
        .first(conn)
        .unwrap()
}

/// What the cache serves now (panics when it holds nothing).
#[track_caller]
fn cached(cache: &CatalogCache) -> Arc<CatalogVersion> {
    cache.current().expect("a catalogue in memory")
}

fn rule_ids(catalog: &ValidCatalog) -> Vec<&str> {
    catalog
        .degree_rules()
        .iter()
        .map(|r| r.id.as_str())
        .collect()
}

fn course(code: &str) -> CourseCode {
    CourseCode::parse(code).unwrap()
}

fn major(code: &str) -> MajorCode {
    MajorCode::parse(code).unwrap()
}

/// A rule of `major` certifying `course` by the learned course `name` (one score).
fn scored_rule(major_code: &str, course_code: &str, name: &str) -> DegreeRule {
    DegreeRule {
        id: String::new(),
        major_code: major(major_code),
        course_code: course(course_code),
        evidence: Evidence::CourseAndScores {
            expected_names: vec![name.into()],
            score_terms: 1,
            pass_mark: 60,
        },
        prior_levels: Vec::new(),
        prior_majors: Vec::new(),
    }
}

fn report(version_id: i64, label: &str, counts: [usize; 4]) -> ImportReport {
    let [courses, majors, degree_rules, certificate_rules] = counts;
    ImportReport {
        version_id,
        label: label.into(),
        courses,
        majors,
        degree_rules,
        certificate_rules,
    }
}

// ---------------------------------------------------------------------------
// import
// ---------------------------------------------------------------------------

#[test]
fn an_admin_import_is_current_in_memory_at_once_with_its_counts() {
    let mut p = people();
    let before = cached(&p.db.catalog).id;
    // The sample without its last degree rule (园林 06142), under a label of its own.
    let mut document = sample();
    document["label"] = json!("2026 年目录");
    document["degree_rules"].as_array_mut().unwrap().pop();
    let imported = cases::import(
        &mut p.db.conn,
        Some(&p.admin),
        &p.db.catalog,
        &valid(&document),
    )
    .unwrap();

    assert!(imported.version_id > before);
    assert_eq!(
        imported,
        report(imported.version_id, "2026 年目录", [13, 3, 12, 8])
    );
    assert_eq!(
        current_version_id(&mut p.db.conn),
        Some(imported.version_id)
    );
    assert_eq!(
        imported_by(&mut p.db.conn, imported.version_id),
        Some(p.admin.id)
    );
    // The cache serves the new version without a refresh.
    let now_cached = cached(&p.db.catalog);
    assert_eq!(now_cached.id, imported.version_id);
    assert_eq!(now_cached.catalog.label(), "2026 年目录");
    assert_eq!(now_cached.catalog.degree_rules().len(), 12);
    assert!(
        !rule_ids(&now_cached.catalog).contains(&"090502-06142"),
        "{:?}",
        rule_ids(&now_cached.catalog)
    );
    // The demo round keeps the version it was pinned to, which still loads.
    assert_eq!(p.db.round.catalog_version_id, before);
    let pinned = p.db.catalog.version(&mut p.db.conn, before).unwrap();
    assert_eq!(pinned.catalog.degree_rules().len(), 13);
}

#[test]
fn the_service_itself_imports_into_a_fresh_installation() {
    let mut db = empty();
    let conn = &mut db.conn;
    let cache = CatalogCache::default();
    assert!(cache.current().is_none());
    let imported = cases::import(conn, None, &cache, &valid(&sample())).unwrap();
    assert_eq!(
        (
            imported.courses,
            imported.majors,
            imported.degree_rules,
            imported.certificate_rules
        ),
        (13, 3, 13, 8)
    );
    assert!(imported.label.starts_with("示例目录"), "{}", imported.label);
    assert_eq!(cached(&cache).id, imported.version_id);
    assert_eq!(current_version_id(conn), Some(imported.version_id));
    assert_eq!(imported_by(conn, imported.version_id), None);
    assert_eq!(version_count(conn), 1);
}

#[test]
fn only_admins_import_and_a_refused_import_stores_nothing() {
    let mut p = people();
    let before = cached(&p.db.catalog);
    let versions = version_count(&mut p.db.conn);
    let mut document = sample();
    document["label"] = json!("不该导入的目录");
    let catalog = valid(&document);
    for nobody in [&p.staff, &p.candidate, &p.service] {
        forbidden(cases::import(
            &mut p.db.conn,
            Some(nobody),
            &p.db.catalog,
            &catalog,
        ));
    }
    assert_eq!(version_count(&mut p.db.conn), versions);
    assert_eq!(current_version_id(&mut p.db.conn), Some(before.id));
    assert!(Arc::ptr_eq(&cached(&p.db.catalog), &before));
}

// ---------------------------------------------------------------------------
// replace_degree_rules
// ---------------------------------------------------------------------------

#[test]
fn new_degree_rules_replace_only_the_annex_table() {
    let mut p = people();
    let before = cached(&p.db.catalog);
    // Only the 药学 rules, and a new one: 行政管理 00320 by 领导科学.
    let mut rules: Vec<DegreeRule> = (before.catalog.degree_rules().iter())
        .filter(|r| r.major_code.as_str() == "100701")
        .cloned()
        .collect();
    assert_eq!(rules.len(), 4);
    rules.push(scored_rule("120402", "00320", " 领导科学 "));

    let replaced =
        cases::replace_degree_rules(&mut p.db.conn, &p.admin, &p.db.catalog, rules).unwrap();
    assert!(replaced.version_id > before.id);
    assert_eq!(
        replaced,
        report(replaced.version_id, before.catalog.label(), [13, 3, 5, 8])
    );
    assert_eq!(
        current_version_id(&mut p.db.conn),
        Some(replaced.version_id)
    );
    assert_eq!(
        imported_by(&mut p.db.conn, replaced.version_id),
        Some(p.admin.id)
    );

    let after = cached(&p.db.catalog);
    assert_eq!(after.id, replaced.version_id, "in memory at once");
    assert_eq!(
        rule_ids(&after.catalog),
        vec![
            "100701-03708",
            "100701-03709",
            "100701-00015",
            "100701-03029",
            "120402-00320"
        ]
    );
    let added = &after.catalog.degree_rules()[4];
    assert_eq!(
        added.evidence,
        Evidence::CourseAndScores {
            expected_names: vec!["领导科学".into()],
            score_terms: 1,
            pass_mark: 60
        },
        "checked and trimmed"
    );
    // Everything else is the current catalogue's.
    assert_eq!(after.catalog.label(), before.catalog.label());
    assert_eq!(after.catalog.courses(), before.catalog.courses());
    assert_eq!(after.catalog.majors(), before.catalog.majors());
    assert_eq!(
        after.catalog.certificate_rules(),
        before.catalog.certificate_rules()
    );
    // As stored, too.
    let stored = persistence::catalog::load(&mut p.db.conn, replaced.version_id).unwrap();
    assert_eq!(stored.catalog, after.catalog);
}

#[test]
fn an_invalid_rule_set_names_each_path_and_stores_nothing() {
    let mut p = people();
    let before = cached(&p.db.catalog);
    let versions = version_count(&mut p.db.conn);
    let mut rules = before.catalog.degree_rules().to_vec();
    rules.push(scored_rule("100701", "99999", "不存在的课程"));
    rules.push(scored_rule("999999", "00018", "计算机基础"));
    rules.push(scored_rule("100701", "00051", "管理系统中计算机应用"));
    let refused = cases::replace_degree_rules(&mut p.db.conn, &p.admin, &p.db.catalog, rules);
    assert_eq!(
        invalid(refused),
        problems(&[
            ("degree_rules[13].course_code", "catalog.unknown_course"),
            ("degree_rules[14].major_code", "catalog.unknown_major"),
            ("degree_rules[15].course_code", "catalog.not_in_plan"),
        ])
    );
    assert_eq!(version_count(&mut p.db.conn), versions, "nothing stored");
    assert_eq!(current_version_id(&mut p.db.conn), Some(before.id));
    assert!(
        Arc::ptr_eq(&cached(&p.db.catalog), &before),
        "the cache unchanged"
    );
}

#[test]
fn only_admins_replace_the_degree_rules() {
    let mut p = people();
    let before = cached(&p.db.catalog);
    let rules = before.catalog.degree_rules()[..2].to_vec();
    for nobody in [&p.staff, &p.candidate, &p.service] {
        forbidden(cases::replace_degree_rules(
            &mut p.db.conn,
            nobody,
            &p.db.catalog,
            rules.clone(),
        ));
    }
    assert_eq!(current_version_id(&mut p.db.conn), Some(before.id));
    assert!(Arc::ptr_eq(&cached(&p.db.catalog), &before));
}

#[test]
fn degree_rules_before_any_catalogue_are_a_titled_state_conflict() {
    let mut db = empty();
    let conn = &mut db.conn;
    let cache = CatalogCache::default();
    let admin = actor_of_role(Role::Admin);
    let rules = vec![scored_rule("100701", "00015", "大学英语")];
    let (title, code, message) =
        conflict_titled(cases::replace_degree_rules(conn, &admin, &cache, rules));
    assert_eq!(title, "No catalogue yet");
    assert_eq!(code, "state.conflict");
    assert!(
        message.contains("import a whole catalogue first"),
        "{message}"
    );
    assert_eq!(version_count(conn), 0);
    assert!(cache.current().is_none());
}

// ---------------------------------------------------------------------------
// parse_document
// ---------------------------------------------------------------------------

#[test]
fn a_malformed_document_is_one_problem_at_its_path() {
    let mut document = sample();
    document["label"] = json!(5);
    assert_eq!(
        document_problems(&document.to_string()),
        problems(&[("label", "catalog.format")])
    );

    let mut document = sample();
    document["courses"][1]["credits"] = json!("four");
    assert_eq!(
        document_problems(&document.to_string()),
        problems(&[("courses[1].credits", "catalog.format")])
    );

    let mut document = sample();
    document["majors"][2]["plan"][1] = json!("3709");
    assert_eq!(
        document_problems(&document.to_string()),
        problems(&[("majors[2].plan[1]", "catalog.format")])
    );

    // Something after the document, or no document at all: no path.
    let trailing = format!("{SAMPLE_CATALOG} {{}}");
    assert_eq!(
        document_problems(&trailing),
        problems(&[("", "catalog.format")])
    );
    assert_eq!(
        document_problems("not JSON"),
        problems(&[("", "catalog.format")])
    );
}

#[test]
fn an_invalid_catalogue_reports_every_problem_with_its_path() {
    let mut document = sample();
    document["label"] = json!("  ");
    document["courses"][1]["credits"] = json!(0);
    let first_course = document["courses"][0].clone();
    document["courses"]
        .as_array_mut()
        .unwrap()
        .push(first_course);
    document["majors"][0]["plan"]
        .as_array_mut()
        .unwrap()
        .push(json!("99999"));
    document["degree_rules"][0]["evidence"] = json!("course_and_scores");
    document["degree_rules"][0]["expected_names"] = json!(["中国近代史"]);
    document["degree_rules"][0]["score_terms"] = json!(1);
    document["certificate_rules"][0]["majors"] = json!(["090502"]);
    assert_eq!(
        document_problems(&document.to_string()),
        problems(&[
            ("label", "catalog.name_required"),
            ("courses[1].credits", "catalog.credits_range"),
            ("courses[13].code", "catalog.duplicate"),
            ("majors[0].plan[7]", "catalog.unknown_course"),
            ("degree_rules[0].evidence", "catalog.evidence_mismatch"),
            ("certificate_rules[0].majors[0]", "catalog.not_in_plan"),
        ])
    );
}

#[test]
fn the_sample_document_parses_with_ids_assigned() {
    let catalog = cases::parse_document(SAMPLE_CATALOG.as_bytes()).unwrap();
    assert_eq!(
        (
            catalog.courses().len(),
            catalog.majors().len(),
            catalog.degree_rules().len(),
            catalog.certificate_rules().len()
        ),
        (13, 3, 13, 8)
    );
    assert_eq!(
        &rule_ids(&catalog)[..3],
        ["100701-03708", "100701-03709", "100701-00015"]
    );
    assert_eq!(catalog.certificate_rules()[0].id, "ncre1-00018");
}

// ---------------------------------------------------------------------------
// seed_sample_if_empty
// ---------------------------------------------------------------------------

#[test]
fn a_fresh_installation_is_seeded_once_with_the_sample_and_the_demo_round() {
    let mut db = empty();
    let conn = &mut db.conn;
    let now = Utc::now().trunc_subsecs(6);
    let (seeded, round) = cases::seed_sample_if_empty(conn, now)
        .unwrap()
        .expect("a fresh installation is seeded");
    assert_eq!(
        (
            seeded.courses,
            seeded.majors,
            seeded.degree_rules,
            seeded.certificate_rules
        ),
        (13, 3, 13, 8)
    );
    assert_eq!(current_version_id(conn), Some(seeded.version_id));
    assert_eq!(imported_by(conn, seeded.version_id), None);

    assert_eq!(round.catalog_version_id, seeded.version_id);
    assert_eq!(round.pledge.version(), DEMO_PLEDGE_VERSION);
    assert_eq!(round.pledge.text(), DEMO_PLEDGE_TEXT);
    assert_eq!(round.name, "演示轮次（示例数据，非正式）");
    let opens = now - TimeDelta::days(1);
    assert_eq!(
        (
            round.prior_degree_window.opens_at(),
            round.prior_degree_window.closes_at()
        ),
        (opens, now + TimeDelta::days(60))
    );
    assert_eq!(
        (
            round.certification_window.opens_at(),
            round.certification_window.closes_at()
        ),
        (opens, now + TimeDelta::days(90))
    );
    assert_eq!(persistence::rounds::get(conn, round.id).unwrap(), round);

    // Again (another instance starting, or the next start): nothing.
    let again = cases::seed_sample_if_empty(conn, now + TimeDelta::minutes(1)).unwrap();
    assert!(again.is_none(), "{again:?}");
    assert_eq!((version_count(conn), round_count(conn)), (1, 1));
}

#[test]
fn an_installation_with_a_catalogue_of_its_own_is_not_seeded() {
    let mut db = empty();
    let conn = &mut db.conn;
    let mut document = sample();
    document["label"] = json!("正式目录");
    let own = cases::import(conn, None, &CatalogCache::default(), &valid(&document)).unwrap();
    assert!(
        cases::seed_sample_if_empty(conn, Utc::now())
            .unwrap()
            .is_none()
    );
    assert_eq!((version_count(conn), round_count(conn)), (1, 0));
    assert_eq!(current_version_id(conn), Some(own.version_id));
}
