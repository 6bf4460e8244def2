//! Catalogue versions: importing a checked catalogue as a new version, and loading a
//! version back (R8, R10–R16). A version is never changed after its import; the
//! current version is the one with the highest id.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::catalog::{
    Catalog, CertificateKind, CertificateRule, Course, DegreeLevel, DegreeRule, Evidence,
    ExamChannel, Major, MajorCode, ValidCatalog,
};
use domain::{CourseCode, Violation};
use uuid::Uuid;

use crate::DbError;
use crate::schema::{
    catalog_versions, certificate_rules, courses, degree_rules, major_plan_courses, majors,
};

/// Rows per multi-row INSERT, well under Postgres's 65 535 bind parameters.
const BATCH: usize = 1000;

/// A loaded catalogue version.
#[derive(Debug, Clone)]
pub struct CatalogVersion {
    /// The version id (higher is newer).
    pub id: i64,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
    /// The checked catalogue.
    pub catalog: ValidCatalog,
}

#[derive(Insertable)]
#[diesel(table_name = catalog_versions)]
struct NewVersion<'a> {
    label: &'a str,
    imported_by: Option<Uuid>,
    document: serde_json::Value,
}

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = courses)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct CourseRecord {
    catalog_version_id: i64,
    code: String,
    name: String,
    credits: i16,
    practical: bool,
    exam_channel: String,
}

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = majors)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct MajorRecord {
    catalog_version_id: i64,
    code: String,
    name: String,
    level: String,
    position: i32,
}

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = major_plan_courses)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct PlanRecord {
    catalog_version_id: i64,
    major_code: String,
    course_code: String,
    position: i32,
}

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = degree_rules)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct DegreeRuleRecord {
    catalog_version_id: i64,
    id: String,
    position: i32,
    major_code: String,
    course_code: String,
    evidence: String,
    expected_names: Vec<Option<String>>,
    score_terms: Option<i16>,
    pass_mark: Option<i16>,
    prior_levels: Vec<Option<String>>,
    prior_majors: Vec<Option<String>>,
}

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = certificate_rules)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct CertificateRuleRecord {
    catalog_version_id: i64,
    id: String,
    position: i32,
    kind: String,
    course_code: String,
    majors: Vec<Option<String>>,
}

fn exam_channel_text(channel: ExamChannel) -> &'static str {
    match channel {
        ExamChannel::Platform => "platform",
        ExamChannel::SchoolOffice => "school_office",
    }
}

fn texts<T: ToString>(items: &[T]) -> Vec<Option<String>> {
    items.iter().map(|i| Some(i.to_string())).collect()
}

fn position(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

/// Inserts `rows` in batches of [`BATCH`].
macro_rules! insert_batched {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(BATCH) {
            diesel::insert_into($table).values(chunk).execute($conn)?;
        }
    };
}

