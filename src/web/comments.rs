//! The comments section of a ticket page, and its routes.
//!
//! A comment is internal (staff only) or shared (the nominated subcontractor
//! sees it too). Subcontractors never see or write internal comments. Authors
//! edit their own comments and the earlier text is kept; only admins delete.

use crate::tickets::{self, Actor};
use crate::web::kit::finish_create;
use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use super::kit::unprocessable;
use crate::domain::when;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy, policy::TicketScope},
    db::{
        self,
        comments::{Comment, Visibility},
        tickets::TicketHeader,
    },
    domain::{FormErrors, Role},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets/{id}/comments", get(thread).post(create))
        .route(
            "/tickets/{id}/comments/{comment_id}/edit",
            get(edit_form).post(update),
        )
        .route("/tickets/{id}/comments/{comment_id}/history", get(history))
        .route("/tickets/{id}/comments/{comment_id}/delete", post(delete))
}

/// The longest comment, in characters.
const MAX_BODY: usize = 10_000;
/// What the ticket page shows of this section.
#[derive(Debug, Default)]
pub struct Section {
    pub ticket_id: String,
    pub items: Vec<CommentItem>,
    /// Staff choose internal or shared; subcontractors only ever write shared comments.
    pub can_choose_visibility: bool,
    pub can_delete: bool,
    /// Edit histories are for staff: a subcontractor sees only a comment's current text.
    pub can_see_history: bool,
    /// The add form, refilled after a mistake.
    pub body: String,
    pub visibility: &'static str,
    pub errors: FormErrors,
}

/// One comment in the thread.
#[derive(Debug)]
pub struct CommentItem {
    pub id: String,
    pub author: String,
    pub when: String,
    pub shared: bool,
    pub body: String,
    pub edited: bool,
    pub deleted: bool,
    pub can_edit: bool,
}

impl Section {
    /// What each comment shown says now, by id (for the timeline).
    pub fn current_words(&self) -> std::collections::HashMap<Uuid, String> {
        self.items
            .iter()
            .filter(|c| !c.deleted)
            .filter_map(|c| Some((c.id.parse().ok()?, c.body.clone())))
            .collect()
    }

    pub async fn load(
        tx: &mut TenantTx,
        user: &CurrentUser,
        scope: &TicketScope,
        ticket: &TicketHeader,
    ) -> Result<Section> {
        let comments = db::comments::list(tx, ticket.id, scope.is_subcontractor()).await?;
        // A comment typed when the session had ended comes back here, unsent.
        let action = format!("/tickets/{}/comments", ticket.id);
        let kept = crate::auth::kept::take(user.session(), &action).await?;
        let mut visibility = default_visibility(scope);
        if !scope.is_subcontractor()
            && let Some(v) = kept.as_ref().and_then(|k| k.get("visibility"))
        {
            visibility = Visibility::parse(v).unwrap_or(visibility);
        }
        let body = kept
            .as_ref()
            .and_then(|k| k.get("body"))
            .unwrap_or_default()
            .to_owned();
        Ok(Section {
            ticket_id: ticket.id.to_string(),
            items: comments.iter().map(|c| item(user, c)).collect(),
            can_choose_visibility: !scope.is_subcontractor(),
            can_delete: user.role == Role::Admin,
            can_see_history: policy::may_read_comment_history(user).is_ok(),
            body,
            visibility: visibility.as_str(),
            errors: FormErrors::default(),
        })
    }
}

fn item(user: &CurrentUser, c: &Comment) -> CommentItem {
    let deleted = c.deleted_at.is_some();
    CommentItem {
        id: c.id.to_string(),
        author: c.author_name.clone(),
        when: when(c.created_at),
        shared: c.is_shared(),
        // A deleted comment's text stays in the database, never on the page.
        body: if deleted {
            String::new()
        } else {
            c.body.clone()
        },
        edited: c.edited_at.is_some(),
        deleted,
        can_edit: !deleted && c.author_user_id == user.id,
    }
}

/// Staff comments start internal (the safe choice); a subcontractor's are always shared.
fn default_visibility(scope: &TicketScope) -> Visibility {
    if scope.is_subcontractor() {
        Visibility::Shared
    } else {
        Visibility::Internal
    }
}

