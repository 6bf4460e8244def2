//! The notification outbox for integration scripts (issue 7).

use serde_json::{Value, json};
use tests::{TestApp, exam_number, spawn_app_with_sample};

const MAJOR: &str = "100701";

/// A service account with `scopes`; returns its access token.
async fn service_token(app: &TestApp, admin: &str, username: &str, scopes: &[&str]) -> String {
    let created = app
        .post_json_as(
            admin,
            "/api/v1/admin/service-accounts",
            &json!({"username": username, "name": "短信网关", "scopes": scopes}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    app.login(username, created.json()["secret"].as_str().unwrap())
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asks for a password reset of candidate `n` (one outbox row each).
async fn reset(app: &TestApp, n: u32) {
    let reply = app
        .post_json(
            "/api/v1/auth/password-resets",
            &json!({"login": exam_number(n)}),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text);
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_outbox_pages_by_cursor_and_forgets_acknowledged_rows() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let gateway = service_token(&app, &admin, "sms-gateway", &["outbox:read"]).await;
    let (profile, _) = app.candidate(1, None, MAJOR).await;
    app.candidate(2, None, MAJOR).await;
    for n in [1, 2, 1] {
        reset(&app, n).await;
    }

    let first = app
        .get_as(&gateway, "/api/v1/integration/outbox?limit=2")
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("cache-control").as_deref(), Some("no-store"));
    let first = first.json();
    let page1 = ids(&first);
    assert_eq!(page1.len(), 2);
    assert!(page1[0] < page1[1]);
    assert_eq!(first["next_cursor"], page1[1]);
    let item = &first["items"][0];
    assert_eq!(item["kind"], "password_reset");
    assert_eq!(
        item["recipient"],
        json!({"account_id": profile["id"], "name": "张三", "phone": "13800138000", "exam_number": exam_number(1)})
    );
    assert!(item["payload"]["token"].as_str().unwrap().len() >= 40);
    assert!(item["created_at"].is_string());

    let second = app
        .get_as(
            &gateway,
            &format!("/api/v1/integration/outbox?after={}&limit=2", page1[1]),
        )
        .await
        .json();
    let page2 = ids(&second);
    assert_eq!(page2.len(), 1);
    assert!(page2[0] > page1[1]);
    let end = app
        .get_as(
            &gateway,
            &format!("/api/v1/integration/outbox?after={}", page2[0]),
        )
        .await
        .json();
    assert_eq!(end["items"], json!([]));
    assert_eq!(end["next_cursor"], page2[0]);

    // At least once: nothing acknowledged yet, so a new pass sees all three.
    let again = app
        .get_as(&gateway, "/api/v1/integration/outbox")
        .await
        .json();
    assert_eq!(ids(&again), [page1.clone(), page2.clone()].concat());

    // Acknowledged rows are not returned again; acking twice is fine.
    for _ in 0..2 {
        let ack = app
            .post_json_as(
                &gateway,
                &format!("/api/v1/integration/outbox/{}/ack", page1[0]),
                &json!(null),
            )
            .await;
        assert_eq!(ack.status, 204, "{}", ack.text);
    }
    let after_ack = app
        .get_as(&gateway, "/api/v1/integration/outbox")
        .await
        .json();
    assert_eq!(ids(&after_ack), vec![page1[1], page2[0]]);
    let acked = app.query_json(&format!(
        "SELECT acked_at IS NOT NULL AS acked FROM outbox WHERE id = {}",
        page1[0]
    ));
    assert_eq!(acked, vec![json!({"acked": true})]);

    app.post_json_as(
        &gateway,
        "/api/v1/integration/outbox/999999/ack",
        &json!(null),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_json_as(&gateway, "/api/v1/integration/outbox/abc/ack", &json!(null))
        .await
        .assert_problem(422, "id.format");
}

#[tokio::test]
async fn outbox_query_bounds_are_checked() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let gateway = service_token(&app, &admin, "sms-gateway", &["outbox:read"]).await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("after=-1", "after"),
        ("after=x", "after"),
        ("cursor=1", "cursor"),
    ] {
        let reply = app
            .get_as(&gateway, &format!("/api/v1/integration/outbox?{query}"))
            .await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.text);
        assert_eq!(reply.json()["errors"][0]["field"], field, "{query}");
    }
    let max = app
        .get_as(&gateway, "/api/v1/integration/outbox?limit=500&after=0")
        .await;
    assert_eq!(max.status, 200, "{}", max.text);
}

#[tokio::test]
async fn authorization_matrix_of_the_outbox() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    let staff = app.staff_token(&admin, "li.laoshi", "HBU01").await;
    let (_, candidate) = app.candidate(1, Some("HBU01"), MAJOR).await;
    reset(&app, 1).await;
    let without_scope = service_token(
        &app,
        &admin,
        "chsi-sync",
        &["verification:write", "applications:read"],
    )
    .await;
    let gateway = service_token(&app, &admin, "sms-gateway", &["outbox:read"]).await;
    let id = app.query_json("SELECT id FROM outbox")[0]["id"]
        .as_i64()
        .unwrap();
    let ack = format!("/api/v1/integration/outbox/{id}/ack");
    // anonymous, candidate, staff, admin, integration without the scope, with it
    let callers: [Option<&str>; 6] = [
        None,
        Some(&candidate),
        Some(&staff),
        Some(&admin),
        Some(&without_scope),
        Some(&gateway),
    ];
    for (method, path, expected) in [
        (
            "GET",
            "/api/v1/integration/outbox",
            [401, 403, 403, 403, 403, 200],
        ),
        ("POST", ack.as_str(), [401, 403, 403, 403, 403, 204]),
    ] {
        for (caller, want) in callers.iter().zip(expected) {
            let mut request = match method {
                "GET" => app.client.get(app.url(path)),
                _ => app.client.post(app.url(path)),
            };
            if let Some(token) = caller {
                request = request.bearer_auth(token);
            }
            let reply = app.send(request).await;
            assert_eq!(reply.status, want, "{method} {path}: {}", reply.text);
        }
    }
}