/// Stores a checked catalogue as a new version, in one transaction (all or nothing),
/// and returns the new version's id. Rounds created before keep their version.
pub fn import(
    conn: &mut PgConnection,
    catalog: &ValidCatalog,
    imported_by: Option<Uuid>,
) -> Result<i64, DbError> {
    let document =
        serde_json::to_value(catalog.catalog()).map_err(|e| DbError::Other(e.to_string()))?;
    conn.transaction(|conn| {
        let v: i64 = diesel::insert_into(catalog_versions::table)
            .values(NewVersion {
                label: catalog.label(),
                imported_by,
                document,
            })
            .returning(catalog_versions::id)
            .get_result(conn)?;

        let course_rows: Vec<CourseRecord> = catalog
            .courses()
            .iter()
            .map(|c| CourseRecord {
                catalog_version_id: v,
                code: c.code.to_string(),
                name: c.name.clone(),
                credits: i16::from(c.credits),
                practical: c.practical,
                exam_channel: exam_channel_text(c.exam_channel).to_owned(),
            })
            .collect();
        insert_batched!(conn, courses::table, course_rows);

        let major_rows: Vec<MajorRecord> = catalog
            .majors()
            .iter()
            .enumerate()
            .map(|(i, m)| MajorRecord {
                catalog_version_id: v,
                code: m.code.to_string(),
                name: m.name.clone(),
                level: m.level.label_en().to_owned(),
                position: position(i),
            })
            .collect();
        insert_batched!(conn, majors::table, major_rows);

        let plan_rows: Vec<PlanRecord> = catalog
            .majors()
            .iter()
            .flat_map(|m| {
                m.plan.iter().enumerate().map(|(i, c)| PlanRecord {
                    catalog_version_id: v,
                    major_code: m.code.to_string(),
                    course_code: c.to_string(),
                    position: position(i),
                })
            })
            .collect();
        insert_batched!(conn, major_plan_courses::table, plan_rows);

        let degree_rows: Vec<DegreeRuleRecord> = catalog
            .degree_rules()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (evidence, expected_names, score_terms, pass_mark) = match &r.evidence {
                    Evidence::None => ("none", Vec::new(), None, None),
                    Evidence::CourseAndScores {
                        expected_names,
                        score_terms,
                        pass_mark,
                    } => (
                        "course_and_scores",
                        texts(expected_names),
                        Some(i16::from(*score_terms)),
                        Some(i16::from(*pass_mark)),
                    ),
                };
                DegreeRuleRecord {
                    catalog_version_id: v,
                    id: r.id.clone(),
                    position: position(i),
                    major_code: r.major_code.to_string(),
                    course_code: r.course_code.to_string(),
                    evidence: evidence.to_owned(),
                    expected_names,
                    score_terms,
                    pass_mark,
                    prior_levels: r
                        .prior_levels
                        .iter()
                        .map(|l| Some(l.label_en().to_owned()))
                        .collect(),
                    prior_majors: texts(&r.prior_majors),
                }
            })
            .collect();
        insert_batched!(conn, degree_rules::table, degree_rows);

        let certificate_rows: Vec<CertificateRuleRecord> = catalog
            .certificate_rules()
            .iter()
            .enumerate()
            .map(|(i, r)| CertificateRuleRecord {
                catalog_version_id: v,
                id: r.id.clone(),
                position: position(i),
                kind: r.kind.as_str().to_owned(),
                course_code: r.course_code.to_string(),
                majors: texts(&r.majors),
            })
            .collect();
        insert_batched!(conn, certificate_rules::table, certificate_rows);
        Ok(v)
    })
}

/// The id of the current catalogue version, if any catalogue was ever imported.
pub fn current_version_id(conn: &mut PgConnection) -> Result<Option<i64>, DbError> {
    Ok(catalog_versions::table
        .select(diesel::dsl::max(catalog_versions::id))
        .first::<Option<i64>>(conn)?)
}

/// The current catalogue version, if any.
pub fn load_current(conn: &mut PgConnection) -> Result<Option<CatalogVersion>, DbError> {
    match current_version_id(conn)? {
        Some(id) => load(conn, id).map(Some),
        None => Ok(None),
    }
}

/// A stored version that no longer reads back as a valid catalogue: a bug or a hand
/// edit, never the caller's fault.
fn corrupt(version: i64, what: impl std::fmt::Display) -> DbError {
    DbError::Other(format!("catalogue version {version} is corrupt: {what}"))
}

fn parsed<T>(version: i64, result: Result<T, Violation>) -> Result<T, DbError> {
    result.map_err(|v| corrupt(version, v))
}

fn strings(version: i64, items: Vec<Option<String>>) -> Result<Vec<String>, DbError> {
    items
        .into_iter()
        .map(|s| s.ok_or_else(|| corrupt(version, "NULL in a list")))
        .collect()
}

fn certificate_kind(version: i64, text: &str) -> Result<CertificateKind, DbError> {
    CertificateKind::ALL
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| corrupt(version, format!("certificate kind {text}")))
}

