//! A candidate's prior degree (前置学历) and its state machine (R3–R7).
//!
//! ```text
//! draft ──submit──▶ submitted ──verify(effective)──▶ effective (final)
//!   ▲ edit            │
//!   └─────────────────┘◀──edit── rejected ◀──verify(rejected)──┘
//! ```
//!
//! The owner edits while `draft` or `rejected` and submits from either; only a
//! `submitted` degree is verified (R4, R5); `effective` is final and is the only
//! status that makes the degree usable for degree-based certification (R7).

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::Violation;
use crate::certificate_number::EducationType;
use crate::course::shorten;

/// The longest school or major name.
pub const NAME_MAX_CHARS: usize = 100;
/// The longest verification feedback.
pub const FEEDBACK_MAX_CHARS: usize = 1000;

/// Where a prior degree is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorDegreeStatus {
    /// Saved, not yet submitted (保存).
    Draft,
    /// Submitted, waiting for the verification feedback.
    Submitted,
    /// Verified (生效): usable for degree-based certification (R5, R7).
    Effective,
    /// Verification failed; the owner may edit and resubmit.
    Rejected,
}

crate::choice!(PriorDegreeStatus { PriorDegreeStatus::Draft => "draft", PriorDegreeStatus::Submitted => "submitted", PriorDegreeStatus::Effective => "effective", PriorDegreeStatus::Rejected => "rejected" });

/// Who is asking, as far as a prior degree's actions depend on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caller {
    /// The degree's holder.
    pub holder: bool,
    /// Someone who may record its verification result.
    pub verifier: bool,
}

/// Something a caller may do with a prior degree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorDegreeAction {
    /// Change its fields (`PATCH`).
    Modify,
    /// Submit it for verification.
    Submit,
    /// Record the verification result.
    Verify,
}

impl PriorDegreeAction {
    /// The stable API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Modify => "modify",
            Self::Submit => "submit",
            Self::Verify => "verify",
        }
    }
}

impl PriorDegreeStatus {
    /// Every status, in life order.
    pub const ALL: [Self; 4] = [
        Self::Draft,
        Self::Submitted,
        Self::Effective,
        Self::Rejected,
    ];

    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Effective => "effective",
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
            Self::Effective => "已生效",
            Self::Rejected => "核验未通过",
        }
    }

    /// Whether the owner may change the fields (R4: "modify").
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Rejected)
    }

    /// What a caller may do with a prior degree in this status now: its holder
    /// `modify` and `submit` it while it is editable and the prior-degree window is
    /// open (R4, R6); a verifier `verify` it while it is submitted (R5).
    pub fn allowed_actions(self, caller: Caller, window_open: bool) -> Vec<PriorDegreeAction> {
        let mut actions = Vec::new();
        if caller.holder && window_open && self.is_editable() {
            actions.extend([PriorDegreeAction::Modify, PriorDegreeAction::Submit]);
        }
        if caller.verifier && self == Self::Submitted {
            actions.push(PriorDegreeAction::Verify);
        }
        actions
    }

    /// The verification status this record status shows.
    pub fn verification(self) -> VerificationStatus {
        match self {
            Self::Draft => VerificationStatus::NotSubmitted,
            Self::Submitted => VerificationStatus::Pending,
            Self::Effective => VerificationStatus::Effective,
            Self::Rejected => VerificationStatus::Rejected,
        }
    }

    /// `state.conflict` unless the owner may edit now (R4).
    pub fn check_editable(self) -> Result<(), Violation> {
        if self.is_editable() {
            Ok(())
        } else {
            Err(conflict(
                self,
                "只有草稿或核验未通过的学历可以修改",
                "only a draft or a rejected prior degree can be modified",
            ))
        }
    }

    /// The status after the owner submits: `submitted`, from `draft` or `rejected`.
    pub fn submit(self) -> Result<Self, Violation> {
        if self.is_editable() {
            Ok(Self::Submitted)
        } else {
            Err(conflict(
                self,
                "只有草稿或核验未通过的学历可以提交",
                "only a draft or a rejected prior degree can be submitted",
            ))
        }
    }

    /// The status after a verification result: only a `submitted` degree is verified.
    pub fn verify(self, result: VerificationResult) -> Result<Self, Violation> {
        if self == Self::Submitted {
            Ok(match result {
                VerificationResult::Effective => Self::Effective,
                VerificationResult::Rejected => Self::Rejected,
            })
        } else {
            Err(conflict(
                self,
                "只有已提交（待核验）的学历可以登记核验结果",
                "only a submitted (pending) prior degree can receive a verification result",
            ))
        }
    }
}

