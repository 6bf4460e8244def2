//! Certification applications (学历成果认证申请): create, read, list, change, check,
//! submit and withdraw (R7–R18); returns and reviews are in [`super::reviews`].
//!
//! Every rule is checked by `domain::application::assess` against the catalogue
//! version of the application's round. Each change is one transaction with its
//! history row (and, for a status change, an outbox notification); the last line
//! against a doubled submission is the database's live-course unique index.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use domain::application::{
    self, Action, ApplicationStatus, Assessment, HeldCourse, ItemDraft, ItemInput, Kind,
    RouteChoice,
};
use domain::catalog::{CertificateKind, MajorCode};
use domain::eligibility::{PriorDegreeFacts, ScoreInput};
use domain::prior_degree::PriorDegreeStatus;
use domain::{CourseCode, Violation};
use persistence::applications::{
    self as store, ApplicationRow, CertificateFacts, ItemRow, ListFilter, NewApplication, NewItem,
    StatusChange,
};
use persistence::catalog::CatalogVersion;
use persistence::history::{Entity, HistoryRow};
use persistence::outbox::NotificationKind;
use persistence::rounds::RoundRecord;
use persistence::{DbError, accounts};
use uuid::Uuid;

use crate::access::{Actor, Owner};
use crate::catalog_cache::CatalogCache;
use crate::http::problem::{FieldProblem, Msg};
use crate::use_cases::audit::{self, Event};
use crate::use_cases::{Outcome, Refusal};

/// Whose an application is, as its views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The candidate's name.
    pub name: String,
    /// The exam number, once assigned.
    pub exam_number: Option<String>,
    /// The candidate's school.
    pub school_code: Option<String>,
}

impl Candidate {
    fn of(conn: &mut PgConnection, id: Uuid) -> Result<Self, DbError> {
        let (name, exam_number, school_code) = store::candidate_of(conn, id)?;
        Ok(Self {
            name,
            exam_number,
            school_code,
        })
    }
}

/// An application as its views show it: the row, its items, its candidate and the
/// catalogue version of its round.
#[derive(Debug, Clone)]
pub struct Application {
    /// The stored application.
    pub row: ApplicationRow,
    /// Its items, in order.
    pub items: Vec<ItemRow>,
    /// Its candidate.
    pub candidate: Candidate,
    /// The catalogue version of its round.
    pub catalog: Arc<CatalogVersion>,
}

/// A certificate as a request gives it (R13–R15).
#[derive(Debug, Clone)]
pub struct CertificateClaim {
    /// Which certificate.
    pub kind: CertificateKind,
    /// Its number as given (checked: 1–40 characters once trimmed).
    pub number: String,
    /// When it was obtained (checked: not in the future).
    pub obtained_on: NaiveDate,
}

/// A new application as the candidate asks for it.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Degree or certificate.
    pub kind: Kind,
    /// The round; default the current one.
    pub round_id: Option<Uuid>,
    /// The candidate's effective prior degree (degree applications only).
    pub prior_degree_id: Option<Uuid>,
    /// The certificate (certificate applications only).
    pub certificate: Option<CertificateClaim>,
    /// The courses applied for.
    pub items: Vec<ItemDraft>,
}

/// A change to a draft or returned application; absent parts stay as they are.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Another effective prior degree (degree applications).
    pub prior_degree_id: Option<Uuid>,
    /// Another certificate (certificate applications).
    pub certificate: Option<CertificateClaim>,
    /// The new items, replacing the old ones.
    pub items: Option<Vec<ItemDraft>>,
}

impl Change {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.prior_degree_id.is_none() && self.certificate.is_none() && self.items.is_none()
    }
}

/// One problem or warning of the preflight check, with its JSON path (empty for
/// the application as a whole).
#[derive(Debug, Clone)]
pub struct Finding {
    /// The field (`items[2].score_text`, `items`, or empty).
    pub field: String,
    /// What is wrong.
    pub violation: Violation,
}

