//! What a candidate can do about each course of their major's plan: certify it by
//! their prior degree, by a certificate, or sit its exam (R7–R16); and the per-item
//! checks of an application.

use serde::Serialize;

use crate::catalog::{
    CertificateKind, CertificateRule, DegreeRule, Evidence, ExamChannel, MajorCode, ValidCatalog,
};
use crate::certificate_number::{DegreeLevel, EducationType, require_regular};
use crate::score::ScoreEntry;
use crate::{CourseCode, Violation};

/// The facts of a candidate's prior degree that decide degree-based certification.
/// (Whether it is *effective*, R5/R7, is the caller's check.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorDegreeFacts {
    /// Associate or bachelor.
    pub level: DegreeLevel,
    /// The prior degree's major name, as on the certificate.
    pub major_name: String,
    /// Regular, adult, self-study or online; only regular counts (R7).
    pub education_type: EducationType,
}

/// The primary route for a course, chosen in this order: degree, certificate, exam.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// Certifiable by the prior degree (R7–R12).
    Degree,
    /// Certifiable by a non-degree certificate (R13–R15).
    Certificate,
    /// Must be examined (R16).
    Exam,
}

/// Where a course of the plan stands for a candidate (their progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// Approved in a review: no exam needed.
    Certified,
    /// In a submitted application, waiting for review.
    Pending,
    /// Not applied for yet, but the prior degree or a certificate can certify it.
    Certifiable,
    /// Must be examined (R16).
    Exam,
}

impl Standing {
    /// A course held by an application (`Some(approved)`) or not (`None`), whose
    /// primary route is `route`: approved is certified, any other holding pending;
    /// not held, it is examined or certifiable by its route.
    pub fn of(held: Option<bool>, route: Route) -> Self {
        match (held, route) {
            (Some(true), _) => Standing::Certified,
            (Some(false), _) => Standing::Pending,
            (None, Route::Exam) => Standing::Exam,
            (None, _) => Standing::Certifiable,
        }
    }

    /// The label shown to candidates, in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            Standing::Certified => "已认证",
            Standing::Pending => "审核中",
            Standing::Certifiable => "可申请认证",
            Standing::Exam => "须参加考试",
        }
    }
}

/// The degree-based option for a course: which rule, and the evidence it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DegreeOption {
    /// The degree rule's id.
    pub rule_id: String,
    /// `{"evidence":"none"}` or `{"evidence":"course_and_scores", …}` flattened in.
    #[serde(flatten)]
    pub evidence: Evidence,
}

/// One course of the plan and how it can be dealt with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    /// The course.
    pub course_code: CourseCode,
    /// Its name.
    pub course_name: String,
    /// Primary route: degree if possible, else certificate, else exam.
    pub route: Route,
    /// The degree option, if the prior degree certifies the course.
    pub degree: Option<DegreeOption>,
    /// Certificates that certify the course for this major (may coexist with a
    /// degree option, e.g. English II by CET-4/6).
    pub certificate_kinds: Vec<CertificateKind>,
    /// Where the exam is registered if the course is not certified (R16).
    pub exam_channel: ExamChannel,
    /// Why, in Chinese.
    pub reason_zh: String,
    /// Why, in English.
    pub reason_en: String,
    /// The degree rule's id when the route is degree.
    pub rule_id: Option<String>,
}

/// A course the prior degree certifies: one of the "expected courses" (R9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DegreeCourse {
    /// The course.
    pub course_code: CourseCode,
    /// Its name.
    pub course_name: String,
    /// The degree rule's id.
    pub rule_id: String,
    /// The evidence it needs.
    #[serde(flatten)]
    pub evidence: Evidence,
}

fn unknown_major(major: &MajorCode) -> Violation {
    Violation::new(
        "major.unknown",
        format!("专业 {major} 不存在"),
        format!("there is no major {major}"),
    )
}

fn not_certifiable(zh: String, en: String) -> Violation {
    Violation::new("course.not_certifiable", zh, en)
}

fn kinds_zh(kinds: &[CertificateKind]) -> String {
    kinds
        .iter()
        .map(|k| k.label_zh())
        .collect::<Vec<_>>()
        .join("或")
}

