//! Integration tests: one binary (one link), one module per feature.
//! Each test starts the real app on its own port with its own fresh database.

mod common;

mod account;
mod api_tokens;
mod audit;
mod binary;
mod contacts;
mod generate;
mod imports;
mod browser_sign_in;
mod foundation;
mod media;
mod sign_in;
mod tenancy;
mod users;
mod browser_mfa;
mod isolation;
mod records;
mod browser_records;
mod comments;
mod files;
mod inspections;
mod browser_inspections;
mod jobs;
mod nominations;
mod appointments;
mod tickets;
mod ticket_clock;
mod exports;
mod browser_exports;
mod portal;
mod portal_access;
mod browser_portal;
mod plot_page;
