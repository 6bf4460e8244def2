//! Certification applications end to end (issue 6, R7–R20): the seed walked for the
//! three sample majors, every error code, windows, confirm_missing, idempotent
//! replay, withdraw / return / resubmit / review, who may see what, and concurrent
//! submits that must produce exactly one success.

use chrono::{DateTime, TimeDelta, Utc};
use domain::window::{Pledge, Window};
use persistence::rounds::{self, NewRound};
use serde_json::{Value, json};
use tests::{Reply, TestApp, spawn_app_with_sample};
use uuid::Uuid;

const PHARMACY: &str = "100701";
const PUBLIC_ADMINISTRATION: &str = "120402";
const LANDSCAPE: &str = "090502";
const SCHOOL: &str = "HBU01";
const OTHER_SCHOOL: &str = "WHU02";
const BASE: &str = "/api/v1/certification-applications";

/// A sample app with an admin, two schools and a round whose certification window
/// is open now.
struct World {
    app: TestApp,
    admin: String,
    round: Uuid,
}

async fn world() -> World {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, SCHOOL).await;
    app.create_school(&admin, OTHER_SCHOOL).await;
    let now = Utc::now();
    let round = create_round(&app, now - TimeDelta::days(1), now + TimeDelta::days(1)).await;
    World { app, admin, round }
}

async fn create_round(app: &TestApp, opens: DateTime<Utc>, closes: DateTime<Utc>) -> Uuid {
    let url = app.db_url.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        let window = Window::new(opens, closes).unwrap();
        rounds::create(
            &mut conn,
            &NewRound {
                name: "2018年下半年".into(),
                prior_degree_window: window,
                certification_window: window,
                pledge: Pledge::new("v1", "本人承诺所填信息真实。").unwrap(),
            },
            Utc::now(),
        )
        .unwrap()
        .id
    })
    .await
    .unwrap()
}

/// Moves the round's certification window (to test its edges), as an admin
/// does (the round use case).
fn set_window(app: &TestApp, round: Uuid, opens: DateTime<Utc>, closes: DateTime<Utc>) {
    let patch = api::use_cases::rounds::RoundPatchForm {
        certification_window: Some((opens, closes)),
        ..Default::default()
    };
    let admin = app.actor_named("admin");
    api::use_cases::rounds::update(
        &mut app.connect(),
        &admin,
        (round, None),
        &patch,
        Utc::now(),
    )
    .expect("move the certification window");
}

/// A prior degree of `candidate` in `status` (`draft`, `submitted`, `effective`,
/// `rejected`), made through the prior-degree use cases in the open round and
/// verified by the admin; returns its id.
fn prior_degree(app: &TestApp, candidate: &str, status: &str, level: &str, major: &str) -> Uuid {
    let candidate = app.actor_of(candidate);
    let admin = app.actor_named("admin");
    app.prior_degree(&candidate, level, major, status, &admin)
}

/// A candidate of `SCHOOL` in `major` with an effective regular prior degree.
async fn candidate_with_degree(
    w: &World,
    n: u32,
    major: &str,
    level: &str,
    prior_major: &str,
) -> (String, String, Uuid) {
    let (profile, token) = w.app.candidate(n, Some(SCHOOL), major).await;
    let id = profile["id"].as_str().unwrap().to_owned();
    let degree = prior_degree(&w.app, &id, "effective", level, prior_major);
    (id, token, degree)
}

fn tick(code: &str) -> Value {
    json!({"course_code": code})
}

fn english(scores: &str) -> Value {
    json!({"course_code": "00015", "learned_course_name": "大学英语", "score_text": scores})
}

fn degree_body(degree: Uuid, items: Vec<Value>) -> Value {
    json!({"kind": "degree", "prior_degree_id": degree, "items": items})
}

fn certificate_body(kind: &str, items: &[&str]) -> Value {
    json!({"kind": "certificate",
        "certificate": {"kind": kind, "number": "180101010012", "obtained_on": "2017-06-30"},
        "items": items.iter().map(|c| tick(c)).collect::<Vec<_>>()})
}

async fn create(app: &TestApp, token: &str, body: &Value) -> Value {
    let reply = app.post_json_as(token, BASE, body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

async fn action(app: &TestApp, token: &str, id: &str, what: &str, body: &Value) -> Reply {
    app.post_json_as(token, &format!("{BASE}/{id}/{what}"), body)
        .await
}

async fn patch(
    app: &TestApp,
    token: &str,
    id: &str,
    if_match: Option<&str>,
    body: &Value,
) -> Reply {
    let mut builder = app
        .client
        .patch(app.url(&format!("{BASE}/{id}")))
        .bearer_auth(token)
        .json(body);
    if let Some(tag) = if_match {
        builder = builder.header("if-match", tag);
    }
    app.send(builder).await
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["course_code"].as_str().unwrap().to_owned())
        .collect()
}

fn progress_entry<'a>(progress: &'a Value, code: &str) -> &'a Value {
    progress["courses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["course_code"] == code)
        .unwrap_or_else(|| panic!("{code} not in {progress}"))
}

