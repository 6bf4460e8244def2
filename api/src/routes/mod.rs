//! Every route, registered once: the same function builds the served app and the
//! OpenAPI document, so the two cannot drift.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod catalog;
pub mod courses;
pub mod health;
pub mod rounds;

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz);
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .service(courses::list_courses)
            .service(courses::get_course)
            .service(catalog::list_majors)
            .service(catalog::get_major)
            .service(catalog::get_major_eligibility)
            .service(catalog::list_certificate_kinds)
            .service(rounds::list_rounds)
            .service(rounds::get_current_round),
    );
}
