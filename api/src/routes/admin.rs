//! Administration: schools, staff accounts and service accounts.

use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpResponse, get, post, web};
use domain::new_account::{self, SchoolForm, ServiceAccountForm, StaffForm};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::password::hash_off_worker;
use crate::auth::principal::AdminUser;
use crate::auth::secret;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::idempotency::carries_secret;
use crate::http::pagination::{PageQuery, Paginated};
use crate::http::problem::ApiError;
use crate::routes::views::{Profile, School};
use crate::state::AppState;
use crate::use_cases::{Refusal, accounts};

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
    admin: AdminUser,
    state: web::Data<AppState>,
    body: ApiJson<NewSchool>,
) -> Result<HttpResponse, ApiError> {
    let form = SchoolForm {
        code: body.0.code,
        name: body.0.name,
    };
    let (code, name) = new_account::check_school(&form).map_err(Refusal::invalid_fields)?;
    let row = state
        .change(move |conn| {
            Ok(accounts::create_school(
                conn,
                &admin.0,
                (code.as_str(), &name),
            )?)
        })
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
        .db(move |conn| {
            Ok(accounts::list_schools(
                conn,
                (page.offset(), page.per_page),
            )?)
        })
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
    admin: AdminUser,
    state: web::Data<AppState>,
    body: ApiJson<NewStaff>,
) -> Result<HttpResponse, ApiError> {
    let form = StaffForm {
        username: body.0.username,
        password: body.0.password,
        name: body.0.name,
        school_code: body.0.school_code,
    };
    let staff = new_account::check_staff(&form).map_err(Refusal::invalid_fields)?;
    let hash = hash_off_worker(staff.password.expose().to_owned()).await?;
    let row = state
        .change(move |conn| Ok(accounts::create_staff(conn, &admin.0, &staff, hash)?))
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

/// Issues a new secret for a service account whose secret was lost or leaked.
///
/// The old secret stops working at once, and so do the refresh tokens signed in
/// with it; the new one is returned once (never stored for `Idempotency-Key`
/// replay: a lost answer means another re-issue). Anything but a service account
/// is 404.
#[utoipa::path(
    tag = "admin",
    operation_id = "reissue_service_account_secret",
    params(("id" = Uuid, Path, description = "The service account's id.")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The new secret; keep it now, it is not shown again.", body = ServiceAccountCreated),
    )
)]
#[post("/admin/service-accounts/{id}/secret")]
pub async fn reissue_service_account_secret(
    admin: AdminUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::http::extract::parse_id(&id)?;
    let secret = secret::new_token();
    let hash = hash_off_worker(secret.clone()).await?;
    let row = state
        .change(move |conn| Ok(accounts::reissue_service_secret(conn, &admin.0, id, &hash)?))
        .await?;
    Ok(carries_secret(
        HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(ServiceAccountCreated {
                id: row.id,
                username: row.username.unwrap_or_default(),
                name: row.name,
                scopes: row.scopes,
                secret,
            }),
    ))
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
    admin: AdminUser,
    state: web::Data<AppState>,
    body: ApiJson<NewServiceAccount>,
) -> Result<HttpResponse, ApiError> {
    let form = ServiceAccountForm {
        username: body.0.username,
        name: body.0.name,
        scopes: body.0.scopes,
    };
    let service = new_account::check_service_account(&form).map_err(Refusal::invalid_fields)?;
    let secret = secret::new_token();
    let hash = hash_off_worker(secret.clone()).await?;
    let row = state
        .change(move |conn| {
            Ok(accounts::create_service_account(
                conn, &admin.0, &service, hash,
            )?)
        })
        .await?;
    Ok(carries_secret(
        HttpResponse::Created()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(ServiceAccountCreated {
                id: row.id,
                username: row.username.unwrap_or_default(),
                name: row.name,
                scopes: row.scopes,
                secret,
            }),
    ))
}
