//! Access settings stored on rows: what an API token may do (`api_tokens.scopes`) and who
//! in a tenant must use a second factor (`tenants.mfa_required`). `auth` applies them.

use crate::domain::Role;

/// What an API token may do. Stored as words (`api_tokens.scopes`), so the list can grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// GET (and HEAD) requests: read what the token's user may read.
    Read,
    /// Every other method: change what the token's user may change.
    Write,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::Read, Scope::Write];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::Write => 2,
        }
    }

    /// The scope a request with this method needs.
    pub fn for_method(method: &axum::http::Method) -> Scope {
        use axum::http::Method;
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            Scope::Read
        } else {
            Scope::Write
        }
    }
}

/// A token's scopes: a small set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    pub fn of(scopes: &[Scope]) -> Scopes {
        Scopes(scopes.iter().fold(0, |bits, s| bits | s.bit()))
    }

    /// From the stored words; a word this version does not know grants nothing.
    pub fn from_words<S: AsRef<str>>(words: &[S]) -> Scopes {
        let known: Vec<Scope> = words
            .iter()
            .filter_map(|w| Scope::ALL.into_iter().find(|s| s.as_str() == w.as_ref()))
            .collect();
        Scopes::of(&known)
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The words to store, in a fixed order.
    pub fn words(self) -> Vec<&'static str> {
        Scope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .map(Scope::as_str)
            .collect()
    }

    /// How the token pages name it.
    pub fn label(self) -> &'static str {
        if self.contains(Scope::Write) {
            "Read and write"
        } else if self.contains(Scope::Read) {
            "Read only"
        } else {
            "No access"
        }
    }
}

/// Who in a tenant must use two-factor authentication (`tenants.mfa_required`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaPolicy {
    /// Admins only: always, whatever the setting.
    Admins,
    /// The tenant's own team: admins, staff and out-of-hours users.
    Staff,
    /// Everyone, subcontractors too.
    Everyone,
}

impl MfaPolicy {
    pub const ALL: [MfaPolicy; 3] = [MfaPolicy::Admins, MfaPolicy::Staff, MfaPolicy::Everyone];

    pub fn as_str(self) -> &'static str {
        match self {
            MfaPolicy::Admins => "admins",
            MfaPolicy::Staff => "staff",
            MfaPolicy::Everyone => "everyone",
        }
    }

    pub fn parse(value: &str) -> Option<MfaPolicy> {
        MfaPolicy::ALL.into_iter().find(|p| p.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            MfaPolicy::Admins => "Admins only",
            MfaPolicy::Staff => "Everyone on your team: admins, staff and out-of-hours users",
            MfaPolicy::Everyone => "Everyone, subcontractors too",
        }
    }

    /// Whether a user with `role` must use a second factor. Admins always must.
    pub fn requires(self, role: Role) -> bool {
        match (self, role) {
            (_, Role::Admin) => true,
            (MfaPolicy::Admins, _) => false,
            (MfaPolicy::Staff, Role::Subcontractor) => false,
            (MfaPolicy::Staff, _) => true,
            (MfaPolicy::Everyone, _) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_always_need_mfa_and_the_policy_widens_it() {
        assert!(MfaPolicy::Admins.requires(Role::Admin));
        assert!(!MfaPolicy::Admins.requires(Role::Staff));
        assert!(MfaPolicy::Staff.requires(Role::Emergency));
        assert!(!MfaPolicy::Staff.requires(Role::Subcontractor));
        assert!(MfaPolicy::Everyone.requires(Role::Subcontractor));
        assert_eq!(MfaPolicy::parse("staff"), Some(MfaPolicy::Staff));
        assert_eq!(MfaPolicy::parse("nobody"), None);
    }
}
