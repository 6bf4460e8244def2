//! A certification application (学历成果认证申请): its status machine, and the
//! preflight check of its items against the rules (R7–R20).
//!
//! Everything here is pure; the caller brings the catalogue version of the
//! application's round, the candidate's prior degree and the courses the candidate
//! already holds in other applications.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::catalog::{CertificateKind, MajorCode, ValidCatalog};
use crate::eligibility::{
    PriorDegreeFacts, ScoreInput, certifiable_by_degree, check_item_by_certificate,
    check_item_by_degree, degree_rule_for_item,
};
use crate::score::ScoreEntry;
use crate::{CourseCode, Violation};

/// Where an application is in its life.
///
/// `draft` → `submitted` → (`returned` → `submitted`) → `approved` |
/// `partially_approved` | `rejected`; `submitted` → `draft` when the owner withdraws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Saved, not submitted: counts for nothing yet (R17).
    Draft,
    /// Submitted and waiting for review; its courses are held.
    Submitted,
    /// Sent back by staff with a reason; editable and resubmittable.
    Returned,
    /// Every course approved.
    Approved,
    /// Some courses approved, some rejected.
    PartiallyApproved,
    /// Every course rejected.
    Rejected,
}

crate::choice!(ApplicationStatus { ApplicationStatus::Draft => "draft", ApplicationStatus::Submitted => "submitted", ApplicationStatus::Returned => "returned", ApplicationStatus::Approved => "approved", ApplicationStatus::PartiallyApproved => "partially_approved", ApplicationStatus::Rejected => "rejected" });

impl ApplicationStatus {
    /// Every status.
    pub const ALL: [Self; 6] = [
        Self::Draft,
        Self::Submitted,
        Self::Returned,
        Self::Approved,
        Self::PartiallyApproved,
        Self::Rejected,
    ];

    /// The stored and API value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Approved => "approved",
            Self::PartiallyApproved => "partially_approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored value.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Draft => "草稿",
            Self::Submitted => "已提交",
            Self::Returned => "已退回",
            Self::Approved => "已通过",
            Self::PartiallyApproved => "部分通过",
            Self::Rejected => "未通过",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Approved => "approved",
            Self::PartiallyApproved => "partially approved",
            Self::Rejected => "rejected",
        }
    }

    /// Whether the owner may change items or the certificate (draft or returned).
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Returned)
    }

    /// Whether staff have decided it.
    pub fn is_reviewed(self) -> bool {
        matches!(
            self,
            Self::Approved | Self::PartiallyApproved | Self::Rejected
        )
    }
}

/// What may be done to an application; each is allowed in some statuses only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The owner changes items or the route's evidence.
    Change,
    /// The owner submits it (R17).
    Submit,
    /// The owner takes a submitted application back to draft.
    Withdraw,
    /// Staff send a submitted application back with a reason.
    Return,
    /// Staff decide every course (R19).
    Review,
}

impl Action {
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Self::Change => ("修改", "changed"),
            Self::Submit => ("提交", "submitted"),
            Self::Withdraw => ("撤回", "withdrawn"),
            Self::Return => ("退回", "returned"),
            Self::Review => ("审核", "reviewed"),
        }
    }
}

impl ApplicationStatus {
    /// Whether `action` is allowed in this status: change and submit while draft or
    /// returned, withdraw, return and review while submitted.
    pub fn allows(self, action: Action) -> bool {
        match action {
            Action::Change | Action::Submit => self.is_editable(),
            Action::Withdraw | Action::Return | Action::Review => self == Self::Submitted,
        }
    }

    /// [`ApplicationStatus::allows`], or the `state.conflict` that says why not.
    pub fn check(self, action: Action) -> Result<(), Violation> {
        if self.allows(action) {
            Ok(())
        } else {
            let (zh, en) = action.words();
            Err(state_conflict(self, zh, en))
        }
    }
}

/// How an application certifies its courses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 学历证书课程认证: by the candidate's effective prior degree (R7–R12).
    Degree,
    /// 非学历证书课程认证: by an NCRE or CET certificate (R13–R15).
    Certificate,
}

