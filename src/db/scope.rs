//! Which rows a query may reach, beyond the tenant: the schemes a restricted
//! staff user works on, or the company a subcontractor works for.
//! `auth::policy` decides a user's scope; every query here takes it.

use uuid::Uuid;

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
