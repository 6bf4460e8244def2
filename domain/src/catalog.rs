//! The catalogue: courses, self-study majors with their plans, and the annex table of
//! which course each route certifies (R8, R10–R16).
//!
//! # JSON import format (`PUT /api/v1/admin/catalog`)
//!
//! ```json
//! {
//!   "label": "示例目录（依据种子文档编制，非官方附表） / sample catalogue",
//!   "courses": [
//!     {"code": "00015", "name": "英语（二）", "credits": 14, "practical": false, "exam_channel": "platform"},
//!     {"code": "00019", "name": "计算机基础实践", "credits": 2, "practical": true, "exam_channel": "school_office"}
//!   ],
//!   "majors": [
//!     {"code": "100701", "name": "药学", "level": "bachelor", "plan": ["03708", "00015", "00019"]}
//!   ],
//!   "degree_rules": [
//!     {"id": "100701-03708", "major_code": "100701", "course_code": "03708", "evidence": "none"},
//!     {"major_code": "100701", "course_code": "00015", "evidence": "course_and_scores",
//!      "expected_names": ["大学英语"], "score_terms": 3, "pass_mark": 60,
//!      "prior_levels": ["associate"], "prior_majors": []}
//!   ],
//!   "certificate_rules": [
//!     {"id": "ncre1-00019", "kind": "ncre1", "course_code": "00019", "majors": ["100701"]},
//!     {"kind": "cet4", "course_code": "00015"}
//!   ]
//! }
//! ```
//!
//! - Courses: `practical` defaults to `false`, `exam_channel` (`platform` or
//!   `school_office`, R16) to `platform`; `credits` is 1–20.
//! - A degree rule's evidence is flattened into the rule: `"evidence": "none"` (only
//!   03708 and 03709, R10) or `"evidence": "course_and_scores"` with `expected_names`,
//!   `score_terms` (1–8; 3 for English II, R12) and `pass_mark` (0–100, default 60)
//!   (R11). `prior_levels` and `prior_majors` restrict the rule to prior degrees of
//!   those levels / major names (empty or absent: any).
//! - A certificate rule with no `majors` applies to every major whose plan has the
//!   course.
//! - A blank or absent rule `id` is assigned by [`Catalog::validate`]:
//!   `{major_code}-{course_code}` for degree rules, `{kind}-{course_code}` for
//!   certificate rules, with `-2`, `-3`… appended when taken.
//! - Unknown fields are refused. Shape errors (wrong JSON types, a bad course code)
//!   fail deserialization; every other problem is reported at once, with its JSON
//!   path, by [`Catalog::validate`].
//!
//! # CSV form of the annex table (`POST /api/v1/admin/catalog/rules.csv`)
//!
//! See [`parse_rules_csv`]; the header is [`RULES_CSV_HEADER`].

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::course::{ENGLISH_II_SCORE_TERMS, shorten};
use crate::csv;
use crate::score::{DEFAULT_PASS_MARK, MAX_SCORE, ScoreRequirement};
use crate::{CourseCode, Violation};

pub use crate::certificate_number::DegreeLevel;

/// Where a course's exam is registered when it is not certified (R16).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExamChannel {
    /// On the candidate service platform, like any twice-a-year exam (00018).
    #[default]
    Platform,
    /// Through the school's self-study office (00019).
    SchoolOffice,
}

crate::choice!(ExamChannel { ExamChannel::Platform => "platform", ExamChannel::SchoolOffice => "school_office" });

impl ExamChannel {
    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Platform => "在考生服务平台报考",
            Self::SchoolOffice => "通过学校自考办报考",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Platform => "registered on the candidate service platform",
            Self::SchoolOffice => "registered through the school's self-study office",
        }
    }
}

/// A non-degree certificate that certifies courses (R13–R15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CertificateKind {
    /// National Computer Rank Examination, level 1.
    Ncre1,
    /// National Computer Rank Examination, level 2.
    Ncre2,
    /// College English Test, band 4.
    Cet4,
    /// College English Test, band 6.
    Cet6,
}

crate::choice!(CertificateKind { CertificateKind::Ncre1 => "ncre1", CertificateKind::Ncre2 => "ncre2", CertificateKind::Cet4 => "cet4", CertificateKind::Cet6 => "cet6" });

impl CertificateKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Ncre1, Self::Ncre2, Self::Cet4, Self::Cet6];

    /// The API value: `ncre1`, `ncre2`, `cet4`, `cet6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ncre1 => "ncre1",
            Self::Ncre2 => "ncre2",
            Self::Cet4 => "cet4",
            Self::Cet6 => "cet6",
        }
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Ncre1 => "全国计算机等级考试一级",
            Self::Ncre2 => "全国计算机等级考试二级",
            Self::Cet4 => "大学英语四级",
            Self::Cet6 => "大学英语六级",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Ncre1 => "NCRE level 1",
            Self::Ncre2 => "NCRE level 2",
            Self::Cet4 => "CET-4",
            Self::Cet6 => "CET-6",
        }
    }
}

impl fmt::Display for CertificateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A self-study major code (自考专业代码), e.g. `100701` or `C100701`: 1–10 ASCII
/// letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MajorCode(String);

impl MajorCode {
    /// Parses 1–10 ASCII letters or digits; surrounding white space is not accepted.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        if (1..=10).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Violation::new(
                "major.code_format",
                format!(
                    "专业代码须为1到10位英文字母或数字（例如 100701），收到的是“{}”",
                    shorten(text)
                ),
                format!(
                    "a major code is 1 to 10 ASCII letters or digits (e.g. 100701); got \"{}\"",
                    shorten(text)
                ),
            ))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MajorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MajorCode {
    type Error = Violation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MajorCode> for String {
    fn from(value: MajorCode) -> Self {
        value.0
    }
}

/// A course of the self-study examination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Course {
    /// Five-digit course code.
    pub code: CourseCode,
    /// Course name, e.g. `英语（二）`.
    pub name: String,
    /// Credits, 1–20.
    pub credits: u8,
    /// Whether it is a practical (实践) course.
    #[serde(default)]
    pub practical: bool,
    /// Where its exam is registered (R16); default `platform`.
    #[serde(default)]
    pub exam_channel: ExamChannel,
}

/// A self-study major and its course plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Major {
    /// Major code.
    pub code: MajorCode,
    /// Major name, e.g. `药学`.
    pub name: String,
    /// Level of the self-study major.
    pub level: DegreeLevel,
    /// The courses of the plan, in display order.
    pub plan: Vec<CourseCode>,
}

/// The evidence a degree-based certification of a course needs (R10, R11).
///
/// In JSON it is flattened into its rule with the tag `evidence`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "evidence", rename_all = "snake_case")]
pub enum Evidence {
    /// Ticking is enough (03708, 03709: R10).
    None,
    /// The learned course name and its transcript scores (R11, R12).
    CourseAndScores {
        /// Transcript course names expected to stand for this course (e.g. `大学英语`).
        expected_names: Vec<String>,
        /// Number of scores (English II: 3 semesters).
        score_terms: u8,
        /// Every score must be at least this.
        pass_mark: u8,
    },
}

impl Evidence {
    /// The score box's requirement, if scores are needed.
    pub fn score_requirement(&self) -> Option<ScoreRequirement> {
        match self {
            Self::None => None,
            Self::CourseAndScores {
                score_terms,
                pass_mark,
                ..
            } => Some(ScoreRequirement {
                terms: *score_terms,
                pass_mark: *pass_mark,
            }),
        }
    }
}

