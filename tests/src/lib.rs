//! Test harness: each test gets its own database (copied from a migrated
//! template) and its own server on a free port, so tests run in parallel and
//! never see each other's rows.
//!
//! The Postgres server is `TEST_DATABASE_URL` when set (a URL to a database the
//! tests may connect to as a role that can create databases), otherwise a
//! private cluster made for this test process in the temp folder, which stops
//! when the process exits.

use std::sync::OnceLock;

use api::config::Settings;
use api::http::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use persistence::local_pg::LocalCluster;
use serde_json::Value;

/// Builds the URL of a named database on the test server.
type UrlFor = Box<dyn Fn(&str) -> String + Send + Sync>;

struct DbServer {
    /// URL of a maintenance database on the server (to create databases).
    admin_url: String,
    /// How to reach a named database on this server.
    url_for: UrlFor,
    /// The migrated template every test database is copied from.
    template: String,
    _cluster: Option<LocalCluster>,
}

fn db_server() -> &'static DbServer {
    static SERVER: OnceLock<DbServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (admin_url, url_for, cluster): (String, UrlFor, _) =
            match std::env::var("TEST_DATABASE_URL")
                .ok()
                .filter(|v| !v.is_empty())
            {
                Some(url) => {
                    let base = url.clone();
                    (
                        url,
                        Box::new(move |db: &str| replace_database(&base, db)),
                        None,
                    )
                }
                None => {
                    let root = std::env::temp_dir().join("zikao-cert-tests");
                    remove_stale_clusters(&root);
                    let cluster =
                        LocalCluster::ensure_with(&root.join(std::process::id().to_string()), 1000)
                            .expect("start a private PostgreSQL for the tests");
                    let pattern = cluster.url("{db}");
                    (
                        cluster.url("postgres"),
                        Box::new(move |db: &str| pattern.replace("{db}", db)),
                        Some(cluster),
                    )
                }
            };
        let template = format!("zikao_tpl_{}_{}", std::process::id(), short_id());
        let mut admin = PgConnection::establish(&admin_url).expect("connect to the test server");
        diesel::sql_query(format!("CREATE DATABASE \"{template}\""))
            .execute(&mut admin)
            .expect("create the template database");
        {
            let mut conn =
                PgConnection::establish(&url_for(&template)).expect("connect to the template");
            persistence::pool::run_migrations(&mut conn).expect("migrate the template");
        }
        DbServer {
            admin_url,
            url_for,
            template,
            _cluster: cluster,
        }
    })
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// Swaps the database name in a `postgres://…/name?query` URL.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host_part = path_start.map(|i| &base[..i]).unwrap_or(base);
    match query {
        Some(q) => format!("{host_part}/{database}?{q}"),
        None => format!("{host_part}/{database}"),
    }
}

/// Removes clusters left by test processes that no longer run.
fn remove_stale_clusters(root: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh, migrated database; returns its URL.
pub fn fresh_database() -> (String, String) {
    let server = db_server();
    let name = format!("t_{}", short_id());
    let mut admin = PgConnection::establish(&server.admin_url).expect("connect to the test server");
    let mut attempts = 0;
    loop {
        match diesel::sql_query(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{}\"",
            server.template
        ))
        .execute(&mut admin)
        {
            Ok(_) => break,
            // Two copies of one template at the same instant can collide; retry.
            Err(e) if attempts < 50 && e.to_string().contains("being accessed by other users") => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("create test database: {e}"),
        }
    }
    ((server.url_for)(&name), name)
}

/// Runs SQL as the server's superuser on the maintenance database.
pub fn admin_sql(sql: &str) {
    let mut admin =
        PgConnection::establish(&db_server().admin_url).expect("connect to the test server");
    diesel::sql_query(sql)
        .execute(&mut admin)
        .expect("admin SQL");
}

