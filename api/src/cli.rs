//! Administrative commands of the `zikao-cert` binary.

use diesel::PgConnection;
use domain::account::{Password, Role, Username};
use persistence::DbError;
use persistence::accounts::{self, NewAccount};
use uuid::Uuid;

use crate::auth::password;

/// Creates an admin account (`zikao-cert admin create --username NAME`).
pub fn create_admin(
    conn: &mut PgConnection,
    username: &str,
    password_text: &str,
) -> Result<Uuid, String> {
    let username = Username::parse(username).map_err(|v| format!("username: {}", v.en))?;
    let password = Password::parse(password_text, &[username.as_str()])
        .map_err(|v| format!("password: {}", v.en))?;
    let hash = password::hash(password.expose())?;
    let account = NewAccount {
        id: Uuid::now_v7(),
        role: Role::Admin,
        exam_number: None,
        id_number: None,
        username: Some(username.as_str().into()),
        name: username.as_str().into(),
        phone: None,
        major_code: None,
        school_code: None,
        password_hash: hash,
        must_change_password: false,
        scopes: Vec::new(),
    };
    match accounts::insert_account(conn, &account) {
        Ok(row) => Ok(row.id),
        Err(DbError::Unique { .. }) => Err(format!("an account named {username} already exists")),
        Err(e) => Err(e.to_string()),
    }
}
