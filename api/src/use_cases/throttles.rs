//! Applying the sign-in abuse limits ([`domain::throttle`]) to what a request is
//! counted against: the client address ([`crate::http::client`]) and the account
//! a login names. A login that names no account is counted under `login:` and
//! its text, exactly as an account would be, so the answers never tell which
//! accounts exist.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::throttle::{Counter, Rule};
use persistence::throttles;
use uuid::Uuid;

use crate::use_cases::Outcome;
use crate::use_cases::sign_in::SignInRefusal;

/// Rows swept (at most) each time a failure is counted.
const SWEEP: i32 = 100;

/// What sign-in failures are counted against: an account id, or `login:` and the
/// login as typed (trimmed, lower case, at most 100 characters).
pub fn subject(account: Option<Uuid>, login: &str) -> String {
    match account {
        Some(id) => id.to_string(),
        None => {
            let login: String = login.trim().to_lowercase().chars().take(100).collect();
            format!("login:{login}")
        }
    }
}

/// The key of a (subject, address) pair.
pub fn pair(subject: &str, address: IpAddr) -> String {
    format!("{subject} {address}")
}

/// `auth.throttled` with the longest wait when any of these counters refuses now.
pub fn check(conn: &mut PgConnection, keys: &[(Rule, &str)], now: DateTime<Utc>) -> Outcome<()> {
    let counters = throttles::counters(conn, keys, now)?;
    let wait = (counters.iter())
        .filter_map(|(rule, _, counter)| rule.refuses(counter, now))
        .max();
    match wait {
        Some(seconds) => Err(SignInRefusal::Throttled { seconds }.into()),
        None => Ok(()),
    }
}

/// Counts one hit of each rule for its key (in the caller's transaction) and
/// sweeps a few expired counters; returns the counters after the hits.
pub fn count(
    conn: &mut PgConnection,
    keys: &[(Rule, &str)],
    now: DateTime<Utc>,
) -> Outcome<Vec<Counter>> {
    let mut counters = Vec::with_capacity(keys.len());
    for (rule, key) in keys {
        counters.push(throttles::hit(conn, *rule, key, now)?);
    }
    throttles::sweep(conn, now, SWEEP)?;
    Ok(counters)
}
