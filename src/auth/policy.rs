//! What each user may do: the one place that answers "may this user do X
//! to this record". Handlers ask; they never decide for themselves.
//!
//! A record the user may not see answers 404, the same as a record that does
//! not exist. A whole area the user's role never reaches answers 403.

use uuid::Uuid;

use super::CurrentUser;
pub use crate::db::scope::{SchemeScope, TicketScope};
use crate::{domain::Role, error::AppError};

/// Whoever acts: a signed-in user, or the ticket service's actor. The rules below that
/// depend only on the role and company take either.
pub trait Who {
    fn role(&self) -> Role;
    /// For subcontractors: the company they work for.
    fn company_id(&self) -> Option<Uuid>;
}

impl Who for CurrentUser {
    fn role(&self) -> Role {
        self.role
    }
    fn company_id(&self) -> Option<Uuid> {
        self.company_id
    }
}

/// Admin pages and exports: an admin with MFA enrolled and, in a browser, given this session.
pub fn require_admin(user: &CurrentUser) -> Result<(), AppError> {
    if user.role != Role::Admin {
        return Err(AppError::Forbidden("Only admins can open this page."));
    }
    require_mfa(user)
}

/// Admin powers need a browser session whose user gave a second factor. An API token is
/// never enough (it works only on the API, and gave no second factor).
pub fn require_mfa(user: &CurrentUser) -> Result<(), AppError> {
    if !user.in_browser() {
        return Err(AppError::Forbidden(
            "API tokens cannot use admin powers. Sign in with two-factor authentication.",
        ));
    }
    if !user.mfa_enrolled || !user.mfa_verified {
        return Err(AppError::MfaRequired);
    }
    Ok(())
}

/// Whose users this user may manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserScope {
    /// An admin: everyone in the tenant.
    Tenant,
    /// A subcontractor admin: their own company's users only.
    Company(Uuid),
}

/// Admins manage every user in their tenant; subcontractor admins their own company's.
pub fn user_scope(user: &CurrentUser) -> Result<UserScope, AppError> {
    match user.role {
        Role::Admin => {
            require_mfa(user)?;
            Ok(UserScope::Tenant)
        }
        Role::Subcontractor if user.is_company_admin => user
            .company_id
            .map(UserScope::Company)
            .ok_or(AppError::Forbidden("You do not manage any users.")),
        _ => Err(AppError::Forbidden("Only admins manage users.")),
    }
}

/// Whether a user record (of this tenant) falls in `scope`. Outside it, the record answers 404.
pub fn may_manage(scope: UserScope, target_company: Option<Uuid>) -> bool {
    match scope {
        UserScope::Tenant => true,
        UserScope::Company(company) => target_company == Some(company),
    }
}

/// Roles the manager may give. A subcontractor admin only makes subcontractors.
pub fn assignable_roles(scope: UserScope) -> &'static [Role] {
    match scope {
        UserScope::Tenant => &Role::ALL,
        UserScope::Company(_) => &[Role::Subcontractor],
    }
}

/// Any token in the tenant may be revoked by an admin; a user revokes their own.
pub fn may_revoke_token(user: &CurrentUser, token_owner: Uuid) -> bool {
    token_owner == user.id || (user.role == Role::Admin && require_mfa(user).is_ok())
}

/// Schemes, contracts, plots and contacts: admins, staff and the out-of-hours role read them.
/// Subcontractors reach plots only through their own tickets (see the tickets issue), so here: not found.
pub async fn record_scope(
    tx: &mut super::TenantTx,
    user: &CurrentUser,
) -> Result<SchemeScope, AppError> {
    match user.role {
        Role::Admin | Role::Emergency => Ok(SchemeScope::All),
        Role::Staff if !user.scheme_restricted => Ok(SchemeScope::All),
        Role::Staff => {
            let ids: Vec<Uuid> = sqlx::query_scalar(
                "SELECT scheme_id FROM user_schemes WHERE tenant_id = $1 AND user_id = $2",
            )
            .bind(tx.tenant_id())
            .bind(user.id)
            .fetch_all(&mut **tx)
            .await?;
            Ok(SchemeScope::Only(ids))
        }
        Role::Subcontractor => Err(AppError::NotFound),
    }
}

