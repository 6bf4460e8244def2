//! Which candidates' records a query may return. The API's access policy decides
//! the value; every list, search, export and statistics query takes one.

use uuid::Uuid;

/// Whose records a query returns. The default is [`Visibility::Nothing`]: a
/// query nobody scoped returns nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visibility {
    /// One candidate's own.
    Owner(Uuid),
    /// The candidates of one school.
    School(String),
    /// Every candidate's.
    All,
    /// None at all (an empty answer).
    #[default]
    Nothing,
}

impl Visibility {
    /// The one candidate, for [`Visibility::Owner`].
    pub fn owner(&self) -> Option<Uuid> {
        match self {
            Visibility::Owner(id) => Some(*id),
            _ => None,
        }
    }

    /// The one school, for [`Visibility::School`].
    pub fn school(&self) -> Option<&str> {
        match self {
            Visibility::School(code) => Some(code),
            _ => None,
        }
    }

    /// Whether the query can return nothing at all.
    pub fn is_nothing(&self) -> bool {
        matches!(self, Visibility::Nothing)
    }
}
