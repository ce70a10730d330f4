//! Plots: the list (search by plot number, postcode, address or homeowner; filters;
//! keyset pages), the plot page with its homeowners over time, create, edit and archive.

use crate::domain::clock::today;
use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    contracts::{PlotItem, contract_crumbs},
    kit::{
        Crumb, PAGE_SIZE, SelectOption, cursor, date_value, diff, non_empty, number_field,
        optional_id, parse_after, parse_id, query_string, unprocessable,
    },
};
use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        contracts::Contract,
        plots::{ArchivedFilter, Ownership, Plot, PlotFilter, PlotInput, PlotSort},
        users::Choice,
    },
    domain::{Email, FormErrors, Postcode, WarrantyStatus, long_date, parse_optional_date},
    web::chrome::Chrome,
};

mod archive;
mod form;
mod homeowners;
mod list;
mod page;

use archive::*;
use form::*;
use homeowners::*;
use list::*;
use page::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plots", get(list))
        .route("/contracts/{id}/plots/new", get(new_form).post(create))
        .route("/plots/{id}", get(show))
        .route("/plots/{id}/edit", get(edit_form).post(update))
        .route("/plots/{id}/archive", post(archive))
        .route("/plots/{id}/restore", post(restore))
        .route("/plots/{id}/homeowners", post(add_homeowner))
        .route(
            "/plots/{id}/homeowners/{ownership}/end",
            post(end_homeowner),
        )
}
