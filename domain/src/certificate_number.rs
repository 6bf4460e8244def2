//! The prior degree's certificate number (学历证书编号) and the declared facts it
//! encodes: education type and level (R7).
//!
//! An 18-digit number (issued since 2002) is laid out as: digits 1–5 school code,
//! digit 6 education type (1 regular, 5 adult, 6 self-study, 7 online), digits 7–10
//! graduation year, digits 11–12 level (05 bachelor, 06 associate), digits 13–18 a
//! serial number. Older 17-digit numbers are accepted with a warning and only checked
//! to be digits.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Violation;
use crate::course::shorten;

/// Kind of higher education a degree was earned in (学历类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EducationType {
    /// 普通 — regular full-time higher education (digit 1).
    Regular,
    /// 成人 — adult higher education (digit 5).
    Adult,
    /// 自学考试 — the self-study examination itself (digit 6).
    SelfStudy,
    /// 网络教育 — online education (digit 7).
    Online,
}

crate::choice!(EducationType { EducationType::Regular => "regular", EducationType::Adult => "adult", EducationType::SelfStudy => "self_study", EducationType::Online => "online" });

impl EducationType {
    /// Every education type, in code order.
    pub const ALL: [Self; 4] = [Self::Regular, Self::Adult, Self::SelfStudy, Self::Online];

    /// Chinese label shown to users.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Regular => "普通",
            Self::Adult => "成人",
            Self::SelfStudy => "自学考试",
            Self::Online => "网络教育",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Regular => "regular",
            Self::Adult => "adult",
            Self::SelfStudy => "self-study",
            Self::Online => "online",
        }
    }

    /// The stored and API value: `regular`, `adult`, `self_study`, `online`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regular => "regular",
            Self::Adult => "adult",
            Self::SelfStudy => "self_study",
            Self::Online => "online",
        }
    }

    /// The value stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// The digit this type has at position 6 of an 18-digit certificate number.
    pub fn digit(self) -> char {
        match self {
            Self::Regular => '1',
            Self::Adult => '5',
            Self::SelfStudy => '6',
            Self::Online => '7',
        }
    }

    /// The type a certificate number's 6th digit stands for, if known.
    pub fn from_digit(digit: char) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.digit() == digit)
    }
}

/// Level of a degree (学历层次): associate (专科) or bachelor (本科).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DegreeLevel {
    /// 专科 — associate (code 06).
    Associate,
    /// 本科 — bachelor (code 05).
    Bachelor,
}

crate::choice!(DegreeLevel { DegreeLevel::Associate => "associate", DegreeLevel::Bachelor => "bachelor" });

impl DegreeLevel {
    /// Both levels.
    pub const ALL: [Self; 2] = [Self::Associate, Self::Bachelor];

    /// Chinese label shown to users.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Associate => "专科",
            Self::Bachelor => "本科",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Associate => "associate",
            Self::Bachelor => "bachelor",
        }
    }

    /// The two digits of this level at positions 11–12 of a certificate number.
    pub fn code(self) -> &'static str {
        match self {
            Self::Associate => "06",
            Self::Bachelor => "05",
        }
    }

    /// Parses the API value (`associate`, `bachelor`) or the Chinese label.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        match text.trim() {
            "associate" | "专科" => Ok(Self::Associate),
            "bachelor" | "本科" => Ok(Self::Bachelor),
            other => Err(Violation::new(
                "degree_level.unknown",
                format!(
                    "学历层次须为 associate（专科）或 bachelor（本科），收到的是“{}”",
                    shorten(other)
                ),
                format!(
                    "a degree level is associate or bachelor; got \"{}\"",
                    shorten(other)
                ),
            )),
        }
    }
}

impl fmt::Display for DegreeLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_en())
    }
}

