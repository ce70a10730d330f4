//! The files section of a ticket page, and its routes: photos and documents
//! uploaded from a phone camera or a desktop.
//!
//! An upload goes through the one upload path ([`crate::upload`]): judged by
//! its content, limited, streamed into the media store outside any
//! transaction, recorded in a short one, and removed again if it is not.
//! Photos get a thumbnail, made once. Downloads check access first, then
//! redirect to a short-lived link named with the extension of the file's real
//! type; anything but a photo downloads as an attachment. Each file has a
//! "visible to subcontractor" switch.

use crate::tickets::{self, Actor};
use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Multipart, Path, State, multipart::MultipartRejection},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::when;
use crate::{
    AppError, AppState, DOWNLOAD_LINK_TTL, Result,
    auth::{CurrentUser, TenantTx, policy, policy::TicketScope},
    db::{
        self,
        audit::{self, Changes},
        files::{MediaFile, NewFile},
        tickets::TicketHeader,
    },
    domain::file_type,
    media::{Download, MediaKey},
    thumbnails,
    upload::{self, Accept, Refusal, Rules, Upload},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets/{id}/files", get(files_page).post(upload))
        .route("/tickets/{id}/files/{file_id}", get(download))
        .route("/tickets/{id}/files/{file_id}/thumbnail", get(thumbnail))
        .route(
            "/tickets/{id}/files/{file_id}/visibility",
            post(set_visibility),
        )
}

/// What the file input offers a phone or a desktop (the server checks the content regardless).
pub const ACCEPT: &str =
    "image/*,application/pdf,video/mp4,.heic,.heif,.doc,.docx,.xls,.xlsx,.ppt,.pptx";
/// Text fields of the upload form are tiny; anything longer is not from our form.
const MAX_TEXT_FIELD: usize = 200;
/// Media store folders.
pub(crate) const FOLDER: &str = "ticket-files";

/// What the ticket page shows of this section.
#[derive(Debug, Default)]
pub struct Section {
    pub ticket_id: String,
    pub items: Vec<FileItem>,
    /// Admins and staff switch a file's visibility to the subcontractor.
    pub can_manage: bool,
    /// Staff choose visibility on upload; a subcontractor's uploads are always visible to them.
    pub can_choose_visibility: bool,
    /// Comments a file may be attached to: (id, label).
    pub comment_choices: Vec<(String, String)>,
    pub accept: &'static str,
    /// Why the last upload was refused, shown by the file field.
    pub error: Option<String>,
}

/// One file in the list.
#[derive(Debug)]
pub struct FileItem {
    pub id: String,
    pub name: String,
    pub size: String,
    pub by: String,
    pub when: String,
    pub visible: bool,
    pub has_thumbnail: bool,
    /// "PDF", "Video"…, shown where there is no thumbnail.
    pub label: &'static str,
    pub comment_id: Option<String>,
}

impl Section {
    pub async fn load(
        tx: &mut TenantTx,
        user: &CurrentUser,
        scope: &TicketScope,
        ticket: &TicketHeader,
    ) -> Result<Section> {
        let subcontractor = scope.is_subcontractor();
        let files = db::files::list(tx, ticket.id, subcontractor).await?;
        let comments = db::comments::list(tx, ticket.id, subcontractor).await?;
        Ok(Section {
            ticket_id: ticket.id.to_string(),
            items: files.iter().map(item).collect(),
            can_manage: policy::may_manage_tickets(user).is_ok(),
            can_choose_visibility: !subcontractor,
            comment_choices: comments
                .iter()
                .filter(|c| c.deleted_at.is_none())
                .map(|c| {
                    (
                        c.id.to_string(),
                        format!("Comment by {}, {}", c.author_name, when(c.created_at)),
                    )
                })
                .collect(),
            accept: ACCEPT,
            error: None,
        })
    }
}

fn item(f: &MediaFile) -> FileItem {
    FileItem {
        id: f.id.to_string(),
        name: f.original_name.clone(),
        size: human_size(f.size_bytes),
        by: f
            .uploaded_by_name
            .clone()
            .unwrap_or_else(|| "Someone no longer here".into()),
        when: when(f.created_at),
        visible: f.visible_to_subcontractor,
        has_thumbnail: f.thumbnail_key.is_some(),
        label: file_type::label_for(&f.content_type),
        comment_id: f.comment_id.map(|c| c.to_string()),
    }
}