fn kinds_en(kinds: &[CertificateKind]) -> String {
    kinds
        .iter()
        .map(|k| k.label_en())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The degree rule the prior degree meets for a course, if any (R7, R8): the prior
/// degree must be regular and match the rule's level and major constraints.
fn degree_rule<'c>(
    catalog: &'c ValidCatalog,
    major: &MajorCode,
    course: &CourseCode,
    prior: Option<&PriorDegreeFacts>,
) -> Option<&'c DegreeRule> {
    let prior = prior.filter(|p| p.education_type == EducationType::Regular)?;
    catalog.matching_degree_rule(major, course, prior.level, &prior.major_name)
}

/// Describes the evidence a degree rule needs, in both languages.
fn evidence_text(evidence: &Evidence) -> (String, String) {
    match evidence {
        // R10
        Evidence::None => (
            "可凭学历证书认证，只需勾选，无需填写已学课程和成绩".to_owned(),
            "certifiable by your degree: tick it, no evidence needed".to_owned(),
        ),
        // R11, R12
        Evidence::CourseAndScores {
            expected_names,
            score_terms,
            pass_mark,
        } => (
            format!(
                "可凭学历证书认证：填写已学课程名称（{}）及成绩单上的成绩（{score_terms}项，以英文分号 ; 分隔，每项不低于{pass_mark}分）",
                expected_names.join("、")
            ),
            format!(
                "certifiable by your degree: give the learned course name ({}) and its transcript score ({score_terms} term(s), separated by ASCII ;, each at least {pass_mark})",
                expected_names.join(", ")
            ),
        ),
    }
}

/// Why there is no degree option, in both languages.
fn no_degree_text(
    catalog: &ValidCatalog,
    major: &MajorCode,
    course: &CourseCode,
    prior: Option<&PriorDegreeFacts>,
) -> (String, String) {
    let rules = catalog.degree_rules_for(major, course);
    match prior {
        _ if rules.is_empty() => (
            "附表未列此课程，不能凭学历证书认证".to_owned(),
            "the annex table does not list it for degree-based certification".to_owned(),
        ),
        None => (
            "未提供前置学历，不能凭学历证书认证".to_owned(),
            "no prior degree given, so no degree-based certification".to_owned(),
        ),
        Some(p) if p.education_type != EducationType::Regular => (
            format!(
                "前置学历为“{}”，只有普通高等教育学历可以认证",
                p.education_type.label_zh()
            ),
            format!(
                "the prior degree is {}; only a regular degree certifies courses",
                p.education_type.label_en()
            ),
        ),
        Some(p) => (
            format!(
                "前置学历（{}，{}）不符合附表对此课程的学历层次或专业要求",
                p.level.label_zh(),
                p.major_name.trim()
            ),
            format!(
                "the prior degree ({}, {}) does not meet the table's level or major condition for this course",
                p.level.label_en(),
                p.major_name.trim()
            ),
        ),
    }
}

/// [`eligibility`] with a recorded prior degree of `status`: only an effective one
/// gives degree routes (R7). For any other status the answer is the one without a
/// prior degree, and the reason of each course the degree would certify says so
/// ("once effective it certifies this course").
pub fn eligibility_of_recorded(
    catalog: &ValidCatalog,
    major: &MajorCode,
    prior: &PriorDegreeFacts,
    status: crate::prior_degree::PriorDegreeStatus,
) -> Result<Vec<Eligibility>, Violation> {
    if status == crate::prior_degree::PriorDegreeStatus::Effective {
        return eligibility(catalog, major, Some(prior));
    }
    let would = eligibility(catalog, major, Some(prior))?;
    let mut entries = eligibility(catalog, major, None)?;
    for (entry, hypothetical) in entries.iter_mut().zip(would) {
        if hypothetical.degree.is_some() {
            entry.reason_zh = format!(
                "前置学历尚未生效（当前状态：{}），生效后可凭学历证书认证此课程；目前：{}",
                status.label_zh(),
                entry.reason_zh
            );
            entry.reason_en = format!(
                "the prior degree is not effective yet (it is {}): once effective it certifies this course; for now: {}",
                status.as_str(),
                entry.reason_en
            );
        }
    }
    Ok(entries)
}

