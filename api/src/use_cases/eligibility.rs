//! Which courses of a major's plan a prior degree or a certificate certifies, and
//! which must be examined (R7–R16), from the catalogue in memory.

use std::sync::Arc;

use domain::catalog::MajorCode;
use domain::eligibility::{self, Eligibility, PriorDegreeFacts};
use persistence::catalog::CatalogVersion;
use persistence::prior_degrees::PriorDegreeRow;

use crate::catalog_cache::CatalogCache;
use crate::http::problem::Msg;
use crate::use_cases::{Outcome, Refusal};

/// The prior degree a question assumes.
#[derive(Debug, Clone)]
pub enum Prior {
    /// None: no degree routes.
    None,
    /// Described by level and major, assumed regular (R7).
    Assumed(PriorDegreeFacts),
    /// A recorded prior degree (the caller may read it): only an effective one
    /// gives degree routes.
    Recorded(Box<PriorDegreeRow>),
}

/// The answer: every course of the plan with its route.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The current catalogue.
    pub catalog: Arc<CatalogVersion>,
    /// The major asked about (it is in `catalog`).
    pub major: MajorCode,
    /// The prior degree's facts, if any.
    pub prior: Option<PriorDegreeFacts>,
    /// The recorded prior degree, if the question named one.
    pub recorded: Option<PriorDegreeRow>,
    /// Every course of the plan, in plan order.
    pub courses: Vec<Eligibility>,
}

fn no_such_major(code: &MajorCode) -> Refusal {
    Refusal::NotFound(Msg::new(
        format!("专业 {code} 不存在"),
        format!("there is no major {code}"),
    ))
}

/// Every course of major `code`'s plan in the current catalogue, with its route
/// for `prior`; 404 when the current catalogue has no such major.
pub fn of_major(cache: &CatalogCache, code: &MajorCode, prior: Prior) -> Outcome<Answer> {
    let catalog = cache
        .current()
        .filter(|c| c.catalog.major(code).is_some())
        .ok_or_else(|| no_such_major(code))?;
    let (facts, recorded) = match prior {
        Prior::None => (None, None),
        Prior::Assumed(facts) => (Some(facts), None),
        Prior::Recorded(row) => {
            let facts = PriorDegreeFacts {
                level: row.level,
                major_name: row.major_name.clone(),
                education_type: row.education_type,
            };
            (Some(facts), Some(*row))
        }
    };
    let courses = match (&facts, &recorded) {
        (Some(facts), Some(row)) => {
            eligibility::eligibility_of_recorded(&catalog.catalog, code, facts, row.status)
        }
        (facts, _) => eligibility::eligibility(&catalog.catalog, code, facts.as_ref()),
    }
    .map_err(|v| Refusal::NotFound(Msg::new(v.zh, v.en)))?;
    Ok(Answer {
        catalog,
        major: code.clone(),
        prior: facts,
        recorded,
        courses,
    })
}
