//! Free text as it may be stored: no control characters, no bidirectional
//! overrides, NFC-normalised (API.md, "Conventions added").
//!
//! C0 and C1 control characters (terminal escapes in a viewed export, BEL, a CR
//! that rewrites a log line) and the bidirectional overrides and isolates
//! (U+202A–U+202E, U+2066–U+2069, which make "张三\u{202E}moc.exe" show reversed on
//! a staff screen) are refused with `text.control`. Line breaks are allowed where
//! text is prose, and so is TAB: `pledge.text`, `reason` and `note` (API.md,
//! "Precise points of the additions"). Input is NFC-normalised first, then checked.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::is_nfc_quick;

use crate::violation::Violation;

/// Whether `c` is refused in free text (line breaks aside).
fn refused(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether the field at `path` (a JSON path such as `items[2].note` or
/// `pledge.text`) is prose, in which line breaks are allowed.
pub fn allows_line_breaks(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last);
    matches!(last, "reason" | "note") || path == "pledge.text" || path.ends_with(".pledge.text")
}

/// The first character of `text` that free text refuses (with `line_breaks`,
/// LF, CR and TAB are allowed).
pub fn first_refused(text: &str, line_breaks: bool) -> Option<char> {
    text.chars()
        .find(|&c| refused(c) && !(line_breaks && matches!(c, '\n' | '\r' | '\t')))
}

/// The `text.control` refusal naming the refused character `c`.
pub fn refusal(c: char) -> Violation {
    let code = format!("U+{:04X}", u32::from(c));
    Violation::new(
        "text.control",
        format!("文本中不能含有控制字符或双向文本控制符（{code}）"),
        format!("text may not contain control characters or bidirectional overrides ({code})"),
    )
}

/// `text` NFC-normalised, or `text.control` naming the first refused character.
/// With `line_breaks`, LF, CR and TAB are allowed.
pub fn checked(text: &str, line_breaks: bool) -> Result<String, Violation> {
    let normal = match is_nfc_quick(text.chars()) {
        unicode_normalization::IsNormalized::Yes => text.to_owned(),
        _ => text.nfc().collect(),
    };
    match first_refused(&normal, line_breaks) {
        Some(c) => Err(refusal(c)),
        None => Ok(normal),
    }
}

/// Checks every string of a JSON value as free text ([`checked`], line breaks
/// where [`allows_line_breaks`] says) and NFC-normalises it in place. Returns
/// every refused string at once, located by its JSON path as
/// `serde_path_to_error` writes them (`items[2].note`).
pub fn check_json(value: &mut serde_json::Value) -> Vec<(String, Violation)> {
    let mut problems = Vec::new();
    walk(value, &mut String::new(), &mut problems);
    problems
}

fn walk(value: &mut serde_json::Value, path: &mut String, problems: &mut Vec<(String, Violation)>) {
    use serde_json::Value;
    match value {
        Value::String(text) => match checked(text, allows_line_breaks(path)) {
            Ok(normal) => *text = normal,
            Err(v) => problems.push((path.clone(), v)),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, problems);
                path.truncate(len);
            }
        }
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                walk(field, path, problems);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_refused_and_plain_text_passes() {
        for bad in [
            "张\u{7}三",
            "\u{1b}[31mred",
            "a\rb",
            "a\nb",
            "a\tb",
            "a\u{0}b",
            "a\u{7f}b",
            "a\u{85}b",
            "张三\u{202E}moc",
            "x\u{2066}y",
            "x\u{2069}",
        ] {
            let v = checked(bad, false).unwrap_err();
            assert_eq!(v.code, "text.control", "{bad:?}");
        }
        assert_eq!(
            checked("张三 Zhang-San·阿依古丽", false).unwrap(),
            "张三 Zhang-San·阿依古丽"
        );
        assert!(
            checked("a\u{200D}b", false).is_ok(),
            "ZWJ is not an override"
        );
    }

    #[test]
    fn line_breaks_only_where_allowed() {
        assert_eq!(
            checked("第一行\r\n\t第二行", true).unwrap(),
            "第一行\r\n\t第二行"
        );
        assert!(
            checked("a\u{7}b", true).is_err(),
            "BEL is refused even in prose"
        );
        assert!(allows_line_breaks("reason"));
        assert!(allows_line_breaks("items[2].note"));
        assert!(allows_line_breaks("items[0].reason"));
        assert!(allows_line_breaks("pledge.text"));
        assert!(!allows_line_breaks("[0].feedback"));
        assert!(!allows_line_breaks("name"));
        assert!(!allows_line_breaks("items[0].learned_course_name"));
        assert!(!allows_line_breaks("text"));
    }

    #[test]
    fn every_string_of_a_json_value_is_checked_and_located() {
        let mut v = serde_json::json!({
            "name": "Jose\u{301}",
            "items": [{"note": "a\nb"}, {"note": "\u{7}", "learned_course_name": "x\ny"}],
            "pledge": {"text": "一\n二"},
            "n": 3
        });
        let problems = check_json(&mut v);
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["items[1].learned_course_name", "items[1].note"]);
        assert_eq!(v["name"], "Jos\u{e9}");
    }

    #[test]
    fn stored_text_is_nfc() {
        // "é" as e + combining acute becomes the one precomposed character.
        assert_eq!(checked("Jose\u{301}", false).unwrap(), "Jos\u{e9}");
        assert_eq!(checked("Ångström", false).unwrap(), "Ångström");
    }
}
