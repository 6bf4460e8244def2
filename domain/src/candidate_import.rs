//! The candidate import file school offices upload (R19): one candidate per row,
//! checked with the same rules as self-registration, each row on its own so that
//! a bad row rejects only itself.
//!
//! Header row required, any column order: [`REQUIRED_COLUMNS`] and optionally
//! `school_code`. Cells are trimmed. Rows are numbered as in a spreadsheet (the
//! header is row 1).

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::Violation;
use crate::account::{ExamNumber, IdNumber, PersonName, Phone, SchoolCode};
use crate::catalog::MajorCode;
use crate::csv;

/// Columns every import file has.
pub const REQUIRED_COLUMNS: [&str; 5] = ["exam_number", "id_number", "name", "phone", "major_code"];

/// The optional column naming the candidate's school.
pub const SCHOOL_COLUMN: &str = "school_code";

/// The most data rows one file may hold: each new candidate costs an Argon2
/// hash (≈ 20–70 ms), so 1000 rows keep one request under about half a minute
/// on two cores (see bench/README.md).
pub const MAX_ROWS: usize = 1000;

/// A row that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateRecord {
    /// 准考证号.
    pub exam_number: ExamNumber,
    /// Resident ID number.
    pub id_number: IdNumber,
    /// Name.
    pub name: PersonName,
    /// Mobile phone.
    pub phone: Phone,
    /// Self-study major (its existence in the catalogue is checked by the caller).
    pub major_code: MajorCode,
    /// The school, when the row or the importer gives one.
    pub school_code: Option<SchoolCode>,
}

/// One data row of the file, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Row number (header = 1).
    pub row: usize,
    /// The exam-number cell as written (trimmed), to identify the row in a report.
    pub exam_number: String,
    /// The candidate, or every problem of the row with its column.
    pub result: Result<CandidateRecord, Vec<(&'static str, Violation)>>,
}

/// Who imports: staff always into their own school, admins into any (or none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Importer {
    /// School staff of this school.
    School(SchoolCode),
    /// An admin.
    Admin,
}

fn file_problem(code: &'static str, zh: String, en: String) -> (String, Violation) {
    ("file".to_owned(), Violation::new(code, zh, en))
}

/// Splits and checks a whole file. Problems of the file itself (broken quoting, a
/// missing, unknown or repeated column, too many rows) refuse the whole file and
/// come back as `(location, violation)`; problems of a row stay in that row.
pub fn parse(
    text: &str,
    importer: &Importer,
    today: NaiveDate,
) -> Result<Vec<ImportRow>, Vec<(String, Violation)>> {
    let records = csv::records(text).map_err(|e| vec![(format!("row {}", e.row), e.violation)])?;
    let Some((header, data)) = records.split_first() else {
        return Err(vec![file_problem(
            "csv.header_missing",
            format!("文件为空：第一行须为表头 {}", REQUIRED_COLUMNS.join(",")),
            format!(
                "the file is empty: the first row must be the header {}",
                REQUIRED_COLUMNS.join(",")
            ),
        )]);
    };
    let columns = header_columns(&header.cells)?;
    if data.len() > MAX_ROWS {
        return Err(vec![file_problem(
            "csv.too_many_rows",
            format!(
                "一个文件最多 {MAX_ROWS} 行考生，收到 {} 行；请拆分后分批导入",
                data.len()
            ),
            format!(
                "a file holds at most {MAX_ROWS} candidate rows, got {}; split it",
                data.len()
            ),
        )]);
    }
    Ok(data
        .iter()
        .map(|record| check_row(record, &columns, importer, today))
        .collect())
}

/// The position of each known column in the header.
struct Columns {
    required: [usize; 5],
    school: Option<usize>,
    width: usize,
}