/// The seed's degree route needs a regular (普通) associate or bachelor degree (R7,
/// walkthrough step 10).
pub fn require_regular(education_type: EducationType) -> Result<(), Violation> {
    if education_type == EducationType::Regular {
        Ok(())
    } else {
        Err(Violation::new(
            "prior_degree.not_regular",
            format!(
                "学历证书课程认证只接受普通高等教育学历，该学历为“{}”",
                education_type.label_zh()
            ),
            format!(
                "degree-based certification needs a regular (普通) degree; this one is {}",
                education_type.label_en()
            ),
        ))
    }
}

/// A certificate number of 17 or 18 ASCII digits.
///
/// Only [`CertificateNumber::parse`] builds one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CertificateNumber(String);

/// What a prior-degree application declares, to check the certificate number against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredDegree {
    /// Declared education type.
    pub education_type: EducationType,
    /// Year of the declared graduation date.
    pub graduation_year: i32,
    /// Declared level.
    pub level: DegreeLevel,
}

/// A certificate number that passed [`CertificateNumber::check`], with any warnings
/// (bilingual, like violations, but not refusing anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCertificateNumber {
    /// The number.
    pub number: CertificateNumber,
    /// Warnings for the user, e.g. `certificate_number.legacy_format`.
    pub warnings: Vec<Violation>,
}

impl CertificateNumber {
    /// Parses 17 or 18 ASCII digits; white space around the number is ignored.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let trimmed = text.trim();
        let len = trimmed.len();
        if (len == 17 || len == 18) && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(Violation::new(
                "certificate_number.format",
                format!(
                    "学历证书编号应为18位数字（2002年以前颁发的为17位），收到的是“{}”",
                    shorten(trimmed)
                ),
                format!(
                    "a certificate number is 18 digits (17 if issued before 2002); got \"{}\"",
                    shorten(trimmed)
                ),
            ))
        }
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is an old 17-digit number, which has no checkable structure.
    pub fn is_legacy(&self) -> bool {
        self.0.len() == 17
    }

    /// Digits 1–5 of an 18-digit number: the issuing school's code.
    pub fn school_code(&self) -> Option<&str> {
        (!self.is_legacy()).then(|| &self.0[0..5])
    }

    /// Checks an 18-digit number against the declared education type, graduation year
    /// and level (`certificate_number.mismatch`, naming every part that differs). A
    /// 17-digit number passes with a `certificate_number.legacy_format` warning.
    pub fn check(self, declared: &DeclaredDegree) -> Result<CheckedCertificateNumber, Violation> {
        if self.is_legacy() {
            let warning = Violation::new(
                "certificate_number.legacy_format",
                "17位学历证书编号为2002年以前的旧格式，无法核对学历类型、毕业年份和层次，请确认填写无误",
                "a 17-digit certificate number is the pre-2002 format: its education type, year and level cannot be checked, so make sure it is right",
            );
            return Ok(CheckedCertificateNumber {
                number: self,
                warnings: vec![warning],
            });
        }
        let digits = self.0.as_str();
        let mut zh = Vec::new();
        let mut en = Vec::new();
        let type_digit = digits[5..6].chars().next().unwrap_or('?');
        if type_digit != declared.education_type.digit() {
            let (found_zh, found_en) = match EducationType::from_digit(type_digit) {
                Some(t) => (t.label_zh().to_owned(), t.label_en().to_owned()),
                None => ("未知类型".to_owned(), "an unknown type".to_owned()),
            };
            zh.push(format!(
                "第6位学历类型为{type_digit}（{found_zh}），与填写的“{}”（{}）不符",
                declared.education_type.label_zh(),
                declared.education_type.digit()
            ));
            en.push(format!(
                "education type: digit 6 is {type_digit} ({found_en}), but {} ({}) was declared",
                declared.education_type.label_en(),
                declared.education_type.digit()
            ));
        }
        let year = &digits[6..10];
        let declared_year = format!("{:04}", declared.graduation_year);
        if year != declared_year {
            zh.push(format!(
                "第7–10位毕业年份为{year}，与填写的毕业年份{declared_year}不符"
            ));
            en.push(format!(
                "year: digits 7–10 are {year}, but the declared graduation year is {declared_year}"
            ));
        }
        let level = &digits[10..12];
        if level != declared.level.code() {
            let found = DegreeLevel::ALL.into_iter().find(|l| l.code() == level);
            zh.push(format!(
                "第11–12位学历层次为{level}（{}），与填写的“{}”（{}）不符",
                found.map_or("未知层次", DegreeLevel::label_zh),
                declared.level.label_zh(),
                declared.level.code()
            ));
            en.push(format!(
                "level: digits 11–12 are {level} ({}), but {} ({}) was declared",
                found.map_or("an unknown level", DegreeLevel::label_en),
                declared.level.label_en(),
                declared.level.code()
            ));
        }
        if zh.is_empty() {
            Ok(CheckedCertificateNumber {
                number: self,
                warnings: Vec::new(),
            })
        } else {
            Err(Violation::new(
                "certificate_number.mismatch",
                format!("学历证书编号与填写的信息不一致：{}", zh.join("；")),
                format!(
                    "the certificate number does not match the declared degree: {}",
                    en.join("; ")
                ),
            ))
        }
    }
}

