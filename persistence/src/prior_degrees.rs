//! Prior degrees (R3–R7): the stored record, visibility by owner or school, and
//! optimistic updates. Callers run a change and its history row in one
//! transaction (see [`crate::history`]).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use domain::catalog::DegreeLevel;
use domain::certificate_number::EducationType;
use domain::prior_degree::PriorDegreeStatus;

use crate::DbError;
use crate::enums::Stored;
use crate::schema::{accounts, prior_degrees};

/// The unique index that gives a certificate number to at most one record.
pub const CERTIFICATE_NUMBER_KEY: &str = "prior_degrees_certificate_number_key";

/// A prior degree as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = prior_degrees)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct PriorDegreeRow {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// The holder.
    pub candidate_id: Uuid,
    /// The round it was created in.
    pub round_id: Uuid,
    /// `draft`, `submitted`, `effective` or `rejected`.
    #[diesel(deserialize_as = Stored<PriorDegreeStatus>, serialize_as = Stored<PriorDegreeStatus>)]
    pub status: PriorDegreeStatus,
    /// 17 or 18 digits.
    pub certificate_number: String,
    /// Issuing school.
    pub school_name: String,
    /// Major on the certificate.
    pub major_name: String,
    /// `associate` or `bachelor`.
    #[diesel(deserialize_as = Stored<DegreeLevel>, serialize_as = Stored<DegreeLevel>)]
    pub level: DegreeLevel,
    /// `regular`, `adult`, `self_study` or `online`.
    #[diesel(deserialize_as = Stored<EducationType>, serialize_as = Stored<EducationType>)]
    pub education_type: EducationType,
    /// Graduation date.
    pub graduation_date: NaiveDate,
    /// The pledge version accepted (R3).
    pub pledge_version: String,
    /// When it was accepted.
    pub pledge_accepted_at: DateTime<Utc>,
    /// When last submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// The verification feedback of the last result.
    pub verification_feedback: Option<String>,
    /// When the last result was recorded.
    pub verified_at: Option<DateTime<Utc>>,
    /// Who recorded it.
    pub verified_by: Option<Uuid>,
    /// Bumped by every change; the ETag.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A prior degree with its holder's school (for staff visibility).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorDegreeWithSchool {
    /// The record.
    pub degree: PriorDegreeRow,
    /// The holder's school, if any.
    pub school_code: Option<String>,
}

pub use crate::visibility::Visibility;

/// The fields a candidate declares (checked by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DegreeFields {
    /// 17 or 18 digits.
    pub certificate_number: String,
    /// Issuing school.
    pub school_name: String,
    /// Major on the certificate.
    pub major_name: String,
    /// `associate` or `bachelor`.
    pub level: DegreeLevel,
    /// `regular`, `adult`, `self_study` or `online`.
    pub education_type: EducationType,
    /// Graduation date.
    pub graduation_date: NaiveDate,
}

