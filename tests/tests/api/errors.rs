//! Every actix-level error is problem+json in zh (default) and en.

use tests::spawn_app;

#[tokio::test]
async fn an_unknown_route_is_a_404_problem_in_both_languages() {
    let app = spawn_app().await;
    let zh = app
        .get("/api/v1/nothing-here")
        .await
        .assert_problem(404, "not_found");
    assert_eq!(zh["title"], "未找到");
    assert_eq!(zh["instance"], "/api/v1/nothing-here");
    let en = app
        .get_lang("/api/v1/nothing-here", "en")
        .await
        .assert_problem(404, "not_found");
    assert_eq!(en["title"], "Not found");
}

#[tokio::test]
async fn a_caller_supplied_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = spawn_app().await;
    let reply = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("x-request-id", "abc-123"),
        )
        .await;
    assert_eq!(reply.header("x-request-id").as_deref(), Some("abc-123"));
    let reply = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("x-request-id", "bad id with spaces"),
        )
        .await;
    assert_ne!(
        reply.header("x-request-id").as_deref(),
        Some("bad id with spaces")
    );
}

#[tokio::test]
async fn a_malformed_query_parameter_is_422_naming_it() {
    let app = spawn_app().await;
    let body = app
        .get_lang("/api/v1/courses?per_page=lots", "en")
        .await
        .assert_problem(422, "format");
    assert_eq!(body["errors"][0]["field"], "per_page");
    assert!(body["detail"].as_str().unwrap().contains("per_page"));
}

#[tokio::test]
async fn cors_preflight_is_answered_for_a_configured_origin_only() {
    let (db_url, db_name) = tokio::task::spawn_blocking(tests::fresh_database)
        .await
        .unwrap();
    let mut settings = api::config::Settings::for_tests(db_url.clone());
    settings.cors_allowed_origins = vec!["https://portal.example.cn".into()];
    let built = api::http::startup::Application::build(&settings, &db_url)
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", built.port());
    tokio::spawn(built.run_until_stopped());
    let _ = db_name;
    let client = reqwest::Client::new();

    let ok = client
        .request(reqwest::Method::OPTIONS, format!("{base}/api/v1/courses"))
        .header("origin", "https://portal.example.cn")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization, if-match")
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://portal.example.cn"
    );

    let get = client
        .get(format!("{base}/healthz"))
        .header("origin", "https://portal.example.cn")
        .send()
        .await
        .unwrap();
    let exposed = get.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("x-request-id"),
        "{exposed}"
    );

    let refused = client
        .request(reqwest::Method::OPTIONS, format!("{base}/api/v1/courses"))
        .header("origin", "https://evil.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_400_problem_in_both_languages() {
    let app = spawn_app().await;
    let send = |lang: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .header("accept-language", lang)
            .body("{\"login\": ")
    };
    let zh = app
        .send(send("zh-CN"))
        .await
        .assert_problem(400, "json.malformed");
    assert!(zh["detail"].as_str().unwrap().contains("JSON"));
    assert_eq!(zh["title"], "请求格式错误");
    let en = app
        .send(send("en"))
        .await
        .assert_problem(400, "json.malformed");
    assert_eq!(en["title"], "Malformed request");
}

#[tokio::test]
async fn trailing_data_after_the_json_value_is_refused() {
    let app = spawn_app().await;
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .header("content-type", "application/json")
                .body(r#"{"login":"a","password":"b"} x"#),
        )
        .await;
    reply.assert_problem(400, "json.malformed");
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415_problem_in_both_languages() {
    let app = spawn_app().await;
    for (lang, title) in [("zh", "不支持的内容类型"), ("en", "Unsupported media type")] {
        let reply = app
            .send(
                app.client
                    .post(app.url("/api/v1/auth/login"))
                    .header("content-type", "text/plain")
                    .header("accept-language", lang)
                    .body(r#"{"login":"a","password":"b"}"#),
            )
            .await;
        let body = reply.assert_problem(415, "content_type.unsupported");
        assert_eq!(body["title"], title);
    }
}

#[tokio::test]
async fn a_too_large_body_is_a_413_problem_in_both_languages() {
    let app = spawn_app().await;
    let huge = format!(
        r#"{{"login":"{}","password":"x"}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    for (lang, title) in [("zh", "请求内容过大"), ("en", "Payload too large")] {
        let reply = app
            .send(
                app.client
                    .post(app.url("/api/v1/auth/login"))
                    .header("content-type", "application/json")
                    .header("accept-language", lang)
                    .body(huge.clone()),
            )
            .await;
        let body = reply.assert_problem(413, "payload.too_large");
        assert_eq!(body["title"], title);
    }
}

#[tokio::test]
async fn a_wrong_json_type_is_400_naming_the_field() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"login": 12, "password": "x"}),
        )
        .await;
    let body = reply.assert_problem(400, "json.type");
    assert_eq!(body["errors"][0]["field"], "login");
}

