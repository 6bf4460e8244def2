//! Accounts: who may log in and with what (准考证号, 身份证号, staff user names),
//! the personal details kept about a candidate, roles and service-account scopes.
//!
//! Messages built here never echo the submitted text: these values are personal
//! data (an ID number, a phone number, a password), and violations end up in logs.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Violation;

// ---------------------------------------------------------------------------
// ExamNumber
// ---------------------------------------------------------------------------

/// An examination admission number (准考证号): exactly 12 ASCII digits.
///
/// Only [`ExamNumber::parse`] builds one, so a value of this type is always valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExamNumber([u8; 12]);

impl ExamNumber {
    /// Parses exactly 12 ASCII digits; surrounding white space is not accepted.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let bytes = text.as_bytes();
        if bytes.len() == 12 && bytes.iter().all(u8::is_ascii_digit) {
            let mut digits = [0u8; 12];
            digits.copy_from_slice(bytes);
            Ok(Self(digits))
        } else {
            Err(Violation::new(
                "exam_number.format",
                "准考证号必须是12位数字",
                "an exam number (准考证号) is exactly 12 digits",
            ))
        }
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        // The constructor admits ASCII digits only.
        std::str::from_utf8(&self.0).unwrap_or("000000000000")
    }
}

impl fmt::Display for ExamNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExamNumber {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ExamNumber {
    type Error = Violation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ExamNumber> for String {
    fn from(value: ExamNumber) -> Self {
        value.as_str().to_owned()
    }
}

// ---------------------------------------------------------------------------
// IdNumber
// ---------------------------------------------------------------------------

/// Weights of the first 17 digits in the ISO 7064 MOD 11-2 check (GB 11643-1999).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check character for each value of the weighted sum modulo 11.
const ID_CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// The check character (`0`–`9` or `X`) for 17 ASCII digits.
fn id_check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    ID_CHECK_CHARS[(sum % 11) as usize]
}

/// Reads ASCII digits as a number; the caller has checked they are digits.
fn digits_value(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |acc, digit| acc * 10 + u32::from(digit - b'0'))
}

/// An 18-character PRC resident identity card number (居民身份证号码, GB 11643-1999).
///
/// Six digits of region code (first digit 1–8; no region table is consulted), the
/// birth date as `YYYYMMDD`, a three-digit sequence number and an ISO 7064 MOD 11-2
/// check character (`0`–`9` or `X`, stored upper-case).
///
/// This is personal data: [`Debug`](fmt::Debug) and [`Display`](fmt::Display) both
/// print the [masked](IdNumber::masked) form. Use [`IdNumber::as_str`] (or serde,
/// or `String::from`) where the full number is really needed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber {
    text: [u8; 18],
    birth_date: NaiveDate,
}