impl Kind {
    /// The stored and API value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Degree => "degree",
            Self::Certificate => "certificate",
        }
    }

    /// Parses the stored value.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Degree, Self::Certificate]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Degree => "学历证书课程认证",
            Self::Certificate => "非学历证书课程认证",
        }
    }
}

/// One item as a request gives it: scores as a list, as text, or both (which must
/// then agree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemDraft {
    /// The course code as given.
    pub course_code: String,
    /// The learned course name, if given.
    pub learned_course_name: Option<String>,
    /// The scores as a list.
    pub scores: Option<Vec<i64>>,
    /// The scores as text (`60;65;70`).
    pub score_text: Option<String>,
}

impl ItemDraft {
    /// The item as [`assess`] reads it (the list wins when both forms are given).
    pub fn input(&self) -> ItemInput<'_> {
        ItemInput {
            course_code: &self.course_code,
            learned_course_name: self.learned_course_name.as_deref(),
            scores: match (&self.scores, &self.score_text) {
                (Some(list), _) => ScoreInput::List(list),
                (None, Some(text)) => ScoreInput::Text(text),
                (None, None) => ScoreInput::Missing,
            },
        }
    }
}

/// Both score forms given and different: `score.conflict` on `score_text`.
pub fn score_conflicts(items: &[ItemDraft]) -> Vec<ItemProblem> {
    items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            let (Some(list), Some(text)) = (&item.scores, &item.score_text) else {
                return None;
            };
            let joined = list
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(";");
            let normalised: String = text.split(';').map(str::trim).collect::<Vec<_>>().join(";");
            (joined != normalised.trim()).then(|| ItemProblem {
                index,
                field: ItemField::ScoreText,
                violation: Violation::new(
                    "score.conflict",
                    format!(
                        "scores（{joined}）与 score_text（{}）不一致，只填一种即可",
                        text.trim()
                    ),
                    format!(
                        "scores ({joined}) and score_text ({}) differ; give one of them",
                        text.trim()
                    ),
                ),
            })
        })
        .collect()
}

/// A certificate's number and date as given: the number trimmed (1–40 characters)
/// and a date not after `today`, or every problem by field (`number`, `obtained_on`).
pub fn check_certificate(
    number: &str,
    obtained_on: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> Result<String, Vec<(&'static str, Violation)>> {
    let number = number.trim();
    let chars = number.chars().count();
    let mut problems = Vec::new();
    if chars == 0 || chars > 40 {
        problems.push((
            "number",
            Violation::new(
                "certificate.number",
                "证书编号须为1到40个字符",
                "the certificate number is 1 to 40 characters",
            ),
        ));
    }
    if obtained_on > today {
        problems.push((
            "obtained_on",
            Violation::new(
                "certificate.obtained_on",
                "取得证书日期不能晚于今天",
                "the date the certificate was obtained cannot be in the future",
            ),
        ));
    }
    if problems.is_empty() {
        Ok(number.to_owned())
    } else {
        Err(problems)
    }
}

/// One course's decision as a reviewer gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewChoice {
    /// The course code as given.
    pub course_code: String,
    /// Approved or rejected.
    pub decision: Decision,
    /// Why (required for a rejection), up to 1000 characters.
    pub reason: Option<String>,
}

impl ReviewChoice {
    /// The code, trimmed.
    pub fn code(&self) -> &str {
        self.course_code.trim()
    }

    /// The reason, trimmed; none when blank.
    pub fn reason(&self) -> Option<&str> {
        self.reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }
}

