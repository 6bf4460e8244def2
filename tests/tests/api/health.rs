use std::time::Duration;

use tests::{admin_sql, spawn_app, spawn_app_on};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let reply = app.get("/healthz").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["status"], "ok");
    assert!(reply.header("x-request-id").is_some());
}

#[tokio::test]
async fn readyz_is_ready_on_a_migrated_database() {
    let app = spawn_app().await;
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["status"], "ready");
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_unreachable_and_healthz_stays_up() {
    // A socket folder where no server listens.
    let url =
        "postgres://postgres@localhost:5432/nothing?host=/nonexistent-zikao-socket".to_owned();
    let app = spawn_app_on(url, "nothing".into()).await;
    let reply = app.get("/readyz").await;
    let body = reply.assert_problem(503, "service.unavailable");
    assert!(reply.header("retry-after").is_some());
    // Internal error text never reaches the body.
    assert!(!body.to_string().contains("nonexistent"), "{body}");
    assert_eq!(app.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn readyz_recovers_by_itself_when_the_database_comes_back() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status, 200);

    let db = app.db_name.clone();
    admin_sql(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false"));
    admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ));
    let down = app.get("/readyz").await;
    down.assert_problem(503, "service.unavailable");
    let rounds = app.get("/api/v1/rounds").await;
    rounds.assert_problem(503, "service.unavailable");
    // The catalogue is served from memory, so it stays available meanwhile.
    assert_eq!(app.get("/api/v1/courses").await.status, 200);

    admin_sql(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true"));
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/readyz").await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "readiness did not recover");
}

#[tokio::test]
async fn an_instance_started_while_the_database_refuses_serves_once_it_is_back() {
    // A database with a catalogue, refusing connections when the instance starts.
    let (url, db) = tokio::task::spawn_blocking(tests::fresh_database)
        .await
        .expect("create database");
    {
        let mut conn =
            <diesel::PgConnection as diesel::Connection>::establish(&url).expect("connect");
        let catalog = api::use_cases::catalogue::parse_document(
            api::use_cases::catalogue::SAMPLE_CATALOG.as_bytes(),
        )
        .expect("sample");
        let cache = api::catalog_cache::CatalogCache::default();
        api::use_cases::catalogue::import(&mut conn, None, &cache, &catalog).expect("import");
    }
    admin_sql(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false"));
    let app = spawn_app_on(url, db.clone()).await;
    // Alive and saying so, but not ready: nothing is migrated-checked or loaded yet.
    assert_eq!(app.get("/healthz").await.status, 200);
    app.get("/readyz")
        .await
        .assert_problem(503, "service.unavailable");

    admin_sql(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true"));
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/readyz").await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "readiness did not come");
    // Ready means the catalogue is in memory: served at once, not after the next
    // periodic re-check.
    let courses = app.get("/api/v1/courses").await;
    assert_eq!(courses.status, 200, "{}", courses.text);
    assert!(
        courses.json()["total"].as_i64().unwrap_or(0) > 0,
        "{}",
        courses.text
    );
}
