//! What every page's layout needs: the title, the signed-in user and tenant,
//! the navigation, flash messages and the CSRF token for its forms.
//! (The web layer builds it from `auth`; `auth` knows nothing of pages.)

use uuid::Uuid;

use crate::{
    auth::{CurrentUser, Visitor, csrf, session},
    domain::Role,
    error::AppError,
};

pub use crate::auth::session::Flash;

#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub title: String,
    pub user: Option<ChromeUser>,
    pub flash: Vec<Flash>,
    pub csrf_token: String,
    /// A fresh one-time key for a form that creates something (`db::form_keys`).
    pub form_key: String,
}

#[derive(Debug, Clone)]
pub struct ChromeUser {
    pub name: String,
    pub tenant_name: String,
    /// They belong to other tenants too: the header offers to switch.
    pub can_switch: bool,
    pub role_label: &'static str,
    pub nav: Vec<NavLink>,
    /// The header's quick find box (staff; subcontractors have My jobs).
    pub can_find: bool,
}

#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
}

impl Chrome {
    pub fn anonymous(title: impl Into<String>) -> Self {
        Chrome {
            title: title.into(),
            ..Default::default()
        }
    }
}

impl CurrentUser {
    /// The layout of a page: navigation for the role, messages waiting, the CSRF token.
    pub async fn chrome(&self, title: impl Into<String>) -> Result<Chrome, AppError> {
        let (flash, csrf_token) = match self.session() {
            Some(s) => (session::take_flash(s).await?, csrf::token(s).await?),
            None => (Vec::new(), String::new()),
        };
        Ok(Chrome {
            title: title.into(),
            user: Some(ChromeUser {
                name: self.name.clone(),
                tenant_name: self.tenant_name.clone(),
                can_switch: self.can_switch,
                role_label: self.role.label(),
                nav: navigation(self),
                can_find: crate::auth::policy::may_log_tickets(self).is_ok(),
            }),
            flash,
            csrf_token,
            form_key: Uuid::new_v4().to_string(),
        })
    }
}

impl Visitor {
    pub async fn chrome(&self, title: impl Into<String>) -> Result<Chrome, AppError> {
        Ok(Chrome {
            title: title.into(),
            user: None,
            flash: session::take_flash(&self.session).await?,
            csrf_token: csrf::token(&self.session).await?,
            form_key: Uuid::new_v4().to_string(),
        })
    }
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
        nav.push(NavLink {
            href: "/diary",
            label: "Diary",
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
            nav.push(NavLink {
                href: "/diary",
                label: "Diary",
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