/// "2.4 MB", "310 KB", "12 bytes".
fn human_size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else if b >= KB {
        format!("{:.0} KB", b / KB)
    } else {
        format!("{bytes} bytes")
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

/// A file of the ticket the user may see (subcontractors only those made visible to them); otherwise 404.
async fn file_in_scope(
    tx: &mut TenantTx,
    user: &CurrentUser,
    raw_id: &str,
    raw_file_id: &str,
) -> Result<(TicketHeader, MediaFile)> {
    let (scope, ticket) = ticket_in_scope(tx, user, raw_id).await?;
    let file_id = Uuid::parse_str(raw_file_id).map_err(|_| AppError::NotFound)?;
    let file = db::files::find(tx, ticket.id, file_id, scope.is_subcontractor())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((ticket, file))
}

fn stored_key(key: &str) -> Result<MediaKey> {
    MediaKey::parse(key).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("a media_files row holds a malformed key"))
    })
}

// ---------------------------------------------------------------- the section on its own

#[derive(Template, WebTemplate)]
#[template(path = "tickets/files.html")]
struct FilesPage {
    chrome: Chrome,
    ticket_path: String,
    reference: String,
    files: Section,
}

async fn files_page_for(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
    error: Option<String>,
) -> Result<FilesPage> {
    let mut tx = user.begin(state).await?;
    let (scope, ticket) = ticket_in_scope(&mut tx, user, raw_id).await?;
    let mut files = Section::load(&mut tx, user, &scope, &ticket).await?;
    tx.commit().await?;
    files.error = error;
    let reference = ticket.reference();
    Ok(FilesPage {
        chrome: user.chrome(format!("Files on {reference}")).await?,
        ticket_path: format!("/tickets/{}", ticket.id),
        reference,
        files,
    })
}

async fn files_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<FilesPage> {
    files_page_for(&state, &user, &id, None).await
}

// ---------------------------------------------------------------- upload

/// Ticket files go through the one upload path: any accepted kind, photos get thumbnails.
const RULES: Rules = Rules {
    folder: FOLDER,
    accept: Accept::Documents,
    thumbnails: true,
};

/// The upload form's small fields (the browser sends them before the file).
#[derive(Default)]
struct UploadFields {
    visible: bool,
    comment_id: Option<String>,
}

async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    // Nothing is stored for a ticket the user does not reach.
    {
        let mut tx = user.begin(&state).await?;
        ticket_in_scope(&mut tx, &user, &id).await?;
        tx.commit().await?;
    }
    let mut multipart = multipart
        .map_err(|_| AppError::BadRequest("Send the file with the upload form.".into()))?;
    let limit = state.config.max_upload_bytes;
    let (fields, upload) = match read_form(&state, &user, &id, &mut multipart).await {
        Ok(Ok(received)) => received,
        Ok(Err(refusal)) => {
            upload::drain(&mut multipart).await;
            let page = files_page_for(&state, &user, &id, Some(refusal.message(limit))).await?;
            return Ok((refusal.status(), page).into_response());
        }
        Err(e) => {
            upload::drain(&mut multipart).await;
            return Err(e);
        }
    };
    let ticket_id = match record(&state, &user, &id, &upload, &fields).await {
        Ok(ticket_id) => ticket_id,
        Err(e) => {
            upload.discard().await;
            return Err(e);
        }
    };
    let what = if upload.kind.is_image() {
        "Photo"
    } else {
        "File"
    };
    let message = format!("{what} \u{201c}{}\u{201d} added.", upload.name);
    upload.recorded();
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/tickets/{ticket_id}#files")).into_response())
}

/// Reads the form: the small fields first, checked before the file streams into the store;
/// anything refused after the file was stored removes it again.
async fn read_form(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
    multipart: &mut Multipart,
) -> Result<std::result::Result<(UploadFields, Upload), Refusal>> {
    let mut fields = UploadFields::default();
    let mut received: Option<Upload> = None;
    let result = async {
        while let Some(mut field) = multipart.next_field().await.map_err(upload::field_error)? {
            match field.name().unwrap_or_default() {
                "file" if received.is_none() => {
                    if let Some(raw) = &fields.comment_id {
                        let mut tx = user.begin(state).await?;
                        let (scope, ticket) = ticket_in_scope(&mut tx, user, raw_id).await?;
                        comment_of(&mut tx, &scope, &ticket, raw).await?;
                        tx.commit().await?;
                    }
                    match upload::receive(state, user.tenant.uuid(), RULES, field).await? {
                        Ok(upload) => received = Some(upload),
                        Err(Refusal::Empty) => {}
                        Err(refusal) => return Ok(Some(refusal)),
                    }
                }
                "visible_to_subcontractor" => {
                    fields.visible = matches!(
                        upload::small_text(&mut field, MAX_TEXT_FIELD)
                            .await?
                            .as_str(),
                        "on" | "true" | "yes"
                    )
                }
                "comment_id" => {
                    fields.comment_id = Some(upload::small_text(&mut field, MAX_TEXT_FIELD).await?)
                        .filter(|s| !s.trim().is_empty())
                }
                // The CSRF token (checked from the query string) and anything unexpected: skipped.
                _ => {}
            }
        }
        Ok::<_, AppError>(None)
    }
    .await;
    match (result, received) {
        (Ok(None), Some(upload)) => Ok(Ok((fields, upload))),
        (Ok(None), None) => Ok(Err(Refusal::Empty)),
        (Ok(Some(refusal)), upload) => {
            if let Some(upload) = upload {
                upload.discard().await;
            }
            Ok(Err(refusal))
        }
        (Err(e), upload) => {
            if let Some(upload) = upload {
                upload.discard().await;
            }
            Err(e)
        }
    }
}