/// Loads a catalogue version by id (`NotFound` if there is none), checked again so
/// that the caller gets the same [`ValidCatalog`] that was imported.
pub fn load(conn: &mut PgConnection, version: i64) -> Result<CatalogVersion, DbError> {
    conn.transaction(|conn| {
        let (label, imported_at): (String, DateTime<Utc>) = catalog_versions::table
            .find(version)
            .select((catalog_versions::label, catalog_versions::imported_at))
            .first(conn)?;

        let course_rows: Vec<CourseRecord> = courses::table
            .filter(courses::catalog_version_id.eq(version))
            .order(courses::code.asc())
            .select(CourseRecord::as_select())
            .load(conn)?;
        let mut course_list = Vec::with_capacity(course_rows.len());
        for row in course_rows {
            course_list.push(Course {
                code: parsed(version, CourseCode::parse(&row.code))?,
                name: row.name,
                credits: u8::try_from(row.credits).map_err(|e| corrupt(version, e))?,
                practical: row.practical,
                exam_channel: match row.exam_channel.as_str() {
                    "school_office" => ExamChannel::SchoolOffice,
                    "platform" => ExamChannel::Platform,
                    other => return Err(corrupt(version, format!("exam channel {other}"))),
                },
            });
        }

        let plan_rows: Vec<PlanRecord> = major_plan_courses::table
            .filter(major_plan_courses::catalog_version_id.eq(version))
            .order((
                major_plan_courses::major_code.asc(),
                major_plan_courses::position.asc(),
            ))
            .select(PlanRecord::as_select())
            .load(conn)?;
        let major_rows: Vec<MajorRecord> = majors::table
            .filter(majors::catalog_version_id.eq(version))
            .order(majors::position.asc())
            .select(MajorRecord::as_select())
            .load(conn)?;
        let mut major_list = Vec::with_capacity(major_rows.len());
        for row in major_rows {
            let plan = plan_rows
                .iter()
                .filter(|p| p.major_code == row.code)
                .map(|p| parsed(version, CourseCode::parse(&p.course_code)))
                .collect::<Result<Vec<_>, _>>()?;
            major_list.push(Major {
                code: parsed(version, MajorCode::parse(&row.code))?,
                name: row.name,
                level: parsed(version, DegreeLevel::parse(&row.level))?,
                plan,
            });
        }

        let degree_rows: Vec<DegreeRuleRecord> = degree_rules::table
            .filter(degree_rules::catalog_version_id.eq(version))
            .order(degree_rules::position.asc())
            .select(DegreeRuleRecord::as_select())
            .load(conn)?;
        let mut degree_list = Vec::with_capacity(degree_rows.len());
        for row in degree_rows {
            let evidence = match (row.evidence.as_str(), row.score_terms, row.pass_mark) {
                ("none", _, _) => Evidence::None,
                ("course_and_scores", Some(terms), Some(mark)) => Evidence::CourseAndScores {
                    expected_names: strings(version, row.expected_names)?,
                    score_terms: u8::try_from(terms).map_err(|e| corrupt(version, e))?,
                    pass_mark: u8::try_from(mark).map_err(|e| corrupt(version, e))?,
                },
                _ => return Err(corrupt(version, format!("evidence of rule {}", row.id))),
            };
            degree_list.push(DegreeRule {
                id: row.id,
                major_code: parsed(version, MajorCode::parse(&row.major_code))?,
                course_code: parsed(version, CourseCode::parse(&row.course_code))?,
                evidence,
                prior_levels: strings(version, row.prior_levels)?
                    .iter()
                    .map(|l| parsed(version, DegreeLevel::parse(l)))
                    .collect::<Result<_, _>>()?,
                prior_majors: strings(version, row.prior_majors)?,
            });
        }

        let certificate_rows: Vec<CertificateRuleRecord> = certificate_rules::table
            .filter(certificate_rules::catalog_version_id.eq(version))
            .order(certificate_rules::position.asc())
            .select(CertificateRuleRecord::as_select())
            .load(conn)?;
        let mut certificate_list = Vec::with_capacity(certificate_rows.len());
        for row in certificate_rows {
            certificate_list.push(CertificateRule {
                kind: certificate_kind(version, &row.kind)?,
                id: row.id,
                course_code: parsed(version, CourseCode::parse(&row.course_code))?,
                majors: strings(version, row.majors)?
                    .iter()
                    .map(|m| parsed(version, MajorCode::parse(m)))
                    .collect::<Result<_, _>>()?,
            });
        }

        let catalog = Catalog {
            label,
            courses: course_list,
            majors: major_list,
            degree_rules: degree_list,
            certificate_rules: certificate_list,
        }
        .validate()
        .map_err(|problems| {
            let first = problems
                .first()
                .map(|(path, v)| format!("{path}: {v}"))
                .unwrap_or_default();
            corrupt(
                version,
                format!("{} problem(s), first {first}", problems.len()),
            )
        })?;
        Ok(CatalogVersion {
            id: version,
            imported_at,
            catalog,
        })
    })
}