/// A running service on its own database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The database URL the service uses.
    pub db_url: String,
    /// The database's name.
    pub db_name: String,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The service's shared state (its pool and in-memory catalogue).
    pub state: api::state::AppState,
}

/// Starts the service on a fresh database.
pub async fn spawn_app() -> TestApp {
    let (db_url, db_name) = tokio::task::spawn_blocking(fresh_database)
        .await
        .expect("create database");
    spawn_app_on(db_url, db_name).await
}

/// Starts the service on a fresh database holding the sample catalogue
/// (`data/sample-catalog.json`: majors 100701 药学, 120402 行政管理, 090502 园林).
pub async fn spawn_app_with_sample() -> TestApp {
    let app = spawn_app().await;
    app.import_sample().await;
    app
}

/// Starts the service with the sample catalogue behind a load balancer on the
/// loopback: `TRUSTED_PROXIES=127.0.0.1/32,::1/128`, so the client address is
/// taken from `X-Forwarded-For` (send one with [`TestApp::from_address`]).
pub async fn spawn_app_behind_proxy() -> TestApp {
    let (db_url, db_name) = tokio::task::spawn_blocking(fresh_database)
        .await
        .expect("create database");
    let mut settings = Settings::for_tests(db_url.clone());
    settings.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap(), "::1/128".parse().unwrap()];
    let app = spawn_with(settings, db_url, db_name).await;
    app.import_sample().await;
    app
}

/// Starts a second instance of `app`'s service: the same database and the same
/// signing key, as replicas behind a load balancer are. Dropping it leaves the
/// database to `app`.
pub async fn second_instance(app: &TestApp) -> TestApp {
    let mut settings = Settings::for_tests(app.db_url.clone());
    settings.jwt_key = api::config::JwtKeySource::Pem(app.state.keys.access_pem());
    spawn_with(
        settings,
        app.db_url.clone(),
        format!("second-{}", app.db_name),
    )
    .await
}

/// Starts the service against a given database URL (which may be unreachable).
pub async fn spawn_app_on(db_url: String, db_name: String) -> TestApp {
    let settings = Settings::for_tests(db_url.clone());
    spawn_with(settings, db_url, db_name).await
}

async fn spawn_with(settings: Settings, db_url: String, db_name: String) -> TestApp {
    let app = Application::build(&settings, &db_url)
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db_url,
        db_name,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        state,
    }
}

/// The service's worker threads outlive the test's runtime (actix runs them on
/// threads of their own), and with them their pool's connections. Dropping the
/// test's database when the test ends closes those connections, so a long suite
/// never exhausts the server's `max_connections`. Only databases made by
/// [`fresh_database`] (`t_…`) are dropped.
impl Drop for TestApp {
    fn drop(&mut self) {
        if !self.db_name.starts_with("t_") {
            return;
        }
        let name = self.db_name.clone();
        // Off the async thread; failures only leave a database behind.
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = PgConnection::establish(&db_server().admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin);
            }
        })
        .join();
    }
}

/// A response with its body read.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub text: String,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts a problem+json answer with this status and code; returns the body.
    pub fn assert_problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "content type; body: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "code; body: {}", self.text);
        assert_eq!(body["status"], status);
        assert!(body["request_id"].is_string());
        assert_eq!(
            body["request_id"].as_str(),
            self.header("x-request-id").as_deref()
        );
        body
    }
}

impl TestApp {
    /// Sends a request built by `build` and reads the reply.
    pub async fn send(&self, build: reqwest::RequestBuilder) -> Reply {
        let response = build.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Reply {
            status,
            headers,
            text,
        }
    }

    /// A URL on this app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    /// GET a path with `Accept-Language`.
    pub async fn get_lang(&self, path: &str, lang: &str) -> Reply {
        self.send(
            self.client
                .get(self.url(path))
                .header("accept-language", lang),
        )
        .await
    }

