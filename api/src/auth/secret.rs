//! Random secrets (tokens, temporary passwords) and their stored hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS random source failing is not recoverable for a security service.
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// A URL-safe random token with 256 bits of entropy.
pub fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// What is stored for a token: its SHA-256 (tokens have full entropy, so no salt
/// or slow hash is needed).
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A temporary password: 12 characters from an alphabet without look-alikes,
/// always mixing letters and digits so it passes the password policy.
pub fn temporary_password() -> String {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let bytes = random_bytes::<12>();
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            // Positions 3 and 7 are digits, the rest letters.
            if i == 3 || i == 7 {
                DIGITS[*b as usize % DIGITS.len()] as char
            } else {
                LETTERS[*b as usize % LETTERS.len()] as char
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_url_safe() {
        let a = new_token();
        assert_ne!(a, new_token());
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn temporary_passwords_pass_the_policy() {
        for _ in 0..100 {
            let p = temporary_password();
            assert!(domain::account::Password::parse(&p, &[]).is_ok(), "{p}");
        }
    }
}
