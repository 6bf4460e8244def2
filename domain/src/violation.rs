//! A broken rule, with a stable code and a message in both languages.

use std::fmt;

/// One broken rule: what a client shows next to the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Stable machine-readable code, e.g. `score.separator` (see API.md).
    pub code: &'static str,
    /// Message in Simplified Chinese (the default language).
    pub zh: String,
    /// The same message in English.
    pub en: String,
}

impl Violation {
    /// Builds a violation from a code and its two messages.
    pub fn new(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            code,
            zh: zh.into(),
            en: en.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.en)
    }
}

impl std::error::Error for Violation {}
