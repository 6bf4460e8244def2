//! The handlers, one module per resource; they are registered in
//! [`crate::http::route_table`].

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
