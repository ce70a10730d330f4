//! The Exports page: admins request a data export or a media export, watch
//! its progress (static/exports.js polls the progress JSON), and download
//! its files for 7 days. Requests, retries and downloads are audited.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Json, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::when;
use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, policy},
    db::{
        self,
        audit::{self, Changes},
        exports::ExportRow,
    },
    error::ErrorPage,
    export,
    media::{Download, MediaKey},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/exports", get(list).post(request))
        .route("/admin/exports/{id}/progress", get(progress))
        .route("/admin/exports/{id}/download", get(download))
        .route("/admin/exports/{id}/retry", post(retry))
}

/// Requests shown on the page.
const LIST_LIMIT: i64 = 50;

/// "12.3 MB"
fn size_label(bytes: Option<i64>) -> String {
    let Some(bytes) = bytes else {
        return String::new();
    };
    let b = bytes as f64;
    match bytes {
        n if n < 1024 => format!("{n} bytes"),
        n if n < 1024 * 1024 => format!("{:.1} KB", b / 1024.0),
        n if n < 1024 * 1024 * 1024 => format!("{:.1} MB", b / 1_048_576.0),
        _ => format!("{:.2} GB", b / 1_073_741_824.0),
    }
}

fn status_label(export: &ExportRow) -> (&'static str, &'static str) {
    match export.status.as_str() {
        "queued" => ("Waiting to start", "info"),
        "running" => ("In progress", "info"),
        "done" if export.expired => ("Expired", "warn"),
        "done" => ("Ready", "ok"),
        "failed" => ("Failed", "bad"),
        _ => ("Expired", "warn"),
    }
}

#[derive(Serialize)]
struct PartLink {
    label: String,
    href: String,
}

fn part_links(export: &ExportRow) -> Vec<PartLink> {
    if !export::downloadable(export) {
        return Vec::new();
    }
    let parts = export.parts();
    let many = parts.len() > 1;
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| PartLink {
            label: if many {
                format!(
                    "Download part {} of {} ({})",
                    i + 1,
                    parts.len(),
                    size_label(Some(p.size_bytes as i64))
                )
            } else {
                format!("Download ({})", size_label(Some(p.size_bytes as i64)))
            },
            href: format!("/admin/exports/{}/download?part={}", export.id, i + 1),
        })
        .collect()
}

struct ExportView {
    id: Uuid,
    kind: &'static str,
    status_label: &'static str,
    badge: &'static str,
    active: bool,
    requested_by: String,
    requested_at: String,
    size: String,
    rows_done: i64,
    rows_total: i64,
    unit: &'static str,
    error: String,
    failed: bool,
    links: Vec<PartLink>,
    expires: String,
}

