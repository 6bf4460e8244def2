//! Registration, sign-in, token refresh, sign-out and password resets (R1, R2).

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{Duration, Utc};
use diesel::PgConnection;
use domain::account::{
    ExamNumber, IdNumber, LoginIdentifier, Password, PersonName, Phone, Role, SchoolCode,
};
use domain::catalog::MajorCode;
use persistence::DbError;
use persistence::accounts::{self, AccountRow, LoginKey, NewAccount};
use persistence::outbox::{self, NotificationKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::keys::{ISSUER, Jwks};
use crate::auth::principal::{AccessClaims, SignedInAllowingTemporary};
use crate::auth::{self, password, secret};
use crate::http::extract::ApiJson;
use crate::http::problem::{ApiError, FieldChecks, Msg};
use crate::routes::views::Profile;
use crate::state::AppState;

/// Candidate self-registration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "exam_number": "010118200123", "id_number": "11010519491231002X", "name": "张三",
    "phone": "13800138000", "password": "kaoshi2026", "major_code": "100701", "school_code": "HBU01"
}))]
pub struct RegisterRequest {
    /// 准考证号: 12 digits.
    pub exam_number: String,
    /// 18-character PRC resident ID; the check character is verified (`x` accepted).
    pub id_number: String,
    /// 2–30 characters; Chinese names may contain `·`; no digits.
    pub name: String,
    /// Mainland mobile number: 11 digits starting 1[3-9] (`+86` prefix allowed).
    pub phone: String,
    /// At least 8 characters, not only digits, not the exam or ID number.
    pub password: String,
    /// The self-study major (must exist in the catalogue).
    pub major_code: String,
    /// The school the candidate studies with, if any.
    pub school_code: Option<String>,
}

/// Registers a candidate account (R1).
///
/// Every field is checked and every problem reported at once. A second
/// registration with the same exam number or ID number is 409 `account.exists`.
#[utoipa::path(
    tag = "accounts",
    operation_id = "register",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The new candidate's profile.", body = Profile),
        (status = 409, description = "`account.exists`: the exam number or ID number is already registered.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    body: ApiJson<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let today = Utc::now()
        .with_timezone(&domain::window::shanghai())
        .date_naive();
    let mut checks = FieldChecks::default();
    let exam_number = checks.check("exam_number", ExamNumber::parse(&body.exam_number));
    let id_number = checks.check(
        "id_number",
        IdNumber::parse(&body.id_number).and_then(|id| id.check_not_future(today).map(|_| id)),
    );
    let name = checks.check("name", PersonName::parse(&body.name));
    let phone = checks.check("phone", Phone::parse(&body.phone));
    let password = checks.check(
        "password",
        Password::parse(
            &body.password,
            &[body.exam_number.trim(), body.id_number.trim()],
        ),
    );
    let major_code = checks.check("major_code", MajorCode::parse(&body.major_code));
    let school_code = match body.school_code.as_deref() {
        Some(code) => checks
            .check("school_code", SchoolCode::parse(code))
            .map(Some),
        None => Some(None),
    };
    checks.finish()?;
    let (
        Some(exam_number),
        Some(id_number),
        Some(name),
        Some(phone),
        Some(password),
        Some(major_code),
        Some(school_code),
    ) = (
        exam_number,
        id_number,
        name,
        phone,
        password,
        major_code,
        school_code,
    )
    else {
        return Err(ApiError::internal("checked fields missing"));
    };
    if !major_exists(&state, &major_code) {
        return Err(ApiError::field(
            "major_code",
            domain::Violation::new(
                "major.unknown",
                format!("自考专业 {major_code} 不在目录中"),
                format!("there is no self-study major {major_code} in the catalogue"),
            ),
        ));
    }
    let hash = web::block(move || password::hash(password.expose()))
        .await?
        .map_err(ApiError::internal)?;
    let account = NewAccount {
        id: Uuid::now_v7(),
        role: Role::Candidate.as_str().into(),
        exam_number: Some(exam_number.as_str().into()),
        id_number: Some(id_number.as_str().into()),
        username: None,
        name: name.as_str().into(),
        phone: Some(phone.as_str().into()),
        major_code: Some(major_code.as_str().into()),
        school_code: school_code.map(|c| c.as_str().to_owned()),
        password_hash: hash,
        must_change_password: false,
        scopes: Vec::new(),
    };
    let row = state
        .db(move |conn| accounts::insert_account(conn, &account).map_err(account_insert_error))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, "/api/v1/me"))
        .json(Profile::for_owner(row)))
}