fn conflict(status: PriorDegreeStatus, zh: &str, en: &str) -> Violation {
    Violation::new(
        "state.conflict",
        format!("{zh}；当前状态为“{}”", status.label_zh()),
        format!("{en}; it is {}", status.as_str()),
    )
}

/// The verification (学信网核验) side of a prior degree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// Not submitted yet.
    NotSubmitted,
    /// Submitted, waiting for feedback.
    Pending,
    /// Verified: effective.
    Effective,
    /// Verification failed.
    Rejected,
}

crate::choice!(VerificationStatus { VerificationStatus::NotSubmitted => "not_submitted", VerificationStatus::Pending => "pending", VerificationStatus::Effective => "effective", VerificationStatus::Rejected => "rejected" });

impl VerificationStatus {
    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::NotSubmitted => "未提交",
            Self::Pending => "待核验",
            Self::Effective => "有效",
            Self::Rejected => "未通过",
        }
    }
}

/// A verification result as recorded by staff or the verification service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationResult {
    /// The degree is verified.
    Effective,
    /// The degree could not be verified.
    Rejected,
}

crate::choice!(VerificationResult { VerificationResult::Effective => "effective", VerificationResult::Rejected => "rejected" });

impl VerificationResult {
    /// Parses `effective` or `rejected` (`verification.result` otherwise).
    pub fn parse(text: &str) -> Result<Self, Violation> {
        match text.trim() {
            "effective" => Ok(Self::Effective),
            "rejected" => Ok(Self::Rejected),
            other => Err(Violation::new(
                "verification.result",
                format!(
                    "核验结果须为 effective（有效）或 rejected（未通过），收到的是“{}”",
                    shorten(other)
                ),
                format!(
                    "a verification result is effective or rejected; got \"{}\"",
                    shorten(other)
                ),
            )),
        }
    }
}

/// The feedback kept with a result: optional for `effective`, required for
/// `rejected` (the candidate must learn what to correct), at most 1000 characters.
pub fn check_feedback(
    result: VerificationResult,
    feedback: Option<&str>,
) -> Result<Option<String>, Violation> {
    let feedback = feedback.map(str::trim).filter(|f| !f.is_empty());
    let chars = feedback.map_or(0, |f| f.chars().count());
    if chars > FEEDBACK_MAX_CHARS {
        return Err(Violation::new(
            "verification.feedback",
            format!("核验反馈不能超过{FEEDBACK_MAX_CHARS}个字符，收到{chars}个"),
            format!("feedback is at most {FEEDBACK_MAX_CHARS} characters; got {chars}"),
        ));
    }
    if result == VerificationResult::Rejected && feedback.is_none() {
        return Err(Violation::new(
            "verification.feedback",
            "核验未通过时须填写反馈，说明考生需要更正什么",
            "a rejection needs feedback that tells the candidate what to correct",
        ));
    }
    Ok(feedback.map(str::to_owned))
}

