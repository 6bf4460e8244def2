//! The export file: UTF-8 with BOM, CRLF, RFC 4180 quoting, and spreadsheet
//! formulas defused.

use chrono::{DateTime, Utc};

use crate::use_cases::reports::ExportLine;

/// The file's first bytes: the BOM and the header line.
pub fn start() -> String {
    let mut out = String::from("\u{feff}");
    line(&mut out, &HEADER);
    out
}

/// Appends one line per exported row.
pub fn lines(out: &mut String, rows: &[ExportLine]) {
    for l in rows {
        row_line(out, &l.row, &l.course_name);
    }
}

/// One CSV field: quoted when it holds a comma, quote or line break; a leading
/// `=`, `+`, `-` or `@` is escaped with `'` so that spreadsheets do not run it as a formula.
fn field(out: &mut String, value: &str) {
    let guarded;
    let value = if value.starts_with(['=', '+', '-', '@']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn line(out: &mut String, values: &[&str]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, v);
    }
    out.push_str("\r\n");
}

const HEADER: [&str; 17] = [
    "application_id",
    "exam_number",
    "candidate_name",
    "school_code",
    "major_code",
    "round",
    "route",
    "certificate_kind",
    "course_code",
    "course_name",
    "learned_course_name",
    "score_text",
    "status",
    "decision",
    "decision_reason",
    "submitted_at",
    "reviewed_at",
];

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.with_timezone(&domain::window::shanghai()).to_rfc3339())
        .unwrap_or_default()
}

fn row_line(out: &mut String, row: &persistence::reports::ExportRow, course_name: &str) {
    let id = row.application_id.to_string();
    let (submitted, reviewed) = (time(row.submitted_at), time(row.reviewed_at));
    line(
        out,
        &[
            &id,
            row.exam_number.as_deref().unwrap_or(""),
            &row.candidate_name,
            row.school_code.as_deref().unwrap_or(""),
            &row.major_code,
            &row.round_name,
            &row.kind,
            row.certificate_kind.as_deref().unwrap_or(""),
            &row.course_code,
            course_name,
            row.learned_course_name.as_deref().unwrap_or(""),
            row.score_text.as_deref().unwrap_or(""),
            &row.status,
            row.decision.as_deref().unwrap_or(""),
            row.decision_reason.as_deref().unwrap_or(""),
            &submitted,
            &reviewed,
        ],
    );
}
