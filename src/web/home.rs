//! The front door: signed-in users see their home page, everyone else the sign-in page.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use axum::extract::State;

use crate::{
    AppState, Result,
    auth::{CurrentUser, current_user::AuthRejection, policy},
    db::{self, tickets::TicketFilter},
    domain::{Role, TicketRef, long_date},
    web::chrome::Chrome,
};

/// How many lines a My work list shows before "and N more".
const MY_WORK_LINES: usize = 10;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    first_name: String,
    is_admin: bool,
    manages_company: bool,
    /// Staff and admins: My work.
    reviews: Option<WorkList>,
}

/// One list of My work: a count that opens the ticket list with the same filter, and its first lines.
struct WorkList {
    count: i64,
    href: &'static str,
    lines: Vec<WorkLine>,
}

struct WorkLine {
    href: String,
    reference: String,
    title: String,
    place: String,
    note: String,
}

/// Tickets on hold whose review date has come, in the user's ticket scope.
async fn hold_reviews_due(state: &AppState, user: &CurrentUser) -> Result<WorkList> {
    let mut tx = user.begin(state).await?;
    let scope = policy::ticket_scope(&mut tx, user).await?;
    let filter = TicketFilter {
        hold_review_due: true,
        ..TicketFilter::default()
    };
    let found = db::tickets::list(&mut tx, &scope, &filter, MY_WORK_LINES as i64).await?;
    let extras = db::tickets::list_extras(&mut tx, &scope, &filter).await?;
    let reviews = db::tickets::hold_reviews(&mut tx, found.iter().map(|t| t.id).collect()).await?;
    tx.commit().await?;
    Ok(WorkList {
        count: extras.counts.iter().map(|(_, n)| n).sum(),
        href: "/tickets?review=due",
        lines: found
            .iter()
            .map(|t| {
                let review = reviews.iter().find(|(id, ..)| *id == t.id);
                WorkLine {
                    href: format!("/tickets/{}", t.id),
                    reference: TicketRef(t.number).to_string(),
                    title: t.title.clone(),
                    place: format!("{} · Plot {}", t.scheme_name, t.plot_number),
                    note: review
                        .map(|(_, on, reason)| format!("Review due {}: {reason}", long_date(*on)))
                        .unwrap_or_default(),
                }
            })
            .collect(),
    })
}

async fn home(
    State(state): State<AppState>,
    user: std::result::Result<CurrentUser, AuthRejection>,
) -> Result<Response> {
    let user = match user {
        Ok(user) => user,
        Err(AuthRejection::SignIn { .. }) => return Ok(Redirect::to("/sign-in").into_response()),
        // E.g. two-factor authentication to set up first.
        Err(AuthRejection::Error(e)) => return Err(e),
    };
    if user.role == Role::Subcontractor {
        return Ok(Redirect::to("/jobs").into_response());
    }
    let page = HomePage {
        chrome: user.chrome("Home").await?,
        first_name: user
            .name
            .split_whitespace()
            .next()
            .unwrap_or(&user.name)
            .to_owned(),
        is_admin: user.role == Role::Admin,
        manages_company: user.is_company_admin,
        reviews: match policy::may_manage_tickets(&user) {
            Ok(()) => Some(hold_reviews_due(&state, &user).await?),
            Err(_) => None,
        },
    };
    Ok(page.into_response())
}
