//! Administration: schools, staff accounts and service accounts.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpResponse, get, post, web};
use domain::account::{Password, PersonName, Role, SchoolCode, Scope, Username};
use persistence::DbError;
use persistence::accounts::{self, NewAccount};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::principal::AdminUser;
use crate::auth::{password, secret};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::{ApiError, FieldChecks, Msg};
use crate::routes::auth::account_insert_error;
use crate::routes::views::{Profile, School};
use crate::state::AppState;

/// A new school.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "HBU01", "name": "示例大学继续教育学院"}))]
pub struct NewSchool {
    /// 1–10 letters or digits (stored upper-case).
    pub code: String,
    /// 1–100 characters.
    pub name: String,
}

/// Adds a school.
#[utoipa::path(
    tag = "admin",
    operation_id = "create_school",
    request_body = NewSchool,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The school.", body = School),
        (status = 409, description = "`school.exists`: a school has this code.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/admin/schools")]
pub async fn create_school(
    _admin: AdminUser,
    state: web::Data<AppState>,
    body: ApiJson<NewSchool>,
) -> Result<HttpResponse, ApiError> {
    let mut checks = FieldChecks::default();
    let code = checks.check("code", SchoolCode::parse(&body.0.code));
    let name = body.0.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        checks.push(
            "name",
            domain::Violation::new(
                "school.name",
                "学校名称须为 1–100 个字符",
                "a school name has 1–100 characters",
            ),
        );
    }
    checks.finish()?;
    let code = code.ok_or_else(|| ApiError::internal("checked code missing"))?;
    let row = state
        .db(
            move |conn| match accounts::insert_school(conn, code.as_str(), &name) {
                Err(DbError::Unique { .. }) => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "school.exists",
                    Msg::new("学校已存在", "School exists"),
                    Msg::new(
                        format!("学校代码 {code} 已存在"),
                        format!("a school with code {code} exists"),
                    ),
                )),
                other => Ok(other?),
            },
        )
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, "/api/v1/schools"))
        .json(School::from(row)))
}

/// Lists schools by code.
#[utoipa::path(
    tag = "catalogue",
    operation_id = "list_schools",
    params(PageQuery),
    responses((status = 200, description = "One page of schools.", body = Paginated<School>))
)]
#[get("/schools")]
pub async fn list_schools(
    state: web::Data<AppState>,
    query: ApiQuery<PageQuery>,
) -> Result<web::Json<Paginated<School>>, ApiError> {
    let page = query.0.check()?;
    let (rows, total) = state
        .db(move |conn| Ok(accounts::list_schools(conn, page.offset(), page.per_page)?))
        .await?;
    Ok(web::Json(
        page.wrap(rows.into_iter().map(School::from).collect(), total),
    ))
}

/// A new staff account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "li.laoshi", "password": "banzhuren2026", "name": "李老师", "school_code": "HBU01"}))]
pub struct NewStaff {
    /// 3–32 characters: lower-case letters, digits, `.`, `_`, `-`, starting with a letter.
    pub username: String,
    /// At least 8 characters, not only digits.
    pub password: String,
    /// Display name.
    pub name: String,
    /// The school the staff member works for; they see only its candidates.
    pub school_code: String,
}

/// Creates a staff account for a school (R19).
#[utoipa::path(
    tag = "admin",
    operation_id = "create_staff",
    request_body = NewStaff,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The staff account.", body = Profile),
        (status = 409, description = "`account.exists`: the username is taken.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/admin/staff")]
