//! Accounts: self-registration (R1), schools, staff and service accounts (R19),
//! the caller's own profile and password, and a staff reset to a temporary
//! password (R2).
//!
//! Password hashes are made by the caller before the use case runs (Argon2 is
//! slow on purpose and must not hold a pooled connection); the use cases check
//! the rest and write.

use diesel::PgConnection;
use domain::Violation;
use domain::account::Role;
use domain::new_account::{Registration, ServiceAccount, StaffAccount};
use persistence::DbError;
use persistence::accounts::{self, AccountRow, NewAccount, SchoolRow};
use uuid::Uuid;

use crate::access::Actor;
use crate::catalog_cache::CatalogCache;
use crate::http::problem::{FieldProblem, Msg};
use crate::use_cases::candidates::require_manager;
use crate::use_cases::{Outcome, Refusal};

fn field_label(field: &str) -> &'static str {
    match field {
        "exam_number" => "准考证号",
        "id_number" => "身份证号",
        _ => "用户名",
    }
}

/// A refused account insert: a taken login is `account.exists` naming the field,
/// an unknown school `school.unknown`.
fn insert_refused(error: DbError) -> Refusal {
    match error {
        DbError::Unique { constraint } => {
            let field = match constraint.as_str() {
                "accounts_exam_number_key" => "exam_number",
                "accounts_id_number_key" => "id_number",
                _ => "username",
            };
            let label = field_label(field);
            Refusal::taken(
                Msg::new("账号已存在", "Account exists"),
                Violation::new(
                    "account.exists",
                    format!("该{label}已注册，请直接登录或找回密码"),
                    format!("this {field} is already registered; sign in or reset the password"),
                ),
                Some(FieldProblem {
                    field: field.into(),
                    code: "account.exists".into(),
                    message: Msg::new(
                        format!("该{label}已注册"),
                        format!("this {field} is already registered"),
                    ),
                }),
            )
        }
        DbError::Constraint { constraint } if constraint.contains("school") => Refusal::field(
            "school_code",
            Violation::new(
                "school.unknown",
                "学校代码不存在",
                "there is no school with this code",
            ),
        ),
        other => Refusal::Db(other),
    }
}

fn insert(conn: &mut PgConnection, account: NewAccount) -> Outcome<AccountRow> {
    accounts::insert_account(conn, &account).map_err(insert_refused)
}

fn new_account(role: Role, name: String, password_hash: String) -> NewAccount {
    NewAccount {
        id: Uuid::now_v7(),
        role,
        exam_number: None,
        id_number: None,
        username: None,
        name,
        phone: None,
        major_code: None,
        school_code: None,
        password_hash,
        must_change_password: false,
        scopes: Vec::new(),
    }
}

/// Counts a registration attempt from `address` (every attempt that passed
/// validation, whatever comes of it) in its own transaction; past the limit
/// (20 per address per hour) `auth.throttled` until the window ends.
pub fn registration_attempt(
    conn: &mut PgConnection,
    address: std::net::IpAddr,
    now: chrono::DateTime<chrono::Utc>,
) -> Outcome<()> {
    use domain::throttle::Rule;
    let key = address.to_string();
    let counters = super::transaction(conn, |conn| {
        super::throttles::count(conn, &[(Rule::RegisterAddress, key.as_str())], now)
    })?;
    let counter = &counters[0];
    if Rule::RegisterAddress.exceeded(counter) {
        let seconds = Rule::RegisterAddress.window_left(counter, now);
        return Err(super::sign_in::SignInRefusal::Throttled { seconds }.into());
    }
    Ok(())
}

/// Registers a candidate (R1) whose major is in the current catalogue.
pub fn register(
    conn: &mut PgConnection,
    cache: &CatalogCache,
    registration: &Registration,
    password_hash: String,
) -> Outcome<AccountRow> {
    let major = &registration.major_code;
    let known = (cache.current()).is_some_and(|c| c.catalog.major(major).is_some());
    if !known {
        return Err(Refusal::field(
            "major_code",
            Violation::new(
                "major.unknown",
                format!("自考专业 {major} 不在目录中"),
                format!("there is no self-study major {major} in the catalogue"),
            ),
        ));
    }
    let account = NewAccount {
        exam_number: Some(registration.exam_number.as_str().into()),
        id_number: Some(registration.id_number.as_str().into()),
        phone: Some(registration.phone.as_str().into()),
        major_code: Some(major.as_str().into()),
        school_code: (registration.school_code.as_ref()).map(|c| c.as_str().to_owned()),
        ..new_account(
            Role::Candidate,
            registration.name.as_str().into(),
            password_hash,
        )
    };
    insert(conn, account)
}

