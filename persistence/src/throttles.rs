//! The counters of [`domain::throttle`], shared by every instance on one
//! database: one row per rule and key, primary-keyed, so a check or a count is
//! one statement on one index entry. Rows past `expires_at` decide nothing and
//! are swept a few at a time by [`sweep`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamptz};
use domain::throttle::{Counter, Rule};

use crate::DbError;
use crate::schema::throttles as t;

#[derive(Debug, Queryable, QueryableByName)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct CounterRow {
    #[diesel(sql_type = Text)]
    rule: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Timestamptz)]
    window_start: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    hits: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
    blocked_until: Option<DateTime<Utc>>,
}

impl CounterRow {
    fn counter(&self) -> Counter {
        Counter {
            window_start: self.window_start,
            hits: self.hits,
            blocked_until: self.blocked_until,
        }
    }
}

/// The stored counters of these (rule, key) pairs whose window or block has not
/// ended at `now`, in one statement.
pub fn counters(
    conn: &mut PgConnection,
    keys: &[(Rule, &str)],
    now: DateTime<Utc>,
) -> Result<Vec<(Rule, String, Counter)>, DbError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rules: Vec<&str> = keys.iter().map(|(r, _)| r.as_str()).collect();
    let names: Vec<&str> = keys.iter().map(|(_, k)| *k).collect();
    let rows: Vec<CounterRow> = t::table
        .select((t::rule, t::key, t::window_start, t::hits, t::blocked_until))
        .filter(t::rule.eq_any(rules))
        .filter(t::key.eq_any(names))
        .filter(t::expires_at.gt(now))
        .load(conn)?;
    // eq_any on both columns also matches crossed pairs; keep the asked ones.
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let rule = Rule::parse(&r.rule)?;
            keys.iter()
                .any(|(asked, key)| *asked == rule && *key == r.key)
                .then(|| (rule, r.key.clone(), r.counter()))
        })
        .collect())
}

/// Counts one hit of `rule` for `key` at `now` and returns the counter after it:
/// a window that has ended starts again at `now`; reaching the limit of a rule
/// with a block sets `blocked_until`. One statement, atomic under concurrency.
pub fn hit(
    conn: &mut PgConnection,
    rule: Rule,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Counter, DbError> {
    let limit = rule.limit();
    let window = i32::try_from(limit.window.num_seconds()).unwrap_or(i32::MAX);
    let block = limit
        .block
        .map_or(0, |b| i32::try_from(b.num_seconds()).unwrap_or(i32::MAX));
    // $1 rule, $2 key, $3 now, $4 window seconds, $5 limit, $6 block seconds (0: none).
    let row: CounterRow = diesel::sql_query(
        "INSERT INTO throttles AS t (rule, key, window_start, hits, blocked_until, expires_at)
         VALUES ($1, $2, $3, 1,
                 CASE WHEN $6 > 0 AND 1 >= $5 THEN $3 + make_interval(secs => $6) END,
                 $3 + make_interval(secs => greatest($4, $6)))
         ON CONFLICT (rule, key) DO UPDATE SET
             window_start = CASE WHEN t.window_start + make_interval(secs => $4) <= $3
                                 THEN $3 ELSE t.window_start END,
             hits = CASE WHEN t.window_start + make_interval(secs => $4) <= $3
                         THEN 1 ELSE t.hits + 1 END,
             blocked_until = CASE
                 WHEN $6 > 0 AND (CASE WHEN t.window_start + make_interval(secs => $4) <= $3
                                       THEN 1 ELSE t.hits + 1 END) >= $5
                 THEN $3 + make_interval(secs => $6)
                 ELSE t.blocked_until END,
             expires_at = greatest(
                 CASE WHEN t.window_start + make_interval(secs => $4) <= $3
                      THEN $3 ELSE t.window_start END + make_interval(secs => $4),
                 $3 + make_interval(secs => $6))
         RETURNING rule, key, window_start, hits, blocked_until",
    )
    .bind::<Text, _>(rule.as_str())
    .bind::<Text, _>(key)
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(window)
    .bind::<Integer, _>(limit.hits)
    .bind::<Integer, _>(block)
    .get_result(conn)?;
    Ok(row.counter())
}

/// Forgets the counter of `rule` for `key`.
pub fn clear(conn: &mut PgConnection, rule: Rule, key: &str) -> Result<(), DbError> {
    diesel::delete(t::table.find((rule.as_str(), key))).execute(conn)?;
    Ok(())
}

/// Forgets every login counter of an account (its own and its (account,
/// address) pairs): after an administrator or the holder sets a new password.
pub fn clear_account(conn: &mut PgConnection, account_key: &str) -> Result<(), DbError> {
    diesel::delete(
        t::table.filter(
            (t::rule
                .eq(Rule::LoginAccount.as_str())
                .and(t::key.eq(account_key)))
            .or(t::rule
                .eq(Rule::LoginPair.as_str())
                .and(t::key.like(format!("{} %", like_escaped(account_key))))),
        ),
    )
    .execute(conn)?;
    Ok(())
}

fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Deletes up to `max` rows that no longer decide anything; returns how many.
pub fn sweep(conn: &mut PgConnection, now: DateTime<Utc>, max: i32) -> Result<usize, DbError> {
    Ok(diesel::sql_query(
        "DELETE FROM throttles WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM throttles WHERE expires_at <= $1 LIMIT $2))",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(max)
    .execute(conn)?)
}
