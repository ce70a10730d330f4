//! Quick find, from the box in every staff page's header: a ticket reference, a plot
//! number, a postcode, a street, a homeowner's name or phone. Results come grouped
//! (tickets, plots, contacts), each group from the list it belongs to, so the same
//! reach rules and search indexes apply. Progressive: the form is a plain GET that
//! works without script; as you type, app.js asks for the results alone
//! (`partial=1`) and shows them under the box. Pressing Enter (`go=1`) opens the best
//! match: a ticket whose reference was typed, or the only thing found.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::State,
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{
    AppState, Result,
    auth::{CurrentUser, policy},
    db::{self, contacts::ContactFilter, plots::PlotFilter, tickets::TicketFilter},
    domain::{TicketRef, clock},
    web::{chrome::Chrome, query::Query},
};

/// Rows per group.
const PER_GROUP: i64 = 6;

pub fn routes() -> Router<AppState> {
    Router::new().route("/find", get(find))
}

#[derive(Debug, Default, Deserialize)]
struct FindQuery {
    #[serde(default)]
    q: String,
    /// "1": Enter in the header box; open the best match if there is one.
    #[serde(default)]
    go: String,
    /// "1": the results alone, for the box's list as you type.
    #[serde(default)]
    partial: String,
}

pub struct Found {
    pub href: String,
    pub label: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "find/results.html")]
pub struct Results {
    pub q: String,
    pub tickets: Vec<Found>,
    pub plots: Vec<Found>,
    pub contacts: Vec<Found>,
}

impl Results {
    fn is_empty(&self) -> bool {
        self.tickets.is_empty() && self.plots.is_empty() && self.contacts.is_empty()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "find/page.html")]
struct FindPage {
    chrome: Chrome,
    q: String,
    tickets: Vec<Found>,
    plots: Vec<Found>,
    contacts: Vec<Found>,
}

impl FindPage {
    fn nothing(&self) -> bool {
        !self.q.is_empty()
            && self.tickets.is_empty()
            && self.plots.is_empty()
            && self.contacts.is_empty()
    }
}

async fn find(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<FindQuery>,
) -> Result<Response> {
    policy::may_log_tickets(&user)?; // staff pages only: subcontractors have My jobs
    let q: String = query.q.trim().chars().take(100).collect();
    let (results, exact) = if q.is_empty() {
        (
            Results {
                q: String::new(),
                tickets: vec![],
                plots: vec![],
                contacts: vec![],
            },
            None,
        )
    } else {
        search(&state, &user, &q).await?
    };
    if query.partial == "1" {
        let html = results
            .render()
            .map_err(|e| crate::AppError::Internal(e.into()))?;
        return Ok(Html(html).into_response());
    }
    if query.go == "1" {
        let only = [&results.tickets, &results.plots, &results.contacts]
            .iter()
            .map(|g| g.len())
            .sum::<usize>()
            == 1;
        let best = exact.or_else(|| {
            only.then(|| {
                results
                    .tickets
                    .first()
                    .or(results.plots.first())
                    .or(results.contacts.first())
                    .map(|f| f.href.clone())
            })
            .flatten()
        });
        if let Some(href) = best {
            return Ok(Redirect::to(&href).into_response());
        }
    }
    let title = if q.is_empty() {
        "Find".to_owned()
    } else {
        format!("Find “{q}”")
    };
    Ok(FindPage {
        chrome: user.chrome(title).await?,
        q: results.q,
        tickets: results.tickets,
        plots: results.plots,
        contacts: results.contacts,
    }
    .into_response())
}

/// The groups for `q`, and the ticket whose reference it is, if any.
async fn search(
    state: &AppState,
    user: &CurrentUser,
    q: &str,
) -> Result<(Results, Option<String>)> {
    let mut tx = user.begin(state).await?;
    let ticket_scope = policy::ticket_scope(&mut tx, user).await?;
    let record_scope = policy::record_scope(&mut tx, user).await?;
    let tickets = db::tickets::list(
        &mut tx,
        &ticket_scope,
        &TicketFilter {
            q: Some(q.to_owned()),
            ..TicketFilter::default()
        },
        PER_GROUP,
    )
    .await?;
    let plots = db::plots::list(
        &mut tx,
        &record_scope,
        &PlotFilter {
            search: Some(q.to_owned()),
            scheme_id: None,
            contract_id: None,
            warranty: None,
            archived: Default::default(),
            sort: Default::default(),
            after: None,
            today: clock::today(),
        },
        PER_GROUP,
    )
    .await?;
    let contacts = db::contacts::list(
        &mut tx,
        &ContactFilter {
            q: Some(q.to_owned()),
            kind: None,
            trade: None,
            status: Default::default(),
            sort: Default::default(),
            after: None,
        },
        record_scope.as_filter(),
        PER_GROUP,
    )
    .await?;
    tx.commit().await?;
    let exact = TicketRef::parse(q).and_then(|r| {
        tickets
            .iter()
            .find(|t| t.number == r.0)
            .map(|t| format!("/tickets/{}", t.id))
    });
    let results = Results {
        q: q.to_owned(),
        tickets: tickets
            .iter()
            .map(|t| Found {
                href: format!("/tickets/{}", t.id),
                label: format!("{} {}", t.reference(), t.title),
                detail: format!(
                    "Plot {}, {} {} · {}",
                    t.plot_number,
                    t.scheme_name,
                    t.postcode,
                    t.status.label()
                ),
            })
            .collect(),
        plots: plots
            .iter()
            .map(|p| Found {
                href: format!("/plots/{}", p.id),
                label: format!("Plot {}, {}", p.plot_number, p.scheme_name),
                detail: [
                    p.address_line1.as_str(),
                    p.postcode.as_str(),
                    p.homeowners.as_deref().unwrap_or(""),
                ]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · "),
            })
            .collect(),
        contacts: contacts
            .iter()
            .map(|c| Found {
                href: format!("/contacts/{}", c.id),
                label: c.name.clone(),
                detail: c
                    .phones
                    .first()
                    .or(c.emails.first())
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect(),
    };
    Ok((results, exact))
}

impl Results {
    /// For the template: whether nothing was found for a query that was typed.
    pub fn nothing(&self) -> bool {
        !self.q.is_empty() && self.is_empty()
    }
}
