//! Contacts: the list (search, filters, keyset pages), a contact's page (a
//! company's people and trades, a homeowner's plots), create and edit forms,
//! and archiving. Admins and staff change contacts; the out-of-hours role reads.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        contacts::{
            self as store, Contact, ContactFields, ContactFilter, KINDS, METHODS, Sort, Status,
            TRADES,
        },
    },
    domain::{Email, FormErrors, long_date},
    import::valid_phone,
    web::chrome::Chrome,
};

mod choices;
mod form;
mod list;
mod page;

use choices::*;
use form::*;
use list::*;
use page::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(list))
        .route("/contacts/new", get(new_form).post(create))
        .route("/contacts/{id}", get(show))
        .route("/contacts/{id}/edit", get(edit_form).post(update))
        .route("/contacts/{id}/archive", post(archive))
        .route("/contacts/{id}/restore", post(restore))
}

/// Rows on one page of the list.
const PAGE_SIZE: i64 = 50;

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str) -> ContactForm {
        ContactForm {
            kind: kind.into(),
            name: "Jane Example".into(),
            preferred_contact_method: "post".into(),
            address: "1 Larch Close".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_bad_email_is_named_by_its_line() {
        let f = ContactForm {
            emails: "jane@example.com\nnot an email".into(),
            ..form("homeowner")
        };
        let errors = validate(&f, &[]).unwrap_err();
        assert!(
            errors.get("emails").unwrap().starts_with("Line 2:"),
            "{:?}",
            errors.get("emails")
        );
    }

    #[test]
    fn a_person_needs_a_company_and_only_companies_keep_trades() {
        let errors = validate(&form("subcontractor_person"), &[]).unwrap_err();
        assert!(errors.get("company_id").is_some());
        let f = ContactForm {
            trades: vec!["plumbing".into()],
            ..form("homeowner")
        };
        assert!(validate(&f, &[]).unwrap().trades.is_empty());
        let f = ContactForm {
            trades: vec!["plumbing".into(), "plumbing".into(), "heating".into()],
            ..form("subcontractor_company")
        };
        assert_eq!(
            validate(&f, &[]).unwrap().trades,
            vec!["plumbing".to_string(), "heating".to_string()]
        );
    }

    #[test]
    fn the_preferred_method_needs_its_details() {
        let f = ContactForm {
            preferred_contact_method: "email".into(),
            ..form("homeowner")
        };
        assert!(
            validate(&f, &[])
                .unwrap_err()
                .get("preferred_contact_method")
                .is_some()
        );
        let f = ContactForm {
            preferred_contact_method: "sms".into(),
            phones: "07700 900123".into(),
            ..form("homeowner")
        };
        assert_eq!(
            validate(&f, &[]).unwrap().phones,
            vec!["07700 900123".to_string()]
        );
    }
}