/// Inserts a draft. A number already on file fails with [`DbError::Unique`] on
/// [`CERTIFICATE_NUMBER_KEY`]; the insert runs in a savepoint, so the caller's
/// transaction stays usable after that.
pub fn insert_draft(
    conn: &mut PgConnection,
    candidate_id: Uuid,
    round_id: Uuid,
    fields: &DegreeFields,
    pledge_version: &str,
    now: DateTime<Utc>,
) -> Result<PriorDegreeRow, DbError> {
    let row = PriorDegreeRow {
        id: Uuid::now_v7(),
        candidate_id,
        round_id,
        status: PriorDegreeStatus::Draft,
        certificate_number: fields.certificate_number.clone(),
        school_name: fields.school_name.clone(),
        major_name: fields.major_name.clone(),
        level: fields.level,
        education_type: fields.education_type,
        graduation_date: fields.graduation_date,
        pledge_version: pledge_version.to_owned(),
        pledge_accepted_at: now,
        submitted_at: None,
        verification_feedback: None,
        verified_at: None,
        verified_by: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    conn.transaction(|conn| {
        diesel::insert_into(prior_degrees::table)
            .values(row)
            .returning(PriorDegreeRow::as_returning())
            .get_result(conn)
    })
    .map_err(DbError::from)
}

/// The record and its holder's school, locked for update when `lock`.
pub fn find(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<PriorDegreeWithSchool, DbError> {
    if lock {
        // Lock only the prior degree (not its holder's account row).
        prior_degrees::table
            .find(id)
            .select(prior_degrees::id)
            .for_update()
            .first::<Uuid>(conn)?;
    }
    let (degree, school_code) = prior_degrees::table
        .inner_join(accounts::table.on(accounts::id.eq(prior_degrees::candidate_id)))
        .filter(prior_degrees::id.eq(id))
        .select((PriorDegreeRow::as_select(), accounts::school_code))
        .first(conn)?;
    Ok(PriorDegreeWithSchool {
        degree,
        school_code,
    })
}

/// The record holding a certificate number, locked for update.
pub fn find_by_certificate_number(
    conn: &mut PgConnection,
    number: &str,
) -> Result<PriorDegreeWithSchool, DbError> {
    let id = prior_degrees::table
        .filter(prior_degrees::certificate_number.eq(number))
        .select(prior_degrees::id)
        .for_update()
        .first::<Uuid>(conn)?;
    find(conn, id, false)
}

/// Who holds a certificate number, if anyone.
pub fn certificate_holder(conn: &mut PgConnection, number: &str) -> Result<Option<Uuid>, DbError> {
    Ok(prior_degrees::table
        .filter(prior_degrees::certificate_number.eq(number))
        .select(prior_degrees::candidate_id)
        .first(conn)
        .optional()?)
}

/// One page of the prior degrees `who` may see, newest first, optionally of one
/// status, and the total.
pub fn list(
    conn: &mut PgConnection,
    who: &Visibility,
    status: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<PriorDegreeWithSchool>, i64), DbError> {
    let base = || {
        let mut q = prior_degrees::table
            .inner_join(accounts::table.on(accounts::id.eq(prior_degrees::candidate_id)))
            .into_boxed();
        match who {
            Visibility::Owner(id) => q = q.filter(prior_degrees::candidate_id.eq(*id)),
            Visibility::School(code) => q = q.filter(accounts::school_code.eq(code.clone())),
            Visibility::All => {}
            Visibility::Nothing => {
                q = q.filter(diesel::dsl::sql::<diesel::sql_types::Bool>("false"))
            }
        }
        if let Some(s) = status {
            q = q.filter(prior_degrees::status.eq(s.to_owned()));
        }
        q
    };
    let total = base().count().get_result(conn)?;
    let rows: Vec<(PriorDegreeRow, Option<String>)> = base()
        .order(prior_degrees::id.desc())
        .offset(offset)
        .limit(limit)
        .select((PriorDegreeRow::as_select(), accounts::school_code))
        .load(conn)?;
    Ok((
        rows.into_iter()
            .map(|(degree, school_code)| PriorDegreeWithSchool {
                degree,
                school_code,
            })
            .collect(),
        total,
    ))
}

/// Replaces the declared fields, bumping the version. Like [`insert_draft`], a
/// number already on file is [`DbError::Unique`] and leaves the transaction usable.
pub fn update_fields(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &DegreeFields,
    now: DateTime<Utc>,
) -> Result<PriorDegreeRow, DbError> {
    conn.transaction(|conn| {
        diesel::update(prior_degrees::table.find(id))
            .set((
                prior_degrees::certificate_number.eq(&fields.certificate_number),
                prior_degrees::school_name.eq(&fields.school_name),
                prior_degrees::major_name.eq(&fields.major_name),
                prior_degrees::level.eq(Stored(fields.level)),
                prior_degrees::education_type.eq(Stored(fields.education_type)),
                prior_degrees::graduation_date.eq(fields.graduation_date),
                prior_degrees::updated_at.eq(now),
                prior_degrees::version.eq(prior_degrees::version + 1),
            ))
            .returning(PriorDegreeRow::as_returning())
            .get_result(conn)
    })
    .map_err(DbError::from)
}

/// Marks the record submitted (verification pending), clearing the previous
/// result (history keeps it), bumping the version.
pub fn mark_submitted(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<PriorDegreeRow, DbError> {
    Ok(diesel::update(prior_degrees::table.find(id))
        .set((
            prior_degrees::status.eq("submitted"),
            prior_degrees::submitted_at.eq(Some(now)),
            prior_degrees::verification_feedback.eq(None::<String>),
            prior_degrees::verified_at.eq(None::<DateTime<Utc>>),
            prior_degrees::verified_by.eq(None::<Uuid>),
            prior_degrees::updated_at.eq(now),
            prior_degrees::version.eq(prior_degrees::version + 1),
        ))
        .returning(PriorDegreeRow::as_returning())
        .get_result(conn)?)
}

/// Records a verification result (`effective` or `rejected`), bumping the version.
pub fn mark_verified(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    feedback: Option<&str>,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<PriorDegreeRow, DbError> {
    Ok(diesel::update(prior_degrees::table.find(id))
        .set((
            prior_degrees::status.eq(status),
            prior_degrees::verification_feedback.eq(feedback),
            prior_degrees::verified_at.eq(Some(now)),
            prior_degrees::verified_by.eq(Some(by)),
            prior_degrees::updated_at.eq(now),
            prior_degrees::version.eq(prior_degrees::version + 1),
        ))
        .returning(PriorDegreeRow::as_returning())
        .get_result(conn)?)
}
