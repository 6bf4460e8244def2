//! The catalogue (R8): importing a whole document (`PUT /api/v1/admin/catalog`,
//! `zikao-cert catalog import FILE`, the first local run's sample catalogue) or
//! the annex table alone (`POST /api/v1/admin/catalog/rules.csv`). The whole
//! catalogue is checked first and every problem reported with its path; only a
//! valid one is stored, as a new version, in one transaction, and served at once by
//! this process.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use domain::Violation;
use domain::catalog::{Catalog, Problems, ValidCatalog};
use domain::window::{Pledge, Window};
use persistence::DbError;
use persistence::rounds::{NewRound, RoundRecord};
use uuid::Uuid;

use crate::access::Actor;
use crate::catalog_cache::CatalogCache;
use crate::http::problem::{FieldProblem, Msg};
use crate::use_cases::{Outcome, Refusal};

/// `data/sample-catalog.json`, compiled in so that the binary can seed a fresh local
/// installation from any working directory.
pub const SAMPLE_CATALOG: &str = include_str!("../../../data/sample-catalog.json");

/// The pledge version of the demo round made with the sample catalogue.
pub const DEMO_PLEDGE_VERSION: &str = "2026-demo";

/// The demo round's pledge (R3), labelled as a demo.
pub const DEMO_PLEDGE_TEXT: &str = "【演示用承诺书，非正式文本】本人承诺：所提交的前置学历信息及学历证书、成绩等材料真实、准确、完整，\
如有虚假，本人愿意承担由此产生的一切后果，包括取消相应课程的认证结果；本人已阅读并同意申请须知的全部条款。";

/// What an import stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The new catalogue version.
    pub version_id: i64,
    /// The catalogue's label.
    pub label: String,
    /// Number of courses.
    pub courses: usize,
    /// Number of majors.
    pub majors: usize,
    /// Number of degree rules (annex table rows).
    pub degree_rules: usize,
    /// Number of certificate rules.
    pub certificate_rules: usize,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "imported catalogue version {} \"{}\": {} courses, {} majors, {} degree rules, {} certificate rules",
            self.version_id,
            self.label,
            self.courses,
            self.majors,
            self.degree_rules,
            self.certificate_rules
        )
    }
}

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The document is not a valid catalogue: every problem, with its JSON path.
    #[error("the catalogue has {} problem(s)", .0.len())]
    Invalid(Problems),
    /// Storing failed.
    #[error("{0}")]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ImportError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(error.into())
    }
}

/// Parses and checks a JSON catalogue document. A shape error (wrong JSON type,
/// unknown field, bad code) is one problem at its path; otherwise every problem
/// [`Catalog::validate`] finds.
pub fn parse_document(json: &[u8]) -> Result<ValidCatalog, Problems> {
    let malformed = |path: String, message: String| {
        let path = if path == "." { String::new() } else { path };
        vec![(
            path,
            Violation::new(
                "catalog.format",
                format!("目录文件格式错误：{message}"),
                format!("the catalogue document is malformed: {message}"),
            ),
        )]
    };
    let mut de = serde_json::Deserializer::from_slice(json);
    let mut value: serde_json::Value = serde::Deserialize::deserialize(&mut de)
        .map_err(|e: serde_json::Error| malformed(String::new(), e.to_string()))?;
    de.end()
        .map_err(|e| malformed(String::new(), e.to_string()))?;
    // Course, major and rule names are free text like any other (text.control).
    let problems = domain::text::check_json(&mut value);
    if !problems.is_empty() {
        return Err(problems);
    }
    let catalog: Catalog = serde_path_to_error::deserialize(value)
        .map_err(|e| malformed(e.path().to_string(), e.inner().to_string()))?;
    catalog.validate()
}

/// Stores a checked catalogue as a new version.
pub fn import_valid(
    conn: &mut PgConnection,
    catalog: &ValidCatalog,
    imported_by: Option<Uuid>,
) -> Result<ImportReport, DbError> {
    let version_id = persistence::catalog::import(conn, catalog, imported_by)?;
    Ok(ImportReport {
        version_id,
        label: catalog.label().to_owned(),
        courses: catalog.courses().len(),
        majors: catalog.majors().len(),
        degree_rules: catalog.degree_rules().len(),
        certificate_rules: catalog.certificate_rules().len(),
    })
}