impl IdNumber {
    /// Parses an 18-character ID number: its format (17 digits and a digit or
    /// `X`/`x`, region code starting 1–8), that the birth date exists (year 1900
    /// or later) and the check character. Whether the birth date lies in the
    /// future is checked separately, by [`IdNumber::check_not_future`].
    /// Surrounding white space is not accepted.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let bytes = text.as_bytes();
        let well_formed = bytes.len() == 18
            && bytes[..17].iter().all(u8::is_ascii_digit)
            && matches!(bytes[17], b'0'..=b'9' | b'X' | b'x');
        if !well_formed {
            return Err(Violation::new(
                "id_number.format",
                "身份证号必须是18位：前17位为数字，最后一位为数字或X",
                "an ID number is 18 characters: 17 digits, then a digit or X",
            ));
        }
        if !(b'1'..=b'8').contains(&bytes[0]) {
            return Err(Violation::new(
                "id_number.format",
                "身份证号的地区码不正确（首位应为1至8）",
                "the region code of the ID number is invalid (its first digit must be 1 to 8)",
            ));
        }
        let year = digits_value(&bytes[6..10]);
        let month = digits_value(&bytes[10..12]);
        let day = digits_value(&bytes[12..14]);
        let birth_date = i32::try_from(year)
            .ok()
            .filter(|year| *year >= 1900)
            .and_then(|year| NaiveDate::from_ymd_opt(year, month, day))
            .ok_or_else(|| {
                Violation::new(
                    "id_number.birth_date",
                    "身份证号中的出生日期（第7至14位）不是有效日期",
                    "the birth date in the ID number (characters 7 to 14) is not a valid date",
                )
            })?;
        let mut upper = [0u8; 18];
        upper.copy_from_slice(bytes);
        upper[17] = upper[17].to_ascii_uppercase();
        if id_check_char(&upper[..17]) != upper[17] {
            return Err(Violation::new(
                "id_number.checksum",
                "身份证号校验位不正确，请核对号码",
                "the check character of the ID number does not match; please check the number",
            ));
        }
        Ok(Self {
            text: upper,
            birth_date,
        })
    }

    /// [`IdNumber::parse`] followed by [`IdNumber::check_not_future`].
    pub fn parse_as_of(text: &str, today: NaiveDate) -> Result<Self, Violation> {
        let id = Self::parse(text)?;
        id.check_not_future(today)?;
        Ok(id)
    }

    /// Fails with `id_number.birth_date` if the birth date is after `today`.
    pub fn check_not_future(&self, today: NaiveDate) -> Result<(), Violation> {
        if self.birth_date > today {
            Err(Violation::new(
                "id_number.birth_date",
                "身份证号中的出生日期晚于今天",
                "the birth date in the ID number is after today",
            ))
        } else {
            Ok(())
        }
    }

    /// The birth date encoded in characters 7 to 14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The full number as text, check character upper-case. Do not log it.
    pub fn as_str(&self) -> &str {
        // The constructor admits ASCII digits and `X` only.
        std::str::from_utf8(&self.text).unwrap_or("******************")
    }

    /// The first four and last four characters with ten asterisks between, e.g.
    /// `4201**********123X`: safe for logs and screens.
    pub fn masked(&self) -> String {
        let text = self.as_str();
        format!("{}{}{}", &text[..4], "*".repeat(10), &text[14..])
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// Prints the masked form; see [`IdNumber::as_str`] for the full number.
impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl FromStr for IdNumber {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for IdNumber {
    type Error = Violation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IdNumber> for String {
    fn from(value: IdNumber) -> Self {
        value.as_str().to_owned()
    }
}

// ---------------------------------------------------------------------------
// PersonName
// ---------------------------------------------------------------------------

/// The middle dot that separates parts of transcribed names, e.g. `阿依古丽·买买提`.
const NAME_DOT: char = '\u{00B7}';

/// The full-width katakana middle dot, normalised to [`NAME_DOT`].
const KATAKANA_DOT: char = '\u{30FB}';

/// A letter of any script, CJK ideographs included; never a digit or numeral.
fn is_name_letter(c: char) -> bool {
    c.is_alphabetic() && !c.is_numeric()
}

/// A CJK unified or compatibility ideograph.
fn is_cjk_ideograph(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{323AF}')
}

/// The `name.format` violation with a specific message.
fn name_error(zh: &str, en: &str) -> Violation {
    Violation::new("name.format", zh, en)
}

/// A person's name as on the ID card: 2–30 letters (CJK or other scripts), with
/// `·` between the parts of a transcribed name and single spaces between the
/// words of a romanised one. No digits, no other punctuation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Trims surrounding white space, turns the full-width `・` (U+30FB) into `·`
    /// (U+00B7), then checks: 2 to 30 characters; letters; a `·` only between two
    /// letters; a single space only between two letters that are not CJK ideographs.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let chars: Vec<char> = text
            .trim()
            .chars()
            .map(|c| if c == KATAKANA_DOT { NAME_DOT } else { c })
            .collect();
        if !(2..=30).contains(&chars.len()) {
            return Err(name_error(
                "姓名长度必须为2至30个字符",
                "a name is 2 to 30 characters long",
            ));
        }
        for (i, &c) in chars.iter().enumerate() {
            if is_name_letter(c) {
                continue;
            }
            let before = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
            let after = chars.get(i + 1).copied();
            let between_letters =
                |accept: fn(char) -> bool| before.is_some_and(accept) && after.is_some_and(accept);
            if c == NAME_DOT {
                if !between_letters(is_name_letter) {
                    return Err(name_error(
                        "姓名中的间隔号“·”只能位于两个字之间",
                        "a middle dot \"·\" in a name must stand between two letters",
                    ));
                }
            } else if c == ' ' {
                if !between_letters(|c| is_name_letter(c) && !is_cjk_ideograph(c)) {
                    return Err(name_error(
                        "姓名中的空格只能用于分隔拼写姓名的单词，且不能连续出现",
                        "a space in a name may only separate the words of a romanised name, one at a time",
                    ));
                }
            } else {
                return Err(name_error(
                    "姓名只能包含文字、间隔号“·”和空格，不能包含数字或其他符号",
                    "a name may contain only letters, the middle dot \"·\" and spaces; no digits or other symbols",
                ));
            }
        }
        Ok(Self(chars.into_iter().collect()))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PersonName {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for PersonName {
    type Error = Violation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PersonName> for String {
    fn from(value: PersonName) -> Self {
        value.0
    }
}

// ---------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------

/// A mainland China mobile number: 11 digits, `1`, then `3`–`9`, then nine digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone([u8; 11]);

impl Phone {
    /// Parses 11 digits matching `1[3-9]\d{9}`, optionally preceded by `+86`
    /// (which is dropped). Anything else, spaces and hyphens included, is rejected.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let bytes = text.strip_prefix("+86").unwrap_or(text).as_bytes();
        let valid = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if valid {
            let mut digits = [0u8; 11];
            digits.copy_from_slice(bytes);
            Ok(Self(digits))
        } else {
            Err(Violation::new(
                "phone.format",
                "手机号必须是11位中国大陆手机号码（以13至19开头），可带前缀+86，不能含空格或连字符",
                "a phone number is an 11-digit mainland China mobile number starting 13 to 19, \
                 optionally preceded by +86, without spaces or hyphens",
            ))
        }
    }

    /// The 11 digits, without the `+86` prefix.
    pub fn as_str(&self) -> &str {
        // The constructor admits ASCII digits only.
        std::str::from_utf8(&self.0).unwrap_or("00000000000")
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phone {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Phone {
    type Error = Violation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.as_str().to_owned()
    }
}

// ---------------------------------------------------------------------------
// Password
// ---------------------------------------------------------------------------

/// A new password that meets the policy. Deliberately no `Display`, no serde and
/// no `PartialEq`; `Debug` prints `Password(***)`. Read it with [`Password::expose`]
/// only to hash it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks the policy, in this order: at least 8 characters, at most 128
    /// characters (counted as `char`s), not only digits, and not equal,
    /// ignoring case, to any of `identifiers` (e.g. the account's exam number and
    /// ID number; surrounding white space in them is ignored). The text itself
    /// is kept as given, not trimmed.
    pub fn parse(text: &str, identifiers: &[&str]) -> Result<Self, Violation> {
        let length = text.chars().count();
        if length < 8 {
            return Err(Violation::new(
                "password.too_short",
                "密码至少需要8个字符",
                "a password needs at least 8 characters",
            ));
        }
        if length > 128 {
            return Err(Violation::new(
                "password.too_long",
                "密码不能超过128个字符",
                "a password may have at most 128 characters",
            ));
        }
        if text.chars().all(char::is_numeric) {
            return Err(Violation::new(
                "password.only_digits",
                "密码不能全部是数字",
                "a password may not consist of digits only",
            ));
        }
        let lowered = text.to_lowercase();
        if identifiers
            .iter()
            .map(|identifier| identifier.trim())
            .any(|identifier| !identifier.is_empty() && identifier.to_lowercase() == lowered)
        {
            return Err(Violation::new(
                "password.equals_identifier",
                "密码不能与准考证号、身份证号或用户名相同",
                "a password may not be the same as the exam number, ID number or user name",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The password text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

// ---------------------------------------------------------------------------
// Username
// ---------------------------------------------------------------------------

/// A staff or administrator login name: 3–32 characters of `a`–`z`, `0`–`9`,
/// `.`, `_` and `-`, starting with a letter.
///
/// Because it starts with a letter, a user name can never be read as an
/// [`ExamNumber`] (all digits) or an [`IdNumber`] (17 digits first);
/// [`LoginIdentifier::parse`] relies on this to tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Lower-cases ASCII letters, then checks length and characters.
    /// Surrounding white space is not accepted.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let lowered = text.to_ascii_lowercase();
        let bytes = lowered.as_bytes();
        let valid = (3..=32).contains(&bytes.len())
            && bytes[0].is_ascii_lowercase()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b));
        if valid {
            Ok(Self(lowered))
        } else {
            Err(Violation::new(
                "username.format",
                "用户名须为3至32个字符，以字母开头，只能包含字母、数字、“.”、“_”和“-”",
                "a user name is 3 to 32 characters: a letter first, then letters, digits, \".\", \"_\" or \"-\"",
            ))
        }
    }

    /// The lower-cased user name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Username {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Username {
    type Error = Violation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

// ---------------------------------------------------------------------------
// SchoolCode
// ---------------------------------------------------------------------------

/// The code of a school (主考学校 or 助学单位): 1–10 ASCII letters and digits,
/// stored upper-case, e.g. `HBU01`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SchoolCode(String);

impl SchoolCode {
    /// Upper-cases ASCII letters, then checks for 1 to 10 ASCII letters and digits.
    /// Surrounding white space is not accepted.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let upper = text.to_ascii_uppercase();
        if (1..=10).contains(&upper.len()) && upper.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(upper))
        } else {
            Err(Violation::new(
                "school_code.format",
                "学校代码须为1至10位字母或数字（例如 HBU01）",
                "a school code is 1 to 10 letters or digits (e.g. HBU01)",
            ))
        }
    }

    /// The upper-cased code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SchoolCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SchoolCode {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SchoolCode {
    type Error = Violation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SchoolCode> for String {
    fn from(value: SchoolCode) -> Self {
        value.0
    }
}

// ---------------------------------------------------------------------------
// Role
// ---------------------------------------------------------------------------

/// What kind of account this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A candidate (考生), logging in with exam number or ID number.
    Candidate,
    /// A school's staff member (学校工作人员).
    Staff,
    /// An administrator (管理员).
    Admin,
    /// A service account used by another system (集成服务账号).
    Integration,
}

crate::choice!(Role { Role::Candidate => "candidate", Role::Staff => "staff", Role::Admin => "admin", Role::Integration => "integration" });

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 4] = [Role::Candidate, Role::Staff, Role::Admin, Role::Integration];

    /// The stable name, as serialised: `candidate`, `staff`, `admin`, `integration`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Candidate => "candidate",
            Role::Staff => "staff",
            Role::Admin => "admin",
            Role::Integration => "integration",
        }
    }

    /// The label shown to users, in Chinese.
    pub fn zh_label(&self) -> &'static str {
        match self {
            Role::Candidate => "考生",
            Role::Staff => "学校工作人员",
            Role::Admin => "管理员",
            Role::Integration => "集成服务账号",
        }
    }

    /// Parses the stable name exactly (see [`Role::as_str`]).
    pub fn parse(text: &str) -> Result<Self, Violation> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                Violation::new(
                    "role.unknown",
                    "未知的角色（可选：candidate、staff、admin、integration）",
                    "unknown role (expected candidate, staff, admin or integration)",
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------
// Scope
// ---------------------------------------------------------------------------

/// A permission granted to an integration (service) account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Scope {
    /// `verification:write`: record verification results.
    #[serde(rename = "verification:write")]
    VerificationWrite,
    /// `outbox:read`: read the outbox of events.
    #[serde(rename = "outbox:read")]
    OutboxRead,
    /// `applications:read`: read certification applications.
    #[serde(rename = "applications:read")]
    ApplicationsRead,
}