/// Parses an education type: `regular`, `adult`, `self_study`, `online` or its
/// Chinese label (`education_type.unknown` otherwise).
pub fn parse_education_type(text: &str) -> Result<EducationType, Violation> {
    let text = text.trim();
    EducationType::ALL
        .into_iter()
        .find(|t| text == t.as_str() || text == t.label_zh())
        .ok_or_else(|| {
            Violation::new(
                "education_type.unknown",
                format!(
                    "学历类型须为 regular（普通）、adult（成人）、self_study（自学考试）或 online（网络教育），收到的是“{}”",
                    shorten(text)
                ),
                format!(
                    "an education type is regular, adult, self_study or online; got \"{}\"",
                    shorten(text)
                ),
            )
        })
}

/// A school or major name as on the certificate: trimmed, 1–100 characters
/// (`code` names the field's rule, e.g. `school_name.length`).
pub fn check_name(text: &str, code: &'static str, what_zh: &str) -> Result<String, Violation> {
    let trimmed = text.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > NAME_MAX_CHARS {
        return Err(Violation::new(
            code,
            format!("{what_zh}须为1到{NAME_MAX_CHARS}个字符，收到{chars}个"),
            format!("this name is 1 to {NAME_MAX_CHARS} characters; got {chars}"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A graduation date `YYYY-MM-DD`, not after `today` (Asia/Shanghai) and not
/// before 1949 (`graduation_date.format`, `graduation_date.future`,
/// `graduation_date.range`).
pub fn check_graduation_date(text: &str, today: NaiveDate) -> Result<NaiveDate, Violation> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        Violation::new(
            "graduation_date.format",
            format!(
                "毕业日期须为 YYYY-MM-DD 格式，例如 2015-07-01，收到的是“{}”",
                shorten(text)
            ),
            format!(
                "a graduation date is YYYY-MM-DD, e.g. 2015-07-01; got \"{}\"",
                shorten(text)
            ),
        )
    })?;
    if date > today {
        return Err(Violation::new(
            "graduation_date.future",
            format!("毕业日期 {date} 晚于今天，须为已取得的学历"),
            format!("the graduation date {date} is in the future; the degree must already be held"),
        ));
    }
    if date.year() < 1949 {
        return Err(Violation::new(
            "graduation_date.range",
            format!("毕业日期 {date} 过早，请检查"),
            format!("the graduation date {date} is implausibly early; check it"),
        ));
    }
    Ok(date)
}

/// A prior degree's fields as the candidate declares them, before their checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// 17 or 18 digits.
    pub certificate_number: String,
    /// The issuing school.
    pub school_name: String,
    /// The major on the certificate.
    pub major_name: String,
    /// `associate` or `bachelor` (or the Chinese label).
    pub level: String,
    /// `regular`, `adult`, `self_study`, `online` (or the Chinese label).
    pub education_type: String,
    /// `YYYY-MM-DD`.
    pub graduation_date: String,
}

/// A prior degree's declared fields once every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredFacts {
    /// The certificate number, consistent with level, type and year.
    pub certificate_number: crate::certificate_number::CertificateNumber,
    /// The issuing school, trimmed.
    pub school_name: String,
    /// The major on the certificate, trimmed.
    pub major_name: String,
    /// The level.
    pub level: crate::certificate_number::DegreeLevel,
    /// The education type.
    pub education_type: EducationType,
    /// The graduation date, not in the future.
    pub graduation_date: NaiveDate,
}