/// Adds a school (admins); a taken code is `school.exists`.
pub fn create_school(
    conn: &mut PgConnection,
    actor: &Actor,
    (code, name): (&str, &str),
) -> Outcome<SchoolRow> {
    if !actor.can_administer() {
        return Err(Refusal::Forbidden);
    }
    match accounts::insert_school(conn, code, name) {
        Err(DbError::Unique { .. }) => Err(Refusal::taken(
            Msg::new("学校已存在", "School exists"),
            Violation::new(
                "school.exists",
                format!("学校代码 {code} 已存在"),
                format!("a school with code {code} exists"),
            ),
            None,
        )),
        other => Ok(other?),
    }
}

/// One page of schools by code, and the total.
pub fn list_schools(
    conn: &mut PgConnection,
    (offset, limit): (i64, i64),
) -> Outcome<(Vec<SchoolRow>, i64)> {
    Ok(accounts::list_schools(conn, offset, limit)?)
}

/// Creates a staff account for a school (admins, R19).
pub fn create_staff(
    conn: &mut PgConnection,
    actor: &Actor,
    staff: &StaffAccount,
    password_hash: String,
) -> Outcome<AccountRow> {
    if !actor.can_administer() {
        return Err(Refusal::Forbidden);
    }
    let account = NewAccount {
        username: Some(staff.username.as_str().into()),
        school_code: Some(staff.school_code.as_str().into()),
        ..new_account(Role::Staff, staff.name.as_str().into(), password_hash)
    };
    insert(conn, account)
}

/// Creates a service account with its scopes (admins); `secret_hash` is the hash
/// of the secret the caller shows once.
pub fn create_service_account(
    conn: &mut PgConnection,
    actor: &Actor,
    service: &ServiceAccount,
    secret_hash: String,
) -> Outcome<AccountRow> {
    if !actor.can_administer() {
        return Err(Refusal::Forbidden);
    }
    let account = NewAccount {
        username: Some(service.username.as_str().into()),
        scopes: (service.scopes.iter())
            .map(|s| s.as_str().to_owned())
            .collect(),
        ..new_account(Role::Integration, service.name.clone(), secret_hash)
    };
    insert(conn, account)
}

/// Gives service account `id` a new secret (its hash): the old one stops working
/// at once, and so do the refresh tokens issued with it. Admins only; anything but
/// a service account is "no such service account".
pub fn reissue_service_secret(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    secret_hash: &str,
) -> Outcome<AccountRow> {
    if !actor.can_administer() {
        return Err(Refusal::Forbidden);
    }
    let no_such = || Refusal::not_found("找不到该服务账号", "there is no such service account");
    super::transaction(conn, |conn| {
        let row = match accounts::find(conn, id) {
            Err(DbError::NotFound) => return Err(no_such()),
            other => other?,
        };
        if row.role != Role::Integration {
            return Err(no_such());
        }
        set_password(conn, id, secret_hash, false)?;
        Ok(row)
    })
}

/// The actor's own account.
pub fn own_account(conn: &mut PgConnection, actor: &Actor) -> Outcome<AccountRow> {
    Ok(accounts::find(conn, actor.id)?)
}

/// The values a password must not equal for this account (exam number, ID number,
/// username).
pub fn identifiers(account: &AccountRow) -> Vec<&str> {
    [&account.exam_number, &account.id_number, &account.username]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect()
}

/// `password.wrong` against `current_password`.
pub fn wrong_current_password() -> Refusal {
    Refusal::field(
        "current_password",
        Violation::new(
            "password.wrong",
            "当前密码不正确",
            "the current password is wrong",
        ),
    )
}

/// Sets the password of `account_id`, forgets its sign-in failures, revokes every
/// refresh token of it and voids every reset token still unused, in one transaction; `temporary` makes it one
/// that must be changed at the next sign-in.
pub fn set_password(
    conn: &mut PgConnection,
    account_id: Uuid,
    password_hash: &str,
    temporary: bool,
) -> Outcome<()> {
    super::transaction(conn, |conn| {
        accounts::set_password(conn, account_id, password_hash, temporary)?;
        // The failures counted against the old password no longer matter.
        persistence::throttles::clear_account(conn, &account_id.to_string())?;
        accounts::revoke_all_refresh_tokens(conn, account_id)?;
        accounts::spend_all_reset_tokens(conn, account_id, chrono::Utc::now())?;
        Ok(())
    })
}

/// Sets the actor's own new password (after the caller verified the current one).
pub fn change_own_password(
    conn: &mut PgConnection,
    actor: &Actor,
    password_hash: &str,
) -> Outcome<()> {
    set_password(conn, actor.id, password_hash, false)
}

/// Resets a candidate's password to a temporary one (R2, "or by the school
/// office"): staff of the candidate's school and admins; anyone else gets 404.
pub fn reset_candidate_password(
    conn: &mut PgConnection,
    actor: &Actor,
    candidate: Uuid,
    temporary_hash: &str,
) -> Outcome<()> {
    super::transaction(conn, |conn| {
        require_manager(conn, actor, candidate)?;
        set_password(conn, candidate, temporary_hash, true)
    })
}