crate::choice!(Scope { Scope::VerificationWrite => "verification:write", Scope::OutboxRead => "outbox:read", Scope::ApplicationsRead => "applications:read" });

impl Scope {
    /// Every scope, in declaration order.
    pub const ALL: [Scope; 3] = [
        Scope::VerificationWrite,
        Scope::OutboxRead,
        Scope::ApplicationsRead,
    ];

    /// The stable name, as serialised, e.g. `outbox:read`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::VerificationWrite => "verification:write",
            Scope::OutboxRead => "outbox:read",
            Scope::ApplicationsRead => "applications:read",
        }
    }

    /// Parses the stable name exactly (case-sensitive, no white space).
    pub fn parse(text: &str) -> Result<Self, Violation> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| {
                Violation::new(
                    "scope.unknown",
                    "未知的权限范围（可选：verification:write、outbox:read、applications:read）",
                    "unknown scope (expected verification:write, outbox:read or applications:read)",
                )
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------
// LoginIdentifier
// ---------------------------------------------------------------------------

/// What a user types into the login name field.
///
/// `Debug` and `Display` mask an ID number (see [`IdNumber`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoginIdentifier {
    /// A candidate's exam number (12 digits).
    ExamNumber(ExamNumber),
    /// A candidate's ID number (18 characters, 17 digits first).
    IdNumber(IdNumber),
    /// A staff, administrator or service account user name (starts with a letter).
    Username(Username),
}