/// For every course of the major's plan, in plan order: the degree option (only with
/// a regular prior degree that a rule matches), the certificate kinds, where the exam
/// is registered, the primary route and a human reason (R7–R16).
///
/// `major.unknown` if there is no such major.
pub fn eligibility(
    catalog: &ValidCatalog,
    major: &MajorCode,
    prior: Option<&PriorDegreeFacts>,
) -> Result<Vec<Eligibility>, Violation> {
    let major_entry = catalog.major(major).ok_or_else(|| unknown_major(major))?;
    let mut out = Vec::with_capacity(major_entry.plan.len());
    for code in &major_entry.plan {
        // A valid catalogue has every plan course.
        let Some(course) = catalog.course(code) else {
            continue;
        };
        let degree = degree_rule(catalog, major, code, prior).map(|r| DegreeOption {
            rule_id: r.id.clone(),
            evidence: r.evidence.clone(),
        });
        let certificate_kinds = catalog.certificate_kinds_for(major, code);
        let exam_channel = course.exam_channel;
        let exam_zh = format!("须参加考试（{}）", exam_channel.label_zh());
        let exam_en = format!("the exam must be sat ({})", exam_channel.label_en());
        let (route, reason_zh, reason_en) = if let Some(option) = &degree {
            let (mut zh, mut en) = evidence_text(&option.evidence);
            if !certificate_kinds.is_empty() {
                zh.push_str(&format!("；也可凭{}证书认证", kinds_zh(&certificate_kinds)));
                en.push_str(&format!(
                    "; a {} certificate also certifies it",
                    kinds_en(&certificate_kinds)
                ));
            }
            (Route::Degree, zh, en)
        } else {
            let (why_zh, why_en) = no_degree_text(catalog, major, code, prior);
            if certificate_kinds.is_empty() {
                (
                    Route::Exam,
                    format!("{why_zh}；也无证书可认证，{exam_zh}"),
                    format!("{why_en}; no certificate certifies it either: {exam_en}"),
                )
            } else {
                // R13–R15
                (
                    Route::Certificate,
                    format!(
                        "{why_zh}；可凭{}证书认证（非学历证书课程认证），否则{exam_zh}",
                        kinds_zh(&certificate_kinds)
                    ),
                    format!(
                        "{why_en}; a {} certificate certifies it (certificate-based certification), otherwise {exam_en}",
                        kinds_en(&certificate_kinds)
                    ),
                )
            }
        };
        out.push(Eligibility {
            course_code: *code,
            course_name: course.name.clone(),
            route,
            rule_id: degree.as_ref().map(|d| d.rule_id.clone()),
            degree,
            certificate_kinds,
            exam_channel,
            reason_zh,
            reason_en,
        });
    }
    Ok(out)
}

/// The courses a degree application must list (R9): every course of the plan the
/// prior degree certifies, in plan order. `major.unknown`; `prior_degree.not_regular`
/// (R7).
pub fn certifiable_by_degree(
    catalog: &ValidCatalog,
    major: &MajorCode,
    prior: &PriorDegreeFacts,
) -> Result<Vec<DegreeCourse>, Violation> {
    let major_entry = catalog.major(major).ok_or_else(|| unknown_major(major))?;
    require_regular(prior.education_type)?;
    Ok(major_entry
        .plan
        .iter()
        .filter_map(|code| {
            let rule = degree_rule(catalog, major, code, Some(prior))?;
            Some(DegreeCourse {
                course_code: *code,
                course_name: catalog.course(code)?.name.clone(),
                rule_id: rule.id.clone(),
                evidence: rule.evidence.clone(),
            })
        })
        .collect())
}

/// The degree rule for one item of a degree application: `major.unknown`,
/// `prior_degree.not_regular` (R7), or `course.not_certifiable` when the course is not
/// in the plan or the prior degree does not certify it (R8).
pub fn degree_rule_for_item<'c>(
    catalog: &'c ValidCatalog,
    major: &MajorCode,
    prior: &PriorDegreeFacts,
    course: &CourseCode,
) -> Result<&'c DegreeRule, Violation> {
    catalog.major(major).ok_or_else(|| unknown_major(major))?;
    require_regular(prior.education_type)?;
    if !catalog.plan_has(major, course) {
        return Err(not_certifiable(
            format!("课程 {course} 不在专业 {major} 的课程计划中"),
            format!("course {course} is not in the plan of major {major}"),
        ));
    }
    degree_rule(catalog, major, course, Some(prior)).ok_or_else(|| {
        let (zh, en) = no_degree_text(catalog, major, course, Some(prior));
        not_certifiable(
            format!("课程 {course} 不能凭学历证书认证：{zh}"),
            format!("course {course} cannot be certified by degree: {en}"),
        )
    })
}

