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

pub use refusal::{Refusal, Taken};

/// The result of a use case.
pub type Outcome<T> = Result<T, Refusal>;