/// One row of the annex table: a course of a major certifiable by the prior degree.
///
/// JSON: see the module documentation (evidence flattened in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DegreeRuleRecord", into = "DegreeRuleRecord")]
pub struct DegreeRule {
    /// Stable id, e.g. `100701-00015`; blank until [`Catalog::validate`] assigns one.
    pub id: String,
    /// The self-study major.
    pub major_code: MajorCode,
    /// The course certified.
    pub course_code: CourseCode,
    /// What the applicant must give.
    pub evidence: Evidence,
    /// Prior-degree levels this rule applies to; empty: any.
    pub prior_levels: Vec<DegreeLevel>,
    /// Prior-degree major names this rule applies to (exact, trimmed); empty: any.
    pub prior_majors: Vec<String>,
}

impl DegreeRule {
    /// Whether a prior degree of `level` in `major_name` satisfies this rule's
    /// constraints.
    pub fn matches_prior(&self, level: DegreeLevel, major_name: &str) -> bool {
        (self.prior_levels.is_empty() || self.prior_levels.contains(&level))
            && (self.prior_majors.is_empty()
                || self.prior_majors.iter().any(|m| m == major_name.trim()))
    }

    /// How narrow the rule is: rules naming prior majors beat rules naming levels,
    /// which beat unconstrained rules.
    pub fn specificity(&self) -> u8 {
        u8::from(!self.prior_majors.is_empty()) * 2 + u8::from(!self.prior_levels.is_empty())
    }
}

/// The flat JSON shape of a degree rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DegreeRuleRecord {
    #[serde(default)]
    id: String,
    major_code: MajorCode,
    course_code: CourseCode,
    evidence: EvidenceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    score_terms: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pass_mark: Option<u8>,
    #[serde(default)]
    prior_levels: Vec<DegreeLevel>,
    #[serde(default)]
    prior_majors: Vec<String>,
}

/// The `evidence` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum EvidenceKind {
    None,
    CourseAndScores,
}

impl TryFrom<DegreeRuleRecord> for DegreeRule {
    type Error = Violation;
    fn try_from(r: DegreeRuleRecord) -> Result<Self, Self::Error> {
        let evidence = match r.evidence {
            EvidenceKind::None => {
                if r.expected_names.is_some() || r.score_terms.is_some() || r.pass_mark.is_some() {
                    return Err(evidence_fields_violation());
                }
                Evidence::None
            }
            EvidenceKind::CourseAndScores => match (r.expected_names, r.score_terms) {
                (Some(expected_names), Some(score_terms)) => Evidence::CourseAndScores {
                    expected_names,
                    score_terms,
                    pass_mark: r.pass_mark.unwrap_or(DEFAULT_PASS_MARK),
                },
                _ => {
                    return Err(Violation::new(
                        "catalog.evidence_fields",
                        "evidence 为 course_and_scores 时须给出 expected_names 和 score_terms",
                        "evidence course_and_scores needs expected_names and score_terms",
                    ));
                }
            },
        };
        Ok(Self {
            id: r.id,
            major_code: r.major_code,
            course_code: r.course_code,
            evidence,
            prior_levels: r.prior_levels,
            prior_majors: r.prior_majors,
        })
    }
}

fn evidence_fields_violation() -> Violation {
    Violation::new(
        "catalog.evidence_fields",
        "evidence 为 none 时不能给出 expected_names、score_terms 或 pass_mark",
        "evidence none takes no expected_names, score_terms or pass_mark",
    )
}

impl From<DegreeRule> for DegreeRuleRecord {
    fn from(rule: DegreeRule) -> Self {
        let (evidence, expected_names, score_terms, pass_mark) = match rule.evidence {
            Evidence::None => (EvidenceKind::None, None, None, None),
            Evidence::CourseAndScores {
                expected_names,
                score_terms,
                pass_mark,
            } => (
                EvidenceKind::CourseAndScores,
                Some(expected_names),
                Some(score_terms),
                Some(pass_mark),
            ),
        };
        Self {
            id: rule.id,
            major_code: rule.major_code,
            course_code: rule.course_code,
            evidence,
            expected_names,
            score_terms,
            pass_mark,
            prior_levels: rule.prior_levels,
            prior_majors: rule.prior_majors,
        }
    }
}

/// A certificate that certifies a course (R13–R15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateRule {
    /// Stable id, e.g. `ncre2-00051`; blank until [`Catalog::validate`] assigns one.
    #[serde(default)]
    pub id: String,
    /// The certificate.
    pub kind: CertificateKind,
    /// The course it certifies.
    pub course_code: CourseCode,
    /// Majors it applies to; empty: every major whose plan has the course.
    #[serde(default)]
    pub majors: Vec<MajorCode>,
}

/// A whole catalogue as imported, not yet checked. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Human label of this catalogue version (e.g. which notice it comes from).
    pub label: String,
    /// Every course.
    pub courses: Vec<Course>,
    /// Every major with its plan.
    pub majors: Vec<Major>,
    /// The annex table: degree-based certification (R8, R10–R12).
    #[serde(default)]
    pub degree_rules: Vec<DegreeRule>,
    /// Certificate-based certification (R13–R15).
    #[serde(default)]
    pub certificate_rules: Vec<CertificateRule>,
}

/// Problems found in a catalogue or CSV: (location, violation).
pub type Problems = Vec<(String, Violation)>;

/// Highest number of score terms a rule may ask for.
pub const MAX_SCORE_TERMS: u8 = 8;

/// Credits a course may carry.
pub const CREDITS: std::ops::RangeInclusive<u8> = 1..=20;

fn too_long(what_zh: &str, what_en: &str, max: usize) -> Violation {
    Violation::new(
        "catalog.name_too_long",
        format!("{what_zh}不能超过{max}个字符"),
        format!("{what_en} may have at most {max} characters"),
    )
}

fn name_required(what_zh: &str, what_en: &str) -> Violation {
    Violation::new(
        "catalog.name_required",
        format!("{what_zh}不能为空"),
        format!("{what_en} must not be empty"),
    )
}

fn duplicate(what_zh: &str, what_en: &str, value: &str, first: &str) -> Violation {
    Violation::new(
        "catalog.duplicate",
        format!("{what_zh}“{value}”重复（首次出现在 {first}）"),
        format!("duplicate {what_en} \"{value}\" (first at {first})"),
    )
}

fn unknown_course(code: &CourseCode) -> Violation {
    Violation::new(
        "catalog.unknown_course",
        format!("课程 {code} 不在课程列表中"),
        format!("course {code} is not in the course list"),
    )
}

fn unknown_major(code: &MajorCode) -> Violation {
    Violation::new(
        "catalog.unknown_major",
        format!("专业 {code} 不在专业列表中"),
        format!("major {code} is not in the major list"),
    )
}

fn not_in_plan(course: &CourseCode, major: &MajorCode) -> Violation {
    Violation::new(
        "catalog.not_in_plan",
        format!("课程 {course} 不在专业 {major} 的课程计划中"),
        format!("course {course} is not in the plan of major {major}"),
    )
}

fn score_terms_range(terms: u8) -> Violation {
    Violation::new(
        "catalog.score_terms_range",
        format!("成绩项数须为1到{MAX_SCORE_TERMS}，收到{terms}"),
        format!("score_terms is 1 to {MAX_SCORE_TERMS}; got {terms}"),
    )
}

fn pass_mark_range(mark: u8) -> Violation {
    Violation::new(
        "catalog.pass_mark_range",
        format!("及格线须在0到{MAX_SCORE}之间，收到{mark}"),
        format!("pass_mark is 0 to {MAX_SCORE}; got {mark}"),
    )
}

