//! Accounts, sign-in, tokens and passwords (issue 3; R1, R2, R19).

use serde_json::{Value, json};
use tests::{
    PASSWORD, TestApp, exam_number, id_number, spawn_app_behind_proxy, spawn_app_with_sample,
};

const MAJOR: &str = "100701";

fn registration(n: u32) -> Value {
    json!({
        "exam_number": exam_number(n),
        "id_number": id_number("19990101", n),
        "name": "欧阳·娜娜",
        "phone": "+8613912345678",
        "password": PASSWORD,
        "major_code": MAJOR,
    })
}

#[tokio::test]
async fn a_candidate_registers_and_signs_in_with_exam_or_id_number() {
    let app = spawn_app_with_sample().await;
    let mut body = registration(1);
    body["id_number"] = id_number("19990101", 1).to_lowercase().into();
    let reply = app.post_json("/api/v1/auth/register", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("location").as_deref(), Some("/api/v1/me"));
    let profile = reply.json();
    assert_eq!(profile["role"], "candidate");
    assert_eq!(profile["role_label"], "考生");
    assert_eq!(
        profile["id_number"],
        id_number("19990101", 1),
        "stored upper-case"
    );
    assert_eq!(profile["phone"], "13912345678");
    assert!(profile.get("password").is_none() && !reply.text.contains("argon2"));

    let by_exam = app.login(&exam_number(1), PASSWORD).await;
    assert_eq!(by_exam["token_type"], "Bearer");
    assert_eq!(by_exam["expires_in"], 900);
    assert_eq!(by_exam["must_change_password"], false);
    let by_id = app.login(&id_number("19990101", 1), PASSWORD).await;
    let me = app
        .get_as(by_id["access_token"].as_str().unwrap(), "/api/v1/me")
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["exam_number"], exam_number(1));
}

#[tokio::test]
async fn each_bad_registration_field_gets_its_code_and_path_in_both_languages() {
    let app = spawn_app_with_sample().await;
    let cases: &[(&str, Value, &str)] = &[
        ("exam_number", json!("12345"), "exam_number.format"),
        ("exam_number", json!("01011820000a"), "exam_number.format"),
        ("id_number", json!("42010219990101001"), "id_number.format"),
        (
            "id_number",
            json!("420102199902300012"),
            "id_number.birth_date",
        ),
        (
            "id_number",
            json!(format!("{}0", &id_number("19990101", 2)[..17]).replace("00020", "00020")),
            "id_number.checksum",
        ),
        (
            "id_number",
            json!(id_number("21990101", 2)),
            "id_number.birth_date",
        ),
        ("name", json!("张"), "name.format"),
        ("name", json!("张三3"), "name.format"),
        ("phone", json!("12800138000"), "phone.format"),
        ("phone", json!("1380013800"), "phone.format"),
        ("password", json!("short1"), "password.too_short"),
        ("password", json!("1234567890"), "password.only_digits"),
        ("password", json!(exam_number(2)), "password.only_digits"),
        ("major_code", json!("药学!"), "major.code_format"),
        ("major_code", json!("999999"), "major.unknown"),
        ("school_code", json!("bad code"), "school_code.format"),
    ];
    for (field, value, code) in cases {
        let mut body = registration(2);
        body[*field] = value.clone();
        if *code == "id_number.checksum" {
            let good = id_number("19990101", 2);
            let last = if good.ends_with('0') { '1' } else { '0' };
            body["id_number"] = json!(format!("{}{last}", &good[..17]));
        }
        let zh = app.post_json("/api/v1/auth/register", &body).await;
        let problem = zh.assert_problem(422, code);
        assert_eq!(
            problem["errors"][0]["field"], *field,
            "{field}: {}",
            zh.text
        );
        assert_eq!(problem["errors"][0]["code"], *code);
        let en = app
            .send(
                app.client
                    .post(app.url("/api/v1/auth/register"))
                    .header("accept-language", "en")
                    .json(&body),
            )
            .await;
        let en = en.assert_problem(422, code);
        let message = en["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with(|c: char| c.is_ascii_alphabetic()),
            "English message for {field}: {message}"
        );
        assert_ne!(message, problem["errors"][0]["message"].as_str().unwrap());
    }
}

#[tokio::test]
async fn a_password_equal_to_the_id_number_is_refused() {
    let app = spawn_app_with_sample().await;
    // An ID number ending in X, so the password is not only digits.
    let seq = (0..1000)
        .find(|s| id_number("19990101", *s).ends_with('X'))
        .unwrap();
    let mut body = registration(3);
    body["id_number"] = json!(id_number("19990101", seq));
    body["password"] = json!(id_number("19990101", seq).to_lowercase());
    app.post_json("/api/v1/auth/register", &body)
        .await
        .assert_problem(422, "password.equals_identifier");
}

