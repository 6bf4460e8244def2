//! Read-only reports over certification applications: the export (in keyset
//! chunks, so memory stays flat) and the statistics.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::DbError;
use crate::visibility::Visibility;

/// Which applications a report covers: those `visibility` lets through (the access
/// policy decides it), narrowed by the filters.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    /// Application status.
    pub status: Option<String>,
    /// Round.
    pub round_id: Option<Uuid>,
    /// The candidate's self-study major.
    pub major_code: Option<String>,
    /// Whose applications: a school's, everyone's, or nothing.
    pub visibility: Visibility,
    /// Exam number prefix or part of the name.
    pub q: Option<String>,
}

/// One exported item (one course of one application).
#[derive(Debug, Clone, QueryableByName)]
pub struct ExportRow {
    /// Application id.
    #[diesel(sql_type = SqlUuid)]
    pub application_id: Uuid,
    /// Item position within the application.
    #[diesel(sql_type = SmallInt)]
    pub position: i16,
    /// Candidate's exam number.
    #[diesel(sql_type = Nullable<Text>)]
    pub exam_number: Option<String>,
    /// Candidate's name.
    #[diesel(sql_type = Text)]
    pub candidate_name: String,
    /// Candidate's school.
    #[diesel(sql_type = Nullable<Text>)]
    pub school_code: Option<String>,
    /// Self-study major.
    #[diesel(sql_type = Text)]
    pub major_code: String,
    /// Round name.
    #[diesel(sql_type = Text)]
    pub round_name: String,
    /// `degree` or `certificate`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Certificate kind, for the certificate route.
    #[diesel(sql_type = Nullable<Text>)]
    pub certificate_kind: Option<String>,
    /// Course code.
    #[diesel(sql_type = Text)]
    pub course_code: String,
    /// Learned course name.
    #[diesel(sql_type = Nullable<Text>)]
    pub learned_course_name: Option<String>,
    /// Canonical score text.
    #[diesel(sql_type = Nullable<Text>)]
    pub score_text: Option<String>,
    /// Application status.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Item decision.
    #[diesel(sql_type = Nullable<Text>)]
    pub decision: Option<String>,
    /// Decision reason.
    #[diesel(sql_type = Nullable<Text>)]
    pub decision_reason: Option<String>,
    /// Submitted at.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub submitted_at: Option<DateTime<Utc>>,
    /// Reviewed at.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// Appends the filter's conditions (`AND …`) with their binds.
fn filtered(mut sql: String, filter: &ApplicationFilter, next_param: usize) -> (String, Vec<Bind>) {
    let mut binds = Vec::new();
    let mut n = next_param;
    let mut add = |sql: &mut String, clause: &str, bind: Bind| {
        sql.push_str(&clause.replace("$?", &format!("${n}")));
        n += 1;
        binds.push(bind);
    };
    if let Some(v) = &filter.status {
        add(&mut sql, " AND a.status = $?", Bind::Text(v.clone()));
    }
    if let Some(v) = filter.round_id {
        add(&mut sql, " AND a.round_id = $?", Bind::Uuid(v));
    }
    if let Some(v) = &filter.major_code {
        add(&mut sql, " AND a.major_code = $?", Bind::Text(v.clone()));
    }
    match &filter.visibility {
        Visibility::School(v) => add(&mut sql, " AND c.school_code = $?", Bind::Text(v.clone())),
        Visibility::Owner(id) => add(&mut sql, " AND a.candidate_id = $?", Bind::Uuid(*id)),
        Visibility::All => {}
        Visibility::Nothing => sql.push_str(" AND false"),
    }
    if let Some(v) = &filter.q {
        let escaped = v
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        add(
            &mut sql,
            " AND (c.exam_number LIKE $? || '%' OR c.name ILIKE '%' || ",
            Bind::Text(escaped.clone()),
        );
        add(&mut sql, "$? || '%')", Bind::Text(escaped));
    }
    (sql, binds)
}

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Uuid(Uuid),
}

/// The boxed raw query these reports are built from.
type Query = BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery>;

fn bind_all(mut query: Query, binds: Vec<Bind>) -> Query {
    for b in binds {
        query = match b {
            Bind::Text(v) => query.bind::<Text, _>(v),
            Bind::Uuid(v) => query.bind::<SqlUuid, _>(v),
        };
    }
    query
}