fn count(app: &TestApp, sql: &str) -> i64 {
    app.query_json(&format!("SELECT count(*) AS n FROM ({sql}) s"))[0]["n"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_pharmacy_candidate_walks_the_seed_by_degree_and_by_ncre1() {
    let w = world().await;
    let app = &w.app;
    let (candidate, token, degree) =
        candidate_with_degree(&w, 1, PHARMACY, "associate", "药学").await;
    let staff = app.staff_token(&w.admin, "li.laoshi", SCHOOL).await;

    // Before applying: 00018 and 00019 are certifiable by NCRE, otherwise examined
    // on the platform (00018) and at the school office (00019) (R16).
    let progress = app.get_as(&token, "/api/v1/me/progress").await;
    assert_eq!(progress.status, 200, "{}", progress.text);
    let progress = progress.json();
    for (code, channel) in [("00018", "platform"), ("00019", "school_office")] {
        let e = progress_entry(&progress, code);
        assert_eq!(e["status"], "certifiable");
        assert_eq!(e["route"], "certificate");
        assert_eq!(e["certificate_kinds"], json!(["ncre1", "ncre2"]));
        assert_eq!(e["exam_channel"], channel);
    }
    assert_eq!(progress_entry(&progress, "03708")["route"], "degree");
    assert_eq!(progress_entry(&progress, "03031")["status"], "exam");

    // Steps 9–11 and reminders 2–3: 03708/03709 ticked, English II with 60;65;70.
    let created = create(
        app,
        &token,
        &degree_body(
            degree,
            vec![tick("03708"), tick("03709"), english("60;65;70")],
        ),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "draft");
    assert_eq!(created["kind"], "degree");
    assert_eq!(created["item_count"], 3);
    assert_eq!(created["items"][2]["scores"], json!([60, 65, 70]));
    assert_eq!(created["items"][2]["score_text"], "60;65;70");
    assert_eq!(created["items"][2]["course_name"], "英语（二）");
    assert_eq!(created["major_name"], "药学");
    assert!(created["items"][0]["scores"].is_null());

    // Reminder 1 as data: the table allows 4 (03029 for an associate 药学 degree).
    let check = app.get_as(&token, &format!("{BASE}/{id}/check")).await;
    assert_eq!(check.status, 200, "{}", check.text);
    let check = check.json();
    assert_eq!(check["ready"], false);
    assert_eq!(check["errors"], json!([]));
    assert_eq!(
        codes(&check["expected_courses"]),
        ["03708", "03709", "00015", "03029"]
    );
    assert_eq!(
        codes(&check["selected_courses"]),
        ["03708", "03709", "00015"]
    );
    assert_eq!(codes(&check["missing_courses"]), ["03029"]);
    assert_eq!(check["expected_count"], 4);
    assert_eq!(check["selected_count"], 3);
    assert_eq!(check["warnings"][0]["code"], "selection.incomplete");
    let en = app
        .send(
            app.client
                .get(app.url(&format!("{BASE}/{id}/check")))
                .bearer_auth(&token)
                .header("accept-language", "en"),
        )
        .await
        .json();
    assert!(
        en["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("you can apply for 4 courses; you selected 3"),
        "{en}"
    );

    // "Above all do not select fewer": refused until the missing one is confirmed.
    let refused = action(app, &token, &id, "submit", &json!({})).await;
    let body = refused.assert_problem(422, "selection.incomplete");
    assert!(body["detail"].as_str().unwrap().contains("03029"));
    let wrong = action(
        app,
        &token,
        &id,
        "submit",
        &json!({"confirm_missing": ["03029", "00015"]}),
    )
    .await;
    wrong.assert_problem(422, "selection.incomplete");
    let submitted = action(
        app,
        &token,
        &id,
        "submit",
        &json!({"confirm_missing": ["03029"]}),
    )
    .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    let submitted = submitted.json();
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(submitted["confirmed_missing"], json!(["03029"]));
    assert!(
        submitted["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["live"] == true)
    );

    // Reminder 4: 00018 and 00019 by an NCRE level 1 certificate.
    let cert = create(app, &token, &certificate_body("ncre1", &["00018", "00019"])).await;
    assert_eq!(cert["certificate"]["kind"], "ncre1");
    assert_eq!(cert["certificate"]["kind_label"], "全国计算机等级考试一级");
    let cert_id = cert["id"].as_str().unwrap().to_owned();
    let check = app
        .get_as(&token, &format!("{BASE}/{cert_id}/check"))
        .await
        .json();
    assert_eq!(check["ready"], true, "{check}");
    let reply = action(app, &token, &cert_id, "submit", &json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Staff review both; the candidate's overview follows.
    let progress = app.get_as(&token, "/api/v1/me/progress").await.json();
    assert_eq!(progress_entry(&progress, "00018")["status"], "pending");
    assert_eq!(progress_entry(&progress, "03708")["status"], "pending");
    assert_eq!(progress_entry(&progress, "03029")["status"], "certifiable");
    let all = |codes: &[&str]| json!({"items": codes.iter().map(|c| json!({"course_code": c, "decision": "approved"})).collect::<Vec<_>>()});
    let reviewed = action(
        app,
        &staff,
        &id,
        "review",
        &all(&["03708", "03709", "00015"]),
    )
    .await;
    assert_eq!(reviewed.status, 200, "{}", reviewed.text);
    assert_eq!(reviewed.json()["status"], "approved");
    let reviewed = action(app, &staff, &cert_id, "review", &all(&["00018", "00019"])).await;
    assert_eq!(reviewed.json()["status"], "approved");
    let progress = app.get_as(&token, "/api/v1/me/progress").await.json();
    for code in ["03708", "03709", "00015", "00018", "00019"] {
        assert_eq!(
            progress_entry(&progress, code)["status"],
            "certified",
            "{code}"
        );
    }
    assert_eq!(
        progress_entry(&progress, "00015")["application_id"].as_str(),
        Some(id.as_str())
    );

    // Already certified: a new application for it is a duplicate.
    let again = app
        .post_json_as(&token, BASE, &certificate_body("cet4", &["00015"]))
        .await;
    let body = again.assert_problem(409, "course.duplicate");
    assert_eq!(body["errors"][0]["field"], "items[0].course_code");
    assert!(body["detail"].as_str().unwrap().contains("已经认证通过"));

    // Every status change notified the candidate.
    assert_eq!(
        count(
            app,
            &format!(
                "SELECT 1 FROM outbox WHERE kind = 'application_status' AND recipient_account_id = '{candidate}'"
            )
        ),
        4
    );
}

#[tokio::test]
async fn a_public_administration_candidate_certifies_00051_and_00052_by_ncre2_not_ncre1() {
    let w = world().await;
    let app = &w.app;
    let (_, token) = app.candidate(2, Some(SCHOOL), PUBLIC_ADMINISTRATION).await;

    let refused = app
        .post_json_as(
            &token,
            BASE,
            &certificate_body("ncre1", &["00051", "00052"]),
        )
        .await;
    let body = refused.assert_problem(422, "course.not_certifiable");
    assert_eq!(body["errors"][0]["field"], "items[0].course_code");
    assert_eq!(body["errors"][1]["field"], "items[1].course_code");
    assert!(body["detail"].as_str().is_some());
    let en = app
        .send(
            app.client
                .post(app.url(BASE))
                .bearer_auth(&token)
                .header("accept-language", "en")
                .json(&certificate_body("ncre1", &["00051"])),
        )
        .await;
    let body = en.assert_problem(422, "course.not_certifiable");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("only a NCRE level 2"),
        "{body}"
    );

    let created = create(app, &token, &certificate_body("ncre2", &["00051", "00052"])).await;
    let id = created["id"].as_str().unwrap();
    let check = app
        .get_as(&token, &format!("{BASE}/{id}/check"))
        .await
        .json();
    assert_eq!(check["ready"], true, "{check}");
    assert_eq!(codes(&check["expected_courses"]), ["00051", "00052"]);
    let reply = action(app, &token, id, "submit", &json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["status"], "submitted");
}

#[tokio::test]
async fn a_landscape_candidate_applies_for_every_certifiable_course_and_is_ready() {
    let w = world().await;
    let app = &w.app;
    let (_, token, degree) = candidate_with_degree(&w, 3, LANDSCAPE, "associate", "园林技术").await;
    let items = vec![
        tick("03708"),
        tick("03709"),
        json!({"course_code": "00015", "learned_course_name": "大学英语", "scores": [70, 71, 72]}),
        json!({"course_code": "02767", "learned_course_name": "园林植物栽培与养护", "score_text": "80"}),
        json!({"course_code": "06142", "learned_course_name": "树木学", "score_text": " 75 "}),
    ];
    let created = create(app, &token, &degree_body(degree, items)).await;
    assert_eq!(created["items"][2]["score_text"], "70;71;72");
    assert_eq!(created["items"][4]["score_text"], "75");
    let id = created["id"].as_str().unwrap();
    let check = app
        .get_as(&token, &format!("{BASE}/{id}/check"))
        .await
        .json();
    assert_eq!(check["ready"], true, "{check}");
    assert_eq!(check["missing_courses"], json!([]));
    // An unexpected learned name is a warning for staff, not an error.
    assert_eq!(check["warnings"][0]["code"], "evidence.name_unexpected");
    assert_eq!(
        check["warnings"][0]["field"],
        "items[4].learned_course_name"
    );
    let reply = action(app, &token, id, "submit", &json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn every_item_rule_is_refused_with_its_code_and_field() {
    let w = world().await;
    let app = &w.app;
    let (_, token, degree) = candidate_with_degree(&w, 4, PHARMACY, "bachelor", "药学").await;
    // The prior degree's own history (create, submit, verify) is there already.
    let history_before = count(app, "SELECT 1 FROM history");
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"course_code": "03708", "learned_course_name": "中国近代史", "score_text": "80"}),
            422,
            "evidence.not_allowed",
            "items[0]",
        ),
        (
            json!({"course_code": "00015", "score_text": "60;65;70"}),
            422,
            "evidence.required",
            "items[0].learned_course_name",
        ),
        (
            json!({"course_code": "00015", "learned_course_name": "大学英语"}),
            422,
            "evidence.required",
            "items[0].score_text",
        ),
        (
            json!({"course_code": "00015", "learned_course_name": "大学英语", "score_text": "60；65；70"}),
            422,
            "score.separator",
            "items[0].score_text",
        ),
        (
            json!({"course_code": "00015", "learned_course_name": "大学英语", "score_text": "60,65,70"}),
            422,
            "score.separator",
            "items[0].score_text",
        ),
        (
            json!({"course_code": "00015", "learned_course_name": "大学英语", "score_text": "60;65"}),
            422,
            "score.count",
            "items[0].score_text",
        ),
        (
            json!({"course_code": "00015", "learned_course_name": "大学英语", "scores": [60, 65, 170]}),
            422,
            "score.range",
            "items[0].scores",
        ),
        (
            json!({"course_code": "00015", "learned_course_name": "大学英语", "score_text": "60;59;70"}),
            422,
            "score.below_pass_mark",
            "items[0].score_text",
        ),
        (
            json!({"course_code": "00015", "learned_course_name": "大学英语", "scores": [60, 65, 70], "score_text": "60;65;71"}),
            422,
            "score.conflict",
            "items[0].score_text",
        ),
        (
            json!({"course_code": "00018"}),
            422,
            "course.not_certifiable",
            "items[0].course_code",
        ),
        (
            json!({"course_code": "00051"}),
            422,
            "course.not_certifiable",
            "items[0].course_code",
        ),
        (
            json!({"course_code": "3708"}),
            422,
            "course.code_format",
            "items[0].course_code",
        ),
    ];
    for (item, status, code, field) in cases {
        let reply = app
            .post_json_as(&token, BASE, &degree_body(degree, vec![item.clone()]))
            .await;
        let body = reply.assert_problem(status, code);
        assert_eq!(body["errors"][0]["field"], field, "{item}: {body}");
        assert_eq!(body["errors"][0]["code"], code, "{item}");
    }
    // The same course twice is a duplicate (409), named at the second one.
    let reply = app
        .post_json_as(
            &token,
            BASE,
            &degree_body(degree, vec![tick("03708"), tick("03708")]),
        )
        .await;
    let body = reply.assert_problem(409, "course.duplicate");
    assert_eq!(body["errors"][0]["field"], "items[1].course_code");
    // Several different problems: `validation`, each listed; English on request.
    let reply = app
        .send(
            app.client
                .post(app.url(BASE))
                .bearer_auth(&token)
                .header("accept-language", "en")
                .json(&degree_body(
                    degree,
                    vec![english("60；65；70"), tick("00018")],
                )),
        )
        .await;
    let body = reply.assert_problem(422, "validation");
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    assert!(body["errors"][0]["message"].as_str().unwrap().contains(';'));
    assert!(
        body["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be certified by degree")
    );
    // Nothing was stored by any refusal.
    assert_eq!(count(app, "SELECT 1 FROM certification_applications"), 0);
    assert_eq!(count(app, "SELECT 1 FROM history"), history_before);
}

#[tokio::test]
async fn the_degree_route_needs_the_candidates_own_effective_prior_degree() {
    let w = world().await;
    let app = &w.app;
    let (profile, token) = app.candidate(5, Some(SCHOOL), PHARMACY).await;
    let me = profile["id"].as_str().unwrap();
    let (other, _) = app.candidate(6, Some(SCHOOL), PHARMACY).await;
    let submitted = prior_degree(app, me, "submitted", "associate", "药学");
    let rejected = prior_degree(app, me, "rejected", "associate", "药学");
    let someone_elses = prior_degree(
        app,
        other["id"].as_str().unwrap(),
        "effective",
        "associate",
        "药学",
    );
    for degree in [submitted, rejected, someone_elses, Uuid::now_v7()] {
        let reply = app
            .post_json_as(&token, BASE, &degree_body(degree, vec![tick("03708")]))
            .await;
        let body = reply.assert_problem(422, "prior_degree.not_effective");
        assert_eq!(body["errors"][0]["field"], "prior_degree_id");
    }
    let en = app
        .send(
            app.client
                .post(app.url(BASE))
                .bearer_auth(&token)
                .header("accept-language", "en")
                .json(&degree_body(submitted, vec![tick("03708")])),
        )
        .await;
    let body = en.assert_problem(422, "prior_degree.not_effective");
    assert!(body["detail"].as_str().unwrap().contains("effective"));
    // Route fields must match the kind.
    let reply = app
        .post_json_as(&token, BASE, &json!({"kind": "degree", "items": []}))
        .await;
    assert_eq!(
        reply.assert_problem(422, "required")["errors"][0]["field"],
        "prior_degree_id"
    );
    let reply = app
        .post_json_as(&token, BASE, &json!({"kind": "certificate", "items": []}))
        .await;
    assert_eq!(
        reply.assert_problem(422, "required")["errors"][0]["field"],
        "certificate"
    );
}

#[tokio::test]
async fn the_window_decides_create_change_submit_and_withdraw_but_not_review() {
    let w = world().await;
    let app = &w.app;
    let (_, token, degree) = candidate_with_degree(&w, 7, PHARMACY, "bachelor", "药学").await;
    let staff = app.staff_token(&w.admin, "li.laoshi", SCHOOL).await;
    let body = degree_body(
        degree,
        vec![tick("03708"), tick("03709"), english("60;65;70")],
    );
    let created = create(app, &token, &body).await;
    let id = created["id"].as_str().unwrap().to_owned();

    // The window closed a second ago: nothing can be added, changed or submitted (R18).
    let now = Utc::now();
    set_window(
        app,
        w.round,
        now - TimeDelta::days(2),
        now - TimeDelta::seconds(1),
    );
    let explicit = json!({"kind": "degree", "round_id": w.round, "prior_degree_id": degree, "items": [tick("03708")]});
    let reply = app.post_json_as(&token, BASE, &explicit).await;
    reply.assert_problem(422, "window.closed");
    // Without a round id there is no current round at all.
    app.post_json_as(&token, BASE, &body)
        .await
        .assert_problem(422, "window.closed");
    patch(
        app,
        &token,
        &id,
        Some("*"),
        &json!({"items": [tick("03708")]}),
    )
    .await
    .assert_problem(422, "window.closed");
    let reply = action(app, &token, &id, "submit", &json!({})).await;
    let problem = reply.assert_problem(422, "window.closed");
    assert!(problem["detail"].as_str().unwrap().contains("已截止"));
    let check = app
        .get_as(&token, &format!("{BASE}/{id}/check"))
        .await
        .json();
    assert_eq!(check["ready"], false);
    assert_eq!(check["errors"][0]["code"], "window.closed");

    // The last instant is still open: reopen until a minute from now and submit.
    set_window(
        app,
        w.round,
        now - TimeDelta::days(2),
        Utc::now() + TimeDelta::minutes(1),
    );
    let reply = action(app, &token, &id, "submit", &json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Not yet open: closed too (with the opening time in the message).
    set_window(
        app,
        w.round,
        Utc::now() + TimeDelta::hours(1),
        Utc::now() + TimeDelta::days(1),
    );
    let reply = app
        .send(
            app.client
                .post(app.url(&format!("{BASE}/{id}/withdraw")))
                .bearer_auth(&token)
                .header("accept-language", "en"),
        )
        .await;
    let problem = reply.assert_problem(422, "window.closed");
    assert!(problem["detail"].as_str().unwrap().contains("not open yet"));

    // Staff review after the window.
    set_window(
        app,
        w.round,
        now - TimeDelta::days(2),
        now - TimeDelta::seconds(1),
    );
    let review = json!({"items": [
        {"course_code": "03708", "decision": "approved"},
        {"course_code": "03709", "decision": "approved"},
        {"course_code": "00015", "decision": "rejected", "reason": "成绩单缺第三学期"}]});
    let reply = action(app, &staff, &id, "review", &review).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reviewed = reply.json();
    assert_eq!(reviewed["status"], "partially_approved");
    assert_eq!(reviewed["items"][2]["decision"], "rejected");
    assert_eq!(reviewed["items"][2]["live"], false);
    assert_eq!(reviewed["items"][2]["decision_reason"], "成绩单缺第三学期");
}

#[tokio::test]
async fn submit_replays_for_the_same_idempotency_key_and_refuses_a_different_body() {
    let w = world().await;
    let app = &w.app;
    let (_, token) = app.candidate(8, Some(SCHOOL), PHARMACY).await;
    let created = create(app, &token, &certificate_body("ncre2", &["00018", "00019"])).await;
    let id = created["id"].as_str().unwrap();
    let url = app.url(&format!("{BASE}/{id}/submit"));
    let send = |body: Value| {
        app.client
            .post(&url)
            .bearer_auth(&token)
            .header("idempotency-key", "submit-0001")
            .json(&body)
    };
    let first = app.send(send(json!({}))).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = app.send(send(json!({}))).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.json(), first.json());
    let different = app.send(send(json!({"confirm_missing": ["00018"]}))).await;
    different.assert_problem(422, "idempotency.mismatch");
    // Submitted once: one history row, one notification.
    assert_eq!(
        count(
            app,
            &format!("SELECT 1 FROM history WHERE entity_id = '{id}' AND action = 'submit'")
        ),
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT 1 FROM outbox WHERE kind = 'application_status'"
        ),
        1
    );
    // A second submit without the key is a state conflict.
    action(app, &token, id, "submit", &json!({}))
        .await
        .assert_problem(409, "state.conflict");
}

#[tokio::test]
async fn withdraw_return_resubmit_and_review_with_history() {
    let w = world().await;
    let app = &w.app;
    let (_, token) = app.candidate(9, Some(SCHOOL), PHARMACY).await;
    let staff = app.staff_token(&w.admin, "li.laoshi", SCHOOL).await;
    let created = create(app, &token, &certificate_body("ncre1", &["00018"])).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["version"], 1);

    // Without If-Match a change is refused (it could overwrite another's), and
    // nothing changes.
    let blind = patch(app, &token, &id, None, &json!({"items": [tick("00019")]})).await;
    blind.assert_problem(428, "precondition.required");
    let unchanged = app.get_as(&token, &format!("{BASE}/{id}")).await;
    assert_eq!(unchanged.json()["version"], 1);
    assert_eq!(unchanged.json()["item_count"], 1);

    // A stale If-Match is refused; the current one works.
    patch(
        app,
        &token,
        &id,
        Some("\"7\""),
        &json!({"items": [tick("00018"), tick("00019")]}),
    )
    .await
    .assert_problem(412, "version.stale");
    let reply = patch(
        app,
        &token,
        &id,
        Some("\"1\""),
        &json!({"items": [tick("00018"), tick("00019")]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(reply.json()["item_count"], 2);

    // Withdraw only what is submitted.
    action(app, &token, &id, "withdraw", &json!({}))
        .await
        .assert_problem(409, "state.conflict");
    assert_eq!(
        action(app, &token, &id, "submit", &json!({})).await.status,
        200
    );
    patch(
        app,
        &token,
        &id,
        Some("*"),
        &json!({"items": [tick("00018")]}),
    )
    .await
    .assert_problem(409, "state.conflict");
    let withdrawn = action(app, &token, &id, "withdraw", &json!({})).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    let withdrawn = withdrawn.json();
    assert_eq!(withdrawn["status"], "draft");
    assert!(
        withdrawn["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["live"] == false)
    );

    // Submit again; staff return it with a reason; the candidate edits and resubmits.
    assert_eq!(
        action(app, &token, &id, "submit", &json!({})).await.status,
        200
    );
    action(app, &staff, &id, "return", &json!({"reason": " "}))
        .await
        .assert_problem(422, "reason.length");
    let returned = action(
        app,
        &staff,
        &id,
        "return",
        &json!({"reason": "证书编号有误"}),
    )
    .await;
    assert_eq!(returned.status, 200, "{}", returned.text);
    let returned = returned.json();
    assert_eq!(returned["status"], "returned");
    assert_eq!(returned["return_reason"], "证书编号有误");
    let reply = patch(
        app,
        &token,
        &id,
        Some("*"),
        &json!({"certificate": {"kind": "ncre1", "number": "180101010099", "obtained_on": "2017-06-30"}}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["certificate"]["number"], "180101010099");
    assert_eq!(reply.json()["status"], "returned");
    assert_eq!(
        action(app, &token, &id, "submit", &json!({})).await.status,
        200
    );

    // Review: every course once, a reason for a rejection.
    let bad = [
        (
            json!({"items": [{"course_code": "00018", "decision": "approved"}]}),
            "review.incomplete",
        ),
        (
            json!({"items": [{"course_code": "00018", "decision": "approved"},
                          {"course_code": "00019", "decision": "rejected"}]}),
            "review.reason_required",
        ),
        (
            json!({"items": [{"course_code": "00018", "decision": "approved"},
                          {"course_code": "00019", "decision": "approved"},
                          {"course_code": "00051", "decision": "approved"}]}),
            "review.unknown_course",
        ),
    ];
    for (body, code) in bad {
        action(app, &staff, &id, "review", &body)
            .await
            .assert_problem(422, code);
    }
    let reply = action(
        app,
        &staff,
        &id,
        "review",
        &json!({"items": [{"course_code": "00018", "decision": "rejected", "reason": "证书过期"},
                          {"course_code": "00019", "decision": "rejected", "reason": "证书过期"}]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["status"], "rejected");
    action(app, &staff, &id, "review", &json!({"items": []}))
        .await
        .assert_problem(409, "state.conflict");
    action(app, &staff, &id, "return", &json!({"reason": "再看看"}))
        .await
        .assert_problem(409, "state.conflict");

    let history = app.get_as(&token, &format!("{BASE}/{id}/history")).await;
    assert_eq!(history.status, 200, "{}", history.text);
    let steps: Vec<(String, String)> = history
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap().to_owned(),
                h["to_status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("create", "draft"),
        ("update", "draft"),
        ("submit", "submitted"),
        ("withdraw", "draft"),
        ("submit", "submitted"),
        ("return", "returned"),
        ("update", "returned"),
        ("submit", "submitted"),
        ("review", "rejected"),
    ];
    assert_eq!(
        steps,
        expected
            .iter()
            .map(|(a, s)| (a.to_string(), s.to_string()))
            .collect::<Vec<_>>()
    );
    let history = app
        .get_as(&staff, &format!("{BASE}/{id}/history"))
        .await
        .json();
    assert_eq!(history[5]["note"], "证书编号有误");
    assert_eq!(history[5]["actor_role"], "staff");
    // Rejected courses are free again.
    let again = create(app, &token, &certificate_body("ncre2", &["00018", "00019"])).await;
    let again_id = again["id"].as_str().unwrap();
    assert_eq!(
        action(app, &token, again_id, "submit", &json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn only_the_owner_staff_of_the_school_and_admins_see_an_application() {
    let w = world().await;
    let app = &w.app;
    let (_, owner) = app.candidate(10, Some(SCHOOL), PHARMACY).await;
    let (_, other) = app.candidate(11, Some(SCHOOL), PHARMACY).await;
    let staff = app.staff_token(&w.admin, "li.laoshi", SCHOOL).await;
    let foreign_staff = app.staff_token(&w.admin, "wang.laoshi", OTHER_SCHOOL).await;
    let created = create(app, &owner, &certificate_body("ncre1", &["00018", "00019"])).await;
    let id = created["id"].as_str().unwrap().to_owned();

    for (token, expected) in [
        (&owner, 200),
        (&staff, 200),
        (&w.admin, 200),
        (&other, 404),
        (&foreign_staff, 404),
    ] {
        for path in [
            format!("{BASE}/{id}"),
            format!("{BASE}/{id}/check"),
            format!("{BASE}/{id}/history"),
        ] {
            let reply = app.get_as(token, &path).await;
            assert_eq!(reply.status, expected, "{path}: {}", reply.text);
        }
    }
    app.get(&format!("{BASE}/{id}"))
        .await
        .assert_problem(401, "auth.required");
    app.get_as(&owner, &format!("{BASE}/{}", Uuid::now_v7()))
        .await
        .assert_problem(404, "not_found");
    // Another candidate cannot act on it; staff may not edit or submit for the owner.
    patch(app, &other, &id, Some("*"), &json!({"items": []}))
        .await
        .assert_problem(404, "not_found");
    action(app, &other, &id, "submit", &json!({}))
        .await
        .assert_problem(404, "not_found");
    patch(app, &staff, &id, Some("*"), &json!({"items": []}))
        .await
        .assert_problem(403, "forbidden");
    action(app, &staff, &id, "submit", &json!({}))
        .await
        .assert_problem(403, "forbidden");
    action(app, &owner, &id, "review", &json!({"items": []}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        action(app, &owner, &id, "submit", &json!({})).await.status,
        200
    );
    action(app, &foreign_staff, &id, "return", &json!({"reason": "x"}))
        .await
        .assert_problem(404, "not_found");
    action(app, &other, &id, "withdraw", &json!({}))
        .await
        .assert_problem(404, "not_found");

    // Lists: own, school's, all; with filters.
    let total = |token: &String, query: &str| {
        let app = &w.app;
        let token = token.clone();
        let query = query.to_owned();
        async move {
            let reply = app.get_as(&token, &format!("{BASE}{query}")).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.json()["total"].as_i64().unwrap()
        }
    };
    create(app, &other, &certificate_body("ncre2", &["00018"])).await;
    assert_eq!(total(&owner, "").await, 1);
    assert_eq!(total(&other, "").await, 1);
    assert_eq!(total(&staff, "").await, 2);
    assert_eq!(total(&foreign_staff, "").await, 0);
    assert_eq!(total(&w.admin, "").await, 2);
    assert_eq!(total(&staff, "?status=submitted").await, 1);
    assert_eq!(
        total(
            &staff,
            &format!("?round_id={}&major_code={PHARMACY}", w.round)
        )
        .await,
        2
    );
    assert_eq!(
        total(&w.admin, &format!("?school_code={OTHER_SCHOOL}")).await,
        0
    );
    assert_eq!(total(&w.admin, "?q=0101182000").await, 2);
    assert_eq!(total(&w.admin, "?q=nobody").await, 0);
    let page = app
        .get_as(&w.admin, &format!("{BASE}?per_page=1&page=2"))
        .await
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["items"][0]["course_code"], "00018");
    app.get_as(&w.admin, &format!("{BASE}?status=lost"))
        .await
        .assert_problem(422, "enum");
    // Progress is a candidate's own.
    app.get_as(&staff, "/api/v1/me/progress")
        .await
        .assert_problem(403, "forbidden");
}

/// Fires `n` submits of each application at once; returns their statuses.
async fn submit_all_at_once(app: &TestApp, token: &str, ids: &[String], n: usize) -> Vec<u16> {
    let mut handles = Vec::new();
    for id in ids {
        for _ in 0..n {
            let client = app.client.clone();
            let url = app.url(&format!("{BASE}/{id}/submit"));
            let token = token.to_owned();
            handles.push(tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn concurrent_submits_of_one_application_succeed_exactly_once() {
    let w = world().await;
    let app = &w.app;
    let (_, token) = app.candidate(12, Some(SCHOOL), PHARMACY).await;
    let created = create(app, &token, &certificate_body("ncre1", &["00018", "00019"])).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let statuses = submit_all_at_once(app, &token, std::slice::from_ref(&id), 8).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(
        count(app, "SELECT 1 FROM history WHERE action = 'submit'"),
        1
    );
    assert_eq!(count(app, "SELECT 1 FROM outbox"), 1);
    assert_eq!(count(app, "SELECT 1 FROM application_items WHERE live"), 2);
    let row = &app.query_json("SELECT status, version FROM certification_applications")[0];
    assert_eq!(row["status"], "submitted");
    assert_eq!(row["version"], 2);
}

#[tokio::test]
async fn concurrent_submits_of_two_applications_sharing_a_course_leave_one_holder() {
    let w = world().await;
    let app = &w.app;
    let (candidate, token) = app.candidate(13, Some(SCHOOL), PHARMACY).await;
    let candidate = candidate["id"].as_str().unwrap().to_owned();
    for round in 0..5 {
        let a = create(app, &token, &certificate_body("ncre1", &["00018", "00019"])).await;
        let b = create(app, &token, &certificate_body("ncre2", &["00019", "00018"])).await;
        let ids = [
            a["id"].as_str().unwrap().to_owned(),
            b["id"].as_str().unwrap().to_owned(),
        ];
        let statuses = submit_all_at_once(app, &token, &ids, 3).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "{statuses:?}"
        );
        // Exactly one application holds both courses; the other is an untouched draft.
        let rows = app.query_json(&format!(
            "SELECT a.status, a.version, count(*) FILTER (WHERE i.live) AS live
             FROM certification_applications a JOIN application_items i ON i.application_id = a.id
             WHERE a.id IN ('{}', '{}') GROUP BY a.id, a.status, a.version ORDER BY a.status",
            ids[0], ids[1]
        ));
        assert_eq!(rows[0]["status"], "draft", "{rows:?}");
        assert_eq!(rows[0]["version"], 1);
        assert_eq!(rows[0]["live"], 0);
        assert_eq!(rows[1]["status"], "submitted");
        assert_eq!(rows[1]["live"], 2);
        assert_eq!(
            count(
                app,
                &format!(
                    "SELECT 1 FROM application_items WHERE live AND candidate_id = '{candidate}'"
                )
            ),
            2
        );
        // The loser can still see why: the check names the duplicates.
        let loser = ids
            .iter()
            .find(|id| {
                app.query_json(&format!(
                    "SELECT status FROM certification_applications WHERE id = '{id}'"
                ))[0]["status"]
                    == "draft"
            })
            .unwrap();
        let check = app
            .get_as(&token, &format!("{BASE}/{loser}/check"))
            .await
            .json();
        assert_eq!(check["errors"][0]["code"], "course.duplicate", "{check}");
        action(app, &token, loser, "submit", &json!({}))
            .await
            .assert_problem(409, "course.duplicate");
        // Free the courses for the next round.
        let winner = ids.iter().find(|id| *id != loser).unwrap();
        assert_eq!(
            action(app, &token, winner, "withdraw", &json!({}))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        count(app, "SELECT 1 FROM history WHERE action = 'submit'"),
        5
    );
}

#[tokio::test]
async fn an_application_keeps_the_rules_of_its_rounds_catalogue_version() {
    let w = world().await;
    let app = &w.app;
    let (_, token, degree) = candidate_with_degree(&w, 14, PHARMACY, "bachelor", "药学").await;
    // A newer catalogue raises English II's pass mark to 65; the open round stays
    // pinned to the version it was created with (60), so 60;65;70 still passes.
    let newer = api::use_cases::catalogue::SAMPLE_CATALOG.replacen(
        r#""score_terms": 3, "pass_mark": 60"#,
        r#""score_terms": 3, "pass_mark": 65"#,
        1,
    );
    assert_ne!(newer, api::use_cases::catalogue::SAMPLE_CATALOG);
    app.import_catalog(&newer).await;
    let created = create(
        app,
        &token,
        &degree_body(
            degree,
            vec![tick("03708"), tick("03709"), english("60;65;70")],
        ),
    )
    .await;
    let pinned = app.query_json(&format!(
        "SELECT catalog_version_id AS v FROM rounds WHERE id = '{}'",
        w.round
    ))[0]["v"]
        .clone();
    assert_eq!(created["catalog_version_id"], pinned);
    assert_ne!(
        app.state.catalog.current().unwrap().id,
        pinned.as_i64().unwrap()
    );
    let id = created["id"].as_str().unwrap();
    let reply = action(app, &token, id, "submit", &json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn the_signed_decision_names_courses_as_the_rounds_catalogue_version_does() {
    let w = world().await;
    let app = &w.app;
    let (_, token, degree) = candidate_with_degree(&w, 15, PHARMACY, "bachelor", "药学").await;
    let created = create(app, &token, &degree_body(degree, vec![tick("03708")])).await;
    let id = created["id"].as_str().unwrap();
    // The courses not selected are confirmed as missing (R9), as the check lists them.
    let check = app
        .get_as(&token, &format!("{BASE}/{id}/check"))
        .await
        .json();
    let confirm: Vec<Value> = check["missing_courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["course_code"].clone())
        .collect();
    let reply = action(
        app,
        &token,
        id,
        "submit",
        &json!({"confirm_missing": confirm}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reviewed = action(
        app,
        &w.admin,
        id,
        "review",
        &json!({"items": [{"course_code": "03708", "decision": "approved"}]}),
    )
    .await;
    assert_eq!(reviewed.status, 200, "{}", reviewed.text);
    // A newer catalogue renames the course; the decision keeps the round's name.
    let renamed =
        api::use_cases::catalogue::SAMPLE_CATALOG.replacen("中国近代史纲要", "中国近现代史纲要", 1);
    assert_ne!(renamed, api::use_cases::catalogue::SAMPLE_CATALOG);
    app.import_catalog(&renamed).await;
    let decision = app
        .get_as(&token, &format!("{BASE}/{id}/decision"))
        .await
        .json();
    assert_eq!(decision["claims"]["courses"][0]["course_code"], "03708");
    assert_eq!(
        decision["claims"]["courses"][0]["course_name"], "中国近代史纲要",
        "{decision}"
    );
}

#[tokio::test]
async fn an_empty_draft_cannot_be_submitted_and_the_submit_body_is_optional() {
    let w = world().await;
    let app = &w.app;
    let (_, token) = app.candidate(15, Some(SCHOOL), PHARMACY).await;
    let created = create(
        app,
        &token,
        &json!({"kind": "certificate",
            "certificate": {"kind": "ncre1", "number": "1801", "obtained_on": "2017-06-30"}}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["item_count"], 0);
    let check = app
        .get_as(&token, &format!("{BASE}/{id}/check"))
        .await
        .json();
    assert_eq!(check["ready"], false);
    assert_eq!(check["errors"][0]["field"], "items");
    let url = app.url(&format!("{BASE}/{id}/submit"));
    let reply = app.send(app.client.post(&url).bearer_auth(&token)).await;
    assert_eq!(
        reply.assert_problem(422, "required")["errors"][0]["field"],
        "items"
    );
    let reply = patch(
        app,
        &token,
        id,
        Some("*"),
        &json!({"items": [tick("00018"), tick("00019")]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = app.send(app.client.post(&url).bearer_auth(&token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // A certificate from the future is refused.
    let reply = app
        .post_json_as(
            &token,
            BASE,
            &json!({"kind": "certificate",
                "certificate": {"kind": "ncre2", "number": "1801", "obtained_on": "2999-01-01"}}),
        )
        .await;
    assert_eq!(
        reply.assert_problem(422, "certificate.obtained_on")["errors"][0]["field"],
        "certificate.obtained_on"
    );
}

/// Makes the next `times` inserts of an application fail as a transaction that
/// lost a serialization race does (SQLSTATE 40001); the sequence, which no
/// rollback resets, counts the attempts.
fn abort_inserts(app: &TestApp, times: i64) {
    app.sql(&format!(
        "CREATE SEQUENCE aborts;
         CREATE FUNCTION abort_insert() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN
                IF nextval('aborts') <= {times} THEN
                  RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
                END IF;
                RETURN NEW;
              END $$;
         CREATE TRIGGER abort_insert BEFORE INSERT ON certification_applications
           FOR EACH ROW EXECUTE FUNCTION abort_insert();"
    ));
}

#[tokio::test]
async fn a_create_under_an_idempotency_key_that_loses_a_race_is_run_again_and_remembered() {
    let w = world().await;
    let (_, token) = w.app.candidate(1, Some(SCHOOL), "100701").await;
    abort_inserts(&w.app, 2);
    let send = || {
        w.app.send(
            w.app
                .client
                .post(w.app.url(BASE))
                .bearer_auth(&token)
                .header("idempotency-key", "create-race")
                .json(&certificate_body("ncre1", &["00019"])),
        )
    };
    let first = send().await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = send().await;
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.json()["id"], first.json()["id"]);
    let counts = w.app.query_json(
        "SELECT (SELECT count(*) FROM certification_applications) AS apps,
                (SELECT last_value FROM aborts) AS attempts,
                (SELECT count(*) FROM idempotency_keys WHERE status = 201) AS keys",
    );
    assert_eq!(counts[0]["apps"], 1);
    assert_eq!(
        counts[0]["attempts"], 3,
        "two aborted attempts, then the one that wrote"
    );
    assert_eq!(counts[0]["keys"], 1);
}

#[tokio::test]
async fn a_create_that_keeps_losing_races_is_503_with_retry_after_and_writes_nothing() {
    let w = world().await;
    let (_, token) = w.app.candidate(1, Some(SCHOOL), "100701").await;
    abort_inserts(&w.app, 1000);
    let reply = w
        .app
        .send(
            w.app
                .client
                .post(w.app.url(BASE))
                .bearer_auth(&token)
                .header("idempotency-key", "create-lost")
                .json(&certificate_body("ncre1", &["00019"])),
        )
        .await;
    reply.assert_problem(503, "service.unavailable");
    assert_eq!(reply.header("retry-after").as_deref(), Some("1"));
    let counts = w.app.query_json(
        "SELECT (SELECT count(*) FROM certification_applications) AS apps,
                (SELECT count(*) FROM idempotency_keys) AS keys",
    );
    assert_eq!(counts[0]["apps"], 0);
    assert_eq!(counts[0]["keys"], 0, "the key is free for the retry");
}
