//! The files section of a ticket page, and its routes: photos and documents
//! uploaded from a phone camera or a desktop.
//!
//! An upload streams into the media store (never whole in memory), counting
//! bytes against the configured limit. Its type is judged by its first bytes,
//! not its name. Photos get a thumbnail, made once. Downloads check access
//! first, then redirect to a short-lived link; anything but a photo downloads
//! as an attachment. Each file has a "visible to subcontractor" switch.

use std::io;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{
        Multipart, Path, State,
        multipart::{Field, MultipartError, MultipartRejection},
    },
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use serde_json::json;
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
    domain::file_type::{self, FileType, SNIFF_LEN},
    media::{Download, MediaKey},
    thumbnails,
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
/// The longest original file name kept.
const MAX_NAME: usize = 255;
/// Text fields of the upload form are tiny; anything longer is not from our form.
const MAX_TEXT_FIELD: usize = 200;
/// Media store folders.
const FOLDER: &str = "ticket-files";
const THUMBNAIL_FOLDER: &str = "thumbnails";

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

/// Why an upload was refused: each is shown on the files page with its status.
enum Refusal {
    TooLarge,
    WrongType,
    Empty,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::WrongType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::Empty => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn message(&self, limit_bytes: usize) -> String {
        match self {
            Refusal::TooLarge => format!(
                "That file is larger than the {} MB limit.",
                limit_bytes / (1024 * 1024)
            ),
            Refusal::WrongType => file_type::REFUSED.to_owned(),
            Refusal::Empty => "Choose a photo or document to upload.".to_owned(),
        }
    }
}

/// A file that is in the media store but not yet recorded.
struct Stored {
    key: MediaKey,
    thumbnail_key: Option<MediaKey>,
    name: String,
    content_type: &'static str,
    size: u64,
}

/// The upload form's fields, in whatever order the browser sent them.
#[derive(Default)]
struct UploadFields {
    stored: Option<Stored>,
    refusal: Option<Refusal>,
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
    let fields = match read_fields(&state, &user, &mut multipart).await {
        Ok(fields) => fields,
        Err(e) => {
            drain(&mut multipart).await;
            return Err(e);
        }
    };
    let limit = state.config.max_upload_bytes;
    let stored = match (fields.refusal, fields.stored) {
        (Some(refusal), stored) => {
            if let Some(stored) = stored {
                remove(&state, &stored).await;
            }
            drain(&mut multipart).await;
            let page = files_page_for(&state, &user, &id, Some(refusal.message(limit))).await?;
            return Ok((refusal.status(), page).into_response());
        }
        (None, None) => {
            let page =
                files_page_for(&state, &user, &id, Some(Refusal::Empty.message(limit))).await?;
            return Ok((Refusal::Empty.status(), page).into_response());
        }
        (None, Some(stored)) => stored,
    };

    match record(
        &state,
        &user,
        &id,
        &stored,
        fields.visible,
        fields.comment_id.as_deref(),
    )
    .await
    {
        Ok(ticket_id) => {
            let what = if file_type::is_image_content_type(stored.content_type) {
                "Photo"
            } else {
                "File"
            };
            user.flash(
                "success",
                format!("{what} \u{201c}{}\u{201d} added.", stored.name),
            )
            .await?;
            Ok(Redirect::to(&format!("/tickets/{ticket_id}#files")).into_response())
        }
        Err(e) => {
            remove(&state, &stored).await;
            Err(e)
        }
    }
}

/// Reads the form: the file part streams into the media store; the small fields are kept.
async fn read_fields(
    state: &AppState,
    user: &CurrentUser,
    multipart: &mut Multipart,
) -> Result<UploadFields> {
    let mut fields = UploadFields::default();
    while let Some(mut field) = multipart.next_field().await.map_err(upload_error)? {
        match field.name().unwrap_or_default() {
            "file" if fields.stored.is_none() && fields.refusal.is_none() => {
                match store_file(state, user, field).await? {
                    Ok(stored) => fields.stored = Some(stored),
                    Err(Refusal::Empty) => {}
                    Err(refusal) => {
                        fields.refusal = Some(refusal);
                        return Ok(fields);
                    }
                }
            }
            "visible_to_subcontractor" => {
                fields.visible = matches!(
                    small_text(&mut field).await?.as_str(),
                    "on" | "true" | "yes"
                )
            }
            "comment_id" => {
                fields.comment_id =
                    Some(small_text(&mut field).await?).filter(|s| !s.trim().is_empty())
            }
            // The CSRF token (checked from the query string) and anything unexpected: skipped.
            _ => {}
        }
    }
    Ok(fields)
}