/// Checks every declared field, reporting all problems at once by field, then the
/// certificate number against the declared level, type and year (R7).
pub fn check_declared(
    declared: &Declared,
    today: NaiveDate,
) -> Result<DeclaredFacts, Vec<(&'static str, Violation)>> {
    use crate::certificate_number::{CertificateNumber, DeclaredDegree, DegreeLevel};
    fn keep<T>(
        problems: &mut Vec<(&'static str, Violation)>,
        field: &'static str,
        result: Result<T, Violation>,
    ) -> Option<T> {
        result.map_err(|v| problems.push((field, v))).ok()
    }
    let mut problems = Vec::new();
    let p = &mut problems;
    let school_name = keep(
        p,
        "school_name",
        check_name(&declared.school_name, "school_name.length", "学校名称"),
    );
    let major_name = keep(
        p,
        "major_name",
        check_name(&declared.major_name, "major_name.length", "专业名称"),
    );
    let level = keep(p, "level", DegreeLevel::parse(&declared.level));
    let education_type = keep(
        p,
        "education_type",
        parse_education_type(&declared.education_type),
    );
    let graduation_date = keep(
        p,
        "graduation_date",
        check_graduation_date(&declared.graduation_date, today),
    );
    let number = keep(
        p,
        "certificate_number",
        CertificateNumber::parse(&declared.certificate_number),
    );
    if let (Some(number), Some(level), Some(education_type), Some(date)) =
        (number.clone(), level, education_type, graduation_date)
    {
        let consistent = number.check(&DeclaredDegree {
            education_type,
            graduation_year: date.year(),
            level,
        });
        keep(p, "certificate_number", consistent);
    }
    match (
        number,
        school_name,
        major_name,
        level,
        education_type,
        graduation_date,
    ) {
        (Some(n), Some(s), Some(m), Some(l), Some(t), Some(d)) if problems.is_empty() => {
            Ok(DeclaredFacts {
                certificate_number: n,
                school_name: s,
                major_name: m,
                level: l,
                education_type: t,
                graduation_date: d,
            })
        }
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::{Caller, PriorDegreeAction as A};

    const HOLDER: Caller = Caller {
        holder: true,
        verifier: false,
    };
    const VERIFIER: Caller = Caller {
        holder: false,
        verifier: true,
    };

    #[test]
    fn the_holder_may_modify_and_submit_only_while_editable_and_the_window_is_open() {
        use PriorDegreeStatus::*;
        assert_eq!(
            Draft.allowed_actions(HOLDER, true),
            vec![A::Modify, A::Submit]
        );
        assert_eq!(
            Rejected.allowed_actions(HOLDER, true),
            vec![A::Modify, A::Submit]
        );
        assert!(Draft.allowed_actions(HOLDER, false).is_empty());
        assert!(Rejected.allowed_actions(HOLDER, false).is_empty());
        assert!(Submitted.allowed_actions(HOLDER, true).is_empty());
        assert!(Effective.allowed_actions(HOLDER, true).is_empty());
    }

    #[test]
    fn a_verifier_may_verify_only_a_submitted_degree_window_or_not() {
        use PriorDegreeStatus::*;
        assert_eq!(Submitted.allowed_actions(VERIFIER, false), vec![A::Verify]);
        assert_eq!(Submitted.allowed_actions(VERIFIER, true), vec![A::Verify]);
        assert!(Draft.allowed_actions(VERIFIER, true).is_empty());
        assert!(Effective.allowed_actions(VERIFIER, true).is_empty());
        assert!(Draft.allowed_actions(Caller::default(), true).is_empty());
    }

    use super::*;

    #[test]
    fn declared_fields_are_checked_together_and_the_number_against_them() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let good = Declared {
            certificate_number: "105211201606000001".into(),
            school_name: " 湖北职业技术学院 ".into(),
            major_name: "药学".into(),
            level: "associate".into(),
            education_type: "regular".into(),
            graduation_date: "2016-07-01".into(),
        };
        let facts = check_declared(&good, today).unwrap();
        assert_eq!(facts.school_name, "湖北职业技术学院");
        assert_eq!(facts.education_type, EducationType::Regular);
        let mismatched = Declared {
            level: "bachelor".into(),
            ..good.clone()
        };
        let problems = check_declared(&mismatched, today).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "certificate_number");
        let bad = Declared {
            school_name: " ".into(),
            education_type: "night".into(),
            graduation_date: "2030-01-01".into(),
            ..good
        };
        let fields: Vec<&str> = check_declared(&bad, today)
            .unwrap_err()
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(fields, ["school_name", "education_type", "graduation_date"]);
    }
    use PriorDegreeStatus::*;

    #[test]
    fn the_owner_edits_and_submits_only_drafts_and_rejected_degrees() {
        for (status, ok) in [
            (Draft, true),
            (Submitted, false),
            (Effective, false),
            (Rejected, true),
        ] {
            assert_eq!(status.check_editable().is_ok(), ok, "{status:?}");
            match status.submit() {
                Ok(to) => {
                    assert!(ok);
                    assert_eq!(to, Submitted);
                }
                Err(v) => {
                    assert!(!ok);
                    assert_eq!(v.code, "state.conflict");
                    assert!(v.en.contains(status.as_str()), "{}", v.en);
                }
            }
        }
    }

    #[test]
    fn only_a_submitted_degree_is_verified_and_effective_is_final() {
        assert_eq!(
            Submitted.verify(VerificationResult::Effective),
            Ok(Effective)
        );
        assert_eq!(Submitted.verify(VerificationResult::Rejected), Ok(Rejected));
        for status in [Draft, Effective, Rejected] {
            for result in [VerificationResult::Effective, VerificationResult::Rejected] {
                assert_eq!(status.verify(result).unwrap_err().code, "state.conflict");
            }
        }
        assert!(Effective.submit().is_err() && Effective.check_editable().is_err());
    }

    #[test]
    fn statuses_round_trip_and_map_to_verification() {
        for s in PriorDegreeStatus::ALL {
            assert_eq!(PriorDegreeStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Draft.verification(), VerificationStatus::NotSubmitted);
        assert_eq!(Submitted.verification(), VerificationStatus::Pending);
        assert_eq!(
            serde_json::to_string(&VerificationStatus::NotSubmitted).unwrap(),
            "\"not_submitted\""
        );
    }

    #[test]
    fn a_rejection_needs_feedback_and_feedback_is_bounded() {
        assert_eq!(
            check_feedback(VerificationResult::Effective, None),
            Ok(None)
        );
        assert_eq!(
            check_feedback(VerificationResult::Rejected, Some(" 证书编号有误 ")),
            Ok(Some("证书编号有误".into()))
        );
        for (result, feedback) in [
            (VerificationResult::Rejected, None),
            (VerificationResult::Rejected, Some("  ")),
            (VerificationResult::Effective, Some(&*"长".repeat(1001))),
        ] {
            assert_eq!(
                check_feedback(result, feedback).unwrap_err().code,
                "verification.feedback"
            );
        }
        assert_eq!(
            VerificationResult::parse("valid").unwrap_err().code,
            "verification.result"
        );
    }

    #[test]
    fn education_types_parse_from_values_and_labels() {
        assert_eq!(
            parse_education_type("self_study"),
            Ok(EducationType::SelfStudy)
        );
        assert_eq!(parse_education_type("普通"), Ok(EducationType::Regular));
        assert_eq!(
            parse_education_type("full_time").unwrap_err().code,
            "education_type.unknown"
        );
    }

    #[test]
    fn graduation_dates_are_past_dates() {
        let today = NaiveDate::from_ymd_opt(2018, 3, 10).unwrap();
        assert!(check_graduation_date("2015-07-01", today).is_ok());
        assert!(check_graduation_date("2018-03-10", today).is_ok());
        for (bad, code) in [
            ("2015/07/01", "graduation_date.format"),
            ("2015-02-30", "graduation_date.format"),
            ("2018-03-11", "graduation_date.future"),
            ("1900-01-01", "graduation_date.range"),
        ] {
            assert_eq!(
                check_graduation_date(bad, today).unwrap_err().code,
                code,
                "{bad}"
            );
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            check_name(" 某某大学 ", "school_name.length", "学校名称"),
            Ok("某某大学".into())
        );
        assert!(check_name(" ", "school_name.length", "学校名称").is_err());
        assert!(check_name(&"校".repeat(101), "school_name.length", "学校名称").is_err());
    }
}