#[tokio::test]
async fn internal_error_text_never_reaches_the_body() {
    // A database that refuses connections: the pool error goes to the log only.
    let url = "postgres://nobody@localhost:5432/nothing?host=/nonexistent-zikao-socket".to_owned();
    let app = tests::spawn_app_on(url, "nothing".into()).await;
    let reply = app.get("/api/v1/rounds").await;
    let body = reply.assert_problem(503, "service.unavailable");
    let text = body.to_string();
    assert!(
        !text.contains("nonexistent") && !text.contains("nobody"),
        "{text}"
    );
}

#[tokio::test]
async fn a_known_path_with_an_unsupported_method_is_405_with_allow() {
    let app = spawn_app().await;
    let reply = app
        .send(
            app.client
                .request(reqwest::Method::DELETE, app.url("/api/v1/courses/03708")),
        )
        .await;
    let body = reply.assert_problem(405, "method.not_allowed");
    assert_eq!(reply.header("allow").as_deref(), Some("GET"));
    assert!(body["detail"].as_str().unwrap().contains("GET"));
    let en = app
        .send(
            app.client
                .request(reqwest::Method::PUT, app.url("/healthz"))
                .header("accept-language", "en"),
        )
        .await;
    assert_eq!(
        en.assert_problem(405, "method.not_allowed")["title"],
        "Method not allowed"
    );
}

#[tokio::test]
async fn the_allow_header_names_the_most_specific_path_only() {
    let app = spawn_app().await;
    let reply = app
        .send(app.client.request(
            reqwest::Method::OPTIONS,
            app.url("/api/v1/staff/candidates/import"),
        ))
        .await;
    reply.assert_problem(405, "method.not_allowed");
    assert_eq!(reply.header("allow").as_deref(), Some("POST"));
}

#[tokio::test]
async fn a_static_path_is_not_mistaken_for_a_neighbouring_template() {
    let app = spawn_app().await;
    let reply = app.get("/api/v1/staff/candidates/import").await;
    reply.assert_problem(405, "method.not_allowed");
    assert_eq!(reply.header("allow").as_deref(), Some("POST"));
}

#[tokio::test]
async fn a_nul_character_is_422_not_a_server_error() {
    let app = tests::spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    let q = app.get_as(&admin, "/api/v1/staff/candidates?q=%00X").await;
    let body = q.assert_problem(422, "text.nul");
    assert_eq!(body["errors"][0]["field"], "q");
    let json = app
        .post_json_as(
            &admin,
            "/api/v1/admin/schools",
            &serde_json::json!({"code": "S1", "name": "学\u{0}院"}),
        )
        .await;
    // In a body a NUL is one of the control characters free text refuses.
    let body = json.assert_problem(422, "text.control");
    assert_eq!(body["errors"][0]["field"], "name");
}