/// The preflight check of an application (R9, R17, R20).
#[derive(Debug, Clone)]
pub struct Check {
    /// The application's status.
    pub status: ApplicationStatus,
    /// What would refuse a submission now.
    pub errors: Vec<Finding>,
    /// What to look at without refusing.
    pub warnings: Vec<Finding>,
    /// The assessment of the stored items (empty when the route itself fails).
    pub assessment: Assessment,
    /// The catalogue version of the round (for course names).
    pub catalog: Arc<CatalogVersion>,
}

impl Check {
    /// Whether submitting now needs no `confirm_missing`.
    pub fn ready(&self) -> bool {
        self.status.is_editable() && self.errors.is_empty() && self.assessment.missing.is_empty()
    }
}

/// The filters of the application list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only this status.
    pub status: Option<ApplicationStatus>,
    /// Only this round.
    pub round_id: Option<Uuid>,
    /// Only this major.
    pub major_code: Option<String>,
    /// Only this school's candidates.
    pub school_code: Option<String>,
    /// Text in the candidate's name or exam number.
    pub q: Option<String>,
}

fn no_such_application() -> Refusal {
    Refusal::not_found("申请不存在", "no such application")
}

/// The application if the actor may read it (else 404), with its candidate.
/// `lock` takes the row lock for a change.
fn load(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Outcome<(ApplicationRow, Candidate)> {
    let found = if lock {
        store::get_for_update(conn, id)
    } else {
        store::get(conn, id)
    };
    let row = match found {
        Err(DbError::NotFound) => return Err(no_such_application()),
        other => other?,
    };
    let candidate = Candidate::of(conn, row.candidate_id)?;
    if actor.can_read_application(owner(&row, &candidate)) {
        Ok((row, candidate))
    } else {
        Err(no_such_application())
    }
}

fn owner<'a>(row: &ApplicationRow, candidate: &'a Candidate) -> Owner<'a> {
    Owner::new(row.candidate_id, candidate.school_code.as_deref())
}

