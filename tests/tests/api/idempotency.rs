//! `Idempotency-Key` on POSTs.

use serde_json::json;
use tests::{PASSWORD, exam_number, id_number, spawn_app_with_sample};

fn registration(n: u32) -> serde_json::Value {
    json!({
        "exam_number": exam_number(n), "id_number": id_number("19990101", n), "name": "张三",
        "phone": "13800138000", "password": PASSWORD, "major_code": "100701",
    })
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_gets_the_first_answer_again() {
    let app = spawn_app_with_sample().await;
    let send = |body: serde_json::Value| {
        app.client
            .post(app.url("/api/v1/auth/register"))
            .header("idempotency-key", "reg-0001")
            .json(&body)
    };
    let first = app.send(send(registration(1))).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.header("idempotent-replayed").is_none());
    let again = app.send(send(registration(1))).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.json(), first.json());
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(
        app.query_json("SELECT count(*) AS n FROM accounts")[0]["n"],
        1
    );

    let different = app.send(send(registration(2))).await;
    let body = different.assert_problem(422, "idempotency.mismatch");
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key");
}

#[tokio::test]
async fn a_refusal_is_not_remembered_so_the_corrected_request_can_use_the_same_key() {
    let app = spawn_app_with_sample().await;
    let mut bad = registration(3);
    bad["phone"] = json!("123");
    let send = |body: &serde_json::Value| {
        app.client
            .post(app.url("/api/v1/auth/register"))
            .header("idempotency-key", "reg-0002")
            .json(body)
    };
    app.send(send(&bad))
        .await
        .assert_problem(422, "phone.format");
    let fixed = app.send(send(&registration(3))).await;
    assert_eq!(fixed.status, 201, "{}", fixed.text);
}

#[tokio::test]
async fn answers_carrying_secrets_are_never_stored() {
    let app = spawn_app_with_sample().await;
    assert_eq!(
        app.post_json("/api/v1/auth/register", &registration(4))
            .await
            .status,
        201
    );
    let login = || {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("idempotency-key", "login-1")
            .json(&json!({"login": exam_number(4), "password": PASSWORD}))
    };
    let a = app.send(login()).await.json();
    let b = app.send(login()).await.json();
    assert_ne!(a["refresh_token"], b["refresh_token"]);
    assert_eq!(
        app.query_json("SELECT count(*) AS n FROM idempotency_keys")[0]["n"],
        0
    );
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let school = |code: &str| json!({"code": code, "name": "学院"});
    let first = app
        .send(
            app.client
                .post(app.url("/api/v1/admin/schools"))
                .bearer_auth(&admin)
                .header("idempotency-key", "k1")
                .json(&school("S1")),
        )
        .await;
    assert_eq!(first.status, 201);
    // The same key anonymously is another caller's key: no replay, the request runs (and is refused).
    let anonymous = app
        .send(
            app.client
                .post(app.url("/api/v1/admin/schools"))
                .header("idempotency-key", "k1")
                .json(&school("S1")),
        )
        .await;
    anonymous.assert_problem(401, "auth.required");
}

#[tokio::test]
async fn a_malformed_key_is_422() {
    let app = spawn_app_with_sample().await;
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/register"))
                .header("idempotency-key", "x".repeat(201))
                .json(&registration(5)),
        )
        .await;
    reply.assert_problem(422, "idempotency.key_format");
}

#[tokio::test]
async fn an_unauthenticated_call_of_a_secured_operation_is_401_whatever_its_key() {
    let app = spawn_app_with_sample().await;
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/admin/schools"))
                .header("idempotency-key", "x".repeat(300))
                .json(&json!({"code": "S1", "name": "学院"})),
        )
        .await;
    reply.assert_problem(401, "auth.required");
}

#[tokio::test]
async fn concurrent_duplicates_act_once_and_all_get_the_first_answer() {
    let app = spawn_app_with_sample().await;
    let send = || {
        app.send(
            app.client
                .post(app.url("/api/v1/auth/register"))
                .header("idempotency-key", "reg-race")
                .json(&registration(7)),
        )
    };
    let (a, b, c, d, e, f) = tokio::join!(send(), send(), send(), send(), send(), send());
    let replies = [a, b, c, d, e, f];
    let first = replies
        .iter()
        .find(|r| r.header("idempotent-replayed").is_none())
        .expect("one request acted");
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(
            reply.json(),
            first.json(),
            "every duplicate gets the first answer"
        );
    }
    let acted = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(acted, 1, "exactly one request acted, the others replayed");
    assert_eq!(
        app.query_json("SELECT count(*) AS n FROM accounts")[0]["n"],
        1
    );
}

#[tokio::test]
async fn a_refused_sign_in_still_counts_when_it_carries_a_key() {
    // A failure counts in a transaction of its own: a key must not be a way
    // around the sign-in limits.
    let app = spawn_app_with_sample().await;
    app.post_json("/api/v1/auth/register", &registration(8))
        .await;
    for i in 0..5 {
        let reply = app
            .send(
                app.client
                    .post(app.url("/api/v1/auth/login"))
                    .header("idempotency-key", format!("login-{i}"))
                    .json(&json!({"login": exam_number(8), "password": "wrong-password-1"})),
            )
            .await;
        reply.assert_problem(401, "auth.invalid_credentials");
    }
    let locked = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .header("idempotency-key", "login-5")
                .json(&json!({"login": exam_number(8), "password": PASSWORD})),
        )
        .await;
    locked.assert_problem(429, "auth.throttled");
}

#[tokio::test]
async fn a_key_left_without_an_answer_does_not_block_its_retry() {
    // A row without an answer can only be a leftover of a request that never
    // finished (a crash of an earlier version): the retry acts.
    let app = spawn_app_with_sample().await;
    app.sql(
        "INSERT INTO idempotency_keys (caller, key, fingerprint) VALUES ('anonymous', 'reg-left', sha256('left'))",
    );
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/register"))
                .header("idempotency-key", "reg-left")
                .json(&registration(9)),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(
        app.query_json("SELECT count(*) AS n FROM idempotency_keys WHERE status = 201")[0]["n"],
        1
    );
}

#[tokio::test]
async fn a_refusal_by_the_database_is_answered_as_without_a_key() {
    // A unique violation aborts what the change wrote; the answer is the usual
    // 409, and the key is free again.
    let app = spawn_app_with_sample().await;
    let register = |key: &'static str| {
        app.send(
            app.client
                .post(app.url("/api/v1/auth/register"))
                .header("idempotency-key", key)
                .json(&registration(11)),
        )
    };
    assert_eq!(register("reg-a").await.status, 201);
    register("reg-b")
        .await
        .assert_problem(409, "account.exists");
    register("reg-b")
        .await
        .assert_problem(409, "account.exists");
    assert_eq!(
        app.query_json("SELECT count(*) AS n FROM idempotency_keys")[0]["n"],
        1
    );
}