/// A review of an application whose courses are `courses` (R19): every course
/// decided exactly once, nothing else, a rejection with a reason, reasons at most
/// 1000 characters. Every problem with its JSON path (`items[1].reason`).
pub fn check_review(courses: &[&str], choices: &[ReviewChoice]) -> Vec<(String, Violation)> {
    let mut problems = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, choice) in choices.iter().enumerate() {
        let code = choice.code();
        if !courses.contains(&code) {
            problems.push((
                format!("items[{i}].course_code"),
                Violation::new(
                    "review.unknown_course",
                    format!("课程 {code} 不在该申请中"),
                    format!("course {code} is not in this application"),
                ),
            ));
        } else if seen.contains(&code) {
            problems.push((
                format!("items[{i}].course_code"),
                Violation::new(
                    "review.duplicate",
                    format!("课程 {code} 的审核结果给了不止一次"),
                    format!("course {code} is decided more than once"),
                ),
            ));
        }
        seen.push(code);
        let reason = choice.reason().unwrap_or("");
        if choice.decision == Decision::Rejected && reason.is_empty() {
            problems.push((
                format!("items[{i}].reason"),
                Violation::new(
                    "review.reason_required",
                    "不通过的课程须填写原因",
                    "a rejected course needs a reason",
                ),
            ));
        }
        if reason.chars().count() > 1000 {
            problems.push((
                format!("items[{i}].reason"),
                Violation::new(
                    "reason.length",
                    "原因不能超过1000个字符",
                    "the reason is at most 1000 characters",
                ),
            ));
        }
    }
    let undecided: Vec<&str> = courses
        .iter()
        .copied()
        .filter(|c| !seen.contains(c))
        .collect();
    if !undecided.is_empty() {
        let list = undecided.join(", ");
        problems.push((
            "items".to_owned(),
            Violation::new(
                "review.incomplete",
                format!("每门课程都须给出审核结果，缺少：{list}"),
                format!("every course needs a decision; missing: {list}"),
            ),
        ));
    }
    problems
}

/// A reason for sending an application back: trimmed, 1–1000 characters
/// (`reason.length`).
pub fn check_return_reason(reason: &str) -> Result<String, Violation> {
    let reason = reason.trim();
    let chars = reason.chars().count();
    if chars == 0 || chars > 1000 {
        Err(Violation::new(
            "reason.length",
            "退回原因须为1到1000个字符",
            "the reason is 1 to 1000 characters",
        ))
    } else {
        Ok(reason.to_owned())
    }
}

/// Something an application's status does not allow.
pub fn state_conflict(status: ApplicationStatus, action_zh: &str, action_en: &str) -> Violation {
    Violation::new(
        "state.conflict",
        format!("申请当前状态为“{}”，不能{action_zh}", status.label_zh()),
        format!(
            "the application is {}: it cannot be {action_en}",
            status.label_en()
        ),
    )
}

/// A staff decision on one course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The course is certified.
    Approved,
    /// The course is not certified (a reason is required).
    Rejected,
}

crate::choice!(Decision { Decision::Approved => "approved", Decision::Rejected => "rejected" });

impl Decision {
    /// The stored and API value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored value.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Approved, Self::Rejected]
            .into_iter()
            .find(|d| d.as_str() == text)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Approved => "认证通过",
            Self::Rejected => "认证未通过",
        }
    }
}

/// The status a review leaves: all approved → `approved`, none → `rejected`, else
/// `partially_approved`. `None` for an empty list.
pub fn review_outcome(decisions: &[Decision]) -> Option<ApplicationStatus> {
    let approved = decisions
        .iter()
        .filter(|d| **d == Decision::Approved)
        .count();
    match (approved, decisions.len()) {
        (_, 0) => None,
        (a, n) if a == n => Some(ApplicationStatus::Approved),
        (0, _) => Some(ApplicationStatus::Rejected),
        _ => Some(ApplicationStatus::PartiallyApproved),
    }
}

/// How the application certifies its courses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChoice {
    /// By the candidate's (effective) prior degree (R7–R12).
    Degree(PriorDegreeFacts),
    /// By a non-degree certificate (R13–R15).
    Certificate(CertificateKind),
}

/// One item as given (request) or stored.
#[derive(Debug, Clone, Copy)]
pub struct ItemInput<'a> {
    /// The course code as text (checked here).
    pub course_code: &'a str,
    /// The learned course name, if given.
    pub learned_course_name: Option<&'a str>,
    /// The scores, if given.
    pub scores: ScoreInput<'a>,
}

