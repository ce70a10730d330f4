//! Bulk actions on the ticket list: nominate, change priority, put on hold, close as a
//! duplicate or export (see [`super::bulk_export`]) the tickets ticked (or every ticket the list's filter matches, up to
//! [`BULK_LIMIT`]). Each ticket goes through the ticket service in a transaction of its
//! own, so each gets its own audit record and one refusal does not undo the others; the
//! page then says what was done and what was refused, and why.

use super::*;
use crate::tickets::{self, Actor};

/// The most tickets one bulk action changes.
pub(super) const BULK_LIMIT: usize = 500;

/// The ticket list's bulk form, as sent.
#[derive(Debug, Default)]
struct BulkForm {
    tickets: Vec<String>,
    action: String,
    nominee: String,
    priority: String,
    hold_reason: String,
    review_on: String,
    duplicate_of: String,
    all_matching: bool,
    /// The list's query string, for "every ticket matching the filter".
    filter: String,
}

impl BulkForm {
    fn read(pairs: Vec<(String, String)>) -> BulkForm {
        let mut f = BulkForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "ticket" => f.tickets.push(v),
                "action" => f.action = v,
                "nominee" => f.nominee = v,
                "priority" => f.priority = v,
                "hold_reason" => f.hold_reason = v,
                "review_on" => f.review_on = v,
                "duplicate_of" => f.duplicate_of = v,
                "all_matching" => f.all_matching = v == "yes",
                "filter" => f.filter = v,
                _ => {}
            }
        }
        f
    }
}

/// What to do to each ticket, checked once.
enum Action {
    Nominate(String),
    Priority(Priority),
    Hold(String, time::Date),
    Duplicate(String),
}

impl Action {
    fn describe(&self) -> String {
        match self {
            Action::Nominate(_) => "Nominated".into(),
            Action::Priority(p) => format!("Priority set to {}", p.label().to_lowercase()),
            Action::Hold(..) => "Put on hold".into(),
            Action::Duplicate(_) => "Closed as a duplicate".into(),
        }
    }
}

fn action_of(f: &BulkForm) -> std::result::Result<Action, String> {
    match f.action.as_str() {
        "nominate" if f.nominee.trim().is_empty() => {
            Err("Choose whom to nominate the tickets to.".into())
        }
        "nominate" => Ok(Action::Nominate(f.nominee.trim().to_owned())),
        "priority" => Priority::parse(f.priority.trim())
            .map(Action::Priority)
            .ok_or_else(|| "Choose the new priority.".into()),
        "hold" => {
            let reason = f.hold_reason.trim();
            if reason.is_empty() {
                return Err("Say why the tickets are on hold.".into());
            }
            match parse_optional_date("review_on", &f.review_on) {
                Ok(Some(on)) => Ok(Action::Hold(reason.chars().take(2000).collect(), on)),
                _ => Err("Choose the date to review the hold, like 2026-12-14.".into()),
            }
        }
        "duplicate" => {
            let of = f.duplicate_of.trim();
            Ok(Action::Duplicate(if of.is_empty() {
                "Closed as a duplicate.".into()
            } else {
                format!(
                    "Closed as a duplicate of {}.",
                    of.chars().take(40).collect::<String>()
                )
            }))
        }
        _ => Err("Choose what to do to the tickets.".into()),
    }
}

pub(super) struct Outcome {
    pub(super) reference: String,
    pub(super) href: String,
    pub(super) why: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "tickets/bulk_done.html")]
pub(super) struct BulkDonePage {
    pub(super) chrome: Chrome,
    pub(super) what: String,
    pub(super) done: Vec<Outcome>,
    pub(super) refused: Vec<Outcome>,
    pub(super) back: String,
}

