//! RFC 4180 CSV as spreadsheets write it: an optional UTF-8 BOM, CRLF or LF line
//! ends, `"`-quoted cells with `""` for a quote (quoted cells may span lines).
//!
//! The one CSV parser of the project: the annex-table import in [`crate::catalog`],
//! the candidate import in [`crate::candidate_import`] and the batch of
//! verification results in the API all split their files with [`records`].

use crate::Violation;

/// One record and its row number as a spreadsheet shows it (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Row number, from 1; blank lines count as rows.
    pub row: usize,
    /// The cells, untrimmed.
    pub cells: Vec<String>,
}

/// A CSV file that cannot be split into records, and the row where it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    /// The row where the problem is.
    pub row: usize,
    /// What kind of problem it is.
    pub kind: CsvErrorKind,
    /// What is wrong (`csv.format` or `text.control`), the message naming the
    /// row (`row 3: …`).
    pub violation: Violation,
}

impl CsvError {
    /// The same problem with a message that does not name the row, for callers
    /// that report the row in a location of their own.
    pub fn unlocated(&self) -> Violation {
        match self.kind {
            CsvErrorKind::Control { column, character } => {
                let v = crate::text::refusal(character);
                Violation::new(
                    v.code,
                    format!("第 {column} 列：{}", v.zh),
                    format!("column {column}: {}", v.en),
                )
            }
            kind => {
                let (zh, en) = kind.messages();
                Violation::new("csv.format", zh, en)
            }
        }
    }
}

/// The ways quoting can be broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvErrorKind {
    /// A quoted cell is not closed before the end of the file.
    UnclosedQuote,
    /// Characters follow a closing quote before the next comma or line end.
    TextAfterClosingQuote,
    /// A quote inside a cell that does not start with one.
    QuoteInUnquotedCell,
    /// A cell holds a control character or a bidirectional override
    /// (`text.control`, [`crate::text`]); `column` counts from 1.
    Control {
        /// The column of the cell, from 1.
        column: usize,
        /// The first refused character.
        character: char,
    },
}

impl CsvErrorKind {
    fn messages(self) -> (&'static str, &'static str) {
        match self {
            Self::Control { .. } => unreachable!("a control character has its own message"),
            Self::UnclosedQuote => ("引号未闭合", "a quoted cell is not closed"),
            Self::TextAfterClosingQuote => (
                "引号结束后、逗号之前出现了其他字符",
                "characters after a closing quote (before the next comma)",
            ),
            Self::QuoteInUnquotedCell => (
                "未加引号的单元格中出现了引号；含引号的单元格须整体加引号，并把引号写成两个（\"\"）",
                "a quote inside an unquoted cell: quote the whole cell and double the quote (\"\")",
            ),
        }
    }
}

fn format_error(row: usize, kind: CsvErrorKind) -> CsvError {
    let (zh, en) = kind.messages();
    CsvError {
        row,
        kind,
        violation: Violation::new(
            "csv.format",
            format!("第 {row} 行：{zh}"),
            format!("row {row}: {en}"),
        ),
    }
}