/// [`load`] with the row locked, for a change the actor must be allowed to make
/// (`allowed`: a question of the access policy), at the version the actor read.
pub(super) fn load_for_change(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    allowed: fn(&Actor, Owner<'_>) -> bool,
) -> Outcome<(ApplicationRow, Candidate)> {
    let (row, candidate) = load(conn, actor, id, true)?;
    if !allowed(actor, owner(&row, &candidate)) {
        return Err(Refusal::Forbidden);
    }
    if expected.is_some_and(|v| v != row.version) {
        return Err(Refusal::Stale(Some(row.version)));
    }
    Ok((row, candidate))
}

/// The stored application with its items, as views show it.
pub(super) fn read_model(
    conn: &mut PgConnection,
    cache: &CatalogCache,
    row: ApplicationRow,
    candidate: Candidate,
) -> Outcome<Application> {
    let version = persistence::rounds::get(conn, row.round_id)?.catalog_version_id;
    let catalog = cache.version(conn, version)?;
    with_items(conn, row, candidate, catalog)
}

/// [`read_model`] when the round's catalogue is already at hand.
fn with_items(
    conn: &mut PgConnection,
    row: ApplicationRow,
    candidate: Candidate,
    catalog: Arc<CatalogVersion>,
) -> Outcome<Application> {
    let items = store::items(conn, row.id)?;
    Ok(Application {
        row,
        items,
        candidate,
        catalog,
    })
}

/// History row and outbox notification of a status change.
pub(super) fn status_changed(
    conn: &mut PgConnection,
    actor: &Actor,
    row: &ApplicationRow,
    action: &str,
    from: ApplicationStatus,
    note: Option<&str>,
) -> Outcome<()> {
    let to = row.status;
    audit::record(
        conn,
        actor,
        &Event {
            entity: Entity::CertificationApplication,
            id: row.id,
            action,
            from: Some(from.as_str()),
            to: Some(to.as_str()),
            note,
        },
    )?;
    audit::notify(
        conn,
        NotificationKind::ApplicationStatus,
        row.candidate_id,
        &serde_json::json!({
            "application_id": row.id,
            "action": action,
            "from_status": from.as_str(),
            "status": to.as_str(),
            "status_label": to.label_zh(),
            "note": note,
        }),
    )?;
    Ok(())
}

/// The application's round, its catalogue and the candidate's major in it.
struct Rules {
    round: RoundRecord,
    catalog: Arc<CatalogVersion>,
    major: MajorCode,
}

fn rules_for(
    conn: &mut PgConnection,
    cache: &CatalogCache,
    round: RoundRecord,
    major: &str,
) -> Outcome<Rules> {
    let catalog = cache.version(conn, round.catalog_version_id)?;
    let unknown = || {
        Refusal::Rule(Violation::new(
            "major.unknown",
            format!("本轮的专业目录中没有您的专业 {major}"),
            format!("your major {major} is not in this round's catalogue"),
        ))
    };
    let major = MajorCode::parse(major).map_err(|_| unknown())?;
    if catalog.catalog.major(&major).is_none() {
        return Err(unknown());
    }
    Ok(Rules {
        round,
        catalog,
        major,
    })
}

fn window_open(round: &RoundRecord, now: DateTime<Utc>) -> Outcome<()> {
    round
        .certification_window
        .check_open(now)
        .map_err(Refusal::Rule)
}

fn not_effective(zh: &str, en: &str) -> Violation {
    Violation::new(
        "prior_degree.not_effective",
        format!("学历证书课程认证须使用本人已生效的前置学历（R7）：{zh}"),
        format!("degree-based certification needs your own effective prior degree (R7): {en}"),
    )
}

/// A route that breaks a rule (inner `Err`), or storage failing (outer).
type RouteOutcome = Outcome<Result<RouteChoice, Violation>>;

/// The prior degree as the degree route needs it: the candidate's and effective
/// (R7), else `prior_degree.not_effective`.
fn degree_route(conn: &mut PgConnection, candidate: Uuid, prior_degree_id: Uuid) -> RouteOutcome {
    let row = match store::prior_degree(conn, prior_degree_id)? {
        Some(row) if row.candidate_id == candidate => row,
        _ => {
            return Ok(Err(not_effective(
                "找不到该前置学历",
                "there is no such prior degree",
            )));
        }
    };
    if row.status != PriorDegreeStatus::Effective {
        let status = row.status;
        return Ok(Err(not_effective(
            &format!("该前置学历的状态为“{}”，尚未生效", status.as_str()),
            &format!("its status is {}, not effective", status.as_str()),
        )));
    }
    Ok(Ok(RouteChoice::Degree(PriorDegreeFacts {
        level: row.level,
        major_name: row.major_name,
        education_type: row.education_type,
    })))
}

/// The route of a stored application.
fn stored_route(conn: &mut PgConnection, row: &ApplicationRow) -> RouteOutcome {
    match (row.prior_degree_id, row.certificate_kind) {
        (Some(id), _) => degree_route(conn, row.candidate_id, id),
        (None, Some(kind)) => Ok(Ok(RouteChoice::Certificate(kind))),
        (None, None) => Err(Refusal::Internal(format!(
            "application {}: no route",
            row.id
        ))),
    }
}

/// The field a stored application's route problems are reported on.
fn route_field(kind: Kind) -> &'static str {
    match kind {
        Kind::Degree => "prior_degree_id",
        Kind::Certificate => "certificate",
    }
}

fn held(
    conn: &mut PgConnection,
    candidate: Uuid,
    except: Option<Uuid>,
) -> Outcome<Vec<HeldCourse>> {
    Ok(store::held_courses(conn, candidate, except)?
        .into_iter()
        .filter_map(|h| {
            Some(HeldCourse {
                course_code: CourseCode::parse(&h.course_code).ok()?,
                certified: h.decision.as_deref() == Some("approved"),
            })
        })
        .collect())
}

