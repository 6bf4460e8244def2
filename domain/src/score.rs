//! Transcript scores given as evidence for a degree-based certification (R11, R12).
//!
//! A score box holds one integer score per term, 0–100, separated by the ASCII
//! semicolon: `60;65;70` for English II's three semesters (R12). The number of terms
//! and the pass mark come from the catalogue's degree rule.

use std::fmt;

use crate::Violation;
use crate::course::shorten;

/// The pass mark when the annex table does not state one (seed: "60 unless the table
/// says otherwise").
pub const DEFAULT_PASS_MARK: u8 = 60;

/// The highest transcript score.
pub const MAX_SCORE: u8 = 100;

/// What a degree rule asks of the score box: how many terms, and the pass mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScoreRequirement {
    /// Number of scores expected (English II: 3 semesters, R12).
    pub terms: u8,
    /// Every score must be at least this (60 unless the table says otherwise).
    pub pass_mark: u8,
}

/// Separators people type instead of the ASCII `;` (R12). White space between two
/// scores is handled apart.
const WRONG_SEPARATORS: [char; 4] = ['；', ',', '，', '、'];

/// A valid score entry: as many integer scores 0–100 as the rule asks, each at least
/// the pass mark.
///
/// Only [`ScoreEntry::parse_text`] and [`ScoreEntry::from_scores`] build one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScoreEntry {
    scores: Vec<u8>,
}

impl ScoreEntry {
    /// Parses a score box such as `60;65;70` (R12).
    ///
    /// White space around the whole text and around each term is ignored. Checks, in
    /// this order: separators (`score.separator`, with the corrected text as a hint),
    /// each term an integer 0–100 (`score.range`), the number of terms
    /// (`score.count`; an empty box is 0 terms), the pass mark
    /// (`score.below_pass_mark`).
    pub fn parse_text(text: &str, req: &ScoreRequirement) -> Result<Self, Violation> {
        let text = text.trim();
        if text.is_empty() {
            return Err(count_violation(0, req.terms));
        }
        let terms: Vec<&str> = text.split(';').map(str::trim).collect();
        let wrong_separator = text.contains(WRONG_SEPARATORS)
            || terms.iter().any(|t| t.contains(char::is_whitespace));
        if wrong_separator {
            return Err(separator_violation(text));
        }
        let mut scores = Vec::with_capacity(terms.len());
        for (i, term) in terms.iter().enumerate() {
            scores.push(parse_term(i + 1, term)?);
        }
        Self::checked(scores, req)
    }

    /// Builds an entry from a list of scores (the JSON `scores: [60, 65, 70]` form):
    /// each must be 0–100 (`score.range`), then count and pass mark as for text.
    pub fn from_scores(scores: &[i64], req: &ScoreRequirement) -> Result<Self, Violation> {
        let mut parsed = Vec::with_capacity(scores.len());
        for (i, &score) in scores.iter().enumerate() {
            match u8::try_from(score) {
                Ok(s) if s <= MAX_SCORE => parsed.push(s),
                _ => {
                    return Err(range_violation(
                        i + 1,
                        &score.to_string(),
                        RangeProblem::Out,
                    ));
                }
            }
        }
        Self::checked(parsed, req)
    }

    /// Count (R12) and pass mark checks shared by both constructors.
    fn checked(scores: Vec<u8>, req: &ScoreRequirement) -> Result<Self, Violation> {
        if scores.len() != usize::from(req.terms) {
            return Err(count_violation(scores.len(), req.terms));
        }
        let below: Vec<String> = scores
            .iter()
            .enumerate()
            .filter(|&(_, &s)| s < req.pass_mark)
            .map(|(i, s)| format!("{}={s}", i + 1))
            .collect();
        if !below.is_empty() {
            let list = below.join(", ");
            return Err(Violation::new(
                "score.below_pass_mark",
                format!(
                    "每项成绩须不低于及格线 {} 分，以下各项不足（第几项=成绩）：{list}",
                    req.pass_mark
                ),
                format!(
                    "every score must be at least the pass mark {}; below it (term=score): {list}",
                    req.pass_mark
                ),
            ));
        }
        Ok(Self { scores })
    }

    /// The scores, in the order given.
    pub fn scores(&self) -> &[u8] {
        &self.scores
    }

