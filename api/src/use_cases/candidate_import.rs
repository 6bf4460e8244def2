//! Importing candidate accounts from a school's class list (R19), in three steps so
//! that hashing the temporary passwords holds no pooled connection: [`prepare`]
//! decides each parsed row (unknown school or major: rejected; already
//! registered: no password drawn), the caller hashes [`Prepared::passwords`], and
//! [`commit`] inserts every new account in one transaction, where the unique
//! indexes decide what is created and what is skipped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use diesel::PgConnection;
use domain::Violation;
use domain::account::Role;
use domain::account::SchoolCode;
use domain::candidate_import::{CandidateRecord, ImportRow, Importer};
use persistence::accounts::NewAccount;
use persistence::candidates;
use persistence::catalog::CatalogVersion;
use uuid::Uuid;

use crate::access::{Actor, Visibility};
use crate::auth::secret;
use crate::http::problem::{FieldProblem, Msg};
use crate::use_cases::{Outcome, Refusal};

/// Who imports, by the access policy: admins into any school, staff into theirs.
pub fn importer(actor: &Actor) -> Outcome<Importer> {
    match actor.visibility() {
        Visibility::All if actor.can_administer() => Ok(Importer::Admin),
        Visibility::School(code) => SchoolCode::parse(&code)
            .map(Importer::School)
            .map_err(|_| Refusal::Internal("staff of a malformed school".into())),
        _ => Err(Refusal::Forbidden),
    }
}

/// How one row ended.
#[derive(Debug, Clone)]
pub enum RowOutcome {
    /// A new candidate account with this temporary password.
    Created {
        /// The account.
        id: Uuid,
        /// Shown once, stored only hashed.
        password: String,
    },
    /// Already registered (or created by an earlier row of the file).
    Skipped(FieldProblem),
    /// The row breaks rules.
    Rejected(Vec<FieldProblem>),
}

/// A row's outcome with the row number and its exam-number cell as written.
#[derive(Debug, Clone)]
pub struct RowReport {
    /// Row number (header = 1).
    pub row: usize,
    /// The exam-number cell.
    pub exam_number: String,
    /// What happened.
    pub outcome: RowOutcome,
}

/// A valid row on its way into the database, with the temporary password it gets
/// unless it is already known to be registered.
#[derive(Debug)]
struct Pending {
    record: CandidateRecord,
    password: Option<String>,
}

/// The rows decided before hashing.
#[derive(Debug)]
pub struct Prepared {
    rows: Vec<(usize, String, Result<Pending, Vec<FieldProblem>>)>,
}

impl Prepared {
    /// The temporary passwords to hash, in row order (one per row that may create
    /// an account).
    pub fn passwords(&self) -> Vec<String> {
        (self.rows.iter())
            .filter_map(|(_, _, entry)| entry.as_ref().ok()?.password.clone())
            .collect()
    }
}

fn unknown_school() -> Vec<FieldProblem> {
    let v = Violation::new(
        "school.unknown",
        "学校代码不存在",
        "there is no school with this code",
    );
    vec![FieldProblem::from_violation("school_code", v)]
}

fn unknown_major(code: &str) -> Vec<FieldProblem> {
    let v = Violation::new(
        "major.unknown",
        format!("自考专业 {code} 不在目录中"),
        format!("there is no self-study major {code} in the catalogue"),
    );
    vec![FieldProblem::from_violation("major_code", v)]
}

/// Decides each row: its own problems, an unknown school or major, or pending
/// (with a fresh temporary password unless its exam or ID number is registered;
/// accounts are never deleted, so that read only saves hashing).
pub fn prepare(
    conn: &mut PgConnection,
    catalog: Option<Arc<CatalogVersion>>,
    rows: Vec<ImportRow>,
) -> Outcome<Prepared> {
    let records = || rows.iter().filter_map(|r| r.result.as_ref().ok());
    let exams: Vec<String> = records().map(|c| c.exam_number.as_str().into()).collect();
    let ids: Vec<String> = records().map(|c| c.id_number.as_str().into()).collect();
    let schools: HashSet<String> = records()
        .filter_map(|c| c.school_code.as_ref().map(|s| s.as_str().to_owned()))
        .collect();
    let (known_exams, known_ids) = candidates::registered_keys(conn, &exams, &ids)?;
    let schools: Vec<String> = schools.into_iter().collect();
    let known_schools = candidates::existing_schools(conn, &schools)?;
    let decide = |record: CandidateRecord| {
        let school_known =
            (record.school_code.as_ref()).is_none_or(|s| known_schools.contains(s.as_str()));
        let major_known =
            (catalog.as_ref()).is_some_and(|c| c.catalog.major(&record.major_code).is_some());
        if !school_known {
            return Err(unknown_school());
        }
        if !major_known {
            return Err(unknown_major(record.major_code.as_str()));
        }
        let known = known_exams.contains(record.exam_number.as_str())
            || known_ids.contains(record.id_number.as_str());
        let password = (!known).then(secret::temporary_password);
        Ok(Pending { record, password })
    };
    let rows = (rows.into_iter())
        .map(|row| {
            let entry = match row.result {
                Err(problems) => Err((problems.into_iter())
                    .map(|(field, v)| FieldProblem::from_violation(field, v))
                    .collect()),
                Ok(record) => decide(record),
            };
            (row.row, row.exam_number, entry)
        })
        .collect();
    Ok(Prepared { rows })
}

