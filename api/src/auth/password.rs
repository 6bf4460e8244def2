//! Argon2id password hashing at OWASP's parameters (m = 19 MiB, t = 2, p = 1).
//! Call these off the async workers (`web::block`): each takes tens of ms.

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

/// [`hash`] on the blocking pool, without holding a database connection.
pub async fn hash_off_worker(password: String) -> Result<String, crate::http::problem::ApiError> {
    use crate::http::problem::ApiError;
    actix_web::web::block(move || hash(&password))
        .await?
        .map_err(ApiError::internal)
}

/// [`verify`] on the blocking pool, without holding a database connection.
/// `None` for the hash verifies against [`DUMMY_HASH`] (and never matches), so
/// that an unknown login costs as much as a wrong password.
pub async fn verify_off_worker(
    phc: Option<String>,
    password: String,
) -> Result<bool, crate::http::problem::ApiError> {
    Ok(actix_web::web::block(move || match phc {
        Some(phc) => verify(&phc, &password),
        None => {
            let _ = verify(&DUMMY_HASH, &password);
            false
        }
    })
    .await?)
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
}
