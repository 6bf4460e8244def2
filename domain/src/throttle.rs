//! Sign-in abuse limits (R1, R2; API.md "Sign-in abuse"). Each rule counts hits
//! per key over a fixed window that starts at the first hit; past its limit the
//! key is refused until the window ends, or, for a rule with a block, for the
//! block's length after the hit that reached the limit.
//!
//! The counters are kept where every instance sees them (the `throttles` table);
//! this module only says what the limits are and whether a counter refuses.

use chrono::{DateTime, TimeDelta, Utc};

/// A counted kind of request and what it is counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Failed sign-ins per account and client address: 5 in 15 min.
    LoginPair,
    /// Failed sign-ins per account from every address: 50 in 24 h, then 15 min
    /// refused (and the account is told).
    LoginAccount,
    /// Failed sign-ins per client address: 100 in 15 min.
    LoginAddress,
    /// Password-reset requests per account: 3 per hour (more send nothing).
    ResetAccount,
    /// Password-reset requests per client address: 20 per hour (more send nothing).
    ResetAddress,
    /// Registration attempts per client address: 20 per hour.
    RegisterAddress,
}

/// How much a rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Hits allowed in one window.
    pub hits: i32,
    /// The window.
    pub window: TimeDelta,
    /// Refused for this long after the hit that reached the limit (instead of
    /// until the window ends).
    pub block: Option<TimeDelta>,
}

/// A stored counter of one rule and key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// When its window started (its first hit).
    pub window_start: DateTime<Utc>,
    /// Hits in the window.
    pub hits: i32,
    /// Refused until then (rules with a block).
    pub blocked_until: Option<DateTime<Utc>>,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 6] = [
        Rule::LoginPair,
        Rule::LoginAccount,
        Rule::LoginAddress,
        Rule::ResetAccount,
        Rule::ResetAddress,
        Rule::RegisterAddress,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::LoginPair => "login_pair",
            Rule::LoginAccount => "login_account",
            Rule::LoginAddress => "login_address",
            Rule::ResetAccount => "reset_account",
            Rule::ResetAddress => "reset_address",
            Rule::RegisterAddress => "register_address",
        }
    }

    /// The rule stored as `text`, if any.
    pub fn parse(text: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// What the rule allows.
    pub fn limit(self) -> Limit {
        let minutes = TimeDelta::minutes;
        let (hits, window, block) = match self {
            Rule::LoginPair => (5, minutes(15), None),
            Rule::LoginAccount => (50, TimeDelta::hours(24), Some(minutes(15))),
            Rule::LoginAddress => (100, minutes(15), None),
            Rule::ResetAccount => (3, TimeDelta::hours(1), None),
            Rule::ResetAddress => (20, TimeDelta::hours(1), None),
            Rule::RegisterAddress => (20, TimeDelta::hours(1), None),
        };
        Limit {
            hits,
            window,
            block,
        }
    }

    /// Whole seconds (at least 1) until `counter` lets a request through, or
    /// `None` when it does now.
    pub fn refuses(self, counter: &Counter, now: DateTime<Utc>) -> Option<i64> {
        let limit = self.limit();
        let until = match limit.block {
            Some(_) => counter.blocked_until?,
            None if counter.hits >= limit.hits => counter.window_start + limit.window,
            None => return None,
        };
        (until > now).then(|| seconds_until(until, now))
    }

    /// Whether a counter, just counted, holds more hits than the rule allows
    /// (for rules that count first and refuse after: registrations, resets).
    pub fn exceeded(self, counter: &Counter) -> bool {
        counter.hits > self.limit().hits
    }

    /// Seconds until the window of `counter` ends (at least 1).
    pub fn window_left(self, counter: &Counter, now: DateTime<Utc>) -> i64 {
        seconds_until(counter.window_start + self.limit().window, now)
    }
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let millis = (until - now).num_milliseconds().max(0);
    (millis + 999).div_euclid(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minute)
    }

    #[test]
    fn a_windowed_rule_refuses_at_its_limit_until_the_window_ends() {
        let counter = |hits| Counter {
            window_start: at(0),
            hits,
            blocked_until: None,
        };
        assert_eq!(Rule::LoginPair.refuses(&counter(4), at(1)), None);
        assert_eq!(Rule::LoginPair.refuses(&counter(5), at(1)), Some(14 * 60));
        assert_eq!(Rule::LoginPair.refuses(&counter(5), at(15)), None);
        assert_eq!(Rule::LoginAddress.refuses(&counter(99), at(1)), None);
        assert_eq!(
            Rule::LoginAddress.refuses(&counter(100), at(1)),
            Some(14 * 60)
        );
    }

    #[test]
    fn the_account_rule_refuses_only_while_blocked() {
        let mut counter = Counter {
            window_start: at(0),
            hits: 50,
            blocked_until: None,
        };
        assert_eq!(Rule::LoginAccount.refuses(&counter, at(1)), None);
        counter.blocked_until = Some(at(16));
        assert_eq!(Rule::LoginAccount.refuses(&counter, at(1)), Some(15 * 60));
        assert_eq!(Rule::LoginAccount.refuses(&counter, at(16)), None);
    }

    #[test]
    fn counted_first_rules_are_exceeded_past_their_limit() {
        let counter = |hits| Counter {
            window_start: at(0),
            hits,
            blocked_until: None,
        };
        assert!(!Rule::RegisterAddress.exceeded(&counter(20)));
        assert!(Rule::RegisterAddress.exceeded(&counter(21)));
        assert!(!Rule::ResetAccount.exceeded(&counter(3)));
        assert!(Rule::ResetAccount.exceeded(&counter(4)));
        assert_eq!(Rule::RegisterAddress.window_left(&counter(21), at(59)), 60);
    }

    #[test]
    fn rules_round_trip_their_stored_names() {
        for rule in Rule::ALL {
            assert_eq!(Rule::parse(rule.as_str()), Some(rule));
        }
        assert_eq!(Rule::parse("login"), None);
    }
}