/// An item that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedItem {
    /// The course.
    pub course_code: CourseCode,
    /// The rule that certifies it (degree or certificate rule id).
    pub rule_id: String,
    /// The learned course name (degree items that need evidence).
    pub learned_course_name: Option<String>,
    /// The parsed scores (degree items that need evidence).
    pub scores: Option<ScoreEntry>,
}

/// Which part of an item a problem is about (for the JSON path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemField {
    /// The item as a whole (`items[2]`).
    Item,
    /// `items[2].course_code`.
    CourseCode,
    /// `items[2].learned_course_name`.
    LearnedCourseName,
    /// `items[2].scores`.
    Scores,
    /// `items[2].score_text`.
    ScoreText,
}

impl ItemField {
    /// The JSON path of this field of item `index`.
    pub fn path(self, index: usize) -> String {
        match self {
            Self::Item => format!("items[{index}]"),
            Self::CourseCode => format!("items[{index}].course_code"),
            Self::LearnedCourseName => format!("items[{index}].learned_course_name"),
            Self::Scores => format!("items[{index}].scores"),
            Self::ScoreText => format!("items[{index}].score_text"),
        }
    }
}

/// A problem (or warning) with one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemProblem {
    /// The item's index in the list.
    pub index: usize,
    /// Which part of it.
    pub field: ItemField,
    /// What is wrong.
    pub violation: Violation,
}

/// The result of checking an application's items against the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assessment {
    /// The items that passed, in the order given.
    pub checked: Vec<CheckedItem>,
    /// Refusing problems.
    pub errors: Vec<ItemProblem>,
    /// Things to show without refusing (`evidence.name_unexpected`).
    pub warnings: Vec<ItemProblem>,
    /// The courses this route can certify for the candidate (R9), plan order.
    pub expected: Vec<CourseCode>,
    /// The courses the items name (valid codes only), in the order given.
    pub selected: Vec<CourseCode>,
    /// Expected courses neither selected nor already held elsewhere (R9).
    pub missing: Vec<CourseCode>,
}

fn duplicate_in_list(course: &CourseCode) -> Violation {
    Violation::new(
        "course.duplicate",
        format!("课程 {course} 在本申请中出现了不止一次"),
        format!("course {course} appears more than once in this application"),
    )
}

/// `course.duplicate` for a course held by another application: pending or certified.
pub fn duplicate_held(course: &CourseCode, certified: bool) -> Violation {
    if certified {
        Violation::new(
            "course.duplicate",
            format!("课程 {course} 已经认证通过，不能重复申请"),
            format!("course {course} is already certified; it cannot be applied for again"),
        )
    } else {
        Violation::new(
            "course.duplicate",
            format!("课程 {course} 已在另一份已提交的申请中，不能重复申请"),
            format!("course {course} is already in another submitted application"),
        )
    }
}

/// A course the candidate already holds in another application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldCourse {
    /// The course.
    pub course_code: CourseCode,
    /// Whether it was approved (certified) rather than pending.
    pub certified: bool,
}

/// The courses this route can certify for the candidate's major (R9): for the
/// degree route the plan courses the prior degree certifies; for a certificate the
/// plan courses that certificate certifies. `major.unknown`, `prior_degree.not_regular`.
pub fn expected_courses(
    catalog: &ValidCatalog,
    major: &MajorCode,
    route: &RouteChoice,
) -> Result<Vec<CourseCode>, Violation> {
    match route {
        RouteChoice::Degree(prior) => Ok(certifiable_by_degree(catalog, major, prior)?
            .into_iter()
            .map(|c| c.course_code)
            .collect()),
        RouteChoice::Certificate(kind) => {
            let plan = catalog
                .major(major)
                .ok_or_else(|| {
                    Violation::new(
                        "major.unknown",
                        format!("专业 {major} 不存在"),
                        format!("there is no major {major}"),
                    )
                })?
                .plan
                .clone();
            Ok(plan
                .into_iter()
                .filter(|c| catalog.certificate_kinds_for(major, c).contains(kind))
                .collect())
        }
    }
}

