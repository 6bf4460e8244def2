//! The catalogue endpoints (majors, eligibility, certificate kinds, rounds) and the
//! catalogue import, against a real Postgres. The eligibility answers for the sample
//! majors are what the seed says (R8, R10–R16).

use api::use_cases::catalogue::{self as catalog_import, ImportError, SAMPLE_CATALOG};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use domain::window::{Pledge, Window};
use persistence::rounds::{self, NewRound, RoundChanges, UpdateOutcome};
use serde_json::Value;
use tests::{TestApp, spawn_app};

const PHARMACY: &str = "100701";
const PUBLIC_ADMINISTRATION: &str = "120402";
const LANDSCAPE: &str = "090502";

async fn app_with_sample() -> TestApp {
    let app = spawn_app().await;
    app.import_sample().await;
    app
}

/// The eligibility entry of one course.
fn entry<'a>(body: &'a Value, course: &str) -> &'a Value {
    body["courses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["course_code"] == course)
        .unwrap_or_else(|| panic!("{course} not in {body}"))
}

fn kinds(entry: &Value) -> Vec<&str> {
    entry["certificate_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect()
}

async fn eligibility(app: &TestApp, major: &str, query: &str) -> Value {
    let reply = app
        .get(&format!("/api/v1/majors/{major}/eligibility{query}"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

fn round(name: &str, opens: DateTime<Utc>, closes: DateTime<Utc>) -> NewRound {
    let window = Window::new(opens, closes).unwrap();
    NewRound {
        name: name.into(),
        prior_degree_window: window,
        certification_window: window,
        pledge: Pledge::new("v1", "本人承诺所填信息真实。").unwrap(),
    }
}

fn count(conn: &mut PgConnection, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

const TABLES: [&str; 6] = [
    "catalog_versions",
    "courses",
    "majors",
    "major_plan_courses",
    "degree_rules",
    "certificate_rules",
];

// --- the shipped sample ---------------------------------------------------------

#[test]
fn the_shipped_sample_catalogue_is_valid_and_labelled_as_a_sample() {
    let catalog = catalog_import::parse_document(SAMPLE_CATALOG.as_bytes())
        .unwrap_or_else(|p| panic!("data/sample-catalog.json is invalid: {p:#?}"));
    assert!(catalog.label().contains("示例") && catalog.label().contains("SAMPLE"));
    let names: Vec<&str> = catalog.majors().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["药学", "行政管理", "园林"]);
    for major in catalog.majors() {
        assert_eq!(major.level, domain::catalog::DegreeLevel::Bachelor);
        for code in ["03708", "03709", "00015"] {
            assert!(
                major.plan.iter().any(|c| c.as_str() == code),
                "{} lacks {code}",
                major.name
            );
        }
    }
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample-catalog.json"),
    )
    .unwrap();
    assert_eq!(committed, SAMPLE_CATALOG);
}

// --- majors ---------------------------------------------------------------------

#[tokio::test]
async fn majors_are_listed_in_catalogue_order_with_level_labels() {
    let app = app_with_sample().await;
    let body = app.get("/api/v1/majors").await.json();
    assert_eq!(body["total"], 3);
    let codes: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [PHARMACY, PUBLIC_ADMINISTRATION, LANDSCAPE]);
    assert_eq!(body["items"][0]["name"], "药学");
    assert_eq!(body["items"][0]["level"], "bachelor");
    assert_eq!(body["items"][0]["level_label"], "本科");
    assert_eq!(body["items"][0]["course_count"], 7);
}

#[tokio::test]
async fn the_major_list_is_paginated() {
    let app = app_with_sample().await;
    let body = app.get("/api/v1/majors?page=2&per_page=2").await.json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["name"], "园林");
    let reply = app.get("/api/v1/majors?per_page=500").await;
    assert_eq!(
        reply.assert_problem(422, "range")["errors"][0]["field"],
        "per_page"
    );
}

#[tokio::test]
async fn a_major_shows_its_plan_in_order_with_the_courses_inlined() {
    let app = app_with_sample().await;
    let reply = app.get(&format!("/api/v1/majors/{PHARMACY}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["name"], "药学");
    let plan = body["plan"].as_array().unwrap();
    let codes: Vec<&str> = plan.iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "03708", "03709", "00015", "00018", "00019", "03029", "03031"
        ]
    );
    assert_eq!(plan[2]["name"], "英语（二）");
    assert_eq!(plan[4]["exam_channel"], "school_office");
    assert_eq!(plan[4]["practical"], true);
    assert!(body["catalog_version_id"].is_i64());
}

#[tokio::test]
async fn an_unknown_major_is_404_for_the_major_and_its_eligibility() {
    let app = app_with_sample().await;
    for path in ["/api/v1/majors/999999", "/api/v1/majors/999999/eligibility"] {
        let body = app.get(path).await.assert_problem(404, "not_found");
        assert!(
            body["detail"].as_str().unwrap().contains("999999"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_malformed_major_code_is_422_naming_the_code() {
    let app = app_with_sample().await;
    for path in [
        "/api/v1/majors/10-701",
        "/api/v1/majors/ABCDEFGHIJK/eligibility",
    ] {
        let body = app.get(path).await.assert_problem(422, "major.code_format");
        assert_eq!(body["errors"][0]["field"], "code");
    }
}

// --- eligibility (the seed's answers) -------------------------------------------

#[tokio::test]
async fn pharmacy_with_a_prior_degree_certifies_03708_and_03709_by_ticking_alone() {
    let app = app_with_sample().await;
    for level in ["associate", "bachelor"] {
        let body = eligibility(&app, PHARMACY, &format!("?prior_level={level}")).await;
        for code in ["03708", "03709"] {
            let e = entry(&body, code);
            assert_eq!(e["route"], "degree", "{level} {code}");
            assert_eq!(e["route_label"], "学历证书课程认证");
            assert_eq!(e["degree"]["evidence"], "none");
            assert_eq!(e["degree"]["expected_names"], serde_json::json!([]));
            assert!(e["degree"]["score_terms"].is_null());
        }
    }
}

#[tokio::test]
async fn english_ii_is_certified_by_college_english_with_three_semester_scores() {
    let app = app_with_sample().await;
    let body = eligibility(&app, PHARMACY, "?prior_level=associate&prior_major=药学").await;
    let e = entry(&body, "00015");
    assert_eq!(e["route"], "degree");
    assert_eq!(e["rule_id"], "100701-00015");
    assert_eq!(e["degree"]["evidence"], "course_and_scores");
    assert_eq!(
        e["degree"]["expected_names"],
        serde_json::json!(["大学英语"])
    );
    assert_eq!(e["degree"]["score_terms"], 3);
    assert_eq!(e["degree"]["pass_mark"], 60);
    // CET-4/6 also certify English II, though normally not needed (R15).
    assert_eq!(kinds(e), ["cet4", "cet6"]);
}

#[tokio::test]
async fn pharmacy_computer_courses_are_certified_by_ncre1_or_ncre2_else_examined_where_the_seed_says()
 {
    let app = app_with_sample().await;
    let body = eligibility(&app, PHARMACY, "?prior_level=associate&prior_major=药学").await;
    for (code, channel, label) in [
        ("00018", "platform", "在考生服务平台报考"),
        ("00019", "school_office", "通过学校自考办报考"),
    ] {
        let e = entry(&body, code);
        assert_eq!(e["route"], "certificate", "{code}");
        assert_eq!(e["route_label"], "非学历证书课程认证");
        assert!(e["degree"].is_null());
        assert_eq!(kinds(e), ["ncre1", "ncre2"], "{code}");
        assert_eq!(
            e["certificate_kind_labels"],
            serde_json::json!(["全国计算机等级考试一级", "全国计算机等级考试二级"])
        );
        assert_eq!(e["exam_channel"], channel, "{code}");
        assert_eq!(e["exam_channel_label"], label, "{code}");
        assert!(e["reason"].as_str().unwrap().contains(label), "{e}");
    }
}

#[tokio::test]
async fn a_major_course_is_certified_only_for_the_prior_major_and_level_the_table_names() {
    let app = app_with_sample().await;
    let matching = eligibility(&app, PHARMACY, "?prior_level=associate&prior_major=药学").await;
    assert_eq!(entry(&matching, "03029")["route"], "degree");
    assert_eq!(
        entry(&matching, "03029")["degree"]["expected_names"][0],
        "药理学"
    );
    let other_major = eligibility(&app, PHARMACY, "?prior_level=associate&prior_major=会计").await;
    let e = entry(&other_major, "03029");
    assert_eq!(e["route"], "exam");
    assert!(e["reason"].as_str().unwrap().contains("会计"), "{e}");
    // Not in the table at all: examined on the platform.
    assert_eq!(entry(&matching, "03031")["route"], "exam");
    assert_eq!(entry(&matching, "03031")["exam_channel"], "platform");
}

#[tokio::test]
async fn public_administration_00051_and_00052_are_certified_by_ncre2_only() {
    let app = app_with_sample().await;
    let body = eligibility(&app, PUBLIC_ADMINISTRATION, "?prior_level=associate").await;
    for code in ["00051", "00052"] {
        let e = entry(&body, code);
        assert_eq!(e["route"], "certificate", "{code}");
        assert_eq!(kinds(e), ["ncre2"], "{code}");
    }
    let codes: Vec<&str> = body["courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["course_code"].as_str().unwrap())
        .collect();
    assert!(!codes.contains(&"00018"), "00018 is not in the plan");
}

#[tokio::test]
async fn landscape_certifies_its_major_courses_for_an_associate_degree_in_landscape_technology() {
    let app = app_with_sample().await;
    let body = eligibility(
        &app,
        LANDSCAPE,
        "?prior_level=associate&prior_major=园林技术",
    )
    .await;
    let routes: Vec<(&str, &str)> = body["courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["course_code"].as_str().unwrap(),
                c["route"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("03708", "degree"),
            ("03709", "degree"),
            ("00015", "degree"),
            ("02767", "degree"),
            ("06142", "degree"),
        ]
    );
    assert_eq!(body["prior_degree"]["level"], "associate");
    assert_eq!(body["prior_degree"]["level_label"], "专科");
    assert_eq!(body["prior_degree"]["major"], "园林技术");
    // A bachelor's prior degree does not meet the table's level condition.
    let bachelor = eligibility(&app, LANDSCAPE, "?prior_level=本科&prior_major=园林技术").await;
    assert_eq!(entry(&bachelor, "02767")["route"], "exam");
    assert_eq!(entry(&bachelor, "00015")["route"], "degree");
}

#[tokio::test]
async fn without_a_prior_degree_there_are_no_degree_routes() {
    let app = app_with_sample().await;
    for major in [PHARMACY, PUBLIC_ADMINISTRATION, LANDSCAPE] {
        let body = eligibility(&app, major, "").await;
        assert!(body["prior_degree"].is_null());
        for e in body["courses"].as_array().unwrap() {
            assert_ne!(e["route"], "degree", "{major}: {e}");
            assert!(e["degree"].is_null());
        }
    }
    let body = eligibility(&app, PHARMACY, "").await;
    assert_eq!(entry(&body, "00015")["route"], "certificate");
    assert_eq!(entry(&body, "03708")["route"], "exam");
}

#[tokio::test]
async fn a_bad_prior_level_is_422_naming_prior_level() {
    let app = app_with_sample().await;
    for bad in ["master", "", "ASSOCIATE"] {
        let reply = app
            .get(&format!(
                "/api/v1/majors/{PHARMACY}/eligibility?prior_level={bad}"
            ))
            .await;
        let body = reply.assert_problem(422, "degree_level.unknown");
        assert_eq!(body["errors"][0]["field"], "prior_level", "{bad}");
    }
}

#[tokio::test]
async fn a_prior_major_without_a_prior_level_is_422() {
    let app = app_with_sample().await;
    let body = app
        .get(&format!(
            "/api/v1/majors/{PHARMACY}/eligibility?prior_major=药学"
        ))
        .await
        .assert_problem(422, "required");
    assert_eq!(body["errors"][0]["field"], "prior_level");
}

#[tokio::test]
async fn the_reason_follows_accept_language_and_both_translations_are_given() {
    let app = app_with_sample().await;
    let path = format!("/api/v1/majors/{PHARMACY}/eligibility?prior_level=associate");
    let zh = app.get(&path).await;
    assert_eq!(zh.header("content-language").as_deref(), Some("zh-CN"));
    let zh = zh.json();
    let en = app.get_lang(&path, "en").await;
    assert_eq!(en.header("content-language").as_deref(), Some("en"));
    let en = en.json();
    let (zh, en) = (entry(&zh, "00019"), entry(&en, "00019"));
    assert_eq!(zh["reason"], zh["reason_zh"]);
    assert_eq!(en["reason"], en["reason_en"]);
    assert_eq!(zh["reason_en"], en["reason_en"]);
    assert!(en["reason"].as_str().unwrap().contains("NCRE level 1"));
}

// --- certificate kinds ----------------------------------------------------------

#[tokio::test]
async fn certificate_kinds_list_the_courses_each_certifies_per_major() {
    let app = app_with_sample().await;
    let body = app.get("/api/v1/certificate-kinds").await.json();
    let kinds: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ncre1", "ncre2", "cet4", "cet6"]);
    let per_major = |kind: usize| -> Vec<(String, Vec<String>)> {
        body[kind]["certifies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["major_code"].as_str().unwrap().to_owned(),
                    m["courses"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["code"].as_str().unwrap().to_owned())
                        .collect(),
                )
            })
            .collect()
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // R13
    assert_eq!(per_major(0), [(PHARMACY.into(), s(&["00018", "00019"]))]);
    assert_eq!(body[0]["label"], "全国计算机等级考试一级");
    // R14
    assert_eq!(
        per_major(1),
        [
            (PHARMACY.into(), s(&["00018", "00019"])),
            (PUBLIC_ADMINISTRATION.into(), s(&["00051", "00052"]))
        ]
    );
    // R15
    for kind in [2, 3] {
        let majors = per_major(kind);
        assert_eq!(majors.len(), 3);
        assert!(majors.iter().all(|(_, c)| c == &s(&["00015"])));
    }
}

#[tokio::test]
async fn without_a_catalogue_lists_are_empty_and_majors_unknown() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/majors").await.json()["total"], 0);
    app.get(&format!("/api/v1/majors/{PHARMACY}"))
        .await
        .assert_problem(404, "not_found");
    let kinds = app.get("/api/v1/certificate-kinds").await.json();
    assert_eq!(kinds.as_array().unwrap().len(), 4);
    assert_eq!(kinds[0]["certifies"], serde_json::json!([]));
}

// --- import ---------------------------------------------------------------------

#[tokio::test]
async fn an_import_is_served_at_once_as_the_new_current_version() {
    let app = app_with_sample().await;
    let first = app.get("/api/v1/majors/100701").await.json()["catalog_version_id"].clone();
    let renamed = SAMPLE_CATALOG.replace("\"name\": \"药学\"", "\"name\": \"药学（新）\"");
    let report = app.import_catalog(&renamed).await;
    let body = app.get("/api/v1/majors/100701").await.json();
    assert_eq!(body["name"], "药学（新）");
    assert_eq!(body["catalog_version_id"], report.version_id);
    assert_ne!(body["catalog_version_id"], first);
}

#[tokio::test]
async fn a_stored_catalogue_loads_back_as_imported() {
    let app = spawn_app().await;
    let report = app.import_sample().await;
    assert_eq!(
        (
            report.courses,
            report.majors,
            report.degree_rules,
            report.certificate_rules
        ),
        (13, 3, 13, 8)
    );
    let expected = catalog_import::parse_document(SAMPLE_CATALOG.as_bytes()).unwrap();
    let mut conn = app.connect();
    let loaded = persistence::catalog::load_current(&mut conn)
        .unwrap()
        .expect("a current version");
    assert_eq!(loaded.id, report.version_id);
    let (got, want) = (loaded.catalog.catalog(), expected.catalog());
    assert_eq!(got.label, want.label);
    assert_eq!(got.majors, want.majors);
    assert_eq!(got.degree_rules, want.degree_rules);
    assert_eq!(got.certificate_rules, want.certificate_rules);
    let mut courses = want.courses.clone();
    courses.sort_by_key(|c| c.code);
    assert_eq!(got.courses, courses);
    assert!(matches!(
        persistence::catalog::load(&mut conn, report.version_id + 1),
        Err(persistence::DbError::NotFound)
    ));
}

#[tokio::test]
async fn an_invalid_document_is_reported_whole_and_changes_nothing() {
    let app = app_with_sample().await;
    let mut conn = app.connect();
    let before: Vec<i64> = TABLES.iter().map(|t| count(&mut conn, t)).collect();
    let broken = SAMPLE_CATALOG
        .replace("\"credits\": 14", "\"credits\": 0")
        .replace("\"score_terms\": 3", "\"score_terms\": 2");
    let Err(ImportError::Invalid(problems)) =
        catalog_import::import_document(&mut conn, broken.as_bytes(), None)
    else {
        panic!("an invalid document must be refused");
    };
    let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"courses[2].credits"), "{paths:?}");
    assert!(paths.contains(&"degree_rules[2].score_terms"), "{paths:?}");
    assert!(paths.len() >= 4, "every problem at once: {paths:?}");
    // A shape error is located too.
    let Err(ImportError::Invalid(problems)) = catalog_import::import_document(
        &mut conn,
        br#"{"label": "x", "courses": [{"code": "123", "name": "x", "credits": 1}], "majors": []}"#,
        None,
    ) else {
        panic!("a malformed document must be refused");
    };
    assert_eq!(problems[0].0, "courses[0].code");
    assert_eq!(problems[0].1.code, "catalog.format");
    let after: Vec<i64> = TABLES.iter().map(|t| count(&mut conn, t)).collect();
    assert_eq!(before, after);
    assert_eq!(app.get("/api/v1/majors").await.json()["total"], 3);
}

#[tokio::test]
async fn a_failed_write_rolls_the_whole_import_back() {
    let app = spawn_app().await;
    let mut conn = app.connect();
    // A constraint the domain does not know, on the table written last, fails the
    // import half-way: nothing of it may stay.
    diesel::sql_query(
        "ALTER TABLE certificate_rules ADD CONSTRAINT test_refuses_all CHECK (false) NOT VALID",
    )
    .execute(&mut conn)
    .unwrap();
    let result = catalog_import::import_document(&mut conn, SAMPLE_CATALOG.as_bytes(), None);
    assert!(matches!(result, Err(ImportError::Db(_))), "{result:?}");
    for table in TABLES {
        assert_eq!(count(&mut conn, table), 0, "{table}");
    }
}

#[tokio::test]
async fn the_database_refuses_rules_contrary_to_r10_and_r12() {
    let app = app_with_sample().await;
    let mut conn = app.connect();
    for (course, evidence, names, terms, mark) in [
        ("03708", "course_and_scores", "'{x}'", "1", "60"),
        ("03029", "none", "'{}'", "NULL", "NULL"),
        ("00015", "course_and_scores", "'{大学英语}'", "2", "60"),
    ] {
        let sql = format!(
            "INSERT INTO degree_rules (catalog_version_id, id, position, major_code, course_code, \
             evidence, expected_names, score_terms, pass_mark) \
             SELECT max(id), 'bad', 999, '100701', '{course}', '{evidence}', {names}, {terms}, {mark} \
             FROM catalog_versions"
        );
        let err = diesel::sql_query(sql).execute(&mut conn).unwrap_err();
        assert!(
            err.to_string().contains("check constraint"),
            "{course}: {err}"
        );
    }
}

// --- rounds ---------------------------------------------------------------------

#[tokio::test]
async fn there_is_no_current_round_when_no_window_is_open() {
    let app = app_with_sample().await;
    app.get("/api/v1/rounds/current")
        .await
        .assert_problem(404, "not_found");
    let now = Utc::now();
    let mut conn = app.connect();
    rounds::create(
        &mut conn,
        &round(
            "closed",
            now - TimeDelta::days(30),
            now - TimeDelta::days(1),
        ),
        now,
    )
    .unwrap();
    app.get("/api/v1/rounds/current")
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_current_round_is_the_most_recently_opened_of_the_open_ones() {
    let app = app_with_sample().await;
    let now = Utc::now();
    let day = TimeDelta::days(1);
    let mut conn = app.connect();
    rounds::create(
        &mut conn,
        &round("older, open", now - day * 10, now + day * 10),
        now,
    )
    .unwrap();
    let newer = rounds::create(
        &mut conn,
        &round("newer, open", now - day * 2, now + day * 5),
        now,
    )
    .unwrap();
    rounds::create(&mut conn, &round("future", now + day, now + day * 30), now).unwrap();
    rounds::create(
        &mut conn,
        &round("past", now - day * 40, now - day * 20),
        now,
    )
    .unwrap();
    let reply = app.get("/api/v1/rounds/current").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("etag").as_deref(), Some("\"1\""));
    let body = reply.json();
    assert_eq!(body["id"], newer.id.to_string());
    assert_eq!(body["name"], "newer, open");
    assert_eq!(body["certification_window"]["is_open"], true);
    assert_eq!(body["pledge"]["version"], "v1");
    assert!(body["prior_degree_window"]["opens_at"].is_string());
}

#[tokio::test]
async fn rounds_are_listed_newest_first_and_paginated() {
    let app = app_with_sample().await;
    let now = Utc::now();
    let mut conn = app.connect();
    for name in ["first", "second", "third"] {
        rounds::create(&mut conn, &round(name, now, now + TimeDelta::days(1)), now).unwrap();
    }
    let body = app.get("/api/v1/rounds?per_page=2").await.json();
    assert_eq!(body["total"], 3);
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["third", "second"]);
}

#[tokio::test]
async fn a_round_keeps_its_pinned_catalogue_version_after_a_new_import() {
    let app = spawn_app().await;
    let first = app.import_sample().await.version_id;
    let now = Utc::now();
    let mut conn = app.connect();
    let pinned =
        rounds::create(&mut conn, &round("r", now, now + TimeDelta::days(9)), now).unwrap();
    assert_eq!(pinned.catalog_version_id, first);
    let second = app.import_sample().await.version_id;
    assert!(second > first);
    let again = rounds::get(&mut conn, pinned.id).unwrap();
    assert_eq!(again.catalog_version_id, first);
    // Its rules are still there to load.
    let rules = persistence::catalog::load(&mut conn, again.catalog_version_id).unwrap();
    assert_eq!(rules.id, first);
    let later = rounds::create(
        &mut conn,
        &round("later", now, now + TimeDelta::days(9)),
        now,
    )
    .unwrap();
    assert_eq!(later.catalog_version_id, second);
}

#[tokio::test]
async fn a_round_needs_a_catalogue_and_updates_check_the_version() {
    let app = spawn_app().await;
    let now = Utc::now();
    let mut conn = app.connect();
    let r = round("r", now, now + TimeDelta::days(1));
    assert!(matches!(
        rounds::create(&mut conn, &r, now),
        Err(persistence::DbError::NotFound)
    ));
    app.import_sample().await;
    let created = rounds::create(&mut conn, &r, now).unwrap();
    let changes = RoundChanges {
        name: Some("renamed".into()),
        ..Default::default()
    };
    let UpdateOutcome::Updated(updated) =
        rounds::update(&mut conn, created.id, 1, &changes, now).unwrap()
    else {
        panic!("version 1 is current");
    };
    assert_eq!((updated.name.as_str(), updated.version), ("renamed", 2));
    assert_eq!(
        rounds::update(&mut conn, created.id, 1, &changes, now).unwrap(),
        UpdateOutcome::Stale { current_version: 2 }
    );
    assert_eq!(rounds::get(&mut conn, created.id).unwrap(), updated);
}

#[tokio::test]
async fn a_fresh_installation_gets_the_sample_catalogue_and_an_open_demo_round_once() {
    let app = spawn_app().await;
    let now = Utc::now();
    let mut conn = app.connect();
    let (report, round) = catalog_import::seed_sample_if_empty(&mut conn, now)
        .unwrap()
        .expect("seeded");
    assert_eq!(round.catalog_version_id, report.version_id);
    assert_eq!(round.pledge.version(), "2026-demo");
    assert!(round.prior_degree_window.is_open(now + TimeDelta::days(59)));
    assert!(
        round
            .certification_window
            .is_open(now + TimeDelta::days(89))
    );
    assert!(
        catalog_import::seed_sample_if_empty(&mut conn, now)
            .unwrap()
            .is_none()
    );
    assert_eq!(count(&mut conn, "catalog_versions"), 1);
    assert_eq!(count(&mut conn, "rounds"), 1);
}

// --- speed ----------------------------------------------------------------------

#[tokio::test]
async fn eligibility_is_answered_from_memory_quickly() {
    let app = app_with_sample().await;
    let path =
        format!("/api/v1/majors/{PHARMACY}/eligibility?prior_level=associate&prior_major=药学");
    app.get(&path).await;
    let started = std::time::Instant::now();
    let n = 200;
    for _ in 0..n {
        assert_eq!(app.get(&path).await.status, 200);
    }
    let each = started.elapsed() / n;
    eprintln!("eligibility over HTTP (debug build, sequential): {each:?} per request");
    assert!(each < std::time::Duration::from_millis(50), "{each:?}");
}

// --- migrations -----------------------------------------------------------------

#[test]
fn the_catalogue_rules_migration_reverts_and_reapplies() {
    use diesel_migrations::MigrationHarness;
    let (url, _) = tests::fresh_database();
    let mut conn = PgConnection::establish(&url).unwrap();
    // Revert down to and including this migration (later ones first), then redo.
    let mut reverted = 0;
    loop {
        let version = conn
            .revert_last_migration(persistence::pool::MIGRATIONS)
            .unwrap();
        reverted += 1;
        if version.to_string() == "20261130000002" {
            break;
        }
    }
    assert_eq!(
        persistence::pool::run_migrations(&mut conn).unwrap(),
        reverted
    );
    assert!(persistence::pool::is_ready(&mut conn).unwrap());
}
