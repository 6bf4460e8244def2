//! Stored enum values: statuses, kinds, levels and education types are Rust enums
//! at the Diesel boundary. The column stays `TEXT` with its CHECK constraint; a
//! stored value that no variant names is a deserialisation error, never a default.
//!
//! A row field of a domain enum type `T` reads through
//! `#[diesel(deserialize_as = Stored<T>)]` (or `StoredOpt<T>` for a nullable
//! column) and writes through `#[diesel(serialize_as = Stored<T>)]`. Each enum is
//! made storable once, by [`stored_enum!`].

use std::io::Write;

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Nullable, Text};

/// A domain enum stored as its stable text.
pub trait StoredEnum: Copy + std::fmt::Debug + 'static {
    /// The stored text of the value.
    fn stored(self) -> &'static str;
    /// The value stored as `text`, if any variant is.
    fn from_stored(text: &str) -> Option<Self>;
}

/// A stored enum value, as Diesel reads and writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Stored<T: StoredEnum>(pub T);

/// A stored enum value of a nullable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Nullable<Text>)]
pub struct StoredOpt<T: StoredEnum>(pub Option<T>);

fn parse<T: StoredEnum>(text: &str) -> deserialize::Result<T> {
    T::from_stored(text).ok_or_else(|| {
        format!(
            "unknown stored value {text:?} for {}",
            std::any::type_name::<T>()
        )
        .into()
    })
}

impl<T: StoredEnum> FromSql<Text, Pg> for Stored<T> {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        parse(&text).map(Stored)
    }
}

impl<T: StoredEnum> ToSql<Text, Pg> for Stored<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.stored().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl<T: StoredEnum> FromSql<Nullable<Text>, Pg> for StoredOpt<T> {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        parse(&text).map(|v| StoredOpt(Some(v)))
    }

    fn from_nullable_sql(bytes: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        match bytes {
            Some(bytes) => Self::from_sql(bytes),
            None => Ok(StoredOpt(None)),
        }
    }
}

impl<T: StoredEnum> ToSql<Nullable<Text>, Pg> for StoredOpt<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        match self.0 {
            Some(v) => {
                out.write_all(v.stored().as_bytes())?;
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }
}

impl<T: StoredEnum> From<T> for Stored<T> {
    fn from(value: T) -> Self {
        Stored(value)
    }
}

impl<T: StoredEnum> From<Option<T>> for StoredOpt<T> {
    fn from(value: Option<T>) -> Self {
        StoredOpt(value)
    }
}

/// Makes domain enums storable: `stored_enum!(Type => |v| v.as_str(), |s| Type::parse(s));`
/// with the text of a value and the value of a text (`None`: not a variant).
#[macro_export]
macro_rules! stored_enum {
    ($($ty:ty => $to:expr, $from:expr;)+) => {$(
        impl $crate::enums::StoredEnum for $ty {
            fn stored(self) -> &'static str {
                let to: fn($ty) -> &'static str = $to;
                to(self)
            }
            fn from_stored(text: &str) -> Option<Self> {
                let from: fn(&str) -> Option<$ty> = $from;
                from(text)
            }
        }
        impl From<$crate::enums::Stored<$ty>> for $ty {
            fn from(value: $crate::enums::Stored<$ty>) -> Self {
                value.0
            }
        }
        impl From<$crate::enums::StoredOpt<$ty>> for Option<$ty> {
            fn from(value: $crate::enums::StoredOpt<$ty>) -> Self {
                value.0
            }
        }
    )+};
}

stored_enum! {
    domain::application::ApplicationStatus => |v| v.as_str(), domain::application::ApplicationStatus::parse;
    domain::application::Kind => |v| v.as_str(), domain::application::Kind::parse;
    domain::catalog::CertificateKind => |v| v.as_str(),
        |s| domain::catalog::CertificateKind::ALL.into_iter().find(|k| k.as_str() == s);
    domain::prior_degree::PriorDegreeStatus => |v| v.as_str(), domain::prior_degree::PriorDegreeStatus::parse;
    domain::catalog::DegreeLevel => |v| v.label_en(),
        |s| [domain::catalog::DegreeLevel::Associate, domain::catalog::DegreeLevel::Bachelor]
            .into_iter()
            .find(|l| l.label_en() == s);
    domain::certificate_number::EducationType => |v| v.as_str(), domain::certificate_number::EducationType::parse;
    domain::account::Role => |v| v.as_str(), |s| domain::account::Role::parse(s).ok();
}
