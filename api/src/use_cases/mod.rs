//! One module per workflow: the use cases the routes call.
//!
//! A use case is a synchronous function on `&mut PgConnection` that gets what it
//! needs passed in (the [`Actor`](crate::access::Actor), `now`, the catalogue) and
//! knows nothing about HTTP. Each state change is one function and one transaction,
//! with its history and outbox rows ([`audit`]) inside it. They return domain
//! values or a [`Refusal`]; the HTTP layer renders a refusal as problem+json.

pub mod accounts;
pub mod applications;
pub mod audit;
pub mod candidate_import;
pub mod candidates;
pub mod catalogue;
pub mod decisions;
pub mod eligibility;
pub mod outbox;
pub mod prior_degrees;
pub mod progress;
mod refusal;
pub mod reports;
pub mod reviews;
pub mod rounds;
pub mod sign_in;
pub mod throttles;

pub use refusal::{Refusal, Taken};

/// The result of a use case.
pub type Outcome<T> = Result<T, Refusal>;

/// How many times in all a transaction Postgres aborted for a deadlock or a
/// serialization failure is run.
pub const ATTEMPTS: u32 = 3;

/// Runs `work` in one transaction (a savepoint when one is open already, as under
/// an `Idempotency-Key`). When Postgres aborts it for a deadlock or a
/// serialization failure, nothing of it was written and running it again is safe:
/// it is run again after a short pause, [`ATTEMPTS`] times in all, and only then
/// refused as `Refusal::Db(DbError::Retry)` (503 with `Retry-After`). Any other
/// outcome ends it at once.
pub fn transaction<T>(
    conn: &mut diesel::PgConnection,
    mut work: impl FnMut(&mut diesel::PgConnection) -> Outcome<T>,
) -> Outcome<T> {
    use diesel::Connection;
    let mut attempt = 1;
    loop {
        match conn.transaction(&mut work) {
            Err(Refusal::Db(persistence::DbError::Retry)) if attempt < ATTEMPTS => {
                // 10–20 ms, then 20–40 ms: the other transaction usually commits meanwhile.
                let base = 10u64 << (attempt - 1);
                let jitter = (uuid::Uuid::new_v4().as_u128() % u128::from(base)) as u64;
                tracing::info!(
                    attempt,
                    "transaction aborted by a deadlock or serialization failure; running it again"
                );
                std::thread::sleep(std::time::Duration::from_millis(base + jitter));
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}
