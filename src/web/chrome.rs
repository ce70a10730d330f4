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
    /// How the link stands to the page shown: `aria-current` "page" on the page
    /// itself, "true" on a page within its section, None elsewhere.
    pub current: Option<&'static str>,
}

impl NavLink {
    fn new(href: &'static str, label: &'static str) -> Self {
        NavLink {
            href,
            label,
            current: None,
        }
    }
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
                nav: mark_current(navigation(self), &self.path),
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
        return vec![NavLink::new(
            "/account/mfa",
            "Set up two-factor authentication",
        )];
    }
    let mut nav = vec![NavLink::new("/", "Home")];
    if matches!(user.role, Role::Admin | Role::Staff | Role::Emergency) {
        nav.push(NavLink::new("/schemes", "Schemes"));
        nav.push(NavLink::new("/plots", "Plots"));
        nav.push(NavLink::new("/contacts", "Contacts"));
        nav.push(NavLink::new("/inspections", "Inspections"));
    }
    if user.role != Role::Subcontractor {
        nav.push(NavLink::new("/tickets", "Tickets"));
        nav.push(NavLink::new("/diary", "Diary"));
    }
    match user.role {
        Role::Admin => {
            nav.push(NavLink::new("/users", "Users"));
            nav.push(NavLink::new("/admin/tokens", "API tokens"));
            nav.push(NavLink::new("/admin/audit", "Audit trail"));
            nav.push(NavLink::new("/admin/exports", "Exports"));
            nav.push(NavLink::new(
                "/inspection-templates",
                "Inspection templates",
            ));
            nav.push(NavLink::new("/admin/sla", "SLA policy"));
            nav.push(NavLink::new("/admin/outbox", "Outbox"));
            nav.push(NavLink::new("/admin/security", "Security"));
        }
        Role::Subcontractor => {
            nav.push(NavLink::new("/jobs", "My jobs"));
            nav.push(NavLink::new("/diary", "Diary"));
            if user.is_company_admin {
                nav.push(NavLink::new("/jobs/summary", "Our work"));
                nav.push(NavLink::new("/users", "Our users"));
            }
        }
        _ => {}
    }
    nav.push(NavLink::new("/account", "My account"));
    nav
}

/// Marks the link of the page shown (or of the section it is in: the longest
/// link that starts its path), for `aria-current` and the underline.
pub fn mark_current(mut nav: Vec<NavLink>, path: &str) -> Vec<NavLink> {
    let within = |href: &str| {
        path == href
            || (href != "/"
                && path.starts_with(href)
                && path.as_bytes().get(href.len()) == Some(&b'/'))
    };
    let best = nav
        .iter()
        .enumerate()
        .filter(|(_, link)| within(link.href))
        .max_by_key(|(_, link)| link.href.len())
        .map(|(i, _)| i);
    if let Some(i) = best {
        nav[i].current = Some(if nav[i].href == path { "page" } else { "true" });
    }
    nav
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nav() -> Vec<NavLink> {
        vec![
            NavLink::new("/", "Home"),
            NavLink::new("/plots", "Plots"),
            NavLink::new("/jobs", "My jobs"),
            NavLink::new("/jobs/summary", "Our work"),
            NavLink::new("/account", "My account"),
        ]
    }

    fn current(path: &str) -> Vec<(&'static str, &'static str)> {
        mark_current(nav(), path)
            .into_iter()
            .filter_map(|l| l.current.map(|c| (l.href, c)))
            .collect()
    }

    #[test]
    fn the_page_itself_is_the_current_page() {
        assert_eq!(current("/"), [("/", "page")]);
        assert_eq!(current("/plots"), [("/plots", "page")]);
        assert_eq!(current("/jobs/summary"), [("/jobs/summary", "page")]);
    }

    #[test]
    fn a_page_within_a_section_marks_the_section_only() {
        assert_eq!(current("/plots/0190/edit"), [("/plots", "true")]);
        assert_eq!(current("/account/tokens"), [("/account", "true")]);
        assert_eq!(current("/jobs/0190"), [("/jobs", "true")]);
    }

    #[test]
    fn a_page_outside_every_section_marks_nothing() {
        assert!(current("/plotsx").is_empty());
        assert!(current("/contracts/0190").is_empty());
    }
}
