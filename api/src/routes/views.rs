//! Response bodies shared by several routes.

use chrono::{DateTime, Utc};
use domain::account::{IdNumber, Role};
use persistence::accounts::{AccountRow, SchoolRow};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// An account's profile.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", "role": "candidate", "role_label": "考生",
    "name": "张三", "exam_number": "010118200123", "id_number": "11010519491231002X",
    "id_number_masked": "1101**********002X", "phone": "13800138000", "major_code": "100701",
    "school_code": "HBU01", "username": null, "scopes": [], "must_change_password": false,
    "created_at": "2026-03-01T09:30:00Z"
}))]
pub struct Profile {
    /// Account id.
    pub id: Uuid,
    /// `candidate`, `staff`, `admin` or `integration`.
    #[schema(value_type = String, example = "candidate")]
    pub role: Role,
    /// Chinese label of the role.
    pub role_label: String,
    /// Display name.
    pub name: String,
    /// Candidate's exam number (准考证号).
    pub exam_number: Option<String>,
    /// Candidate's full resident ID number: shown only to its owner; others see `id_number_masked`.
    pub id_number: Option<String>,
    /// The ID number with its middle ten characters hidden.
    pub id_number_masked: Option<String>,
    /// Mobile phone.
    pub phone: Option<String>,
    /// Candidate's self-study major code.
    pub major_code: Option<String>,
    /// The school the account belongs to.
    pub school_code: Option<String>,
    /// Login of staff, admins and service accounts.
    pub username: Option<String>,
    /// Scopes of a service account.
    pub scopes: Vec<String>,
    /// A temporary password must be changed before anything else.
    pub must_change_password: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// Masks an ID number (`4201**********123X`); anything unparseable is fully hidden.
pub fn mask_id_number(id: &str) -> String {
    IdNumber::parse(id)
        .map(|n| n.masked())
        .unwrap_or_else(|_| "*".repeat(id.chars().count()))
}

impl Profile {
    /// The profile as its owner sees it (full ID number).
    pub fn for_owner(row: AccountRow) -> Self {
        let mut profile = Self::for_others(row.clone());
        profile.id_number = row.id_number;
        profile
    }

    /// The profile as staff or admins see it (ID number masked).
    pub fn for_others(row: AccountRow) -> Self {
        let role = row.role;
        Self {
            id: row.id,
            role,
            role_label: role.zh_label().to_owned(),
            name: row.name,
            exam_number: row.exam_number,
            id_number: None,
            id_number_masked: row.id_number.as_deref().map(mask_id_number),
            phone: row.phone,
            major_code: row.major_code,
            school_code: row.school_code,
            username: row.username,
            scopes: row.scopes,
            must_change_password: row.must_change_password,
            created_at: row.created_at,
        }
    }
}

/// A school.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "HBU01", "name": "示例大学继续教育学院", "created_at": "2026-01-05T08:00:00Z"}))]
pub struct School {
    /// School code.
    pub code: String,
    /// School name.
    pub name: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl From<SchoolRow> for School {
    fn from(row: SchoolRow) -> Self {
        Self {
            code: row.code,
            name: row.name,
            created_at: row.created_at,
        }
    }
}
