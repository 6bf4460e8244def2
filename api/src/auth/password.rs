//! Argon2id password hashing at OWASP's parameters (m = 19 MiB, t = 2, p = 1).
//! Requests call them through [`hash_off_worker`] and [`verify_off_worker`], which run
//! them on a fixed set of hashing threads: each takes tens of ms and 19 MiB.

use std::sync::LazyLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

fn hasher() -> Argon2<'static> {
    // The parameters are constants within Argon2's limits.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> Result<String, String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2: {e}"))
}

/// Whether `password` matches `phc`; a malformed hash never matches.
pub fn verify(phc: &str, password: &str) -> bool {
    hasher().verify_password(password.as_bytes(), phc).is_ok()
}

/// Requests waiting for a hashing thread, at most; beyond, 503 with `Retry-After`.
const QUEUE: usize = 256;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads, one per core, that run every Argon2 computation of a
/// request: however many sign-ins arrive at once, at most that many 19 MiB
/// blocks are in use, always by the same threads (whose allocator keeps and
/// reuses them instead of faulting in fresh memory per request), and the rest of
/// the service keeps the blocking pool and the database connections to itself.
/// Waiting jobs queue in order; a full queue is refused.
struct HashPool {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

static POOL: LazyLock<HashPool> = LazyLock::new(|| {
    let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(QUEUE);
    let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for i in 0..threads {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                loop {
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a hashing thread");
        }
    }
    HashPool { jobs }
});

/// Runs `work` on a hashing thread and waits for it without blocking a worker.
async fn on_hash_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, crate::http::problem::ApiError> {
    use crate::http::problem::ApiError;
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    POOL.jobs.try_send(job).map_err(|e| match e {
        std::sync::mpsc::TrySendError::Full(_) => {
            let mut busy =
                ApiError::unavailable("every hashing thread is busy and the queue is full");
            busy.0.retry_after = Some(1);
            busy
        }
        std::sync::mpsc::TrySendError::Disconnected(_) => ApiError::internal("no hashing thread"),
    })?;
    result
        .await
        .map_err(|_| ApiError::internal("a hashing thread ended"))
}

/// [`hash`] on the hashing threads, without holding a database connection.
pub async fn hash_off_worker(password: String) -> Result<String, crate::http::problem::ApiError> {
    use crate::http::problem::ApiError;
    on_hash_pool(move || hash(&password))
        .await?
        .map_err(ApiError::internal)
}

/// [`verify`] on the hashing threads, without holding a database connection.
/// `None` for the hash verifies against [`DUMMY_HASH`] (and never matches), so
/// that an unknown login costs as much as a wrong password.
pub async fn verify_off_worker(
    phc: Option<String>,
    password: String,
) -> Result<bool, crate::http::problem::ApiError> {
    on_hash_pool(move || match phc {
        Some(phc) => verify(&phc, &password),
        None => {
            let _ = verify(&DUMMY_HASH, &password);
            false
        }
    })
    .await
}

/// Hashes the temporary passwords on a few threads: Argon2 at OWASP parameters
/// costs tens of milliseconds (and 19 MiB) each, so a class list of hundreds is
/// seconds of CPU. At most 4 threads, so one import cannot take every core.
pub fn hash_many(passwords: &[String]) -> Result<Vec<String>, String> {
    if passwords.is_empty() {
        return Ok(Vec::new());
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let chunk = passwords.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = passwords
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|p| hash(p)).collect::<Result<Vec<_>, _>>())
            })
            .collect();
        let mut hashes = Vec::with_capacity(passwords.len());
        for handle in handles {
            hashes.extend(handle.join().map_err(|_| "hashing thread panicked")??);
        }
        Ok(hashes)
    })
}

/// A hash of a random password, verified against when a login names no
/// account, so that an unknown login costs the same time as a wrong password.
pub static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash(&super::secret::new_token()).unwrap_or_default());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash("correct horse 1").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(&h, "correct horse 1"));
        assert!(!verify(&h, "correct horse 2"));
        assert!(!verify("not a hash", "x"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_computations_run_at_once_than_there_are_hashing_threads() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..32)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(on_hash_pool(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let most = most.load(Ordering::SeqCst);
        assert!(
            most >= 1 && most <= threads,
            "{most} at once on {threads} threads"
        );
    }
}