/// The next chunk of export rows after `after` (application id, position),
/// ordered by application and position.
pub fn export_chunk(
    conn: &mut PgConnection,
    filter: &ApplicationFilter,
    after: Option<(Uuid, i16)>,
    limit: i64,
) -> Result<Vec<ExportRow>, DbError> {
    let base =
        "SELECT a.id AS application_id, i.position, c.exam_number, c.name AS candidate_name, \
                c.school_code, a.major_code, r.name AS round_name, a.kind, a.certificate_kind, \
                i.course_code, i.learned_course_name, i.score_text, a.status, i.decision, \
                i.decision_reason, a.submitted_at, a.reviewed_at \
                FROM certification_applications a \
                JOIN application_items i ON i.application_id = a.id \
                JOIN accounts c ON c.id = a.candidate_id \
                JOIN rounds r ON r.id = a.round_id \
                WHERE (a.id, i.position) > ($1, $2)"
            .to_owned();
    let (mut sql, binds) = filtered(base, filter, 3);
    sql.push_str(&format!(
        " ORDER BY a.id, i.position LIMIT {}",
        limit.clamp(1, 10_000)
    ));
    let (after_id, after_pos) = after.unwrap_or((Uuid::nil(), -1));
    let query = diesel::sql_query(sql)
        .into_boxed::<Pg>()
        .bind::<SqlUuid, _>(after_id)
        .bind::<SmallInt, _>(after_pos);
    Ok(bind_all(query, binds).load(conn)?)
}

/// A count per key.
#[derive(Debug, Clone, QueryableByName)]
pub struct Count {
    /// The key (a status, major code or course code).
    #[diesel(sql_type = Text)]
    pub key: String,
    /// How many.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// Per course: how many items, and how many approved, rejected, undecided.
#[derive(Debug, Clone, QueryableByName)]
pub struct CourseCount {
    /// Course code.
    #[diesel(sql_type = Text)]
    pub course_code: String,
    /// Items in submitted or reviewed applications.
    #[diesel(sql_type = BigInt)]
    pub requested: i64,
    /// Approved items.
    #[diesel(sql_type = BigInt)]
    pub approved: i64,
    /// Rejected items.
    #[diesel(sql_type = BigInt)]
    pub rejected: i64,
}

/// The statistics of a scope.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Applications per status.
    pub by_status: Vec<Count>,
    /// Applications per major.
    pub by_major: Vec<Count>,
    /// Items per course (drafts excluded).
    pub by_course: Vec<CourseCount>,
    /// Prior degrees per status.
    pub prior_degrees: Vec<Count>,
}

/// Counts applications, items and prior degrees in `round` (all rounds when
/// `None`) of the candidates `visibility` lets through.
pub fn stats(
    conn: &mut PgConnection,
    round: Option<Uuid>,
    visibility: &Visibility,
) -> Result<Stats, DbError> {
    let filter = ApplicationFilter {
        round_id: round,
        visibility: visibility.clone(),
        ..Default::default()
    };
    let from =
        "FROM certification_applications a JOIN accounts c ON c.id = a.candidate_id WHERE true";
    let grouped = |select: &str, group: &str| {
        let (mut sql, binds) = filtered(format!("SELECT {select} {from}"), &filter, 1);
        sql.push_str(&format!(" GROUP BY {group} ORDER BY 1"));
        (sql, binds)
    };
    let (sql, binds) = grouped("a.status AS key, count(*) AS count", "a.status");
    let by_status = bind_all(diesel::sql_query(sql).into_boxed(), binds).load::<Count>(conn)?;
    let (sql, binds) = grouped("a.major_code AS key, count(*) AS count", "a.major_code");
    let by_major = bind_all(diesel::sql_query(sql).into_boxed(), binds).load::<Count>(conn)?;
    let (mut sql, binds) = filtered(
        "SELECT i.course_code, count(*) AS requested, \
         count(*) FILTER (WHERE i.decision = 'approved') AS approved, \
         count(*) FILTER (WHERE i.decision = 'rejected') AS rejected \
         FROM certification_applications a JOIN accounts c ON c.id = a.candidate_id \
         JOIN application_items i ON i.application_id = a.id WHERE a.status <> 'draft'"
            .to_owned(),
        &filter,
        1,
    );
    sql.push_str(" GROUP BY i.course_code ORDER BY 1");
    let by_course =
        bind_all(diesel::sql_query(sql).into_boxed(), binds).load::<CourseCount>(conn)?;
    let mut sql = "SELECT p.status AS key, count(*) AS count FROM prior_degrees p \
                   JOIN accounts c ON c.id = p.candidate_id WHERE true"
        .to_owned();
    let mut binds = Vec::new();
    let mut n = 1;
    if let Some(r) = round {
        sql.push_str(&format!(" AND p.round_id = ${n}"));
        n += 1;
        binds.push(Bind::Uuid(r));
    }
    match visibility {
        Visibility::School(s) => {
            sql.push_str(&format!(" AND c.school_code = ${n}"));
            binds.push(Bind::Text(s.clone()));
        }
        Visibility::Owner(id) => {
            sql.push_str(&format!(" AND p.candidate_id = ${n}"));
            binds.push(Bind::Uuid(*id));
        }
        Visibility::All => {}
        Visibility::Nothing => sql.push_str(" AND false"),
    }
    sql.push_str(" GROUP BY p.status ORDER BY 1");
    let prior_degrees = bind_all(diesel::sql_query(sql).into_boxed(), binds).load::<Count>(conn)?;
    Ok(Stats {
        by_status,
        by_major,
        by_course,
        prior_degrees,
    })
}