/// The ticket, if the user reaches it; otherwise 404.
async fn ticket_in_scope(
    tx: &mut TenantTx,
    user: &CurrentUser,
    raw_id: &str,
) -> Result<(TicketScope, TicketHeader)> {
    let id = Uuid::parse_str(raw_id).map_err(|_| AppError::NotFound)?;
    let scope = policy::ticket_scope(tx, user).await?;
    let ticket = db::tickets::header(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((scope, ticket))
}

/// A comment of the ticket the user may see; otherwise 404.
async fn comment_in_scope(
    tx: &mut TenantTx,
    scope: &TicketScope,
    ticket: &TicketHeader,
    raw_id: &str,
) -> Result<Comment> {
    let id = Uuid::parse_str(raw_id).map_err(|_| AppError::NotFound)?;
    db::comments::find(tx, ticket.id, id, scope.is_subcontractor())
        .await?
        .ok_or(AppError::NotFound)
}

fn ticket_path(ticket: &TicketHeader) -> String {
    format!("/tickets/{}", ticket.id)
}

pub(crate) use crate::tickets::excerpt;

/// A trimmed comment text, or the reason it cannot be saved.
fn parse_body(errors: &mut FormErrors, raw: &str) -> String {
    let body = errors.long_text("body", raw, MAX_BODY, None);
    if body.is_empty() {
        errors.add("body", "Write a comment before saving.");
    }
    body
}

// ---------------------------------------------------------------- the thread on its own

#[derive(Template, WebTemplate)]
#[template(path = "tickets/comments.html")]
struct ThreadPage {
    chrome: Chrome,
    ticket_path: String,
    reference: String,
    comments: Section,
}

async fn thread_page(
    user: &CurrentUser,
    ticket: &TicketHeader,
    comments: Section,
) -> Result<ThreadPage> {
    let reference = ticket.reference();
    Ok(ThreadPage {
        chrome: user.chrome(format!("Comments on {reference}")).await?,
        ticket_path: ticket_path(ticket),
        reference,
        comments,
    })
}

async fn thread(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ThreadPage> {
    let mut tx = user.begin(&state).await?;
    let (scope, ticket) = ticket_in_scope(&mut tx, &user, &id).await?;
    let section = Section::load(&mut tx, &user, &scope, &ticket).await?;
    tx.commit().await?;
    thread_page(&user, &ticket, section).await
}

// ---------------------------------------------------------------- add

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    form_key: String,
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (scope, ticket) = ticket_in_scope(&mut tx, &user, &id).await?;

    let mut errors = FormErrors::default();
    let body = parse_body(&mut errors, &form.body);
    let visibility = if scope.is_subcontractor() {
        // Subcontractors never write internal comments, whatever the form says.
        Visibility::Shared
    } else {
        Visibility::parse(&form.visibility).unwrap_or_else(|| {
            errors.add("visibility", "Choose who can see this comment.");
            default_visibility(&scope)
        })
    };
    if !errors.is_empty() {
        let mut section = Section::load(&mut tx, &user, &scope, &ticket).await?;
        tx.commit().await?;
        section.body = body;
        section.visibility = visibility.as_str();
        section.errors = errors;
        return Ok(unprocessable(thread_page(&user, &ticket, section).await?));
    }

    let comment_id =
        tickets::comment(&mut tx, &Actor::of(&user), ticket.id, visibility, &body).await?;
    let location = format!("{}#comment-{comment_id}", ticket_path(&ticket));
    finish_create(
        tx,
        &user,
        &form.form_key,
        &location,
        (if visibility.is_shared() {
            "Comment added and shared."
        } else {
            "Internal comment added."
        })
        .to_owned(),
    )
    .await
}

// ---------------------------------------------------------------- edit

#[derive(Template, WebTemplate)]
#[template(path = "tickets/comment_edit.html")]
struct EditPage {
    chrome: Chrome,
    ticket_path: String,
    reference: String,
    comment_id: String,
    shared: bool,
    /// The editor does not read histories (a subcontractor): say who does.
    history_for_staff_only: bool,
    body: String,
    errors: FormErrors,
}

/// The author's own, undeleted comment; anyone else's answers 404 (they have no edit page).
async fn own_comment(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: &str,
    comment_id: &str,
) -> Result<(TicketHeader, Comment)> {
    let (scope, ticket) = ticket_in_scope(tx, user, id).await?;
    let comment = comment_in_scope(tx, &scope, &ticket, comment_id).await?;
    if comment.author_user_id != user.id || comment.deleted_at.is_some() {
        return Err(AppError::NotFound);
    }
    Ok((ticket, comment))
}

async fn edit_page(
    user: &CurrentUser,
    ticket: &TicketHeader,
    comment: &Comment,
    body: String,
    errors: FormErrors,
) -> Result<EditPage> {
    let reference = ticket.reference();
    Ok(EditPage {
        chrome: user.chrome(format!("Edit comment on {reference}")).await?,
        ticket_path: ticket_path(ticket),
        reference,
        comment_id: comment.id.to_string(),
        shared: comment.is_shared(),
        history_for_staff_only: policy::may_read_comment_history(user).is_err(),
        body,
        errors,
    })
}

async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, comment_id)): Path<(String, String)>,
) -> Result<EditPage> {
    let mut tx = user.begin(&state).await?;
    let (ticket, comment) = own_comment(&mut tx, &user, &id, &comment_id).await?;
    tx.commit().await?;
    let body = comment.body.clone();
    edit_page(&user, &ticket, &comment, body, FormErrors::default()).await
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    body: String,
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, comment_id)): Path<(String, String)>,
    Form(form): Form<EditForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (ticket, comment) = own_comment(&mut tx, &user, &id, &comment_id).await?;
    let mut errors = FormErrors::default();
    let body = parse_body(&mut errors, &form.body);
    if !errors.is_empty() {
        tx.commit().await?;
        return Ok(unprocessable(
            edit_page(&user, &ticket, &comment, body, errors).await?,
        ));
    }
    let anchor = format!("{}#comment-{}", ticket_path(&ticket), comment.id);
    if !tickets::edit_comment(&mut tx, &Actor::of(&user), &comment, &body).await? {
        tx.commit().await?;
        user.flash("info", "Nothing changed.").await?;
        return Ok(Redirect::to(&anchor).into_response());
    }
    tx.commit().await?;
    user.flash(
        "success",
        "Comment updated. The earlier text is kept in its history.",
    )
    .await?;
    Ok(Redirect::to(&anchor).into_response())
}

