//! Prior degrees (R3–R7): the seed's steps 2–7 over HTTP, the window, ETags, the
//! one-owner certificate number, batch verification and who may do what.

use chrono::{NaiveDate, TimeDelta, Utc};
use domain::window::{end_of_day_shanghai, shanghai};
use serde_json::{Value, json};
use tests::{Reply, TestApp, spawn_app_with_sample};

const MAJOR: &str = "100701";
const PLEDGE: &str = "2018-1";
const PD: &str = "/api/v1/prior-degrees";

/// A regular associate certificate number of 2015 with serial `serial`.
fn number(serial: u32) -> String {
    format!("106521201506{serial:06}")
}

/// A valid new prior degree with certificate serial `serial`.
fn new_degree(serial: u32) -> Value {
    json!({
        "pledge_version": PLEDGE, "pledge_accepted": true,
        "certificate_number": number(serial), "school_name": "湖北中医药高等专科学校",
        "major_name": "药学", "level": "associate", "education_type": "regular",
        "graduation_date": "2015-07-01",
    })
}

/// An app with the sample catalogue, an open round, two schools with staff, and
/// two candidates of the first school.
struct World {
    app: TestApp,
    admin: String,
    staff: String,
    other_staff: String,
    candidate: String,
    candidate_id: String,
    other_candidate: String,
}

async fn world() -> World {
    let app = spawn_app_with_sample().await;
    let now = Utc::now();
    app.open_round(PLEDGE, now - TimeDelta::hours(1), now + TimeDelta::days(10));
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    app.create_school(&admin, "WHU02").await;
    let staff = app.staff_token(&admin, "li.laoshi", "HBU01").await;
    let other_staff = app.staff_token(&admin, "wang.laoshi", "WHU02").await;
    let (profile, candidate) = app.candidate(1, Some("HBU01"), MAJOR).await;
    let (_, other_candidate) = app.candidate(2, Some("HBU01"), MAJOR).await;
    World {
        app,
        admin,
        staff,
        other_staff,
        candidate,
        candidate_id: profile["id"].as_str().unwrap().to_owned(),
        other_candidate,
    }
}

fn path(id: &str) -> String {
    format!("{PD}/{id}")
}

async fn post_lang(app: &TestApp, token: &str, path: &str, body: &Value, lang: &str) -> Reply {
    app.send(
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .header("accept-language", lang)
            .json(body),
    )
    .await
}

/// Creates a draft as `token`; returns its id.
async fn draft(app: &TestApp, token: &str, serial: u32) -> String {
    let reply = app.post_json_as(token, PD, &new_degree(serial)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].as_str().unwrap().to_owned()
}

