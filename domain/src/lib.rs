//! The rules of the Higher Education Self-study Examination's learning-outcome
//! certification (学历成果认证), as the seed states them (`R1`…`R20`, see
//! `shared/seed/README.md`). Pure: no I/O, no database, no HTTP, no clock reads.
//!
//! Every parse or rule check that can fail returns a [`Violation`]: a stable code
//! (`score.separator`, `window.closed`, …) and a message in Chinese and English.
//! The HTTP layer attaches the field path and picks the language.

pub mod account;
pub mod application;
pub mod candidate_import;
pub mod catalog;
pub mod certificate_number;
pub mod choice;
pub mod course;
pub mod csv;
pub mod eligibility;
pub mod new_account;
pub mod prior_degree;
pub mod score;
pub mod text;
pub mod throttle;
pub mod violation;
pub mod window;

pub use course::CourseCode;
pub use violation::Violation;