    /// Imports a catalogue document (JSON) through the import use case, as the
    /// service's admin import does, and refreshes the service's in-memory catalogue.
    pub async fn import_catalog(&self, json: &str) -> api::use_cases::catalogue::ImportReport {
        let catalog = api::use_cases::catalogue::parse_document(json.as_bytes())
            .unwrap_or_else(|p| panic!("the test catalogue is invalid: {p:?}"));
        let cache = self.state.catalog.clone();
        let mut conn = self.connect();
        api::use_cases::catalogue::import(&mut conn, None, &cache, &catalog)
            .expect("import the catalogue")
    }

    /// Imports `data/sample-catalog.json`.
    pub async fn import_sample(&self) -> api::use_cases::catalogue::ImportReport {
        self.import_catalog(api::use_cases::catalogue::SAMPLE_CATALOG)
            .await
    }

    /// A direct connection to this app's database.
    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.db_url).expect("connect")
    }

    /// Runs SQL on this app's database.
    pub fn sql(&self, sql: &str) {
        let mut conn = PgConnection::establish(&self.db_url).expect("connect");
        conn.batch_execute(sql).expect("SQL");
    }
}

/// A valid 18-character resident ID number born on `birth` (`YYYYMMDD`) with
/// sequence `seq` (0–999): region 420102 (武汉市江岸区), correct check character.
pub fn id_number(birth: &str, seq: u32) -> String {
    let body = format!("420102{birth}{:03}", seq % 1000);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{body}{}", CHECK[(sum % 11) as usize])
}

/// A 12-digit exam number derived from `n`.
pub fn exam_number(n: u32) -> String {
    format!("0101182{n:05}")
}

/// The password every test account gets unless a test says otherwise.
pub const PASSWORD: &str = "kaoshi2026";

