//! Catalogue import and rounds, by admins (issue 4).

use serde_json::{Value, json};
use tests::{TestApp, spawn_app, spawn_app_with_sample};

const SAMPLE: &str = include_str!("../../../data/sample-catalog.json");

fn round_body() -> Value {
    json!({
        "name": "2026年下半年",
        "prior_degree_window": {"opens_at": "2026-03-01T00:00:00+08:00", "closes_at": "2026-03-23T23:59:59.999+08:00"},
        "certification_window": {"opens_at": "2026-09-01T00:00:00+08:00", "closes_at": "2026-09-30T23:59:59.999+08:00"},
        "pledge": {"version": "2026-2", "text": "本人承诺所提交信息真实、准确。"}
    })
}

async fn put_catalog(app: &TestApp, token: &str, body: &str, content_type: &str) -> tests::Reply {
    app.send(
        app.client
            .put(app.url("/api/v1/admin/catalog"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body.to_owned()),
    )
    .await
}

async fn post_csv(app: &TestApp, token: &str, csv: &str) -> tests::Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/admin/catalog/rules.csv"))
            .bearer_auth(token)
            .header("content-type", "text/csv; charset=utf-8")
            .body(csv.to_owned()),
    )
    .await
}

fn versions(app: &TestApp) -> i64 {
    app.query_json("SELECT count(*) AS n FROM catalog_versions")[0]["n"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn an_admin_imports_a_catalogue_that_is_served_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    assert_eq!(app.get("/api/v1/majors").await.json()["total"], 0);
    let reply = put_catalog(&app, &admin, SAMPLE, "application/json").await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let report = reply.json();
    assert_eq!(report["majors"], 3);
    assert!(report["degree_rules"].as_u64().unwrap() > 0);
    assert_eq!(app.get("/api/v1/majors").await.json()["total"], 3);
    let again = put_catalog(&app, &admin, SAMPLE, "application/json")
        .await
        .json();
    assert_eq!(
        again["version_id"].as_i64().unwrap(),
        report["version_id"].as_i64().unwrap() + 1
    );
}

#[tokio::test]
async fn an_invalid_catalogue_reports_every_problem_and_changes_nothing() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let before = versions(&app);
    let mut doc: Value = serde_json::from_str(SAMPLE).unwrap();
    doc["majors"][0]["plan"]
        .as_array_mut()
        .unwrap()
        .push(json!("99999"));
    doc["courses"][0]["credits"] = json!(99);
    let reply = put_catalog(&app, &admin, &doc.to_string(), "application/json").await;
    let problem = reply.assert_problem(422, "validation");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"courses[0].credits"), "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("majors[0].plan[")),
        "{fields:?}"
    );
    assert_eq!(versions(&app), before);

    let mut spoofed: Value = serde_json::from_str(SAMPLE).unwrap();
    spoofed["courses"][1]["name"] = json!("药理学\u{202E}");
    let reply = put_catalog(&app, &admin, &spoofed.to_string(), "application/json").await;
    let problem = reply.assert_problem(422, "text.control");
    assert_eq!(problem["errors"][0]["field"], "courses[1].name");
    assert_eq!(versions(&app), before);

    let malformed = put_catalog(&app, &admin, "{\"label\": 5}", "application/json").await;
    malformed.assert_problem(422, "catalog.format");
    put_catalog(&app, &admin, SAMPLE, "text/plain")
        .await
        .assert_problem(415, "content_type.unsupported");
    assert_eq!(versions(&app), before);
}

#[tokio::test]
async fn the_annex_table_imports_as_csv_with_bom_and_crlf() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let csv = "\u{feff}major_code,course_code,evidence,expected_names,score_terms,pass_mark,prior_levels,prior_majors\r\n\
               100701,03708,none,,,,,\r\n\
               100701,03709,none,,,,,\r\n\
               100701,00015,course_and_scores,\"大学英语|大学英语（一）\",3,60,,\r\n";
    let reply = post_csv(&app, &admin, csv).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json()["degree_rules"], 3);
    let eligibility = app
        .get("/api/v1/majors/100701/eligibility?prior_level=associate&prior_major=%E8%8D%AF%E5%AD%A6")
        .await
        .json();
    let english = eligibility["courses"]
        .as_array()
        .or(eligibility["items"].as_array())
        .unwrap()
        .iter()
        .find(|c| c["course_code"] == "00015")
        .unwrap()
        .clone();
    assert_eq!(english["route"], "degree", "{english}");
}

