//! Sign-in, tokens and roles (R1, R2, R19).
//!
//! Access tokens are short-lived EdDSA (Ed25519) JWTs whose public key is at
//! `/.well-known/jwks.json`; refresh tokens are opaque random strings stored
//! only as SHA-256 hashes. Roles are enforced by extractors ([`principal`]).

pub mod keyring;
pub mod keys;
pub mod password;
pub mod principal;
pub mod revocation;
pub mod secret;

/// How long an access token lives.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
/// How long a refresh token lives.
pub const REFRESH_TOKEN_DAYS: i64 = 30;
/// How long a password-reset token lives.
pub const RESET_TOKEN_MINUTES: i64 = 30;