// ---------------------------------------------------------------- history

struct RevisionItem {
    when: String,
    by: String,
    body: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "tickets/comment_history.html")]
struct HistoryPage {
    chrome: Chrome,
    ticket_path: String,
    reference: String,
    comment: CommentItem,
    revisions: Vec<RevisionItem>,
}

async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, comment_id)): Path<(String, String)>,
) -> Result<HistoryPage> {
    policy::may_read_comment_history(&user)?;
    let mut tx = user.begin(&state).await?;
    let (scope, ticket) = ticket_in_scope(&mut tx, &user, &id).await?;
    let comment = comment_in_scope(&mut tx, &scope, &ticket, &comment_id).await?;
    // A deleted comment's words are for admins only.
    let deleted = comment.deleted_at.is_some();
    if deleted && user.role != Role::Admin {
        return Err(AppError::NotFound);
    }
    let revisions = db::comments::revisions(&mut tx, comment.id).await?;
    tx.commit().await?;
    let mut current = item(&user, &comment);
    if deleted {
        current.body = comment.body.clone();
    }
    let reference = ticket.reference();
    Ok(HistoryPage {
        chrome: user
            .chrome(format!("Comment history on {reference}"))
            .await?,
        ticket_path: ticket_path(&ticket),
        reference,
        comment: current,
        revisions: revisions
            .into_iter()
            .map(|r| RevisionItem {
                when: when(r.edited_at),
                by: r.edited_by_name,
                body: r.body,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------- delete

async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, comment_id)): Path<(String, String)>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (scope, ticket) = ticket_in_scope(&mut tx, &user, &id).await?;
    let comment = comment_in_scope(&mut tx, &scope, &ticket, &comment_id).await?;
    if user.role != Role::Admin {
        return Err(AppError::Forbidden("Only admins can delete comments."));
    }
    policy::require_mfa(&user)?;
    tickets::delete_comment(&mut tx, &Actor::of(&user), &comment).await?;
    tx.commit().await?;
    user.flash("success", "Comment deleted.").await?;
    Ok(Redirect::to(&format!("{}#comments", ticket_path(&ticket))).into_response())
}