/// Maps a refused account insert: taken login → 409, unknown school → 422.
pub fn account_insert_error(error: DbError) -> ApiError {
    match error {
        DbError::Unique { constraint } => {
            let field = match constraint.as_str() {
                "accounts_exam_number_key" => "exam_number",
                "accounts_id_number_key" => "id_number",
                _ => "username",
            };
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "account.exists",
                Msg::new("账号已存在", "Account exists"),
                Msg::new(
                    format!("该{}已注册，请直接登录或找回密码", field_label(field)),
                    format!("this {field} is already registered; sign in or reset the password"),
                ),
            );
            e.0.errors.push(crate::http::problem::FieldProblem {
                field: field.into(),
                code: "account.exists".into(),
                message: Msg::new(
                    format!("该{}已注册", field_label(field)),
                    format!("this {field} is already registered"),
                ),
            });
            e
        }
        DbError::Constraint { constraint } if constraint.contains("school") => ApiError::field(
            "school_code",
            domain::Violation::new(
                "school.unknown",
                "学校代码不存在",
                "there is no school with this code",
            ),
        ),
        other => other.into(),
    }
}

fn field_label(field: &str) -> &'static str {
    match field {
        "exam_number" => "准考证号",
        "id_number" => "身份证号",
        _ => "用户名",
    }
}

/// Sign-in by exam number, ID number or username.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "010118200123", "password": "kaoshi2026"}))]
pub struct LoginRequest {
    /// An exam number (12 digits), an ID number (18 characters) or a staff, admin
    /// or service-account username.
    pub login: String,
    /// The password (for a service account: its secret).
    pub password: String,
}

/// A fresh pair of tokens.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln",
    "token_type": "Bearer", "expires_in": 900,
    "refresh_token": "q3v8l0mY0n6Wl7dWm1hZr2m2u0cW2y4b8hJbY1a8N9E", "must_change_password": false
}))]
pub struct TokenPair {
    /// A JWT for `Authorization: Bearer …`, valid for `expires_in` seconds.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires (900).
    pub expires_in: i64,
    /// An opaque token for `POST /auth/refresh`; single use, 30 days.
    pub refresh_token: String,
    /// A temporary password must be changed (`PUT /me/password`) before anything else.
    pub must_change_password: bool,
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "auth.invalid_credentials",
        Msg::new("登录失败", "Sign-in failed"),
        Msg::new("账号或密码错误", "wrong login or password"),
    )
}

fn locked(seconds: i64) -> ApiError {
    ApiError::new(
        StatusCode::LOCKED,
        "auth.locked",
        Msg::new("账号已临时锁定", "Account temporarily locked"),
        Msg::new(
            format!(
                "密码错误次数过多，请 {} 分钟后再试，或找回密码",
                (seconds + 59) / 60
            ),
            format!(
                "too many failed sign-ins; try again in {} minutes or reset the password",
                (seconds + 59) / 60
            ),
        ),
    )
    .with_retry_after(seconds.max(1) as u64)
}

fn login_key(identifier: &LoginIdentifier) -> LoginKey {
    match identifier {
        LoginIdentifier::ExamNumber(n) => LoginKey::ExamNumber(n.as_str().into()),
        LoginIdentifier::IdNumber(n) => LoginKey::IdNumber(n.as_str().into()),
        LoginIdentifier::Username(n) => LoginKey::Username(n.as_str().into()),
    }
}