#[tokio::test]
async fn several_bad_fields_are_reported_at_once() {
    let app = spawn_app_with_sample().await;
    let mut body = registration(4);
    body["exam_number"] = json!("1");
    body["phone"] = json!("1");
    let problem = app
        .post_json("/api/v1/auth/register", &body)
        .await
        .assert_problem(422, "validation");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["exam_number", "phone"]);
}

#[tokio::test]
async fn a_missing_or_unknown_or_mistyped_field_is_named() {
    let app = spawn_app_with_sample().await;
    let mut body = registration(5);
    body.as_object_mut().unwrap().remove("phone");
    let p = app
        .post_json("/api/v1/auth/register", &body)
        .await
        .assert_problem(422, "required");
    assert_eq!(p["errors"][0]["field"], "phone");
    let mut body = registration(5);
    body["nickname"] = json!("x");
    let p = app
        .post_json("/api/v1/auth/register", &body)
        .await
        .assert_problem(422, "unknown_field");
    assert_eq!(p["errors"][0]["field"], "nickname");
    let mut body = registration(5);
    body["phone"] = json!(13800138000u64);
    let p = app
        .post_json("/api/v1/auth/register", &body)
        .await
        .assert_problem(400, "json.type");
    assert_eq!(p["errors"][0]["field"], "phone");
}

#[tokio::test]
async fn registering_the_same_exam_number_or_id_number_twice_is_409() {
    let app = spawn_app_with_sample().await;
    assert_eq!(
        app.post_json("/api/v1/auth/register", &registration(6))
            .await
            .status,
        201
    );
    let mut same_exam = registration(7);
    same_exam["exam_number"] = json!(exam_number(6));
    let p = app
        .post_json("/api/v1/auth/register", &same_exam)
        .await
        .assert_problem(409, "account.exists");
    assert_eq!(p["errors"][0]["field"], "exam_number");
    let mut same_id = registration(8);
    same_id["id_number"] = json!(id_number("19990101", 6));
    let p = app
        .post_json("/api/v1/auth/register", &same_id)
        .await
        .assert_problem(409, "account.exists");
    assert_eq!(p["errors"][0]["field"], "id_number");
}

#[tokio::test]
async fn concurrent_duplicate_registrations_create_exactly_one_account() {
    let app = spawn_app_with_sample().await;
    let body = registration(9);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let client = app.client.clone();
        let url = app.url("/api/v1/auth/register");
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    assert_eq!(
        app.query_json("SELECT count(*) AS n FROM accounts")[0]["n"],
        1
    );
}

#[tokio::test]
async fn an_unknown_school_is_422() {
    let app = spawn_app_with_sample().await;
    let mut body = registration(10);
    body["school_code"] = json!("NOPE1");
    app.post_json("/api/v1/auth/register", &body)
        .await
        .assert_problem(422, "school.unknown");
}

async fn registered(app: &TestApp, n: u32) -> String {
    assert_eq!(
        app.post_json("/api/v1/auth/register", &registration(n))
            .await
            .status,
        201
    );
    exam_number(n)
}

#[tokio::test]
async fn an_unknown_login_and_a_wrong_password_get_the_same_401() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 11).await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": login, "password": "nottheone1"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": "999999999999", "password": "nottheone1"}),
        )
        .await;
    let garbage = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": "张三", "password": "nottheone1"}),
        )
        .await;
    for reply in [&wrong, &unknown, &garbage] {
        let p = reply.assert_problem(401, "auth.invalid_credentials");
        assert_eq!(p["detail"], "账号或密码错误");
        assert!(reply.header("www-authenticate").is_some());
    }
}

#[tokio::test]
async fn five_failures_refuse_that_login_from_that_address_and_a_success_forgets_them() {
    let app = spawn_app_behind_proxy().await;
    let login = registered(&app, 12).await;
    let (here, there) = ("198.51.100.1", "203.0.113.7");
    let wrong = json!({"login": login, "password": "nottheone1"});
    let right = json!({"login": login, "password": PASSWORD});
    let fail = || app.post_json_from(here, "/api/v1/auth/login", &wrong);
    for _ in 0..4 {
        fail().await.assert_problem(401, "auth.invalid_credentials");
    }
    // A success after four failures forgets them …
    let ok = app.post_json_from(here, "/api/v1/auth/login", &right).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    for _ in 0..5 {
        fail().await.assert_problem(401, "auth.invalid_credentials");
    }
    // … so it took five more to be refused, the right password included.
    let refused = app.post_json_from(here, "/api/v1/auth/login", &right).await;
    let problem = refused.assert_problem(429, "auth.throttled");
    assert!(
        problem["detail"].as_str().unwrap().contains("分钟"),
        "{problem}"
    );
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 800 && retry <= 900, "{retry}");
    // The same account from another address signs in.
    let elsewhere = app
        .post_json_from(there, "/api/v1/auth/login", &right)
        .await;
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.text);
    // Shared in the database, not held by this instance.
    let stored =
        app.query_json("SELECT rule, hits FROM throttles WHERE rule = 'login_pair' ORDER BY key");
    assert_eq!(stored, [json!({"rule": "login_pair", "hits": 5})]);
}