fn item_problems(problems: &[application::ItemProblem]) -> Vec<FieldProblem> {
    problems
        .iter()
        .map(|p| FieldProblem::from_violation(p.field.path(p.index), p.violation.clone()))
        .collect()
}

/// Checks the items and turns them into rows, or refuses with every problem.
fn checked_items(
    rules: &Rules,
    route: &RouteChoice,
    items: &[ItemDraft],
    held: &[HeldCourse],
) -> Outcome<Vec<NewItem>> {
    let inputs: Vec<ItemInput<'_>> = items.iter().map(ItemDraft::input).collect();
    let a = application::assess(&rules.catalog.catalog, &rules.major, route, &inputs, held)
        .map_err(|v| Refusal::field("prior_degree_id", v))?;
    let mut errors = item_problems(&a.errors);
    errors.extend(item_problems(&application::score_conflicts(items)));
    if !errors.is_empty() {
        errors.sort_by(|x, y| x.field.cmp(&y.field));
        return Err(Refusal::Invalid(errors));
    }
    Ok(a.checked
        .into_iter()
        .map(|c| NewItem {
            course_code: c.course_code.to_string(),
            rule_id: c.rule_id,
            learned_course_name: c.learned_course_name,
            scores: c
                .scores
                .as_ref()
                .map(|s| s.scores().iter().map(|&x| i16::from(x)).collect()),
            score_text: c.scores.as_ref().map(|s| s.canonical_text()),
        })
        .collect())
}

/// Checks a certificate's number and date (`certificate.number`, `certificate.obtained_on`).
fn certificate_facts(c: &CertificateClaim, now: DateTime<Utc>) -> Outcome<CertificateFacts> {
    let today = domain::window::date_in_shanghai(now);
    let number =
        application::check_certificate(&c.number, c.obtained_on, today).map_err(|problems| {
            Refusal::invalid_fields(
                (problems.into_iter()).map(|(field, v)| (format!("certificate.{field}"), v)),
            )
        })?;
    Ok(CertificateFacts {
        kind: c.kind,
        number,
        obtained_on: c.obtained_on,
    })
}

/// 422 for a route given the wrong way: `missing` names the required field, else the
/// `other` field is not allowed for this kind.
fn route_shape(missing: bool, required: &str, other: &str) -> Refusal {
    let (field, code, message) = if missing {
        (
            required,
            "required",
            Msg::new(
                format!("此类申请须填写 {required}"),
                format!("{required} is required for this kind of application"),
            ),
        )
    } else {
        (
            other,
            "not_allowed",
            Msg::new(
                format!("此类申请不能填写 {other}"),
                format!("{other} is not allowed for this kind of application"),
            ),
        )
    };
    Refusal::Invalid(vec![FieldProblem {
        field: field.to_owned(),
        code: code.into(),
        message,
    }])
}

fn no_items() -> Violation {
    Violation::new(
        "required",
        "申请中至少要有一门课程",
        "an application needs at least one course",
    )
}