fn header_columns(cells: &[String]) -> Result<Columns, Vec<(String, Violation)>> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    let mut required = [usize::MAX; 5];
    let mut school = None;
    for (i, cell) in cells.iter().enumerate() {
        let name = cell.trim().to_ascii_lowercase();
        if !seen.insert(name.clone()) {
            problems.push(file_problem(
                "csv.duplicate_column",
                format!("表头中的列 {name} 重复"),
                format!("the header names column {name} twice"),
            ));
            continue;
        }
        if let Some(k) = REQUIRED_COLUMNS.iter().position(|c| *c == name) {
            required[k] = i;
        } else if name == SCHOOL_COLUMN {
            school = Some(i);
        } else {
            problems.push(file_problem(
                "csv.unknown_column",
                format!(
                    "表头中的列“{name}”不认识；可用的列：{},{SCHOOL_COLUMN}",
                    REQUIRED_COLUMNS.join(",")
                ),
                format!(
                    "unknown column \"{name}\" in the header; known columns: {},{SCHOOL_COLUMN}",
                    REQUIRED_COLUMNS.join(",")
                ),
            ));
        }
    }
    for (k, column) in REQUIRED_COLUMNS.iter().enumerate() {
        if required[k] == usize::MAX {
            problems.push(file_problem(
                "csv.missing_column",
                format!("表头缺少列 {column}"),
                format!("the header lacks column {column}"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(Columns {
            required,
            school,
            width: cells.len(),
        })
    } else {
        Err(problems)
    }
}

fn check_row(
    record: &csv::Record,
    columns: &Columns,
    importer: &Importer,
    today: NaiveDate,
) -> ImportRow {
    let cell = |i: usize| record.cells.get(i).map(|c| c.trim()).unwrap_or("");
    let [exam_i, id_i, name_i, phone_i, major_i] = columns.required;
    let exam_text = cell(exam_i).to_owned();
    if record.cells.len() != columns.width {
        let n = record.cells.len();
        let w = columns.width;
        return ImportRow {
            row: record.row,
            exam_number: exam_text,
            result: Err(vec![(
                "row",
                Violation::new(
                    "csv.cell_count",
                    format!("该行有 {n} 个单元格，表头有 {w} 列"),
                    format!("the row has {n} cells but the header has {w} columns"),
                ),
            )]),
        };
    }
    let mut problems = RowProblems::default();
    let exam_number = problems.check("exam_number", ExamNumber::parse(cell(exam_i)));
    let id_number = problems.check("id_number", IdNumber::parse_as_of(cell(id_i), today));
    let name = problems.check("name", PersonName::parse(cell(name_i)));
    let phone = problems.check("phone", Phone::parse(cell(phone_i)));
    let major_code = problems.check("major_code", MajorCode::parse(cell(major_i)));
    let written = columns.school.map(cell).filter(|c| !c.is_empty());
    let school_code = match (importer, written) {
        (Importer::Admin, None) => Some(None),
        (Importer::Admin, Some(text)) => problems
            .check(SCHOOL_COLUMN, SchoolCode::parse(text))
            .map(Some),
        (Importer::School(own), None) => Some(Some(own.clone())),
        (Importer::School(own), Some(text)) => match SchoolCode::parse(text) {
            Ok(code) if &code == own => Some(Some(code)),
            _ => problems.check(
                SCHOOL_COLUMN,
                Err(Violation::new(
                    "school.not_own",
                    format!("学校工作人员只能导入本校（{own}）的考生；此列可留空"),
                    format!(
                        "staff import candidates of their own school ({own}) only; leave the cell blank"
                    ),
                )),
            ),
        },
    };
    let result = match (exam_number, id_number, name, phone, major_code, school_code) {
        (
            Some(exam_number),
            Some(id_number),
            Some(name),
            Some(phone),
            Some(major_code),
            Some(school_code),
        ) => Ok(CandidateRecord {
            exam_number,
            id_number,
            name,
            phone,
            major_code,
            school_code,
        }),
        _ => Err(problems.0),
    };
    ImportRow {
        row: record.row,
        exam_number: exam_text,
        result,
    }
}

/// The problems of one row, by column.
#[derive(Default)]
struct RowProblems(Vec<(&'static str, Violation)>);

impl RowProblems {
    /// Keeps the value, or records the violation against `field`.
    fn check<T>(&mut self, field: &'static str, result: Result<T, Violation>) -> Option<T> {
        result.map_err(|v| self.0.push((field, v))).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11010519491231002X";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    }

    fn school(code: &str) -> Importer {
        Importer::School(SchoolCode::parse(code).unwrap())
    }

    fn codes(row: &ImportRow) -> Vec<(&'static str, &'static str)> {
        match &row.result {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(|(f, v)| (*f, v.code)).collect(),
        }
    }

    #[test]
    fn columns_may_come_in_any_order_and_staff_rows_get_their_school() {
        let text = format!(
            "\u{feff}name,major_code,phone,id_number,exam_number\r\n 张三 ,100701,13800138000,{},010118200123\r\n",
            ID.to_lowercase()
        );
        let rows = parse(&text, &school("hbu01"), today()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].row, 2);
        let record = rows[0].result.as_ref().unwrap();
        assert_eq!(record.id_number.as_str(), ID);
        assert_eq!(record.name.as_str(), "张三");
        assert_eq!(record.school_code.as_ref().unwrap().as_str(), "HBU01");
    }

    #[test]
    fn every_problem_of_a_row_is_reported_by_column() {
        let text = "exam_number,id_number,name,phone,major_code\n12345,110105194912310021,张3,1380013800,1007-01\n";
        let rows = parse(text, &Importer::Admin, today()).unwrap();
        assert_eq!(
            codes(&rows[0]),
            vec![
                ("exam_number", "exam_number.format"),
                ("id_number", "id_number.checksum"),
                ("name", "name.format"),
                ("phone", "phone.format"),
                ("major_code", "major.code_format"),
            ]
        );
        assert_eq!(rows[0].exam_number, "12345");
    }

    #[test]
    fn staff_cannot_import_into_another_school_but_admins_can() {
        let text = format!(
            "exam_number,id_number,name,phone,major_code,school_code\n010118200123,{ID},张三,13800138000,100701,WHU02\n010118200124,{ID},张三,13800138000,100701,\n"
        );
        let staff = parse(&text, &school("HBU01"), today()).unwrap();
        assert_eq!(codes(&staff[0]), vec![("school_code", "school.not_own")]);
        assert!(staff[1].result.is_ok());
        let admin = parse(&text, &Importer::Admin, today()).unwrap();
        let first = admin[0].result.as_ref().unwrap();
        assert_eq!(first.school_code.as_ref().unwrap().as_str(), "WHU02");
        assert_eq!(admin[1].result.as_ref().unwrap().school_code, None);
    }

    #[test]
    fn a_row_with_the_wrong_number_of_cells_is_rejected_alone() {
        let text = format!(
            "exam_number,id_number,name,phone,major_code\n010118200123,{ID},张三\n010118200124,{ID},张三,13800138000,100701\n"
        );
        let rows = parse(&text, &Importer::Admin, today()).unwrap();
        assert_eq!(codes(&rows[0]), vec![("row", "csv.cell_count")]);
        assert!(rows[1].result.is_ok());
    }

    #[test]
    fn header_problems_refuse_the_whole_file() {
        for (text, code) in [
            ("", "csv.header_missing"),
            ("exam_number,id_number,name,phone\n", "csv.missing_column"),
            (
                "exam_number,id_number,name,phone,major_code,email\n",
                "csv.unknown_column",
            ),
            (
                "exam_number,id_number,name,phone,major_code,name\n",
                "csv.duplicate_column",
            ),
            ("exam_number,\"id_number\"x\n", "csv.format"),
        ] {
            let problems = parse(text, &Importer::Admin, today()).unwrap_err();
            assert_eq!(problems[0].1.code, code, "{text:?}");
        }
    }

    #[test]
    fn more_than_the_maximum_rows_refuses_the_file() {
        let mut text = String::from("exam_number,id_number,name,phone,major_code\n");
        for _ in 0..=MAX_ROWS {
            text.push_str("x,x,x,x,x\n");
        }
        let problems = parse(&text, &Importer::Admin, today()).unwrap_err();
        assert_eq!(problems[0].1.code, "csv.too_many_rows");
        let header_only = parse(
            "exam_number,id_number,name,phone,major_code\n",
            &Importer::Admin,
            today(),
        );
        assert_eq!(header_only.unwrap(), Vec::new());
    }
}
