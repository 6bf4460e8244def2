//! Certification applications and their items (R7–R20). The database holds the
//! last line: `application_items_live_course_key` lets a candidate hold a course in
//! at most one live item, whatever races happen, so a submission is never doubled.
//!
//! Functions take an open connection; callers run a state change, its history row
//! and its notification in one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use domain::application::{ApplicationStatus, Kind};
use domain::catalog::{CertificateKind, DegreeLevel};
use domain::certificate_number::EducationType;
use domain::prior_degree::PriorDegreeStatus;
use uuid::Uuid;

use crate::DbError;
use crate::schema::{accounts, application_items, certification_applications, prior_degrees};
use crate::visibility::Visibility;

/// The unique index that keeps one live claim per candidate and course.
pub const LIVE_COURSE_KEY: &str = "application_items_live_course_key";

/// An application as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = certification_applications)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ApplicationRow {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// The candidate.
    pub candidate_id: Uuid,
    /// The round (its catalogue version decides the rules).
    pub round_id: Uuid,
    /// The candidate's self-study major when the application was made.
    pub major_code: String,
    /// `degree` or `certificate`.
    #[diesel(deserialize_as = crate::enums::Stored<Kind>)]
    pub kind: Kind,
    /// The prior degree (degree route).
    pub prior_degree_id: Option<Uuid>,
    /// `ncre1`, `ncre2`, `cet4`, `cet6` (certificate route).
    #[diesel(deserialize_as = crate::enums::StoredOpt<CertificateKind>)]
    pub certificate_kind: Option<CertificateKind>,
    /// The certificate's number.
    pub certificate_number: Option<String>,
    /// When the certificate was obtained.
    pub certificate_obtained_on: Option<NaiveDate>,
    /// Status.
    #[diesel(deserialize_as = crate::enums::Stored<ApplicationStatus>)]
    pub status: ApplicationStatus,
    /// Why staff returned it.
    pub return_reason: Option<String>,
    /// Certifiable courses the candidate confirmed leaving out (R9).
    pub confirmed_missing: Vec<String>,
    /// When last submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// When reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Who reviewed it.
    pub reviewed_by: Option<Uuid>,
    /// Bumped by every change; the ETag.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// An item as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = application_items)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ItemRow {
    /// Its application.
    pub application_id: Uuid,
    /// The candidate (denormalised for the live-course index).
    pub candidate_id: Uuid,
    /// The course.
    pub course_code: String,
    /// Order in the application, from 0.
    pub position: i16,
    /// The rule that certifies it.
    pub rule_id: Option<String>,
    /// The learned course name.
    pub learned_course_name: Option<String>,
    /// The scores.
    pub scores: Option<Vec<i16>>,
    /// The canonical score text.
    pub score_text: Option<String>,
    /// Whether it holds its course now.
    pub live: bool,
    /// Staff decision.
    pub decision: Option<String>,
    /// Reason for a rejection.
    pub decision_reason: Option<String>,
}

/// A new application (route fields per kind).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = certification_applications)]
pub struct NewApplication {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// The candidate.
    pub candidate_id: Uuid,
    /// The round.
    pub round_id: Uuid,
    /// The candidate's major.
    pub major_code: String,
    /// `degree` or `certificate`.
    #[diesel(serialize_as = crate::enums::Stored<Kind>)]
    pub kind: Kind,
    /// Degree route.
    pub prior_degree_id: Option<Uuid>,
    /// Certificate route.
    #[diesel(serialize_as = crate::enums::StoredOpt<CertificateKind>)]
    pub certificate_kind: Option<CertificateKind>,
    /// Certificate route.
    pub certificate_number: Option<String>,
    /// Certificate route.
    pub certificate_obtained_on: Option<NaiveDate>,
    /// Always `draft` on creation.
    #[diesel(serialize_as = crate::enums::Stored<ApplicationStatus>)]
    pub status: ApplicationStatus,
}

/// A checked item to store.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// The course.
    pub course_code: String,
    /// The rule that certifies it.
    pub rule_id: String,
    /// The learned course name.
    pub learned_course_name: Option<String>,
    /// The scores.
    pub scores: Option<Vec<i16>>,
    /// The canonical score text (present iff scores are).
    pub score_text: Option<String>,
}

/// A certificate route's facts.
#[derive(Debug, Clone)]
pub struct CertificateFacts {
    /// `ncre1`, `ncre2`, `cet4`, `cet6`.
    pub kind: CertificateKind,
    /// Its number.
    pub number: String,
    /// When obtained.
    pub obtained_on: NaiveDate,
}

