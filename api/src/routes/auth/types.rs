//! The bodies of the sign-in operations and how they map to the use cases.

use domain::new_account::RegistrationForm;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::use_cases::sign_in::Tokens;

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

/// A refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "q3v8l0mY0n6Wl7dWm1hZr2m2u0cW2y4b8hJbY1a8N9E"}))]
pub struct RefreshRequest {
    /// The refresh token from sign-in or the last refresh.
    pub refresh_token: String,
}

/// Signs out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "q3v8l0mY0n6Wl7dWm1hZr2m2u0cW2y4b8hJbY1a8N9E"}))]
pub struct LogoutRequest {
    /// The refresh token to revoke (with its whole family).
    pub refresh_token: String,
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

impl From<RegisterRequest> for RegistrationForm {
    fn from(body: RegisterRequest) -> Self {
        RegistrationForm {
            exam_number: body.exam_number,
            id_number: body.id_number,
            name: body.name,
            phone: body.phone,
            password: body.password,
            major_code: body.major_code,
            school_code: body.school_code,
        }
    }
}

impl From<Tokens> for TokenPair {
    fn from(tokens: Tokens) -> Self {
        TokenPair {
            access_token: tokens.access_token,
            token_type: "Bearer".into(),
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh_token,
            must_change_password: tokens.must_change_password,
        }
    }
}

impl Accepted {
    /// The answer to every reset request.
    pub fn reset_requested() -> Self {
        Accepted {
            status: "accepted".into(),
            message: "如果该账号存在，重置验证码将发送到其登记的手机。".into(),
        }
    }
}
