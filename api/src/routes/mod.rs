//! Every route, registered once: the same function builds the served app and the
//! OpenAPI document, so the two cannot drift.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod courses;
pub mod health;

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz);
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .service(courses::list_courses)
            .service(courses::get_course),
    );
}
