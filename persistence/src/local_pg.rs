//! A private PostgreSQL cluster made from the server binaries installed on this
//! machine, for local runs and tests when no `DATABASE_URL` is given.
//!
//! The cluster lives in a data folder of ours and listens only on a Unix socket,
//! so several clusters (the service's, each test run's) never fight over a port.
//! `initdb` and `postgres` refuse to run as root; as root we run them as the
//! `postgres` system user, and make the data folder reachable for that user.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection};

/// Why a local cluster could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    /// No PostgreSQL server binaries were found.
    #[error(
        "PostgreSQL server binaries (initdb, postgres) were not found. Either install them \
         (Debian: apt-get install postgresql), or set DATABASE_URL to an existing server, \
         or run `docker compose up` (see README)."
    )]
    BinariesMissing,
    /// Running as root but there is no `postgres` user to run the server as.
    #[error(
        "running as root, and there is no `postgres` system user to run the database as; \
         create one (useradd -r postgres) or set DATABASE_URL"
    )]
    NoPostgresUser,
    /// A step of creating or starting the cluster failed.
    #[error("local PostgreSQL: {0}")]
    Step(String),
}

fn step(what: impl Into<String>) -> LocalPgError {
    LocalPgError::Step(what.into())
}

/// A running private cluster. Dropping it does not stop it: call [`LocalCluster::stop`].
#[derive(Debug)]
pub struct LocalCluster {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    /// Present when this process started the server (and so must stop it).
    server: Option<RunningServer>,
}

#[derive(Debug)]
struct RunningServer {
    pid: i32,
    exited: std::sync::Mutex<mpsc::Receiver<()>>,
}

impl RunningServer {
    fn wait_exit(&self, limit: Duration) -> bool {
        self.exited
            .lock()
            .map(|rx| rx.recv_timeout(limit).is_ok())
            .unwrap_or(true)
    }
}

const PORT: u16 = 5432;
const SUPERUSER: &str = "postgres";

impl LocalCluster {
    /// Makes the cluster in `root/pg` on first use, and starts it unless a server
    /// already runs on that folder (then it is shared and left running on stop).
    pub fn ensure(root: &Path) -> Result<Self, LocalPgError> {
        Self::ensure_with(root, 200)
    }

    /// Like [`LocalCluster::ensure`], allowing `max_connections` clients (a test
    /// run with many apps, each with its own pool, needs more).
    pub fn ensure_with(root: &Path, max_connections: u32) -> Result<Self, LocalPgError> {
        let bin = find_bin_dir().ok_or(LocalPgError::BinariesMissing)?;
        let owner = server_owner()?;
        fs::create_dir_all(root).map_err(|e| step(format!("create {}: {e}", root.display())))?;
        let root = root
            .canonicalize()
            .map_err(|e| step(format!("resolve {}: {e}", root.display())))?;
        let data_dir = root.join("pg");
        let socket_dir = socket_dir_for(&root);
        for dir in [&data_dir, &socket_dir] {
            fs::create_dir_all(dir).map_err(|e| step(format!("create {}: {e}", dir.display())))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| step(format!("chmod {}: {e}", dir.display())))?;
            if let Some((uid, gid)) = owner {
                chown(dir, Some(uid), Some(gid))
                    .map_err(|e| step(format!("chown {}: {e}", dir.display())))?;
                make_reachable(dir, uid)?;
            }
        }

