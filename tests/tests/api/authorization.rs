//! The authorization matrix, generated from the OpenAPI document: every operation
//! of `api::http::openapi::document()` is called as every persona, on candidate A's
//! records and on candidate B's (another school), and each answer is checked
//! against the expectations table below, which is keyed by `operationId`.
//!
//! The table says who may call an operation at all (the role layer: anonymous →
//! 401, a role the operation does not admit → 403, a temporary password → 403
//! `password.change_required`) and, for an operation on a candidate's record, who
//! may see that record (a candidate their own, staff their school's, admins all;
//! anyone else gets 404, as for an unknown id). An operation of the document missing
//! from the table, or a table entry the document lacks, fails the test: a new
//! endpoint needs its row here.
//!
//! Bodies are minimal. Where the service checks the body before it loads the
//! record (the JSON extractor runs before the handler, and some handlers check
//! fields before the transaction), the body is just valid enough to reach the
//! record check, so that "not yours" is really exercised. Changes send a stale
//! `If-Match`: the record check comes first (404 for others), and an allowed caller
//! stops at 412 `version.stale` without changing anything.

use std::collections::BTreeSet;

use chrono::{TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use tests::{PASSWORD, Reply, TestApp, spawn_app_with_sample};

const MAJOR: &str = "100701";
const PLEDGE: &str = "2018-1";
const SCHOOL_A: &str = "HBU01";
const SCHOOL_B: &str = "WHU02";
/// An `If-Match` no record of the test reaches.
const STALE: &str = "\"999999\"";

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum P {
    Anonymous,
    /// Candidate of school A; owns the A fixtures.
    CandidateA,
    /// Candidate of school B; owns the B fixtures.
    CandidateB,
    StaffA,
    StaffB,
    Admin,
    /// Service account with `outbox:read` only.
    SvcOutbox,
    /// Service account with `verification:write` only.
    SvcVerify,
    /// Service account with `applications:read` only (a scope no operation honours).
    SvcAppsRead,
    /// A candidate of school A signed in with a staff-issued temporary password.
    Temporary,
}

const PERSONAS: [P; 10] = [
    P::Anonymous,
    P::CandidateA,
    P::CandidateB,
    P::StaffA,
    P::StaffB,
    P::Admin,
    P::SvcOutbox,
    P::SvcVerify,
    P::SvcAppsRead,
    P::Temporary,
];

impl P {
    fn role(self) -> &'static str {
        match self {
            P::Anonymous => "",
            P::CandidateA | P::CandidateB | P::Temporary => "candidate",
            P::StaffA | P::StaffB => "staff",
            P::Admin => "admin",
            P::SvcOutbox | P::SvcVerify | P::SvcAppsRead => "integration",
        }
    }

    fn scopes(self) -> &'static [&'static str] {
        match self {
            P::SvcOutbox => &["outbox:read"],
            P::SvcVerify => &["verification:write"],
            P::SvcAppsRead => &["applications:read"],
            _ => &[],
        }
    }
}

/// A role an operation admits (service accounts with a scope).
#[derive(Debug, Clone, Copy)]
enum Allow {
    Candidate,
    Staff,
    Admin,
    Integration(&'static str),
}

impl Allow {
    fn role(self) -> &'static str {
        match self {
            Allow::Candidate => "candidate",
            Allow::Staff => "staff",
            Allow::Admin => "admin",
            Allow::Integration(_) => "integration",
        }
    }

    fn admits(self, p: P) -> bool {
        match self {
            Allow::Integration(scope) => p.role() == "integration" && p.scopes().contains(&scope),
            other => other.role() == p.role(),
        }
    }
}

const CANDIDATE: &[Allow] = &[Allow::Candidate];
const READERS: &[Allow] = &[Allow::Candidate, Allow::Staff, Allow::Admin];
const STAFF: &[Allow] = &[Allow::Staff, Allow::Admin];
const ADMIN: &[Allow] = &[Allow::Admin];
const VERIFIERS: &[Allow] = &[
    Allow::Staff,
    Allow::Admin,
    Allow::Integration("verification:write"),
];
const OUTBOX: &[Allow] = &[Allow::Integration("outbox:read")];