impl LoginIdentifier {
    /// Trims surrounding white space, then decides by shape: 12 ASCII digits are
    /// an exam number; 18 characters whose first 17 are ASCII digits are an ID
    /// number; anything else must be a user name. Any failure is `login.format`,
    /// with the reason from the chosen type in the message.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let text = text.trim();
        let bytes = text.as_bytes();
        let parsed = if bytes.len() == 12 && bytes.iter().all(u8::is_ascii_digit) {
            ExamNumber::parse(text).map(Self::ExamNumber)
        } else if text.chars().count() == 18 && text.chars().take(17).all(|c| c.is_ascii_digit()) {
            IdNumber::parse(text).map(Self::IdNumber)
        } else {
            Username::parse(text).map(Self::Username)
        };
        parsed.map_err(|reason| {
            Violation::new(
                "login.format",
                format!("请输入12位准考证号、18位身份证号或用户名（{}）", reason.zh),
                format!(
                    "enter a 12-digit exam number, an 18-character ID number or a user name ({})",
                    reason.en
                ),
            )
        })
    }

    /// The canonical text (an ID number in full, upper-case `X`; a user name
    /// lower-cased), for looking the account up. Do not log it.
    pub fn as_str(&self) -> &str {
        match self {
            LoginIdentifier::ExamNumber(number) => number.as_str(),
            LoginIdentifier::IdNumber(number) => number.as_str(),
            LoginIdentifier::Username(name) => name.as_str(),
        }
    }
}

/// Prints the identifier, an ID number masked.
impl fmt::Display for LoginIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginIdentifier::ExamNumber(number) => fmt::Display::fmt(number, f),
            LoginIdentifier::IdNumber(number) => fmt::Display::fmt(number, f),
            LoginIdentifier::Username(name) => fmt::Display::fmt(name, f),
        }
    }
}

impl FromStr for LoginIdentifier {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;

