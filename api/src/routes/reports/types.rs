//! The queries and answers of the reports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::keys::ISSUER;
use crate::use_cases::decisions::Decision;
use crate::use_cases::reports::{ExportFilter, Statistics};

/// Filters of the export (the same as the application list).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Application status: draft, submitted, returned, approved, partially_approved, rejected.
    #[param(example = "submitted")]
    pub status: Option<String>,
    /// Round id.
    pub round_id: Option<String>,
    /// The candidates' self-study major.
    #[param(example = "100701")]
    pub major_code: Option<String>,
    /// School (admins; staff always get their own school).
    #[param(example = "HBU01")]
    pub school_code: Option<String>,
    /// Exam number prefix or part of the candidate's name.
    pub q: Option<String>,
}

/// Query of the statistics.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Round id; all rounds when absent.
    pub round_id: Option<String>,
    /// School (admins only; staff always get their own school).
    pub school_code: Option<String>,
}

/// A count per key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCount {
    /// A status, major code or course code.
    pub key: String,
    /// How many.
    pub count: i64,
}

/// Item counts of one course.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseStats {
    /// Course code.
    pub course_code: String,
    /// Course name (current catalogue).
    pub course_name: Option<String>,
    /// Items in submitted or reviewed applications.
    pub requested: i64,
    /// Approved items.
    pub approved: i64,
    /// Rejected items.
    pub rejected: i64,
}

/// Statistics of the caller's scope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"round_id": null, "school_code": "HBU01",
    "applications_by_status": [{"key": "submitted", "count": 12}],
    "applications_by_major": [{"key": "100701", "count": 12}],
    "items_by_course": [{"course_code": "00015", "course_name": "英语（二）", "requested": 12, "approved": 3, "rejected": 1}],
    "prior_degrees_by_status": [{"key": "effective", "count": 10}]}))]
pub struct StatsView {
    /// The round counted (null: all rounds).
    pub round_id: Option<Uuid>,
    /// The school counted (null: all schools, admins only).
    pub school_code: Option<String>,
    /// Applications per status.
    pub applications_by_status: Vec<KeyCount>,
    /// Applications per self-study major.
    pub applications_by_major: Vec<KeyCount>,
    /// Items per course (drafts excluded).
    pub items_by_course: Vec<CourseStats>,
    /// Prior degrees per status (draft, submitted = pending verification, effective, rejected).
    pub prior_degrees_by_status: Vec<KeyCount>,
}

/// One course's decision, as signed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedCourse {
    /// Course code.
    pub course_code: String,
    /// Course name.
    pub course_name: Option<String>,
    /// `approved` or `rejected`.
    pub decision: String,
    /// The reason of a rejection.
    pub reason: Option<String>,
}

/// The round, as signed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedRound {
    /// Round id.
    pub id: Uuid,
    /// Round name.
    pub name: String,
}

/// The claims of a signed decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionClaims {
    /// Issuer: `zikao-cert`.
    pub iss: String,
    /// The application id.
    pub sub: Uuid,
    /// When it was signed (Unix seconds).
    pub iat: i64,
    /// Valid until then (Unix seconds): a year after signing.
    pub exp: i64,
    /// Always `decision` (never usable as an access token).
    pub typ: String,
    /// The candidate's exam number.
    pub exam_number: String,
    /// The candidate's name.
    pub candidate_name: String,
    /// The round.
    pub round: SignedRound,
    /// The self-study major.
    pub major_code: String,
    /// `approved`, `partially_approved` or `rejected`.
    pub status: String,
    /// When it was reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Each course with its decision.
    pub courses: Vec<SignedCourse>,
}

/// A signed decision.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"jws": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiIsInR5cCI6ImRlY2lzaW9uK2p3dCJ9.eyJzdWIiOiIuLi4ifQ.c2ln",
    "kid": "nLd2ZbC1p1nQb2Zk", "alg": "EdDSA", "jwks_uri": "/.well-known/jwks.json"}))]
pub struct SignedDecision {
    /// Compact JWS (EdDSA) of the claims; verify it with the key `kid` of the JWK set.
    pub jws: String,
    /// The signing key's id.
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// Where the public keys are.
    pub jwks_uri: String,
    /// The signed claims, for display (the JWS is what counts).
    pub claims: DecisionClaims,
}

impl From<ExportQuery> for ExportFilter {
    fn from(q: ExportQuery) -> Self {
        ExportFilter {
            status: q.status,
            round_id: q.round_id,
            major_code: q.major_code,
            school_code: q.school_code,
            q: q.q,
        }
    }
}

fn counts(v: Vec<persistence::reports::Count>) -> Vec<KeyCount> {
    (v.into_iter())
        .map(|c| KeyCount {
            key: c.key,
            count: c.count,
        })
        .collect()
}

impl From<Statistics> for StatsView {
    fn from(s: Statistics) -> Self {
        let courses = s.stats.by_course.into_iter().zip(s.course_names);
        StatsView {
            round_id: s.round_id,
            school_code: s.school_code,
            applications_by_status: counts(s.stats.by_status),
            applications_by_major: counts(s.stats.by_major),
            items_by_course: courses
                .map(|(c, course_name)| CourseStats {
                    course_name,
                    course_code: c.course_code,
                    requested: c.requested,
                    approved: c.approved,
                    rejected: c.rejected,
                })
                .collect(),
            prior_degrees_by_status: counts(s.stats.prior_degrees),
        }
    }
}

impl DecisionClaims {
    /// The claims that state `decision`, signed at `now`.
    pub fn of(decision: Decision, now: DateTime<Utc>) -> Self {
        DecisionClaims {
            iss: ISSUER.into(),
            sub: decision.application_id,
            iat: now.timestamp(),
            exp: (now + chrono::TimeDelta::days(crate::auth::keyring::DECISION_LIFETIME_DAYS))
                .timestamp(),
            typ: "decision".into(),
            exam_number: decision.exam_number,
            candidate_name: decision.candidate_name,
            round: SignedRound {
                id: decision.round_id,
                name: decision.round_name,
            },
            major_code: decision.major_code,
            status: decision.status.as_str().to_owned(),
            reviewed_at: decision.reviewed_at,
            courses: (decision.courses.into_iter())
                .map(|c| SignedCourse {
                    course_code: c.course_code,
                    course_name: c.course_name,
                    decision: c.decision,
                    reason: c.reason,
                })
                .collect(),
        }
    }
}