/// Issues an access token and a refresh token of `family` for `account`.
fn issue_tokens(
    conn: &mut PgConnection,
    keys: &crate::auth::keys::JwtKeys,
    account: &AccountRow,
    family: Uuid,
) -> Result<TokenPair, ApiError> {
    let now = Utc::now();
    let role = Role::parse(&account.role).map_err(|e| ApiError::internal(e.to_string()))?;
    let claims = AccessClaims {
        sub: account.id,
        role,
        school: account.school_code.clone(),
        scopes: account
            .scopes
            .iter()
            .filter_map(|s| domain::account::Scope::parse(s).ok())
            .collect(),
        mcp: account.must_change_password,
        iss: ISSUER.into(),
        iat: now.timestamp(),
        exp: now.timestamp() + auth::ACCESS_TOKEN_SECONDS,
        jti: Uuid::now_v7(),
        typ: "access".into(),
    };
    let access_token = keys.sign("at+jwt", &claims).map_err(ApiError::internal)?;
    let refresh_token = secret::new_token();
    accounts::insert_refresh_token(
        conn,
        account.id,
        family,
        &secret::token_hash(&refresh_token),
        now + Duration::days(auth::REFRESH_TOKEN_DAYS),
    )?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer".into(),
        expires_in: auth::ACCESS_TOKEN_SECONDS,
        refresh_token,
        must_change_password: account.must_change_password,
    })
}

fn no_store(pair: TokenPair) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(pair)
}

fn client_address(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Signs in (R1).
///
/// An unknown login and a wrong password get the same 401
/// `auth.invalid_credentials` in the same time. Five failures in a row lock the
/// account for 15 minutes (423 `auth.locked` with `Retry-After`); twenty failures
/// from one address within 15 minutes throttle that address (429 `auth.locked`).
#[utoipa::path(
    tag = "accounts",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenPair),
        (status = 401, description = "`auth.invalid_credentials`: wrong login or password.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 423, description = "`auth.locked`: too many failures for this account; see `Retry-After`.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "`auth.locked`: too many failures from this address; see `Retry-After`.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let address = client_address(&req);
    if let Err(seconds) = state.throttle.check(address) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "auth.locked",
            Msg::new("尝试过于频繁", "Too many attempts"),
            Msg::new(
                "该地址登录失败次数过多，请稍后再试",
                "too many failed sign-ins from this address; wait and retry",
            ),
        );
        e.0.retry_after = Some(seconds);
        return Err(e);
    }
    let LoginRequest { login, password } = body.0;
    let identifier = LoginIdentifier::parse(&login).ok();
    let app = state.clone();
    let result = state
        .db(move |conn| {
            let account = match &identifier {
                Some(identifier) => accounts::find_by_login(conn, &login_key(identifier))?,
                None => None,
            };
            let Some(account) = account else {
                // Same cost as a wrong password.
                let _ = password::verify(&password::DUMMY_HASH, &password);
                return Err(invalid_credentials());
            };
            let now = Utc::now();
            if let Some(until) = account.locked_until.filter(|until| *until > now) {
                return Err(locked((until - now).num_seconds()));
            }
            if !password::verify(&account.password_hash, &password) {
                accounts::record_failure(
                    conn,
                    account.id,
                    auth::MAX_FAILED_LOGINS,
                    now + Duration::minutes(auth::LOCK_MINUTES),
                )?;
                return Err(invalid_credentials());
            }
            conn_transaction(conn, |conn| {
                accounts::record_success(conn, account.id)?;
                issue_tokens(conn, &app.keys, &account, Uuid::now_v7())
            })
        })
        .await;
    match result {
        Ok(pair) => Ok(no_store(pair)),
        Err(e) => {
            if e.problem().code == "auth.invalid_credentials" {
                state.throttle.failure(address);
            }
            Err(e)
        }
    }
}

fn conn_transaction<T>(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    use diesel::Connection;
    conn.transaction(work)
}

