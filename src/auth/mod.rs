//! Who is asking, and what they may do.
//!
//! - [`tenancy`]: the tenant id only trusted code can make, and the transaction bound to it.
//! - [`cross_tenant`]: the few reviewed paths that act across tenants.
//! - [`current_user`]: the one extractor that yields the signed-in user, tenant and role,
//!   from the session cookie or an API token, never from the request's own fields.
//! - [`policy`]: "may this user do X to this record", asked by handlers.
//! - [`session`]: the server-side session (PostgreSQL) and what it holds.
//! - [`csrf`]: the synchroniser token and Origin checks on every state-changing request.
//! - [`revoke`]: what ends (sessions, API tokens) when a credential changes.
//! - [`throttle`]: failed sign-ins per account, address and device, shared by every instance;
//!   [`device`]: the signed cookie that makes a browser a known device of an account.
//! - [`password`], [`mfa`], [`tokens`]: secrets, hashed or checked.

pub mod client_ip;
pub mod cross_tenant;
pub mod csrf;
pub mod current_user;
pub mod device;
pub mod kept;
pub mod mfa;
pub mod password;
pub mod policy;
pub mod revoke;
pub mod session;
pub mod session_store;
/// The tenant transaction lives with the database code; re-exported for the handlers.
pub use crate::db::tenancy;
pub mod throttle;
pub mod tokens;

pub use current_user::{ApiUser, CurrentUser, Visitor};
pub use tenancy::{TenantId, TenantTx};