fn exists_problem(field: &str) -> FieldProblem {
    let (zh, en) = match field {
        "exam_number" => ("该准考证号已注册", "this exam number is already registered"),
        _ => ("该身份证号已注册", "this ID number is already registered"),
    };
    FieldProblem {
        field: field.to_owned(),
        code: "account.exists".into(),
        message: Msg::new(zh, en),
    }
}

fn duplicate_problem(field: &str, first_row: usize) -> FieldProblem {
    let label = if field == "exam_number" {
        "准考证号"
    } else {
        "身份证号"
    };
    FieldProblem {
        field: field.to_owned(),
        code: "import.duplicate_in_file".into(),
        message: Msg::new(
            format!("与本文件第 {first_row} 行的{label}相同，已由该行创建"),
            format!("the same {field} as row {first_row} of this file, which created it"),
        ),
    }
}

fn new_candidate(record: &CandidateRecord, password_hash: String) -> NewAccount {
    NewAccount {
        id: Uuid::now_v7(),
        role: Role::Candidate,
        exam_number: Some(record.exam_number.as_str().into()),
        id_number: Some(record.id_number.as_str().into()),
        username: None,
        name: record.name.as_str().into(),
        phone: Some(record.phone.as_str().into()),
        major_code: Some(record.major_code.as_str().into()),
        school_code: record.school_code.as_ref().map(|s| s.as_str().to_owned()),
        password_hash,
        must_change_password: true,
        scopes: Vec::new(),
    }
}

/// Keys created by earlier rows of this file, with their row.
#[derive(Default)]
struct CreatedKeys {
    exams: HashMap<String, usize>,
    ids: HashMap<String, usize>,
}

/// Why a pending row was not created: an earlier row of the file, or an account
/// registered before.
fn skipped(
    conn: &mut PgConnection,
    created: &CreatedKeys,
    record: &CandidateRecord,
) -> Outcome<FieldProblem> {
    let (exam, id) = (record.exam_number.as_str(), record.id_number.as_str());
    Ok(if let Some(first) = created.exams.get(exam) {
        duplicate_problem("exam_number", *first)
    } else if let Some(first) = created.ids.get(id) {
        duplicate_problem("id_number", *first)
    } else if candidates::exam_number_registered(conn, exam)? {
        exists_problem("exam_number")
    } else {
        exists_problem("id_number")
    })
}

/// Inserts every pending row with its hash (from [`Prepared::passwords`], in the
/// same order) in one transaction; a row the unique indexes refuse is skipped.
pub fn commit(
    conn: &mut PgConnection,
    prepared: Prepared,
    hashes: Vec<String>,
) -> Outcome<Vec<RowReport>> {
    // Run again after a deadlock, it starts from the first row and hash.
    super::transaction(conn, |conn| {
        let mut hashes = hashes.iter();
        let mut created = CreatedKeys::default();
        let mut reports = Vec::with_capacity(prepared.rows.len());
        for (row, exam_number, entry) in &prepared.rows {
            let (row, exam_number) = (*row, exam_number.clone());
            let outcome = match entry {
                Err(problems) => RowOutcome::Rejected(problems.clone()),
                Ok(Pending { record, password }) => {
                    let inserted = match (password, password.as_ref().and_then(|_| hashes.next())) {
                        (Some(_), Some(hash)) => candidates::insert_unless_registered(
                            conn,
                            &new_candidate(record, hash.clone()),
                        )?,
                        _ => None,
                    };
                    match (inserted, password.clone()) {
                        (Some(account), Some(password)) => {
                            created
                                .exams
                                .insert(record.exam_number.as_str().into(), row);
                            created.ids.insert(record.id_number.as_str().into(), row);
                            RowOutcome::Created {
                                id: account.id,
                                password,
                            }
                        }
                        _ => RowOutcome::Skipped(skipped(conn, &created, record)?),
                    }
                }
            };
            reports.push(RowReport {
                row,
                exam_number,
                outcome,
            });
        }
        Ok(reports)
    })
}
