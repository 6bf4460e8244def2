//! The streamed export, statistics and signed decisions (issue 7).

use api::use_cases::{applications, reviews};
use chrono::{Duration, Utc};
use diesel::Connection;
use domain::application::{Decision, ItemDraft, Kind, ReviewChoice};
use domain::catalog::CertificateKind;
use serde_json::json;
use tests::{TestApp, spawn_app_with_sample};
use uuid::Uuid;

/// A round with open windows.
fn round(app: &TestApp) -> Uuid {
    let now = Utc::now();
    let w = |a: i64, b: i64| {
        domain::window::Window::new(now + Duration::days(a), now + Duration::days(b)).unwrap()
    };
    let new = persistence::rounds::NewRound {
        name: "测试轮次".into(),
        prior_degree_window: w(-1, 30),
        certification_window: w(-1, 60),
        pledge: domain::window::Pledge::new("t-1", "承诺").unwrap(),
    };
    persistence::rounds::create(&mut app.connect(), &new, now)
        .unwrap()
        .id
}

/// How a fixture application claims its courses.
#[derive(Debug, Clone, Copy)]
enum Route {
    /// An NCRE level-1 certificate (180101010012, obtained 2020-06-01).
    Ncre1,
    /// The candidate's effective prior degree with this id.
    Degree(Uuid),
}

/// A course of a fixture application: code, learned course name, score text.
type Course<'a> = (&'a str, Option<&'a str>, Option<&'a str>);

