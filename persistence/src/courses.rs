//! Reading courses of the current catalogue version.

use diesel::prelude::*;
use domain::CourseCode;

use crate::DbError;
use crate::schema::{catalog_versions, courses};

/// A course row as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = courses)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct CourseRow {
    /// The catalogue version this row belongs to.
    pub catalog_version_id: i64,
    /// Five-digit course code.
    pub code: String,
    /// Chinese course name.
    pub name: String,
    /// Credits.
    pub credits: i16,
    /// Whether it is a practical (实践) course.
    pub practical: bool,
    /// `platform` or `school_office` (R16).
    pub exam_channel: String,
}

/// The id of the current catalogue version, if any catalogue was ever imported.
pub fn current_version(conn: &mut PgConnection) -> Result<Option<i64>, DbError> {
    Ok(catalog_versions::table
        .select(diesel::dsl::max(catalog_versions::id))
        .first::<Option<i64>>(conn)?)
}

/// One page of the current version's courses, ordered by code, and the total.
pub fn list(
    conn: &mut PgConnection,
    offset: i64,
    limit: i64,
) -> Result<(Vec<CourseRow>, i64), DbError> {
    let Some(version) = current_version(conn)? else {
        return Ok((Vec::new(), 0));
    };
    let rows = courses::table
        .filter(courses::catalog_version_id.eq(version))
        .order(courses::code.asc())
        .offset(offset)
        .limit(limit)
        .select(CourseRow::as_select())
        .load(conn)?;
    let total = courses::table
        .filter(courses::catalog_version_id.eq(version))
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

/// The current version's course with this code.
pub fn find(conn: &mut PgConnection, code: CourseCode) -> Result<CourseRow, DbError> {
    let version = current_version(conn)?.ok_or(DbError::NotFound)?;
    Ok(courses::table
        .filter(courses::catalog_version_id.eq(version))
        .filter(courses::code.eq(code.as_str()))
        .select(CourseRow::as_select())
        .first(conn)?)
}
