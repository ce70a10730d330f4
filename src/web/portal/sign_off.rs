//! Staff sign-off of completed work.

use super::*;
use crate::tickets::{self, Actor};

// ---------------------------------------------------------------- staff sign-off

#[derive(Template, WebTemplate)]
#[template(path = "portal/sign_off.html")]
pub(super) struct SignOffPage {
    pub(super) chrome: Chrome,
    pub(super) crumbs: Vec<Crumb>,
    pub(super) ticket_id: String,
    pub(super) reference: String,
    pub(super) title: String,
    pub(super) company: String,
    pub(super) completed_by: String,
    pub(super) completed_at: String,
    pub(super) note: String,
    pub(super) resolution: String,
    pub(super) reason: String,
    pub(super) errors: FormErrors,
}

/// A ticket staff may change, if their scope reaches it.
pub(super) async fn managed_ticket(
    tx: &mut TenantTx,
    user: &CurrentUser,
    raw_id: &str,
) -> Result<Ticket> {
    let id = parse_id(raw_id)?;
    let scope = policy::ticket_scope(tx, user).await?;
    let ticket = db::tickets::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    policy::may_manage_tickets(user)?;
    Ok(ticket)
}

pub(super) async fn sign_off_view(
    tx: &mut TenantTx,
    user: &CurrentUser,
    t: &Ticket,
    resolution: Option<String>,
    reason: String,
    errors: FormErrors,
) -> Result<SignOffPage> {
    let completion = db::portal::latest_completion(tx, t.id).await?;
    let note = completion
        .as_ref()
        .and_then(|c| c.note.clone())
        .unwrap_or_default();
    Ok(SignOffPage {
        chrome: user.chrome(format!("Sign off {}", t.reference())).await?,
        crumbs: vec![
            Crumb::link(format!("/tickets/{}", t.id), t.reference()),
            Crumb::here("Sign-off"),
        ],
        ticket_id: t.id.to_string(),
        reference: t.reference(),
        title: t.title.clone(),
        company: t.nominated_company_name.clone().unwrap_or_default(),
        completed_by: completion
            .as_ref()
            .and_then(|c| c.by_name.clone())
            .unwrap_or_default(),
        completed_at: completion
            .as_ref()
            .map(|c| when(c.occurred_at))
            .unwrap_or_default(),
        resolution: resolution.unwrap_or_else(|| note.clone()),
        note,
        reason,
        errors,
    })
}

/// Not awaiting sign-off: back to the ticket with a message.
pub(super) async fn not_awaiting(user: &CurrentUser, t: &Ticket) -> Result<Response> {
    user.flash(
        "info",
        format!(
            "{} is {}, not awaiting sign-off.",
            t.reference(),
            t.status().label().to_lowercase()
        ),
    )
    .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}

pub(super) async fn sign_off_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    if t.status() != Status::Completed {
        tx.commit().await?;
        return not_awaiting(&user, &t).await;
    }
    let page = sign_off_view(
        &mut tx,
        &user,
        &t,
        None,
        String::new(),
        FormErrors::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(page.into_response())
}

#[derive(Deserialize)]
pub(super) struct CloseForm {
    #[serde(default)]
    pub(super) resolution: String,
}

pub(super) async fn confirm_close(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<CloseForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    let from = t.status();
    if from != Status::Completed || transition_refusal(from, Status::Closed).is_some() {
        tx.commit().await?;
        return not_awaiting(&user, &t).await;
    }
    let resolution = match required_text(
        &form.resolution,
        "Say how the defect was resolved before closing the ticket.",
    ) {
        Ok(r) => r,
        Err(message) => {
            let mut errors = FormErrors::default();
            errors.add("resolution", message);
            let page = sign_off_view(
                &mut tx,
                &user,
                &t,
                Some(form.resolution),
                String::new(),
                errors,
            )
            .await?;
            return Ok(unprocessable(page));
        }
    };
    tickets::sign_off(&mut tx, &Actor::of(&user), t.id, &resolution).await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("{} is confirmed and closed.", t.reference()),
    )
    .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}

#[derive(Deserialize)]
pub(super) struct SendBackForm {
    #[serde(default)]
    pub(super) reason: String,
}

pub(super) async fn send_back(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<SendBackForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    let from = t.status();
    if from != Status::Completed || transition_refusal(from, Status::InProgress).is_some() {
        tx.commit().await?;
        return not_awaiting(&user, &t).await;
    }
    let reason = match required_text(
        &form.reason,
        "Say what still needs doing, so the subcontractor knows.",
    ) {
        Ok(r) => r,
        Err(message) => {
            let mut errors = FormErrors::default();
            errors.add("reason", message);
            let page = sign_off_view(&mut tx, &user, &t, None, form.reason, errors).await?;
            return Ok(unprocessable(page));
        }
    };
    tickets::send_back(&mut tx, &Actor::of(&user), t.id, &reason).await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "{} is sent back to the subcontractor and in progress again.",
            t.reference()
        ),
    )
    .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}