/// Checks every item (R8–R15): the course code, that it is certifiable by this route
/// (`course.not_certifiable`), the evidence (`evidence.*`, `score.*`), that it is not
/// listed twice nor held by another application (`course.duplicate`); and computes
/// the expected, selected and missing courses (R9).
///
/// A route-level problem (`major.unknown`, `prior_degree.not_regular`) is the `Err`.
pub fn assess(
    catalog: &ValidCatalog,
    major: &MajorCode,
    route: &RouteChoice,
    items: &[ItemInput<'_>],
    held: &[HeldCourse],
) -> Result<Assessment, Violation> {
    let expected = expected_courses(catalog, major, route)?;
    let mut out = Assessment {
        expected,
        ..Assessment::default()
    };
    let mut seen = BTreeSet::new();
    for (index, item) in items.iter().enumerate() {
        let mut error = |field, violation| {
            out.errors.push(ItemProblem {
                index,
                field,
                violation,
            })
        };
        let course = match CourseCode::parse(item.course_code.trim()) {
            Ok(c) => c,
            Err(v) => {
                error(ItemField::CourseCode, v);
                continue;
            }
        };
        out.selected.push(course);
        if !seen.insert(course) {
            error(ItemField::CourseCode, duplicate_in_list(&course));
            continue;
        }
        if let Some(h) = held.iter().find(|h| h.course_code == course) {
            error(ItemField::CourseCode, duplicate_held(&course, h.certified));
            continue;
        }
        let checked = match route {
            RouteChoice::Degree(prior) => {
                let rule = match degree_rule_for_item(catalog, major, prior, &course) {
                    Ok(rule) => rule,
                    Err(v) => {
                        error(ItemField::CourseCode, v);
                        continue;
                    }
                };
                match check_item_by_degree(&rule.evidence, item.learned_course_name, item.scores) {
                    Ok(degree_item) => {
                        for w in degree_item.warnings {
                            out.warnings.push(ItemProblem {
                                index,
                                field: ItemField::LearnedCourseName,
                                violation: w,
                            });
                        }
                        CheckedItem {
                            course_code: course,
                            rule_id: rule.id.clone(),
                            learned_course_name: degree_item.learned_course_name,
                            scores: degree_item.scores,
                        }
                    }
                    Err(v) => {
                        let field = evidence_field(&v, item);
                        out.errors.push(ItemProblem {
                            index,
                            field,
                            violation: v,
                        });
                        continue;
                    }
                }
            }
            RouteChoice::Certificate(kind) => {
                match check_item_by_certificate(catalog, *kind, major, &course) {
                    Ok(rule) => {
                        let given = item
                            .learned_course_name
                            .is_some_and(|n| !n.trim().is_empty())
                            || match item.scores {
                                ScoreInput::Missing => false,
                                ScoreInput::Text(t) => !t.trim().is_empty(),
                                ScoreInput::List(l) => !l.is_empty(),
                            };
                        if given {
                            error(ItemField::Item, certificate_evidence_not_allowed());
                            continue;
                        }
                        CheckedItem {
                            course_code: course,
                            rule_id: rule.id.clone(),
                            learned_course_name: None,
                            scores: None,
                        }
                    }
                    Err(v) => {
                        error(ItemField::CourseCode, v);
                        continue;
                    }
                }
            }
        };
        out.checked.push(checked);
    }
    out.missing = out
        .expected
        .iter()
        .filter(|c| !seen.contains(*c) && !held.iter().any(|h| h.course_code == **c))
        .copied()
        .collect();
    Ok(out)
}

/// Learned course names and scores belong to degree items only (R13–R15: the
/// certificate is the evidence).
fn certificate_evidence_not_allowed() -> Violation {
    Violation::new(
        "evidence.not_allowed",
        "凭证书认证的课程不填写已学课程名称和成绩，证书本身即为材料",
        "courses certified by a certificate take no learned course name and no scores: the certificate is the evidence",
    )
}

/// Which field an evidence problem of a degree item points at.
fn evidence_field(v: &Violation, item: &ItemInput<'_>) -> ItemField {
    let score_field = match item.scores {
        ScoreInput::List(_) => ItemField::Scores,
        _ => ItemField::ScoreText,
    };
    match v.code {
        "evidence.not_allowed" => ItemField::Item,
        "evidence.required" if item.learned_course_name.is_none_or(|n| n.trim().is_empty()) => {
            ItemField::LearnedCourseName
        }
        "evidence.required" => score_field,
        c if c.starts_with("score.") => score_field,
        _ => ItemField::Item,
    }
}

/// R9 at submission: every missing course must be confirmed, and nothing else.
/// `selection.incomplete` otherwise, naming the counts ("you can apply for 4
/// courses; you selected 3").
pub fn check_confirmed_missing(
    assessment: &Assessment,
    confirmed: &[CourseCode],
) -> Result<(), Violation> {
    let missing: BTreeSet<CourseCode> = assessment.missing.iter().copied().collect();
    let confirmed: BTreeSet<CourseCode> = confirmed.iter().copied().collect();
    if missing == confirmed {
        return Ok(());
    }
    Err(selection_incomplete(assessment))
}

/// The R9 reminder as a violation: how many courses can be applied for, how many
/// were selected, which are missing.
pub fn selection_incomplete(assessment: &Assessment) -> Violation {
    let list = assessment
        .missing
        .iter()
        .map(CourseCode::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let expected = assessment.expected.len();
    let selected = assessment
        .selected
        .iter()
        .filter(|c| assessment.expected.contains(c))
        .count();
    if assessment.missing.is_empty() {
        return Violation::new(
            "selection.incomplete",
            "confirm_missing 只能列出未选的可认证课程；当前没有未选课程",
            "confirm_missing may list only the certifiable courses left out; none are left out",
        );
    }
    Violation::new(
        "selection.incomplete",
        format!(
            "按附表您可以申请 {expected} 门课程，已选 {selected} 门，未选：{list}。请不要少选；确实不申请的，请在 confirm_missing 中逐一列出这些课程后再提交"
        ),
        format!(
            "you can apply for {expected} courses; you selected {selected}; missing: {list}. Do not select fewer; to leave them out on purpose, list exactly these in confirm_missing"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::sample::*;
    use crate::certificate_number::{DegreeLevel, EducationType};

    fn prior(level: DegreeLevel, major: &str) -> RouteChoice {
        RouteChoice::Degree(PriorDegreeFacts {
            level,
            major_name: major.into(),
            education_type: EducationType::Regular,
        })
    }

    fn item<'a>(code: &'a str, name: Option<&'a str>, scores: ScoreInput<'a>) -> ItemInput<'a> {
        ItemInput {
            course_code: code,
            learned_course_name: name,
            scores,
        }
    }

    fn tick(code: &str) -> ItemInput<'_> {
        item(code, None, ScoreInput::Missing)
    }

    fn codes(list: &[CourseCode]) -> Vec<&str> {
        list.iter().map(CourseCode::as_str).collect()
    }

    #[test]
    fn each_action_is_allowed_in_its_statuses_only() {
        use ApplicationStatus::*;
        for status in ApplicationStatus::ALL {
            assert_eq!(
                status.allows(Action::Change),
                matches!(status, Draft | Returned)
            );
            assert_eq!(
                status.allows(Action::Submit),
                matches!(status, Draft | Returned)
            );
            for action in [Action::Withdraw, Action::Return, Action::Review] {
                assert_eq!(
                    status.allows(action),
                    status == Submitted,
                    "{status:?} {action:?}"
                );
            }
        }
        let refused = Approved.check(Action::Withdraw).unwrap_err();
        assert_eq!(refused.code, "state.conflict");
        assert!(refused.zh.contains("已通过") && refused.zh.contains("撤回"));
        assert!(refused.en.ends_with("cannot be withdrawn"));
    }

    #[test]
    fn both_score_forms_must_agree_after_trimming() {
        let draft = |scores: Option<Vec<i64>>, text: Option<&str>| ItemDraft {
            course_code: "00015".into(),
            learned_course_name: None,
            scores,
            score_text: text.map(str::to_owned),
        };
        let items = [
            draft(Some(vec![60, 65, 70]), Some(" 60; 65 ;70 ")),
            draft(Some(vec![60, 65]), Some("60;65;70")),
            draft(None, Some("60;65")),
            draft(Some(vec![60]), None),
        ];
        let problems = score_conflicts(&items);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].index, 1);
        assert_eq!(problems[0].field.path(1), "items[1].score_text");
        assert_eq!(problems[0].violation.code, "score.conflict");
        assert!(matches!(items[0].input().scores, ScoreInput::List(_)));
    }

    #[test]
    fn a_certificate_number_is_trimmed_and_its_date_not_in_the_future() {
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 6, d).unwrap();
        assert_eq!(check_certificate("  A1 ", day(1), day(1)).unwrap(), "A1");
        let problems = check_certificate(" ", day(2), day(1)).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.0).collect();
        assert_eq!(fields, ["number", "obtained_on"]);
        assert!(check_certificate(&"x".repeat(41), day(1), day(1)).is_err());
        assert!(check_certificate(&"证".repeat(40), day(1), day(1)).is_ok());
    }

    #[test]
    fn a_review_decides_every_course_once_and_gives_reasons_for_rejections() {
        let choice = |code: &str, decision, reason: Option<&str>| ReviewChoice {
            course_code: code.into(),
            decision,
            reason: reason.map(str::to_owned),
        };
        let courses = ["03708", "03709", "00015"];
        let good = [
            choice(" 03708 ", Decision::Approved, None),
            choice("03709", Decision::Approved, Some("  ")),
            choice("00015", Decision::Rejected, Some("成绩不符")),
        ];
        assert!(check_review(&courses, &good).is_empty());
        assert_eq!(good[1].reason(), None);
        let bad = [
            choice("03708", Decision::Approved, None),
            choice("03708", Decision::Rejected, Some(" ")),
            choice("99999", Decision::Approved, Some(&"长".repeat(1001))),
        ];
        let got: Vec<(String, &str)> = check_review(&courses, &bad)
            .into_iter()
            .map(|(f, v)| (f, v.code))
            .collect();
        assert_eq!(
            got,
            [
                ("items[1].course_code".to_owned(), "review.duplicate"),
                ("items[1].reason".to_owned(), "review.reason_required"),
                ("items[2].course_code".to_owned(), "review.unknown_course"),
                ("items[2].reason".to_owned(), "reason.length"),
                ("items".to_owned(), "review.incomplete"),
            ]
        );
    }

    #[test]
    fn a_return_reason_is_trimmed_and_one_to_a_thousand_characters() {
        assert_eq!(check_return_reason("  请核对  ").unwrap(), "请核对");
        assert_eq!(check_return_reason(" ").unwrap_err().code, "reason.length");
        assert!(check_return_reason(&"长".repeat(1000)).is_ok());
        assert!(check_return_reason(&"长".repeat(1001)).is_err());
        assert_eq!(Kind::parse("certificate"), Some(Kind::Certificate));
        assert_eq!(Kind::parse("other"), None);
    }

    #[test]
    fn the_seed_pharmacy_degree_application_passes_and_reports_what_is_missing() {
        let catalog = valid();
        let route = prior(DegreeLevel::Associate, "药学");
        let items = [
            tick("03708"),
            tick("03709"),
            item("00015", Some("大学英语"), ScoreInput::Text("60;65;70")),
        ];
        let a = assess(&catalog, &pharmacy(), &route, &items, &[]).unwrap();
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        assert_eq!(a.checked.len(), 3);
        assert_eq!(
            a.checked[2].scores.as_ref().unwrap().canonical_text(),
            "60;65;70"
        );
        assert_eq!(codes(&a.expected), ["03708", "03709", "00015", "03029"]);
        assert_eq!(codes(&a.missing), ["03029"]);
        let err = check_confirmed_missing(&a, &[]).unwrap_err();
        assert_eq!(err.code, "selection.incomplete");
        assert!(
            err.en
                .contains("you can apply for 4 courses; you selected 3")
        );
        let c03029 = CourseCode::parse("03029").unwrap();
        assert!(check_confirmed_missing(&a, &[c03029]).is_ok());
        let extra = CourseCode::parse("00015").unwrap();
        assert!(check_confirmed_missing(&a, &[c03029, extra]).is_err());
    }

    #[test]
    fn item_problems_point_at_their_fields() {
        let catalog = valid();
        let route = prior(DegreeLevel::Associate, "药学");
        let items = [
            item("03708", Some("近代史"), ScoreInput::Missing),
            item("00015", Some("大学英语"), ScoreInput::Text("60；65；70")),
            item("00015", None, ScoreInput::Missing),
            tick("00018"),
            tick("1234"),
            item("03029", Some("药理学"), ScoreInput::List(&[59])),
        ];
        let a = assess(&catalog, &pharmacy(), &route, &items, &[]).unwrap();
        let got: Vec<(String, &str)> = a
            .errors
            .iter()
            .map(|p| (p.field.path(p.index), p.violation.code))
            .collect();
        assert_eq!(
            got,
            [
                ("items[0]".to_owned(), "evidence.not_allowed"),
                ("items[1].score_text".to_owned(), "score.separator"),
                ("items[2].course_code".to_owned(), "course.duplicate"),
                ("items[3].course_code".to_owned(), "course.not_certifiable"),
                ("items[4].course_code".to_owned(), "course.code_format"),
                ("items[5].scores".to_owned(), "score.below_pass_mark"),
            ]
        );
    }

    #[test]
    fn a_course_held_elsewhere_is_a_duplicate_and_not_missing() {
        let catalog = valid();
        let route = prior(DegreeLevel::Bachelor, "药学");
        let held = [HeldCourse {
            course_code: CourseCode::parse("03708").unwrap(),
            certified: true,
        }];
        let a = assess(&catalog, &pharmacy(), &route, &[tick("03708")], &held).unwrap();
        assert_eq!(a.errors[0].violation.code, "course.duplicate");
        assert!(a.errors[0].violation.en.contains("already certified"));
        assert_eq!(codes(&a.missing), ["03709", "00015"]);
    }

    #[test]
    fn certificates_certify_only_their_courses_and_take_no_evidence() {
        let catalog = valid();
        let ncre1 = RouteChoice::Certificate(CertificateKind::Ncre1);
        let a = assess(
            &catalog,
            &pharmacy(),
            &ncre1,
            &[tick("00018"), tick("00019")],
            &[],
        )
        .unwrap();
        assert!(a.errors.is_empty());
        assert!(a.missing.is_empty());
        let a = assess(
            &catalog,
            &public_administration(),
            &ncre1,
            &[tick("00051")],
            &[],
        )
        .unwrap();
        assert_eq!(a.errors[0].violation.code, "course.not_certifiable");
        assert!(a.expected.is_empty());
        let ncre2 = RouteChoice::Certificate(CertificateKind::Ncre2);
        let a = assess(
            &catalog,
            &public_administration(),
            &ncre2,
            &[item("00051", Some("计算机"), ScoreInput::Missing)],
            &[],
        )
        .unwrap();
        assert_eq!(a.errors[0].violation.code, "evidence.not_allowed");
        assert_eq!(codes(&a.missing), ["00052"]);
    }

    #[test]
    fn review_outcome_follows_the_decisions() {
        use Decision::*;
        assert_eq!(review_outcome(&[]), None);
        assert_eq!(
            review_outcome(&[Approved, Approved]),
            Some(ApplicationStatus::Approved)
        );
        assert_eq!(
            review_outcome(&[Approved, Rejected]),
            Some(ApplicationStatus::PartiallyApproved)
        );
        assert_eq!(
            review_outcome(&[Rejected]),
            Some(ApplicationStatus::Rejected)
        );
    }

    #[test]
    fn statuses_round_trip_and_only_draft_and_returned_are_editable() {
        for s in ApplicationStatus::ALL {
            assert_eq!(ApplicationStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                s.is_editable(),
                matches!(s, ApplicationStatus::Draft | ApplicationStatus::Returned)
            );
        }
    }
}
