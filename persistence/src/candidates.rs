//! Candidate accounts as school staff see them: search and bulk import (R19).

use std::collections::HashSet;

use diesel::prelude::*;

use crate::DbError;
use crate::accounts::{AccountRow, NewAccount};
use crate::schema::accounts;
use crate::visibility::Visibility;

/// Which candidates a list shows.
#[derive(Debug, Clone, Default)]
pub struct CandidateFilter {
    /// Whose accounts: a school's, everyone's, or nothing (the access policy decides).
    pub visibility: Visibility,
    /// Exam number prefix, exact ID number (check character in either case), or
    /// a substring of the name (any letter case).
    pub q: Option<String>,
}

/// Escapes `%`, `_` and `\` for a `LIKE` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One page of candidates matching `filter`, ordered by exam number, and the total.
pub fn search(
    conn: &mut PgConnection,
    filter: &CandidateFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<AccountRow>, i64), DbError> {
    if filter.visibility.is_nothing() {
        return Ok((Vec::new(), 0));
    }
    let query = || {
        let mut query = accounts::table
            .filter(accounts::role.eq("candidate"))
            .into_boxed();
        match &filter.visibility {
            Visibility::School(school) => {
                query = query.filter(accounts::school_code.eq(school.clone()));
            }
            Visibility::Owner(id) => query = query.filter(accounts::id.eq(*id)),
            Visibility::All | Visibility::Nothing => {}
        }
        if let Some(q) = &filter.q {
            let escaped = like_escape(q);
            query = query.filter(
                accounts::exam_number
                    .like(format!("{escaped}%"))
                    .or(accounts::id_number.eq(q.to_ascii_uppercase()))
                    .or(accounts::name.ilike(format!("%{escaped}%"))),
            );
        }
        query
    };
    let rows = query()
        .order((accounts::exam_number.asc(), accounts::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(AccountRow::as_select())
        .load(conn)?;
    let total = query().count().get_result(conn)?;
    Ok((rows, total))
}

/// Which of these exam numbers and ID numbers are already registered.
pub fn registered_keys(
    conn: &mut PgConnection,
    exam_numbers: &[String],
    id_numbers: &[String],
) -> Result<(HashSet<String>, HashSet<String>), DbError> {
    let exams: Vec<Option<String>> = accounts::table
        .filter(accounts::exam_number.eq_any(exam_numbers))
        .select(accounts::exam_number)
        .load(conn)?;
    let ids: Vec<Option<String>> = accounts::table
        .filter(accounts::id_number.eq_any(id_numbers))
        .select(accounts::id_number)
        .load(conn)?;
    Ok((
        exams.into_iter().flatten().collect(),
        ids.into_iter().flatten().collect(),
    ))
}

/// Inserts an account unless a unique index (exam number, ID number, username)
/// already holds one of its keys: `None` then, and the transaction stays usable.
pub fn insert_unless_registered(
    conn: &mut PgConnection,
    account: &NewAccount,
) -> Result<Option<AccountRow>, DbError> {
    Ok(diesel::insert_into(accounts::table)
        .values(account.clone())
        .on_conflict_do_nothing()
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .optional()?)
}

/// Whether an exam number is registered (to say which key made a row a duplicate).
pub fn exam_number_registered(conn: &mut PgConnection, exam_number: &str) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        accounts::table.filter(accounts::exam_number.eq(exam_number)),
    ))
    .get_result(conn)?)
}

/// Which of these school codes exist.
pub fn existing_schools(
    conn: &mut PgConnection,
    codes: &[String],
) -> Result<HashSet<String>, DbError> {
    use crate::schema::schools;
    Ok(schools::table
        .filter(schools::code.eq_any(codes))
        .select(schools::code)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}