#[tokio::test]
async fn unknown_logins_are_counted_and_answered_exactly_like_known_ones() {
    let app = spawn_app_with_sample().await;
    let known = registered(&app, 14).await;
    let unknown = exam_number(99);
    let answers = |login: String| {
        let app = &app;
        async move {
            let mut seen = Vec::new();
            for _ in 0..6 {
                let body = json!({"login": login, "password": "nottheone1"});
                let reply = app.post_json("/api/v1/auth/login", &body).await;
                let json = reply.json();
                seen.push((reply.status, json["code"].clone(), json["detail"].clone()));
            }
            seen
        }
    };
    let (for_known, for_unknown) = (answers(known).await, answers(unknown).await);
    assert_eq!(for_known, for_unknown);
    assert_eq!(for_known[4].0, 401);
    assert_eq!(for_known[5].0, 429);
    assert_eq!(for_known[5].1, "auth.throttled");
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_for_header_changes_nothing() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 15).await;
    let wrong = json!({"login": login, "password": "nottheone1"});
    for i in 0..5 {
        app.post_json_from(&format!("10.0.0.{i}"), "/api/v1/auth/login", &wrong)
            .await
            .assert_problem(401, "auth.invalid_credentials");
    }
    // A forged address is not a way round the pair limit.
    app.post_json_from("10.0.0.99", "/api/v1/auth/login", &wrong)
        .await
        .assert_problem(429, "auth.throttled");
}

#[tokio::test]
async fn a_wrong_current_password_counts_as_a_failed_sign_in() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 16).await;
    let token = app.login(&login, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let change =
        |current: &str| json!({"current_password": current, "new_password": "another-pass-2"});
    for _ in 0..5 {
        app.put_json_as(&token, "/api/v1/me/password", &change("nottheone1"))
            .await
            .assert_problem(422, "password.wrong");
    }
    let refused = app
        .put_json_as(&token, "/api/v1/me/password", &change(PASSWORD))
        .await;
    refused.assert_problem(429, "auth.throttled");
    assert!(refused.header("retry-after").is_some());
    // And so is signing in from this address.
    app.post_json(
        "/api/v1/auth/login",
        &json!({"login": login, "password": PASSWORD}),
    )
    .await
    .assert_problem(429, "auth.throttled");
    // Validation comes first: a bad new password is still 422.
    let bad = json!({"current_password": PASSWORD, "new_password": "1234"});
    assert_eq!(
        app.put_json_as(&token, "/api/v1/me/password", &bad)
            .await
            .status,
        422
    );
}

#[tokio::test]
async fn twenty_registrations_an_hour_from_one_address_then_429() {
    let app = spawn_app_behind_proxy().await;
    let here = "198.51.100.20";
    // Valid attempts count whatever comes of them (here: all the same account).
    let first = app
        .post_json_from(here, "/api/v1/auth/register", &registration(30))
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    for _ in 1..20 {
        app.post_json_from(here, "/api/v1/auth/register", &registration(30))
            .await
            .assert_problem(409, "account.exists");
    }
    // Invalid ones are refused before they count.
    let mut invalid = registration(31);
    invalid["phone"] = json!("12");
    app.post_json_from(here, "/api/v1/auth/register", &invalid)
        .await
        .assert_problem(422, "phone.format");
    let refused = app
        .post_json_from(here, "/api/v1/auth/register", &registration(31))
        .await;
    refused.assert_problem(429, "auth.throttled");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 3500 && retry <= 3600, "{retry}");
    let elsewhere = app
        .post_json_from("203.0.113.9", "/api/v1/auth/register", &registration(31))
        .await;
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.text);
}