        if !data_dir.join("PG_VERSION").exists() {
            tracing::info!(data_dir = %data_dir.display(), "creating a private PostgreSQL cluster (first run)");
            let output = as_owner(Command::new(bin.join("initdb")), owner)
                .arg("-D")
                .arg(&data_dir)
                .args([
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| step(format!("run initdb: {e}")))?;
            if !output.status.success() {
                return Err(step(format!(
                    "initdb failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
        }

        let mut cluster = Self {
            data_dir,
            socket_dir,
            port: PORT,
            server: None,
        };
        if cluster.running_pid().is_none() {
            cluster.server = Some(cluster.start(&bin, owner, max_connections)?);
        }
        cluster.wait_ready(Duration::from_secs(60))?;
        Ok(cluster)
    }

    /// The connection URL for `database` on this cluster (over its Unix socket).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{}/{database}?host={}",
            self.port,
            self.socket_dir.display()
        )
    }

    /// Creates `database` unless it exists.
    pub fn create_database(&self, database: &str) -> Result<(), LocalPgError> {
        use diesel::RunQueryDsl;
        let mut conn = PgConnection::establish(&self.url("postgres"))
            .map_err(|e| step(format!("connect: {e}")))?;
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{}')",
            database.replace('\'', "''")
        )))
        .get_result(&mut conn)
        .map_err(|e| step(format!("query: {e}")))?;
        if !exists {
            diesel::sql_query(format!("CREATE DATABASE \"{}\"", database.replace('"', "")))
                .execute(&mut conn)
                .map_err(|e| step(format!("create database: {e}")))?;
        }
        Ok(())
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the server if this process started it (fast shutdown), waiting for it.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            // SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, data is safe.
            signal(server.pid, libc::SIGINT);
            if !server.wait_exit(Duration::from_secs(30)) {
                signal(server.pid, libc::SIGQUIT);
            }
        }
    }

    fn running_pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        // Signal 0 only asks whether the process exists.
        signal_ok(pid, 0).then_some(pid)
    }

    fn start(
        &self,
        bin: &Path,
        owner: Option<(u32, u32)>,
        max_connections: u32,
    ) -> Result<RunningServer, LocalPgError> {
        let log_path = self.data_dir.join("server.log");
        let mut command = as_owner(Command::new(bin.join("postgres")), owner);
        command
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-k")
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses="])
            .args(["-c", &format!("max_connections={max_connections}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        die_with_parent(&mut command);

        // The server is spawned from a thread that lives exactly as long as the
        // server: PR_SET_PDEATHSIG fires when the spawning *thread* ends, and a
        // dedicated thread keeps that tied to this process's life.
        let (pid_tx, pid_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("local-postgres".into())
            .spawn(move || {
                let mut child = match command.spawn() {
                    Ok(child) => child,
                    Err(e) => {
                        let _ = pid_tx.send(Err(format!("start postgres: {e}")));
                        return;
                    }
                };
                let _ = pid_tx.send(Ok(child.id() as i32));
                if let Some(stderr) = child.stderr.take() {
                    let mut log = fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&log_path)
                        .ok();
                    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                        if let Some(log) = log.as_mut() {
                            use std::io::Write;
                            let _ = writeln!(log, "{line}");
                        }
                    }
                }
                let _ = child.wait();
                let _ = exit_tx.send(());
            })
            .map_err(|e| step(format!("spawn thread: {e}")))?;
        let pid = pid_rx
            .recv()
            .map_err(|_| step("postgres did not start"))?
            .map_err(step)?;
        Ok(RunningServer {
            pid,
            exited: std::sync::Mutex::new(exit_rx),
        })
    }

    fn wait_ready(&self, limit: Duration) -> Result<(), LocalPgError> {
        let started = Instant::now();
        loop {
            match PgConnection::establish(&self.url("postgres")) {
                Ok(_) => return Ok(()),
                Err(e) => {
                    if let Some(server) = &self.server
                        && server.wait_exit(Duration::ZERO)
                    {
                        return Err(step(format!(
                            "postgres exited at start; see {}",
                            self.data_dir.join("server.log").display()
                        )));
                    }
                    if started.elapsed() > limit {
                        return Err(step(format!("not ready after {limit:?}: {e}")));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

/// Where the server binaries are: `PG_BIN_DIR`, else `pg_config --bindir`, else the
/// newest `/usr/lib/postgresql/*/bin` (Debian's layout).
fn find_bin_dir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from) {
        return has_server(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server(&dir) {
            return Some(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, dir)| dir)
}

/// `Some((uid, gid))` of the `postgres` user when we are root, `None` otherwise.
fn server_owner() -> Result<Option<(u32, u32)>, LocalPgError> {
    // SAFETY-free: geteuid has no preconditions; libc exposes it as a safe-to-call fn.
    if current_euid() != 0 {
        return Ok(None);
    }
    let passwd =
        fs::read_to_string("/etc/passwd").map_err(|e| step(format!("read /etc/passwd: {e}")))?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() > 3 && fields[0] == "postgres")
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
        .map(Some)
        .ok_or(LocalPgError::NoPostgresUser)
}

fn as_owner(mut command: Command, owner: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
        command.env("HOME", "/tmp");
    }
    command
}

/// Lets the server user walk down to `dir`: adds search permission (x, not read)
/// for others on any ancestor that lacks it, e.g. a `mktemp -d` checkout (mode 700).
fn make_reachable(dir: &Path, uid: u32) -> Result<(), LocalPgError> {
    use std::os::unix::fs::MetadataExt;
    for ancestor in dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(ancestor) else {
            continue;
        };
        if meta.uid() == uid || meta.mode() & 0o001 != 0 {
            continue;
        }
        let mode = meta.mode() | 0o001;
        fs::set_permissions(ancestor, fs::Permissions::from_mode(mode & 0o7777)).map_err(|e| {
            step(format!(
                "{} is not reachable by the postgres user and could not be opened up: {e}",
                ancestor.display()
            ))
        })?;
        tracing::info!(folder = %ancestor.display(), "added search permission so the postgres user can reach the data folder");
    }
    Ok(())
}

/// A short socket folder: Unix socket paths are limited to about 100 bytes.
fn socket_dir_for(root: &Path) -> PathBuf {
    let inside = root.join("run");
    if inside.as_os_str().len() < 80 {
        return inside;
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    root.hash(&mut hasher);
    std::env::temp_dir().join(format!("zikao-pg-{:016x}", hasher.finish()))
}

#[allow(unsafe_code)]
fn current_euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

#[allow(unsafe_code)]
fn signal_ok(pid: i32, sig: i32) -> bool {
    // SAFETY: kill only sends a signal; a wrong pid yields an error code, not UB.
    unsafe { libc::kill(pid, sig) == 0 }
}

fn signal(pid: i32, sig: i32) {
    let _ = signal_ok(pid, sig);
}

#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs between fork and exec and calls only prctl, which is
    // async-signal-safe; it allocates nothing.
    unsafe {
        command.pre_exec(|| {
            // Fast shutdown of the server when the thread that spawned it goes away.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
            Ok(())
        });
    }
}
