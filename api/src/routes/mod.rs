//! Every route, registered once: the same function builds the served app and the
//! OpenAPI document, so the two cannot drift.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod admin;
pub mod admin_catalog;
pub mod applications;
pub mod auth;
pub mod candidates;
pub mod catalog;
pub mod courses;
pub mod health;
pub mod integration;
pub mod me;
pub mod prior_degrees;
pub mod progress;
pub mod reports;
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
            .service(candidates::list_candidates)
            .service(candidates::import_candidates)
            .service(candidates::get_candidate)
            .service(reports::export_applications)
            .service(reports::statistics)
            .service(reports::signed_decision)
            .service(integration::read_outbox)
            .service(integration::ack_outbox)
            .service(admin::create_school)
            .service(admin::create_staff)
            .service(admin::create_service_account)
            .service(admin_catalog::import_catalog)
            .service(admin_catalog::import_rules_csv)
            .service(admin_catalog::create_round)
            .service(admin_catalog::update_round)
            .service(prior_degrees::verify_prior_degrees_batch)
            .service(prior_degrees::create_prior_degree)
            .service(prior_degrees::list_prior_degrees)
            .service(prior_degrees::get_prior_degree)
            .service(prior_degrees::update_prior_degree)
            .service(prior_degrees::submit_prior_degree)
            .service(prior_degrees::verify_prior_degree)
            .service(prior_degrees::get_prior_degree_history)
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