#[tokio::test]
async fn past_three_reset_requests_an_hour_the_answer_is_the_same_but_nothing_is_sent() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 17).await;
    for _ in 0..5 {
        let reply = app
            .post_json("/api/v1/auth/password-resets", &json!({"login": login}))
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text);
    }
    let sent = app.query_json("SELECT kind FROM outbox WHERE kind = 'password_reset'");
    assert_eq!(sent.len(), 3, "{sent:?}");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 13).await;
    let first = app.login(&login, PASSWORD).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let second = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": r1}))
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.header("cache-control").as_deref(), Some("no-store"));
    let r2 = second.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    // Reusing the spent token is refused and revokes the family, so r2 dies too.
    app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": r1}))
        .await
        .assert_problem(401, "auth.invalid_token");
    app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": r2}))
        .await
        .assert_problem(401, "auth.invalid_token");
    // Another sign-in is a new family and works.
    let other = app.login(&login, PASSWORD).await;
    let reply = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": other["refresh_token"]}),
        )
        .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_hashes() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 14).await;
    let pair = app.login(&login, PASSWORD).await;
    let token = pair["refresh_token"].as_str().unwrap();
    let rows = app.query_json("SELECT encode(token_hash, 'hex') AS h FROM refresh_tokens");
    assert_eq!(rows.len(), 1);
    assert!(!rows[0]["h"].as_str().unwrap().contains(token));
    assert_eq!(rows[0]["h"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 15).await;
    let pair = app.login(&login, PASSWORD).await;
    let access = pair["access_token"].as_str().unwrap();
    let body = json!({"refresh_token": pair["refresh_token"]});
    assert_eq!(
        app.post_json_as(access, "/api/v1/auth/logout", &body)
            .await
            .status,
        204
    );
    // Signing out that session again, from another session, is not an error.
    let other = app.login(&login, PASSWORD).await;
    let other = other["access_token"].as_str().unwrap();
    assert_eq!(
        app.post_json_as(other, "/api/v1/auth/logout", &body)
            .await
            .status,
        204
    );
    app.post_json("/api/v1/auth/refresh", &body)
        .await
        .assert_problem(401, "auth.invalid_token");
    app.post_json("/api/v1/auth/logout", &body)
        .await
        .assert_problem(401, "auth.required");
}

#[tokio::test]
async fn bad_access_tokens_are_401() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 16).await;
    let good = app.login(&login, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = good.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none_header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let hs_header = b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let mut payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    payload["exp"] = json!(1_000_000_000);
    let expired_payload = b64.encode(payload.to_string());
    payload["exp"] = json!(4_000_000_000u64);
    payload["role"] = json!("admin");
    let forged_payload = b64.encode(payload.to_string());
    let cases = [
        "not-a-jwt".to_owned(),
        format!("{none_header}.{}.", parts[1]),
        format!("{hs_header}.{}.{}", parts[1], parts[2]),
        format!("{}.{expired_payload}.{}", parts[0], parts[2]),
        format!("{}.{forged_payload}.{}", parts[0], parts[2]),
    ];
    for token in cases {
        app.get_as(&token, "/api/v1/me")
            .await
            .assert_problem(401, "auth.invalid_token");
    }
    app.get("/api/v1/me")
        .await
        .assert_problem(401, "auth.required");
    let wrong_scheme = app
        .send(
            app.client
                .get(app.url("/api/v1/me"))
                .header("authorization", format!("Basic {good}")),
        )
        .await;
    wrong_scheme.assert_problem(401, "auth.invalid_token");
    assert_eq!(app.get_as(&good, "/api/v1/me").await.status, 200);
}

#[tokio::test]
async fn the_access_token_verifies_with_the_published_jwks() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 17).await;
    let token = app.login(&login, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwks = app.get("/.well-known/jwks.json").await.json();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = (jwks["keys"].as_array().unwrap().iter())
        .find(|k| k["kid"] == kid.as_str())
        .expect("the token's key is listed");
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&["zikao-cert"]);
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
    assert_eq!(data.claims["role"], "candidate");
    let exp = data.claims["exp"].as_i64().unwrap();
    let iat = data.claims["iat"].as_i64().unwrap();
    assert_eq!(exp - iat, 900);
}

/// Reads the newest reset token from the outbox (the gateway's view).
fn reset_token_from_outbox(app: &TestApp) -> String {
    let rows = app.query_json("SELECT kind, payload FROM outbox ORDER BY id DESC LIMIT 1");
    assert_eq!(rows[0]["kind"], "password_reset");
    rows[0]["payload"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_self_service_reset_sets_a_new_password_once_and_revokes_sessions() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 18).await;
    let old_pair = app.login(&login, PASSWORD).await;
    let reply = app
        .post_json("/api/v1/auth/password-resets", &json!({"login": login}))
        .await;
    assert_eq!(reply.status, 202);
    let token = reset_token_from_outbox(&app);
    let stored = app.query_json("SELECT encode(token_hash, 'hex') AS h FROM password_reset_tokens");
    assert!(
        !stored[0]["h"].as_str().unwrap().contains(&token),
        "stored hashed"
    );

    // A weak password is refused without spending the token.
    app.post_json(
        "/api/v1/auth/password-resets/confirm",
        &json!({"token": token, "new_password": "12345678"}),
    )
    .await
    .assert_problem(422, "password.only_digits");
    let ok = app
        .post_json(
            "/api/v1/auth/password-resets/confirm",
            &json!({"token": token, "new_password": "xinmima2027"}),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    app.post_json(
        "/api/v1/auth/password-resets/confirm",
        &json!({"token": token, "new_password": "xinmima2028"}),
    )
    .await
    .assert_problem(422, "password_reset.invalid_token");
    app.login(&login, "xinmima2027").await;
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({"refresh_token": old_pair["refresh_token"]}),
    )
    .await
    .assert_problem(401, "auth.invalid_token");
}

