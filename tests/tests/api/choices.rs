//! Choice fields (issue 10): every enum in a body or query accepts only its strings.
//! Another JSON type is 400 `json.type` naming the field path; an unknown string is
//! 422 `enum` naming the field and listing the allowed values; the tagged object
//! form `{"degree": null}` is a type error, never the value.

use serde_json::{Value, json};
use tests::{TestApp, spawn_app_with_sample};
use uuid::Uuid;

const SCHOOL: &str = "HBU01";
const APPS: &str = "/api/v1/certification-applications";

struct World {
    app: TestApp,
    candidate: String,
    staff: String,
}

async fn world() -> World {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, SCHOOL).await;
    let staff = app.staff_token(&admin, "teacher1", SCHOOL).await;
    let (_, candidate) = app.candidate(1, Some(SCHOOL), "100701").await;
    World {
        app,
        candidate,
        staff,
    }
}

/// Values of every other JSON type than a string.
fn wrong_types() -> Vec<Value> {
    vec![
        json!(1),
        json!(true),
        json!([]),
        json!(["degree"]),
        json!({"degree": null}),
        json!({"approved": null}),
        Value::Null,
    ]
}

fn assert_type_error(reply: &tests::Reply, field: &str, what: &Value) {
    let body = reply.assert_problem(400, "json.type");
    assert_eq!(body["errors"][0]["field"], field, "{what}: {body}");
    assert_eq!(body["errors"][0]["code"], "json.type", "{what}: {body}");
}

fn assert_enum_error(reply: &tests::Reply, code: &str, field: &str, allowed: &[&str]) {
    let body = reply.assert_problem(422, code);
    let problem = &body["errors"][0];
    assert_eq!(problem["field"], field, "{body}");
    assert_eq!(problem["code"], code, "{body}");
    let text = body.to_string();
    for value in allowed {
        assert!(text.contains(value), "{value} not listed in {body}");
    }
}

fn certificate_body(kind: Value, certificate_kind: Value) -> Value {
    json!({
        "kind": kind,
        "certificate": {"kind": certificate_kind, "number": "151234567890", "obtained_on": "2017-03-01"},
        "items": [{"course_code": "00018"}]
    })
}

#[tokio::test]
async fn an_application_kind_of_another_json_type_is_a_type_error_naming_kind() {
    let w = world().await;
    for value in wrong_types() {
        let body = certificate_body(value.clone(), json!("ncre1"));
        let reply = w.app.post_json_as(&w.candidate, APPS, &body).await;
        assert_type_error(&reply, "kind", &value);
    }
    let count = w
        .app
        .query_json("SELECT count(*) AS n FROM certification_applications");
    assert_eq!(count[0]["n"], 0, "nothing was created");
}

#[tokio::test]
async fn an_unknown_application_kind_is_422_enum_listing_the_values() {
    let w = world().await;
    let reply = w
        .app
        .post_json_as(
            &w.candidate,
            APPS,
            &certificate_body(json!("diploma"), json!("ncre1")),
        )
        .await;
    assert_enum_error(&reply, "enum", "kind", &["degree", "certificate"]);
}

#[tokio::test]
async fn a_certificate_kind_takes_only_its_strings() {
    let w = world().await;
    for value in [json!(4), json!({"ncre1": null}), json!(["ncre1"])] {
        let body = certificate_body(json!("certificate"), value.clone());
        let reply = w.app.post_json_as(&w.candidate, APPS, &body).await;
        assert_type_error(&reply, "certificate.kind", &value);
    }
    let body = certificate_body(json!("certificate"), json!("toefl"));
    let reply = w.app.post_json_as(&w.candidate, APPS, &body).await;
    assert_enum_error(
        &reply,
        "enum",
        "certificate.kind",
        &["ncre1", "ncre2", "cet4", "cet6"],
    );
}

#[tokio::test]
async fn a_review_decision_takes_only_its_strings_with_the_item_path() {
    let w = world().await;
    let path = format!("{APPS}/{}/review", Uuid::now_v7());
    for value in wrong_types() {
        let body = json!({"items": [{"course_code": "00018", "decision": value.clone()}]});
        let reply = w.app.post_json_as(&w.staff, &path, &body).await;
        assert_type_error(&reply, "items[0].decision", &value);
    }
    let body = json!({"items": [{"course_code": "00018", "decision": "maybe"}]});
    let reply = w.app.post_json_as(&w.staff, &path, &body).await;
    assert_enum_error(
        &reply,
        "enum",
        "items[0].decision",
        &["approved", "rejected"],
    );
}

#[tokio::test]
async fn prior_degree_level_and_education_type_take_only_their_strings() {
    let w = world().await;
    let base = json!({
        "pledge_version": "v1", "pledge_accepted": true,
        "certificate_number": "104871201605000123", "school_name": "湖北大学",
        "major_name": "药学", "level": "bachelor", "education_type": "regular",
        "graduation_date": "2016-07-01"
    });
    // An unknown string keeps its own code (`degree_level.unknown`,
    // `education_type.unknown`), naming the field and the allowed values.
    for (field, code, allowed) in [
        (
            "level",
            "degree_level.unknown",
            &["associate", "bachelor"][..],
        ),
        (
            "education_type",
            "education_type.unknown",
            &["regular", "adult", "self_study", "online"][..],
        ),
    ] {
        for value in [json!(5), json!({"bachelor": null}), json!(false)] {
            let mut body = base.clone();
            body[field] = value.clone();
            let reply = w
                .app
                .post_json_as(&w.candidate, "/api/v1/prior-degrees", &body)
                .await;
            assert_type_error(&reply, field, &value);
        }
        let mut body = base.clone();
        body[field] = json!("doctorate");
        let reply = w
            .app
            .post_json_as(&w.candidate, "/api/v1/prior-degrees", &body)
            .await;
        assert_enum_error(&reply, code, field, allowed);
    }
}

#[tokio::test]
async fn a_verification_result_takes_only_its_strings() {
    let w = world().await;
    let path = format!("/api/v1/prior-degrees/{}/verification", Uuid::now_v7());
    for value in [json!(1), json!({"effective": null})] {
        let reply = w
            .app
            .post_json_as(
                &w.staff,
                &path,
                &json!({"result": value.clone(), "feedback": "ok"}),
            )
            .await;
        assert_type_error(&reply, "result", &value);
    }
}