/// A refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "q3v8l0mY0n6Wl7dWm1hZr2m2u0cW2y4b8hJbY1a8N9E"}))]
pub struct RefreshRequest {
    /// The refresh token from sign-in or the last refresh.
    pub refresh_token: String,
}

fn invalid_refresh() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "auth.invalid_token",
        Msg::new("需要重新登录", "Sign in again"),
        Msg::new(
            "刷新令牌无效、已过期或已被使用，请重新登录",
            "the refresh token is invalid, expired or spent; sign in again",
        ),
    )
}

/// Exchanges a refresh token for a new pair.
///
/// Refresh tokens rotate: each works once. Presenting a spent one again (a sign
/// it was stolen) revokes every token of its family, and the caller must sign in.
#[utoipa::path(
    tag = "accounts",
    operation_id = "refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the old refresh token is spent.", body = TokenPair),
        (status = 401, description = "`auth.invalid_token`: unknown, expired, revoked or reused.",
            body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = secret::token_hash(&body.0.refresh_token);
    let app = state.clone();
    // The outcome is decided inside the transaction, which commits either way so
    // that a family revoked for reuse stays revoked.
    let outcome: Result<TokenPair, ApiError> = state
        .tx(move |conn| {
            let Some(token) = accounts::refresh_token_for_update(conn, &hash)? else {
                return Ok(Err(invalid_refresh()));
            };
            if token.used_at.is_some() || token.revoked_at.is_some() {
                let revoked = accounts::revoke_family(conn, token.family_id)?;
                tracing::warn!(family = %token.family_id, revoked, "refresh token reused; family revoked");
                return Ok(Err(invalid_refresh()));
            }
            if token.expires_at <= Utc::now() {
                return Ok(Err(invalid_refresh()));
            }
            accounts::mark_refresh_token_used(conn, token.id)?;
            let account = accounts::find(conn, token.account_id)?;
            issue_tokens(conn, &app.keys, &account, token.family_id).map(Ok)
        })
        .await?;
    outcome.map(no_store)
}

/// Signs out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "q3v8l0mY0n6Wl7dWm1hZr2m2u0cW2y4b8hJbY1a8N9E"}))]
pub struct LogoutRequest {
    /// The refresh token to revoke (with its whole family).
    pub refresh_token: String,
}

/// Signs out: revokes the refresh token and its family.
///
/// Always 204 for a signed-in caller, also when the token was already revoked
/// (signing out twice is not an error). Access tokens expire within 15 minutes.
#[utoipa::path(
    tag = "accounts",
    operation_id = "logout",
    request_body = LogoutRequest,
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out."))
)]
#[post("/auth/logout")]
pub async fn logout(
    user: SignedInAllowingTemporary,
    state: web::Data<AppState>,
    body: ApiJson<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = secret::token_hash(&body.0.refresh_token);
    let caller = user.0.id;
    state
        .tx(move |conn| {
            if let Some(token) = accounts::refresh_token_for_update(conn, &hash)?
                && token.account_id == caller
            {
                accounts::revoke_family(conn, token.family_id)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Asks for a password-reset token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "010118200123"}))]
pub struct ResetRequest {
    /// Exam number, ID number or username.
    pub login: String,
}

/// The answer to a reset request, the same whatever the login.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`.
    #[schema(example = "accepted")]
    pub status: String,
    /// What happens next, in Chinese.
    pub message: String,
}