impl From<&ExportRow> for ExportView {
    fn from(e: &ExportRow) -> Self {
        let (status_label, badge) = status_label(e);
        ExportView {
            id: e.id,
            kind: if e.kind == "media" {
                "Media files"
            } else {
                "All data (Excel)"
            },
            status_label,
            badge,
            active: matches!(e.status.as_str(), "queued" | "running"),
            requested_by: e.requested_by_name.clone(),
            requested_at: when(e.created_at),
            size: size_label(e.size_bytes),
            rows_done: e.rows_done,
            rows_total: e.rows_total.max(e.rows_done),
            unit: if e.kind == "media" { "files" } else { "rows" },
            error: e.error.clone().unwrap_or_default(),
            failed: e.status == "failed",
            links: part_links(e),
            expires: match (e.expires_at, export::downloadable(e)) {
                (Some(t), true) => format!("until {}", when(t)),
                _ => String::new(),
            },
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "exports/list.html")]
struct ExportsPage {
    chrome: Chrome,
    exports: Vec<ExportView>,
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<ExportsPage> {
    policy::require_admin(&user)?;
    export::expire(user.tenant, &export::Resources::from(&state)).await?;
    let mut tx = user.begin(&state).await?;
    let rows = db::exports::list(&mut tx, LIST_LIMIT).await?;
    tx.commit().await?;
    Ok(ExportsPage {
        chrome: user.chrome("Exports").await?,
        exports: rows.iter().map(ExportView::from).collect(),
    })
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    kind: String,
}

async fn request(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<RequestForm>,
) -> Result<Response> {
    policy::require_admin(&user)?;
    let (kind, message) = match form.kind.as_str() {
        "data" => (
            "data",
            "Your data export has started. It appears below when it is ready.",
        ),
        "media" => (
            "media",
            "Your media export has started. It appears below when it is ready.",
        ),
        _ => {
            return Err(AppError::BadRequest(
                "Choose a data export or a media export.".into(),
            ));
        }
    };
    let mut tx = user.begin(&state).await?;
    export::request(&mut tx, &user.actor(), kind, user.id).await?;
    tx.commit().await?;
    user.flash("success", message).await?;
    Ok(Redirect::to("/admin/exports").into_response())
}

#[derive(Serialize)]
struct ProgressJson {
    status: String,
    status_label: &'static str,
    badge: &'static str,
    rows_done: i64,
    rows_total: i64,
    size: String,
    error: String,
    links: Vec<PartLink>,
}

async fn progress(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ProgressJson>> {
    let id = super::kit::parse_id(&id)?;
    policy::require_admin(&user)?;
    let mut tx = user.begin(&state).await?;
    let export = db::exports::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let (status_label, badge) = status_label(&export);
    Ok(Json(ProgressJson {
        status: export.status.clone(),
        status_label,
        badge,
        rows_done: export.rows_done,
        rows_total: export.rows_total.max(export.rows_done),
        size: size_label(export.size_bytes),
        error: export.error.clone().unwrap_or_default(),
        links: part_links(&export),
    }))
}

#[derive(Deserialize)]
struct PartQuery {
    part: Option<usize>,
}

fn gone() -> Response {
    ErrorPage {
        status: 410,
        title: "This export has expired".into(),
        message: "Exports are kept for 7 days, then their files are deleted. Request a new export from the Exports page.".into(),
        reference: None,
    }
    .render_response()
}

async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<PartQuery>,
) -> Result<Response> {
    let id = super::kit::parse_id(&id)?;
    policy::require_admin(&user)?;
    export::expire(user.tenant, &export::Resources::from(&state)).await?;
    let mut tx = user.begin(&state).await?;
    let export = db::exports::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if export.status == "expired" || export.expired {
        return Ok(gone());
    }
    if !export::downloadable(&export) {
        return Err(AppError::NotFound);
    }
    let number = q.part.unwrap_or(1);
    let parts = export.parts();
    let part = number
        .checked_sub(1)
        .and_then(|i| parts.get(i))
        .ok_or(AppError::NotFound)?;
    let key = MediaKey::parse(&part.key)
        .filter(|k| k.tenant_id() == user.tenant.uuid())
        .ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "export.downloaded",
        "export",
        Some(id),
        Changes::new()
            .note("part", number)
            .note("file_name", part.file_name.clone()),
    )
    .await?;
    let url = state
        .media
        .download_url(
            &key,
            &Download {
                filename: &part.file_name,
                content_type: "application/zip",
                inline: false,
            },
            crate::DOWNLOAD_LINK_TTL,
        )
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&url).into_response())
}

async fn retry(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = super::kit::parse_id(&id)?;
    policy::require_admin(&user)?;
    let mut tx = user.begin(&state).await?;
    db::exports::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !export::retry(&mut tx, &user.actor(), id).await? {
        return Err(AppError::Conflict(
            "Only a failed export can be retried.".into(),
        ));
    }
    tx.commit().await?;
    user.flash("success", "The export will be tried again.")
        .await?;
    Ok(Redirect::to("/admin/exports").into_response())
}
