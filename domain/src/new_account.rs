//! The forms that create accounts and set passwords, checked field by field with
//! every problem reported at once: self-registration (R1), staff and service
//! accounts (R19), schools, and a password change or reset (R2).
//!
//! Each `check_*` returns the typed values or the list of `(field, violation)`;
//! whether a major or a school exists is for the caller, who knows the catalogue
//! and the database.

use chrono::NaiveDate;

use crate::Violation;
use crate::account::{
    ExamNumber, IdNumber, Password, PersonName, Phone, SchoolCode, Scope, Username,
};
use crate::catalog::MajorCode;

/// Problems by field (`name`, `scopes[1]` …), in the order the fields were checked.
pub type Problems = Vec<(String, Violation)>;

fn keep<T>(problems: &mut Problems, field: &str, result: Result<T, Violation>) -> Option<T> {
    result
        .map_err(|v| problems.push((field.to_owned(), v)))
        .ok()
}

/// What a candidate types to register, as text.
#[derive(Debug, Clone, Default)]
pub struct RegistrationForm {
    /// 准考证号.
    pub exam_number: String,
    /// Resident ID number.
    pub id_number: String,
    /// Name.
    pub name: String,
    /// Mobile phone.
    pub phone: String,
    /// The chosen password.
    pub password: String,
    /// Self-study major.
    pub major_code: String,
    /// The school, if any.
    pub school_code: Option<String>,
}

/// A registration whose every field meets its rule.
#[derive(Debug, Clone)]
pub struct Registration {
    /// 准考证号.
    pub exam_number: ExamNumber,
    /// Resident ID number, born no later than today.
    pub id_number: IdNumber,
    /// Name.
    pub name: PersonName,
    /// Mobile phone.
    pub phone: Phone,
    /// The password: the policy, and not the exam or ID number.
    pub password: Password,
    /// Self-study major (its existence is the caller's to check).
    pub major_code: MajorCode,
    /// The school (its existence is the caller's to check).
    pub school_code: Option<SchoolCode>,
}

/// Checks a registration (R1) as of `today`.
pub fn check_registration(
    form: &RegistrationForm,
    today: NaiveDate,
) -> Result<Registration, Problems> {
    let mut problems = Vec::new();
    let p = &mut problems;
    let exam_number = keep(p, "exam_number", ExamNumber::parse(&form.exam_number));
    let id_number = keep(
        p,
        "id_number",
        IdNumber::parse_as_of(&form.id_number, today),
    );
    let name = keep(p, "name", PersonName::parse(&form.name));
    let phone = keep(p, "phone", Phone::parse(&form.phone));
    let identifiers = [form.exam_number.trim(), form.id_number.trim()];
    let password = keep(p, "password", Password::parse(&form.password, &identifiers));
    let major_code = keep(p, "major_code", MajorCode::parse(&form.major_code));
    let school_code = match form.school_code.as_deref() {
        Some(code) => keep(p, "school_code", SchoolCode::parse(code)).map(Some),
        None => Some(None),
    };
    match (
        exam_number,
        id_number,
        name,
        phone,
        password,
        major_code,
        school_code,
    ) {
        (
            Some(exam_number),
            Some(id_number),
            Some(name),
            Some(phone),
            Some(password),
            Some(major_code),
            Some(school_code),
        ) if problems.is_empty() => Ok(Registration {
            exam_number,
            id_number,
            name,
            phone,
            password,
            major_code,
            school_code,
        }),
        _ => Err(problems),
    }
}

/// A staff account an admin creates, as text.
#[derive(Debug, Clone, Default)]
pub struct StaffForm {
    /// Login name.
    pub username: String,
    /// Initial password.
    pub password: String,
    /// Display name.
    pub name: String,
    /// The school the staff member works for.
    pub school_code: String,
}

/// A staff account whose every field meets its rule.
#[derive(Debug, Clone)]
pub struct StaffAccount {
    /// Login name.
    pub username: Username,
    /// Initial password (not the username).
    pub password: Password,
    /// Display name.
    pub name: PersonName,
    /// The school (its existence is the caller's to check).
    pub school_code: SchoolCode,
}

