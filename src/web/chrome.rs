//! What every page's layout needs: the title, the signed-in user and tenant,
//! the navigation, flash messages and the CSRF token for its forms.

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
}

#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    /// "success", "info" or "error": a CSS class.
    pub kind: String,
    pub message: String,
}

impl Chrome {
    pub fn anonymous(title: impl Into<String>) -> Self {
        Chrome {
            title: title.into(),
            ..Default::default()
        }
    }
}
