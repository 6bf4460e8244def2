//! Who is calling: the access token's claims, and one extractor per role set of
//! [`crate::access::roles`], so that a handler's signature states who may call it.
//!
//! Extractors run in argument order; handlers take their role extractor first,
//! so an anonymous caller gets 401 before the body is even read.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use domain::account::{Role, Scope};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::roles;
use crate::http::problem::{ApiError, Msg};
use crate::state::AppState;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The account id.
    pub sub: Uuid,
    /// The role.
    pub role: Role,
    /// The school, for staff (and candidates who gave one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    /// Scopes, for service accounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Scope>,
    /// A temporary password must be changed first.
    #[serde(default)]
    pub mcp: bool,
    /// Issuer.
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Token id.
    pub jti: Uuid,
    /// The session: the refresh-token family it was issued with. A token of a
    /// revoked session is refused (`auth.revoked`).
    pub sid: Uuid,
    /// Always `access`: other tokens signed with the key are not access tokens.
    pub typ: String,
}

pub use crate::access::Actor as Principal;

fn unauthorized(code: &'static str, detail: Msg) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::UNAUTHORIZED,
        code,
        Msg::new("需要登录", "Authentication required"),
        detail,
    );
    e.0.retry_after = None;
    e
}

/// 403 for a role that may not do this.
pub fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        Msg::new("无权操作", "Forbidden"),
        Msg::new("当前身份无权执行此操作", "your role may not do this"),
    )
}

/// Reads and verifies the bearer token.
pub fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("AppState missing"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            unauthorized(
                "auth.required",
                Msg::new(
                    "请先登录，并在 Authorization 头中携带 Bearer 令牌",
                    "sign in and send the access token as Authorization: Bearer <token>",
                ),
            )
        })?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            unauthorized(
                "auth.invalid_token",
                Msg::new(
                    "Authorization 头必须是 Bearer 令牌",
                    "the Authorization header must be Bearer <token>",
                ),
            )
        })?;
    let claims: AccessClaims = state.keys.verify_access(token).map_err(|e| {
        let mut err = unauthorized(
            "auth.invalid_token",
            Msg::new(
                "登录已过期或令牌无效，请重新登录",
                "the access token is expired or invalid; sign in again",
            ),
        );
        err.0.internal = Some(e);
        err
    })?;
    if claims.typ != "access" {
        return Err(unauthorized(
            "auth.invalid_token",
            Msg::new("这不是访问令牌", "this is not an access token"),
        ));
    }
    if state.revocations.is_revoked(claims.sid) {
        return Err(unauthorized(
            "auth.revoked",
            Msg::new(
                "登录已失效（已退出登录、修改或重置了密码），请重新登录",
                "this session has ended (signed out, password changed or reset); sign in again",
            ),
        ));
    }
    Ok(Principal {
        id: claims.sub,
        role: claims.role,
        school: claims.school,
        scopes: claims.scopes,
        must_change_password: claims.mcp,
    })
}

fn change_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "password.change_required",
        Msg::new("请先修改临时密码", "Password change required"),
        Msg::new(
            "当前使用的是临时密码，请先通过 PUT /api/v1/me/password 修改密码",
            "you signed in with a temporary password; change it first with PUT /api/v1/me/password",
        ),
    )
}

fn with_roles(req: &HttpRequest, roles: &[Role]) -> Result<Principal, ApiError> {
    let principal = authenticate(req)?;
    if principal.must_change_password {
        return Err(change_required());
    }
    if !roles.is_empty() && !roles.contains(&principal.role) {
        return Err(forbidden());
    }
    Ok(principal)
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $roles:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Principal);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(with_roles(req, $roles).map($name))
            }
        }
    };
}

role_extractor!(
    /// Any signed-in account whose password is not temporary.
    SignedIn, roles::ANY
);
role_extractor!(
    /// A candidate.
    CandidateUser, roles::CANDIDATE
);
role_extractor!(
    /// A person: a candidate, school staff or an admin (a service account: 403).
    Person, roles::PERSON
);
role_extractor!(
    /// School staff or an admin.
    StaffOrAdmin, roles::STAFF_OR_ADMIN
);
role_extractor!(
    /// An admin.
    AdminUser, roles::ADMIN
);
role_extractor!(
    /// A service account (scopes are checked by the handler).
    IntegrationUser, roles::INTEGRATION
);
role_extractor!(
    /// Staff, an admin, or a service account (scopes are checked by the handler).
    StaffAdminOrIntegration, roles::STAFF_ADMIN_OR_INTEGRATION
);

/// Any signed-in account, even one that must change its temporary password
/// (only for changing the password and signing out).
#[derive(Debug, Clone)]
pub struct SignedInAllowingTemporary(pub Principal);

impl FromRequest for SignedInAllowingTemporary {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(SignedInAllowingTemporary))
    }
}
