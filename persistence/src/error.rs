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

/// Messages Postgres and libpq give when the server or the connection goes away
/// (admin or crash shutdown, recovery, start-up, too many clients, a lost socket):
/// the database is unavailable, not a fault of the request. Diesel does not expose
/// the SQLSTATE, so the classes 08 and 57P are recognised by their texts.
const UNAVAILABLE: [&str; 12] = [
    "terminating connection",
    "the database system is",
    "server closed the connection",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
    "connection to server",
    "too many clients",
    "remaining connection slots are reserved",
    "canceling statement due to conflict with recovery",
    "SSL SYSCALL error",
    "connection not open",
];

/// Whether `message` says the database or the connection went away.
pub fn is_unavailable(message: &str) -> bool {
    UNAVAILABLE.iter().any(|m| message.contains(m))
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
                    _ if info.message().contains("deadlock detected") => DbError::Retry,
                    DatabaseErrorKind::ClosedConnection => {
                        DbError::Unavailable(info.message().to_owned())
                    }
                    _ if is_unavailable(info.message()) => {
                        DbError::Unavailable(info.message().to_owned())
                    }
                    // Text Postgres cannot store (a NUL character) is bad input, not a fault.
                    _ if info.message().contains("invalid byte sequence") => DbError::InvalidText,
                    _ => DbError::Other(info.message().to_owned()),
                }
            }
            // A transaction the connection lost cannot be finished or rolled back.
            DieselError::BrokenTransactionManager
            | DieselError::RollbackErrorOnCommit { .. }
            | DieselError::AlreadyInTransaction
            | DieselError::NotInTransaction => DbError::Unavailable(error.to_string()),
            other if is_unavailable(&other.to_string()) => DbError::Unavailable(other.to_string()),
            other => DbError::Other(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        DbError::Unavailable(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_server_is_unavailable_and_a_bad_query_is_not() {
        for message in [
            "terminating connection due to administrator command",
            "the database system is shutting down",
            "the database system is starting up",
            "server closed the connection unexpectedly",
            "FATAL:  sorry, too many clients already",
        ] {
            assert!(is_unavailable(message), "{message}");
        }
        assert!(!is_unavailable("relation \"x\" does not exist"));
        assert!(!is_unavailable("syntax error at or near \"SELEC\""));
    }
}