#[tokio::test]
async fn a_bad_csv_row_names_its_row_and_nothing_is_stored() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let before = versions(&app);
    let csv = "major_code,course_code,evidence,expected_names,score_terms,pass_mark,prior_levels,prior_majors\n\
               100701,03708,none,,,,,\n\
               100701,00015,course_and_scores,大学英语,2,60,,\n";
    let problem = post_csv(&app, &admin, csv)
        .await
        .assert_problem(422, "catalog.evidence_mismatch");
    assert_eq!(problem["errors"][0]["field"], "row 3, column score_terms");
    assert_eq!(versions(&app), before);
}

#[tokio::test]
async fn the_annex_table_needs_a_catalogue_first() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let csv = "major_code,course_code,evidence,expected_names,score_terms,pass_mark,prior_levels,prior_majors\n";
    post_csv(&app, &admin, csv)
        .await
        .assert_problem(409, "state.conflict");
}

#[tokio::test]
async fn a_round_is_created_pinned_and_updated_with_if_match() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let reply = app
        .post_json_as(&admin, "/api/v1/admin/rounds", &round_body())
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("etag").as_deref(), Some("\"1\""));
    let round = reply.json();
    let id = round["id"].as_str().unwrap().to_owned();
    assert_eq!(
        round["certification_window"]["closes_at"],
        "2026-09-30T15:59:59.999Z"
    );
    let pinned = round["catalog_version_id"].clone();

    // A new import does not move the round.
    put_catalog(&app, &admin, SAMPLE, "application/json").await;
    let path = format!("/api/v1/admin/rounds/{id}");
    let patch = |if_match: &'static str, body: Value| {
        app.client
            .patch(app.url(&path))
            .bearer_auth(&admin)
            .header("if-match", if_match)
            .json(&body)
    };
    let new_window = json!({"certification_window": {"opens_at": "2026-09-01T00:00:00+08:00", "closes_at": "2026-10-08T23:59:59.999+08:00"}});
    let blind = app
        .send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&admin)
                .json(&new_window),
        )
        .await;
    blind.assert_problem(428, "precondition.required");
    let ok = app.send(patch("\"1\"", new_window.clone())).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.header("etag").as_deref(), Some("\"2\""));
    let updated = ok.json();
    assert_eq!(updated["catalog_version_id"], pinned);
    assert_eq!(
        updated["certification_window"]["closes_at"],
        "2026-10-08T15:59:59.999Z"
    );
    let stale = app.send(patch("\"1\"", new_window)).await;
    stale.assert_problem(412, "version.stale");
}

#[tokio::test]
async fn bad_round_input_is_422_per_field() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let mut body = round_body();
    body["prior_degree_window"]["closes_at"] = json!("2026-02-01T00:00:00+08:00");
    body["pledge"]["version"] = json!("");
    body["name"] = json!(" ");
    let problem = app
        .post_json_as(&admin, "/api/v1/admin/rounds", &body)
        .await
        .assert_problem(422, "validation");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "prior_degree_window", "pledge"]);
    let mut bad_date = round_body();
    bad_date["certification_window"]["opens_at"] = json!("30 September");
    let p = app
        .post_json_as(&admin, "/api/v1/admin/rounds", &bad_date)
        .await
        .assert_problem(422, "format");
    assert_eq!(p["errors"][0]["field"], "certification_window.opens_at");
    let unknown = app
        .send(
            app.client
                .patch(app.url("/api/v1/admin/rounds/0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"))
                .bearer_auth(&admin)
                .header("if-match", "*")
                .json(&json!({"name": "x"})),
        )
        .await;
    unknown.assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_round_needs_a_catalogue() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.post_json_as(&admin, "/api/v1/admin/rounds", &round_body())
        .await
        .assert_problem(409, "state.conflict");
}

#[tokio::test]
async fn only_admins_administer_the_catalogue_and_rounds() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    let staff = app.staff_token(&admin, "li.laoshi", "HBU01").await;
    let (_, candidate) = app.candidate(1, Some("HBU01"), "100701").await;
    for token in [None, Some(candidate.as_str()), Some(staff.as_str())] {
        let expected = if token.is_some() { 403 } else { 401 };
        let mut put = app
            .client
            .put(app.url("/api/v1/admin/catalog"))
            .header("content-type", "application/json")
            .body(SAMPLE);
        let mut csv = app
            .client
            .post(app.url("/api/v1/admin/catalog/rules.csv"))
            .header("content-type", "text/csv")
            .body("x");
        let mut round = app
            .client
            .post(app.url("/api/v1/admin/rounds"))
            .json(&round_body());
        if let Some(t) = token {
            put = put.bearer_auth(t);
            csv = csv.bearer_auth(t);
            round = round.bearer_auth(t);
        }
        for request in [put, csv, round] {
            assert_eq!(app.send(request).await.status, expected);
        }
    }
}