/// Starts a self-service password reset (R2).
///
/// Answers 202 whatever the login, so accounts cannot be discovered. For a real
/// account, a single-use token valid for 30 minutes is written to the
/// notification outbox, from which a gateway sends it by SMS.
#[utoipa::path(
    tag = "accounts",
    operation_id = "request_password_reset",
    request_body = ResetRequest,
    responses((status = 202, description = "Accepted (whether or not the account exists).", body = Accepted))
)]
#[post("/auth/password-resets")]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    body: ApiJson<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    if let Ok(identifier) = LoginIdentifier::parse(&body.0.login) {
        state
            .tx(move |conn| {
                let Some(account) = accounts::find_by_login(conn, &login_key(&identifier))? else {
                    return Ok(());
                };
                if account.role == Role::Integration.as_str() {
                    return Ok(());
                }
                let token = secret::new_token();
                let expires_at = Utc::now() + Duration::minutes(auth::RESET_TOKEN_MINUTES);
                accounts::insert_reset_token(
                    conn,
                    account.id,
                    &secret::token_hash(&token),
                    expires_at,
                )?;
                outbox::enqueue(
                    conn,
                    NotificationKind::PasswordReset,
                    account.id,
                    &serde_json::json!({
                        "token": token,
                        "expires_at": expires_at,
                        "name": account.name,
                        "phone": account.phone,
                    }),
                )?;
                Ok(())
            })
            .await?;
    }
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "accepted".into(),
        message: "如果该账号存在，重置验证码将发送到其登记的手机。".into(),
    }))
}

/// Sets a new password with a reset token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "Zt2w9nq4yJm0b1s7cV3xR8pL5kD6fH2gA9eU4iO0tQw", "new_password": "xinmima2026"}))]
pub struct ResetConfirm {
    /// The token from the reset notification.
    pub token: String,
    /// The new password (same policy as registration).
    pub new_password: String,
}

fn invalid_reset_token() -> ApiError {
    ApiError::field(
        "token",
        domain::Violation::new(
            "password_reset.invalid_token",
            "重置令牌无效、已过期或已使用，请重新申请",
            "the reset token is invalid, expired or already used; request a new one",
        ),
    )
}

/// Completes a password reset (R2): sets the password, spends the token and
/// revokes every refresh token of the account.
#[utoipa::path(
    tag = "accounts",
    operation_id = "confirm_password_reset",
    request_body = ResetConfirm,
    responses((status = 204, description = "The password is set; sign in with it."))
)]
#[post("/auth/password-resets/confirm")]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    body: ApiJson<ResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let ResetConfirm {
        token,
        new_password,
    } = body.0;
    let hash = secret::token_hash(&token);
    let lookup = hash.clone();
    let account = state
        .db(move |conn| {
            use diesel::prelude::*;
            use persistence::schema::password_reset_tokens as t;
            let account_id: Option<Uuid> = t::table
                .filter(t::token_hash.eq(&lookup))
                .filter(t::used_at.is_null())
                .filter(t::expires_at.gt(Utc::now()))
                .select(t::account_id)
                .first(conn)
                .optional()?;
            match account_id {
                Some(id) => Ok(accounts::find(conn, id)?),
                None => Err(invalid_reset_token()),
            }
        })
        .await?;
    let identifiers = identifiers(&account);
    let refs: Vec<&str> = identifiers.iter().map(String::as_str).collect();
    let password =
        Password::parse(&new_password, &refs).map_err(|v| ApiError::field("new_password", v))?;
    let new_hash = web::block(move || password::hash(password.expose()))
        .await?
        .map_err(ApiError::internal)?;
    state
        .tx(move |conn| {
            let Some(account_id) = accounts::spend_reset_token(conn, &hash, Utc::now())? else {
                return Err(invalid_reset_token());
            };
            accounts::set_password(conn, account_id, &new_hash, false)?;
            accounts::revoke_all_refresh_tokens(conn, account_id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The values a password must not equal for this account.
pub fn identifiers(account: &AccountRow) -> Vec<String> {
    [&account.exam_number, &account.id_number, &account.username]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

/// The public keys that verify access tokens and signed decisions.
#[utoipa::path(
    tag = "accounts",
    operation_id = "jwks",
    responses((status = 200, description = "The JSON Web Key Set (Ed25519).", body = Jwks))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .json(state.keys.jwks())
}

/// Whether the current catalogue has this major.
fn major_exists(state: &AppState, code: &MajorCode) -> bool {
    state
        .catalog
        .current()
        .is_some_and(|c| c.catalog.major(code).is_some())
}