/// Checks every cell as free text ([`crate::text::checked`]) and NFC-normalises
/// it. Line breaks (in quoted cells) are allowed only in a column whose header
/// is prose (`reason`, `note`), and TAB likewise; the header row allows none.
fn checked_cells(records: &mut [Record]) -> Result<(), CsvError> {
    let header: Vec<String> = records
        .first()
        .map(|h| {
            h.cells
                .iter()
                .map(|c| c.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    for (index, record) in records.iter_mut().enumerate() {
        for (i, cell) in record.cells.iter_mut().enumerate() {
            let prose = index > 0
                && header
                    .get(i)
                    .is_some_and(|h| crate::text::allows_line_breaks(h));
            if let Some(character) = crate::text::first_refused(cell, prose) {
                let (row, column) = (record.row, i + 1);
                let v = crate::text::refusal(character);
                return Err(CsvError {
                    row,
                    kind: CsvErrorKind::Control { column, character },
                    violation: Violation::new(
                        v.code,
                        format!("第 {row} 行第 {column} 列：{}", v.zh),
                        format!("row {row}, column {column}: {}", v.en),
                    ),
                });
            }
            if let Ok(normal) = crate::text::checked(cell, prose) {
                *cell = normal;
            }
        }
    }
    Ok(())
}

/// Splits `text` into records; blank lines are left out (but counted as rows).
/// Every cell is checked as free text and NFC-normalised (`text.control`).
pub fn records(text: &str) -> Result<Vec<Record>, CsvError> {
    let mut records = split(text)?;
    checked_cells(&mut records)?;
    Ok(records)
}

/// Splits `text` into records as they are written, cells unchecked.
pub fn split(text: &str) -> Result<Vec<Record>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut quoted = false; // the current cell was quoted
    let mut in_quotes = false;
    let mut row = 1;
    let mut chars = text.chars().peekable();
    let mut end_record = |cells: &mut Vec<String>, cell: &mut String, quoted: bool, row: usize| {
        let blank = cells.is_empty() && cell.is_empty() && !quoted;
        cells.push(std::mem::take(cell));
        let cells = std::mem::take(cells);
        if !blank {
            records.push(Record { row, cells });
        }
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            ',' => {
                cells.push(std::mem::take(&mut cell));
                quoted = false;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                end_record(&mut cells, &mut cell, quoted, row);
                quoted = false;
                row += 1;
            }
            '"' if cell.is_empty() && !quoted => {
                quoted = true;
                in_quotes = true;
            }
            _ if quoted => return Err(format_error(row, CsvErrorKind::TextAfterClosingQuote)),
            '"' => return Err(format_error(row, CsvErrorKind::QuoteInUnquotedCell)),
            _ => cell.push(c),
        }
    }
    if in_quotes {
        return Err(format_error(row, CsvErrorKind::UnclosedQuote));
    }
    end_record(&mut cells, &mut cell, quoted, row);
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_cells_are_refused_with_row_and_column() {
        let e = records("name,note\n张三,ok\n\u{1b}[2J李四,ok\n").unwrap_err();
        assert_eq!(
            (e.row, e.kind),
            (
                3,
                CsvErrorKind::Control {
                    column: 1,
                    character: '\u{1b}'
                }
            )
        );
        assert_eq!(e.violation.code, "text.control");
        assert!(
            e.violation.en.starts_with("row 3, column 1: "),
            "{}",
            e.violation.en
        );
        assert!(
            e.unlocated().en.starts_with("column 1: "),
            "{}",
            e.unlocated().en
        );
        let e = records("name\n\"王\n五\"\n").unwrap_err();
        assert_eq!(
            e.kind,
            CsvErrorKind::Control {
                column: 1,
                character: '\n'
            },
            "no line break in a name"
        );
        let e = records("name,note\n张三,\"x\u{202E}y\"\n").unwrap_err();
        assert_eq!(
            e.kind,
            CsvErrorKind::Control {
                column: 2,
                character: '\u{202e}'
            },
            "no override even in prose"
        );
    }

    #[test]
    fn prose_columns_keep_line_breaks_and_cells_are_nfc() {
        let r = records("name,Note\nJose\u{301},\"第一行\r\n第二行\"\n").unwrap();
        assert_eq!(r[1].cells, ["Jos\u{e9}", "第一行\r\n第二行"]);
    }

    fn cells(text: &str) -> Vec<(usize, Vec<&'static str>)> {
        split(text)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.row,
                    r.cells
                        .into_iter()
                        .map(|c| &*Box::leak(c.into_boxed_str()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn bom_crlf_and_lf_are_accepted() {
        assert_eq!(
            cells("\u{feff}a,b\r\n1,2\n3,4"),
            vec![
                (1, vec!["a", "b"]),
                (2, vec!["1", "2"]),
                (3, vec!["3", "4"])
            ]
        );
    }

    #[test]
    fn quoted_cells_hold_commas_quotes_and_line_breaks() {
        assert_eq!(
            cells("a,b\r\n\"x,y\",\"say \"\"hi\"\"\r\nbye\"\r\n"),
            vec![(1, vec!["a", "b"]), (2, vec!["x,y", "say \"hi\"\r\nbye"])]
        );
    }

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        assert_eq!(cells("a\n\n\nb\n"), vec![(1, vec!["a"]), (4, vec!["b"])]);
        assert_eq!(cells("a\n\"\"\n"), vec![(1, vec!["a"]), (2, vec![""])]);
    }

    #[test]
    fn broken_quoting_names_the_row() {
        for (text, row) in [("a\n\"open", 2), ("a\nx\"y\n", 2), ("a\nb\n\"q\"z\n", 3)] {
            let e = records(text).unwrap_err();
            assert_eq!(e.row, row, "{text:?}");
            assert_eq!(e.violation.code, "csv.format");
        }
    }

    #[test]
    fn the_kind_tells_the_problem_and_gives_it_without_the_row() {
        for (text, kind) in [
            ("a\n\"open", CsvErrorKind::UnclosedQuote),
            ("a\nx\"y\n", CsvErrorKind::QuoteInUnquotedCell),
            ("a\nb\n\"q\"z\n", CsvErrorKind::TextAfterClosingQuote),
        ] {
            let e = records(text).unwrap_err();
            assert_eq!(e.kind, kind, "{text:?}");
            let bare = e.unlocated();
            assert_eq!(bare.code, "csv.format");
            assert_eq!(e.violation.en, format!("row {}: {}", e.row, bare.en));
            assert_eq!(e.violation.zh, format!("第 {} 行：{}", e.row, bare.zh));
        }
    }
}
