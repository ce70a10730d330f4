//! Integration tests: one binary (one link), one module per feature.
//! Each test starts the real app on its own port with its own fresh database.

mod common;

mod sign_in;
mod tenancy;
