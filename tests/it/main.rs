//! Integration tests: one binary (one link), one module per feature.
//! Each test starts the real app on its own port with its own fresh database.

mod common;

mod account;
mod api_tokens;
mod audit;
mod binary;
mod browser_sign_in;
mod foundation;
mod media;
mod sign_in;
mod tenancy;
mod users;
mod browser_mfa;
mod isolation;
