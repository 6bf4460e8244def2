//! Every route, registered once: the same function builds the served app and the
//! OpenAPI document, so the two cannot drift.

use utoipa_actix_web::service_config::ServiceConfig;

use crate::routes;

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::health::healthz)
        .service(routes::health::readyz)
        .service(routes::auth::jwks);
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .service(routes::courses::list_courses)
            .service(routes::courses::get_course)
            .service(routes::catalog::list_majors)
            .service(routes::catalog::get_major)
            .service(routes::catalog::get_major_eligibility)
            .service(routes::catalog::list_certificate_kinds)
            .service(routes::rounds::list_rounds)
            .service(routes::rounds::get_current_round)
            .service(routes::admin::list_schools)
            .service(routes::auth::register)
            .service(routes::auth::login)
            .service(routes::auth::refresh)
            .service(routes::auth::logout)
            .service(routes::auth::request_password_reset)
            .service(routes::auth::confirm_password_reset)
            .service(routes::me::get_me)
            .service(routes::me::change_password)
            .service(routes::staff::reset_candidate_password)
            .service(routes::candidates::list_candidates)
            .service(routes::candidates::import_candidates)
            .service(routes::candidates::get_candidate)
            .service(routes::reports::export_applications)
            .service(routes::reports::statistics)
            .service(routes::reports::signed_decision)
            .service(routes::integration::read_outbox)
            .service(routes::integration::ack_outbox)
            .service(routes::admin::create_school)
            .service(routes::admin::create_staff)
            .service(routes::admin::create_service_account)
            .service(routes::admin::reissue_service_account_secret)
            .service(routes::admin_catalog::import_catalog)
            .service(routes::admin_catalog::import_rules_csv)
            .service(routes::admin_catalog::create_round)
            .service(routes::admin_catalog::update_round)
            .service(routes::prior_degrees::verify_prior_degrees_batch)
            .service(routes::prior_degrees::create_prior_degree)
            .service(routes::prior_degrees::list_prior_degrees)
            .service(routes::prior_degrees::get_prior_degree)
            .service(routes::prior_degrees::update_prior_degree)
            .service(routes::prior_degrees::submit_prior_degree)
            .service(routes::prior_degrees::verify_prior_degree)
            .service(routes::prior_degrees::get_prior_degree_history)
            .service(routes::applications::create_application)
            .service(routes::applications::list_applications)
            .service(routes::applications::get_application)
            .service(routes::applications::update_application)
            .service(routes::applications::check_application)
            .service(routes::applications::submit_application)
            .service(routes::applications::withdraw_application)
            .service(routes::applications::return_application)
            .service(routes::applications::review_application)
            .service(routes::applications::application_history)
            .service(routes::progress::get_progress),
    );
}