/// Checks a new staff account (R19).
pub fn check_staff(form: &StaffForm) -> Result<StaffAccount, Problems> {
    let mut problems = Vec::new();
    let p = &mut problems;
    let username = keep(p, "username", Username::parse(&form.username));
    let password = keep(
        p,
        "password",
        Password::parse(&form.password, &[form.username.as_str()]),
    );
    let name = keep(p, "name", PersonName::parse(&form.name));
    let school_code = keep(p, "school_code", SchoolCode::parse(&form.school_code));
    match (username, password, name, school_code) {
        (Some(username), Some(password), Some(name), Some(school_code)) => Ok(StaffAccount {
            username,
            password,
            name,
            school_code,
        }),
        _ => Err(problems),
    }
}

/// A service account an admin creates, as text.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountForm {
    /// Login name.
    pub username: String,
    /// What it is for.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// A service account whose every field meets its rule.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    /// Login name.
    pub username: Username,
    /// What it is for: 1–100 characters, trimmed.
    pub name: String,
    /// At least one scope, each once, in the order given.
    pub scopes: Vec<Scope>,
}

/// A trimmed label of 1–100 characters, or `code` with the given wording.
fn label(
    text: &str,
    code: &'static str,
    zh: &'static str,
    en: &'static str,
) -> Result<String, Violation> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 100 {
        return Err(Violation::new(code, zh, en));
    }
    Ok(text.to_owned())
}

/// Checks a new service account: username, a name, at least one known scope.
pub fn check_service_account(form: &ServiceAccountForm) -> Result<ServiceAccount, Problems> {
    let mut problems = Vec::new();
    let p = &mut problems;
    let username = keep(p, "username", Username::parse(&form.username));
    let name = keep(
        p,
        "name",
        label(
            &form.name,
            "name.format",
            "名称须为 1–100 个字符",
            "the name has 1–100 characters",
        ),
    );
    let mut scopes: Vec<Scope> = Vec::new();
    for (i, text) in form.scopes.iter().enumerate() {
        if let Some(scope) = keep(p, &format!("scopes[{i}]"), Scope::parse(text))
            && !scopes.contains(&scope)
        {
            scopes.push(scope);
        }
    }
    if form.scopes.is_empty() {
        problems.push((
            "scopes".into(),
            Violation::new(
                "scope.required",
                "至少授予一个权限范围",
                "grant at least one scope",
            ),
        ));
    }
    match (username, name) {
        (Some(username), Some(name)) if problems.is_empty() => Ok(ServiceAccount {
            username,
            name,
            scopes,
        }),
        _ => Err(problems),
    }
}

/// A new school, as text.
#[derive(Debug, Clone, Default)]
pub struct SchoolForm {
    /// 1–10 letters or digits.
    pub code: String,
    /// 1–100 characters.
    pub name: String,
}

/// Checks a new school: its code and a name of 1–100 characters (trimmed).
pub fn check_school(form: &SchoolForm) -> Result<(SchoolCode, String), Problems> {
    let mut problems = Vec::new();
    let p = &mut problems;
    let code = keep(p, "code", SchoolCode::parse(&form.code));
    let name = keep(
        p,
        "name",
        label(
            &form.name,
            "school.name",
            "学校名称须为 1–100 个字符",
            "a school name has 1–100 characters",
        ),
    );
    match (code, name) {
        (Some(code), Some(name)) => Ok((code, name)),
        _ => Err(problems),
    }
}