/// Parses `text` and checks it against `declared` in one step.
pub fn check_certificate_number(
    text: &str,
    declared: &DeclaredDegree,
) -> Result<CheckedCertificateNumber, Violation> {
    CertificateNumber::parse(text)?.check(declared)
}

impl fmt::Display for CertificateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CertificateNumber {
    type Error = Violation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CertificateNumber> for String {
    fn from(value: CertificateNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compose(
        school: u32,
        t: EducationType,
        year: i32,
        level: DegreeLevel,
        serial: u32,
    ) -> String {
        format!(
            "{school:05}{}{year:04}{}{serial:06}",
            t.digit(),
            level.code()
        )
    }

    fn declared(t: EducationType, year: i32, level: DegreeLevel) -> DeclaredDegree {
        DeclaredDegree {
            education_type: t,
            graduation_year: year,
            level,
        }
    }

    const REGULAR_2015_ASSOCIATE: DeclaredDegree = DeclaredDegree {
        education_type: EducationType::Regular,
        graduation_year: 2015,
        level: DegreeLevel::Associate,
    };

    #[test]
    fn a_regular_associate_number_matches_its_declared_fields() {
        let checked =
            check_certificate_number("106521201506001234", &REGULAR_2015_ASSOCIATE).unwrap();
        assert!(checked.warnings.is_empty());
        assert_eq!(checked.number.school_code(), Some("10652"));
    }

    #[test]
    fn surrounding_spaces_are_ignored() {
        assert!(check_certificate_number(" 106521201506001234 ", &REGULAR_2015_ASSOCIATE).is_ok());
    }

    #[test]
    fn malformed_numbers_are_rejected_with_format() {
        for bad in [
            "",
            "1065212015060012",
            "1065212015060012345",
            "10652120150600123X",
            "１０６５２１２０１５０６００１２３４",
            "10652 1201506001234",
        ] {
            let err = CertificateNumber::parse(bad).unwrap_err();
            assert_eq!(err.code, "certificate_number.format", "{bad:?}");
        }
    }

    #[test]
    fn seventeen_digit_numbers_pass_with_a_bilingual_warning() {
        let checked =
            check_certificate_number("10652119990600123", &REGULAR_2015_ASSOCIATE).unwrap();
        assert_eq!(checked.warnings.len(), 1);
        let w = &checked.warnings[0];
        assert_eq!(w.code, "certificate_number.legacy_format");
        assert!(!w.zh.is_empty() && !w.en.is_empty());
        assert_eq!(checked.number.school_code(), None);
    }

    #[test]
    fn mismatch_names_the_part_that_differs() {
        let adult = "106525201506001234";
        let err = check_certificate_number(adult, &REGULAR_2015_ASSOCIATE).unwrap_err();
        assert_eq!(err.code, "certificate_number.mismatch");
        assert!(err.en.contains("education type"), "{}", err.en);
        assert!(err.zh.contains("学历类型"), "{}", err.zh);
        assert!(!err.en.contains("year"), "{}", err.en);

        let y2016 = "106521201606001234";
        let err = check_certificate_number(y2016, &REGULAR_2015_ASSOCIATE).unwrap_err();
        assert!(err.en.contains("year: digits 7–10 are 2016"), "{}", err.en);

        let bachelor = "106521201505001234";
        let err = check_certificate_number(bachelor, &REGULAR_2015_ASSOCIATE).unwrap_err();
        assert!(err.en.contains("level"), "{}", err.en);
        assert!(err.zh.contains("本科"), "{}", err.zh);
    }

    #[test]
    fn unknown_type_and_level_digits_are_mismatches() {
        let err =
            check_certificate_number("106522201501001234", &REGULAR_2015_ASSOCIATE).unwrap_err();
        assert_eq!(err.code, "certificate_number.mismatch");
        assert!(err.en.contains("unknown type") && err.en.contains("unknown level"));
    }

    #[test]
    fn the_degree_route_needs_a_regular_degree() {
        assert!(require_regular(EducationType::Regular).is_ok());
        for t in [
            EducationType::Adult,
            EducationType::SelfStudy,
            EducationType::Online,
        ] {
            let err = require_regular(t).unwrap_err();
            assert_eq!(err.code, "prior_degree.not_regular");
            assert!(err.zh.contains(t.label_zh()));
        }
    }

    #[test]
    fn enums_serialize_as_lowercase_english_with_chinese_labels() {
        assert_eq!(
            serde_json::to_string(&EducationType::SelfStudy).unwrap(),
            "\"self_study\""
        );
        assert_eq!(
            serde_json::to_string(&DegreeLevel::Associate).unwrap(),
            "\"associate\""
        );
        let labels: Vec<_> = EducationType::ALL.iter().map(|t| t.label_zh()).collect();
        assert_eq!(labels, ["普通", "成人", "自学考试", "网络教育"]);
        assert_eq!(DegreeLevel::Bachelor.label_zh(), "本科");
        assert_eq!(DegreeLevel::parse("专科").unwrap(), DegreeLevel::Associate);
        assert_eq!(
            DegreeLevel::parse("doctor").unwrap_err().code,
            "degree_level.unknown"
        );
    }

    fn education_type() -> impl Strategy<Value = EducationType> {
        prop::sample::select(EducationType::ALL.to_vec())
    }

    fn level() -> impl Strategy<Value = DegreeLevel> {
        prop::sample::select(DegreeLevel::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn a_number_built_from_fields_always_checks_against_them(
            school in 0u32..100_000, t in education_type(), year in 2002i32..2100,
            l in level(), serial in 0u32..1_000_000,
        ) {
            let number = compose(school, t, year, l, serial);
            let checked = check_certificate_number(&number, &declared(t, year, l)).unwrap();
            prop_assert!(checked.warnings.is_empty());
            prop_assert_eq!(checked.number.as_str(), number.as_str());
        }

        #[test]
        fn changing_a_declared_field_makes_it_fail(
            school in 0u32..100_000, t in education_type(), year in 2002i32..2100,
            l in level(), serial in 0u32..1_000_000,
            other_t in education_type(), other_year in 2002i32..2100, other_l in level(),
        ) {
            prop_assume!((t, year, l) != (other_t, other_year, other_l));
            let number = compose(school, t, year, l, serial);
            let err = check_certificate_number(&number, &declared(other_t, other_year, other_l))
                .unwrap_err();
            prop_assert_eq!(err.code, "certificate_number.mismatch");
        }
    }
}
