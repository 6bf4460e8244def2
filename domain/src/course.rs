//! Course codes (课程代码) of the self-study examination.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Violation;

/// A five-digit self-study course code such as `03708` or `00015`.
///
/// Only [`CourseCode::parse`] builds one, so a value of this type is always valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CourseCode([u8; 5]);

impl CourseCode {
    /// Parses exactly five ASCII digits; surrounding white space is not accepted.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let bytes = text.as_bytes();
        if bytes.len() == 5 && bytes.iter().all(u8::is_ascii_digit) {
            let mut code = [0u8; 5];
            code.copy_from_slice(bytes);
            Ok(Self(code))
        } else {
            Err(Violation::new(
                "course.code_format",
                format!(
                    "课程代码必须是5位数字（例如 03708），收到的是“{}”",
                    shorten(text)
                ),
                format!(
                    "a course code is exactly 5 digits (e.g. 03708); got \"{}\"",
                    shorten(text)
                ),
            ))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // The constructor admits ASCII digits only.
        std::str::from_utf8(&self.0).unwrap_or("00000")
    }
}

/// 中国近代史纲要 and 马克思主义基本原理概论: only ticked, no evidence (R10).
pub const EVIDENCE_FREE_COURSES: [&str; 2] = ["03708", "03709"];

/// 英语（二）, English II: three semester scores when certified by degree (R12).
pub const ENGLISH_II: &str = "00015";

/// Semester scores English II needs (R12).
pub const ENGLISH_II_SCORE_TERMS: u8 = 3;

impl CourseCode {
    /// Whether this course is certified by ticking alone, with no evidence (R10).
    pub fn is_evidence_free(&self) -> bool {
        EVIDENCE_FREE_COURSES.contains(&self.as_str())
    }

    /// Whether this is English II (00015), whose score box holds three terms (R12).
    pub fn is_english_ii(&self) -> bool {
        self.as_str() == ENGLISH_II
    }
}

/// Echoes at most 40 characters of user input back in a message.
pub(crate) fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

impl fmt::Display for CourseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CourseCode {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CourseCode {
    type Error = Violation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CourseCode> for String {
    fn from(value: CourseCode) -> Self {
        value.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn five_digits_are_a_course_code() {
        assert_eq!(CourseCode::parse("03708").unwrap().as_str(), "03708");
    }

    #[test]
    fn malformed_course_codes_are_rejected_with_their_code() {
        for bad in [
            "",
            "3708",
            "037080",
            "0370a",
            " 03708",
            "０３７０８",
            "03708\n",
        ] {
            let err = CourseCode::parse(bad).unwrap_err();
            assert_eq!(err.code, "course.code_format", "{bad:?}");
        }
    }

    #[test]
    fn only_03708_and_03709_are_evidence_free() {
        for (code, free) in [
            ("03708", true),
            ("03709", true),
            ("00015", false),
            ("00018", false),
        ] {
            assert_eq!(
                CourseCode::parse(code).unwrap().is_evidence_free(),
                free,
                "{code}"
            );
        }
        assert!(CourseCode::parse("00015").unwrap().is_english_ii());
    }

    proptest! {
        #[test]
        fn every_five_digit_string_round_trips(n in 0u32..100_000) {
            let text = format!("{n:05}");
            prop_assert_eq!(CourseCode::parse(&text).unwrap().to_string(), text);
        }

        #[test]
        fn nothing_but_five_digits_parses(s in "\\PC{0,8}") {
            let ok = s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(CourseCode::parse(&s).is_ok(), ok);
        }
    }
}