/// Checks a JSON document and, if valid, stores it as a new version.
pub fn import_document(
    conn: &mut PgConnection,
    json: &[u8],
    imported_by: Option<Uuid>,
) -> Result<ImportReport, ImportError> {
    let catalog = parse_document(json).map_err(ImportError::Invalid)?;
    Ok(import_valid(conn, &catalog, imported_by)?)
}

/// Reads a JSON catalogue file and imports it (`zikao-cert catalog import FILE`).
pub fn import_file(
    conn: &mut PgConnection,
    path: &Path,
    imported_by: Option<Uuid>,
) -> Result<ImportReport, ImportError> {
    let json = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    import_document(conn, &json, imported_by)
}

/// Every problem of a catalogue, by path.
pub fn invalid(problems: Problems) -> Refusal {
    Refusal::Invalid(
        (problems.into_iter())
            .map(|(path, v)| FieldProblem::from_violation(path, v))
            .collect(),
    )
}

/// Imports a checked catalogue as the new current version (admins; `None`: the
/// service itself) and puts it in this process's memory at once.
pub fn import(
    conn: &mut PgConnection,
    actor: Option<&Actor>,
    cache: &CatalogCache,
    catalog: &ValidCatalog,
) -> Outcome<ImportReport> {
    if actor.is_some_and(|a| !a.can_administer()) {
        return Err(Refusal::Forbidden);
    }
    let report = import_valid(conn, catalog, actor.map(|a| a.id))?;
    cache.refresh(conn)?;
    Ok(report)
}

/// Replaces the degree rules (the annex table) of the current catalogue and
/// imports the result, checked whole, as a new version (admins); 409
/// `state.conflict` before any catalogue exists.
pub fn replace_degree_rules(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    rules: Vec<domain::catalog::DegreeRule>,
) -> Outcome<ImportReport> {
    if !actor.can_administer() {
        return Err(Refusal::Forbidden);
    }
    let current = cache.current().ok_or_else(|| {
        Refusal::ConflictTitled(
            Msg::new("尚无课程目录", "No catalogue yet"),
            Violation::new(
                "state.conflict",
                "请先导入完整的课程目录（PUT /api/v1/admin/catalog），再导入附件表",
                "import a whole catalogue first (PUT /api/v1/admin/catalog), then the annex table",
            ),
        )
    })?;
    let mut catalog = current.catalog.catalog().clone();
    catalog.degree_rules = rules;
    let catalog = catalog.validate().map_err(invalid)?;
    import(conn, Some(actor), cache, &catalog)
}

/// The demo round: windows open from a day before `now` (prior degrees for 60 days,
/// certification for 90), with the demo pledge.
pub fn demo_round(now: DateTime<Utc>) -> NewRound {
    let window = |days| {
        Window::new(now - TimeDelta::days(1), now + TimeDelta::days(days))
            .expect("a demo window closes after it opens")
    };
    NewRound {
        name: "演示轮次（示例数据，非正式）".to_owned(),
        prior_degree_window: window(60),
        certification_window: window(90),
        pledge: Pledge::new(DEMO_PLEDGE_VERSION, DEMO_PLEDGE_TEXT)
            .expect("the demo pledge is valid"),
    }
}

/// On a fresh installation (no catalogue version yet): imports the sample catalogue
/// and creates the demo round. Does nothing when a catalogue exists. Runs under a
/// transaction-scoped advisory lock, so that instances starting together seed once.
pub fn seed_sample_if_empty(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Option<(ImportReport, RoundRecord)>, ImportError> {
    // "zikao" followed by "seed".
    const SEED_LOCK_KEY: i64 = 0x007a_696b_616f_5eed;
    conn.transaction(|conn| {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({SEED_LOCK_KEY})"))
            .execute(conn)
            .map_err(DbError::from)?;
        if persistence::catalog::current_version_id(conn)?.is_some() {
            return Ok(None);
        }
        let report = import_document(conn, SAMPLE_CATALOG.as_bytes(), None)?;
        let round = persistence::rounds::create(conn, &demo_round(now), now)?;
        Ok(Some((report, round)))
    })
}