/// The round a new application goes to: the one named, or the current one.
fn round_of_draft(
    conn: &mut PgConnection,
    round_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Outcome<RoundRecord> {
    match round_id {
        Some(id) => match persistence::rounds::get(conn, id) {
            Err(DbError::NotFound) => Err(Refusal::field(
                "round_id",
                Violation::new("round.unknown", "没有这个轮次", "there is no such round"),
            )),
            other => Ok(other?),
        },
        None => persistence::rounds::current(conn, now)?.ok_or_else(|| {
            Refusal::Rule(Violation::new(
                "window.closed",
                "当前没有开放中的认证轮次",
                "no round is open for certification applications now",
            ))
        }),
    }
}

/// Creates a draft for the candidate `actor` inside its round's window (R18):
/// degree applications need the candidate's effective prior degree (R7), every item
/// is checked against the round's catalogue version (R8–R15).
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    now: DateTime<Utc>,
    draft: &Draft,
) -> Outcome<Application> {
    if !actor.can_apply() {
        return Err(Refusal::Forbidden);
    }
    let certificate = match (draft.kind, &draft.certificate, draft.prior_degree_id) {
        (Kind::Degree, None, Some(_)) => None,
        (Kind::Certificate, Some(c), None) => Some(certificate_facts(c, now)?),
        (Kind::Degree, _, _) => {
            let missing = draft.prior_degree_id.is_none();
            return Err(route_shape(missing, "prior_degree_id", "certificate"));
        }
        (Kind::Certificate, _, _) => {
            let missing = draft.certificate.is_none();
            return Err(route_shape(missing, "certificate", "prior_degree_id"));
        }
    };
    super::transaction(conn, |conn| {
        let account = accounts::find(conn, actor.id)?;
        let round = round_of_draft(conn, draft.round_id, now)?;
        window_open(&round, now)?;
        let major = account.major_code.as_deref().unwrap_or("");
        let rules = rules_for(conn, cache, round, major)?;
        let route = match (&draft.certificate, draft.prior_degree_id) {
            (Some(c), _) => RouteChoice::Certificate(c.kind),
            (None, Some(id)) => degree_route(conn, actor.id, id)?
                .map_err(|v| Refusal::field("prior_degree_id", v))?,
            (None, None) => return Err(Refusal::Internal("a route was checked above".into())),
        };
        let held = held(conn, actor.id, None)?;
        let items = checked_items(&rules, &route, &draft.items, &held)?;
        let new = NewApplication {
            id: Uuid::now_v7(),
            candidate_id: actor.id,
            round_id: rules.round.id,
            major_code: rules.major.to_string(),
            kind: draft.kind,
            prior_degree_id: certificate
                .is_none()
                .then_some(draft.prior_degree_id)
                .flatten(),
            certificate_kind: certificate.as_ref().map(|c| c.kind),
            certificate_number: certificate.as_ref().map(|c| c.number.clone()),
            certificate_obtained_on: certificate.as_ref().map(|c| c.obtained_on),
            status: ApplicationStatus::Draft,
        };
        let row = store::insert(conn, &new, &items)?;
        audit::record(
            conn,
            actor,
            &Event {
                entity: Entity::CertificationApplication,
                id: row.id,
                action: "create",
                from: None,
                to: Some(ApplicationStatus::Draft.as_str()),
                note: None,
            },
        )?;
        let candidate = Candidate::of(conn, actor.id)?;
        with_items(conn, row, candidate, rules.catalog)
    })
}

/// One application, for whoever may read it (owner, the school's staff, admins).
pub fn get(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    id: Uuid,
) -> Outcome<Application> {
    let (row, candidate) = load(conn, actor, id, false)?;
    read_model(conn, cache, row, candidate)
}

/// One page of the applications the actor may see, newest first, and the total.
pub fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    query: &ListQuery,
    offset: i64,
    limit: i64,
) -> Outcome<(Vec<Application>, i64)> {
    let filter = ListFilter {
        status: query.status.map(|s| s.as_str().to_owned()),
        round_id: query.round_id,
        major_code: query.major_code.clone(),
        school_code: query.school_code.clone(),
        q: query.q.clone(),
    };
    listed(
        conn,
        cache,
        &actor.application_visibility(),
        &filter,
        offset,
        limit,
    )
}

/// Every application of `candidate_id`, newest first (at most 200), for staff of
/// the candidate's school and admins (404 for anyone else).
pub fn of_candidate(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    candidate_id: Uuid,
) -> Outcome<Vec<Application>> {
    crate::use_cases::candidates::require_manager(conn, actor, candidate_id)?;
    let visibility = crate::access::Visibility::Owner(candidate_id);
    Ok(listed(conn, cache, &visibility, &ListFilter::default(), 0, 200)?.0)
}

