//! Measures Argon2id hashing and verifying at the service's parameters.
//! Run: `cargo run --release -p api --example argon2_timing` (see bench/README.md).

use std::time::Instant;

fn main() {
    let rounds = 30;
    let started = Instant::now();
    let mut last = String::new();
    for i in 0..rounds {
        last = api::auth::password::hash(&format!("password-{i}")).expect("hash");
    }
    let hash_ms = started.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(!api::auth::password::verify(&last, "wrong password"));
    }
    let verify_ms = started.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "argon2id m=19456 KiB t=2 p=1: hash {hash_ms:.1} ms, verify {verify_ms:.1} ms (mean of {rounds})"
    );
    println!(
        "implied ceiling: {:.0} sign-ins/s on {cores} cores (verification bound)",
        cores as f64 * 1000.0 / verify_ms
    );
}
