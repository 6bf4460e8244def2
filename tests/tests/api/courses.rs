use tests::{TestApp, spawn_app};

/// Three courses, imported through the catalogue import (as an admin would).
async fn seed_courses(app: &TestApp) {
    app.import_catalog(
        r#"{"label": "test catalogue",
            "courses": [
              {"code": "03708", "name": "中国近代史纲要", "credits": 2},
              {"code": "00019", "name": "计算机基础实践", "credits": 2, "practical": true, "exam_channel": "school_office"},
              {"code": "00018", "name": "计算机基础", "credits": 2}
            ],
            "majors": [{"code": "100701", "name": "药学", "level": "bachelor", "plan": ["03708", "00018", "00019"]}]}"#,
    )
    .await;
}

#[tokio::test]
async fn courses_are_listed_by_code_with_their_exam_channel() {
    let app = spawn_app().await;
    seed_courses(&app).await;
    let reply = app.get("/api/v1/courses").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["page"], 1);
    assert_eq!(body["per_page"], 50);
    let codes: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["00018", "00019", "03708"]);
    assert_eq!(body["items"][1]["exam_channel"], "school_office");
    assert_eq!(body["items"][1]["practical"], true);
}

#[tokio::test]
async fn course_list_is_paginated() {
    let app = spawn_app().await;
    seed_courses(&app).await;
    let body = app.get("/api/v1/courses?page=2&per_page=2").await.json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["code"], "03708");
}

#[tokio::test]
async fn out_of_range_pagination_is_422_naming_the_field() {
    let app = spawn_app().await;
    for (query, field) in [
        ("per_page=201", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=x", "page"),
    ] {
        let reply = app
            .get_lang(&format!("/api/v1/courses?{query}"), "en")
            .await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.text);
        let body = reply.json();
        assert_eq!(body["errors"][0]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn a_course_is_found_by_its_code() {
    let app = spawn_app().await;
    seed_courses(&app).await;
    let reply = app.get("/api/v1/courses/03708").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["name"], "中国近代史纲要");
    assert_eq!(body["exam_channel"], "platform");
}

#[tokio::test]
async fn an_unknown_course_code_is_404() {
    let app = spawn_app().await;
    seed_courses(&app).await;
    let body = app
        .get("/api/v1/courses/99999")
        .await
        .assert_problem(404, "not_found");
    assert!(body["detail"].as_str().unwrap().contains("99999"));
}

#[tokio::test]
async fn a_malformed_course_code_is_422_in_chinese_and_english() {
    let app = spawn_app().await;
    let zh = app
        .get("/api/v1/courses/3708")
        .await
        .assert_problem(422, "course.code_format");
    assert_eq!(zh["errors"][0]["field"], "code");
    assert!(
        zh["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("课程代码")
    );
    let en = app
        .get_lang("/api/v1/courses/abcde", "en-GB,en;q=0.9")
        .await
        .assert_problem(422, "course.code_format");
    assert!(
        en["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("5 digits")
    );
}

#[tokio::test]
async fn an_empty_catalogue_lists_no_courses() {
    let app = spawn_app().await;
    let body = app.get("/api/v1/courses").await.json();
    assert_eq!(body["total"], 0);
    assert_eq!(body["items"], serde_json::json!([]));
}
