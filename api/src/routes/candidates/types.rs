//! The queries and answers of the candidate operations.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::problem::{FieldProblem, Lang};
use crate::routes::applications::ApplicationView;
use crate::routes::prior_degrees::PriorDegreeView;
use crate::routes::progress::ProgressView;
use crate::routes::views::Profile;
use crate::use_cases::candidate_import::{RowOutcome, RowReport};
use crate::use_cases::candidates::Detail;

/// How to search the candidate list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidateSearch {
    /// Matches an exam number by prefix (`0101182`), an ID number exactly (check
    /// character `X` in either case), or a part of the name in any letter case
    /// (`张`, `li na`). At most 50 characters; blank means no search.
    #[param(example = "0101182", max_length = 50)]
    pub q: Option<String>,
    /// Admins: only this school's candidates. Staff always see their own school
    /// only; another code gives an empty list.
    #[param(example = "HBU01")]
    pub school_code: Option<String>,
}

/// A candidate as staff see them: the profile (ID number masked) with the
/// candidate's prior degrees, certification applications and progress (R19).
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateDetail {
    /// The profile.
    #[serde(flatten)]
    pub profile: Profile,
    /// Prior degrees, newest first.
    pub prior_degrees: Vec<PriorDegreeView>,
    /// Certification applications, newest first.
    pub applications: Vec<ApplicationView>,
    /// Every course of the plan: certified, pending, certifiable or exam; null when
    /// the candidate's major is not in the catalogue.
    pub progress: Option<ProgressView>,
}

/// What happened to one row of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// A new account with a temporary password.
    Created,
    /// The exam number or ID number is already registered (or was created by an
    /// earlier row of this file); nothing was changed.
    Skipped,
    /// The row breaks a rule; see `errors`.
    Rejected,
}

/// A problem with one cell of a row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportFieldError {
    /// The column (`phone`), or `row` for the row as a whole.
    pub field: String,
    /// Stable code, as in registration (`phone.format`, `account.exists`…).
    pub code: String,
    /// What is wrong, in the response language.
    pub message: String,
}

/// The outcome of one row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowReport {
    /// Row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// `created`, `skipped` or `rejected`.
    pub status: ImportStatus,
    /// The row's exam-number cell, as written.
    pub exam_number: String,
    /// The new account (created rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Uuid>,
    /// The temporary password (created rows only; shown once, stored only hashed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
    /// Why the row was rejected or skipped; empty for created rows.
    pub errors: Vec<ImportFieldError>,
}

/// The per-row report of an import.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "rows": [
        {"row": 2, "status": "created", "exam_number": "010118200123",
         "account_id": "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", "temporary_password": "kQm4vTzp7RdW", "errors": []},
        {"row": 3, "status": "skipped", "exam_number": "010118200124",
         "errors": [{"field": "exam_number", "code": "account.exists", "message": "该准考证号已注册"}]},
        {"row": 4, "status": "rejected", "exam_number": "01011820012",
         "errors": [{"field": "exam_number", "code": "exam_number.format", "message": "准考证号必须是12位数字"}]}
    ],
    "created": 1, "skipped": 1, "rejected": 1
}))]
pub struct ImportReport {
    /// One entry per data row, in file order.
    pub rows: Vec<ImportRowReport>,
    /// Rows that created an account.
    pub created: usize,
    /// Rows already registered.
    pub skipped: usize,
    /// Rows refused.
    pub rejected: usize,
}

impl CandidateDetail {
    /// The view of `detail`, texts in `lang`.
    pub fn of(detail: Detail, lang: Lang) -> Self {
        CandidateDetail {
            profile: Profile::for_others(detail.account),
            prior_degrees: (detail.prior_degrees.into_iter())
                .map(|shown| PriorDegreeView::of(shown, lang))
                .collect(),
            applications: (detail.applications.into_iter())
                .map(ApplicationView::of)
                .collect(),
            progress: detail.progress.map(|p| ProgressView::of(p, lang)),
        }
    }
}

fn field_errors(problems: Vec<FieldProblem>, lang: Lang) -> Vec<ImportFieldError> {
    (problems.into_iter())
        .map(|p| ImportFieldError {
            field: p.field,
            code: p.code.into_owned(),
            message: p.message.get(lang).to_owned(),
        })
        .collect()
}

impl ImportReport {
    /// The report of the rows in `lang`, with the counts.
    pub fn of(rows: Vec<RowReport>, lang: Lang) -> Self {
        let mut report = ImportReport {
            rows: Vec::with_capacity(rows.len()),
            created: 0,
            skipped: 0,
            rejected: 0,
        };
        for RowReport {
            row,
            exam_number,
            outcome,
        } in rows
        {
            let (status, account_id, temporary_password, errors) = match outcome {
                RowOutcome::Created { id, password } => {
                    report.created += 1;
                    (ImportStatus::Created, Some(id), Some(password), Vec::new())
                }
                RowOutcome::Skipped(problem) => {
                    report.skipped += 1;
                    let errors = field_errors(vec![problem], lang);
                    (ImportStatus::Skipped, None, None, errors)
                }
                RowOutcome::Rejected(problems) => {
                    report.rejected += 1;
                    let errors = field_errors(problems, lang);
                    (ImportStatus::Rejected, None, None, errors)
                }
            };
            report.rows.push(ImportRowReport {
                row,
                status,
                exam_number,
                account_id,
                temporary_password,
                errors,
            });
        }
        report
    }
}