pub(super) async fn bulk(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    policy::may_manage_tickets(&user)?;
    let form = BulkForm::read(pairs);
    let back = if form.filter.starts_with("/tickets") {
        form.filter.clone()
    } else {
        "/tickets".into()
    };
    let export = form.action == "export";
    let action = if export {
        None
    } else {
        Some(action_of(&form).map_err(AppError::BadRequest)?)
    };
    let ids = chosen(&state, &user, &form).await?;
    if ids.is_empty() {
        return Err(AppError::BadRequest(
            "Tick the tickets to change, or choose every ticket matching the filter.".into(),
        ));
    }
    let Some(action) = action else {
        return super::bulk_export::export(&state, &user, &ids).await;
    };
    let actor = Actor::of(&user);
    let links = crate::web::links(&state, &axum::http::HeaderMap::new());
    let mut done = Vec::new();
    let mut refused = Vec::new();
    for id in ids {
        // Each ticket on its own: its own check of the user's reach, its own transaction.
        let mut tx = user.begin(&state).await?;
        let scope = policy::ticket_scope(&mut tx, &user).await?;
        let Some(header) = db::tickets::header(&mut tx, &scope, id).await? else {
            refused.push(Outcome {
                reference: "A ticket".into(),
                href: String::new(),
                why: "It is not one you can reach (another scheme, or no longer there).".into(),
            });
            continue;
        };
        let outcome = Outcome {
            reference: header.reference(),
            href: format!("/tickets/{}", header.id),
            why: String::new(),
        };
        match apply(&mut tx, &actor, &scope, id, &action, &links).await {
            Ok(()) => {
                tx.commit().await?;
                done.push(outcome);
            }
            Err(
                e @ (AppError::Refused { .. }
                | AppError::Conflict(_)
                | AppError::Forbidden(_)
                | AppError::NotFound),
            ) => {
                refused.push(Outcome {
                    why: e.message(),
                    ..outcome
                });
            }
            Err(e) => return Err(e),
        }
    }
    let page = BulkDonePage {
        chrome: user.chrome("Bulk action").await?,
        what: action.describe(),
        done,
        refused,
        back,
    };
    Ok(page.into_response())
}

/// The tickets ticked, or every one the filter matches (the user's reach applies).
async fn chosen(state: &AppState, user: &CurrentUser, form: &BulkForm) -> Result<Vec<Uuid>> {
    if !form.all_matching {
        let mut ids = Vec::new();
        for raw in &form.tickets {
            let id = Uuid::parse_str(raw.trim()).map_err(|_| {
                AppError::BadRequest("A ticket in the selection is not one of the list's.".into())
            })?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() > BULK_LIMIT {
            return Err(AppError::BadRequest(format!(
                "Choose at most {BULK_LIMIT} tickets at a time."
            )));
        }
        return Ok(ids);
    }
    let query = form.filter.split_once('?').map_or("", |(_, q)| q);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "after")
        .collect();
    let filter = ListParams::read(pairs)
        .filter()
        .map_err(AppError::BadRequest)?;
    let mut tx = user.begin(state).await?;
    let scope = policy::ticket_scope(&mut tx, user).await?;
    let found = db::tickets::list(&mut tx, &scope, &filter, BULK_LIMIT as i64 + 1).await?;
    tx.commit().await?;
    if found.len() > BULK_LIMIT {
        return Err(AppError::BadRequest(format!(
            "More than {BULK_LIMIT} tickets match the filter. Narrow it down and try again."
        )));
    }
    Ok(found.into_iter().map(|t| t.id).collect())
}

async fn apply(
    tx: &mut TenantTx,
    actor: &Actor,
    scope: &policy::TicketScope,
    id: Uuid,
    action: &Action,
    links: &tickets::Links,
) -> Result<()> {
    match action {
        Action::Nominate(choice) => {
            tickets::nominate(tx, actor, id, choice, links).await?;
        }
        Action::Priority(priority) => {
            let t = db::tickets::find(tx, scope, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let mut fields = TicketFields::of(&t);
            fields.priority = *priority;
            if !tickets::edit(tx, actor, &t, &fields).await? {
                return Err(AppError::Conflict(format!(
                    "It is already {} priority.",
                    priority.label().to_lowercase()
                )));
            }
        }
        Action::Hold(reason, on) => {
            let ask = tickets::Transition {
                to: Some(Status::OnHold),
                note: reason.clone(),
                review_on: Some(*on),
                ..tickets::Transition::default()
            };
            tickets::transition(tx, actor, id, ask).await?;
        }
        Action::Duplicate(resolution) => {
            let ask = tickets::Transition {
                to: Some(Status::Closed),
                resolution: resolution.clone(),
                ..tickets::Transition::default()
            };
            tickets::transition(tx, actor, id, ask).await?;
        }
    }
    Ok(())
}
