//! The batch of verification results: JSON or CSV rows, each applied in its own
//! transaction by the verification use case, one report row per input row.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use domain::Violation;
use domain::certificate_number::CertificateNumber;

use super::types::{BatchRow, BatchRowReport, RowError, RowOutcome};
use crate::access::Actor;
use crate::http::extract::from_json_slice;
use crate::http::problem::{ApiError, FieldProblem, Lang, Msg};
use crate::use_cases::prior_degrees as cases;

/// The most rows one batch of verification results may carry.
pub const MAX_BATCH_ROWS: usize = 1000;

/// A batch row as read: its fields, or why it could not be read.
type ParsedRow = Result<BatchRow, (Option<String>, FieldProblem)>;

pub(super) fn parse_batch(req: &HttpRequest, body: &[u8]) -> Result<Vec<ParsedRow>, ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let rows = match mime.as_str() {
        "application/json" => {
            let values: Vec<serde_json::Value> = from_json_slice(body)?;
            values
                .into_iter()
                .map(|v| {
                    let number = v
                        .get("certificate_number")
                        .and_then(|n| n.as_str())
                        .map(str::to_owned);
                    serde_json::from_value::<BatchRow>(v).map_err(|e| {
                        (
                            number,
                            FieldProblem {
                                field: String::new(),
                                code: "validation".into(),
                                message: Msg::new(
                                    format!("该行格式不正确：{e}"),
                                    format!("the row is malformed: {e}"),
                                ),
                            },
                        )
                    })
                })
                .collect::<Vec<_>>()
        }
        "text/csv" => {
            let text = std::str::from_utf8(body).map_err(|_| {
                ApiError::bad_request(
                    "csv.encoding",
                    Vec::new(),
                    Msg::new("CSV 必须是 UTF-8 编码", "the CSV must be UTF-8"),
                )
            })?;
            csv_rows(text)?
        }
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content_type.unsupported",
                Msg::new("不支持的内容类型", "Unsupported media type"),
                Msg::new(
                    format!("请求体须为 application/json 或 text/csv，收到的是 {other}"),
                    format!("the body must be application/json or text/csv; got {other}"),
                ),
            ));
        }
    };
    if rows.is_empty() {
        return Err(ApiError::field(
            "",
            Violation::new("batch.empty", "没有任何数据行", "the batch has no rows"),
        ));
    }
    if rows.len() > MAX_BATCH_ROWS {
        return Err(ApiError::field(
            "",
            Violation::new(
                "batch.too_large",
                format!("一次最多 {MAX_BATCH_ROWS} 行，收到 {} 行", rows.len()),
                format!("at most {MAX_BATCH_ROWS} rows at once; got {}", rows.len()),
            ),
        ));
    }
    Ok(rows)
}

/// Reads the CSV form of a batch (split by [`domain::csv::records`]). Broken quoting
/// refuses the whole batch, naming the row (422 `csv.format`); a line of only spaces
/// counts as blank.
fn csv_rows(text: &str) -> Result<Vec<ParsedRow>, ApiError> {
    let records = domain::csv::records(text)
        .map_err(|e| ApiError::field(format!("row {}", e.row), e.violation))?;
    let mut records = records
        .into_iter()
        .map(|r| r.cells)
        .filter(|cells| !(cells.len() == 1 && cells[0].trim().is_empty()));
    let header: Vec<String> = records
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(number_at), Some(result_at)) = (column("certificate_number"), column("result"))
    else {
        return Err(ApiError::field(
            "header",
            Violation::new(
                "csv.header",
                "CSV 第一行须为表头 certificate_number,result,feedback",
                "the first CSV line must be the header certificate_number,result,feedback",
            ),
        ));
    };
    let feedback_at = column("feedback");
    Ok(records
        .map(|r| {
            let get = |i: usize| r.get(i).map(|v| v.trim().to_owned());
            match (get(number_at), get(result_at)) {
                (Some(certificate_number), Some(result)) => Ok(BatchRow {
                    certificate_number,
                    result,
                    feedback: feedback_at.and_then(get).filter(|f| !f.is_empty()),
                }),
                (number, _) => Err((
                    number,
                    FieldProblem {
                        field: String::new(),
                        code: "csv.columns".into(),
                        message: Msg::new(
                            format!("该行只有 {} 列，少于表头的列数", r.len()),
                            format!(
                                "the row has only {} columns, fewer than the header",
                                r.len()
                            ),
                        ),
                    },
                )),
            }
        })
        .collect())
}