/// Checks a rule's evidence against its course: R10 (03708/03709: none), R11 (any
/// other course: name and scores), R12 (English II: 3 terms), and the ranges. Each
/// problem comes with the field it concerns (`evidence`, `expected_names`,
/// `score_terms`, `pass_mark`).
fn evidence_problems(course: &CourseCode, evidence: &Evidence) -> Vec<(&'static str, Violation)> {
    let mut out = Vec::new();
    match evidence {
        Evidence::None if !course.is_evidence_free() => out.push((
            "evidence",
            Violation::new(
                "catalog.evidence_mismatch",
                format!(
                    "只有 03708、03709 可以不提供材料；课程 {course} 须提供已学课程名称和成绩（evidence 应为 course_and_scores）"
                ),
                format!(
                    "only 03708 and 03709 need no evidence; course {course} needs the learned course name and scores (evidence course_and_scores)"
                ),
            ),
        )),
        Evidence::None => {}
        Evidence::CourseAndScores {
            expected_names,
            score_terms,
            pass_mark,
        } => {
            if course.is_evidence_free() {
                out.push((
                    "evidence",
                    Violation::new(
                        "catalog.evidence_mismatch",
                        format!("课程 {course} 只需勾选，不需要材料（evidence 应为 none）"),
                        format!(
                            "course {course} is only ticked and needs no evidence (evidence none)"
                        ),
                    ),
                ));
            }
            if expected_names.is_empty() {
                out.push((
                    "expected_names",
                    name_required("已学课程名称列表", "expected_names"),
                ));
            }
            for name in expected_names {
                if name.trim().is_empty() {
                    out.push((
                        "expected_names",
                        name_required("已学课程名称", "an expected course name"),
                    ));
                }
            }
            if !(1..=MAX_SCORE_TERMS).contains(score_terms) {
                out.push(("score_terms", score_terms_range(*score_terms)));
            } else if course.is_english_ii() && *score_terms != ENGLISH_II_SCORE_TERMS {
                out.push((
                    "score_terms",
                    Violation::new(
                        "catalog.evidence_mismatch",
                        format!(
                            "英语（二）须填写{ENGLISH_II_SCORE_TERMS}个学期的成绩，score_terms 应为 {ENGLISH_II_SCORE_TERMS}，收到 {score_terms}"
                        ),
                        format!(
                            "English II takes {ENGLISH_II_SCORE_TERMS} semester scores (R12): score_terms must be {ENGLISH_II_SCORE_TERMS}, got {score_terms}"
                        ),
                    ),
                ));
            }
            if *pass_mark > MAX_SCORE {
                out.push(("pass_mark", pass_mark_range(*pass_mark)));
            }
        }
    }
    out
}

/// Gives every blank id `{base}`, or `{base}-2`, `{base}-3`… when taken.
fn assign_ids<'a>(
    ids: impl Iterator<Item = (&'a mut String, String)>,
    taken: &mut HashSet<String>,
) {
    for (id, base) in ids {
        if !id.is_empty() {
            continue;
        }
        let mut candidate = base.clone();
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        taken.insert(candidate.clone());
        *id = candidate;
    }
}

impl Catalog {
    /// Checks the whole catalogue and reports every problem at once, each with its
    /// JSON path (`majors[1].plan[3]`): blank label or names, credits outside 1–20,
    /// duplicate codes or ids, plans and rules referring to unknown courses or majors,
    /// rule courses outside the major's plan, evidence contrary to R10–R12, score
    /// terms outside 1–8, pass marks over 100, duplicate rules.
    ///
    /// Names, expected names and prior majors are trimmed and blank ids assigned.
    pub fn validate(mut self) -> Result<ValidCatalog, Problems> {
        let mut problems: Problems = Vec::new();
        self.normalize();

        if self.label.is_empty() {
            problems.push(("label".into(), name_required("目录名称", "the label")));
        } else if self.label.chars().count() > 200 {
            problems.push(("label".into(), too_long("目录名称", "the label", 200)));
        }

        let mut course_index: HashMap<CourseCode, usize> = HashMap::new();
        for (i, course) in self.courses.iter().enumerate() {
            let at = format!("courses[{i}]");
            if let Some(&first) = course_index.get(&course.code) {
                problems.push((
                    format!("{at}.code"),
                    duplicate(
                        "课程代码",
                        "course code",
                        course.code.as_str(),
                        &format!("courses[{first}]"),
                    ),
                ));
            } else {
                course_index.insert(course.code, i);
            }
            if course.name.is_empty() {
                problems.push((
                    format!("{at}.name"),
                    name_required("课程名称", "a course name"),
                ));
            } else if course.name.chars().count() > 100 {
                problems.push((
                    format!("{at}.name"),
                    too_long("课程名称", "a course name", 100),
                ));
            }
            if !CREDITS.contains(&course.credits) {
                problems.push((
                    format!("{at}.credits"),
                    Violation::new(
                        "catalog.credits_range",
                        format!("学分须为1到20，收到{}", course.credits),
                        format!("credits are 1 to 20; got {}", course.credits),
                    ),
                ));
            }
        }

        let mut major_index: HashMap<MajorCode, usize> = HashMap::new();
        for (i, major) in self.majors.iter().enumerate() {
            let at = format!("majors[{i}]");
            if let Some(&first) = major_index.get(&major.code) {
                problems.push((
                    format!("{at}.code"),
                    duplicate(
                        "专业代码",
                        "major code",
                        major.code.as_str(),
                        &format!("majors[{first}]"),
                    ),
                ));
            } else {
                major_index.insert(major.code.clone(), i);
            }
            if major.name.is_empty() {
                problems.push((
                    format!("{at}.name"),
                    name_required("专业名称", "a major name"),
                ));
            }
            if major.plan.is_empty() {
                problems.push((
                    format!("{at}.plan"),
                    Violation::new(
                        "catalog.plan_empty",
                        "专业的课程计划不能为空",
                        "a major's plan must list at least one course",
                    ),
                ));
            }
            let mut seen: HashMap<CourseCode, usize> = HashMap::new();
            for (j, code) in major.plan.iter().enumerate() {
                if let Some(&first) = seen.get(code) {
                    problems.push((
                        format!("{at}.plan[{j}]"),
                        duplicate(
                            "计划中的课程",
                            "plan course",
                            code.as_str(),
                            &format!("{at}.plan[{first}]"),
                        ),
                    ));
                } else {
                    seen.insert(*code, j);
                }
                if !course_index.contains_key(code) {
                    problems.push((format!("{at}.plan[{j}]"), unknown_course(code)));
                }
            }
        }
        let in_plan = |major: &MajorCode, course: &CourseCode| {
            major_index
                .get(major)
                .is_some_and(|&i| self.majors[i].plan.contains(course))
        };

        // Degree rules (R8, R10–R12).
        let mut ids: HashMap<&str, String> = HashMap::new();
        // (major, course, prior levels, prior majors), both lists sorted: a rule's identity.
        type RuleKey<'a> = (
            &'a MajorCode,
            &'a CourseCode,
            Vec<DegreeLevel>,
            Vec<&'a str>,
        );
        let mut keys: HashMap<RuleKey, usize> = HashMap::new();
        for (i, rule) in self.degree_rules.iter().enumerate() {
            let at = format!("degree_rules[{i}]");
            if !rule.id.is_empty() {
                if let Some(first) = ids.get(rule.id.as_str()) {
                    problems.push((
                        format!("{at}.id"),
                        duplicate("规则编号", "rule id", &rule.id, first),
                    ));
                } else {
                    ids.insert(&rule.id, at.clone());
                }
            }
            let known_major = major_index.contains_key(&rule.major_code);
            if !known_major {
                problems.push((format!("{at}.major_code"), unknown_major(&rule.major_code)));
            }
            if !course_index.contains_key(&rule.course_code) {
                problems.push((
                    format!("{at}.course_code"),
                    unknown_course(&rule.course_code),
                ));
            } else if known_major && !in_plan(&rule.major_code, &rule.course_code) {
                problems.push((
                    format!("{at}.course_code"),
                    not_in_plan(&rule.course_code, &rule.major_code),
                ));
            }
            for (field, v) in evidence_problems(&rule.course_code, &rule.evidence) {
                problems.push((format!("{at}.{field}"), v));
            }
            for (j, m) in rule.prior_majors.iter().enumerate() {
                if m.is_empty() {
                    problems.push((
                        format!("{at}.prior_majors[{j}]"),
                        name_required("前置学历专业名称", "a prior major name"),
                    ));
                }
            }
            let mut levels = rule.prior_levels.clone();
            levels.sort();
            levels.dedup();
            let mut majors: Vec<&str> = rule.prior_majors.iter().map(String::as_str).collect();
            majors.sort_unstable();
            majors.dedup();
            let key = (&rule.major_code, &rule.course_code, levels, majors);
            if let Some(&first) = keys.get(&key) {
                problems.push((
                    at.clone(),
                    Violation::new(
                        "catalog.duplicate",
                        format!(
                            "专业 {} 课程 {} 的学历证书认证规则与 degree_rules[{first}] 重复（前置学历条件相同）",
                            rule.major_code, rule.course_code
                        ),
                        format!(
                            "duplicate degree rule for major {} course {} with the same prior-degree constraints as degree_rules[{first}]",
                            rule.major_code, rule.course_code
                        ),
                    ),
                ));
            } else {
                keys.insert(key, i);
            }
        }