/// Who may call an operation at all.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// No token needed.
    Anyone,
    /// Any signed-in account whose password is not temporary.
    SignedIn,
    /// Any signed-in account, also with a temporary password.
    EvenTemporary,
    /// These roles (and scopes); 403 for the others.
    Only(&'static [Allow]),
}

/// Whose records an admitted caller sees.
#[derive(Debug, Clone, Copy)]
enum Sees {
    /// The candidate themself.
    Owner,
    /// The candidate, staff of the candidate's school, admins.
    OwnerOrSchool,
    /// Staff of the candidate's school, admins.
    School,
    /// Staff of the candidate's school, admins, `verification:write` service accounts.
    SchoolOrVerifier,
}

/// What tells whether the caller saw the record: visibility of a record whose id is
/// in the body or the path.
type BodyCheck = fn(&Reply, &Target) -> Result<bool, String>;

#[derive(Clone, Copy)]
enum By {
    /// Not about a candidate's record: run once.
    Nothing,
    /// The record is in the path: 404 when not visible.
    NotFound,
    /// A list, report or export: the record is in the answer when visible.
    Body(BodyCheck),
}

type BodyFn = fn(&World, &Target, P) -> Value;

#[derive(Clone, Copy)]
enum Send {
    Nothing,
    Json(BodyFn),
    Csv(&'static str),
}

/// One row of the matrix.
#[derive(Clone, Copy)]
struct Entry {
    op: &'static str,
    /// Appended to the path; `{degree}` and `{school}` are the target's.
    query: &'static str,
    who: Who,
    sees: Sees,
    by: By,
    send: Send,
    /// Send the stale `If-Match`.
    stale: bool,
    /// Status (and code) of an admitted call that sees its record.
    ok: (u16, Option<&'static str>),
    /// Run after every other row (it may end the caller's session).
    last: bool,
}

fn entry(op: &'static str, who: Who, ok: u16) -> Entry {
    Entry {
        op,
        query: "",
        who,
        sees: Sees::OwnerOrSchool,
        by: By::Nothing,
        send: Send::Nothing,
        stale: false,
        ok: (ok, None),
        last: false,
    }
}

impl Entry {
    fn query(mut self, query: &'static str) -> Self {
        self.query = query;
        self
    }
    fn record(mut self, sees: Sees, by: By) -> Self {
        self.sees = sees;
        self.by = by;
        self
    }
    fn json(mut self, body: BodyFn) -> Self {
        self.send = Send::Json(body);
        self
    }
    fn csv(mut self, body: &'static str) -> Self {
        self.send = Send::Csv(body);
        self
    }
    fn stale(mut self) -> Self {
        self.stale = true;
        self
    }
    fn code(mut self, code: &'static str) -> Self {
        self.ok.1 = Some(code);
        self
    }
    fn last(mut self) -> Self {
        self.last = true;
        self
    }
}

fn empty(_: &World, _: &Target, _: P) -> Value {
    json!({})
}

fn contains(field: fn(&Target) -> &str) -> impl Fn(&Reply, &Target) -> Result<bool, String> {
    move |reply, target| Ok(reply.text.contains(field(target)))
}

fn lists_degree(reply: &Reply, t: &Target) -> Result<bool, String> {
    contains(|t| &t.degree_id)(reply, t)
}

fn lists_application(reply: &Reply, t: &Target) -> Result<bool, String> {
    contains(|t| &t.application_id)(reply, t)
}

fn lists_candidate(reply: &Reply, t: &Target) -> Result<bool, String> {
    contains(|t| &t.candidate_id)(reply, t)
}

fn counts_school(reply: &Reply, t: &Target) -> Result<bool, String> {
    let body = reply.json();
    let counted = |key: &str| body[key].as_array().is_some_and(|a| !a.is_empty());
    // The target's school has a prior degree: counting that school counts it.
    Ok(body["school_code"] == t.school && counted("prior_degrees_by_status"))
}

/// The batch report's only row: the draft is seen (and refused as not submitted),
/// or answered as unknown.
fn batch_row(reply: &Reply, _: &Target) -> Result<bool, String> {
    let body = reply.json();
    match body["rows"][0]["error"]["code"].as_str() {
        Some("state.conflict") => Ok(true),
        Some("not_found") => Ok(false),
        _ => Err(format!("unexpected batch report {body}")),
    }
}

/// The expectations, keyed by operationId (a few operations have a second row
/// with a query that changes who may call or what is shown).
fn table() -> Vec<Entry> {
    use Who::*;
    vec![
        // Service.
        entry("healthz", Anyone, 200),
        entry("readyz", Anyone, 200),
        entry("jwks", Anyone, 200),
        // Catalogue: public.
        entry("list_courses", Anyone, 200),
        entry("get_course", Anyone, 200),
        entry("list_majors", Anyone, 200),
        entry("get_major", Anyone, 200),
        entry("get_major_eligibility", Anyone, 200),
        // With `prior_degree_id` the eligibility reads a prior degree: a token is
        // needed, service accounts are refused, others' degrees are 404.
        entry("get_major_eligibility", Only(READERS), 200)
            .query("?prior_degree_id={degree}")
            .record(Sees::OwnerOrSchool, By::NotFound),
        entry("list_certificate_kinds", Anyone, 200),
        entry("list_rounds", Anyone, 200),
        entry("get_current_round", Anyone, 200),
        entry("list_schools", Anyone, 200),
        // Accounts: public forms answer the empty body with 422.
        entry("register", Anyone, 422).json(empty).code("required"),
        entry("login", Anyone, 422).json(empty).code("required"),
        entry("refresh", Anyone, 422).json(empty).code("required"),
        entry("request_password_reset", Anyone, 422)
            .json(empty)
            .code("required"),
        entry("confirm_password_reset", Anyone, 422)
            .json(empty)
            .code("required"),
        entry("get_me", SignedIn, 200),
        entry("change_password", EvenTemporary, 422)
            .json(empty)
            .code("required"),
        // Everyone but A tries to sign out A's spare session (it must survive);
        // A signs out a token that is no one's.
        entry("logout", EvenTemporary, 204)
            .json(|w, _, p| {
                let token = if p == P::CandidateA {
                    "not-a-refresh-token"
                } else {
                    w.spare_refresh.as_str()
                };
                json!({ "refresh_token": token })
            })
            .last(),
        // The target is a candidate of the school kept for this (not A or B).
        entry("reset_candidate_password", Only(STAFF), 200).record(Sees::School, By::NotFound),
        // Administration: `{}` is refused by validation once the role is admitted.
        entry("import_catalog", Only(ADMIN), 422)
            .json(empty)
            .code("catalog.format"),
        entry("import_rules_csv", Only(ADMIN), 422)
            .csv("")
            .code("csv.header"),
        entry("create_round", Only(ADMIN), 422)
            .json(empty)
            .code("required"),
        entry("update_round", Only(ADMIN), 412)
            .json(empty)
            .stale()
            .code("version.stale"),
        entry("create_school", Only(ADMIN), 422)
            .json(empty)
            .code("required"),
        entry("create_staff", Only(ADMIN), 422)
            .json(empty)
            .code("required"),
        entry("create_service_account", Only(ADMIN), 422)
            .json(empty)
            .code("required"),
        entry("reissue_service_account_secret", Only(ADMIN), 200),
        // Prior degrees.
        entry("create_prior_degree", Only(CANDIDATE), 422)
            .json(empty)
            .code("required"),
        entry("list_prior_degrees", Only(READERS), 200)
            .record(Sees::OwnerOrSchool, By::Body(lists_degree)),
        entry("get_prior_degree", Only(READERS), 200).record(Sees::OwnerOrSchool, By::NotFound),
        entry("get_prior_degree_history", Only(READERS), 200)
            .record(Sees::OwnerOrSchool, By::NotFound),
        entry("update_prior_degree", Only(CANDIDATE), 412)
            .record(Sees::Owner, By::NotFound)
            .json(empty)
            .stale()
            .code("version.stale"),
        entry("submit_prior_degree", Only(CANDIDATE), 412)
            .record(Sees::Owner, By::NotFound)
            .stale()
            .code("version.stale"),
        // The result is checked before the record is loaded: send a valid one.
        entry("verify_prior_degree", Only(VERIFIERS), 412)
            .record(Sees::SchoolOrVerifier, By::NotFound)
            .json(|_, _, _| json!({"result": "effective"}))
            .stale()
            .code("version.stale"),
        entry("verify_prior_degrees_batch", Only(VERIFIERS), 200)
            .record(Sees::SchoolOrVerifier, By::Body(batch_row))
            .json(
                |_, t, _| json!([{"certificate_number": t.degree_number, "result": "effective"}]),
            ),
        // Certification applications.
        entry("create_certification_application", Only(CANDIDATE), 422)
            .json(empty)
            .code("required"),
        entry("list_certification_applications", Only(READERS), 200)
            .record(Sees::OwnerOrSchool, By::Body(lists_application)),
        entry("list_certification_applications", Only(READERS), 200)
            .query("?school_code={school}")
            .record(Sees::OwnerOrSchool, By::Body(lists_application)),
        // Service accounts: 403 on these reads, as on the list (found by this
        // matrix: they got 404 while the handlers took any signed-in role).
        entry("get_certification_application", Only(READERS), 200)
            .record(Sees::OwnerOrSchool, By::NotFound),
        entry("check_certification_application", Only(READERS), 200)
            .record(Sees::OwnerOrSchool, By::NotFound),
        entry("get_certification_application_history", Only(READERS), 200)
            .record(Sees::OwnerOrSchool, By::NotFound),
        // A draft has no decision yet: 409 once the record check passed.
        entry("signed_decision", Only(READERS), 409)
            .record(Sees::OwnerOrSchool, By::NotFound)
            .code("state.conflict"),
        entry("update_certification_application", Only(CANDIDATE), 412)
            .record(Sees::Owner, By::NotFound)
            .json(empty)
            .stale()
            .code("version.stale"),
        entry("submit_certification_application", Only(CANDIDATE), 412)
            .record(Sees::Owner, By::NotFound)
            .json(empty)
            .stale()
            .code("version.stale"),
        entry("withdraw_certification_application", Only(CANDIDATE), 412)
            .record(Sees::Owner, By::NotFound)
            .stale()
            .code("version.stale"),
        // The reason is checked before the record is loaded: send one.
        entry("return_certification_application", Only(STAFF), 412)
            .record(Sees::School, By::NotFound)
            .json(|_, _, _| json!({"reason": "请核对成绩"}))
            .stale()
            .code("version.stale"),
        entry("review_certification_application", Only(STAFF), 412)
            .record(Sees::School, By::NotFound)
            .json(|_, _, _| json!({"items": []}))
            .stale()
            .code("version.stale"),
        entry("get_my_progress", Only(CANDIDATE), 200),
        // Staff.
        entry("list_candidates", Only(STAFF), 200).record(Sees::School, By::Body(lists_candidate)),
        entry("list_candidates", Only(STAFF), 200)
            .query("?school_code={school}")
            .record(Sees::School, By::Body(lists_candidate)),
        entry("import_candidates", Only(STAFF), 422)
            .csv("")
            .code("csv.header_missing"),
        entry("get_candidate", Only(STAFF), 200).record(Sees::School, By::NotFound),
        entry("export_applications_csv", Only(STAFF), 200)
            .record(Sees::School, By::Body(lists_application)),
        entry("export_applications_csv", Only(STAFF), 200)
            .query("?school_code={school}")
            .record(Sees::School, By::Body(lists_application)),
        entry("statistics", Only(STAFF), 200),
        entry("statistics", Only(STAFF), 200)
            .query("?school_code={school}")
            .record(Sees::School, By::Body(counts_school)),
        // Integration.
        entry("read_outbox", Only(OUTBOX), 200),
        entry("ack_outbox", Only(OUTBOX), 204),
    ]
}

/// One candidate's fixtures.
struct Target {
    name: &'static str,
    owner: P,
    staff: P,
    school: &'static str,
    candidate_id: String,
    degree_id: String,
    degree_number: String,
    application_id: String,
    /// A candidate of the same school whose password the matrix resets.
    victim_id: String,
}

impl Target {
    fn seen_by(&self, sees: Sees, p: P) -> bool {
        match sees {
            Sees::Owner => p == self.owner,
            Sees::OwnerOrSchool => p == self.owner || p == self.staff || p == P::Admin,
            Sees::School => p == self.staff || p == P::Admin,
            Sees::SchoolOrVerifier => p == self.staff || p == P::Admin || p == P::SvcVerify,
        }
    }
}

struct World {
    app: TestApp,
    tokens: Vec<(P, String)>,
    targets: [Target; 2],
    round_id: String,
    outbox_id: i64,
    /// A service account that is none of the personas (its secret is re-issued).
    spare_service_id: String,
    /// A second session of candidate A, which no one else may sign out.
    spare_refresh: String,
}

impl World {
    fn token(&self, p: P) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, t)| t.as_str())
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

async fn created(app: &TestApp, token: &str, path: &str, body: &Value) -> Value {
    let reply = app.post_json_as(token, path, body).await;
    assert_eq!(reply.status, 201, "{path}: {}", reply.text);
    reply.json()
}

/// Candidate `n` of `school` with a draft prior degree (certificate serial `n`)
/// and a draft NCRE application, and a candidate `victim` of the same school;
/// returns the token and the fixtures.
async fn candidate_with_records(
    app: &TestApp,
    n: u32,
    name: &'static str,
    owner: P,
    staff: P,
    school: &'static str,
    victim: u32,
) -> (String, Target) {
    let (profile, token) = app.candidate(n, Some(school), MAJOR).await;
    let degree_number = format!("106521201506{n:06}");
    let degree = created(
        app,
        &token,
        "/api/v1/prior-degrees",
        &json!({
            "pledge_version": PLEDGE, "pledge_accepted": true,
            "certificate_number": degree_number, "school_name": "湖北中医药高等专科学校",
            "major_name": "药学", "level": "associate", "education_type": "regular",
            "graduation_date": "2015-07-01",
        }),
    )
    .await;
    let application = created(
        app,
        &token,
        "/api/v1/certification-applications",
        &json!({"kind": "certificate",
            "certificate": {"kind": "ncre1", "number": format!("1801010100{n:02}"), "obtained_on": "2017-06-30"},
            "items": [{"course_code": "00018"}, {"course_code": "00019"}]}),
    )
    .await;
    let (victim, _) = app.candidate(victim, Some(school), MAJOR).await;
    let target = Target {
        name,
        owner,
        staff,
        school,
        candidate_id: id_of(&profile),
        degree_id: id_of(&degree),
        degree_number,
        application_id: id_of(&application),
        victim_id: id_of(&victim),
    };
    (token, target)
}

async fn world() -> World {
    let app = spawn_app_with_sample().await;
    let now = Utc::now();
    let round = app.open_round(PLEDGE, now - TimeDelta::hours(1), now + TimeDelta::days(10));
    let admin = app.admin_token().await;
    app.create_school(&admin, SCHOOL_A).await;
    app.create_school(&admin, SCHOOL_B).await;
    let staff_a = app.staff_token(&admin, "li.laoshi", SCHOOL_A).await;
    let staff_b = app.staff_token(&admin, "wang.laoshi", SCHOOL_B).await;
    let (cand_a, target_a) =
        candidate_with_records(&app, 1, "A", P::CandidateA, P::StaffA, SCHOOL_A, 3).await;
    let (cand_b, target_b) =
        candidate_with_records(&app, 2, "B", P::CandidateB, P::StaffB, SCHOOL_B, 4).await;
    // A candidate whose staff gave a temporary password.
    let (temporary, _) = app.candidate(5, Some(SCHOOL_A), MAJOR).await;
    let reset = app
        .post_json_as(
            &staff_a,
            &format!(
                "/api/v1/staff/candidates/{}/password-reset",
                id_of(&temporary)
            ),
            &json!({}),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    let temporary_password = reset.json()["temporary_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let temporary = app.login(&tests::exam_number(5), &temporary_password).await;
    assert_eq!(temporary["must_change_password"], true);
    let temporary = temporary["access_token"].as_str().unwrap().to_owned();
    let svc_outbox = app
        .integration_token(&admin, "sms-gateway", &["outbox:read"])
        .await;
    let svc_verify = app
        .integration_token(&admin, "chsi-sync", &["verification:write"])
        .await;
    let svc_apps = app
        .integration_token(&admin, "apps-reader", &["applications:read"])
        .await;
    // A notification to acknowledge.
    let requested = app
        .post_json(
            "/api/v1/auth/password-resets",
            &json!({"login": tests::exam_number(3)}),
        )
        .await;
    assert_eq!(requested.status, 202, "{}", requested.text);
    let outbox_id = app.query_json("SELECT id FROM outbox ORDER BY id LIMIT 1")[0]["id"]
        .as_i64()
        .expect("an outbox row");
    let spare_service_id = id_of(
        &created(
            &app,
            &admin,
            "/api/v1/admin/service-accounts",
            &json!({"username": "spare-svc", "name": "spare", "scopes": ["outbox:read"]}),
        )
        .await,
    );
    let spare_refresh = app.login(&tests::exam_number(1), PASSWORD).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        tokens: vec![
            (P::CandidateA, cand_a),
            (P::CandidateB, cand_b),
            (P::StaffA, staff_a),
            (P::StaffB, staff_b),
            (P::Admin, admin),
            (P::SvcOutbox, svc_outbox),
            (P::SvcVerify, svc_verify),
            (P::SvcAppsRead, svc_apps),
            (P::Temporary, temporary),
        ],
        app,
        targets: [target_a, target_b],
        round_id: round.id.to_string(),
        outbox_id,
        spare_service_id,
        spare_refresh,
    }
}

/// An operation of the document.
struct Operation {
    id: String,
    method: Method,
    path: String,
    path_params: Vec<String>,
    secured: bool,
    /// The roles its `bearer` security names.
    roles: BTreeSet<String>,
    responses: BTreeSet<String>,
}

fn operations() -> Vec<Operation> {
    let doc = serde_json::to_value(api::http::openapi::document()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = match method.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let roles = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("bearer"))
                .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect();
            ops.push(Operation {
                id: op["operationId"].as_str().unwrap().to_owned(),
                method,
                path: path.clone(),
                path_params: op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect(),
                secured: api::http::openapi::is_secured(op),
                roles,
                responses: op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect(),
            });
        }
    }
    ops
}