/// The comment a file is attached to: one of the ticket's that the user sees; otherwise 404.
async fn comment_of(
    tx: &mut TenantTx,
    scope: &TicketScope,
    ticket: &TicketHeader,
    raw: &str,
) -> Result<Uuid> {
    let id = Uuid::parse_str(raw.trim()).map_err(|_| AppError::NotFound)?;
    Ok(
        db::comments::find(tx, ticket.id, id, scope.is_subcontractor())
            .await?
            .ok_or(AppError::NotFound)?
            .id,
    )
}

/// Records the stored file: the row, the timeline entry and the audit record in one transaction.
async fn record(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
    upload: &Upload,
    fields: &UploadFields,
) -> Result<Uuid> {
    let mut tx = user.begin(state).await?;
    let (scope, ticket) = ticket_in_scope(&mut tx, user, raw_id).await?;
    let comment_id = match &fields.comment_id {
        Some(raw) => Some(comment_of(&mut tx, &scope, &ticket, raw).await?),
        None => None,
    };
    // A subcontractor's own upload is always visible to them.
    let visible = fields.visible || scope.is_subcontractor();
    let size = i64::try_from(upload.size).map_err(|e| AppError::Internal(e.into()))?;
    let content_type = upload.content_type();
    tickets::attach(
        &mut tx,
        &Actor::of(user),
        NewFile {
            ticket_id: ticket.id,
            comment_id,
            storage_key: upload.key.as_str(),
            thumbnail_key: upload.thumbnail_key.as_ref().map(MediaKey::as_str),
            original_name: &upload.name,
            content_type,
            size_bytes: size,
            visible_to_subcontractor: visible,
            uploaded_by: user.id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ticket.id)
}

// ---------------------------------------------------------------- download

async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, file_id)): Path<(String, String)>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (_, file) = file_in_scope(&mut tx, &user, &id, &file_id).await?;
    tx.commit().await?;
    let key = stored_key(&file.storage_key)?;
    let filename = file_type::download_name(&file.original_name, &file.content_type);
    let download = Download {
        filename: &filename,
        content_type: &file.content_type,
        inline: file_type::is_image_content_type(&file.content_type),
    };
    let url = state
        .media
        .download_url(&key, &download, DOWNLOAD_LINK_TTL)
        .await?;
    Ok(Redirect::to(&url).into_response())
}

async fn thumbnail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, file_id)): Path<(String, String)>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (_, file) = file_in_scope(&mut tx, &user, &id, &file_id).await?;
    tx.commit().await?;
    let key = stored_key(file.thumbnail_key.as_deref().ok_or(AppError::NotFound)?)?;
    let stem = file
        .original_name
        .rsplit_once('.')
        .map_or(file.original_name.as_str(), |(stem, _)| stem);
    let filename = format!("{stem} (thumbnail).jpg");
    let download = Download {
        filename: &filename,
        content_type: thumbnails::CONTENT_TYPE,
        inline: true,
    };
    let url = state
        .media
        .download_url(&key, &download, DOWNLOAD_LINK_TTL)
        .await?;
    Ok(Redirect::to(&url).into_response())
}

// ---------------------------------------------------------------- visibility

#[derive(Deserialize)]
struct VisibilityForm {
    #[serde(default)]
    visible: String,
}

async fn set_visibility(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, file_id)): Path<(String, String)>,
    Form(form): Form<VisibilityForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (ticket, file) = file_in_scope(&mut tx, &user, &id, &file_id).await?;
    policy::may_manage_tickets(&user)?;
    let visible = match form.visible.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Choose whether the subcontractor can see this file.".into(),
            ));
        }
    };
    if visible != file.visible_to_subcontractor {
        db::files::set_visibility(&mut tx, file.id, visible).await?;
        audit::record(
            &mut tx,
            &user.actor(),
            "file.visibility_changed",
            "media_file",
            Some(file.id),
            Changes::new().field(
                "visible_to_subcontractor",
                file.visible_to_subcontractor,
                visible,
            ),
        )
        .await?;
    }
    tx.commit().await?;
    let message = if visible {
        "The subcontractor can now see this file."
    } else {
        "This file is now hidden from the subcontractor."
    };
    user.flash("success", format!("{message} ({})", file.original_name))
        .await?;
    Ok(Redirect::to(&format!("/tickets/{}#files", ticket.id)).into_response())
}