/// The scores of an item as the request gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreInput<'a> {
    /// Neither `scores` nor `score_text` given.
    Missing,
    /// `score_text`, e.g. `60;65;70`.
    Text(&'a str),
    /// `scores`, e.g. `[60, 65, 70]`.
    List(&'a [i64]),
}

/// A degree item that passed [`check_item_by_degree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DegreeItem {
    /// The learned course name, trimmed (none for evidence-free courses).
    pub learned_course_name: Option<String>,
    /// The parsed scores (none for evidence-free courses).
    pub scores: Option<ScoreEntry>,
    /// Things to show without refusing, e.g. `evidence.name_unexpected`.
    pub warnings: Vec<Violation>,
}

/// Compares course names ignoring white space and full-width/half-width forms
/// (`英语（二）` = `英语(二)`).
fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Checks the evidence of one degree item against its rule's evidence: R10
/// (`evidence.not_allowed` when anything is given for 03708/03709), R11
/// (`evidence.required` when the learned course name or the scores are missing), R12
/// (`score.*`). A learned name that is not among the expected names is a warning
/// (`evidence.name_unexpected`), not an error: staff decide.
pub fn check_item_by_degree(
    evidence: &Evidence,
    learned_course_name: Option<&str>,
    scores: ScoreInput<'_>,
) -> Result<DegreeItem, Violation> {
    let name = learned_course_name.map(str::trim).filter(|n| !n.is_empty());
    match evidence {
        // R10
        Evidence::None => {
            let scores_given = match scores {
                ScoreInput::Missing => false,
                ScoreInput::Text(t) => !t.trim().is_empty(),
                ScoreInput::List(l) => !l.is_empty(),
            };
            if name.is_some() || scores_given {
                return Err(Violation::new(
                    "evidence.not_allowed",
                    "中国近代史纲要（03708）和马克思主义基本原理概论（03709）只需勾选，不要填写已学课程名称和成绩",
                    "03708 and 03709 are only ticked: give no learned course name and no scores",
                ));
            }
            Ok(DegreeItem {
                learned_course_name: None,
                scores: None,
                warnings: Vec::new(),
            })
        }
        // R11, R12
        Evidence::CourseAndScores { expected_names, .. } => {
            let Some(name) = name else {
                return Err(Violation::new(
                    "evidence.required",
                    format!(
                        "须填写已学课程名称（附表列出的是：{}）",
                        expected_names.join("、")
                    ),
                    format!(
                        "the learned course name is required (the table lists: {})",
                        expected_names.join(", ")
                    ),
                ));
            };
            let req = evidence
                .score_requirement()
                .expect("course_and_scores has a score requirement");
            let entry = match scores {
                ScoreInput::Missing => {
                    return Err(Violation::new(
                        "evidence.required",
                        format!("须填写该课程在成绩单上的成绩（{}项）", req.terms),
                        format!("the transcript score is required ({} term(s))", req.terms),
                    ));
                }
                ScoreInput::Text(text) => ScoreEntry::parse_text(text, &req)?,
                ScoreInput::List(list) => ScoreEntry::from_scores(list, &req)?,
            };
            let key = name_key(name);
            let mut warnings = Vec::new();
            if !expected_names.iter().any(|e| name_key(e) == key) {
                warnings.push(Violation::new(
                    "evidence.name_unexpected",
                    format!(
                        "已学课程名称“{}”与附表列出的名称（{}）不一致，请核对，审核时将人工确认",
                        crate::course::shorten(name),
                        expected_names.join("、")
                    ),
                    format!(
                        "the learned course name \"{}\" is not one the table lists ({}); check it, staff will confirm it",
                        crate::course::shorten(name),
                        expected_names.join(", ")
                    ),
                ));
            }
            Ok(DegreeItem {
                learned_course_name: Some(name.to_owned()),
                scores: Some(entry),
                warnings,
            })
        }
    }
}