#[tokio::test]
async fn a_reset_request_answers_202_for_unknown_logins_and_writes_nothing() {
    let app = spawn_app_with_sample().await;
    for login in ["999999999999", "nobody", "张三"] {
        let reply = app
            .post_json("/api/v1/auth/password-resets", &json!({"login": login}))
            .await;
        assert_eq!(reply.status, 202);
    }
    assert_eq!(
        app.query_json("SELECT count(*) AS n FROM outbox")[0]["n"],
        0
    );
    assert_eq!(
        app.query_json("SELECT count(*) AS n FROM password_reset_tokens")[0]["n"],
        0
    );
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 19).await;
    app.post_json("/api/v1/auth/password-resets", &json!({"login": login}))
        .await;
    let token = reset_token_from_outbox(&app);
    app.sql("UPDATE password_reset_tokens SET expires_at = now() - interval '1 second'");
    app.post_json(
        "/api/v1/auth/password-resets/confirm",
        &json!({"token": token, "new_password": "xinmima2027"}),
    )
    .await
    .assert_problem(422, "password_reset.invalid_token");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 20).await;
    let token = app.login(&login, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.put_json_as(
        &token,
        "/api/v1/me/password",
        &json!({"current_password": "wrongwrong1", "new_password": "xinmima2027"}),
    )
    .await
    .assert_problem(422, "password.wrong");
    app.put_json_as(
        &token,
        "/api/v1/me/password",
        &json!({"current_password": PASSWORD, "new_password": PASSWORD}),
    )
    .await
    .assert_problem(422, "password.unchanged");
    let ok = app
        .put_json_as(
            &token,
            "/api/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": "xinmima2027"}),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    app.login(&login, "xinmima2027").await;
}