    /// The canonical text form, e.g. `60;65;70`.
    pub fn canonical_text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ScoreEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.scores.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

/// Why a term is not a score.
enum RangeProblem {
    Empty,
    NotInteger,
    Out,
}

/// Parses one term: ASCII digits only, value 0–100.
fn parse_term(position: usize, term: &str) -> Result<u8, Violation> {
    if term.is_empty() {
        return Err(range_violation(position, term, RangeProblem::Empty));
    }
    if !term.bytes().all(|b| b.is_ascii_digit()) {
        let numeric_looking = term
            .strip_prefix('-')
            .unwrap_or(term)
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.');
        let problem = if term.starts_with('-') && numeric_looking {
            RangeProblem::Out
        } else {
            RangeProblem::NotInteger
        };
        return Err(range_violation(position, term, problem));
    }
    // All digits: anything too long for u32 is certainly over 100.
    match term.parse::<u32>() {
        Ok(v) if v <= u32::from(MAX_SCORE) => Ok(v as u8),
        _ => Err(range_violation(position, term, RangeProblem::Out)),
    }
}

fn range_violation(position: usize, term: &str, problem: RangeProblem) -> Violation {
    let term = shorten(term);
    let (zh, en) = match problem {
        RangeProblem::Empty => (
            format!("第{position}项成绩为空（两个分号之间或末尾没有成绩）"),
            format!("score {position} is empty (nothing between two semicolons or after the last)"),
        ),
        RangeProblem::NotInteger => (
            format!("第{position}项成绩“{term}”不是0到100之间的整数"),
            format!("score {position} (\"{term}\") is not a whole number from 0 to 100"),
        ),
        RangeProblem::Out => (
            format!("第{position}项成绩“{term}”超出范围，成绩须在0到100之间"),
            format!("score {position} (\"{term}\") is out of range: scores are 0 to 100"),
        ),
    };
    Violation::new("score.range", zh, en)
}

fn count_violation(given: usize, expected: u8) -> Violation {
    Violation::new(
        "score.count",
        format!("需要填写{expected}项成绩，实际填写了{given}项（多项成绩用英文分号 ; 分隔）"),
        format!(
            "{expected} score(s) expected, {given} given (separate scores with an ASCII semicolon ;)"
        ),
    )
}

/// `score.separator`, with the text rewritten with ASCII semicolons as a hint (R12).
fn separator_violation(text: &str) -> Violation {
    let corrected = text
        .split(|c: char| c == ';' || WRONG_SEPARATORS.contains(&c) || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(";");
    let corrected = shorten(&corrected);
    Violation::new(
        "score.separator",
        format!(
            "多项成绩之间须用英文半角分号 ; 分隔（不能用中文分号“；”、逗号、顿号或空格），请填写为：{corrected}"
        ),
        format!(
            "separate scores with the ASCII semicolon ; (not a full-width ；, a comma, 、 or spaces); write {corrected}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ENGLISH_II: ScoreRequirement = ScoreRequirement {
        terms: 3,
        pass_mark: 60,
    };
    const ONE_TERM: ScoreRequirement = ScoreRequirement {
        terms: 1,
        pass_mark: 60,
    };

    fn code(text: &str, req: &ScoreRequirement) -> &'static str {
        ScoreEntry::parse_text(text, req).unwrap_err().code
    }

    #[test]
    fn english_ii_needs_three_semester_scores() {
        let entry = ScoreEntry::parse_text("60;65;70", &ENGLISH_II).unwrap();
        assert_eq!(entry.scores(), &[60, 65, 70]);
        assert_eq!(entry.canonical_text(), "60;65;70");
        assert_eq!(code("60;65", &ENGLISH_II), "score.count");
        assert_eq!(code("60;65;70;75", &ENGLISH_II), "score.count");
    }

    #[test]
    fn full_width_semicolon_is_rejected_with_hint() {
        let err = ScoreEntry::parse_text("60；65；70", &ENGLISH_II).unwrap_err();
        assert_eq!(err.code, "score.separator");
        assert!(err.en.contains("write 60;65;70"), "{}", err.en);
        assert!(err.zh.contains("60;65;70"), "{}", err.zh);
    }

    #[test]
    fn commas_enumeration_commas_and_spaces_are_wrong_separators() {
        for text in [
            "60,65,70",
            "60，65，70",
            "60、65、70",
            "60 65 70",
            "60;65 70",
            "60　65　70",
        ] {
            let err = ScoreEntry::parse_text(text, &ENGLISH_II).unwrap_err();
            assert_eq!(err.code, "score.separator", "{text:?}");
            assert!(err.en.contains("write 60;65;70"), "{text:?}: {}", err.en);
        }
    }

    #[test]
    fn spaces_around_terms_and_text_are_ignored() {
        let entry = ScoreEntry::parse_text("  60 ; 65 ;70  ", &ENGLISH_II).unwrap();
        assert_eq!(entry.canonical_text(), "60;65;70");
    }

    #[test]
    fn empty_score_text_is_a_count_problem() {
        for text in ["", "   "] {
            let err = ScoreEntry::parse_text(text, &ENGLISH_II).unwrap_err();
            assert_eq!(err.code, "score.count");
            assert!(
                err.en.contains("3 score(s) expected, 0 given"),
                "{}",
                err.en
            );
        }
    }

    #[test]
    fn non_integers_negatives_and_over_100_are_out_of_range() {
        for text in [
            "abc",
            "60.5",
            "-1",
            "101",
            "99999999999999999999",
            "６０",
            "1e2",
            "+60",
        ] {
            assert_eq!(code(text, &ONE_TERM), "score.range", "{text:?}");
        }
        assert_eq!(code("60;;70", &ENGLISH_II), "score.range");
        assert_eq!(code("60;65;", &ENGLISH_II), "score.range");
    }

    #[test]
    fn zero_and_hundred_are_scores() {
        let any = ScoreRequirement {
            terms: 2,
            pass_mark: 0,
        };
        assert_eq!(
            ScoreEntry::parse_text("0;100", &any).unwrap().scores(),
            &[0, 100]
        );
        assert_eq!(
            ScoreEntry::parse_text("007;100", &any)
                .unwrap()
                .canonical_text(),
            "7;100"
        );
    }

    #[test]
    fn a_score_under_the_pass_mark_is_refused() {
        let err = ScoreEntry::parse_text("60;59;70", &ENGLISH_II).unwrap_err();
        assert_eq!(err.code, "score.below_pass_mark");
        assert!(err.en.contains("2=59"), "{}", err.en);
        let strict = ScoreRequirement {
            terms: 1,
            pass_mark: 75,
        };
        assert_eq!(code("70", &strict), "score.below_pass_mark");
        assert!(ScoreEntry::parse_text("75", &strict).is_ok());
    }

    #[test]
    fn score_lists_are_checked_like_text() {
        let entry = ScoreEntry::from_scores(&[60, 65, 70], &ENGLISH_II).unwrap();
        assert_eq!(entry.canonical_text(), "60;65;70");
        let err = |s: &[i64]| ScoreEntry::from_scores(s, &ENGLISH_II).unwrap_err().code;
        assert_eq!(err(&[60, 65]), "score.count");
        assert_eq!(err(&[]), "score.count");
        assert_eq!(err(&[60, -1, 70]), "score.range");
        assert_eq!(err(&[60, 101, 70]), "score.range");
        assert_eq!(err(&[60, 300, 70]), "score.range");
        assert_eq!(err(&[60, 50, 70]), "score.below_pass_mark");
    }

    #[test]
    fn messages_are_bilingual() {
        for text in ["60；65；70", "", "x;1;2", "1;2;3"] {
            let err = ScoreEntry::parse_text(text, &ENGLISH_II).unwrap_err();
            assert!(!err.zh.is_empty() && !err.en.is_empty());
            assert_ne!(err.zh, err.en);
        }
    }

    proptest! {
        #[test]
        fn any_valid_list_renders_and_reparses_to_the_same(
            scores in proptest::collection::vec(0u8..=100, 1..=8),
            pass_mark in 0u8..=100,
        ) {
            let pass_mark = pass_mark.min(*scores.iter().min().unwrap());
            let req = ScoreRequirement { terms: scores.len() as u8, pass_mark };
            let wide: Vec<i64> = scores.iter().map(|&s| i64::from(s)).collect();
            let entry = ScoreEntry::from_scores(&wide, &req).unwrap();
            prop_assert_eq!(entry.scores(), &scores[..]);
            let again = ScoreEntry::parse_text(&entry.canonical_text(), &req).unwrap();
            prop_assert_eq!(again, entry);
        }

        #[test]
        fn any_list_containing_a_full_width_separator_fails_with_score_separator(
            scores in proptest::collection::vec(0u8..=100, 2..=8),
            at in 0usize..8,
        ) {
            let at = at % (scores.len() - 1);
            let mut text = String::new();
            for (i, s) in scores.iter().enumerate() {
                if i > 0 {
                    text.push(if i - 1 == at { '；' } else { ';' });
                }
                text.push_str(&s.to_string());
            }
            let req = ScoreRequirement { terms: scores.len() as u8, pass_mark: 0 };
            let err = ScoreEntry::parse_text(&text, &req).unwrap_err();
            prop_assert_eq!(err.code, "score.separator");
        }
    }
}