/// Creates and submits a prior degree as `token`; returns its id.
async fn submitted(app: &TestApp, token: &str, serial: u32) -> String {
    let id = draft(app, token, serial).await;
    let reply = app
        .post_json_as(token, &format!("{}/submit", path(&id)), &json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    id
}

async fn verify(app: &TestApp, token: &str, id: &str, body: &Value) -> Reply {
    app.post_json_as(token, &format!("{}/verification", path(id)), body)
        .await
}

/// Moves every round's prior-degree window to the 30 days up to `closes_at`, and
/// its certification window's end to 30 days after, as an admin does (the round
/// use case).
fn set_prior_degree_closes_at(app: &TestApp, closes_at: chrono::DateTime<Utc>) {
    use api::use_cases::rounds;
    let mut conn = app.connect();
    let admin = app.actor_named("admin");
    let (all, _) = rounds::list(&mut conn, (0, 100)).expect("list the rounds");
    for round in all {
        let opens = round.certification_window.opens_at();
        let patch = rounds::RoundPatchForm {
            prior_degree_window: Some((closes_at - TimeDelta::days(30), closes_at)),
            certification_window: Some((opens, closes_at + TimeDelta::days(30))),
            ..Default::default()
        };
        rounds::update(&mut conn, &admin, (round.id, None), &patch, Utc::now())
            .expect("move the round's windows");
    }
}

#[tokio::test]
async fn the_seed_walkthrough_from_the_pledge_to_an_effective_degree() {
    let w = world().await;
    let app = &w.app;
    // Step 2–4: the current round names the pledge to accept.
    let round = app.get("/api/v1/rounds/current").await.json();
    assert_eq!(round["pledge"]["version"], PLEDGE);

    // Without ticking the pledge, or with another version: refused (R3).
    let mut body = new_degree(1);
    body["pledge_accepted"] = json!(false);
    let zh = post_lang(app, &w.candidate, PD, &body, "zh-CN").await;
    let p = zh.assert_problem(422, "pledge.not_accepted");
    assert!(
        p["detail"].as_str().unwrap().contains("我已阅读并同意"),
        "{p}"
    );
    assert_eq!(p["errors"][0]["field"], "pledge_accepted");
    let en = post_lang(app, &w.candidate, PD, &body, "en").await;
    let p = en.assert_problem(422, "pledge.not_accepted");
    assert!(
        p["detail"].as_str().unwrap().contains("read the pledge"),
        "{p}"
    );
    let mut body = new_degree(1);
    body["pledge_version"] = json!("2017-2");
    let p = app
        .post_json_as(&w.candidate, PD, &body)
        .await
        .assert_problem(422, "pledge.not_accepted");
    assert_eq!(p["errors"][0]["field"], "pledge_version");
    let mut body = new_degree(1);
    body.as_object_mut().unwrap().remove("pledge_version");
    body.as_object_mut().unwrap().remove("pledge_accepted");
    app.post_json_as(&w.candidate, PD, &body)
        .await
        .assert_problem(422, "pledge.not_accepted");

    // Step 5: save as a draft.
    let created = app.post_json_as(&w.candidate, PD, &new_degree(1)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("etag").as_deref(), Some("\"1\""));
    let d = created.json();
    let id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), Some(path(&id)));
    assert_eq!(d["status"], "draft");
    assert_eq!(d["status_label"], "草稿");
    assert_eq!(d["candidate_id"], w.candidate_id.as_str());
    assert_eq!(d["level"], "associate");
    assert_eq!(d["level_label"], "专科");
    assert_eq!(d["education_type"], "regular");
    assert_eq!(d["education_type_label"], "普通");
    assert_eq!(d["graduation_date"], "2015-07-01");
    assert_eq!(d["pledge"]["version"], PLEDGE);
    assert!(d["pledge"]["accepted_at"].is_string());
    assert_eq!(d["verification"]["status"], "not_submitted");
    assert_eq!(d["verification"]["feedback"], Value::Null);
    assert_eq!(d["warnings"], json!([]));
    assert_eq!(d["version"], 1);
    assert_eq!(d["allowed_actions"], json!(["modify", "submit"]));

    // Step 6: the saved data is shown again; modify it with the ETag.
    let got = app.get_as(&w.candidate, &path(&id)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(got.json()["school_name"], "湖北中医药高等专科学校");
    // Without the ETag the change is refused: it could overwrite another's.
    app.patch_json_as(&w.candidate, &path(&id), &json!({"school_name": "x"}), None)
        .await
        .assert_problem(428, "precondition.required");
    let modified = app
        .patch_json_as(
            &w.candidate,
            &path(&id),
            &json!({"school_name": "湖北中医药高等专科学校（药学系）"}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(modified.status, 200, "{}", modified.text);
    assert_eq!(modified.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(modified.json()["status"], "draft");

    // Submit: verification pending; no more changes while submitted.
    let sub = app
        .post_json_as(&w.candidate, &format!("{}/submit", path(&id)), &json!({}))
        .await;
    assert_eq!(sub.status, 200, "{}", sub.text);
    let d = sub.json();
    assert_eq!(d["status"], "submitted");
    assert_eq!(d["verification"]["status"], "pending");
    assert_eq!(d["verification"]["status_label"], "待核验");
    assert!(d["submitted_at"].is_string());
    assert_eq!(d["allowed_actions"], json!([]));
    let p = app
        .patch_json_as(
            &w.candidate,
            &path(&id),
            &json!({"major_name": "中药学"}),
            Some("*"),
        )
        .await
        .assert_problem(409, "state.conflict");
    assert!(p["detail"].as_str().unwrap().contains("已提交"), "{p}");
    app.post_json_as(&w.candidate, &format!("{}/submit", path(&id)), &json!({}))
        .await
        .assert_problem(409, "state.conflict");

    // Step 7: the verification feedback — rejected, with what to correct.
    let p = verify(app, &w.staff, &id, &json!({"result": "rejected"}))
        .await
        .assert_problem(422, "verification.feedback");
    assert_eq!(p["errors"][0]["field"], "feedback");
    verify(app, &w.staff, &id, &json!({"result": "valid"}))
        .await
        .assert_problem(422, "verification.result");
    let feedback = "学信网毕业日期为2015-06-30，请核对后重新提交";
    let rejected = verify(
        app,
        &w.staff,
        &id,
        &json!({"result": "rejected", "feedback": feedback}),
    )
    .await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    let d = app.get_as(&w.candidate, &path(&id)).await.json();
    assert_eq!(d["status"], "rejected");
    assert_eq!(d["verification"]["status"], "rejected");
    assert_eq!(d["verification"]["feedback"], feedback);
    assert!(d["verification"]["verified_at"].is_string());
    assert_eq!(d["allowed_actions"], json!(["modify", "submit"]));

    // Modify and resubmit.
    let modified = app
        .patch_json_as(
            &w.candidate,
            &path(&id),
            &json!({"graduation_date": "2015-06-30"}),
            Some(&format!("\"{}\"", d["version"])),
        )
        .await;
    assert_eq!(modified.status, 200, "{}", modified.text);
    assert_eq!(modified.json()["status"], "rejected");
    let sub = app
        .post_json_as(&w.candidate, &format!("{}/submit", path(&id)), &json!({}))
        .await
        .json();
    assert_eq!(sub["status"], "submitted");
    assert_eq!(sub["verification"]["feedback"], Value::Null);

    // Effective: final.
    let eff = verify(app, &w.admin, &id, &json!({"result": "effective"})).await;
    assert_eq!(eff.status, 200, "{}", eff.text);
    let d = eff.json();
    assert_eq!(d["status"], "effective");
    assert_eq!(d["status_label"], "已生效");
    assert_eq!(d["verification"]["status"], "effective");
    assert_eq!(d["usable_for_degree_certification"], true);
    for reply in [
        verify(
            app,
            &w.admin,
            &id,
            &json!({"result": "rejected", "feedback": "x"}),
        )
        .await,
        app.patch_json_as(
            &w.candidate,
            &path(&id),
            &json!({"major_name": "x"}),
            Some("*"),
        )
        .await,
        app.post_json_as(&w.candidate, &format!("{}/submit", path(&id)), &json!({}))
            .await,
    ] {
        reply.assert_problem(409, "state.conflict");
    }

    // Every change is in the history, with who and the feedback.
    let history = app
        .get_as(&w.candidate, &format!("{}/history", path(&id)))
        .await
        .json();
    let steps: Vec<(String, String, String, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap().to_owned(),
                h["actor_role"].as_str().unwrap().to_owned(),
                h["from_status"].as_str().unwrap_or("-").to_owned(),
                h["to_status"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("create", "candidate", "-", "draft"),
        ("update", "candidate", "draft", "draft"),
        ("submit", "candidate", "draft", "submitted"),
        ("verify", "staff", "submitted", "rejected"),
        ("update", "candidate", "rejected", "rejected"),
        ("submit", "candidate", "rejected", "submitted"),
        ("verify", "admin", "submitted", "effective"),
    ];
    assert_eq!(
        steps,
        expected
            .iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(history["total"], 7);
    assert_eq!(history["items"][3]["note"], feedback);
    assert_eq!(history["items"][4]["note"], "changed: graduation_date");
    let rows = app.query_json(&format!(
        "SELECT count(*) AS n FROM history WHERE entity = 'prior_degree' AND entity_id = '{id}'"
    ));
    assert_eq!(rows[0]["n"], 7);

    // Each result is a notification for the candidate.
    let outbox = app.query_json(
        "SELECT kind, recipient_account_id::text AS r, payload FROM outbox \
         WHERE kind = 'verification_result' ORDER BY id",
    );
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    for (row, status) in outbox.iter().zip(["rejected", "effective"]) {
        assert_eq!(row["r"], w.candidate_id.as_str());
        assert_eq!(row["payload"]["status"], status);
        assert_eq!(row["payload"]["prior_degree_id"], id.as_str());
    }
    assert_eq!(outbox[0]["payload"]["feedback"], feedback);
}

#[tokio::test]
async fn each_bad_field_gets_its_code_and_all_are_reported_at_once() {
    let w = world().await;
    let app = &w.app;
    let tomorrow = (Utc::now().with_timezone(&shanghai()).date_naive() + TimeDelta::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "certificate_number",
            json!("10652120150600123X"),
            "certificate_number.format",
        ),
        (
            "certificate_number",
            json!("１０６５２１２０１５０６００１２３４"),
            "certificate_number.format",
        ),
        // An adult (5) number declared regular.
        (
            "certificate_number",
            json!("106525201506000001"),
            "certificate_number.mismatch",
        ),
        ("level", json!("master"), "degree_level.unknown"),
        (
            "education_type",
            json!("full_time"),
            "education_type.unknown",
        ),
        (
            "graduation_date",
            json!("2015/07/01"),
            "graduation_date.format",
        ),
        ("graduation_date", json!(tomorrow), "graduation_date.future"),
        ("school_name", json!("  "), "school_name.length"),
        ("major_name", json!("药".repeat(101)), "major_name.length"),
    ];
    for (field, value, code) in cases {
        let mut body = new_degree(1);
        body[field] = value.clone();
        let reply = app.post_json_as(&w.candidate, PD, &body).await;
        let p = reply.assert_problem(422, code);
        assert_eq!(p["errors"][0]["field"], field, "{field}={value}: {p}");
    }
    // A year mismatch names the digits, in both languages.
    let mut body = new_degree(1);
    body["graduation_date"] = json!("2016-07-01");
    let zh = post_lang(app, &w.candidate, PD, &body, "zh").await;
    assert!(
        zh.assert_problem(422, "certificate_number.mismatch")["detail"]
            .as_str()
            .unwrap()
            .contains("第7–10位毕业年份为2015")
    );
    let en = post_lang(app, &w.candidate, PD, &body, "en").await;
    assert!(
        en.assert_problem(422, "certificate_number.mismatch")["detail"]
            .as_str()
            .unwrap()
            .contains("year: digits 7–10 are 2015")
    );
    // Several problems at once: `validation`, each field named.
    let mut body = new_degree(1);
    body["level"] = json!("master");
    body["school_name"] = json!("");
    body["graduation_date"] = json!("yesterday");
    let p = app
        .post_json_as(&w.candidate, PD, &body)
        .await
        .assert_problem(422, "validation");
    let mut fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["graduation_date", "level", "school_name"]);
    // Wrong JSON type: 400; unknown field: 422.
    let mut body = new_degree(1);
    body["certificate_number"] = json!(106521201506000001u64);
    app.post_json_as(&w.candidate, PD, &body)
        .await
        .assert_problem(400, "json.type");
    let mut body = new_degree(1);
    body["holder"] = json!("someone else");
    app.post_json_as(&w.candidate, PD, &body)
        .await
        .assert_problem(422, "unknown_field");
    assert!(app.query_json("SELECT id FROM prior_degrees").is_empty());
}

#[tokio::test]
async fn a_legacy_17_digit_number_passes_with_a_warning_and_a_non_regular_degree_is_flagged() {
    let w = world().await;
    let app = &w.app;
    let mut body = new_degree(1);
    body["certificate_number"] = json!("10652119990600123");
    let reply = app
        .send(
            app.client
                .post(app.url(PD))
                .bearer_auth(&w.candidate)
                .header("accept-language", "en")
                .json(&body),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let d = reply.json();
    assert_eq!(d["warnings"][0]["code"], "certificate_number.legacy_format");
    assert!(
        d["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("17-digit")
    );
    assert!(
        d["warnings"][0]["message_zh"]
            .as_str()
            .unwrap()
            .contains("17位")
    );

    let mut body = new_degree(2);
    body["certificate_number"] = json!("106525201506000002");
    body["education_type"] = json!("adult");
    let d = app.post_json_as(&w.candidate, PD, &body).await.json();
    assert_eq!(d["education_type_label"], "成人");
    assert_eq!(d["warnings"][0]["code"], "prior_degree.not_regular");
}

#[tokio::test]
async fn the_window_is_open_one_second_before_closes_at_and_closed_one_second_after() {
    let w = world().await;
    let app = &w.app;
    let id = draft(app, &w.candidate, 1).await;
    let id2 = draft(app, &w.candidate, 2).await;

    // One second before the deadline: everything still works.
    set_prior_degree_closes_at(app, Utc::now() + TimeDelta::seconds(1));
    let reply = app
        .patch_json_as(
            &w.candidate,
            &path(&id),
            &json!({"major_name": "中药学"}),
            Some("*"),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    set_prior_degree_closes_at(app, Utc::now() + TimeDelta::seconds(1));
    let reply = app
        .post_json_as(&w.candidate, &format!("{}/submit", path(&id)), &json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    set_prior_degree_closes_at(app, Utc::now() + TimeDelta::seconds(1));
    assert_eq!(
        app.post_json_as(&w.candidate, PD, &new_degree(3))
            .await
            .status,
        201
    );

    // One second after: nothing can be added, changed or submitted (R6), and the
    // message gives the deadline in Beijing time.
    let closes = Utc::now() - TimeDelta::seconds(1);
    set_prior_degree_closes_at(app, closes);
    let shown = closes
        .with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let p = post_lang(app, &w.candidate, PD, &new_degree(4), "zh")
        .await
        .assert_problem(422, "window.closed");
    assert!(
        p["detail"].as_str().unwrap().contains(&shown),
        "{p} {shown}"
    );
    let p = post_lang(app, &w.candidate, PD, &new_degree(4), "en")
        .await
        .assert_problem(422, "window.closed");
    assert!(
        p["detail"].as_str().unwrap().contains("Beijing time"),
        "{p}"
    );
    app.patch_json_as(
        &w.candidate,
        &path(&id2),
        &json!({"major_name": "中药学"}),
        Some("*"),
    )
    .await
    .assert_problem(422, "window.closed");
    app.post_json_as(&w.candidate, &format!("{}/submit", path(&id2)), &json!({}))
        .await
        .assert_problem(422, "window.closed");
    // Verification is not bound to the candidates' window.
    assert_eq!(
        verify(app, &w.staff, &id, &json!({"result": "effective"}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn allowed_actions_say_what_this_caller_can_do_now_by_status_window_and_role() {
    let w = world().await;
    let app = &w.app;
    let draft_id = draft(app, &w.candidate, 1).await;
    let submitted_id = submitted(app, &w.candidate, 2).await;
    let actions = |d: &Value| d["allowed_actions"].clone();

    // Window open: the holder may modify and submit the draft; staff may verify
    // the submitted one, and do nothing to the draft.
    let d = app.get_as(&w.candidate, &path(&draft_id)).await.json();
    assert_eq!(actions(&d), json!(["modify", "submit"]));
    let d = app.get_as(&w.staff, &path(&draft_id)).await.json();
    assert_eq!(actions(&d), json!([]));
    let d = app.get_as(&w.staff, &path(&submitted_id)).await.json();
    assert_eq!(actions(&d), json!(["verify"]));
    let d = app.get_as(&w.candidate, &path(&submitted_id)).await.json();
    assert_eq!(actions(&d), json!([]));

    // Window closed: the holder can do nothing now (both would be window.closed),
    // in the record and in the list; verification is not bound to the window.
    set_prior_degree_closes_at(app, Utc::now() - TimeDelta::seconds(1));
    let d = app.get_as(&w.candidate, &path(&draft_id)).await.json();
    assert_eq!(actions(&d), json!([]), "{d}");
    let list = app.get_as(&w.candidate, PD).await.json();
    for item in list["items"].as_array().unwrap() {
        assert_eq!(actions(item), json!([]), "{item}");
    }
    app.post_json_as(
        &w.candidate,
        &format!("{}/submit", path(&draft_id)),
        &json!({}),
    )
    .await
    .assert_problem(422, "window.closed");
    let d = app.get_as(&w.staff, &path(&submitted_id)).await.json();
    assert_eq!(actions(&d), json!(["verify"]));
}

#[tokio::test]
async fn a_deadline_given_as_a_shanghai_date_closes_at_the_end_of_that_day() {
    let w = world().await;
    let app = &w.app;
    let today: NaiveDate = Utc::now().with_timezone(&shanghai()).date_naive();
    // "Until today" (Beijing date): still open, whatever the hour.
    set_prior_degree_closes_at(app, end_of_day_shanghai(today));
    assert_eq!(
        app.post_json_as(&w.candidate, PD, &new_degree(1))
            .await
            .status,
        201
    );
    // "Until yesterday": closed since 23:59:59.999 Beijing time yesterday.
    let yesterday = today - TimeDelta::days(1);
    set_prior_degree_closes_at(app, end_of_day_shanghai(yesterday));
    let p = app
        .post_json_as(&w.candidate, PD, &new_degree(2))
        .await
        .assert_problem(422, "window.closed");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("{yesterday} 23:59:59")),
        "{p}"
    );
}

#[tokio::test]
async fn without_an_open_round_nothing_can_be_created() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    let (_, candidate) = app.candidate(1, Some("HBU01"), MAJOR).await;
    app.post_json_as(&candidate, PD, &new_degree(1))
        .await
        .assert_problem(422, "window.closed");
}

#[tokio::test]
async fn a_stale_etag_is_412_and_changes_nothing() {
    let w = world().await;
    let app = &w.app;
    let id = draft(app, &w.candidate, 1).await;
    let first = app
        .patch_json_as(
            &w.candidate,
            &path(&id),
            &json!({"major_name": "中药学"}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(first.status, 200);
    let zh = app
        .send(
            app.client
                .patch(app.url(&path(&id)))
                .bearer_auth(&w.candidate)
                .header("if-match", "\"1\"")
                .json(&json!({"major_name": "药物制剂"})),
        )
        .await;
    let p = zh.assert_problem(412, "version.stale");
    assert!(p["detail"].as_str().unwrap().contains("\"2\""), "{p}");
    let en = app
        .send(
            app.client
                .post(app.url(&format!("{}/submit", path(&id))))
                .bearer_auth(&w.candidate)
                .header("if-match", "\"1\"")
                .header("accept-language", "en"),
        )
        .await;
    let p = en.assert_problem(412, "version.stale");
    assert!(p["detail"].as_str().unwrap().contains("changed"), "{p}");
    let d = app.get_as(&w.candidate, &path(&id)).await.json();
    assert_eq!(d["major_name"], "中药学");
    assert_eq!(d["status"], "draft");
    // A submitted degree: verification with a stale tag is refused too.
    let sub = app
        .send(
            app.client
                .post(app.url(&format!("{}/submit", path(&id))))
                .bearer_auth(&w.candidate)
                .header("if-match", "\"2\""),
        )
        .await;
    assert_eq!(sub.status, 200, "{}", sub.text);
    let stale = app
        .send(
            app.client
                .post(app.url(&format!("{}/verification", path(&id))))
                .bearer_auth(&w.staff)
                .header("if-match", "\"2\"")
                .json(&json!({"result": "effective"})),
        )
        .await;
    stale.assert_problem(412, "version.stale");
}

#[tokio::test]
async fn a_certificate_number_belongs_to_one_candidate() {
    let w = world().await;
    let app = &w.app;
    let id = draft(app, &w.candidate, 1).await;
    // Another candidate claiming it: 409, saying it is another account's.
    let zh = post_lang(app, &w.other_candidate, PD, &new_degree(1), "zh").await;
    let p = zh.assert_problem(409, "state.conflict");
    assert!(
        p["detail"].as_str().unwrap().contains("已被其他账号登记"),
        "{p}"
    );
    let en = post_lang(app, &w.other_candidate, PD, &new_degree(1), "en").await;
    let p = en.assert_problem(409, "state.conflict");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("registered to another account"),
        "{p}"
    );
    // The holder registering it twice is told it is theirs.
    let p = post_lang(app, &w.candidate, PD, &new_degree(1), "en")
        .await
        .assert_problem(409, "state.conflict");
    assert!(
        p["detail"].as_str().unwrap().contains("already registered"),
        "{p}"
    );
    // Changing another record to that number: the same 409.
    let other = draft(app, &w.other_candidate, 2).await;
    app.patch_json_as(
        &w.other_candidate,
        &path(&other),
        &json!({"certificate_number": number(1)}),
        Some("*"),
    )
    .await
    .assert_problem(409, "state.conflict");
    let rows = app.query_json(&format!(
        "SELECT id::text AS id FROM prior_degrees WHERE certificate_number = '{}'",
        number(1)
    ));
    assert_eq!(rows, vec![json!({"id": id})]);
}

#[tokio::test]
async fn concurrent_claims_of_one_number_leave_exactly_one_record() {
    let w = world().await;
    let app = &w.app;
    let body = new_degree(7);
    let (a, b) = tokio::join!(
        app.post_json_as(&w.candidate, PD, &body),
        app.post_json_as(&w.other_candidate, PD, &body),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text, b.text);
    assert_eq!(app.query_json("SELECT id FROM prior_degrees").len(), 1);
}

#[tokio::test]
async fn a_json_batch_applies_good_rows_and_reports_each_bad_row() {
    let w = world().await;
    let app = &w.app;
    let a = submitted(app, &w.candidate, 1).await;
    let b = submitted(app, &w.other_candidate, 2).await;
    let drafted = draft(app, &w.candidate, 3).await;
    let batch = json!([
        {"certificate_number": number(1), "result": "effective"},
        {"certificate_number": number(2), "result": "rejected"},
        {"certificate_number": number(9), "result": "effective"},
        {"certificate_number": number(3), "result": "effective"},
        {"certificate_number": "12345", "result": "effective"},
        {"certificate_number": number(2), "result": "rejected", "feedback": "查无此证"},
        {"certificate_number": number(1), "result": "bogus"},
        {"result": "effective"},
    ]);
    let reply = app
        .post_json_as(&w.staff, &format!("{PD}/verifications"), &batch)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let report = reply.json();
    assert_eq!(report["total"], 8);
    assert_eq!(report["applied"], 2);
    assert_eq!(report["failed"], 6);
    let rows = report["rows"].as_array().unwrap();
    let summary: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap(),
                r["error"]["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "applied", ""),
            (2, "failed", "verification.feedback"),
            (3, "failed", "not_found"),
            (4, "failed", "state.conflict"),
            (5, "failed", "certificate_number.format"),
            (6, "applied", ""),
            (7, "failed", "verification.result"),
            (8, "failed", "validation"),
        ]
    );
    assert_eq!(rows[0]["prior_degree_id"], a.as_str());
    assert_eq!(rows[0]["status"], "effective");
    assert_eq!(rows[5]["prior_degree_id"], b.as_str());
    assert_eq!(rows[5]["status"], "rejected");
    assert_eq!(rows[2]["error"]["field"], "certificate_number");
    let states = app
        .query_json("SELECT id::text AS id, status FROM prior_degrees ORDER BY certificate_number");
    assert_eq!(
        states,
        vec![
            json!({"id": a, "status": "effective"}),
            json!({"id": b, "status": "rejected"}),
            json!({"id": drafted, "status": "draft"}),
        ]
    );
    assert_eq!(
        app.query_json("SELECT id FROM outbox WHERE kind = 'verification_result'")
            .len(),
        2
    );
    // Not an array: refused whole.
    app.post_json_as(&w.staff, &format!("{PD}/verifications"), &json!({}))
        .await
        .assert_problem(400, "json.type");
    app.post_json_as(&w.staff, &format!("{PD}/verifications"), &json!([]))
        .await
        .assert_problem(422, "batch.empty");
}

async fn post_csv(app: &TestApp, token: &str, csv: &str) -> Reply {
    app.send(
        app.client
            .post(app.url(&format!("{PD}/verifications")))
            .bearer_auth(token)
            .header("content-type", "text/csv; charset=utf-8")
            .body(csv.to_owned()),
    )
    .await
}

#[tokio::test]
async fn a_csv_batch_applies_good_rows_and_staff_reach_only_their_school() {
    let w = world().await;
    let app = &w.app;
    let a = submitted(app, &w.candidate, 1).await;
    let b = submitted(app, &w.other_candidate, 2).await;
    let csv = format!(
        "certificate_number,result,feedback\r\n{},effective,\r\n{},rejected,\"毕业时间不符, 请核对\"\r\n{},maybe,\r\n",
        number(1),
        number(2),
        number(1)
    );
    // Staff of another school see none of these candidates: every row not_found.
    let report = post_csv(app, &w.other_staff, &csv).await.json();
    assert_eq!(report["applied"], 0);
    assert_eq!(report["rows"][0]["error"]["code"], "not_found");
    assert_eq!(report["rows"][1]["error"]["code"], "not_found");
    // Their school's staff: the bad row rejects only itself.
    let reply = post_csv(app, &w.staff, &csv).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let report = reply.json();
    assert_eq!(
        (report["total"].as_u64(), report["applied"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(report["rows"][2]["error"]["code"], "verification.result");
    let d = app.get_as(&w.other_candidate, &path(&b)).await.json();
    assert_eq!(d["status"], "rejected");
    assert_eq!(d["verification"]["feedback"], "毕业时间不符, 请核对");
    assert_eq!(
        app.get_as(&w.candidate, &path(&a)).await.json()["status"],
        "effective"
    );
    // A CSV without the header is refused whole; other content types are 415.
    post_csv(app, &w.staff, &format!("{},effective,\n", number(1)))
        .await
        .assert_problem(422, "csv.header");
    app.send(
        app.client
            .post(app.url(&format!("{PD}/verifications")))
            .bearer_auth(&w.staff)
            .header("content-type", "text/plain")
            .body("x"),
    )
    .await
    .assert_problem(415, "content_type.unsupported");
}

#[tokio::test]
async fn eligibility_by_prior_degree_id_gives_degree_routes_only_when_effective() {
    let w = world().await;
    let app = &w.app;
    let id = submitted(app, &w.candidate, 1).await;
    let url = format!("/api/v1/majors/{MAJOR}/eligibility?prior_degree_id={id}");
    // Not yet effective: no degree route, and the reason says why.
    let reply = app.get_as(&w.candidate, &url).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let view = reply.json();
    assert_eq!(view["prior_degree"]["id"], id.as_str());
    assert_eq!(view["prior_degree"]["status"], "submitted");
    let courses = view["courses"].as_array().unwrap();
    assert!(courses.iter().all(|c| c["route"] != "degree"), "{view}");
    let english = courses
        .iter()
        .find(|c| c["course_code"] == "00015")
        .unwrap();
    assert!(
        english["reason_zh"].as_str().unwrap().contains("尚未生效"),
        "{english}"
    );
    assert!(
        english["reason_en"]
            .as_str()
            .unwrap()
            .contains("not effective"),
        "{english}"
    );
    // Effective: degree routes, for the owner and their school's staff.
    assert_eq!(
        verify(app, &w.staff, &id, &json!({"result": "effective"}))
            .await
            .status,
        200
    );
    for token in [&w.candidate, &w.staff, &w.admin] {
        let reply = app.get_as(token, &url).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let view = reply.json();
        assert_eq!(view["prior_degree"]["status"], "effective");
        let english = view["courses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["course_code"] == "00015")
            .unwrap()
            .clone();
        assert_eq!(english["route"], "degree", "{english}");
    }
    // Nobody else.
    app.get_as(&w.other_candidate, &url)
        .await
        .assert_problem(404, "not_found");
    app.get_as(&w.other_staff, &url)
        .await
        .assert_problem(404, "not_found");
    app.get(&url).await.assert_problem(401, "auth.required");
    app.get_as(&w.candidate, &format!("{url}&prior_level=associate"))
        .await
        .assert_problem(422, "prior_degree_id.exclusive");
    app.get_as(
        &w.candidate,
        &format!("/api/v1/majors/{MAJOR}/eligibility?prior_degree_id=nope"),
    )
    .await
    .assert_problem(422, "id.format");
}

#[tokio::test]
async fn lists_show_owners_their_own_and_staff_their_school() {
    let w = world().await;
    let app = &w.app;
    let mine = draft(app, &w.candidate, 1).await;
    let theirs = submitted(app, &w.other_candidate, 2).await;
    let ids = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(app.get_as(&w.candidate, PD).await.json()),
        std::slice::from_ref(&mine)
    );
    assert_eq!(
        ids(app.get_as(&w.staff, PD).await.json()),
        [theirs.clone(), mine.clone()]
    );
    assert_eq!(ids(app.get_as(&w.admin, PD).await.json()).len(), 2);
    assert!(ids(app.get_as(&w.other_staff, PD).await.json()).is_empty());
    let list = app
        .get_as(&w.staff, &format!("{PD}?status=submitted&per_page=1"))
        .await
        .json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["per_page"], 1);
    assert_eq!(ids(list), [theirs]);
    app.get_as(&w.staff, &format!("{PD}?status=approved"))
        .await
        .assert_problem(422, "status.unknown");
    app.get_as(&w.staff, &path("not-a-uuid"))
        .await
        .assert_problem(422, "id.format");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Owner,
    OtherCandidate,
    OtherStaff,
    Staff,
    Admin,
    IntegrationWithoutScope,
    IntegrationWithScope,
}

#[tokio::test]
async fn authorization_matrix_of_the_prior_degree_operations() {
    use Who::*;
    let w = world().await;
    let app = &w.app;
    let int_without = app
        .integration_token(&w.admin, "svc-outbox", &["outbox:read"])
        .await;
    let int_with = app
        .integration_token(&w.admin, "svc-chsi", &["verification:write"])
        .await;
    let callers = [
        Anonymous,
        Owner,
        OtherCandidate,
        OtherStaff,
        Staff,
        Admin,
        IntegrationWithoutScope,
        IntegrationWithScope,
    ];
    let token = |who: Who| -> Option<&str> {
        match who {
            Anonymous => None,
            Owner => Some(&w.candidate),
            OtherCandidate => Some(&w.other_candidate),
            OtherStaff => Some(&w.other_staff),
            Staff => Some(&w.staff),
            Admin => Some(&w.admin),
            IntegrationWithoutScope => Some(&int_without),
            IntegrationWithScope => Some(&int_with),
        }
    };
    let draft_id = draft(app, &w.candidate, 1).await;
    // One submitted degree per caller, so each verification meets a `submitted` one.
    let mut pending = Vec::new();
    for (k, _) in callers.iter().enumerate() {
        pending.push(submitted(app, &w.candidate, 100 + k as u32).await);
    }
    let mut serial = 200;
    // (method, path per caller, body per call, expected per caller)
    type PathFor<'a> = Box<dyn Fn(usize) -> String + 'a>;
    let fixed = |p: String| -> PathFor { Box::new(move |_| p.clone()) };
    type Case<'a> = (
        &'a str,
        PathFor<'a>,
        Box<dyn FnMut() -> Value + 'a>,
        [u16; 8],
    );
    let cases: Vec<Case> = vec![
        (
            "POST",
            fixed(PD.into()),
            Box::new(move || {
                serial += 1;
                new_degree(serial)
            }),
            [401, 201, 201, 403, 403, 403, 403, 403],
        ),
        (
            "GET",
            fixed(PD.into()),
            Box::new(|| Value::Null),
            [401, 200, 200, 200, 200, 200, 403, 403],
        ),
        (
            "GET",
            fixed(path(&draft_id)),
            Box::new(|| Value::Null),
            [401, 200, 404, 404, 200, 200, 403, 403],
        ),
        (
            "GET",
            fixed(format!("{}/history", path(&draft_id))),
            Box::new(|| Value::Null),
            [401, 200, 404, 404, 200, 200, 403, 403],
        ),
        (
            "GET",
            fixed(format!(
                "/api/v1/majors/{MAJOR}/eligibility?prior_degree_id={draft_id}"
            )),
            Box::new(|| Value::Null),
            [401, 200, 404, 404, 200, 200, 403, 403],
        ),
        (
            "PATCH",
            fixed(path(&draft_id)),
            Box::new(|| json!({"school_name": "湖北中医药高等专科学校"})),
            [401, 200, 404, 403, 403, 403, 403, 403],
        ),
        (
            "POST",
            Box::new(|k| format!("{}/verification", path(&pending[k]))),
            Box::new(|| json!({"result": "effective"})),
            [401, 403, 403, 404, 200, 200, 403, 200],
        ),
        (
            "POST",
            fixed(format!("{PD}/verifications")),
            Box::new(|| json!([{"certificate_number": number(999), "result": "effective"}])),
            [401, 403, 403, 200, 200, 200, 403, 200],
        ),
        (
            "POST",
            fixed(format!("{}/submit", path(&draft_id))),
            Box::new(|| json!({})),
            [401, 200, 404, 403, 403, 403, 403, 403],
        ),
    ];
    for (method, path_for, mut body, expected) in cases {
        for (k, (who, want)) in callers.iter().zip(expected).enumerate() {
            let path = path_for(k);
            let url = app.url(&path);
            let mut request = match method {
                "GET" => app.client.get(url),
                "PATCH" => app.client.patch(url).header("if-match", "*").json(&body()),
                _ => app.client.post(url).json(&body()),
            };
            if let Some(t) = token(*who) {
                request = request.bearer_auth(t);
            }
            let reply = app.send(request).await;
            assert_eq!(
                reply.status, want,
                "{method} {path} as {who:?}: {}",
                reply.text
            );
            let code = match want {
                401 => Some("auth.required"),
                403 => Some("forbidden"),
                404 => Some("not_found"),
                _ => None,
            };
            if let Some(code) = code {
                reply.assert_problem(want, code);
            }
        }
    }
    // The verifications above: history names each verifier's role.
    let roles =
        app.query_json("SELECT actor_role FROM history WHERE action = 'verify' ORDER BY id");
    assert_eq!(
        roles,
        vec![
            json!({"actor_role": "staff"}),
            json!({"actor_role": "admin"}),
            json!({"actor_role": "integration"}),
        ]
    );
}