fn listed(
    conn: &mut PgConnection,
    cache: &CatalogCache,
    visibility: &crate::access::Visibility,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
) -> Outcome<(Vec<Application>, i64)> {
    let (rows, total) = store::list(conn, visibility, filter, offset, limit)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.application.id).collect();
    let mut items_of: HashMap<Uuid, Vec<ItemRow>> = HashMap::new();
    for item in store::items_of(conn, &ids)? {
        items_of.entry(item.application_id).or_default().push(item);
    }
    let mut versions: HashMap<Uuid, i64> = HashMap::new();
    let mut applications = Vec::with_capacity(rows.len());
    for listed in rows {
        let row = listed.application;
        let version = match versions.get(&row.round_id) {
            Some(v) => *v,
            None => {
                let v = persistence::rounds::get(conn, row.round_id)?.catalog_version_id;
                versions.insert(row.round_id, v);
                v
            }
        };
        applications.push(Application {
            items: items_of.remove(&row.id).unwrap_or_default(),
            catalog: cache.version(conn, version)?,
            candidate: Candidate {
                name: listed.candidate_name,
                exam_number: listed.exam_number,
                school_code: listed.school_code,
            },
            row,
        });
    }
    Ok((applications, total))
}

/// Changes the items and/or the route's evidence of a draft or returned
/// application of the owner, inside the window; checked like creation. An empty
/// change answers the application as it is (no new version, no history row).
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    now: DateTime<Utc>,
    (id, expected): (Uuid, Option<i32>),
    change: &Change,
) -> Outcome<Application> {
    let certificate = change
        .certificate
        .as_ref()
        .map(|c| certificate_facts(c, now))
        .transpose()?;
    super::transaction(conn, |conn| {
        let (row, candidate) =
            load_for_change(conn, actor, id, expected, Actor::can_edit_application)?;
        row.status
            .check(Action::Change)
            .map_err(Refusal::Conflict)?;
        let round = persistence::rounds::get(conn, row.round_id)?;
        window_open(&round, now)?;
        if change.is_empty() {
            // Nothing asked: the application as it is, no new version, no history.
            return read_model(conn, cache, row, candidate);
        }
        let rules = rules_for(conn, cache, round, &row.major_code)?;
        let kind = row.kind;
        match kind {
            Kind::Degree if certificate.is_some() => {
                return Err(route_shape(false, "prior_degree_id", "certificate"));
            }
            Kind::Certificate if change.prior_degree_id.is_some() => {
                return Err(route_shape(false, "certificate", "prior_degree_id"));
            }
            _ => {}
        }
        let prior_degree_id = change.prior_degree_id.or(row.prior_degree_id);
        let route = match (&change.certificate, kind) {
            (Some(c), _) => Ok(RouteChoice::Certificate(c.kind)),
            (None, Kind::Degree) => {
                degree_route(conn, row.candidate_id, prior_degree_id.unwrap_or_default())?
            }
            (None, Kind::Certificate) => stored_route(conn, &row)?,
        }
        .map_err(|v| Refusal::field(route_field(kind), v))?;
        let held = held(conn, row.candidate_id, Some(row.id))?;
        let new_items = match &change.items {
            Some(items) => checked_items(&rules, &route, items, &held)?,
            None => {
                // The route changed: the stored items must still pass.
                let stored: Vec<ItemDraft> = store::items(conn, row.id)?
                    .into_iter()
                    .map(|i| ItemDraft {
                        course_code: i.course_code,
                        learned_course_name: i.learned_course_name,
                        scores: None,
                        score_text: i.score_text,
                    })
                    .collect();
                checked_items(&rules, &route, &stored, &held)?
            }
        };
        store::replace_items(conn, &row, &new_items)?;
        let stored_certificate = match (certificate.clone(), kind) {
            (Some(c), _) => Some(c),
            (None, Kind::Certificate) => match (
                row.certificate_kind,
                row.certificate_number.clone(),
                row.certificate_obtained_on,
            ) {
                (Some(kind), Some(number), Some(obtained_on)) => Some(CertificateFacts {
                    kind,
                    number,
                    obtained_on,
                }),
                _ => {
                    return Err(Refusal::Internal(format!(
                        "application {id}: no certificate"
                    )));
                }
            },
            (None, Kind::Degree) => None,
        };
        let degree = (kind == Kind::Degree).then_some(prior_degree_id).flatten();
        let updated = store::update_route(conn, row.id, degree, stored_certificate.as_ref(), now)?;
        let changed: Vec<&str> = [
            (change.items.is_some(), "items"),
            (change.prior_degree_id.is_some(), "prior_degree_id"),
            (certificate.is_some(), "certificate"),
        ]
        .into_iter()
        .filter_map(|(given, name)| given.then_some(name))
        .collect();
        audit::record(
            conn,
            actor,
            &Event {
                entity: Entity::CertificationApplication,
                id: row.id,
                action: "update",
                from: Some(row.status.as_str()),
                to: Some(row.status.as_str()),
                note: Some(&changed.join(", ")),
            },
        )?;
        with_items(conn, updated, candidate, rules.catalog)
    })
}