#[tokio::test]
async fn a_connection_terminated_mid_request_is_503_not_500() {
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;
    // The test holds a lock the registration's INSERT waits for, then terminates
    // the service's waiting backend, as an operator or a failover would.
    let app = tests::spawn_app_with_sample().await;
    let mut lock = app.connect();
    lock.batch_execute("BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE;")
        .expect("lock");
    let mut killer = app.connect();
    let terminator = std::thread::spawn(move || {
        #[derive(diesel::QueryableByName)]
        struct Killed {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        for _ in 0..200 {
            let killed: Killed = diesel::sql_query(
                "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .get_result(&mut killer)
            .expect("terminate");
            if killed.n > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        lock.batch_execute("ROLLBACK").expect("unlock");
    });
    let reply = app
        .post_json(
            "/api/v1/auth/register",
            &serde_json::json!({
                "exam_number": tests::exam_number(1), "id_number": tests::id_number("19990101", 1),
                "name": "张三", "phone": "13800138000", "password": tests::PASSWORD,
                "major_code": "100701",
            }),
        )
        .await;
    terminator.join().expect("terminator");
    let body = reply.assert_problem(503, "service.unavailable");
    assert!(body.get("retry_after").is_none() || body["retry_after"].is_number());
    assert!(
        reply.header("retry-after").is_some(),
        "503 says when to retry"
    );
    // The service recovered by itself: the retry succeeds.
    let again = app
        .post_json(
            "/api/v1/auth/register",
            &serde_json::json!({
                "exam_number": tests::exam_number(1), "id_number": tests::id_number("19990101", 1),
                "name": "张三", "phone": "13800138000", "password": tests::PASSWORD,
                "major_code": "100701",
            }),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
}

#[tokio::test]
async fn every_answer_says_nosniff_and_personal_data_is_never_stored() {
    let app = tests::spawn_app_with_sample().await;
    let (_, token) = app.candidate(1, None, "100701").await;
    for (path, personal) in [
        ("/healthz", false),
        ("/api/v1/courses", false),
        ("/api/v1/nothing-here", false),
        ("/api/v1/me", true),
        ("/api/v1/me/progress", true),
        ("/api/v1/certification-applications", true),
        (
            "/api/v1/prior-degrees/0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b",
            true,
        ),
    ] {
        let reply = app.get_as(&token, path).await;
        assert_eq!(
            reply.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path} ({})",
            reply.status
        );
        let no_store = reply.header("cache-control").as_deref() == Some("no-store");
        assert_eq!(
            no_store,
            personal,
            "{path}: cache-control {:?}",
            reply.header("cache-control")
        );
    }
}

/// Sends `bytes` on a raw connection and reads the one response the service
/// answers with, while still sending (the service may refuse, answer and close
/// before it has read everything).
async fn raw_exchange(app: &tests::TestApp, bytes: &[u8]) -> (String, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.trim_start_matches("http://").to_owned();
    let conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = conn.into_split();
    let bytes = bytes.to_vec();
    let sending = tokio::spawn(async move {
        let _ = writer.write_all(&bytes).await;
        writer
    });
    let mut answer = Vec::new();
    let whole = |answer: &[u8]| -> Option<(String, String)> {
        let text = String::from_utf8_lossy(answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        let length: usize = head.lines().find_map(|l| {
            let l = l.to_ascii_lowercase();
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })?;
        (body.len() >= length).then(|| (head.to_ascii_lowercase(), body[..length].to_owned()))
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let (head, body) = loop {
        if let Some(done) = whole(&answer) {
            break done;
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, reader.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => panic!("closed without a whole response: {answer:?}"),
            Ok(Ok(n)) => answer.extend_from_slice(&chunk[..n]),
            Err(_) => panic!("no answer in 15 s: {answer:?}"),
        }
    };
    sending.abort();
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {head}\n{body}"));
    (head, json)
}

#[tokio::test]
async fn a_client_too_slow_to_send_its_request_head_gets_408_problem_json() {
    let app = spawn_app().await;
    let (head, body) = raw_exchange(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nAccept-Language: en\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 408"), "{head}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert!(head.contains("connection: close"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert_eq!(body["status"], 408);
    assert_eq!(body["code"], "request.timeout");
    assert_eq!(
        body["title"], "Request timeout",
        "in the language asked for"
    );
}

#[tokio::test]
async fn a_request_head_too_large_gets_431_problem_json() {
    let app = spawn_app().await;
    let mut request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 160 * 1024));
    request.extend_from_slice(b"\r\n\r\n");
    let (head, body) = raw_exchange(&app, &request).await;
    assert!(head.starts_with("http/1.1 431"), "{head}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert_eq!(body["code"], "request.headers_too_large");
    assert_eq!(body["title"], "请求头过大", "Chinese by default");
}

#[tokio::test]
async fn a_request_head_that_cannot_be_parsed_gets_400_problem_json() {
    let app = spawn_app().await;
    let (head, body) = raw_exchange(&app, b"GET /healthz HTTP/1.1\r\nHo st\r\n\r\n").await;
    assert!(head.starts_with("http/1.1 400"), "{head}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert_eq!(body["code"], "request.malformed");
}

/// Every string a request body can carry, as `(JSON path, a body with only that
/// string set to `bad`)`, from the operation's schema in the OpenAPI document.
fn string_fields(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    bad: &dyn Fn(&str) -> serde_json::Value,
    depth: usize,
) -> Vec<(String, serde_json::Value)> {
    use serde_json::{Value, json};
    if depth > 8 {
        return Vec::new();
    }
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return string_fields(doc, &doc["components"]["schemas"][name], bad, depth + 1);
    }
    let mut out = Vec::new();
    for key in ["oneOf", "anyOf", "allOf"] {
        for alternative in schema[key].as_array().into_iter().flatten() {
            out.extend(string_fields(doc, alternative, bad, depth + 1));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"string") {
        out.push((String::new(), json!(null)));
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            for (path, _) in string_fields(doc, property, bad, depth + 1) {
                let path = match path.as_str() {
                    "" => name.clone(),
                    p if p.starts_with('[') => format!("{name}{p}"),
                    p => format!("{name}.{p}"),
                };
                out.push((path, json!(null)));
            }
        }
    }
    if types.contains(&"array") || schema.get("items").is_some() {
        for (path, _) in string_fields(doc, &schema["items"], bad, depth + 1) {
            let path = match path.as_str() {
                "" => "[0]".to_owned(),
                p if p.starts_with('[') => format!("[0]{p}"),
                p => format!("[0].{p}"),
            };
            out.push((path, json!(null)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    for (path, body) in &mut out {
        *body = body_at(path, bad(path));
    }
    out
}

/// The JSON value holding `leaf` at `path` (`items[0].note`, `[0].name`).
fn body_at(path: &str, leaf: serde_json::Value) -> serde_json::Value {
    if path.is_empty() {
        return leaf;
    }
    if let Some(rest) = path.strip_prefix("[0]") {
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        return serde_json::Value::Array(vec![body_at(rest, leaf)]);
    }
    let end = path.find(['.', '[']).unwrap_or(path.len());
    let (name, rest) = path.split_at(end);
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    let mut object = serde_json::Map::new();
    object.insert(name.to_owned(), body_at(rest, leaf));
    serde_json::Value::Object(object)
}

#[tokio::test]
async fn every_string_of_every_json_body_refuses_control_characters_and_bidi_overrides() {
    use serde_json::{Value, json};
    let app = tests::spawn_app_with_sample().await;
    let admin = app.admin_token().await;
    app.create_school(&admin, "HBU01").await;
    let staff = app.staff_token(&admin, "li.laoshi", "HBU01").await;
    let (_, candidate) = app.candidate(1, Some("HBU01"), "100701").await;
    let integration = app
        .integration_token(
            &admin,
            "all-scopes",
            &["verification:write", "outbox:read", "applications:read"],
        )
        .await;
    let doc = app.get("/api-docs/openapi.json").await.json();
    // ESC and RLO everywhere; in prose (where line breaks are allowed) a BEL.
    let bad = |path: &str| {
        let prose = ["reason", "note", "pledge.text"]
            .iter()
            .any(|p| path.ends_with(p));
        json!(if prose {
            "第一行\n\u{7}"
        } else if path.len().is_multiple_of(2) {
            "张三\u{202E}gpj"
        } else {
            "\u{1b}[31m红"
        })
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema")
            else {
                continue;
            };
            let roles: Vec<&str> = (op["security"].as_array().into_iter().flatten())
                .filter_map(|s| s["bearer"].as_array())
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let signed_in = (op["security"].as_array().into_iter().flatten())
                .any(|s| s.get("bearer").is_some());
            let token = match roles.as_slice() {
                [] if !signed_in => None,
                [] => Some(&candidate),
                r if r.contains(&"admin") => Some(&admin),
                ["staff", ..] => Some(&staff),
                ["candidate", ..] => Some(&candidate),
                _ => Some(&integration),
            };
            let url = path
                .replace("{id}", "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b")
                .replace("{code}", "100701");
            for (field, body) in string_fields(&doc, schema, &bad, 0) {
                let mut request = match method.as_str() {
                    "post" => app.client.post(app.url(&url)),
                    "put" => app.client.put(app.url(&url)),
                    "patch" => app.client.patch(app.url(&url)).header("if-match", "*"),
                    other => panic!("a body on {other}"),
                };
                if let Some(t) = token {
                    request = request.bearer_auth(t);
                }
                let reply = app.send(request.json(&body)).await;
                checked += 1;
                let json = reply.json();
                let refused = reply.status == 422
                    && json["code"] == "text.control"
                    && json["errors"][0]["field"] == field.as_str();
                if !refused {
                    failures.push(format!(
                        "{method} {path} {field}: {} {}",
                        reply.status, reply.text
                    ));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} fields found");
    assert!(
        failures.is_empty(),
        "{checked} checked:\n{}",
        failures.join("\n")
    );
}