pub async fn create_staff(
    _admin: AdminUser,
    state: web::Data<AppState>,
    body: ApiJson<NewStaff>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let mut checks = FieldChecks::default();
    let username = checks.check("username", Username::parse(&body.username));
    let password = checks.check(
        "password",
        Password::parse(&body.password, &[body.username.as_str()]),
    );
    let name = checks.check("name", PersonName::parse(&body.name));
    let school = checks.check("school_code", SchoolCode::parse(&body.school_code));
    checks.finish()?;
    let (Some(username), Some(password), Some(name), Some(school)) =
        (username, password, name, school)
    else {
        return Err(ApiError::internal("checked fields missing"));
    };
    let hash = web::block(move || password::hash(password.expose()))
        .await?
        .map_err(ApiError::internal)?;
    let account = NewAccount {
        id: Uuid::now_v7(),
        role: Role::Staff.as_str().into(),
        exam_number: None,
        id_number: None,
        username: Some(username.as_str().into()),
        name: name.as_str().into(),
        phone: None,
        major_code: None,
        school_code: Some(school.as_str().into()),
        password_hash: hash,
        must_change_password: false,
        scopes: Vec::new(),
    };
    let row = state
        .db(move |conn| accounts::insert_account(conn, &account).map_err(account_insert_error))
        .await?;
    Ok(HttpResponse::Created().json(Profile::for_others(row)))
}

/// A new service account for an integration script.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "chsi-sync", "name": "学信网核验同步", "scopes": ["verification:write"]}))]
pub struct NewServiceAccount {
    /// Its login, as for staff usernames.
    pub username: String,
    /// What it is for.
    pub name: String,
    /// At least one of `verification:write`, `outbox:read`, `applications:read`.
    pub scopes: Vec<String>,
}

/// A service account with its secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", "username": "chsi-sync", "name": "学信网核验同步",
    "scopes": ["verification:write"], "secret": "Zt2w9nq4yJm0b1s7cV3xR8pL5kD6fH2gA9eU4iO0tQw"}))]
pub struct ServiceAccountCreated {
    /// Account id.
    pub id: Uuid,
    /// Login for `POST /auth/login`.
    pub username: String,
    /// What it is for.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The secret (the `password` at sign-in). Shown only now; stored hashed.
    pub secret: String,
}

/// Creates a service account (role `integration`) with explicit scopes; its
/// secret is returned once and stored only as a hash.
#[utoipa::path(
    tag = "admin",
    operation_id = "create_service_account",
    request_body = NewServiceAccount,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "Created; keep the secret now, it is not shown again.", body = ServiceAccountCreated),
        (status = 409, description = "`account.exists`: the username is taken.", body = crate::http::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/admin/service-accounts")]
pub async fn create_service_account(
    _admin: AdminUser,
    state: web::Data<AppState>,
    body: ApiJson<NewServiceAccount>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let mut checks = FieldChecks::default();
    let username = checks.check("username", Username::parse(&body.username));
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        checks.push(
            "name",
            domain::Violation::new(
                "name.format",
                "名称须为 1–100 个字符",
                "the name has 1–100 characters",
            ),
        );
    }
    let mut scopes: Vec<Scope> = Vec::new();
    for (i, text) in body.scopes.iter().enumerate() {
        if let Some(scope) = checks.check(&format!("scopes[{i}]"), Scope::parse(text))
            && !scopes.contains(&scope)
        {
            scopes.push(scope);
        }
    }
    if body.scopes.is_empty() {
        checks.push(
            "scopes",
            domain::Violation::new(
                "scope.required",
                "至少授予一个权限范围",
                "grant at least one scope",
            ),
        );
    }
    checks.finish()?;
    let username = username.ok_or_else(|| ApiError::internal("checked username missing"))?;
    let secret = secret::new_token();
    let for_hash = secret.clone();
    let hash = web::block(move || password::hash(&for_hash))
        .await?
        .map_err(ApiError::internal)?;
    let account = NewAccount {
        id: Uuid::now_v7(),
        role: Role::Integration.as_str().into(),
        exam_number: None,
        id_number: None,
        username: Some(username.as_str().into()),
        name,
        phone: None,
        major_code: None,
        school_code: None,
        password_hash: hash,
        must_change_password: false,
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
    };
    let row = state
        .db(move |conn| accounts::insert_account(conn, &account).map_err(account_insert_error))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(ServiceAccountCreated {
            id: row.id,
            username: row.username.unwrap_or_default(),
            name: row.name,
            scopes: row.scopes,
            secret,
        }))
}
