//! Integration tests: one binary (one link), one module per feature.
//! Each test starts the real app on its own port with its own fresh database.

mod common;

mod account;
mod api_tokens;
mod appointments;
mod audit;
mod bad_input;
mod binary;
mod browser_exports;
mod browser_inspections;
mod browser_mfa;
mod browser_portal;
mod browser_records;
mod browser_sign_in;
mod comments;
mod connections;
mod contacts;
mod error_pages;
mod exports;
mod files;
mod foundation;
mod fuzz;
mod generate;
mod imports;
mod inspections;
mod isolation;
mod jobs;
mod media;
mod memberships;
mod mfa;
mod nominations;
mod outage;
mod plot_page;
mod portal;
mod portal_access;
mod records;
mod sign_in;
mod tenancy;
mod ticket_clock;
mod tickets;
mod uploads;
mod users;