/// Admins and staff change records; the out-of-hours role only reads them.
pub fn may_edit_records(user: &(impl Who + ?Sized)) -> Result<(), AppError> {
    match user.role() {
        Role::Admin | Role::Staff => Ok(()),
        Role::Emergency => Err(AppError::Forbidden(
            "Out-of-hours users can read records but not change them.",
        )),
        Role::Subcontractor => Err(AppError::NotFound),
    }
}

pub async fn ticket_scope(
    tx: &mut super::TenantTx,
    user: &CurrentUser,
) -> Result<TicketScope, AppError> {
    match (user.role, user.company_id) {
        (Role::Subcontractor, Some(company)) => Ok(TicketScope::Company(company)),
        (Role::Subcontractor, None) => Err(AppError::NotFound),
        _ => Ok(TicketScope::Schemes(record_scope(tx, user).await?)),
    }
}

/// Logging tickets: admins, staff and the out-of-hours role.
pub fn may_log_tickets(user: &(impl Who + ?Sized)) -> Result<(), AppError> {
    match user.role() {
        Role::Admin | Role::Staff | Role::Emergency => Ok(()),
        Role::Subcontractor => Err(AppError::NotFound),
    }
}

/// Changing a ticket's fields, status or nomination: admins and staff.
pub fn may_manage_tickets(user: &(impl Who + ?Sized)) -> Result<(), AppError> {
    may_edit_records(user)
}

/// Working on a ticket (booking appointments, recording visits): staff who manage
/// tickets, and subcontractors of the company it is nominated to.
pub fn may_work_on_ticket(
    user: &(impl Who + ?Sized),
    nominated_company_id: Option<Uuid>,
) -> Result<(), AppError> {
    match user.role() {
        Role::Subcontractor => match user.company_id() {
            Some(company) if nominated_company_id == Some(company) => Ok(()),
            _ => Err(AppError::NotFound),
        },
        _ => may_manage_tickets(user),
    }
}

/// Accepting, declining and completing a job: only subcontractors of the nominated company.
/// Returns their company.
pub fn may_act_for_company(
    user: &(impl Who + ?Sized),
    nominated_company_id: Option<Uuid>,
) -> Result<Uuid, AppError> {
    match (user.role(), user.company_id()) {
        (Role::Subcontractor, Some(company)) if nominated_company_id == Some(company) => {
            Ok(company)
        }
        (Role::Subcontractor, _) => Err(AppError::NotFound),
        _ => Err(AppError::Forbidden(
            "Only the nominated subcontractor answers for a job.",
        )),
    }
}

/// A comment's edit history (its earlier texts): staff only. A subcontractor reads only
/// what a shared comment says now, so a word taken back is taken back; to them the
/// history does not exist.
pub fn may_read_comment_history(user: &CurrentUser) -> Result<(), AppError> {
    match user.role {
        Role::Admin | Role::Staff | Role::Emergency => Ok(()),
        Role::Subcontractor => Err(AppError::NotFound),
    }
}

/// The portal's pages (My jobs): a subcontractor's own company. Other roles use the ticket list.
pub fn portal_company(user: &CurrentUser) -> Result<Uuid, AppError> {
    match (user.role, user.company_id) {
        (Role::Subcontractor, Some(company)) => Ok(company),
        (Role::Subcontractor, None) => Err(AppError::NotFound),
        _ => Err(AppError::Forbidden(
            "My jobs is for subcontractors. Use the ticket list instead.",
        )),
    }
}

/// The summary of a company's work: that company's subcontractor admins only.
pub fn company_summary_scope(user: &CurrentUser) -> Result<Uuid, AppError> {
    match (user.role, user.company_id) {
        (Role::Subcontractor, Some(company)) if user.is_company_admin => Ok(company),
        _ => Err(AppError::Forbidden(
            "Only your company's admins see its summary.",
        )),
    }
}