impl TestApp {
    /// POST a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    /// POST a JSON body as a client at `address` behind the load balancer (an
    /// `X-Forwarded-For` that [`spawn_app_behind_proxy`] believes).
    pub async fn post_json_from(&self, address: &str, path: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .header("x-forwarded-for", address)
                .json(body),
        )
        .await
    }

    /// POST a JSON body with a bearer token.
    pub async fn post_json_as(&self, token: &str, path: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    /// PUT a JSON body with a bearer token.
    pub async fn put_json_as(&self, token: &str, path: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .put(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    /// GET with a bearer token.
    pub async fn get_as(&self, token: &str, path: &str) -> Reply {
        self.send(self.client.get(self.url(path)).bearer_auth(token))
            .await
    }

    /// Signs in; returns the token pair (panics unless 200).
    pub async fn login(&self, login: &str, password: &str) -> Value {
        let reply = self
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"login": login, "password": password}),
            )
            .await;
        assert_eq!(reply.status, 200, "login {login}: {}", reply.text);
        reply.json()
    }

    /// Creates an admin through the CLI's function and signs in; returns the access token.
    pub async fn admin_token(&self) -> String {
        let url = self.db_url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url).expect("connect");
            api::cli::create_admin(&mut conn, "admin", PASSWORD).expect("create admin");
        })
        .await
        .unwrap();
        self.login("admin", PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a school (as admin).
    pub async fn create_school(&self, admin: &str, code: &str) {
        let reply = self
            .post_json_as(
                admin,
                "/api/v1/admin/schools",
                &serde_json::json!({"code": code, "name": format!("{code} 学院")}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }

    /// Creates a staff account of `school` and signs in; returns the access token.
    pub async fn staff_token(&self, admin: &str, username: &str, school: &str) -> String {
        let reply = self
            .post_json_as(
                admin,
                "/api/v1/admin/staff",
                &serde_json::json!({"username": username, "password": PASSWORD, "name": "李老师", "school_code": school}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        self.login(username, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Registers candidate number `n` (of `school`, in major `major`); returns
    /// (profile, access token).
    pub async fn candidate(&self, n: u32, school: Option<&str>, major: &str) -> (Value, String) {
        let exam = exam_number(n);
        let mut body = serde_json::json!({
            "exam_number": exam,
            "id_number": id_number("19990101", n),
            "name": "张三",
            "phone": "13800138000",
            "password": PASSWORD,
            "major_code": major,
        });
        if let Some(school) = school {
            body["school_code"] = school.into();
        }
        let reply = self.post_json("/api/v1/auth/register", &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let token = self.login(&exam, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        (reply.json(), token)
    }

    /// Rows of a query on this app's database, as JSON (`SELECT row_to_json(…)`).
    pub fn query_json(&self, sql: &str) -> Vec<Value> {
        use diesel::sql_types::Text;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            j: String,
        }
        let mut conn = PgConnection::establish(&self.db_url).expect("connect");
        diesel::sql_query(format!("SELECT row_to_json(q)::text AS j FROM ({sql}) q"))
            .load::<Row>(&mut conn)
            .expect("query")
            .into_iter()
            .map(|r| serde_json::from_str(&r.j).unwrap())
            .collect()
    }
}

impl TestApp {
    /// PATCH a JSON body with a bearer token and optional `If-Match`.
    pub async fn patch_json_as(
        &self,
        token: &str,
        path: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Reply {
        let mut request = self
            .client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body);
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        self.send(request).await
    }

    /// Creates a round whose prior-degree and certification windows run from
    /// `opens_at` to `closes_at`, with pledge version `pledge_version`; returns it.
    pub fn open_round(
        &self,
        pledge_version: &str,
        opens_at: chrono::DateTime<chrono::Utc>,
        closes_at: chrono::DateTime<chrono::Utc>,
    ) -> persistence::rounds::RoundRecord {
        use domain::window::{Pledge, Window};
        let window = Window::new(opens_at, closes_at).expect("a valid window");
        persistence::rounds::create(
            &mut self.connect(),
            &persistence::rounds::NewRound {
                name: format!("测试轮次 {pledge_version}"),
                prior_degree_window: window,
                certification_window: window,
                pledge: Pledge::new(pledge_version, "本人承诺所填学历信息真实、准确。")
                    .expect("a valid pledge"),
            },
            chrono::Utc::now(),
        )
        .expect("create a round (a catalogue must be imported first)")
    }

    /// Creates a service account with `scopes` (as admin) and signs in; returns
    /// the access token.
    pub async fn integration_token(&self, admin: &str, username: &str, scopes: &[&str]) -> String {
        let reply = self
            .post_json_as(
                admin,
                "/api/v1/admin/service-accounts",
                &serde_json::json!({"username": username, "name": "核验同步", "scopes": scopes}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let secret = reply.json()["secret"].as_str().unwrap().to_owned();
        self.login(username, &secret).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// A fresh database for use-case tests, without HTTP: a connection, the
/// catalogue cache holding the sample catalogue, and the demo round (windows open
/// from a day ago). The database is dropped with the value.
pub struct UseCaseDb {
    /// A connection to the database.
    pub conn: PgConnection,
    /// The in-memory catalogue, as the service keeps it.
    pub catalog: api::catalog_cache::CatalogCache,
    /// The demo round (prior-degree window 60 days, certification 90).
    pub round: persistence::rounds::RoundRecord,
    /// The database's name.
    pub db_name: String,
    /// How many prior degrees [`UseCaseDb::prior_degree`] made (for their numbers).
    degrees: u32,
}

impl UseCaseDb {
    /// A database with the sample catalogue and the demo round.
    pub fn with_sample() -> Self {
        let (url, db_name) = fresh_database();
        let mut conn = PgConnection::establish(&url).expect("connect");
        let (_, round) =
            api::use_cases::catalogue::seed_sample_if_empty(&mut conn, chrono::Utc::now())
                .expect("seed the sample catalogue")
                .expect("a fresh database has no catalogue");
        let catalog = api::catalog_cache::CatalogCache::default();
        catalog.refresh(&mut conn).expect("load the catalogue");
        Self {
            conn,
            catalog,
            round,
            db_name,
            degrees: 0,
        }
    }
}

impl Drop for UseCaseDb {
    fn drop(&mut self) {
        let name = self.db_name.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = PgConnection::establish(&db_server().admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin);
            }
        })
        .join();
    }
}

/// Accounts and records for use-case tests, made with the persistence layer's own
/// functions (no HTTP, no sign-in): each returns the [`api::access::Actor`] a
/// verified token of that account would give.
impl UseCaseDb {
    /// Creates school `code` (named `{code} 学院`).
    pub fn school(&mut self, code: &str) {
        persistence::accounts::insert_school(&mut self.conn, code, &format!("{code} 学院"))
            .expect("create a school");
    }

    fn account(&mut self, account: persistence::accounts::NewAccount) -> api::access::Actor {
        let row = persistence::accounts::insert_account(&mut self.conn, &account)
            .expect("create an account");
        actor_of_row(row)
    }

    /// Candidate number `n` (exam number [`exam_number`]`(n)`, ID number
    /// [`id_number`]`("19990101", n)`) in self-study major `major`, of `school`
    /// (which must exist) if given.
    pub fn candidate(&mut self, n: u32, school: Option<&str>, major: &str) -> api::access::Actor {
        self.account(persistence::accounts::NewAccount {
            id: uuid::Uuid::now_v7(),
            role: domain::account::Role::Candidate,
            exam_number: Some(exam_number(n)),
            id_number: Some(id_number("19990101", n)),
            username: None,
            name: format!("考生{n}"),
            phone: Some("13800138000".into()),
            major_code: Some(major.into()),
            school_code: school.map(str::to_owned),
            password_hash: "not-a-hash".into(),
            must_change_password: false,
            scopes: Vec::new(),
        })
    }

    fn person(
        &mut self,
        role: &str,
        username: &str,
        school: Option<&str>,
        scopes: &[domain::account::Scope],
    ) -> api::access::Actor {
        self.account(persistence::accounts::NewAccount {
            id: uuid::Uuid::now_v7(),
            role: domain::account::Role::parse(role).expect("a role"),
            exam_number: None,
            id_number: None,
            username: Some(username.into()),
            name: format!("{username} 老师"),
            phone: None,
            major_code: None,
            school_code: school.map(str::to_owned),
            password_hash: "not-a-hash".into(),
            must_change_password: false,
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        })
    }

    /// A staff account of `school` (which must exist).
    pub fn staff(&mut self, username: &str, school: &str) -> api::access::Actor {
        self.person("staff", username, Some(school), &[])
    }

    /// An admin account.
    pub fn admin(&mut self, username: &str) -> api::access::Actor {
        self.person("admin", username, None, &[])
    }

    /// A service account holding `scopes`.
    pub fn service_account(
        &mut self,
        username: &str,
        scopes: &[domain::account::Scope],
    ) -> api::access::Actor {
        self.person("integration", username, None, scopes)
    }

    /// A prior degree of `candidate` in the demo round, made as the service makes
    /// it (the prior-degree use cases): created with the round's pledge, submitted,
    /// then given verification result `status` (`effective`, or `rejected` with
    /// feedback) by `verifier`, or left `submitted` when `status` is `submitted`.
    /// A regular (全日制) degree of `level` (`associate`, `bachelor`) in major
    /// `major_name`, graduated 2016. Returns its id.
    pub fn prior_degree(
        &mut self,
        candidate: &api::access::Actor,
        level: &str,
        major_name: &str,
        status: &str,
        verifier: &api::access::Actor,
    ) -> uuid::Uuid {
        self.degrees += 1;
        prior_degree_by_use_cases(
            &mut self.conn,
            (candidate, verifier),
            chrono::Utc::now(),
            self.degrees,
            (level, major_name, status),
        )
    }
}

/// The [`api::access::Actor`] a verified access token of account `row` gives.
fn actor_of_row(row: persistence::accounts::AccountRow) -> api::access::Actor {
    api::access::Actor {
        id: row.id,
        role: row.role,
        school: row.school_code,
        scopes: row
            .scopes
            .iter()
            .map(|s| domain::account::Scope::parse(s).expect("a stored scope"))
            .collect(),
        must_change_password: row.must_change_password,
    }
}

/// A prior degree of `candidate` made at `now` as the service makes it (the
/// prior-degree use cases), in the round current at `now` (whose prior-degree
/// window must be open then): created accepting that round's pledge, left a
/// `draft` or submitted, then given verification result `status` (`effective`,
/// or `rejected` with feedback) by `verifier`, or left `submitted`. A regular
/// (全日制) degree of `level` (`associate`, `bachelor`) in major `major_name`,
/// graduated 2016, certificate serial `serial` (unique in the database). Returns
/// its id.
fn prior_degree_by_use_cases(
    conn: &mut PgConnection,
    (candidate, verifier): (&api::access::Actor, &api::access::Actor),
    now: chrono::DateTime<chrono::Utc>,
    serial: u32,
    (level, major_name, status): (&str, &str, &str),
) -> uuid::Uuid {
    use api::use_cases::prior_degrees as cases;
    let round = persistence::rounds::current(conn, now)
        .expect("read the current round")
        .expect("a round open at `now`");
    let level_code = if level == "bachelor" { "05" } else { "06" };
    let new = cases::NewDegree {
        pledge_version: Some(round.pledge.version().to_owned()),
        pledge_accepted: Some(true),
        declared: domain::prior_degree::Declared {
            certificate_number: format!("1052112016{level_code}{serial:06}"),
            school_name: "湖北职业技术学院".into(),
            major_name: major_name.into(),
            level: level.into(),
            education_type: "regular".into(),
            graduation_date: "2016-07-01".into(),
        },
    };
    let draft = cases::create(conn, candidate, now, &new).expect("create a prior degree");
    let id = draft.row.id;
    if status == "draft" {
        return id;
    }
    cases::submit(conn, candidate, now, (id, None)).expect("submit the prior degree");
    if status != "submitted" {
        let feedback = (status == "rejected").then_some("学信网查无此证书");
        cases::verify(conn, verifier, now, (id, None), (status, feedback))
            .expect("verify the prior degree");
    }
    id
}

/// Actors and records made through the use cases (`api::use_cases`) directly, for
/// end-to-end tests whose fixtures need no HTTP of their own.
impl TestApp {
    /// The [`api::access::Actor`] a verified access token of account `id` (as the
    /// API shows it) would give.
    pub fn actor_of(&self, id: &str) -> api::access::Actor {
        let id = id.parse().expect("an account id");
        actor_of_row(persistence::accounts::find(&mut self.connect(), id).expect("the account"))
    }

    /// The actor of the staff, admin or service account signed in as `username`
    /// (`admin` for [`TestApp::admin_token`]'s).
    pub fn actor_named(&self, username: &str) -> api::access::Actor {
        let key = persistence::accounts::LoginKey::Username(username.into());
        let row = persistence::accounts::find_by_login(&mut self.connect(), &key)
            .expect("read the account")
            .expect("an account of that username");
        actor_of_row(row)
    }

    /// [`prior_degree_by_use_cases`] now, in the current round, with a serial of
    /// its own.
    pub fn prior_degree(
        &self,
        candidate: &api::access::Actor,
        level: &str,
        major_name: &str,
        status: &str,
        verifier: &api::access::Actor,
    ) -> uuid::Uuid {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        prior_degree_by_use_cases(
            &mut self.connect(),
            (candidate, verifier),
            chrono::Utc::now(),
            serial,
            (level, major_name, status),
        )
    }
}