/// Streams one file part into the media store, checking its type by its first bytes and its size as it goes.
async fn store_file(
    state: &AppState,
    user: &CurrentUser,
    mut field: Field<'_>,
) -> Result<std::result::Result<Stored, Refusal>> {
    let name = clean_name(field.file_name().unwrap_or_default());
    let mut head = BytesMut::new();
    while head.len() < SNIFF_LEN {
        match field.chunk().await.map_err(upload_error)? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => break,
        }
    }
    if head.is_empty() {
        return Ok(Err(Refusal::Empty));
    }
    let Some(kind) = FileType::sniff(&head) else {
        return Ok(Err(Refusal::WrongType));
    };
    let content_type = kind.content_type(&name);
    let limit = state.config.max_upload_bytes as u64;
    let mut seen = 0u64;
    let body = stream::once(async move { Ok::<Bytes, MultipartError>(head.freeze()) })
        .chain(field)
        .map(move |chunk| {
            let chunk = chunk.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    io::Error::new(io::ErrorKind::FileTooLarge, e)
                } else {
                    io::Error::other(e)
                }
            })?;
            seen += chunk.len() as u64;
            if seen > limit {
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "the upload is larger than the limit",
                ));
            }
            Ok(chunk)
        });

    let key = MediaKey::new(user.tenant.uuid(), FOLDER);
    let size = match state.media.put(&key, content_type, body).await {
        Ok(size) => size,
        Err(e) => {
            // Whatever part of the file arrived is not kept.
            let _ = state.media.delete(&key).await;
            return match e {
                crate::media::MediaError::Io(io) if io.kind() == io::ErrorKind::FileTooLarge => {
                    Ok(Err(Refusal::TooLarge))
                }
                other => Err(other.into()),
            };
        }
    };
    let thumbnail_key = if kind.has_thumbnail() {
        make_thumbnail(state, user, &key, kind).await
    } else {
        None
    };
    Ok(Ok(Stored {
        key,
        thumbnail_key,
        name,
        content_type,
        size,
    }))
}

/// Makes and stores a photo's thumbnail. A photo that cannot be decoded just has none.
async fn make_thumbnail(
    state: &AppState,
    user: &CurrentUser,
    original: &MediaKey,
    kind: FileType,
) -> Option<MediaKey> {
    let result: anyhow::Result<Option<MediaKey>> = async {
        let object = state.media.get(original).await?;
        let mut body = object.body;
        let mut bytes = Vec::with_capacity(object.size.unwrap_or(0).try_into().unwrap_or(0));
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        let Some(jpeg) =
            tokio::task::spawn_blocking(move || thumbnails::make(&bytes, kind)).await??
        else {
            return Ok(None);
        };
        let key = MediaKey::new(user.tenant.uuid(), THUMBNAIL_FOLDER);
        state
            .media
            .put(
                &key,
                thumbnails::CONTENT_TYPE,
                stream::once(async move { Ok(Bytes::from(jpeg)) }),
            )
            .await?;
        Ok(Some(key))
    }
    .await;
    result.unwrap_or_else(|e| {
        tracing::warn!(error = %e, key = original.as_str(), "no thumbnail for this photo");
        None
    })
}

/// Records the stored file: the row, the timeline entry and the audit record in one transaction.
async fn record(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
    stored: &Stored,
    visible: bool,
    comment_id: Option<&str>,
) -> Result<Uuid> {
    let mut tx = user.begin(state).await?;
    let (scope, ticket) = ticket_in_scope(&mut tx, user, raw_id).await?;
    let comment_id = match comment_id {
        Some(raw) => {
            let id = Uuid::parse_str(raw.trim()).map_err(|_| AppError::NotFound)?;
            Some(
                db::comments::find(&mut tx, ticket.id, id, scope.is_subcontractor())
                    .await?
                    .ok_or(AppError::NotFound)?
                    .id,
            )
        }
        None => None,
    };
    // A subcontractor's own upload is always visible to them.
    let visible = visible || scope.is_subcontractor();
    let size = i64::try_from(stored.size).map_err(|e| AppError::Internal(e.into()))?;
    let file_id = db::files::insert(
        &mut tx,
        &NewFile {
            ticket_id: ticket.id,
            comment_id,
            storage_key: stored.key.as_str(),
            thumbnail_key: stored.thumbnail_key.as_ref().map(MediaKey::as_str),
            original_name: &stored.name,
            content_type: stored.content_type,
            size_bytes: size,
            visible_to_subcontractor: visible,
            uploaded_by: user.id,
        },
    )
    .await?;
    db::tickets::add_event(
        &mut tx,
        ticket.id,
        Some(user.id),
        "file_added",
        visible,
        json!({ "file_id": file_id, "name": stored.name, "content_type": stored.content_type, "size_bytes": size, "comment_id": comment_id }),
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "file.uploaded",
        "media_file",
        Some(file_id),
        Changes::new()
            .set("ticket_id", ticket.id.to_string())
            .set("original_name", stored.name.as_str())
            .set("content_type", stored.content_type)
            .set("size_bytes", size)
            .set("visible_to_subcontractor", visible),
    )
    .await?;
    tx.commit().await?;
    Ok(ticket.id)
}

/// Removes a stored file and its thumbnail (after a refusal or a failed transaction).
async fn remove(state: &AppState, stored: &Stored) {
    for key in std::iter::once(&stored.key).chain(stored.thumbnail_key.as_ref()) {
        if let Err(e) = state.media.delete(key).await {
            tracing::warn!(error = %e, key = key.as_str(), "could not remove an unrecorded upload");
        }
    }
}

/// Reads the rest of a refused request (bounded by the body limit), so the browser gets our answer.
async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// A short text field of the form.
async fn small_text(field: &mut Field<'_>) -> Result<String> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(upload_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_TEXT_FIELD {
            return Err(AppError::BadRequest(
                "Send the file with the upload form.".into(),
            ));
        }
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| AppError::BadRequest("Send the file with the upload form.".into()))
}

fn upload_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge("That upload is too large.".into())
    } else {
        AppError::BadRequest("The upload did not arrive complete. Please try again.".into())
    }
}

/// The name the browser gave, without any folder, control characters or excess length.
fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let name = name.trim();
    if name.is_empty() {
        "upload".to_owned()
    } else {
        name.to_owned()
    }
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
    let download = Download {
        filename: &file.original_name,
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