/// Checks a new password for an account with these identifiers (exam number, ID
/// number, username) against the policy and, when changing, against the current
/// password (`password.unchanged`). The field is `new_password`.
pub fn check_new_password(
    new: &str,
    identifiers: &[&str],
    current: Option<&str>,
) -> Result<Password, Violation> {
    let password = Password::parse(new, identifiers)?;
    if current.is_some_and(|current| current == password.expose()) {
        return Err(Violation::new(
            "password.unchanged",
            "新密码不能与当前密码相同",
            "the new password must differ from the current one",
        ));
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    }

    fn form() -> RegistrationForm {
        RegistrationForm {
            exam_number: "010118200123".into(),
            id_number: "11010519491231002X".into(),
            name: "张三".into(),
            phone: "13800138000".into(),
            password: "kaoshi2026".into(),
            major_code: "100701".into(),
            school_code: Some("HBU01".into()),
        }
    }

    fn fields(problems: &Problems) -> Vec<&str> {
        problems.iter().map(|(f, _)| f.as_str()).collect()
    }

    #[test]
    fn a_good_registration_is_typed() {
        let r = check_registration(&form(), today()).unwrap();
        assert_eq!(r.exam_number.as_str(), "010118200123");
        assert_eq!(r.school_code.unwrap().as_str(), "HBU01");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = RegistrationForm {
            exam_number: "0101".into(),
            id_number: "110105194912310021".into(),
            name: "张3".into(),
            phone: "1380013800".into(),
            password: "12345678".into(),
            major_code: "".into(),
            school_code: Some("??".into()),
        };
        let problems = check_registration(&bad, today()).unwrap_err();
        assert_eq!(
            fields(&problems),
            [
                "exam_number",
                "id_number",
                "name",
                "phone",
                "password",
                "major_code",
                "school_code"
            ]
        );
    }

    #[test]
    fn the_password_may_not_be_the_exam_number() {
        let f = RegistrationForm {
            password: "11010519491231002x".into(),
            ..form()
        };
        let problems = check_registration(&f, today()).unwrap_err();
        assert_eq!(problems[0].1.code, "password.equals_identifier");
    }

    #[test]
    fn someone_born_after_today_cannot_register() {
        let problems = check_registration(&form(), NaiveDate::from_ymd_opt(1949, 12, 30).unwrap())
            .unwrap_err();
        assert_eq!(fields(&problems), ["id_number"]);
    }

    #[test]
    fn staff_password_may_not_be_the_username() {
        let f = StaffForm {
            username: "li.laoshi".into(),
            password: "li.laoshi".into(),
            name: "李老师".into(),
            school_code: "HBU01".into(),
        };
        let problems = check_staff(&f).unwrap_err();
        assert_eq!(fields(&problems), ["password"]);
        assert_eq!(problems[0].1.code, "password.equals_identifier");
    }

    #[test]
    fn service_accounts_need_a_known_scope_and_keep_each_once() {
        let f = ServiceAccountForm {
            username: "chsi-sync".into(),
            name: " 学信网核验同步 ".into(),
            scopes: vec!["verification:write".into(), "verification:write".into()],
        };
        let account = check_service_account(&f).unwrap();
        assert_eq!(account.scopes, [Scope::VerificationWrite]);
        assert_eq!(account.name, "学信网核验同步");
        let none = ServiceAccountForm {
            scopes: vec![],
            ..f.clone()
        };
        assert_eq!(
            fields(&check_service_account(&none).unwrap_err()),
            ["scopes"]
        );
        let unknown = ServiceAccountForm {
            scopes: vec!["verification:write".into(), "root".into()],
            name: "".into(),
            ..f
        };
        assert_eq!(
            fields(&check_service_account(&unknown).unwrap_err()),
            ["name", "scopes[1]"]
        );
    }

    #[test]
    fn a_school_needs_a_code_and_a_name() {
        let problems = check_school(&SchoolForm {
            code: "".into(),
            name: " ".into(),
        })
        .unwrap_err();
        assert_eq!(fields(&problems), ["code", "name"]);
        let (code, name) = check_school(&SchoolForm {
            code: "hbu01".into(),
            name: " 示例大学 ".into(),
        })
        .unwrap();
        assert_eq!((code.as_str(), name.as_str()), ("HBU01", "示例大学"));
    }

    #[test]
    fn a_new_password_must_differ_from_the_current_one() {
        let same = check_new_password("kaoshi2026", &[], Some("kaoshi2026")).unwrap_err();
        assert_eq!(same.code, "password.unchanged");
        assert!(check_new_password("kaoshi2027", &[], Some("kaoshi2026")).is_ok());
        let short = check_new_password("short", &[], Some("kaoshi2026")).unwrap_err();
        assert_eq!(short.code, "password.too_short");
    }
}
