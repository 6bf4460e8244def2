//! What staff and admins take away (R19, R20): the application export, one row
//! per course, read in chunks so that memory does not grow with its size, and the
//! statistics of a round. Both are scoped by the one access policy: staff get
//! their own school, and nothing when they ask for another.

use std::sync::Arc;

use diesel::PgConnection;
use domain::Violation;
use persistence::reports::{self, ApplicationFilter, ExportRow, Stats};
use uuid::Uuid;

use crate::access::{Actor, Visibility};
use crate::http::problem::FieldProblem;
use crate::use_cases::{Outcome, Refusal};
use persistence::catalog::CatalogVersion;

/// The statuses an export may be filtered by.
const STATUSES: [&str; 6] = [
    "draft",
    "submitted",
    "returned",
    "approved",
    "partially_approved",
    "rejected",
];

/// Rows fetched per database round trip while exporting.
pub const CHUNK: i64 = 2000;

/// The filters of an export, as given.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// An application status.
    pub status: Option<String>,
    /// A round id (text, checked here).
    pub round_id: Option<String>,
    /// The candidates' self-study major.
    pub major_code: Option<String>,
    /// A school (admins; staff get their own).
    pub school_code: Option<String>,
    /// Exam number prefix or part of a name.
    pub q: Option<String>,
}

fn round_id(text: Option<&str>) -> Result<Option<Uuid>, Violation> {
    match text.map(Uuid::parse_str) {
        Some(Ok(id)) => Ok(Some(id)),
        Some(Err(_)) => Err(Violation::new(
            "id.format",
            "轮次编号必须是 UUID",
            "round_id must be a UUID",
        )),
        None => Ok(None),
    }
}

fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The export's query for the actor: every bad filter reported at once
/// (`status`: `enum`, `round_id`: `id.format`), the school narrowed by the policy.
pub fn export_query(actor: &Actor, filter: ExportFilter) -> Outcome<ApplicationFilter> {
    let mut problems = Vec::new();
    if let Some(status) = &filter.status
        && !STATUSES.contains(&status.as_str())
    {
        let violation = Violation::new(
            "enum",
            format!("status 只能是 {}", STATUSES.join("、")),
            format!("status is one of {}", STATUSES.join(", ")),
        );
        problems.push(FieldProblem::from_violation("status", violation));
    }
    let round = round_id(filter.round_id.as_deref())
        .map_err(|v| problems.push(FieldProblem::from_violation("round_id", v)))
        .unwrap_or_default();
    if !problems.is_empty() {
        return Err(Refusal::Invalid(problems));
    }
    let requested = filter.school_code.map(|s| s.trim().to_ascii_uppercase());
    Ok(ApplicationFilter {
        status: filter.status,
        round_id: round,
        major_code: trimmed(filter.major_code),
        visibility: actor.scope(requested.as_deref()),
        q: trimmed(filter.q),
    })
}

/// One exported row with its course's name in the current catalogue.
#[derive(Debug, Clone)]
pub struct ExportLine {
    /// The item with its application and candidate.
    pub row: ExportRow,
    /// The course name (empty if the catalogue does not know the course).
    pub course_name: String,
}

fn course_name(catalog: Option<&CatalogVersion>, code: &str) -> Option<String> {
    let code = domain::CourseCode::parse(code).ok()?;
    Some(catalog?.catalog.course(&code)?.name.clone())
}

/// Reads every row of `query` in chunks of [`CHUNK`], by application and item
/// position, handing each chunk to `send`; stops early when `send` says the
/// receiver went away (false).
pub fn export(
    conn: &mut PgConnection,
    query: &ApplicationFilter,
    catalog: Option<Arc<CatalogVersion>>,
    mut send: impl FnMut(Vec<ExportLine>) -> bool,
) -> Outcome<()> {
    let mut after = None;
    loop {
        let rows = reports::export_chunk(conn, query, after, CHUNK)?;
        let full = rows.len() as i64 == CHUNK;
        after = rows.last().map(|last| (last.application_id, last.position));
        let lines = (rows.into_iter())
            .map(|row| ExportLine {
                course_name: course_name(catalog.as_deref(), &row.course_code).unwrap_or_default(),
                row,
            })
            .collect();
        if !send(lines) || !full {
            return Ok(());
        }
    }
}

/// The statistics of a round (all rounds when absent) in the actor's scope.
#[derive(Debug, Clone)]
pub struct Statistics {
    /// The round counted.
    pub round_id: Option<Uuid>,
    /// The school counted: the actor's, or the one asked for (then nothing is
    /// counted unless the actor may see it); none for all schools.
    pub school_code: Option<String>,
    /// The counts.
    pub stats: Stats,
    /// Course names in the current catalogue, in the order of `stats.by_course`.
    pub course_names: Vec<Option<String>>,
}

/// Counts applications by status, major and course, and prior degrees by status.
pub fn statistics(
    conn: &mut PgConnection,
    actor: &Actor,
    catalog: Option<Arc<CatalogVersion>>,
    (round, school): (Option<&str>, Option<&str>),
) -> Outcome<Statistics> {
    let round_id = round_id(round).map_err(|v| Refusal::field("round_id", v))?;
    let requested = school.map(|s| s.trim().to_ascii_uppercase());
    let visibility = actor.scope(requested.as_deref());
    let school_code = match &visibility {
        Visibility::School(s) => Some(s.clone()),
        _ => requested,
    };
    let stats = reports::stats(conn, round_id, &visibility)?;
    let course_names = (stats.by_course.iter())
        .map(|c| course_name(catalog.as_deref(), &c.course_code))
        .collect();
    Ok(Statistics {
        round_id,
        school_code,
        stats,
        course_names,
    })
}