/// A new application in `round` by `route` with `courses`.
fn draft((round, route): (Uuid, Route), courses: &[Course<'_>]) -> applications::Draft {
    let items = courses
        .iter()
        .map(|(code, name, score)| ItemDraft {
            course_code: (*code).into(),
            learned_course_name: name.map(str::to_owned),
            scores: None,
            score_text: score.map(str::to_owned),
        })
        .collect();
    let (kind, prior_degree_id, certificate) = match route {
        Route::Ncre1 => {
            let certificate = applications::CertificateClaim {
                kind: CertificateKind::Ncre1,
                number: "180101010012".into(),
                obtained_on: chrono::NaiveDate::from_ymd_opt(2020, 6, 1).unwrap(),
            };
            (Kind::Certificate, None, Some(certificate))
        }
        Route::Degree(id) => (Kind::Degree, Some(id), None),
    };
    applications::Draft {
        kind,
        round_id: Some(round),
        prior_degree_id,
        certificate,
        items,
    }
}

/// An application of `candidate` in `round` by `route` with `courses`, made as the
/// service makes it (the application and review use cases): created, and unless
/// `status` is `draft` submitted (the courses not chosen confirmed missing), then
/// reviewed by the admin when `status` is a review outcome: every course approved
/// (`approved`), the first approved and the rest rejected (`partially_approved`),
/// or every course rejected (`rejected`), each rejection for 成绩单不符.
fn application(
    app: &TestApp,
    candidate: &str,
    (round, route): (Uuid, Route),
    status: &str,
    courses: &[Course<'_>],
) -> Uuid {
    let now = Utc::now();
    let owner = app.actor_of(candidate);
    let cache = &app.state.catalog;
    let mut conn = app.connect();
    let draft = draft((round, route), courses);
    let id = applications::create(&mut conn, &owner, cache, now, &draft)
        .unwrap_or_else(|r| panic!("create {draft:?}: {r:?}"))
        .row
        .id;
    if status == "draft" {
        return id;
    }
    let missing = applications::check(&mut conn, &owner, cache, now, id)
        .expect("check the application")
        .assessment
        .missing;
    applications::submit(&mut conn, &owner, cache, now, (id, None), &missing)
        .unwrap_or_else(|r| panic!("submit {id}: {r:?}"));
    if status == "submitted" {
        return id;
    }
    let choices: Vec<ReviewChoice> = courses
        .iter()
        .enumerate()
        .map(|(i, (code, _, _))| {
            let approved = status == "approved" || (status == "partially_approved" && i == 0);
            ReviewChoice {
                course_code: (*code).into(),
                decision: if approved {
                    Decision::Approved
                } else {
                    Decision::Rejected
                },
                reason: (!approved).then(|| "成绩单不符".to_owned()),
            }
        })
        .collect();
    let admin = app.actor_named("admin");
    let reviewed = reviews::review(&mut conn, &admin, cache, now, (id, None), &choices)
        .unwrap_or_else(|r| panic!("review {id}: {r:?}"));
    assert_eq!(reviewed.row.status.as_str(), status);
    id
}

/// An effective associate 药学 prior degree of `candidate` (the prior-degree use
/// cases, verified by the admin), as the degree route needs it.
fn degree_route(app: &TestApp, candidate: &str) -> Route {
    let owner = app.actor_of(candidate);
    let admin = app.actor_named("admin");
    Route::Degree(app.prior_degree(&owner, "associate", "药学", "effective", &admin))
}

struct World {
    app: TestApp,
    admin: String,
    staff: String,
    other_staff: String,
    candidate: String,
    candidate_id: String,
    other_candidate: String,
    round: Uuid,
    /// The first candidate's effective prior degree.
    route: Route,
}

async fn world() -> World {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    app.create_school(&admin, "WHU02").await;
    let staff = app.staff_token(&admin, "li.laoshi", "HBU01").await;
    let other_staff = app.staff_token(&admin, "wang.laoshi", "WHU02").await;
    let (profile, candidate) = app.candidate(1, Some("HBU01"), "100701").await;
    let (other_profile, other_candidate) = app.candidate(2, Some("WHU02"), "100701").await;
    let round = round(&app);
    let candidate_id = profile["id"].as_str().unwrap().to_owned();
    // The first candidate's submitted application: English II (00015) with a
    // transcript whose name needs quoting in CSV, and 药理学 (03029).
    let route = degree_route(&app, &candidate_id);
    application(
        &app,
        &candidate_id,
        (round, route),
        "submitted",
        &[
            ("00015", Some("大学英语, 综合"), Some("60;65;70")),
            ("03029", Some("药理学"), Some("60")),
        ],
    );
    application(
        &app,
        other_profile["id"].as_str().unwrap(),
        (round, Route::Ncre1),
        "submitted",
        &[("00019", None, None)],
    );
    World {
        app,
        admin,
        staff,
        other_staff,
        candidate,
        candidate_id,
        other_candidate,
        round,
        route,
    }
}

#[tokio::test]
async fn staff_export_their_schools_items_as_excel_friendly_csv() {
    let w = world().await;
    let reply = w
        .app
        .get_as(
            &w.staff,
            "/api/v1/staff/exports/certification-applications.csv",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert!(
        reply
            .header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    assert!(reply.text.starts_with('\u{feff}'), "BOM");
    let lines: Vec<&str> = reply
        .text
        .trim_start_matches('\u{feff}')
        .split_terminator("\r\n")
        .collect();
    assert!(lines[0].starts_with("application_id,exam_number,candidate_name"));
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[1].contains("\"大学英语, 综合\""),
        "quoted: {}",
        lines[1]
    );
    assert!(lines[1].contains("60;65;70") && lines[1].contains("英语（二）"));
    assert!(!reply.text.contains("00019"), "another school's row leaked");
    let admin = w
        .app
        .get_as(
            &w.admin,
            "/api/v1/staff/exports/certification-applications.csv",
        )
        .await;
    assert_eq!(admin.text.split_terminator("\r\n").count(), 4);
}

#[tokio::test]
async fn the_export_is_filtered_and_checks_its_filters() {
    let w = world().await;
    let url = format!(
        "/api/v1/staff/exports/certification-applications.csv?status=approved&round_id={}",
        w.round
    );
    let none = w.app.get_as(&w.admin, &url).await;
    assert_eq!(none.text.split_terminator("\r\n").count(), 1, "header only");
    let by_school = w
        .app
        .get_as(
            &w.admin,
            "/api/v1/staff/exports/certification-applications.csv?school_code=whu02",
        )
        .await;
    assert!(by_school.text.contains("00019") && !by_school.text.contains("00015"));
    let q = w
        .app
        .get_as(
            &w.admin,
            "/api/v1/staff/exports/certification-applications.csv?q=010118200001",
        )
        .await;
    assert!(q.text.contains("00015") && !q.text.contains("00019"));
    let bad = w
        .app
        .get_as(
            &w.admin,
            "/api/v1/staff/exports/certification-applications.csv?status=done&round_id=x",
        )
        .await;
    let p = bad.assert_problem(422, "validation");
    assert_eq!(p["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_formula_in_a_cell_is_neutralised() {
    let w = world().await;
    // Another candidate of the school (the first one holds 03029 already).
    let (profile, _) = w.app.candidate(3, Some("HBU01"), "100701").await;
    let candidate = profile["id"].as_str().unwrap().to_owned();
    let route = degree_route(&w.app, &candidate);
    application(
        &w.app,
        &candidate,
        (w.round, route),
        "draft",
        &[("03029", Some("=HYPERLINK(\"x\")"), Some("60"))],
    );
    let reply = w
        .app
        .get_as(
            &w.staff,
            "/api/v1/staff/exports/certification-applications.csv",
        )
        .await;
    assert!(
        reply.text.contains("\"'=HYPERLINK(\"\"x\"\")\""),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_large_export_streams_every_row() {
    let w = world().await;
    // 2 500 more items: more than one chunk. 1 250 drafts of two courses each,
    // through the application use case (a draft holds no course, so one candidate
    // may keep any number of them), in one transaction to spare a commit each.
    // Off the test's runtime, which keeps serving the client's pooled connections.
    let owner = w.app.actor_of(&w.candidate_id);
    let (mut conn, cache) = (w.app.connect(), w.app.state.catalog.clone());
    let courses = [("00018", None, None), ("00019", None, None)];
    let bulk = draft((w.round, Route::Ncre1), &courses);
    tokio::task::spawn_blocking(move || {
        conn.transaction(|conn| {
            (0..1250).try_for_each(|_| {
                applications::create(conn, &owner, &cache, Utc::now(), &bulk).map(drop)
            })
        })
        .expect("create the drafts")
    })
    .await
    .unwrap();
    let reply = w
        .app
        .get_as(
            &w.staff,
            "/api/v1/staff/exports/certification-applications.csv",
        )
        .await;
    assert_eq!(reply.text.split_terminator("\r\n").count(), 1 + 2 + 2500);
}

#[tokio::test]
async fn statistics_count_the_callers_scope() {
    let w = world().await;
    let staff = w.app.get_as(&w.staff, "/api/v1/staff/stats").await;
    assert_eq!(staff.status, 200, "{}", staff.text);
    let body = staff.json();
    assert_eq!(body["school_code"], "HBU01");
    assert_eq!(
        body["applications_by_status"],
        json!([{"key": "submitted", "count": 1}])
    );
    let courses: Vec<&str> = body["items_by_course"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["course_code"].as_str().unwrap())
        .collect();
    assert_eq!(courses, ["00015", "03029"]);
    assert_eq!(body["items_by_course"][0]["course_name"], "英语（二）");
    let admin = w
        .app
        .get_as(
            &w.admin,
            &format!("/api/v1/staff/stats?round_id={}", w.round),
        )
        .await
        .json();
    assert_eq!(
        admin["applications_by_status"],
        json!([{"key": "submitted", "count": 2}])
    );
    assert_eq!(
        admin["applications_by_major"],
        json!([{"key": "100701", "count": 2}])
    );
    w.app
        .get_as(&w.admin, "/api/v1/staff/stats?round_id=nope")
        .await
        .assert_problem(422, "id.format");
}

#[tokio::test]
async fn staff_asking_for_another_school_get_nothing_counted_or_exported_never_its_rows() {
    let w = world().await;
    let stats = w
        .app
        .get_as(&w.staff, "/api/v1/staff/stats?school_code=WHU02")
        .await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    let body = stats.json();
    assert_eq!(body["school_code"], "WHU02");
    assert_eq!(body["applications_by_status"], json!([]));
    assert_eq!(body["items_by_course"], json!([]));
    assert_eq!(body["prior_degrees_by_status"], json!([]));
    let export = w
        .app
        .get_as(
            &w.staff,
            "/api/v1/staff/exports/certification-applications.csv?school_code=WHU02",
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    let lines: Vec<&str> = export.text.lines().collect();
    assert_eq!(lines.len(), 1, "only the header: {}", export.text);
    // Their own school, asked for by name, is theirs as before.
    let own = w
        .app
        .get_as(&w.staff, "/api/v1/staff/stats?school_code=hbu01")
        .await
        .json();
    assert_eq!(
        own["applications_by_status"],
        json!([{"key": "submitted", "count": 1}])
    );
    // An admin narrowing to that school sees its rows.
    let admin = w
        .app
        .get_as(&w.admin, "/api/v1/staff/stats?school_code=WHU02")
        .await
        .json();
    assert_eq!(
        admin["applications_by_status"],
        json!([{"key": "submitted", "count": 1}])
    );
}

#[tokio::test]
async fn a_reviewed_decision_is_signed_and_verifies_with_the_public_key_only() {
    let w = world().await;
    let route = w.route;
    let id = application(
        &w.app,
        &w.candidate_id,
        (w.round, route),
        "partially_approved",
        &[("03708", None, None), ("03709", None, None)],
    );
    let reply = w
        .app
        .get_as(
            &w.candidate,
            &format!("/api/v1/certification-applications/{id}/decision"),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    let jws = body["jws"].as_str().unwrap();

    // Verify with nothing but the published JWK set.
    // Signed with the decision key, not the access-token key, and typed so.
    let header = jsonwebtoken::decode_header(jws).unwrap();
    assert_eq!(header.typ.as_deref(), Some("zikao-decision+jwt"));
    let access_kid = jsonwebtoken::decode_header(&w.candidate).unwrap().kid;
    assert_ne!(header.kid, access_kid);
    assert_eq!(header.kid.as_deref(), body["kid"].as_str());
    // A decision is never an access token.
    w.app
        .get_as(jws, "/api/v1/me")
        .await
        .assert_problem(401, "auth.invalid_token");
    let jwks = w.app.get("/.well-known/jwks.json").await.json();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == body["kid"])
        .unwrap();
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_required_spec_claims::<&str>(&[]);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<serde_json::Value>(jws, &decoding, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["exam_number"], "010118200001");
    assert_eq!(claims["round"]["id"], w.round.to_string());
    assert_eq!(claims["status"], "partially_approved");
    assert_eq!(
        claims["courses"][0],
        json!({"course_code": "03708", "course_name": "中国近代史纲要", "decision": "approved", "reason": null})
    );
    assert_eq!(claims["courses"][1]["decision"], "rejected");

    // One changed byte in the payload fails verification.
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let mut payload = parts[1].clone().into_bytes();
    payload[10] = if payload[10] == b'A' { b'B' } else { b'A' };
    parts[1] = String::from_utf8(payload).unwrap();
    assert!(
        jsonwebtoken::decode::<serde_json::Value>(&parts.join("."), &decoding, &validation)
            .is_err()
    );

    // A decision is not an access token.
    w.app
        .get_as(jws, "/api/v1/me")
        .await
        .assert_problem(401, "auth.invalid_token");
}

#[tokio::test]
async fn who_may_see_a_decision() {
    let w = world().await;
    let route = w.route;
    let id = application(
        &w.app,
        &w.candidate_id,
        (w.round, route),
        "approved",
        &[("03708", None, None)],
    );
    let path = format!("/api/v1/certification-applications/{id}/decision");
    assert_eq!(w.app.get_as(&w.staff, &path).await.status, 200);
    assert_eq!(w.app.get_as(&w.admin, &path).await.status, 200);
    w.app
        .get_as(&w.other_staff, &path)
        .await
        .assert_problem(404, "not_found");
    w.app
        .get_as(&w.other_candidate, &path)
        .await
        .assert_problem(404, "not_found");
    w.app.get(&path).await.assert_problem(401, "auth.required");
    let pending = application(
        &w.app,
        &w.candidate_id,
        (w.round, route),
        "submitted",
        &[("03709", None, None)],
    );
    w.app
        .get_as(
            &w.candidate,
            &format!("/api/v1/certification-applications/{pending}/decision"),
        )
        .await
        .assert_problem(409, "state.conflict");
}

#[tokio::test]
async fn reports_are_for_staff_and_admins_only() {
    let w = world().await;
    for path in [
        "/api/v1/staff/exports/certification-applications.csv",
        "/api/v1/staff/stats",
    ] {
        w.app.get(path).await.assert_problem(401, "auth.required");
        w.app
            .get_as(&w.candidate, path)
            .await
            .assert_problem(403, "forbidden");
    }
}