/// The facts of a prior degree that degree-based certification needs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = prior_degrees)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct PriorDegreeFactsRow {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub candidate_id: Uuid,
    /// Status; only `effective` counts (R5, R7).
    #[diesel(deserialize_as = crate::enums::Stored<PriorDegreeStatus>)]
    pub status: PriorDegreeStatus,
    /// `associate` or `bachelor`.
    #[diesel(deserialize_as = crate::enums::Stored<DegreeLevel>)]
    pub level: DegreeLevel,
    /// Major name on the certificate.
    pub major_name: String,
    /// `regular`, `adult`, `self_study`, `online`.
    #[diesel(deserialize_as = crate::enums::Stored<EducationType>)]
    pub education_type: EducationType,
    /// When verified.
    pub verified_at: Option<DateTime<Utc>>,
}

/// A prior degree by id.
pub fn prior_degree(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<PriorDegreeFactsRow>, DbError> {
    Ok(prior_degrees::table
        .find(id)
        .select(PriorDegreeFactsRow::as_select())
        .first(conn)
        .optional()?)
}

/// The candidate's most recently verified effective prior degree, if any.
pub fn effective_prior_degree(
    conn: &mut PgConnection,
    candidate_id: Uuid,
) -> Result<Option<PriorDegreeFactsRow>, DbError> {
    Ok(prior_degrees::table
        .filter(prior_degrees::candidate_id.eq(candidate_id))
        .filter(prior_degrees::status.eq("effective"))
        .order((prior_degrees::verified_at.desc(), prior_degrees::id.desc()))
        .select(PriorDegreeFactsRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts an application and its items.
pub fn insert(
    conn: &mut PgConnection,
    new: &NewApplication,
    items: &[NewItem],
) -> Result<ApplicationRow, DbError> {
    diesel::insert_into(certification_applications::table)
        .values(new.clone())
        .execute(conn)?;
    insert_items(conn, new.id, new.candidate_id, items)?;
    get(conn, new.id)
}

fn insert_items(
    conn: &mut PgConnection,
    application_id: Uuid,
    candidate_id: Uuid,
    items: &[NewItem],
) -> Result<(), DbError> {
    let rows: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            (
                application_items::application_id.eq(application_id),
                application_items::candidate_id.eq(candidate_id),
                application_items::course_code.eq(&item.course_code),
                application_items::position.eq(i16::try_from(i).unwrap_or(i16::MAX)),
                application_items::rule_id.eq(Some(&item.rule_id)),
                application_items::learned_course_name.eq(item.learned_course_name.as_ref()),
                application_items::scores.eq(item.scores.as_ref()),
                application_items::score_text.eq(item.score_text.as_ref()),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(application_items::table)
            .values(rows)
            .execute(conn)?;
    }
    Ok(())
}

/// An application by id.
pub fn get(conn: &mut PgConnection, id: Uuid) -> Result<ApplicationRow, DbError> {
    Ok(certification_applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .first(conn)?)
}

/// An application by id, locked until the transaction ends: concurrent changes of
/// one application happen one after the other.
pub fn get_for_update(conn: &mut PgConnection, id: Uuid) -> Result<ApplicationRow, DbError> {
    Ok(certification_applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .for_update()
        .first(conn)?)
}

/// The items of an application, in order.
pub fn items(conn: &mut PgConnection, application_id: Uuid) -> Result<Vec<ItemRow>, DbError> {
    Ok(application_items::table
        .filter(application_items::application_id.eq(application_id))
        .order(application_items::position.asc())
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// The items of several applications, in order.
pub fn items_of(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<ItemRow>, DbError> {
    Ok(application_items::table
        .filter(application_items::application_id.eq_any(ids))
        .order((
            application_items::application_id.asc(),
            application_items::position.asc(),
        ))
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// A course the candidate holds through a live item, with its application's status.
#[derive(Debug, Clone)]
pub struct HeldRow {
    /// The course.
    pub course_code: String,
    /// The application holding it.
    pub application_id: Uuid,
    /// That application's status.
    pub status: String,
    /// The item's decision (approved: certified).
    pub decision: Option<String>,
}

/// The courses the candidate holds (live items), except through `except`.
pub fn held_courses(
    conn: &mut PgConnection,
    candidate_id: Uuid,
    except: Option<Uuid>,
) -> Result<Vec<HeldRow>, DbError> {
    let mut query = application_items::table
        .inner_join(certification_applications::table)
        .filter(application_items::candidate_id.eq(candidate_id))
        .filter(application_items::live.eq(true))
        .select((
            application_items::course_code,
            application_items::application_id,
            certification_applications::status,
            application_items::decision,
        ))
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(application_items::application_id.ne(id));
    }
    let rows: Vec<(String, Uuid, String, Option<String>)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(course_code, application_id, status, decision)| HeldRow {
            course_code,
            application_id,
            status,
            decision,
        })
        .collect())
}

/// Replaces the items of an application (they are not live while editable).
pub fn replace_items(
    conn: &mut PgConnection,
    application: &ApplicationRow,
    items: &[NewItem],
) -> Result<(), DbError> {
    diesel::delete(
        application_items::table.filter(application_items::application_id.eq(application.id)),
    )
    .execute(conn)?;
    insert_items(conn, application.id, application.candidate_id, items)
}

/// Sets the route of an application (prior degree or certificate) and bumps the
/// version; `now` is the change time.
pub fn update_route(
    conn: &mut PgConnection,
    id: Uuid,
    prior_degree_id: Option<Uuid>,
    certificate: Option<&CertificateFacts>,
    now: DateTime<Utc>,
) -> Result<ApplicationRow, DbError> {
    diesel::update(certification_applications::table.find(id))
        .set((
            certification_applications::prior_degree_id.eq(prior_degree_id),
            certification_applications::certificate_kind
                .eq(crate::enums::StoredOpt(certificate.map(|c| c.kind))),
            certification_applications::certificate_number.eq(certificate.map(|c| &c.number)),
            certification_applications::certificate_obtained_on
                .eq(certificate.map(|c| c.obtained_on)),
            certification_applications::updated_at.eq(now),
            certification_applications::version.eq(certification_applications::version + 1),
        ))
        .execute(conn)?;
    get(conn, id)
}

/// Bumps the version of an application (after its items changed).
pub fn touch(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::update(certification_applications::table.find(id))
        .set((
            certification_applications::updated_at.eq(now),
            certification_applications::version.eq(certification_applications::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// A status change's other effects on the application row.
#[derive(Debug, Clone, Default)]
pub struct StatusChange {
    /// Set `submitted_at` (Some) or clear it (None with `clear_submitted`).
    pub submitted_at: Option<DateTime<Utc>>,
    /// Clear `submitted_at` (withdraw).
    pub clear_submitted: bool,
    /// The return reason to set (None clears it).
    pub return_reason: Option<String>,
    /// Confirmed missing courses (on submit).
    pub confirmed_missing: Option<Vec<String>>,
    /// The reviewer (on review).
    pub reviewed_by: Option<Uuid>,
    /// The review time (on review).
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// Moves an application to `status`, bumping its version.
pub fn set_status(
    conn: &mut PgConnection,
    current: &ApplicationRow,
    status: &str,
    change: &StatusChange,
    now: DateTime<Utc>,
) -> Result<ApplicationRow, DbError> {
    let submitted_at = if change.clear_submitted {
        None
    } else {
        change.submitted_at.or(current.submitted_at)
    };
    diesel::update(certification_applications::table.find(current.id))
        .set((
            certification_applications::status.eq(status),
            certification_applications::submitted_at.eq(submitted_at),
            certification_applications::return_reason.eq(change.return_reason.as_ref()),
            certification_applications::confirmed_missing.eq(change
                .confirmed_missing
                .as_ref()
                .unwrap_or(&current.confirmed_missing)),
            certification_applications::reviewed_by.eq(change.reviewed_by.or(current.reviewed_by)),
            certification_applications::reviewed_at.eq(change.reviewed_at.or(current.reviewed_at)),
            certification_applications::updated_at.eq(now),
            certification_applications::version.eq(certification_applications::version + 1),
        ))
        .execute(conn)?;
    get(conn, current.id)
}

/// Makes every item of an application hold its course (`live`), or release it. The
/// live-course index refuses (`DbError::Unique` on [`LIVE_COURSE_KEY`]) if the
/// candidate already holds one of the courses elsewhere.
///
/// Courses are claimed one at a time in course-code order, so two transactions
/// claiming overlapping courses wait for each other in the same order and never
/// deadlock: the second simply gets the unique violation.
pub fn set_live(conn: &mut PgConnection, application_id: Uuid, live: bool) -> Result<(), DbError> {
    let mine =
        application_items::table.filter(application_items::application_id.eq(application_id));
    if !live {
        diesel::update(mine)
            .set((
                application_items::live.eq(false),
                application_items::decision.eq(None::<String>),
                application_items::decision_reason.eq(None::<String>),
            ))
            .execute(conn)?;
        return Ok(());
    }
    let mut codes: Vec<String> = mine.select(application_items::course_code).load(conn)?;
    codes.sort();
    for code in codes {
        diesel::update(mine.filter(application_items::course_code.eq(code)))
            .set((
                application_items::live.eq(true),
                application_items::decision.eq(None::<String>),
                application_items::decision_reason.eq(None::<String>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Records a decision on one item; a rejected item releases its course.
pub fn decide_item(
    conn: &mut PgConnection,
    application_id: Uuid,
    course_code: &str,
    decision: &str,
    reason: Option<&str>,
) -> Result<(), DbError> {
    diesel::update(
        application_items::table
            .filter(application_items::application_id.eq(application_id))
            .filter(application_items::course_code.eq(course_code)),
    )
    .set((
        application_items::decision.eq(decision),
        application_items::decision_reason.eq(reason),
        application_items::live.eq(decision != "rejected"),
    ))
    .execute(conn)?;
    Ok(())
}

/// What a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Filter: status.
    pub status: Option<String>,
    /// Filter: round.
    pub round_id: Option<Uuid>,
    /// Filter: major.
    pub major_code: Option<String>,
    /// Filter: the candidate's school.
    pub school_code: Option<String>,
    /// Filter: text in the candidate's name or exam number.
    pub q: Option<String>,
}

/// An application with its candidate's identity.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The application.
    pub application: ApplicationRow,
    /// The candidate's name.
    pub candidate_name: String,
    /// The candidate's exam number.
    pub exam_number: Option<String>,
    /// The candidate's school.
    pub school_code: Option<String>,
}

/// The candidate's identity for one application.
pub fn candidate_of(
    conn: &mut PgConnection,
    candidate_id: Uuid,
) -> Result<(String, Option<String>, Option<String>), DbError> {
    Ok(accounts::table
        .find(candidate_id)
        .select((accounts::name, accounts::exam_number, accounts::school_code))
        .first(conn)?)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// One page of the applications `visibility` lets through matching `filter`, newest
/// first, and the total.
pub fn list(
    conn: &mut PgConnection,
    visibility: &Visibility,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Listed>, i64), DbError> {
    let build = || {
        let mut query = certification_applications::table
            .inner_join(
                accounts::table.on(accounts::id.eq(certification_applications::candidate_id)),
            )
            .into_boxed();
        match visibility {
            Visibility::Owner(id) => {
                query = query.filter(certification_applications::candidate_id.eq(*id));
            }
            Visibility::School(school) => {
                query = query.filter(accounts::school_code.eq(school.clone()));
            }
            Visibility::All | Visibility::Nothing => {}
        }
        if let Some(status) = &filter.status {
            query = query.filter(certification_applications::status.eq(status.clone()));
        }
        if let Some(round) = filter.round_id {
            query = query.filter(certification_applications::round_id.eq(round));
        }
        if let Some(major) = &filter.major_code {
            query = query.filter(certification_applications::major_code.eq(major.clone()));
        }
        if let Some(school) = &filter.school_code {
            query = query.filter(accounts::school_code.eq(school.clone()));
        }
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = format!("%{}%", escape_like(q));
            query = query.filter(
                accounts::name
                    .ilike(pattern.clone())
                    .or(accounts::exam_number.ilike(pattern)),
            );
        }
        query
    };
    if visibility.is_nothing() {
        return Ok((Vec::new(), 0));
    }
    let total: i64 = build().select(count_star()).first(conn)?;
    let rows: Vec<(ApplicationRow, String, Option<String>, Option<String>)> = build()
        .order(certification_applications::id.desc())
        .offset(offset)
        .limit(limit)
        .select((
            ApplicationRow::as_select(),
            accounts::name,
            accounts::exam_number,
            accounts::school_code,
        ))
        .load(conn)?;
    Ok((
        rows.into_iter()
            .map(
                |(application, candidate_name, exam_number, school_code)| Listed {
                    application,
                    candidate_name,
                    exam_number,
                    school_code,
                },
            )
            .collect(),
        total,
    ))
}