#[tokio::test]
async fn staff_reset_gives_a_temporary_password_that_must_be_changed_first() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    let staff = app.staff_token(&admin, "li.laoshi", "HBU01").await;
    let (profile, _) = app.candidate(21, Some("HBU01"), MAJOR).await;
    let id = profile["id"].as_str().unwrap();

    let reply = app
        .post_json_as(
            &staff,
            &format!("/api/v1/staff/candidates/{id}/password-reset"),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let temporary = reply.json()["temporary_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = app.query_json("SELECT password_hash FROM accounts WHERE exam_number IS NOT NULL");
    assert!(
        !stored[0]["password_hash"]
            .as_str()
            .unwrap()
            .contains(&temporary)
    );

    let pair = app.login(&exam_number(21), &temporary).await;
    assert_eq!(pair["must_change_password"], true);
    let token = pair["access_token"].as_str().unwrap();
    app.get_as(token, "/api/v1/me")
        .await
        .assert_problem(403, "password.change_required");
    let changed = app
        .put_json_as(
            token,
            "/api/v1/me/password",
            &json!({"current_password": temporary, "new_password": "xinmima2027"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    let fresh = app.login(&exam_number(21), "xinmima2027").await;
    assert_eq!(fresh["must_change_password"], false);
    assert_eq!(
        app.get_as(fresh["access_token"].as_str().unwrap(), "/api/v1/me")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn staff_of_another_school_cannot_reset_and_get_404() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    app.create_school(&admin, "WHU02").await;
    let other = app.staff_token(&admin, "wang.laoshi", "WHU02").await;
    let (profile, _) = app.candidate(22, Some("HBU01"), MAJOR).await;
    let path = format!(
        "/api/v1/staff/candidates/{}/password-reset",
        profile["id"].as_str().unwrap()
    );
    app.post_json_as(&other, &path, &json!({}))
        .await
        .assert_problem(404, "not_found");
    // An admin may.
    assert_eq!(
        app.post_json_as(&admin, &path, &json!({})).await.status,
        200
    );
    // An unknown id and a malformed one.
    app.post_json_as(
        &admin,
        "/api/v1/staff/candidates/0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b/password-reset",
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_json_as(
        &admin,
        "/api/v1/staff/candidates/xyz/password-reset",
        &json!({}),
    )
    .await
    .assert_problem(422, "id.format");
}

#[tokio::test]
async fn a_service_account_secret_is_shown_once_and_its_token_carries_scopes() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let reply = app
        .post_json_as(
            &admin,
            "/api/v1/admin/service-accounts",
            &json!({"username": "chsi-sync", "name": "学信网核验同步", "scopes": ["verification:write", "outbox:read"]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let secret = reply.json()["secret"].as_str().unwrap().to_owned();
    let stored =
        app.query_json("SELECT password_hash, scopes FROM accounts WHERE role = 'integration'");
    assert!(
        !stored[0]["password_hash"]
            .as_str()
            .unwrap()
            .contains(&secret)
    );
    let pair = app.login("chsi-sync", &secret).await;
    let me = app
        .get_as(pair["access_token"].as_str().unwrap(), "/api/v1/me")
        .await
        .json();
    assert_eq!(me["role"], "integration");
    assert_eq!(me["scopes"], json!(["verification:write", "outbox:read"]));

    let bad = app
        .post_json_as(
            &admin,
            "/api/v1/admin/service-accounts",
            &json!({"username": "x-sync", "name": "x", "scopes": ["everything"]}),
        )
        .await;
    let p = bad.assert_problem(422, "scope.unknown");
    assert_eq!(p["errors"][0]["field"], "scopes[0]");
}

#[tokio::test]
async fn a_lost_service_secret_is_replaced_never_shown_again_and_the_old_one_stops_working() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let created = app
        .post_json_as(
            &admin,
            "/api/v1/admin/service-accounts",
            &json!({"username": "chsi-sync", "name": "学信网核验同步", "scopes": ["outbox:read"]}),
        )
        .await
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let old = created["secret"].as_str().unwrap().to_owned();
    let session = app.login("chsi-sync", &old).await;
    let path = format!("/api/v1/admin/service-accounts/{id}/secret");
    let reissue = || {
        app.send(
            app.client
                .post(app.url(&path))
                .bearer_auth(&admin)
                .header("idempotency-key", "reissue-1"),
        )
    };
    let first = reissue().await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("cache-control").as_deref(), Some("no-store"));
    let new = first.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(first.json()["username"], "chsi-sync");
    assert_eq!(first.json()["scopes"], json!(["outbox:read"]));

    // The old secret and what was signed in with it stop working; the new one works.
    let refused = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": "chsi-sync", "password": old}),
        )
        .await;
    refused.assert_problem(401, "auth.invalid_credentials");
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({"refresh_token": session["refresh_token"]}),
    )
    .await
    .assert_problem(401, "auth.invalid_token");
    app.login("chsi-sync", &new).await;

    // A secret is never replayed: the same key issues another one.
    let again = reissue().await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert!(again.header("idempotent-replayed").is_none());
    assert_ne!(again.json()["secret"], json!(new));

    // Admins only; only service accounts.
    app.create_school(&admin, "HBU01").await;
    let staff = app.staff_token(&admin, "li.laoshi", "HBU01").await;
    app.post_json_as(&staff, &path, &json!(null))
        .await
        .assert_problem(403, "forbidden");
    let staff_id = app.query_json("SELECT id::text FROM accounts WHERE username = 'li.laoshi'")[0]
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for other in [staff_id.as_str(), "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"] {
        app.post_json_as(
            &admin,
            &format!("/api/v1/admin/service-accounts/{other}/secret"),
            &json!(null),
        )
        .await
        .assert_problem(404, "not_found");
    }
}

#[tokio::test]
async fn schools_are_created_by_admins_and_listed_for_anyone() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "hbu01").await;
    let dup = app
        .post_json_as(
            &admin,
            "/api/v1/admin/schools",
            &json!({"code": "HBU01", "name": "again"}),
        )
        .await;
    dup.assert_problem(409, "school.exists");
    let list = app.get("/api/v1/schools").await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["code"], "HBU01");
}

#[tokio::test]
async fn staff_usernames_are_unique() {
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    app.staff_token(&admin, "li.laoshi", "HBU01").await;
    let again = app
        .post_json_as(
            &admin,
            "/api/v1/admin/staff",
            &json!({"username": "li.laoshi", "password": PASSWORD, "name": "李老师", "school_code": "HBU01"}),
        )
        .await;
    again.assert_problem(409, "account.exists");
    let no_school = app
        .post_json_as(
            &admin,
            "/api/v1/admin/staff",
            &json!({"username": "zhao.laoshi", "password": PASSWORD, "name": "赵老师", "school_code": "NOPE"}),
        )
        .await;
    no_school.assert_problem(422, "school.unknown");
}

/// One row of the matrix: method, path, body maker, expected status per caller.
type Case = (&'static str, String, Box<dyn FnMut() -> Value>, [u16; 6]);

/// Who calls, for the authorization matrix.
#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    Candidate,
    OtherStaff,
    Staff,
    Admin,
    Integration,
}

#[tokio::test]
async fn authorization_matrix_of_the_account_operations() {
    use Who::*;
    let app = spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    app.create_school(&admin, "WHU02").await;
    let staff = app.staff_token(&admin, "li.laoshi", "HBU01").await;
    let other_staff = app.staff_token(&admin, "wang.laoshi", "WHU02").await;
    let (profile, candidate) = app.candidate(30, Some("HBU01"), MAJOR).await;
    let svc = app
        .post_json_as(
            &admin,
            "/api/v1/admin/service-accounts",
            &json!({"username": "svc-a", "name": "svc", "scopes": ["outbox:read"]}),
        )
        .await
        .json();
    let integration = app.login("svc-a", svc["secret"].as_str().unwrap()).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = |who: Who| -> Option<&str> {
        match who {
            Anonymous => None,
            Candidate => Some(&candidate),
            OtherStaff => Some(&other_staff),
            Staff => Some(&staff),
            Admin => Some(&admin),
            Integration => Some(&integration),
        }
    };
    let reset = format!(
        "/api/v1/staff/candidates/{}/password-reset",
        profile["id"].as_str().unwrap()
    );
    // (method, path, body, expected status per caller in the order of `callers`)
    let callers = [Anonymous, Candidate, OtherStaff, Staff, Admin, Integration];
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/api/v1/me".into(),
            Box::new(|| json!(null)),
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/admin/schools".into(),
            Box::new({
                let mut k = 100;
                move || {
                    k += 1;
                    json!({"code": format!("S{k}"), "name": "学院"})
                }
            }),
            [401, 403, 403, 403, 201, 403],
        ),
        (
            "POST",
            "/api/v1/admin/staff".into(),
            Box::new({
                let mut k = 0;
                move || {
                    k += 1;
                    json!({"username": format!("staff{k}"), "password": PASSWORD, "name": "王老师", "school_code": "HBU01"})
                }
            }),
            [401, 403, 403, 403, 201, 403],
        ),
        (
            "POST",
            "/api/v1/admin/service-accounts".into(),
            Box::new({
                let mut k = 0;
                move || {
                    k += 1;
                    json!({"username": format!("svc{k}"), "name": "svc", "scopes": ["outbox:read"]})
                }
            }),
            [401, 403, 403, 403, 201, 403],
        ),
        (
            "GET",
            "/api/v1/schools".into(),
            Box::new(|| json!(null)),
            [200; 6],
        ),
        (
            "GET",
            "/.well-known/jwks.json".into(),
            Box::new(|| json!(null)),
            [200; 6],
        ),
        // Last: a reset ends the candidate's sessions (auth.revoked after it).
        (
            "POST",
            reset.clone(),
            Box::new(|| json!({})),
            [401, 403, 404, 200, 200, 403],
        ),
    ];
    for (method, path, mut body, expected) in cases {
        for (who, want) in callers.iter().zip(expected) {
            let mut request = match method {
                "GET" => app.client.get(app.url(&path)),
                _ => app.client.post(app.url(&path)).json(&body()),
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
        }
    }
}