        // Certificate rules (R13–R15).
        let mut cert_ids: HashMap<&str, String> = HashMap::new();
        let mut cert_keys: HashMap<(CertificateKind, &CourseCode, Vec<&MajorCode>), usize> =
            HashMap::new();
        for (i, rule) in self.certificate_rules.iter().enumerate() {
            let at = format!("certificate_rules[{i}]");
            if !rule.id.is_empty() {
                if let Some(first) = cert_ids.get(rule.id.as_str()) {
                    problems.push((
                        format!("{at}.id"),
                        duplicate("规则编号", "rule id", &rule.id, first),
                    ));
                } else {
                    cert_ids.insert(&rule.id, at.clone());
                }
            }
            let known_course = course_index.contains_key(&rule.course_code);
            if !known_course {
                problems.push((
                    format!("{at}.course_code"),
                    unknown_course(&rule.course_code),
                ));
            }
            for (j, major) in rule.majors.iter().enumerate() {
                if !major_index.contains_key(major) {
                    problems.push((format!("{at}.majors[{j}]"), unknown_major(major)));
                } else if known_course && !in_plan(major, &rule.course_code) {
                    problems.push((
                        format!("{at}.majors[{j}]"),
                        not_in_plan(&rule.course_code, major),
                    ));
                }
            }
            if known_course
                && rule.majors.is_empty()
                && !self
                    .majors
                    .iter()
                    .any(|m| m.plan.contains(&rule.course_code))
            {
                problems.push((
                    format!("{at}.course_code"),
                    Violation::new(
                        "catalog.not_in_plan",
                        format!("课程 {} 不在任何专业的课程计划中", rule.course_code),
                        format!("course {} is in no major's plan", rule.course_code),
                    ),
                ));
            }
            let mut majors: Vec<&MajorCode> = rule.majors.iter().collect();
            majors.sort();
            majors.dedup();
            let key = (rule.kind, &rule.course_code, majors);
            if let Some(&first) = cert_keys.get(&key) {
                problems.push((
                    at.clone(),
                    Violation::new(
                        "catalog.duplicate",
                        format!("与 certificate_rules[{first}] 重复（证书、课程、专业均相同）"),
                        format!(
                            "duplicate of certificate_rules[{first}] (same certificate, course and majors)"
                        ),
                    ),
                ));
            } else {
                cert_keys.insert(key, i);
            }
        }

        if !problems.is_empty() {
            return Err(problems);
        }

        let mut taken: HashSet<String> = self.degree_rules.iter().map(|r| r.id.clone()).collect();
        assign_ids(
            self.degree_rules.iter_mut().map(|r| {
                let base = format!("{}-{}", r.major_code, r.course_code);
                (&mut r.id, base)
            }),
            &mut taken,
        );
        let mut taken: HashSet<String> = self
            .certificate_rules
            .iter()
            .map(|r| r.id.clone())
            .collect();
        assign_ids(
            self.certificate_rules.iter_mut().map(|r| {
                let base = format!("{}-{}", r.kind, r.course_code);
                (&mut r.id, base)
            }),
            &mut taken,
        );

        Ok(ValidCatalog {
            catalog: self,
            course_index,
            major_index,
        })
    }

    /// Trims every name and id.
    fn normalize(&mut self) {
        fn trim(s: &mut String) {
            if s.trim().len() != s.len() {
                *s = s.trim().to_owned();
            }
        }
        trim(&mut self.label);
        self.courses.iter_mut().for_each(|c| trim(&mut c.name));
        self.majors.iter_mut().for_each(|m| trim(&mut m.name));
        for rule in &mut self.degree_rules {
            trim(&mut rule.id);
            rule.prior_majors.iter_mut().for_each(trim);
            if let Evidence::CourseAndScores { expected_names, .. } = &mut rule.evidence {
                expected_names.iter_mut().for_each(trim);
            }
        }
        self.certificate_rules
            .iter_mut()
            .for_each(|r| trim(&mut r.id));
    }
}

/// A catalogue that passed [`Catalog::validate`], with lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCatalog {
    catalog: Catalog,
    course_index: HashMap<CourseCode, usize>,
    major_index: HashMap<MajorCode, usize>,
}

impl ValidCatalog {
    /// The checked catalogue (serialize this to export it).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Gives the checked catalogue back.
    pub fn into_catalog(self) -> Catalog {
        self.catalog
    }

    /// The catalogue's label.
    pub fn label(&self) -> &str {
        &self.catalog.label
    }

    /// Every course.
    pub fn courses(&self) -> &[Course] {
        &self.catalog.courses
    }

    /// Every major.
    pub fn majors(&self) -> &[Major] {
        &self.catalog.majors
    }

    /// Every degree rule (ids assigned).
    pub fn degree_rules(&self) -> &[DegreeRule] {
        &self.catalog.degree_rules
    }

    /// Every certificate rule (ids assigned).
    pub fn certificate_rules(&self) -> &[CertificateRule] {
        &self.catalog.certificate_rules
    }

    /// The course with this code.
    pub fn course(&self, code: &CourseCode) -> Option<&Course> {
        self.course_index
            .get(code)
            .map(|&i| &self.catalog.courses[i])
    }

    /// The major with this code.
    pub fn major(&self, code: &MajorCode) -> Option<&Major> {
        self.major_index.get(code).map(|&i| &self.catalog.majors[i])
    }

    /// Whether the major's plan has the course (R8).
    pub fn plan_has(&self, major: &MajorCode, course: &CourseCode) -> bool {
        self.major(major).is_some_and(|m| m.plan.contains(course))
    }