    /// Appends the check character to 17 digits, computed independently of the
    /// module: the weight of position `i` (0-based) is `2^(17-i) mod 11`, and the
    /// check value `c` makes `sum + c ≡ 1 (mod 11)`, 10 written as `X`.
    fn with_check_char(first17: &str) -> String {
        assert_eq!(first17.len(), 17);
        let sum: u64 = first17
            .bytes()
            .enumerate()
            .map(|(i, b)| u64::from(b - b'0') * (2u64.pow(17 - i as u32) % 11))
            .sum();
        let check = (12 - sum % 11) % 11;
        let c = if check == 10 {
            'X'
        } else {
            char::from(b'0' + check as u8)
        };
        format!("{first17}{c}")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    // --- ExamNumber -------------------------------------------------------

    #[test]
    fn twelve_digits_are_an_exam_number() {
        let number = ExamNumber::parse("010219100123").unwrap();
        assert_eq!(number.as_str(), "010219100123");
        assert_eq!(number.to_string(), "010219100123");
    }

    #[test]
    fn malformed_exam_numbers_are_rejected_with_their_code() {
        for bad in [
            "",
            "01021910012",
            "0102191001234",
            "01021910012a",
            " 010219100123",
            "010219100123\n",
            "０１０２１９１００１２３",
            "0102-1910012",
        ] {
            let err = ExamNumber::parse(bad).unwrap_err();
            assert_eq!(err.code, "exam_number.format", "{bad:?}");
        }
    }

    #[test]
    fn an_exam_number_round_trips_through_json_as_a_string() {
        let number = ExamNumber::parse("010219100123").unwrap();
        let json = serde_json::to_string(&number).unwrap();
        assert_eq!(json, "\"010219100123\"");
        assert_eq!(serde_json::from_str::<ExamNumber>(&json).unwrap(), number);
        assert!(serde_json::from_str::<ExamNumber>("\"12345\"").is_err());
    }

    // --- IdNumber ---------------------------------------------------------

    #[test]
    fn the_test_helper_agrees_with_the_well_known_sample() {
        assert_eq!(with_check_char("11010519491231002"), "11010519491231002X");
    }

    #[test]
    fn a_valid_id_number_parses_with_its_birth_date() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), date(1949, 12, 31));
    }

    #[test]
    fn computed_id_numbers_parse() {
        for (first17, born) in [
            ("42010219900307123", date(1990, 3, 7)),
            ("44030420000229004", date(2000, 2, 29)),
            ("81000019000101000", date(1900, 1, 1)),
        ] {
            let text = with_check_char(first17);
            let id = IdNumber::parse(&text).unwrap();
            assert_eq!(id.as_str(), text);
            assert_eq!(id.birth_date(), born);
        }
    }

    #[test]
    fn a_lower_case_x_is_accepted_and_stored_upper_case() {
        let id = IdNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id, IdNumber::parse("11010519491231002X").unwrap());
    }

    #[test]
    fn malformed_id_numbers_are_rejected_with_their_code() {
        let valid_feb29 = with_check_char("44030420000229004");
        let feb29_1900 = with_check_char("44030419000229004");
        let feb30 = with_check_char("44030420000230004");
        let month13 = with_check_char("44030419901301004");
        let day00 = with_check_char("44030419900100004");
        let year1899 = with_check_char("44030418991231004");
        let region0 = with_check_char("04030419900101004");
        let region9 = with_check_char("94030419900101004");
        let mut wrong_check = valid_feb29.clone();
        wrong_check.replace_range(17.., if valid_feb29.ends_with('0') { "1" } else { "0" });
        let cases: Vec<(&str, &str)> = vec![
            ("", "id_number.format"),
            ("11010519491231002", "id_number.format"),
            ("11010519491231002X1", "id_number.format"),
            ("1101051949123100XX", "id_number.format"),
            ("11010519491231002Y", "id_number.format"),
            (" 11010519491231002X", "id_number.format"),
            ("11010519491231002X ", "id_number.format"),
            ("１1010519491231002X", "id_number.format"),
            ("110105-19491231002X", "id_number.format"),
            (&region0, "id_number.format"),
            (&region9, "id_number.format"),
            (&feb29_1900, "id_number.birth_date"),
            (&feb30, "id_number.birth_date"),
            (&month13, "id_number.birth_date"),
            (&day00, "id_number.birth_date"),
            (&year1899, "id_number.birth_date"),
            ("110105194912310020", "id_number.checksum"),
            ("110105194912310021", "id_number.checksum"),
            (&wrong_check, "id_number.checksum"),
        ];
        for (bad, code) in cases {
            let err = IdNumber::parse(bad).unwrap_err();
            assert_eq!(err.code, code, "{bad:?}");
        }
    }

    #[test]
    fn a_birth_date_after_today_is_rejected_only_by_the_date_check() {
        let text = with_check_char("42010220300101123");
        let id = IdNumber::parse(&text).unwrap();
        let today = date(2025, 6, 1);
        assert_eq!(
            id.check_not_future(today).unwrap_err().code,
            "id_number.birth_date"
        );
        assert_eq!(
            IdNumber::parse_as_of(&text, today).unwrap_err().code,
            "id_number.birth_date"
        );
        let born_today = IdNumber::parse(&with_check_char("42010220250601123")).unwrap();
        assert!(born_today.check_not_future(today).is_ok());
    }

    #[test]
    fn the_masked_form_keeps_four_characters_at_each_end() {
        let text = with_check_char("42010219900307123");
        let id = IdNumber::parse(&text).unwrap();
        let masked = id.masked();
        assert_eq!(masked.len(), 18);
        assert_eq!(&masked[..4], "4201");
        assert_eq!(&masked[4..14], "**********");
        assert_eq!(&masked[14..], &text[14..]);
        assert_eq!(
            IdNumber::parse("11010519491231002X").unwrap().masked(),
            "1101**********002X"
        );
    }

    #[test]
    fn debug_and_display_never_show_the_full_id_number() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(format!("{id:?}"), "IdNumber(1101**********002X)");
        assert_eq!(id.to_string(), "1101**********002X");
        let login = LoginIdentifier::parse("11010519491231002X").unwrap();
        assert!(!format!("{login:?}").contains("19491231"));
        assert!(!login.to_string().contains("19491231"));
    }

    #[test]
    fn id_number_violations_do_not_echo_the_input() {
        for bad in [
            "11010519491231002Y",
            "110105194913310024",
            "110105194912310021",
        ] {
            let err = IdNumber::parse(bad).unwrap_err();
            assert!(!err.zh.contains(bad) && !err.en.contains(bad), "{bad:?}");
        }
    }

    #[test]
    fn an_id_number_serialises_in_full_and_deserialises_through_parse() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"11010519491231002X\"");
        assert_eq!(
            serde_json::from_str::<IdNumber>("\"11010519491231002x\"").unwrap(),
            id
        );
        assert!(serde_json::from_str::<IdNumber>("\"110105194912310021\"").is_err());
    }

    // --- PersonName -------------------------------------------------------

    #[test]
    fn valid_names_parse_trimmed() {
        for (input, stored) in [
            ("张三", "张三"),
            ("  欧阳娜娜 ", "欧阳娜娜"),
            ("阿依古丽·买买提", "阿依古丽·买买提"),
            ("阿依古丽・买买提", "阿依古丽·买买提"),
            ("Zhang San", "Zhang San"),
            ("\u{3000}李四\u{3000}", "李四"),
            ("José García", "José García"),
            ("Li", "Li"),
        ] {
            assert_eq!(
                PersonName::parse(input).unwrap().as_str(),
                stored,
                "{input:?}"
            );
        }
    }

    #[test]
    fn malformed_names_are_rejected_with_their_code() {
        let thirty_one: String = "张".repeat(31);
        for bad in [
            "",
            "张",
            "   ",
            thirty_one.as_str(),
            "张三1",
            "Zhang3",
            "张三！",
            "O'Brien",
            "Jean-Luc",
            "Zhang  San",
            "张 三",
            "·张三",
            "张三·",
            "张··三",
            "张 ·三",
            "张•三",
            "Ⅷ世",
            "张三😀",
            "Zhang_San",
        ] {
            let err = PersonName::parse(bad).unwrap_err();
            assert_eq!(err.code, "name.format", "{bad:?}");
        }
    }

    #[test]
    fn name_length_counts_characters_not_bytes() {
        let thirty: String = "张".repeat(30);
        assert!(PersonName::parse(&thirty).is_ok());
    }

    // --- Phone ------------------------------------------------------------

    #[test]
    fn mainland_mobile_numbers_parse_with_or_without_plus_86() {
        assert_eq!(Phone::parse("13812345678").unwrap().as_str(), "13812345678");
        assert_eq!(
            Phone::parse("+8619912345678").unwrap().as_str(),
            "19912345678"
        );
    }

    #[test]
    fn malformed_phone_numbers_are_rejected_with_their_code() {
        for bad in [
            "",
            "1381234567",
            "138123456789",
            "12812345678",
            "10812345678",
            "23812345678",
            "138 1234 5678",
            "138-1234-5678",
            "8613812345678",
            "+86 13812345678",
            "+85213812345678",
            "+86",
            " 13812345678",
            "1381234567a",
            "１３８１２３４５６７８",
        ] {
            let err = Phone::parse(bad).unwrap_err();
            assert_eq!(err.code, "phone.format", "{bad:?}");
        }
    }

    // --- Password ---------------------------------------------------------

    #[test]
    fn a_password_meeting_the_policy_is_kept_as_given() {
        let password = Password::parse(" correct horse ", &["010219100123"]).unwrap();
        assert_eq!(password.expose(), " correct horse ");
        assert!(Password::parse("密码是八个字符呢", &[]).is_ok());
        assert!(Password::parse(&"a".repeat(128), &[]).is_ok());
    }

    #[test]
    fn passwords_breaking_the_policy_are_rejected_with_their_code() {
        let identifiers = ["010219100123", "11010519491231002X", ""];
        let too_long = "a".repeat(129);
        for (bad, code) in [
            ("", "password.too_short"),
            ("abc1234", "password.too_short"),
            ("密码七个字符呢", "password.too_short"),
            (too_long.as_str(), "password.too_long"),
            ("12345678", "password.only_digits"),
            ("０１２３４５６７８", "password.only_digits"),
            ("010219100123", "password.only_digits"),
            ("11010519491231002x", "password.equals_identifier"),
            ("11010519491231002X", "password.equals_identifier"),
        ] {
            let err = Password::parse(bad, &identifiers).unwrap_err();
            assert_eq!(err.code, code, "{bad:?}");
        }
        let err = Password::parse("Wang.Admin", &["wang.admin"]).unwrap_err();
        assert_eq!(err.code, "password.equals_identifier");
    }

    #[test]
    fn a_password_never_shows_in_debug_or_violations() {
        let password = Password::parse("s3cret-passw0rd", &[]).unwrap();
        assert_eq!(format!("{password:?}"), "Password(***)");
        let err = Password::parse("s3cret", &[]).unwrap_err();
        assert!(!err.zh.contains("s3cret") && !err.en.contains("s3cret"));
    }

    // --- Username ---------------------------------------------------------

    #[test]
    fn user_names_are_lower_cased() {
        assert_eq!(
            Username::parse("Wang.Li_01-x").unwrap().as_str(),
            "wang.li_01-x"
        );
        assert_eq!(Username::parse("abc").unwrap().as_str(), "abc");
    }

    #[test]
    fn malformed_user_names_are_rejected_with_their_code() {
        let thirty_three = format!("a{}", "b".repeat(32));
        for bad in [
            "",
            "ab",
            thirty_three.as_str(),
            "1abc",
            "_abc",
            ".abc",
            "ab c",
            " abc",
            "abc@x",
            "wáng",
            "张三丰",
            "010219100123",
            "11010519491231002X",
        ] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err.code, "username.format", "{bad:?}");
        }
    }

    // --- SchoolCode -------------------------------------------------------

    #[test]
    fn school_codes_are_upper_cased() {
        assert_eq!(SchoolCode::parse("hbu01").unwrap().as_str(), "HBU01");
        assert_eq!(SchoolCode::parse("7").unwrap().as_str(), "7");
        assert_eq!(
            SchoolCode::parse("ABCDE12345").unwrap().as_str(),
            "ABCDE12345"
        );
    }

    #[test]
    fn malformed_school_codes_are_rejected_with_their_code() {
        for bad in [
            "",
            "ABCDE123456",
            "HBU-01",
            " HBU01",
            "HBU 01",
            "ＨＢＵ01",
            "湖北大学",
        ] {
            let err = SchoolCode::parse(bad).unwrap_err();
            assert_eq!(err.code, "school_code.format", "{bad:?}");
        }
    }

    // --- Role and Scope ---------------------------------------------------

    #[test]
    fn roles_have_stable_names_and_chinese_labels() {
        let expected = [
            (Role::Candidate, "candidate", "考生"),
            (Role::Staff, "staff", "学校工作人员"),
            (Role::Admin, "admin", "管理员"),
            (Role::Integration, "integration", "集成服务账号"),
        ];
        for (role, name, label) in expected {
            assert_eq!(role.as_str(), name);
            assert_eq!(role.zh_label(), label);
            assert_eq!(Role::parse(name).unwrap(), role);
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<Role>(&format!("\"{name}\"")).unwrap(),
                role
            );
        }
        assert_eq!(Role::parse("Admin").unwrap_err().code, "role.unknown");
    }

    #[test]
    fn scopes_have_exactly_their_documented_names() {
        for (scope, name) in [
            (Scope::VerificationWrite, "verification:write"),
            (Scope::OutboxRead, "outbox:read"),
            (Scope::ApplicationsRead, "applications:read"),
        ] {
            assert_eq!(scope.as_str(), name);
            assert_eq!(scope.to_string(), name);
            assert_eq!(Scope::parse(name).unwrap(), scope);
            assert_eq!(
                serde_json::to_string(&scope).unwrap(),
                format!("\"{name}\"")
            );
            assert_eq!(
                serde_json::from_str::<Scope>(&format!("\"{name}\"")).unwrap(),
                scope
            );
        }
    }

    #[test]
    fn unknown_scopes_are_rejected_with_their_code() {
        for bad in [
            "",
            "outbox",
            "OUTBOX:READ",
            " outbox:read",
            "outbox:write",
            "verification_write",
        ] {
            assert_eq!(
                Scope::parse(bad).unwrap_err().code,
                "scope.unknown",
                "{bad:?}"
            );
        }
    }

    // --- LoginIdentifier --------------------------------------------------

    #[test]
    fn login_identifiers_are_told_apart_by_shape() {
        assert_eq!(
            LoginIdentifier::parse(" 010219100123 ").unwrap(),
            LoginIdentifier::ExamNumber(ExamNumber::parse("010219100123").unwrap())
        );
        assert_eq!(
            LoginIdentifier::parse("11010519491231002x").unwrap(),
            LoginIdentifier::IdNumber(IdNumber::parse("11010519491231002X").unwrap())
        );
        assert_eq!(
            LoginIdentifier::parse("Wang.Li").unwrap(),
            LoginIdentifier::Username(Username::parse("wang.li").unwrap())
        );
        assert_eq!(
            LoginIdentifier::parse("11010519491231002x")
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn unrecognisable_login_identifiers_are_rejected_with_their_code() {
        for bad in [
            "",
            "   ",
            "01021910012",
            "13812345678",
            "110105194912310021",
            "11010519491231002Y",
            "ab",
            "1abc",
            "张三",
            "wang li",
        ] {
            let err = LoginIdentifier::parse(bad).unwrap_err();
            assert_eq!(err.code, "login.format", "{bad:?}");
        }
    }

    // --- Properties -------------------------------------------------------

    /// 17 digits with a region code starting 1–8 and a real birth date from
    /// 1900-01-01 to 2025-12-31, and that date.
    fn valid_first17() -> impl Strategy<Value = (String, NaiveDate)> {
        let first = date(1900, 1, 1);
        let span = (date(2025, 12, 31) - first).num_days();
        (1u8..=8, 0u32..100_000, 0..=span, 0u32..1000).prop_map(
            move |(region_first, region_rest, offset, sequence)| {
                let born = first + chrono::Duration::days(offset);
                let text = format!(
                    "{region_first}{region_rest:05}{:04}{:02}{:02}{sequence:03}",
                    born.year(),
                    born.month(),
                    born.day()
                );
                (text, born)
            },
        )
    }

    proptest! {
        #[test]
        fn every_valid_id_number_parses((first17, born) in valid_first17()) {
            let text = with_check_char(&first17);
            let id = IdNumber::parse(&text).unwrap();
            prop_assert_eq!(id.as_str(), text.as_str());
            prop_assert_eq!(id.birth_date(), born);
            prop_assert!(id.check_not_future(date(2025, 12, 31)).is_ok());
            let login = LoginIdentifier::parse(&text).unwrap();
            prop_assert_eq!(login, LoginIdentifier::IdNumber(id));
        }

        #[test]
        fn changing_any_one_character_of_a_valid_id_number_breaks_it(
            (first17, _born) in valid_first17(),
            position in 0usize..18,
            replacement in prop::sample::select(b"0123456789X".to_vec()),
        ) {
            let text = with_check_char(&first17);
            let mut bytes = text.clone().into_bytes();
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(IdNumber::parse(&changed).is_err(), "{} parsed", changed);
        }

        #[test]
        fn every_twelve_digit_string_is_an_exam_number(n in 0u64..1_000_000_000_000) {
            let text = format!("{n:012}");
            prop_assert_eq!(ExamNumber::parse(&text).unwrap().to_string(), text.clone());
            prop_assert_eq!(
                LoginIdentifier::parse(&text).unwrap(),
                LoginIdentifier::ExamNumber(ExamNumber::parse(&text).unwrap())
            );
        }

        #[test]
        fn nothing_but_twelve_digits_is_an_exam_number(s in "\\PC{0,14}") {
            let ok = s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(ExamNumber::parse(&s).is_ok(), ok);
        }

        #[test]
        fn a_user_name_is_never_an_exam_or_id_number(s in "[a-zA-Z][a-zA-Z0-9._-]{2,31}") {
            let name = Username::parse(&s).unwrap();
            prop_assert_eq!(name.as_str(), s.to_ascii_lowercase());
            prop_assert!(ExamNumber::parse(name.as_str()).is_err());
            prop_assert!(IdNumber::parse(name.as_str()).is_err());
            prop_assert_eq!(
                LoginIdentifier::parse(&s).unwrap(),
                LoginIdentifier::Username(name)
            );
        }

        #[test]
        fn every_mainland_mobile_number_parses(
            second in 3u8..=9,
            rest in 0u64..1_000_000_000,
            plus in any::<bool>(),
        ) {
            let digits = format!("1{second}{rest:09}");
            let text = if plus { format!("+86{digits}") } else { digits.clone() };
            let phone = Phone::parse(&text).unwrap();
            prop_assert_eq!(phone.as_str(), digits.as_str());
        }

        #[test]
        fn all_digit_passwords_are_refused(n in 10_000_000u64..u64::MAX) {
            let err = Password::parse(&n.to_string(), &[]).unwrap_err();
            prop_assert_eq!(err.code, "password.only_digits");
        }

        #[test]
        fn a_password_equal_to_an_identifier_in_any_case_is_refused(
            s in "[a-zA-Z][a-zA-Z0-9]{7,20}",
        ) {
            let err = Password::parse(&s.to_ascii_uppercase(), &[&s.to_ascii_lowercase()])
                .unwrap_err();
            prop_assert_eq!(err.code, "password.equals_identifier");
        }

        #[test]
        fn name_parsing_never_panics_and_keeps_length_bounds(s in "\\PC{0,40}") {
            if let Ok(name) = PersonName::parse(&s) {
                let length = name.as_str().chars().count();
                prop_assert!((2..=30).contains(&length));
                prop_assert!(!name.as_str().chars().any(|c| c.is_numeric()));
            }
        }
    }
}
