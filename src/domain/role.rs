use std::{fmt, str::FromStr};

/// What a user is, which decides what they may do (see `auth::policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users, settings, the audit trail and exports.
    Admin,
    /// A customer-care team member.
    Staff,
    /// Out of hours: logs tickets and reads the rest.
    Emergency,
    /// Works for a subcontractor company and sees only that company's work.
    Subcontractor,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::Staff,
        Role::Emergency,
        Role::Subcontractor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Emergency => "emergency",
            Role::Subcontractor => "subcontractor",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Staff => "Customer care",
            Role::Emergency => "Emergency (out of hours)",
            Role::Subcontractor => "Subcontractor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Role::parse(s).ok_or(())
    }
}

text_column!(Role);
