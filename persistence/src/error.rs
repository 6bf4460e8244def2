//! Storage errors, classified for the HTTP layer.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What went wrong in the database, in terms a use case can act on.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// A unique index refused the write; the constraint names what collided.
    #[error("unique violation on {constraint}")]
    Unique {
        /// The name of the unique index or constraint.
        constraint: String,
    },
    /// A foreign key or CHECK constraint refused the write.
    #[error("constraint {constraint} refused the write")]
    Constraint {
        /// The constraint's name.
        constraint: String,
    },
    /// Two transactions collided (serialization failure); retrying may succeed.
    #[error("serialization failure")]
    Retry,
    /// The database could not be reached (pool timeout, connection lost).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A value Postgres cannot store as text (a NUL character).
    #[error("text with a NUL character")]
    InvalidText,
    /// Anything else: a bug or an operational problem.
    #[error("database error: {0}")]
    Other(String),
}

impl From<DieselError> for DbError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => DbError::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or("").to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => DbError::Unique { constraint },
                    DatabaseErrorKind::ForeignKeyViolation
                    | DatabaseErrorKind::CheckViolation
                    | DatabaseErrorKind::NotNullViolation => DbError::Constraint { constraint },
                    DatabaseErrorKind::SerializationFailure => DbError::Retry,
                    DatabaseErrorKind::ClosedConnection => {
                        DbError::Unavailable(info.message().to_owned())
                    }
                    // Text Postgres cannot store (a NUL character) is bad input, not a fault.
                    _ if info.message().contains("invalid byte sequence") => DbError::InvalidText,
                    _ => DbError::Other(info.message().to_owned()),
                }
            }
            other => DbError::Other(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        DbError::Unavailable(error.to_string())
    }
}