    /// The degree rules for a course of a major, whatever their prior-degree
    /// constraints, in catalogue order.
    pub fn degree_rules_for(&self, major: &MajorCode, course: &CourseCode) -> Vec<&DegreeRule> {
        self.catalog
            .degree_rules
            .iter()
            .filter(|r| &r.major_code == major && &r.course_code == course)
            .collect()
    }

    /// The degree rule that applies to a prior degree of `level` in `prior_major`: the
    /// most specific matching one (see [`DegreeRule::specificity`]), the first in
    /// catalogue order among equals.
    pub fn matching_degree_rule(
        &self,
        major: &MajorCode,
        course: &CourseCode,
        level: DegreeLevel,
        prior_major: &str,
    ) -> Option<&DegreeRule> {
        self.degree_rules_for(major, course)
            .into_iter()
            .filter(|r| r.matches_prior(level, prior_major))
            .rev()
            .max_by_key(|r| r.specificity())
    }

    /// The certificate rules that certify a course for a major (R13–R15): those
    /// naming the major, or naming none, provided the course is in the major's plan.
    pub fn certificate_rules_for(
        &self,
        major: &MajorCode,
        course: &CourseCode,
    ) -> Vec<&CertificateRule> {
        if !self.plan_has(major, course) {
            return Vec::new();
        }
        self.catalog
            .certificate_rules
            .iter()
            .filter(|r| {
                &r.course_code == course && (r.majors.is_empty() || r.majors.contains(major))
            })
            .collect()
    }