/// Checks one item of a certificate application (R8, R13–R15): the course must be in
/// the major's plan and certifiable by this kind of certificate for this major, else
/// `course.not_certifiable` (naming the certificates that would do, if any);
/// `major.unknown`. Gives the rule that applies.
pub fn check_item_by_certificate<'c>(
    catalog: &'c ValidCatalog,
    kind: CertificateKind,
    major: &MajorCode,
    course: &CourseCode,
) -> Result<&'c CertificateRule, Violation> {
    catalog.major(major).ok_or_else(|| unknown_major(major))?;
    if !catalog.plan_has(major, course) {
        return Err(not_certifiable(
            format!("课程 {course} 不在专业 {major} 的课程计划中"),
            format!("course {course} is not in the plan of major {major}"),
        ));
    }
    let rules = catalog.certificate_rules_for(major, course);
    if let Some(rule) = rules.iter().find(|r| r.kind == kind) {
        return Ok(rule);
    }
    let kinds = catalog.certificate_kinds_for(major, course);
    let (zh, en) = if kinds.is_empty() {
        (
            "该课程不能凭证书认证".to_owned(),
            "no certificate certifies it".to_owned(),
        )
    } else {
        (
            format!("该课程只能凭{}证书认证", kinds_zh(&kinds)),
            format!("only a {} certificate certifies it", kinds_en(&kinds)),
        )
    };
    Err(not_certifiable(
        format!(
            "{}不能认证专业 {major} 的课程 {course}：{zh}",
            kind.label_zh()
        ),
        format!(
            "{} does not certify course {course} of major {major}: {en}",
            kind.label_en()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::sample::*;
    use proptest::prelude::*;

    use CertificateKind::*;

    fn regular(level: DegreeLevel, major: &str) -> PriorDegreeFacts {
        PriorDegreeFacts {
            level,
            major_name: major.into(),
            education_type: EducationType::Regular,
        }
    }

    fn pharmacy_associate() -> PriorDegreeFacts {
        regular(DegreeLevel::Associate, "药学")
    }

    fn entry<'a>(list: &'a [Eligibility], code: &str) -> &'a Eligibility {
        list.iter()
            .find(|e| e.course_code.as_str() == code)
            .unwrap_or_else(|| panic!("{code} not in the list"))
    }

    #[test]
    fn a_recorded_degree_not_yet_effective_gives_no_degree_route_but_says_what_it_would() {
        use crate::prior_degree::PriorDegreeStatus;
        let catalog = valid();
        let prior = pharmacy_associate();
        let effective =
            eligibility_of_recorded(&catalog, &pharmacy(), &prior, PriorDegreeStatus::Effective)
                .unwrap();
        assert_eq!(entry(&effective, "03708").route, Route::Degree);
        let pending =
            eligibility_of_recorded(&catalog, &pharmacy(), &prior, PriorDegreeStatus::Submitted)
                .unwrap();
        let history = entry(&pending, "03708");
        assert_eq!(history.route, Route::Exam);
        assert!(
            history
                .reason_zh
                .starts_with("前置学历尚未生效（当前状态：已提交")
        );
        assert!(history.reason_en.contains("it is submitted"));
        let basics = entry(&pending, "00018");
        assert!(
            !basics.reason_zh.contains("尚未生效"),
            "a course the degree never certifies"
        );
    }

    #[test]
    fn pharmacy_computer_courses_are_certificate_or_exam_never_degree() {
        let catalog = valid();
        let list = eligibility(&catalog, &pharmacy(), Some(&pharmacy_associate())).unwrap();
        let basics = entry(&list, "00018");
        assert_eq!(basics.course_name, "计算机基础");
        assert_eq!(basics.route, Route::Certificate);
        assert_eq!(basics.degree, None);
        assert_eq!(basics.rule_id, None);
        assert_eq!(basics.certificate_kinds, [Ncre1, Ncre2]);
        assert_eq!(basics.exam_channel, ExamChannel::Platform);
        assert!(
            basics
                .reason_zh
                .contains("全国计算机等级考试一级或全国计算机等级考试二级")
        );
        assert!(basics.reason_en.contains("NCRE level 1 or NCRE level 2"));
        let practice = entry(&list, "00019");
        assert_eq!(practice.route, Route::Certificate);
        assert_eq!(practice.degree, None);
        assert_eq!(practice.certificate_kinds, [Ncre1, Ncre2]);
        assert_eq!(practice.exam_channel, ExamChannel::SchoolOffice);
        assert!(practice.reason_zh.contains("通过学校自考办报考"));
    }

    #[test]
    fn modern_history_and_marxism_are_degree_with_no_evidence() {
        let catalog = valid();
        let list = eligibility(&catalog, &pharmacy(), Some(&pharmacy_associate())).unwrap();
        for code in ["03708", "03709"] {
            let e = entry(&list, code);
            assert_eq!(e.route, Route::Degree, "{code}");
            assert_eq!(e.degree.as_ref().unwrap().evidence, Evidence::None);
            assert_eq!(
                e.rule_id.as_deref(),
                Some(format!("100701-{code}").as_str())
            );
        }
    }

    #[test]
    fn english_ii_is_degree_with_college_english_three_terms_and_also_cet() {
        let catalog = valid();
        let list = eligibility(&catalog, &pharmacy(), Some(&pharmacy_associate())).unwrap();
        let english = entry(&list, "00015");
        assert_eq!(english.course_name, "英语（二）");
        assert_eq!(english.route, Route::Degree);
        assert_eq!(
            english.degree.as_ref().unwrap().evidence,
            Evidence::CourseAndScores {
                expected_names: vec!["大学英语".into()],
                score_terms: 3,
                pass_mark: 60
            }
        );
        assert_eq!(english.certificate_kinds, [Cet4, Cet6]);
        assert!(
            english.reason_zh.contains("大学英语"),
            "{}",
            english.reason_zh
        );
    }

    #[test]
    fn public_administration_computer_courses_take_ncre2_but_not_ncre1() {
        let catalog = valid();
        let major = public_administration();
        let list = eligibility(&catalog, &major, Some(&pharmacy_associate())).unwrap();
        for code in ["00051", "00052"] {
            assert_eq!(entry(&list, code).route, Route::Certificate);
            assert_eq!(entry(&list, code).certificate_kinds, [Ncre2]);
            assert!(check_item_by_certificate(&catalog, Ncre2, &major, &course(code)).is_ok());
            let err =
                check_item_by_certificate(&catalog, Ncre1, &major, &course(code)).unwrap_err();
            assert_eq!(err.code, "course.not_certifiable");
            assert!(err.en.contains("only a NCRE level 2"), "{}", err.en);
        }
        assert_eq!(
            entry(&list, "00052").exam_channel,
            ExamChannel::SchoolOffice
        );
    }

    #[test]
    fn ncre1_certifies_pharmacy_computer_courses() {
        let catalog = valid();
        for code in ["00018", "00019"] {
            for kind in [Ncre1, Ncre2] {
                let rule =
                    check_item_by_certificate(&catalog, kind, &pharmacy(), &course(code)).unwrap();
                assert_eq!(rule.kind, kind);
            }
            let err =
                check_item_by_certificate(&catalog, Cet4, &pharmacy(), &course(code)).unwrap_err();
            assert_eq!(err.code, "course.not_certifiable");
        }
    }

    #[test]
    fn a_certificate_outside_the_plan_is_not_certifiable() {
        let catalog = valid();
        let err =
            check_item_by_certificate(&catalog, Ncre2, &public_administration(), &course("00018"))
                .unwrap_err();
        assert_eq!(err.code, "course.not_certifiable");
        assert!(err.en.contains("not in the plan"));
        let err = check_item_by_certificate(&catalog, Ncre2, &major("999"), &course("00018"))
            .unwrap_err();
        assert_eq!(err.code, "major.unknown");
    }

    #[test]
    fn a_candidate_without_a_prior_degree_gets_no_degree_routes() {
        let catalog = valid();
        for m in [pharmacy(), public_administration(), major("090502")] {
            let list = eligibility(&catalog, &m, None).unwrap();
            assert!(
                list.iter()
                    .all(|e| e.route != Route::Degree && e.degree.is_none())
            );
        }
        let list = eligibility(&catalog, &pharmacy(), None).unwrap();
        let history = entry(&list, "03708");
        assert_eq!(history.route, Route::Exam);
        assert!(
            history.reason_zh.contains("未提供前置学历"),
            "{}",
            history.reason_zh
        );
        assert_eq!(entry(&list, "00015").route, Route::Certificate);
    }

    #[test]
    fn a_prior_degree_that_is_not_regular_gets_no_degree_routes() {
        let catalog = valid();
        let adult = PriorDegreeFacts {
            education_type: EducationType::Adult,
            ..pharmacy_associate()
        };
        let list = eligibility(&catalog, &pharmacy(), Some(&adult)).unwrap();
        assert!(list.iter().all(|e| e.degree.is_none()));
        assert!(entry(&list, "03708").reason_zh.contains("成人"));
        assert_eq!(
            certifiable_by_degree(&catalog, &pharmacy(), &adult)
                .unwrap_err()
                .code,
            "prior_degree.not_regular"
        );
        assert_eq!(
            degree_rule_for_item(&catalog, &pharmacy(), &adult, &course("03708"))
                .unwrap_err()
                .code,
            "prior_degree.not_regular"
        );
    }

    #[test]
    fn the_expected_courses_depend_on_the_prior_degree() {
        let catalog = valid();
        let codes = |prior: &PriorDegreeFacts| -> Vec<String> {
            certifiable_by_degree(&catalog, &pharmacy(), prior)
                .unwrap()
                .into_iter()
                .map(|c| c.course_code.to_string())
                .collect()
        };
        assert_eq!(
            codes(&pharmacy_associate()),
            ["03708", "03709", "00015", "03029"]
        );
        assert_eq!(
            codes(&regular(DegreeLevel::Bachelor, "药学")),
            ["03708", "03709", "00015"]
        );
        assert_eq!(
            codes(&regular(DegreeLevel::Associate, "护理")),
            ["03708", "03709", "00015"]
        );
        let list = eligibility(
            &catalog,
            &pharmacy(),
            Some(&regular(DegreeLevel::Associate, "护理")),
        )
        .unwrap();
        let pharmacology = entry(&list, "03029");
        assert_eq!(pharmacology.route, Route::Exam);
        assert!(pharmacology.reason_en.contains("does not meet"));
    }

    #[test]
    fn degree_items_outside_the_table_are_not_certifiable() {
        let catalog = valid();
        let prior = pharmacy_associate();
        for code in ["00018", "00051"] {
            let err =
                degree_rule_for_item(&catalog, &pharmacy(), &prior, &course(code)).unwrap_err();
            assert_eq!(err.code, "course.not_certifiable", "{code}");
        }
        let rule = degree_rule_for_item(&catalog, &pharmacy(), &prior, &course("00015")).unwrap();
        assert_eq!(rule.id, "100701-00015");
        assert_eq!(
            eligibility(&catalog, &major("999"), None).unwrap_err().code,
            "major.unknown"
        );
    }

    fn english_ii() -> Evidence {
        valid()
            .matching_degree_rule(
                &pharmacy(),
                &course("00015"),
                DegreeLevel::Associate,
                "药学",
            )
            .unwrap()
            .evidence
            .clone()
    }

    #[test]
    fn evidence_for_03708_and_03709_is_not_allowed() {
        let none = Evidence::None;
        assert!(check_item_by_degree(&none, None, ScoreInput::Missing).is_ok());
        assert!(check_item_by_degree(&none, Some(" "), ScoreInput::Text("")).is_ok());
        for (name, scores) in [
            (Some("中国近代史"), ScoreInput::Missing),
            (None, ScoreInput::Text("80")),
            (None, ScoreInput::List(&[80])),
        ] {
            let err = check_item_by_degree(&none, name, scores).unwrap_err();
            assert_eq!(err.code, "evidence.not_allowed");
        }
    }

    #[test]
    fn other_courses_require_the_learned_name_and_scores() {
        let ev = english_ii();
        let err = check_item_by_degree(&ev, None, ScoreInput::Text("60;65;70")).unwrap_err();
        assert_eq!(err.code, "evidence.required");
        assert!(err.zh.contains("大学英语"));
        let err = check_item_by_degree(&ev, Some("大学英语"), ScoreInput::Missing).unwrap_err();
        assert_eq!(err.code, "evidence.required");
        let err = check_item_by_degree(&ev, Some("大学英语"), ScoreInput::Text("")).unwrap_err();
        assert_eq!(err.code, "score.count");
    }

    #[test]
    fn english_ii_scores_are_checked_as_r12_says() {
        let ev = english_ii();
        let item =
            check_item_by_degree(&ev, Some(" 大学英语 "), ScoreInput::Text("60;65;70")).unwrap();
        assert_eq!(item.learned_course_name.as_deref(), Some("大学英语"));
        assert_eq!(item.scores.unwrap().scores(), &[60, 65, 70]);
        assert!(item.warnings.is_empty());
        let code = |s| {
            check_item_by_degree(&ev, Some("大学英语"), ScoreInput::Text(s))
                .unwrap_err()
                .code
        };
        assert_eq!(code("60；65；70"), "score.separator");
        assert_eq!(code("60;65"), "score.count");
        assert_eq!(code("60;65;170"), "score.range");
        assert_eq!(code("60;55;70"), "score.below_pass_mark");
        let item =
            check_item_by_degree(&ev, Some("大学英语"), ScoreInput::List(&[70, 71, 72])).unwrap();
        assert_eq!(item.scores.unwrap().canonical_text(), "70;71;72");
    }

    #[test]
    fn an_unexpected_learned_name_is_a_warning_not_an_error() {
        let ev = english_ii();
        let item =
            check_item_by_degree(&ev, Some("综合英语"), ScoreInput::Text("60;65;70")).unwrap();
        assert_eq!(item.warnings.len(), 1);
        assert_eq!(item.warnings[0].code, "evidence.name_unexpected");
        assert!(item.warnings[0].zh.contains("综合英语"));
        let paren = Evidence::CourseAndScores {
            expected_names: vec!["英语（二）".into()],
            score_terms: 1,
            pass_mark: 60,
        };
        let item = check_item_by_degree(&paren, Some("英语 (二)"), ScoreInput::Text("60")).unwrap();
        assert!(item.warnings.is_empty());
    }

    #[test]
    fn eligibility_serializes_with_lowercase_routes_and_flattened_evidence() {
        let catalog = valid();
        let list = eligibility(&catalog, &pharmacy(), Some(&pharmacy_associate())).unwrap();
        let json = serde_json::to_value(entry(&list, "00015")).unwrap();
        assert_eq!(json["route"], "degree");
        assert_eq!(json["degree"]["evidence"], "course_and_scores");
        assert_eq!(json["degree"]["score_terms"], 3);
        assert_eq!(json["certificate_kinds"][0], "cet4");
        assert_eq!(json["exam_channel"], "platform");
        let json = serde_json::to_value(entry(&list, "00019")).unwrap();
        assert_eq!(json["route"], "certificate");
        assert_eq!(json["exam_channel"], "school_office");
        assert!(json["degree"].is_null());
    }

    fn prior() -> impl Strategy<Value = Option<PriorDegreeFacts>> {
        let facts = (
            prop::sample::select(DegreeLevel::ALL.to_vec()),
            prop::sample::select(vec!["药学", "护理", "行政管理", " 药学 "]),
            prop::sample::select(EducationType::ALL.to_vec()),
        )
            .prop_map(|(level, name, education_type)| PriorDegreeFacts {
                level,
                major_name: name.to_owned(),
                education_type,
            });
        prop::option::of(facts)
    }

    proptest! {
        #[test]
        fn the_route_is_degree_then_certificate_then_exam(
            prior in prior(),
            m in prop::sample::select(vec!["100701", "120402", "090502"]),
        ) {
            let catalog = valid();
            let m = major(m);
            let list = eligibility(&catalog, &m, prior.as_ref()).unwrap();
            prop_assert_eq!(list.len(), catalog.major(&m).unwrap().plan.len());
            for e in &list {
                let expected = if e.degree.is_some() {
                    Route::Degree
                } else if !e.certificate_kinds.is_empty() {
                    Route::Certificate
                } else {
                    Route::Exam
                };
                prop_assert_eq!(e.route, expected);
                if e.degree.is_some() {
                    let p = prior.as_ref().unwrap();
                    prop_assert_eq!(p.education_type, EducationType::Regular);
                }
                prop_assert!(!e.reason_zh.is_empty() && !e.reason_en.is_empty());
            }
            if let Some(p) = prior.as_ref().filter(|p| p.education_type == EducationType::Regular) {
                let expected: Vec<CourseCode> = certifiable_by_degree(&catalog, &m, p)
                    .unwrap()
                    .into_iter()
                    .map(|c| c.course_code)
                    .collect();
                let degree: Vec<CourseCode> = list
                    .iter()
                    .filter(|e| e.route == Route::Degree)
                    .map(|e| e.course_code)
                    .collect();
                prop_assert_eq!(expected, degree);
            }
        }

        #[test]
        fn any_passing_scores_certify_english_ii(scores in proptest::collection::vec(60i64..=100, 3)) {
            let item = check_item_by_degree(&english_ii(), Some("大学英语"), ScoreInput::List(&scores)).unwrap();
            let text = item.scores.unwrap().canonical_text();
            let again = check_item_by_degree(&english_ii(), Some("大学英语"), ScoreInput::Text(&text)).unwrap();
            prop_assert_eq!(again.scores.unwrap().canonical_text(), text);
        }
    }

    #[test]
    fn a_course_stands_by_its_holding_first_and_its_route_second() {
        assert_eq!(Standing::of(Some(true), Route::Exam), Standing::Certified);
        assert_eq!(Standing::of(Some(false), Route::Degree), Standing::Pending);
        assert_eq!(Standing::of(None, Route::Exam), Standing::Exam);
        assert_eq!(
            Standing::of(None, Route::Certificate),
            Standing::Certifiable
        );
        assert_eq!(Standing::of(None, Route::Degree), Standing::Certifiable);
    }
}
