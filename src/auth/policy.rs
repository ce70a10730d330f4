//! What each user may do: the one place that answers "may this user do X
//! to this record". Handlers ask; they never decide for themselves.
//!
//! A record the user may not see answers 404, the same as a record that does
//! not exist. A whole area the user's role never reaches answers 403.

use uuid::Uuid;

use super::CurrentUser;
use crate::{domain::Role, error::AppError, web::chrome::NavLink};

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

/// The header's links for the user's role.
pub fn navigation(user: &CurrentUser) -> Vec<NavLink> {
    if user.must_set_up_mfa() {
        return vec![NavLink {
            href: "/account/mfa",
            label: "Set up two-factor authentication",
        }];
    }
    let mut nav = vec![NavLink {
        href: "/",
        label: "Home",
    }];
    if matches!(user.role, Role::Admin | Role::Staff | Role::Emergency) {
        nav.push(NavLink {
            href: "/schemes",
            label: "Schemes",
        });
        nav.push(NavLink {
            href: "/plots",
            label: "Plots",
        });
        nav.push(NavLink {
            href: "/contacts",
            label: "Contacts",
        });
        nav.push(NavLink {
            href: "/inspections",
            label: "Inspections",
        });
    }
    if user.role != Role::Subcontractor {
        nav.push(NavLink {
            href: "/tickets",
            label: "Tickets",
        });
    }
    match user.role {
        Role::Admin => {
            nav.push(NavLink {
                href: "/users",
                label: "Users",
            });
            nav.push(NavLink {
                href: "/admin/tokens",
                label: "API tokens",
            });
            nav.push(NavLink {
                href: "/admin/audit",
                label: "Audit trail",
            });
            nav.push(NavLink {
                href: "/admin/exports",
                label: "Exports",
            });
            nav.push(NavLink {
                href: "/inspection-templates",
                label: "Inspection templates",
            });
            nav.push(NavLink {
                href: "/admin/sla",
                label: "SLA policy",
            });
            nav.push(NavLink {
                href: "/admin/outbox",
                label: "Outbox",
            });
            nav.push(NavLink {
                href: "/admin/security",
                label: "Security",
            });
        }
        Role::Subcontractor => {
            nav.push(NavLink {
                href: "/jobs",
                label: "My jobs",
            });
            if user.is_company_admin {
                nav.push(NavLink {
                    href: "/jobs/summary",
                    label: "Our work",
                });
                nav.push(NavLink {
                    href: "/users",
                    label: "Our users",
                });
            }
        }
        _ => {}
    }
    nav.push(NavLink {
        href: "/account",
        label: "My account",
    });
    nav
}

/// Which schemes a user's record pages reach: every scheme, or only the listed ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeScope {
    All,
    Only(Vec<Uuid>),
}

impl SchemeScope {
    /// For binding as `$n::uuid[]` in `($n::uuid[] IS NULL OR scheme_id = ANY($n))`.
    pub fn as_filter(&self) -> Option<&[Uuid]> {
        match self {
            SchemeScope::All => None,
            SchemeScope::Only(ids) => Some(ids),
        }
    }

    pub fn allows(&self, scheme_id: Uuid) -> bool {
        match self {
            SchemeScope::All => true,
            SchemeScope::Only(ids) => ids.contains(&scheme_id),
        }
    }
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
pub fn may_edit_records(user: &CurrentUser) -> Result<(), AppError> {
    match user.role {
        Role::Admin | Role::Staff => Ok(()),
        Role::Emergency => Err(AppError::Forbidden(
            "Out-of-hours users can read records but not change them.",
        )),
        Role::Subcontractor => Err(AppError::NotFound),
    }
}

/// Which tickets a user reaches: staff roles by scheme, a subcontractor only those nominated to their company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketScope {
    Schemes(SchemeScope),
    Company(Uuid),
}

impl TicketScope {
    /// For binding as `$n::uuid[]` (schemes) and `$m::uuid` (company) in
    /// `($n::uuid[] IS NULL OR t.scheme_id = ANY($n)) AND ($m::uuid IS NULL OR t.nominated_company_id = $m)`.
    pub fn filters(&self) -> (Option<&[Uuid]>, Option<Uuid>) {
        match self {
            TicketScope::Schemes(s) => (s.as_filter(), None),
            TicketScope::Company(c) => (None, Some(*c)),
        }
    }

    pub fn is_subcontractor(&self) -> bool {
        matches!(self, TicketScope::Company(_))
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
pub fn may_log_tickets(user: &CurrentUser) -> Result<(), AppError> {
    match user.role {
        Role::Admin | Role::Staff | Role::Emergency => Ok(()),
        Role::Subcontractor => Err(AppError::NotFound),
    }
}

/// Changing a ticket's fields, status or nomination: admins and staff.
pub fn may_manage_tickets(user: &CurrentUser) -> Result<(), AppError> {
    may_edit_records(user)
}

/// Working on a ticket (booking appointments, recording visits): staff who manage
/// tickets, and subcontractors of the company it is nominated to.
pub fn may_work_on_ticket(
    user: &CurrentUser,
    ticket: &crate::db::tickets::TicketHeader,
) -> Result<(), AppError> {
    match user.role {
        Role::Subcontractor => match user.company_id {
            Some(company) if ticket.nominated_company_id == Some(company) => Ok(()),
            _ => Err(AppError::NotFound),
        },
        _ => may_manage_tickets(user),
    }
}

/// Accepting, declining and completing a job: only subcontractors of the nominated company.
/// Returns their company.
pub fn may_act_for_company(
    user: &CurrentUser,
    ticket: &crate::db::tickets::TicketHeader,
) -> Result<Uuid, AppError> {
    match (user.role, user.company_id) {
        (Role::Subcontractor, Some(company)) if ticket.nominated_company_id == Some(company) => {
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