/// Applies row `position` of a batch and reports it.
pub(super) fn apply_row(
    conn: &mut PgConnection,
    actor: &Actor,
    position: usize,
    row: ParsedRow,
    now: DateTime<Utc>,
    lang: Lang,
) -> BatchRowReport {
    let failed = |number: Option<String>, problem: FieldProblem| BatchRowReport {
        row: position,
        certificate_number: number,
        outcome: RowOutcome::Failed,
        prior_degree_id: None,
        status: None,
        error: Some(RowError {
            code: problem.code.to_string(),
            field: (!problem.field.is_empty()).then_some(problem.field),
            message: problem.message.get(lang).to_owned(),
        }),
    };
    let row = match row {
        Ok(row) => row,
        Err((number, problem)) => return failed(number, problem),
    };
    let number_text = row.certificate_number.trim().to_owned();
    let checked = CertificateNumber::parse(&row.certificate_number)
        .map_err(|v| ("certificate_number", v))
        .and_then(|number| {
            let (result, feedback) = cases::checked_result(&row.result, row.feedback.as_deref())?;
            Ok((number, result, feedback))
        });
    let (number, result, feedback) = match checked {
        Ok(c) => c,
        Err((field, v)) => {
            return failed(Some(number_text), FieldProblem::from_violation(field, v));
        }
    };
    let verdict = (result, feedback.as_deref());
    match cases::verify_by_number(conn, actor, now, &number, verdict) {
        Ok(degree) => BatchRowReport {
            row: position,
            certificate_number: Some(number.to_string()),
            outcome: RowOutcome::Applied,
            prior_degree_id: Some(degree.id),
            status: Some(degree.status.into()),
            error: None,
        },
        Err(refusal) => {
            let p = ApiError::from(refusal);
            let p = p.problem();
            if p.status.is_server_error() {
                tracing::error!(error = ?p.internal, "batch verification row failed");
            }
            let field = if p.code == "not_found" {
                "certificate_number".into()
            } else {
                String::new()
            };
            let problem = FieldProblem {
                field,
                code: p.code.clone(),
                message: p.detail.clone(),
            };
            failed(Some(number.to_string()), problem)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_splits_quoted_fields_and_crlf() {
        let rows = csv_rows(
            "\u{feff}certificate_number,result,feedback\r\n1,rejected,\"x, \"\"y\"\"\"\r\n\n  \n2,effective,\n3,rejected,\"多,行\"\n",
        )
        .unwrap();
        let rows: Vec<(&str, &str, Option<&str>)> = rows
            .iter()
            .map(|r| {
                let r = r.as_ref().unwrap();
                (&*r.certificate_number, &*r.result, r.feedback.as_deref())
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("1", "rejected", Some("x, \"y\"")),
                ("2", "effective", None),
                ("3", "rejected", Some("多,行")),
            ]
        );
        // Feedback is not one of the prose fields (API.md): no line break there.
        let refused = csv_rows("certificate_number,result,feedback\n3,rejected,\"多\n行\"\n");
        assert!(refused.is_err());
    }

    #[test]
    fn broken_csv_quoting_is_refused_naming_the_row() {
        for (text, row) in [
            (
                "certificate_number,result\n1,effective\n2,rej\"ected\n",
                "row 3",
            ),
            ("certificate_number,result\n1,\"effective\"x\n", "row 2"),
            ("certificate_number,result\n\n1,\"effective\n", "row 3"),
        ] {
            let problem = csv_rows(text).unwrap_err();
            let problem = problem.problem();
            assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY, "{text:?}");
            assert_eq!(problem.code, "csv.format", "{text:?}");
            assert_eq!(problem.errors[0].field, row, "{text:?}");
            assert!(
                problem.errors[0]
                    .message
                    .en
                    .starts_with(&format!("{row}: ")),
                "{text:?}"
            );
        }
    }

    #[test]
    fn csv_needs_a_header_with_the_columns() {
        assert!(csv_rows("number,result\n1,effective\n").is_err());
        let rows = csv_rows("result,certificate_number\neffective,106521201506001234\nrejected\n")
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].as_ref().unwrap().certificate_number,
            "106521201506001234"
        );
        assert!(rows[1].is_err());
    }
}