/// The full assessment of a stored application: its route's problem (on the
/// route's field), or the assessment.
fn assess_stored(
    conn: &mut PgConnection,
    rules: &Rules,
    row: &ApplicationRow,
    items: &[ItemRow],
) -> Outcome<Result<Assessment, Finding>> {
    let field = route_field(row.kind);
    let finding = |violation| Finding {
        field: field.to_owned(),
        violation,
    };
    let route = match stored_route(conn, row)? {
        Ok(route) => route,
        Err(v) => return Ok(Err(finding(v))),
    };
    let held = held(conn, row.candidate_id, Some(row.id))?;
    let inputs: Vec<ItemInput<'_>> = items.iter().map(stored_input).collect();
    match application::assess(&rules.catalog.catalog, &rules.major, &route, &inputs, &held) {
        Ok(a) => Ok(Ok(a)),
        Err(v) => Ok(Err(finding(v))),
    }
}

fn stored_input(item: &ItemRow) -> ItemInput<'_> {
    ItemInput {
        course_code: &item.course_code,
        learned_course_name: item.learned_course_name.as_deref(),
        scores: item
            .score_text
            .as_deref()
            .map(ScoreInput::Text)
            .unwrap_or(ScoreInput::Missing),
    }
}

/// The preflight check (R9, R17, R20): everything that would refuse a submission
/// now, the warnings, and the expected, selected and missing courses.
pub fn check(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    now: DateTime<Utc>,
    id: Uuid,
) -> Outcome<Check> {
    let (row, _) = load(conn, actor, id, false)?;
    let items = store::items(conn, row.id)?;
    let round = persistence::rounds::get(conn, row.round_id)?;
    let window = round.certification_window;
    let rules = rules_for(conn, cache, round, &row.major_code)?;
    let finding = |field: String, violation: &Violation| Finding {
        field,
        violation: violation.clone(),
    };
    let mut errors = Vec::new();
    if row.status.is_editable()
        && let Err(v) = window.check_open(now)
    {
        errors.push(finding(String::new(), &v));
    }
    let assessment = match assess_stored(conn, &rules, &row, &items)? {
        Ok(a) => a,
        Err(route_problem) => {
            errors.push(route_problem);
            Assessment::default()
        }
    };
    for p in &assessment.errors {
        errors.push(finding(p.field.path(p.index), &p.violation));
    }
    if items.is_empty() {
        errors.push(finding("items".into(), &no_items()));
    }
    let mut warnings: Vec<Finding> = assessment
        .warnings
        .iter()
        .map(|p| finding(p.field.path(p.index), &p.violation))
        .collect();
    if !assessment.missing.is_empty() {
        let v = application::selection_incomplete(&assessment);
        warnings.push(finding("items".into(), &v));
    }
    Ok(Check {
        status: row.status,
        errors,
        warnings,
        assessment,
        catalog: rules.catalog,
    })
}

