//! Every route, registered once: the same function builds the served app and the
//! OpenAPI document, so the two cannot drift.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod admin;
pub mod applications;
pub mod auth;
pub mod catalog;
pub mod courses;
pub mod health;
pub mod me;
pub mod progress;
pub mod rounds;
pub mod staff;
pub mod views;

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(auth::jwks);
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .service(courses::list_courses)
            .service(courses::get_course)
            .service(catalog::list_majors)
            .service(catalog::get_major)
            .service(catalog::get_major_eligibility)
            .service(catalog::list_certificate_kinds)
            .service(rounds::list_rounds)
            .service(rounds::get_current_round)
            .service(admin::list_schools)
            .service(auth::register)
            .service(auth::login)
            .service(auth::refresh)
            .service(auth::logout)
            .service(auth::request_password_reset)
            .service(auth::confirm_password_reset)
            .service(me::get_me)
            .service(me::change_password)
            .service(staff::reset_candidate_password)
            .service(admin::create_school)
            .service(admin::create_staff)
            .service(admin::create_service_account)
            .service(applications::create_application)
            .service(applications::list_applications)
            .service(applications::get_application)
            .service(applications::update_application)
            .service(applications::check_application)
            .service(applications::submit_application)
            .service(applications::withdraw_application)
            .service(applications::return_application)
            .service(applications::review_application)
            .service(applications::application_history)
            .service(progress::get_progress),
    );
}
