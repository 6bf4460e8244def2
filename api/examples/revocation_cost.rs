//! What the revocation check adds to every authenticated request, against the
//! token check every authenticated request already does (Ed25519 verification
//! and claims parsing), in the same run. The whole authenticated read path
//! (HTTP, routing, the database) is longer still, so the true share is smaller.
//! Run: `cargo run --release -p api --example revocation_cost` (see bench/README.md).

use std::hint::black_box;
use std::time::Instant;

use api::auth::keyring::KeyRing;
use api::auth::keys::JwtKeys;
use api::auth::principal::AccessClaims;
use api::auth::revocation::Revocations;
use chrono::Utc;
use uuid::Uuid;

fn main() {
    let keys = KeyRing::with_access_key(JwtKeys::generate());
    let now = Utc::now().timestamp();
    let sid = Uuid::now_v7();
    let claims = AccessClaims {
        sub: Uuid::now_v7(),
        role: domain::account::Role::Candidate,
        school: Some("HBU01".into()),
        scopes: Vec::new(),
        mcp: false,
        iss: api::auth::keys::ISSUER.into(),
        iat: now,
        exp: now + 900,
        jti: Uuid::now_v7(),
        sid,
        typ: "access".into(),
    };
    let token = keys.sign_access(&claims).expect("sign");
    // A deadline-day evening: 100 000 sessions revoked within the last 16 minutes.
    let revocations = Revocations::default();
    let at = Utc::now();
    revocations.add((0..100_000).map(|_| (Uuid::now_v7(), at)));

    let rounds = 20_000;
    let started = Instant::now();
    for _ in 0..rounds {
        let c: AccessClaims = keys.verify_access(black_box(&token)).expect("verify");
        black_box(c);
    }
    let verify_ns = started.elapsed().as_nanos() as f64 / rounds as f64;
    let lookups = 2_000_000;
    let started = Instant::now();
    for i in 0..lookups {
        let probe = if i % 2 == 0 {
            sid
        } else {
            Uuid::from_u128(i as u128)
        };
        black_box(revocations.is_revoked(black_box(probe)));
    }
    let lookup_ns = started.elapsed().as_nanos() as f64 / lookups as f64;
    println!(
        "token check {verify_ns:.0} ns; revocation lookup ({} revoked sessions) {lookup_ns:.0} ns; \
         added: {:.2} % of the token check alone",
        revocations.len(),
        100.0 * lookup_ns / verify_ns
    );
}