    /// The certificate kinds that certify a course for a major, sorted, no repeats.
    pub fn certificate_kinds_for(
        &self,
        major: &MajorCode,
        course: &CourseCode,
    ) -> Vec<CertificateKind> {
        let mut kinds: Vec<CertificateKind> = self
            .certificate_rules_for(major, course)
            .into_iter()
            .map(|r| r.kind)
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// The header of the annex table's CSV form. An optional `id` column may be added;
/// columns may come in any order.
pub const RULES_CSV_HEADER: &str = "major_code,course_code,evidence,expected_names,score_terms,pass_mark,prior_levels,prior_majors";

const RULES_CSV_COLUMNS: [&str; 8] = [
    "major_code",
    "course_code",
    "evidence",
    "expected_names",
    "score_terms",
    "pass_mark",
    "prior_levels",
    "prior_majors",
];

/// Splits a list cell on `|`, trimming, dropping blanks.
fn list_cell(cell: &str) -> Vec<String> {
    cell.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses the annex table's CSV form into degree rules, each with its row number
/// (the header is row 1, as in a spreadsheet).
///
/// Header: [`RULES_CSV_HEADER`] (any order, optional `id`). Cells are trimmed.
/// `evidence` is `none` or `course_and_scores`; `expected_names`, `prior_levels`
/// (`associate`/`bachelor` or 专科/本科) and `prior_majors` are lists separated by `|`;
/// `score_terms` is 1–8 and `pass_mark` 0–100 (blank: 60); for `none` the three
/// evidence cells stay blank. R10–R12 are checked per row. Every problem is reported,
/// located as `row 3, column score_terms`.
pub fn parse_rules_csv_rows(text: &str) -> Result<Vec<(usize, DegreeRule)>, Problems> {
    let records =
        csv::records(text).map_err(|e| vec![(format!("row {}", e.row), e.unlocated())])?;
    let Some((header, rows)) = records.split_first() else {
        return Err(vec![(
            "row 1".into(),
            Violation::new(
                "csv.header",
                format!("CSV 为空，第一行须为表头：{RULES_CSV_HEADER}"),
                format!("the CSV is empty; its first line must be the header {RULES_CSV_HEADER}"),
            ),
        )]);
    };
    let mut problems: Problems = Vec::new();
    let mut columns: HashMap<&str, usize> = HashMap::new();
    let header = &header.cells;
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        let known = RULES_CSV_COLUMNS.contains(&name) || name == "id";
        if !known || columns.insert(name, i).is_some() {
            problems.push((
                format!("row 1, column {}", i + 1),
                Violation::new(
                    "csv.header",
                    format!(
                        "表头中的列“{}”未知或重复；表头应为：{RULES_CSV_HEADER}",
                        shorten(name)
                    ),
                    format!(
                        "unknown or repeated column \"{}\"; the header is {RULES_CSV_HEADER}",
                        shorten(name)
                    ),
                ),
            ));
        }
    }
    for name in RULES_CSV_COLUMNS {
        if !columns.contains_key(name) {
            problems.push((
                "row 1".into(),
                Violation::new(
                    "csv.header",
                    format!("表头缺少列“{name}”；表头应为：{RULES_CSV_HEADER}"),
                    format!("the header lacks column \"{name}\"; it is {RULES_CSV_HEADER}"),
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut rules = Vec::new();
    for csv::Record { row, cells } in rows {
        let row = *row;
        if cells.len() != header.len() {
            problems.push((
                format!("row {row}"),
                Violation::new(
                    "csv.format",
                    format!("该行有{}个单元格，表头有{}列", cells.len(), header.len()),
                    format!(
                        "this row has {} cells, the header {} columns",
                        cells.len(),
                        header.len()
                    ),
                ),
            ));
            continue;
        }
        let cell = |name: &str| cells[columns[name]].trim();
        let mut row_problems: Problems = Vec::new();
        macro_rules! fail {
            ($column:expr, $v:expr $(,)?) => {
                row_problems.push((format!("row {row}, column {}", $column), $v))
            };
        }
        let major = MajorCode::parse(cell("major_code")).map_err(|v| fail!("major_code", v));
        let course = CourseCode::parse(cell("course_code")).map_err(|v| fail!("course_code", v));
        let names = list_cell(cell("expected_names"));
        let terms = match cell("score_terms") {
            "" => None,
            t => match t.parse::<u8>() {
                Ok(n) if (1..=MAX_SCORE_TERMS).contains(&n) => Some(n),
                _ => {
                    fail!(
                        "score_terms",
                        Violation::new(
                            "catalog.score_terms_range",
                            format!(
                                "成绩项数须为1到{MAX_SCORE_TERMS}的整数，收到“{}”",
                                shorten(t)
                            ),
                            format!(
                                "score_terms is a whole number 1 to {MAX_SCORE_TERMS}; got \"{}\"",
                                shorten(t)
                            ),
                        ),
                    );
                    Some(1)
                }
            },
        };
        let pass_mark = match cell("pass_mark") {
            "" => None,
            t => match t.parse::<u8>() {
                Ok(n) if n <= MAX_SCORE => Some(n),
                _ => {
                    fail!(
                        "pass_mark",
                        Violation::new(
                            "catalog.pass_mark_range",
                            format!("及格线须为0到{MAX_SCORE}的整数，收到“{}”", shorten(t)),
                            format!(
                                "pass_mark is a whole number 0 to {MAX_SCORE}; got \"{}\"",
                                shorten(t)
                            ),
                        ),
                    );
                    Some(DEFAULT_PASS_MARK)
                }
            },
        };
        let evidence = match cell("evidence") {
            "none" => {
                for (column, given) in [
                    ("expected_names", !names.is_empty()),
                    ("score_terms", terms.is_some()),
                    ("pass_mark", pass_mark.is_some()),
                ] {
                    if given {
                        fail!(column, evidence_fields_violation());
                    }
                }
                Some(Evidence::None)
            }
            "course_and_scores" => {
                if terms.is_none() {
                    fail!(
                        "score_terms",
                        Violation::new(
                            "catalog.score_terms_range",
                            "evidence 为 course_and_scores 时须填写成绩项数（1到8）",
                            "evidence course_and_scores needs score_terms (1 to 8)",
                        ),
                    );
                }
                Some(Evidence::CourseAndScores {
                    expected_names: names,
                    score_terms: terms.unwrap_or(1),
                    pass_mark: pass_mark.unwrap_or(DEFAULT_PASS_MARK),
                })
            }
            other => {
                fail!(
                    "evidence",
                    Violation::new(
                        "catalog.evidence_kind",
                        format!(
                            "evidence 须为 none 或 course_and_scores，收到“{}”",
                            shorten(other)
                        ),
                        format!(
                            "evidence is none or course_and_scores; got \"{}\"",
                            shorten(other)
                        ),
                    ),
                );
                None
            }
        };
        let mut prior_levels = Vec::new();
        for level in list_cell(cell("prior_levels")) {
            match DegreeLevel::parse(&level) {
                Ok(l) => prior_levels.push(l),
                Err(v) => fail!("prior_levels", v),
            }
        }
        if let (Ok(course), Some(evidence), true) = (&course, &evidence, row_problems.is_empty()) {
            for (field, v) in evidence_problems(course, evidence) {
                // Range problems were reported from the cell text already.
                if v.code == "catalog.evidence_mismatch" || v.code == "catalog.name_required" {
                    fail!(field, v);
                }
            }
        }
        if let (Ok(major_code), Ok(course_code), Some(evidence), true) =
            (major, course, evidence, row_problems.is_empty())
        {
            let id = columns
                .get("id")
                .map(|&i| cells[i].trim().to_owned())
                .unwrap_or_default();
            rules.push((
                row,
                DegreeRule {
                    id,
                    major_code,
                    course_code,
                    evidence,
                    prior_levels,
                    prior_majors: list_cell(cell("prior_majors")),
                },
            ));
        }
        problems.append(&mut row_problems);
    }
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(problems)
    }
}

/// [`parse_rules_csv_rows`] without the row numbers.
pub fn parse_rules_csv(text: &str) -> Result<Vec<DegreeRule>, Problems> {
    parse_rules_csv_rows(text).map(|rows| rows.into_iter().map(|(_, r)| r).collect())
}

/// A small catalogue built from the seed's courses and majors, for tests. Its major
/// codes and the non-seed courses are illustrative, not official.
#[cfg(test)]
pub(crate) mod sample {
    use super::*;

    /// The sample catalogue in the JSON import format.
    pub(crate) const JSON: &str = r#"{
      "label": "示例目录（依据种子文档编制，非官方附表） / sample catalogue built from the seed, not the official annex",
      "courses": [
        {"code": "03708", "name": "中国近代史纲要", "credits": 2},
        {"code": "03709", "name": "马克思主义基本原理概论", "credits": 4},
        {"code": "00015", "name": "英语（二）", "credits": 14},
        {"code": "00018", "name": "计算机基础", "credits": 2, "exam_channel": "platform"},
        {"code": "00019", "name": "计算机基础实践", "credits": 2, "practical": true, "exam_channel": "school_office"},
        {"code": "00051", "name": "管理系统中计算机应用", "credits": 3},
        {"code": "00052", "name": "管理系统中计算机应用实践", "credits": 1, "practical": true, "exam_channel": "school_office"},
        {"code": "03029", "name": "药理学（二）", "credits": 5},
        {"code": "00034", "name": "社会学概论", "credits": 6},
        {"code": "02767", "name": "园林植物栽培养护", "credits": 4}
      ],
      "majors": [
        {"code": "100701", "name": "药学", "level": "bachelor",
         "plan": ["03708", "03709", "00015", "00018", "00019", "03029"]},
        {"code": "120402", "name": "行政管理", "level": "bachelor",
         "plan": ["03708", "03709", "00015", "00051", "00052", "00034"]},
        {"code": "090502", "name": "园林", "level": "bachelor",
         "plan": ["03708", "03709", "00015", "02767"]}
      ],
      "degree_rules": [
        {"major_code": "100701", "course_code": "03708", "evidence": "none"},
        {"major_code": "100701", "course_code": "03709", "evidence": "none"},
        {"major_code": "100701", "course_code": "00015", "evidence": "course_and_scores",
         "expected_names": ["大学英语"], "score_terms": 3, "pass_mark": 60},
        {"major_code": "100701", "course_code": "03029", "evidence": "course_and_scores",
         "expected_names": ["药理学"], "score_terms": 1, "prior_levels": ["associate"],
         "prior_majors": ["药学"]},
        {"major_code": "120402", "course_code": "03708", "evidence": "none"},
        {"major_code": "120402", "course_code": "03709", "evidence": "none"},
        {"major_code": "120402", "course_code": "00015", "evidence": "course_and_scores",
         "expected_names": ["大学英语"], "score_terms": 3},
        {"major_code": "090502", "course_code": "03708", "evidence": "none"},
        {"major_code": "090502", "course_code": "03709", "evidence": "none"},
        {"major_code": "090502", "course_code": "00015", "evidence": "course_and_scores",
         "expected_names": ["大学英语"], "score_terms": 3}
      ],
      "certificate_rules": [
        {"kind": "ncre1", "course_code": "00018", "majors": ["100701"]},
        {"kind": "ncre1", "course_code": "00019", "majors": ["100701"]},
        {"kind": "ncre2", "course_code": "00018"},
        {"kind": "ncre2", "course_code": "00019"},
        {"kind": "ncre2", "course_code": "00051", "majors": ["120402"]},
        {"kind": "ncre2", "course_code": "00052", "majors": ["120402"]},
        {"kind": "cet4", "course_code": "00015"},
        {"kind": "cet6", "course_code": "00015"}
      ]
    }"#;

    /// The sample, unchecked.
    pub(crate) fn catalog() -> Catalog {
        serde_json::from_str(JSON).expect("the sample catalogue parses")
    }

    /// The sample, checked.
    pub(crate) fn valid() -> ValidCatalog {
        catalog().validate().expect("the sample catalogue is valid")
    }

    /// A code known to be valid.
    pub(crate) fn course(code: &str) -> CourseCode {
        CourseCode::parse(code).unwrap()
    }

    /// A major code known to be valid.
    pub(crate) fn major(code: &str) -> MajorCode {
        MajorCode::parse(code).unwrap()
    }

    /// 药学.
    pub(crate) fn pharmacy() -> MajorCode {
        major("100701")
    }

    /// 行政管理.
    pub(crate) fn public_administration() -> MajorCode {
        major("120402")
    }
}

#[cfg(test)]
mod tests {
    use super::sample::*;
    use super::*;
    use proptest::prelude::*;

    fn problem_codes(catalog: Catalog) -> Vec<(String, &'static str)> {
        catalog
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|(path, v)| (path, v.code))
            .collect()
    }

    #[test]
    fn overlong_names_are_refused_before_the_database_sees_them() {
        let mut catalog = sample::catalog();
        catalog.label = "目".repeat(201);
        catalog.courses[0].name = "课".repeat(101);
        let problems = catalog.validate().unwrap_err();
        let codes: Vec<&str> = problems.iter().map(|(_, v)| v.code).collect();
        assert_eq!(codes, ["catalog.name_too_long", "catalog.name_too_long"]);
    }

    #[test]
    fn the_sample_catalogue_is_valid_and_gets_stable_ids() {
        let valid = valid();
        assert_eq!(valid.degree_rules()[2].id, "100701-00015");
        assert_eq!(valid.certificate_rules()[0].id, "ncre1-00018");
        assert_eq!(valid.course(&course("00015")).unwrap().name, "英语（二）");
        assert_eq!(valid.major(&pharmacy()).unwrap().name, "药学");
        assert!(valid.major(&major("999999")).is_none());
    }

    #[test]
    fn certificate_kinds_follow_r13_to_r15() {
        let valid = valid();
        let kinds = |m: &MajorCode, c: &str| valid.certificate_kinds_for(m, &course(c));
        use CertificateKind::*;
        assert_eq!(kinds(&pharmacy(), "00018"), [Ncre1, Ncre2]);
        assert_eq!(kinds(&pharmacy(), "00019"), [Ncre1, Ncre2]);
        assert_eq!(kinds(&public_administration(), "00051"), [Ncre2]);
        assert_eq!(kinds(&public_administration(), "00052"), [Ncre2]);
        assert_eq!(kinds(&pharmacy(), "00015"), [Cet4, Cet6]);
        // Not in the plan: nothing, even for a rule without majors.
        assert!(kinds(&public_administration(), "00018").is_empty());
    }

    #[test]
    fn the_most_specific_matching_degree_rule_applies() {
        let mut catalog = catalog();
        catalog.degree_rules.push(DegreeRule {
            id: String::new(),
            major_code: pharmacy(),
            course_code: course("03029"),
            evidence: Evidence::CourseAndScores {
                expected_names: vec!["药理".into()],
                score_terms: 1,
                pass_mark: 60,
            },
            prior_levels: vec![],
            prior_majors: vec![],
        });
        let valid = catalog.validate().unwrap();
        let rule = |level, name| {
            valid
                .matching_degree_rule(&pharmacy(), &course("03029"), level, name)
                .map(|r| r.id.clone())
        };
        assert_eq!(
            rule(DegreeLevel::Associate, " 药学 ").as_deref(),
            Some("100701-03029")
        );
        assert_eq!(
            rule(DegreeLevel::Bachelor, "药学").as_deref(),
            Some("100701-03029-2")
        );
        assert_eq!(
            valid.degree_rules_for(&pharmacy(), &course("03029")).len(),
            2
        );
    }

    #[test]
    fn the_json_format_round_trips() {
        let valid = valid();
        let json = serde_json::to_string(valid.catalog()).unwrap();
        let again: Catalog = serde_json::from_str(&json).unwrap();
        assert_eq!(&again, valid.catalog());
        let value = serde_json::to_value(&valid.catalog().degree_rules[0]).unwrap();
        assert_eq!(value["evidence"], "none");
        assert!(value.get("score_terms").is_none());
        let value = serde_json::to_value(&valid.catalog().degree_rules[2]).unwrap();
        assert_eq!(value["evidence"], "course_and_scores");
        assert_eq!(value["score_terms"], 3);
        assert_eq!(value["pass_mark"], 60);
        assert_eq!(value["expected_names"][0], "大学英语");
    }

    #[test]
    fn malformed_json_shapes_are_refused() {
        let rule = |extra: &str| {
            serde_json::from_str::<DegreeRule>(&format!(
                r#"{{"major_code":"100701","course_code":"03708",{extra}}}"#
            ))
        };
        assert!(rule(r#""evidence":"none""#).is_ok());
        assert!(rule(r#""evidence":"none","score_terms":3"#).is_err());
        assert!(rule(r#""evidence":"course_and_scores","expected_names":["x"]"#).is_err());
        assert!(rule(r#""evidence":"photo""#).is_err());
        assert!(rule(r#""evidence":"none","score_term":3"#).is_err());
        assert!(serde_json::from_str::<MajorCode>(r#""10-701""#).is_err());
        assert!(
            serde_json::from_str::<Catalog>(r#"{"label":"x","courses":[],"majors":[],"extra":1}"#)
                .is_err()
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_path() {
        let mut c = catalog();
        c.label = " ".into();
        c.courses.push(c.courses[0].clone());
        c.courses[2].credits = 0;
        c.courses[3].name = "".into();
        c.majors.push(Major {
            code: pharmacy(),
            name: "药学".into(),
            level: DegreeLevel::Associate,
            plan: vec![course("03708")],
        });
        c.majors[0].plan.push(course("99999"));
        c.majors[2].plan.push(course("03708"));
        c.degree_rules[0].major_code = major("X1");
        c.degree_rules[1].course_code = course("00051");
        if let Evidence::CourseAndScores {
            score_terms,
            pass_mark,
            expected_names,
        } = &mut c.degree_rules[2].evidence
        {
            *score_terms = 9;
            *pass_mark = 101;
            expected_names.clear();
        }
        c.degree_rules[4].evidence = Evidence::CourseAndScores {
            expected_names: vec!["x".into()],
            score_terms: 1,
            pass_mark: 60,
        };
        c.degree_rules[6].evidence = Evidence::None;
        c.degree_rules.push(c.degree_rules[7].clone());
        c.certificate_rules[4].majors.push(major("ZZ"));
        c.certificate_rules.push(c.certificate_rules[6].clone());
        let got = problem_codes(c);
        let expected = [
            ("label", "catalog.name_required"),
            ("courses[10].code", "catalog.duplicate"),
            ("courses[2].credits", "catalog.credits_range"),
            ("courses[3].name", "catalog.name_required"),
            ("majors[0].plan[6]", "catalog.unknown_course"),
            ("majors[3].code", "catalog.duplicate"),
            ("majors[2].plan[4]", "catalog.duplicate"),
            ("degree_rules[0].major_code", "catalog.unknown_major"),
            ("degree_rules[1].course_code", "catalog.not_in_plan"),
            ("degree_rules[1].evidence", "catalog.evidence_mismatch"),
            ("degree_rules[2].expected_names", "catalog.name_required"),
            ("degree_rules[2].score_terms", "catalog.score_terms_range"),
            ("degree_rules[2].pass_mark", "catalog.pass_mark_range"),
            ("degree_rules[4].evidence", "catalog.evidence_mismatch"),
            ("degree_rules[6].evidence", "catalog.evidence_mismatch"),
            ("degree_rules[10]", "catalog.duplicate"),
            ("certificate_rules[4].majors[1]", "catalog.unknown_major"),
            ("certificate_rules[8]", "catalog.duplicate"),
        ];
        for (path, code) in expected {
            assert!(
                got.iter().any(|(p, c)| p == path && *c == code),
                "missing {path} {code} in {got:#?}"
            );
        }
        assert_eq!(got.len(), expected.len(), "{got:#?}");
    }

    #[test]
    fn english_ii_must_ask_for_three_scores() {
        let mut c = catalog();
        if let Evidence::CourseAndScores { score_terms, .. } = &mut c.degree_rules[2].evidence {
            *score_terms = 1;
        }
        assert_eq!(
            problem_codes(c),
            [(
                "degree_rules[2].score_terms".to_owned(),
                "catalog.evidence_mismatch"
            )]
        );
    }

    #[test]
    fn certificate_rule_majors_must_have_the_course_in_their_plan() {
        let mut c = catalog();
        c.certificate_rules[4].majors = vec![pharmacy()];
        assert_eq!(
            problem_codes(c),
            [(
                "certificate_rules[4].majors[0]".to_owned(),
                "catalog.not_in_plan"
            )]
        );
    }

    #[test]
    fn explicit_duplicate_rule_ids_are_refused_and_blank_ids_avoid_taken_ones() {
        let mut c = catalog();
        c.degree_rules[0].id = "r".into();
        c.degree_rules[1].id = "r".into();
        assert_eq!(
            problem_codes(c),
            [("degree_rules[1].id".to_owned(), "catalog.duplicate")]
        );
        let mut c = catalog();
        c.degree_rules[0].id = "100701-03709".into();
        let valid = c.validate().unwrap();
        assert_eq!(valid.degree_rules()[1].id, "100701-03709-2");
    }

    #[test]
    fn major_codes_are_one_to_ten_ascii_alphanumerics() {
        for ok in ["100701", "C100701", "A", "ABCDEFGHIJ"] {
            assert!(MajorCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ABCDEFGHIJK",
            "10 701",
            "１００７０１",
            "10-701",
            " 100701",
        ] {
            assert_eq!(MajorCode::parse(bad).unwrap_err().code, "major.code_format");
        }
    }

    #[test]
    fn certificate_kinds_have_chinese_labels_and_lowercase_values() {
        let labels: Vec<_> = CertificateKind::ALL.iter().map(|k| k.label_zh()).collect();
        assert_eq!(
            labels,
            [
                "全国计算机等级考试一级",
                "全国计算机等级考试二级",
                "大学英语四级",
                "大学英语六级"
            ]
        );
        for k in CertificateKind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert_eq!(
            serde_json::to_string(&ExamChannel::SchoolOffice).unwrap(),
            "\"school_office\""
        );
    }

    const CSV: &str = "\u{feff}major_code,course_code,evidence,expected_names,score_terms,pass_mark,prior_levels,prior_majors\r\n\
        100701,03708,none,,,,,\r\n\
        100701,00015,course_and_scores,\"大学英语|College English, I\",3,,associate|本科,\r\n\
        \r\n\
        100701,03029,course_and_scores,\"药理学 \"\"二\"\"\",1,65,专科,药学|临床药学\r\n";

    #[test]
    fn the_annex_table_parses_from_csv_with_bom_crlf_and_quotes() {
        let rows = parse_rules_csv_rows(CSV).unwrap();
        assert_eq!(rows.iter().map(|(r, _)| *r).collect::<Vec<_>>(), [2, 3, 5]);
        let rules: Vec<DegreeRule> = rows.into_iter().map(|(_, r)| r).collect();
        assert_eq!(rules[0].evidence, Evidence::None);
        assert_eq!(
            rules[1].evidence,
            Evidence::CourseAndScores {
                expected_names: vec!["大学英语".into(), "College English, I".into()],
                score_terms: 3,
                pass_mark: 60
            }
        );
        assert_eq!(
            rules[1].prior_levels,
            [DegreeLevel::Associate, DegreeLevel::Bachelor]
        );
        assert_eq!(
            rules[2].evidence.score_requirement(),
            Some(ScoreRequirement {
                terms: 1,
                pass_mark: 65
            })
        );
        assert_eq!(rules[2].prior_majors, ["药学", "临床药学"]);
        if let Evidence::CourseAndScores { expected_names, .. } = &rules[2].evidence {
            assert_eq!(expected_names, &["药理学 \"二\""]);
        }
        let lf = CSV.replace("\r\n", "\n");
        assert_eq!(parse_rules_csv(&lf).unwrap(), rules);
    }

    #[test]
    fn csv_columns_may_come_in_any_order_with_an_id() {
        let text = "id,prior_majors,prior_levels,pass_mark,score_terms,expected_names,evidence,course_code,major_code\n\
            r1,,,,,,none,03708,100701";
        let rules = parse_rules_csv(text).unwrap();
        assert_eq!(rules[0].id, "r1");
        assert_eq!(rules[0].course_code, course("03708"));
    }

    #[test]
    fn csv_problems_are_all_reported_by_row_and_column() {
        let text = format!(
            "{RULES_CSV_HEADER}\n\
             100701,3708,none,,,,,\n\
             100701,00015,course_and_scores,大学英语,x,101,master,\n\
             100701,00015,course_and_scores,,2,,,\n\
             100701,03708,none,大学英语,3,,,\n\
             100701,03709,photo,,,,,\n\
             100701,00018,none,,,,,\n\
             100701,00018\n"
        );
        let got: Vec<(String, &str)> = parse_rules_csv(&text)
            .unwrap_err()
            .into_iter()
            .map(|(p, v)| (p, v.code))
            .collect();
        let expected = [
            ("row 2, column course_code", "course.code_format"),
            ("row 3, column score_terms", "catalog.score_terms_range"),
            ("row 3, column pass_mark", "catalog.pass_mark_range"),
            ("row 3, column prior_levels", "degree_level.unknown"),
            ("row 4, column expected_names", "catalog.name_required"),
            ("row 4, column score_terms", "catalog.evidence_mismatch"),
            ("row 5, column expected_names", "catalog.evidence_fields"),
            ("row 5, column score_terms", "catalog.evidence_fields"),
            ("row 6, column evidence", "catalog.evidence_kind"),
            ("row 7, column evidence", "catalog.evidence_mismatch"),
            ("row 8", "csv.format"),
        ];
        let expected: Vec<(String, &str)> =
            expected.iter().map(|(p, c)| (p.to_string(), *c)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn csv_header_and_quoting_errors_are_reported() {
        let codes = |t: &str| -> Vec<&str> {
            parse_rules_csv(t)
                .unwrap_err()
                .into_iter()
                .map(|(_, v)| v.code)
                .collect()
        };
        assert_eq!(codes(""), ["csv.header"]);
        assert_eq!(codes("major_code,course_code\n"), ["csv.header"; 6]);
        assert!(codes(&format!("{RULES_CSV_HEADER},colour\n")).contains(&"csv.header"));
        let unterminated = format!("{RULES_CSV_HEADER}\n100701,03708,none,\"abc,,,,\n");
        assert_eq!(codes(&unterminated), ["csv.format"]);
        let stray = format!("{RULES_CSV_HEADER}\n100701,03708,none,a\"b,,,,\n");
        assert_eq!(codes(&stray), ["csv.format"]);
        let after = format!("{RULES_CSV_HEADER}\n100701,03708,none,\"a\"b,,,,\n");
        assert_eq!(codes(&after), ["csv.format"]);
    }

    #[test]
    fn a_quoting_error_is_located_by_row_and_its_message_does_not_repeat_it() {
        let text =
            format!("{RULES_CSV_HEADER}\n100701,03708,none,,,,,\n100701,03708,none,a\"b,,,,\n");
        let problems = parse_rules_csv(&text).unwrap_err();
        assert_eq!(problems.len(), 1);
        let (at, v) = &problems[0];
        assert_eq!(at, "row 3");
        assert_eq!(v.code, "csv.format");
        assert!(
            v.en.starts_with("a quote inside an unquoted cell"),
            "{}",
            v.en
        );
    }

    fn cell() -> impl Strategy<Value = String> {
        "[a-z0-9,\"\r\n 药学|]{0,12}"
    }

    proptest! {
        #[test]
        fn quoted_csv_cells_come_back_unchanged(cells in proptest::collection::vec(cell(), 1..6)) {
            let line: Vec<String> = cells
                .iter()
                .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                .collect();
            let text = format!("{}\r\n", line.join(","));
            let records = csv::split(&text).unwrap();
            prop_assert_eq!(records.len(), 1);
            prop_assert_eq!(&records[0].cells, &cells);
        }

        #[test]
        fn csv_rules_survive_a_json_round_trip(terms in 1u8..=8, mark in 0u8..=100) {
            let text = format!("{RULES_CSV_HEADER}\n100701,03029,course_and_scores,药理学,{terms},{mark},,\n");
            let rules = parse_rules_csv(&text).unwrap();
            let json = serde_json::to_string(&rules).unwrap();
            let back: Vec<DegreeRule> = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, rules);
        }
    }
}