/// Submits a draft or returned application of the owner inside the window (R17,
/// R18): refused with the check's errors, and while certifiable courses are missing
/// unless `confirmed` lists exactly those (R9). Of two concurrent submissions
/// holding the same course the live-course index lets one through.
pub fn submit(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    now: DateTime<Utc>,
    (id, expected): (Uuid, Option<i32>),
    confirmed: &[CourseCode],
) -> Outcome<Application> {
    super::transaction(conn, |conn| {
        let (row, candidate) =
            load_for_change(conn, actor, id, expected, Actor::can_edit_application)?;
        row.status
            .check(Action::Submit)
            .map_err(Refusal::Conflict)?;
        let round = persistence::rounds::get(conn, row.round_id)?;
        window_open(&round, now)?;
        let rules = rules_for(conn, cache, round, &row.major_code)?;
        let items = store::items(conn, row.id)?;
        if items.is_empty() {
            return Err(Refusal::field("items", no_items()));
        }
        let assessment = assess_stored(conn, &rules, &row, &items)?
            .map_err(|f| Refusal::field(f.field, f.violation))?;
        let errors = item_problems(&assessment.errors);
        if !errors.is_empty() {
            return Err(Refusal::Invalid(errors));
        }
        application::check_confirmed_missing(&assessment, confirmed)
            .map_err(|v| Refusal::field("confirm_missing", v))?;
        match store::set_live(conn, row.id, true) {
            Err(DbError::Unique { constraint }) if constraint == store::LIVE_COURSE_KEY => {
                return Err(Refusal::Conflict(Violation::new(
                    "course.duplicate",
                    "其中有课程已在您的另一份申请中提交或已认证，不能重复申请",
                    "a course of this application is already held by another of your applications (submitted or certified)",
                )));
            }
            other => other?,
        }
        let missing: Vec<String> = assessment.missing.iter().map(ToString::to_string).collect();
        let updated = store::set_status(
            conn,
            &row,
            ApplicationStatus::Submitted.as_str(),
            &StatusChange {
                submitted_at: Some(now),
                return_reason: row.return_reason.clone(),
                confirmed_missing: Some(missing.clone()),
                ..StatusChange::default()
            },
            now,
        )?;
        let note =
            (!missing.is_empty()).then(|| format!("confirmed missing: {}", missing.join(", ")));
        status_changed(conn, actor, &updated, "submit", row.status, note.as_deref())?;
        with_items(conn, updated, candidate, rules.catalog)
    })
}

/// The owner takes a submitted, not yet reviewed application back to draft while
/// the window is open; its courses are released.
pub fn withdraw(
    conn: &mut PgConnection,
    actor: &Actor,
    cache: &CatalogCache,
    now: DateTime<Utc>,
    (id, expected): (Uuid, Option<i32>),
) -> Outcome<Application> {
    super::transaction(conn, |conn| {
        let (row, candidate) =
            load_for_change(conn, actor, id, expected, Actor::can_edit_application)?;
        row.status
            .check(Action::Withdraw)
            .map_err(Refusal::Conflict)?;
        let round = persistence::rounds::get(conn, row.round_id)?;
        window_open(&round, now)?;
        store::set_live(conn, row.id, false)?;
        let change = StatusChange {
            clear_submitted: true,
            return_reason: row.return_reason.clone(),
            ..StatusChange::default()
        };
        let updated =
            store::set_status(conn, &row, ApplicationStatus::Draft.as_str(), &change, now)?;
        status_changed(conn, actor, &updated, "withdraw", row.status, None)?;
        read_model(conn, cache, updated, candidate)
    })
}

/// Every change of an application, oldest first, for whoever may read it.
pub fn history(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Outcome<Vec<HistoryRow>> {
    load(conn, actor, id, false)?;
    Ok(persistence::history::list(
        conn,
        Entity::CertificationApplication,
        id,
    )?)
}