/// The value of a path parameter for `target`.
fn path_value(w: &World, t: &Target, path: &str, param: &str) -> String {
    let p = path;
    match param {
        "id" if p.starts_with("/api/v1/prior-degrees/") => t.degree_id.clone(),
        "id" if p.starts_with("/api/v1/certification-applications/") => t.application_id.clone(),
        "id" if p == "/api/v1/staff/candidates/{id}/password-reset" => t.victim_id.clone(),
        "id" if p == "/api/v1/staff/candidates/{id}" => t.candidate_id.clone(),
        "id" if p.starts_with("/api/v1/admin/rounds/") => w.round_id.clone(),
        "id" if p.starts_with("/api/v1/integration/outbox/") => w.outbox_id.to_string(),
        "id" if p.starts_with("/api/v1/admin/service-accounts/") => w.spare_service_id.clone(),
        "code" if p.starts_with("/api/v1/courses/") => "00015".into(),
        "code" if p.starts_with("/api/v1/majors/") => MAJOR.into(),
        _ => panic!("no fixture for path parameter {{{param}}} of {path}: add one to path_value"),
    }
}

/// What a cell must answer.
#[derive(Debug, PartialEq, Eq)]
enum Want {
    /// Admitted and sees the record (or there is none): the row's `ok`.
    Ok { visible: bool },
    /// Refused with this status and code.
    Refused(u16, &'static str),
}

fn want(e: &Entry, p: P, t: &Target) -> Want {
    let visible = t.seen_by(e.sees, p);
    match (e.who, p) {
        (Who::Anyone, _) => return Want::Ok { visible },
        (_, P::Anonymous) => return Want::Refused(401, "auth.required"),
        (Who::EvenTemporary, _) => return Want::Ok { visible },
        (_, P::Temporary) => return Want::Refused(403, "password.change_required"),
        (Who::SignedIn, _) => return Want::Ok { visible },
        (Who::Only(allowed), _) if !allowed.iter().any(|a| a.admits(p)) => {
            return Want::Refused(403, "forbidden");
        }
        _ => {}
    }
    match e.by {
        By::NotFound if !visible => Want::Refused(404, "not_found"),
        _ => Want::Ok { visible },
    }
}

/// Checks one answer; returns what is wrong with it.
fn judge(e: &Entry, want: &Want, t: &Target, reply: &Reply) -> Vec<String> {
    let mut wrong = Vec::new();
    let status = reply.status;
    if status >= 500 {
        wrong.push(format!("server error {status}: {}", reply.text));
        return wrong;
    }
    let mut code = None;
    if (400..500).contains(&status) {
        let problem = reply.header("content-type").as_deref() == Some("application/problem+json");
        let body: Value = serde_json::from_str(&reply.text).unwrap_or(Value::Null);
        code = body["code"].as_str().map(str::to_owned);
        if !problem || code.is_none() || body["status"] != status {
            wrong.push(format!(
                "{status} is not a problem+json with a code: {}",
                reply.text
            ));
        }
    }
    let (want_status, want_code) = match want {
        Want::Ok { .. } => e.ok,
        Want::Refused(s, c) => (*s, Some(*c)),
    };
    if status != want_status || (want_code.is_some() && code.as_deref() != want_code) {
        wrong.push(format!(
            "got {status} {}, want {want_status} {}: {}",
            code.as_deref().unwrap_or(""),
            want_code.unwrap_or(""),
            reply.text.chars().take(300).collect::<String>()
        ));
        return wrong;
    }
    if let (Want::Ok { visible }, By::Body(check)) = (want, e.by) {
        match check(reply, t) {
            Ok(seen) if seen == *visible => {}
            Ok(seen) => wrong.push(format!(
                "{} record of {} in the answer: {seen}, want {visible}",
                if seen { "sees the" } else { "misses the" },
                t.name
            )),
            Err(why) => wrong.push(why),
        }
    }
    wrong
}

async fn call(w: &World, op: &Operation, e: &Entry, t: &Target, p: P) -> Reply {
    let mut path = op.path.clone();
    for param in &op.path_params {
        path = path.replace(&format!("{{{param}}}"), &path_value(w, t, &op.path, param));
    }
    let query = e
        .query
        .replace("{degree}", &t.degree_id)
        .replace("{school}", t.school);
    let mut request = w
        .app
        .client
        .request(op.method.clone(), w.app.url(&format!("{path}{query}")));
    if let Some(token) = w.token(p) {
        request = request.bearer_auth(token);
    }
    if e.stale {
        request = request.header("if-match", STALE);
    }
    request = match e.send {
        Send::Nothing => request,
        Send::Json(body) => request.json(&body(w, t, p)),
        Send::Csv(text) => request
            .header("content-type", "text/csv; charset=utf-8")
            .body(text),
    };
    w.app.send(request).await
}

/// The table and the document name the same operations, and agree on who may call.
fn check_table_against_document(ops: &[Operation], table: &[Entry]) -> Vec<String> {
    let mut wrong = Vec::new();
    let documented: BTreeSet<&str> = ops.iter().map(|o| o.id.as_str()).collect();
    let listed: BTreeSet<&str> = table.iter().map(|e| e.op).collect();
    for missing in documented.difference(&listed) {
        wrong.push(format!(
            "operation {missing} is in the OpenAPI document but not in the matrix"
        ));
    }
    for extra in listed.difference(&documented) {
        wrong.push(format!(
            "the matrix names {extra}, which the OpenAPI document lacks"
        ));
    }
    for e in table {
        let Some(op) = ops.iter().find(|o| o.id == e.op) else {
            continue;
        };
        let declared: Vec<&str> = op.roles.iter().map(String::as_str).collect();
        match e.who {
            Who::Anyone if op.secured => wrong.push(format!(
                "{}: the document requires a token, the matrix says anyone",
                e.op
            )),
            // A parameter that reads a record (eligibility by prior degree).
            Who::Only(_) if !op.secured && e.query.is_empty() => wrong.push(format!(
                "{}: the document needs no token, the matrix restricts it",
                e.op
            )),
            Who::Only(_) if !op.secured => {
                for status in ["401", "403", "404"] {
                    if !op.responses.contains(status) {
                        wrong.push(format!("{}: {status} is not documented", e.op));
                    }
                }
            }
            Who::Only(allowed) => {
                let roles: BTreeSet<&str> = allowed.iter().map(|a| a.role()).collect();
                if roles.into_iter().collect::<Vec<_>>() != declared {
                    wrong.push(format!(
                        "{}: the document admits {declared:?}, the matrix {allowed:?}",
                        e.op
                    ));
                }
            }
            Who::SignedIn | Who::EvenTemporary if !op.secured || !declared.is_empty() => {
                wrong.push(format!(
                    "{}: the document admits {declared:?} (secured: {}), the matrix any role",
                    e.op, op.secured
                ));
            }
            _ => {}
        }
        if !matches!(e.by, By::Nothing) && op.secured && !op.responses.contains("401") {
            wrong.push(format!("{}: 401 is not documented", e.op));
        }
        if matches!(e.by, By::NotFound) && !op.responses.contains("404") {
            wrong.push(format!("{}: 404 is not documented", e.op));
        }
    }
    wrong
}

#[tokio::test]
async fn every_operation_answers_every_persona_as_the_contract_says() {
    let started = std::time::Instant::now();
    let ops = operations();
    let table = table();
    let mismatch = check_table_against_document(&ops, &table);
    assert!(
        mismatch.is_empty(),
        "the matrix and the OpenAPI document disagree:\n{}",
        mismatch.join("\n")
    );

    let w = world().await;
    let mut failures = Vec::new();
    let mut cells = 0;
    let ordered = table
        .iter()
        .filter(|e| !e.last)
        .chain(table.iter().filter(|e| e.last));
    for e in ordered {
        let op = ops.iter().find(|o| o.id == e.op).unwrap();
        let targets = match e.by {
            By::Nothing => &w.targets[..1],
            _ => &w.targets[..],
        };
        for t in targets {
            for p in PERSONAS {
                let want = want(e, p, t);
                let reply = call(&w, op, e, t, p).await;
                cells += 1;
                for wrong in judge(e, &want, t, &reply) {
                    failures.push(format!(
                        "{} {}{} ({}) as {p:?} on {}'s records: {wrong}",
                        op.method, op.path, e.query, e.op, t.name
                    ));
                }
            }
        }
    }

    // Nobody else could sign out A's spare session.
    let refreshed = w
        .app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": w.spare_refresh}),
        )
        .await;
    if refreshed.status != 200 {
        failures.push(format!(
            "A's spare session was signed out by someone else: {} {}",
            refreshed.status, refreshed.text
        ));
    }
    // Nothing the matrix sent changed A's or B's records.
    for t in &w.targets {
        for (table, id) in [
            ("prior_degrees", &t.degree_id),
            ("certification_applications", &t.application_id),
        ] {
            let row = &w.app.query_json(&format!(
                "SELECT status, version FROM {table} WHERE id = '{id}'"
            ))[0];
            if row["status"] != "draft" || row["version"] != 1 {
                failures.push(format!("{table} {id} of {} changed: {row}", t.name));
            }
        }
    }

    let ops_covered: BTreeSet<&str> = table.iter().map(|e| e.op).collect();
    println!(
        "authorization matrix: {} operations ({} rows) x {} personas, {cells} cells, {:.1} s",
        ops_covered.len(),
        table.len(),
        PERSONAS.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {cells} cells break the contract:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