#[test]
fn every_secured_operation_declares_bearer_security_and_roles() {
    let doc = serde_json::to_value(api::http::openapi::document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if api::http::openapi::is_secured(op) {
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.contains_key("401") && responses.contains_key("403"),
                    "{method} {path}"
                );
            }
        }
    }
}

#[tokio::test]
async fn anonymous_calls_get_401_exactly_on_the_operations_that_declare_security() {
    let app = spawn_app_with_sample().await;
    let doc = serde_json::to_value(api::http::openapi::document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for (method, op) in item.as_object().unwrap() {
            let secured = api::http::openapi::is_secured(op);
            let request = match method.as_str() {
                "get" => app.client.get(app.url(&concrete)),
                "post" => app.client.post(app.url(&concrete)).json(&json!({})),
                "put" => app.client.put(app.url(&concrete)).json(&json!({})),
                "patch" => app.client.patch(app.url(&concrete)).json(&json!({})),
                "delete" => app.client.delete(app.url(&concrete)),
                other => panic!("method {other}"),
            };
            let reply = app.send(request).await;
            assert_eq!(
                reply.status == 401,
                secured,
                "{method} {path}: status {} but security declared: {secured}",
                reply.status
            );
        }
    }
}

/// Waits (at most 1 s, API.md) until `token` is refused on `app` with
/// `auth.revoked`; panics otherwise.
async fn refused_within_a_second(app: &TestApp, token: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let reply = app.get_as(token, "/api/v1/me").await;
        if reply.status == 401 {
            reply.assert_problem(401, "auth.revoked");
            return;
        }
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(
            std::time::Instant::now() < deadline,
            "still accepted a second after the revocation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn access(pair: &Value) -> String {
    pair["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn signing_out_ends_that_session_on_every_instance_within_a_second() {
    let a = spawn_app_with_sample().await;
    let b = tests::second_instance(&a).await;
    let login = registered(&a, 40).await;
    let (first, second) = (
        a.login(&login, PASSWORD).await,
        a.login(&login, PASSWORD).await,
    );
    for app in [&a, &b] {
        assert_eq!(app.get_as(&access(&first), "/api/v1/me").await.status, 200);
    }
    let out = a
        .post_json_as(
            &access(&first),
            "/api/v1/auth/logout",
            &json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.text);
    refused_within_a_second(&b, &access(&first)).await;
    refused_within_a_second(&a, &access(&first)).await;
    // The other session goes on.
    for app in [&a, &b] {
        assert_eq!(app.get_as(&access(&second), "/api/v1/me").await.status, 200);
    }
}

#[tokio::test]
async fn a_password_change_ends_every_session_and_a_reused_refresh_token_its_family() {
    let app = spawn_app_with_sample().await;
    let login = registered(&app, 41).await;
    let (first, second) = (
        app.login(&login, PASSWORD).await,
        app.login(&login, PASSWORD).await,
    );
    // Reuse of a spent refresh token: that family's access tokens end.
    let refresh = json!({"refresh_token": second["refresh_token"]});
    let rotated = app.post_json("/api/v1/auth/refresh", &refresh).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    app.post_json("/api/v1/auth/refresh", &refresh)
        .await
        .assert_problem(401, "auth.invalid_token");
    refused_within_a_second(&app, &access(&second)).await;
    refused_within_a_second(&app, &access(&rotated.json())).await;
    assert_eq!(app.get_as(&access(&first), "/api/v1/me").await.status, 200);

    // A password change: every session, the changing one included.
    let change = json!({"current_password": PASSWORD, "new_password": "a-new-pass-41"});
    let changed = app
        .put_json_as(&access(&first), "/api/v1/me/password", &change)
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    refused_within_a_second(&app, &access(&first)).await;
    // Signing in again gives a session that works.
    let again = app.login(&login, "a-new-pass-41").await;
    assert_eq!(app.get_as(&access(&again), "/api/v1/me").await.status, 200);
}

/// The `kid`s of the published JWK set.
async fn listed_kids(app: &TestApp) -> Vec<String> {
    let jwks = app.get("/.well-known/jwks.json").await.json();
    (jwks["keys"].as_array().unwrap().iter())
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_key_rotation_keeps_old_tokens_verifying_and_new_instances_sign_with_the_new_key() {
    let a = spawn_app_with_sample().await;
    let login = registered(&a, 42).await;
    let old = access(&a.login(&login, PASSWORD).await);
    let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();
    let before = listed_kids(&a).await;
    assert_eq!(
        before.len(),
        2,
        "an access key and a decision key: {before:?}"
    );

    let made = {
        let pool = a.state.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().unwrap();
            api::auth::keyring::rotate(&mut conn, chrono::Utc::now()).unwrap()
        })
        .await
        .unwrap()
    };
    let new_kids: Vec<String> = made.into_iter().map(|(_, kid)| kid).collect();
    // The running instance hears of it and lists old and new keys.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let kids = listed_kids(&a).await;
        if new_kids.iter().all(|k| kids.contains(k)) {
            assert!(before.iter().all(|k| kids.contains(k)), "{kids:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "new keys not listed: {kids:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Tokens of the retired key keep working; this instance still signs with it.
    assert_eq!(a.get_as(&old, "/api/v1/me").await.status, 200);
    // An instance started now signs with the new key, and the first one accepts it.
    let b = tests::second_instance(&a).await;
    let fresh = access(&b.login(&login, PASSWORD).await);
    let fresh_kid = jsonwebtoken::decode_header(&fresh).unwrap().kid.unwrap();
    assert_ne!(fresh_kid, old_kid);
    assert!(new_kids.contains(&fresh_kid));
    assert_eq!(a.get_as(&fresh, "/api/v1/me").await.status, 200);
    assert_eq!(b.get_as(&old, "/api/v1/me").await.status, 200);
}
