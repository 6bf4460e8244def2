//! The fault suite (issue 16): the real `zikao-cert` binary on a private
//! PostgreSQL cluster, under write load where every request carries an
//! `Idempotency-Key` and is retried with the same key until it is answered, while
//! the database restarts (fast, and as after a crash), the service is killed with
//! SIGKILL and started again, and every connection slot is taken for a while.
//!
//! After each scenario the database is checked: every acknowledged create exists
//! exactly once, no key has more than one effect, no answer was a 500, no key was
//! left without its answer, and the service recovered by itself. Each scenario
//! prints its figures. One test, so that cargo runs the scenarios one after the
//! other, alone.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use persistence::local_pg::LocalCluster;
use serde_json::{Value, json};

const CLIENTS: usize = 8;
const LOAD: Duration = Duration::from_secs(12);
const FAULT_AT: Duration = Duration::from_secs(3);
const RETRY_FOR: Duration = Duration::from_secs(60);

struct Service {
    child: Child,
}

struct World {
    root: PathBuf,
    cluster: Option<LocalCluster>,
    url: String,
    service: Option<Service>,
    port: u16,
    second: Option<Service>,
    second_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl World {
    fn new() -> Self {
        let root = std::env::temp_dir().join(format!("zikao-faults-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let cluster = LocalCluster::ensure_with(&root, 100).expect("start PostgreSQL");
        cluster.create_database("faults").expect("create database");
        let url = cluster.url("faults");
        Self {
            root,
            cluster: Some(cluster),
            url,
            service: None,
            port: free_port(),
            second: None,
            second_port: free_port(),
        }
    }

    fn start_service(&mut self) {
        self.service = Some(self.spawn_service(self.port));
    }

    fn start_second(&mut self) {
        self.second = Some(self.spawn_service(self.second_port));
    }

    fn kill_second(&mut self) {
        if let Some(mut service) = self.second.take() {
            let _ = service.child.kill();
            let _ = service.child.wait();
        }
    }

    fn spawn_service(&self, port: u16) -> Service {
        let child = Command::new(env!("CARGO_BIN_EXE_zikao-cert"))
            .env("DATABASE_URL", &self.url)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("JWT_KEY_FILE", self.root.join("jwt.pem"))
            .env("ZIKAO_DATA_DIR", self.root.join("data"))
            .env("LOAD_SAMPLE_CATALOG", "true")
            .env("DB_POOL_SIZE", "8")
            // Clients sign up from addresses of their own, through a "balancer":
            // 32 registrations from one address would pass the limit of 20.
            .env("TRUSTED_PROXIES", "127.0.0.1/32")
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the service");
        Service { child }
    }

    fn kill_service(&mut self) {
        if let Some(mut service) = self.service.take() {
            let _ = service.child.kill(); // SIGKILL
            let _ = service.child.wait();
        }
    }

    fn bases(&self) -> Vec<String> {
        let mut bases = vec![format!("http://127.0.0.1:{}", self.port)];
        if self.second.is_some() {
            bases.push(format!("http://127.0.0.1:{}", self.second_port));
        }
        bases
    }

    fn restart_db_fast(&mut self) {
        if let Some(mut cluster) = self.cluster.take() {
            cluster.stop();
        }
        self.cluster = Some(LocalCluster::ensure_with(&self.root, 100).expect("restart"));
    }

    fn restart_db_as_after_a_crash(&mut self) {
        let pid = postmaster_pid(&self.root.join("pg"));
        // SIGQUIT is PostgreSQL's immediate shutdown: no checkpoint, recovery at start.
        let _ = Command::new("kill")
            .args(["-QUIT", &pid.to_string()])
            .status();
        for _ in 0..300 {
            if Command::new("kill")
                .args(["-0", &pid.to_string()])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| !s.success())
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Some(cluster) = self.cluster.take() {
            drop(cluster);
        }
        self.cluster = Some(LocalCluster::ensure_with(&self.root, 100).expect("restart"));
    }

    fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect")
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.kill_service();
        self.kill_second();
        if let Some(mut cluster) = self.cluster.take() {
            cluster.stop();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn postmaster_pid(data_dir: &Path) -> i32 {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
        .expect("postmaster.pid")
}

async fn wait_ready(client: &reqwest::Client, base: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the service did not become ready within {limit:?}");
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    requests: u64,
    acknowledged: HashMap<String, (usize, String)>,
    unanswered: Vec<(usize, String)>,
    by_status: HashMap<u16, u64>,
    connection_errors: u64,
    split_answers: u64,
    first_2xx_after_fault: Option<Instant>,
}

fn exam_number(n: usize) -> String {
    format!("0101182{:05}", n)
}

fn id_number(n: usize) -> String {
    // 17 digits, then the ISO 7064 MOD 11-2 check character.
    let body = format!("42010219990101{:03}", n % 1000);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

async fn sign_up(client: &reqwest::Client, base: &str, n: usize) -> String {
    let register = json!({
        "exam_number": exam_number(n), "id_number": id_number(n), "name": "张三",
        "phone": "13800138000", "password": "kaoshi2026", "major_code": "100701",
    });
    let from = format!("10.0.{}.{}", n / 250, n % 250 + 1);
    let r = client
        .post(format!("{base}/api/v1/auth/register"))
        .header("x-forwarded-for", &from)
        .json(&register)
        .send()
        .await
        .expect("register");
    assert!(
        r.status() == 201 || r.status() == 409,
        "register: {}",
        r.status()
    );
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", &from)
        .json(&json!({"login": exam_number(n), "password": "kaoshi2026"}))
        .send()
        .await
        .expect("login");
    let body: Value = login.json().await.expect("token");
    body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

fn draft() -> Value {
    json!({
        "kind": "certificate",
        "certificate": {"kind": "ncre1", "number": "180101010012", "obtained_on": "2017-06-30"},
        "items": [{"course_code": "00019"}],
    })
}

/// One client: creates drafts, each with a fresh key, retrying it (same key)
/// through every failure until it is answered or `RETRY_FOR` passes. With two
/// instances, every attempt goes to both at once (a duplicate racing itself).
async fn client_loop(
    client: reqwest::Client,
    bases: Vec<String>,
    n: usize,
    token: String,
    until: Instant,
    fault: Arc<Mutex<Option<Instant>>>,
    tally: Arc<Mutex<Tally>>,
) {
    let mut token = token;
    while Instant::now() < until {
        let key = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let mut answered = false;
        while started.elapsed() < RETRY_FOR && !answered {
            let sends = bases.iter().map(|base| {
                client
                    .post(format!("{base}/api/v1/certification-applications"))
                    .bearer_auth(&token)
                    .header("idempotency-key", &key)
                    .json(&draft())
                    .timeout(Duration::from_secs(10))
                    .send()
            });
            let replies = futures_util::future::join_all(sends).await;
            let mut ids = Vec::new();
            let mut expired = false;
            for sent in replies {
                tally.lock().unwrap().requests += 1;
                let Ok(reply) = sent else {
                    tally.lock().unwrap().connection_errors += 1;
                    continue;
                };
                let status = reply.status().as_u16();
                *tally.lock().unwrap().by_status.entry(status).or_default() += 1;
                match status {
                    201 => {
                        let body: Value = reply.json().await.unwrap_or_default();
                        ids.push(body["id"].as_str().unwrap_or_default().to_owned());
                    }
                    // A safety net only: the key file keeps tokens valid across restarts.
                    401 => expired = true,
                    s if s >= 500 => {}
                    _ => answered = true,
                }
            }
            if expired {
                token = sign_up(&client, &bases[0], n).await;
            }
            if let Some(id) = ids.first() {
                let mut t = tally.lock().unwrap();
                if ids.iter().any(|other| other != id) {
                    t.split_answers += 1;
                }
                t.acknowledged.insert(key.clone(), (n, id.clone()));
                let faulted = *fault.lock().unwrap();
                if faulted.is_some_and(|f| Instant::now() > f) && t.first_2xx_after_fault.is_none()
                {
                    t.first_2xx_after_fault = Some(Instant::now());
                }
                answered = true;
            }
            if !answered {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        if !answered {
            tally.lock().unwrap().unanswered.push((n, key));
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .expect("count")
        .n
}

/// Runs the load with `fault` injected at `FAULT_AT`, then checks the database.
fn scenario(world: &mut World, name: &str, fault: impl FnOnce(&mut World)) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = reqwest::Client::new();
    let bases = world.bases();
    let base = bases[0].clone();
    for b in &bases {
        rt.block_on(wait_ready(&client, b, Duration::from_secs(60)));
    }
    let first = 1 + count(&mut world.conn(), "SELECT count(*) AS n FROM accounts") as usize;
    let tokens: Vec<(usize, String)> = rt.block_on(async {
        let mut tokens = Vec::new();
        for n in first..first + CLIENTS {
            tokens.push((n, sign_up(&client, &base, n).await));
        }
        tokens
    });
    let before: HashMap<usize, i64> = tokens
        .iter()
        .map(|(n, _)| (*n, applications_of(&mut world.conn(), *n)))
        .collect();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let fault_time = Arc::new(Mutex::new(None));
    let until = Instant::now() + LOAD;
    let handles: Vec<_> = tokens
        .iter()
        .map(|(n, token)| {
            rt.spawn(client_loop(
                client.clone(),
                bases.clone(),
                *n,
                token.clone(),
                until,
                fault_time.clone(),
                tally.clone(),
            ))
        })
        .collect();
    std::thread::sleep(FAULT_AT);
    fault(world);
    // Recovery is counted from the end of the fault to the first acknowledged create.
    let injected = Instant::now();
    *fault_time.lock().unwrap() = Some(injected);
    rt.block_on(async {
        for h in handles {
            h.await.expect("client");
        }
    });
    let tally = tally.lock().unwrap();
    let recovery = tally.first_2xx_after_fault.map(|t| t - injected);

    // From the database afterwards.
    let mut conn = world.conn();
    let mut lost = 0;
    for (_, id) in tally.acknowledged.values() {
        let sql = format!("SELECT count(*) AS n FROM certification_applications WHERE id = '{id}'");
        if uuid::Uuid::parse_str(id).is_err() || count(&mut conn, &sql) != 1 {
            lost += 1;
        }
    }
    let mut doubled = 0;
    for (n, _) in &tokens {
        let acked = tally.acknowledged.values().filter(|(m, _)| m == n).count() as i64;
        let unknown = tally.unanswered.iter().filter(|(m, _)| m == n).count() as i64;
        let effects = applications_of(&mut conn, *n) - before[n];
        // Each key has at most one effect: acknowledged keys exactly one, keys that
        // were never answered at most one.
        if effects > acked + unknown || effects < acked {
            doubled += (effects - acked - unknown).max(0);
            lost += (acked - effects).max(0);
        }
    }
    let unanswered_keys = count(
        &mut conn,
        "SELECT count(*) AS n FROM idempotency_keys WHERE status IS NULL",
    );
    let orphan_items = count(
        &mut conn,
        "SELECT count(*) AS n FROM application_items i WHERE NOT EXISTS
           (SELECT 1 FROM certification_applications a WHERE a.id = i.application_id)",
    );
    let mut statuses: Vec<_> = tally.by_status.iter().collect();
    statuses.sort();
    println!(
        "fault scenario {name}: requests {}, acknowledged {}, lost {lost}, doubled {doubled}, \
         unanswered {}, answers by status {statuses:?}, connection errors {}, \
         recovered {} after the fault ended",
        tally.requests,
        tally.acknowledged.len(),
        tally.unanswered.len(),
        tally.connection_errors,
        recovery.map_or("never".into(), |d| format!("{:.1} s", d.as_secs_f64())),
    );
    assert_eq!(lost, 0, "{name}: acknowledged creates lost");
    assert_eq!(
        tally.split_answers, 0,
        "{name}: one key answered with two ids"
    );
    assert_eq!(doubled, 0, "{name}: keys with more than one effect");
    assert_eq!(
        tally.by_status.get(&500).copied().unwrap_or(0),
        0,
        "{name}: 500 answers"
    );
    // Every create is valid: a 4xx (a stuck key's 409 …) is a fault.
    let refused: u64 = (tally.by_status.iter())
        .filter(|(s, _)| (400..500).contains(*s) && **s != 401)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(refused, 0, "{name}: valid creates refused");
    assert!(
        tally.unanswered.is_empty(),
        "{name}: keys never answered within {RETRY_FOR:?}"
    );
    assert_eq!(unanswered_keys, 0, "{name}: keys left without their answer");
    assert_eq!(orphan_items, 0, "{name}: half-written applications");
    assert!(
        recovery.is_some(),
        "{name}: the service did not recover by itself"
    );
}

fn applications_of(conn: &mut PgConnection, n: usize) -> i64 {
    count(
        conn,
        &format!(
            "SELECT count(*) AS n FROM certification_applications a JOIN accounts c
             ON c.id = a.candidate_id WHERE c.exam_number = '{}'",
            exam_number(n)
        ),
    )
}

#[test]
fn nothing_doubled_nothing_stuck_through_crashes_and_outages() {
    let mut world = World::new();
    world.start_service();

    scenario(&mut world, "postgres fast restart", |w| w.restart_db_fast());
    scenario(&mut world, "postgres crash restart", |w| {
        w.restart_db_as_after_a_crash()
    });
    scenario(&mut world, "service kill -9 and restart", |w| {
        w.kill_service();
        std::thread::sleep(Duration::from_millis(500));
        w.start_service();
    });
    world.start_second();
    scenario(
        &mut world,
        "two instances, every create sent to both, one killed",
        |w| {
            w.kill_second();
        },
    );
    scenario(&mut world, "every connection slot taken for 5 s", |w| {
        // The test takes every free slot, then ends the service's connections, so
        // that the service cannot connect again until the slots are released.
        let grabbing = chrono_now(&mut w.conn());
        let mut held = Vec::new();
        while let Ok(conn) = PgConnection::establish(&w.url) {
            held.push(conn);
            if held.len() > 200 {
                break;
            }
        }
        let mut admin = held.pop().expect("a connection");
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND backend_start < '{grabbing}'"
        ))
        .execute(&mut admin)
        .expect("terminate");
        held.push(admin);
        std::thread::sleep(Duration::from_secs(5));
        drop(held);
    });
}

/// The database's clock now, as text.
fn chrono_now(conn: &mut PgConnection) -> String {
    #[derive(diesel::QueryableByName)]
    struct Now {
        #[diesel(sql_type = diesel::sql_types::Text)]
        now: String,
    }
    diesel::sql_query("SELECT now()::text AS now")
        .get_result::<Now>(conn)
        .expect("now")
        .now
}
