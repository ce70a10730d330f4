//! Bulk import of plots or contacts from a CSV or XLSX file.
//!
//! 1. Upload: the file is read and every row checked; the preview shows each
//!    row's problems before anything is saved.
//! 2. A file without problems is kept server-side as an import batch (its
//!    parsed rows), so the confirm form posts only the batch id.
//! 3. Confirm: the rows are checked again (the data may have changed since)
//!    and imported in one transaction, or not at all.

use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Multipart, Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::Changes,
        imports::{NewContact, NewHomeowner, NewPlot},
    },
    import::{self, Checked, CompanyRef, ContactRow, ImportKind, PlotRow, Target},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/imports", get(index))
        .route("/imports/sample/{file}", get(sample))
        .route("/imports/preview", post(preview))
        .route("/imports/{id}/confirm", post(confirm))
}

/// Rows shown in the preview's table; every problem is listed above it.
const PREVIEW_ROWS: usize = 200;
/// Problem lines listed in full.
const PROBLEM_LINES: usize = 1000;

// ---------------------------------------------------------------- the upload page

#[derive(Template, WebTemplate)]
#[template(path = "imports/index.html")]
struct IndexPage {
    chrome: Chrome,
    plot_columns: String,
    contact_columns: String,
    max_rows: usize,
    max_mb: usize,
    /// A problem with the whole file just uploaded, and which form it came from.
    error: Option<String>,
    error_kind: &'static str,
}

async fn index_page(
    user: &CurrentUser,
    error: Option<String>,
    kind: Option<ImportKind>,
) -> Result<IndexPage> {
    Ok(IndexPage {
        chrome: user.chrome("Import plots or contacts").await?,
        plot_columns: import::PLOT_COLUMNS.join(", "),
        contact_columns: import::CONTACT_COLUMNS.join(", "),
        max_rows: import::MAX_ROWS,
        max_mb: import::MAX_FILE_BYTES / (1024 * 1024),
        error,
        error_kind: kind.map(ImportKind::as_str).unwrap_or(""),
    })
}

async fn index(user: CurrentUser) -> Result<IndexPage> {
    policy::may_edit_records(&user)?;
    index_page(&user, None, None).await
}

async fn sample(user: CurrentUser, Path(file): Path<String>) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let kind = match file.as_str() {
        "plots.csv" => ImportKind::Plots,
        "contacts.csv" => ImportKind::Contacts,
        _ => return Err(AppError::NotFound),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"plotcare-{file}\""),
            ),
        ],
        import::sample_csv(kind),
    )
        .into_response())
}

// ---------------------------------------------------------------- checking rows

/// Plot rows checked against the database, with where each goes.
async fn check_plots(
    tx: &mut TenantTx,
    user: &CurrentUser,
    rows: &mut [Checked<PlotRow>],
) -> Result<Vec<Option<Target>>> {
    let scope = policy::record_scope(tx, user).await?;
    let schemes = db::imports::schemes_with_contracts(tx, scope.as_filter()).await?;
    let targets = import::resolve_plots(rows, &schemes);
    let taken = db::imports::taken_plot_numbers(tx, &import::plot_keys(rows, &targets)).await?;
    import::flag_taken(rows, &targets, &taken, &schemes);
    Ok(targets)
}

/// Contact rows checked against the database, with each person's company.
async fn check_contacts(
    tx: &mut TenantTx,
    rows: &mut [Checked<ContactRow>],
) -> Result<Vec<Option<CompanyRef>>> {
    let companies = db::imports::company_names(tx).await?;
    Ok(import::resolve_companies(rows, &companies))
}

fn clear_problems<T>(rows: &mut [Checked<T>]) {
    for r in rows {
        r.problems.clear();
    }
}

// ---------------------------------------------------------------- the preview

struct PreviewRow {
    line: usize,
    cells: Vec<String>,
    problems: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "imports/preview.html")]
struct PreviewPage {
    chrome: Chrome,
    kind: &'static str,
    file_name: String,
    total: usize,
    bad_rows: usize,
    problems: Vec<String>,
    more_problems: usize,
    headings: Vec<&'static str>,
    rows: Vec<PreviewRow>,
    shown: usize,
    /// Set when the file has no problems: the batch the confirm form posts.
    batch_id: Option<Uuid>,
    /// Set when a confirmation found problems: nothing was imported.
    after_confirm: bool,
}

fn date(d: Option<time::Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn plot_cells(r: &PlotRow) -> Vec<String> {
    let address = [
        r.address_line1.as_str(),
        r.address_line2.as_str(),
        r.town.as_str(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(", ");
    vec![
        r.scheme.clone(),
        r.contract.clone(),
        r.plot_number.clone(),
        address,
        r.postcode.clone(),
        r.house_type.clone(),
        r.bedrooms.map(|b| b.to_string()).unwrap_or_default(),
        date(r.reservation_date),
        date(r.completion_date),
        r.homeowner_name.clone(),
    ]
}

const PLOT_HEADINGS: [&str; 10] = [
    "Scheme",
    "Contract",
    "Plot",
    "Address",
    "Postcode",
    "House type",
    "Bedrooms",
    "Reserved",
    "Completed",
    "Homeowner",
];

fn contact_cells(r: &ContactRow) -> Vec<String> {
    vec![
        db::contacts::kind_label(&r.kind).to_owned(),
        r.name.clone(),
        r.company_name.clone(),
        r.emails.join(", "),
        r.phones.join(", "),
        r.trades
            .iter()
            .map(|t| db::contacts::trade_label(t))
            .collect::<Vec<_>>()
            .join(", "),
    ]
}

const CONTACT_HEADINGS: [&str; 6] = ["Kind", "Name", "Company", "Emails", "Phones", "Trades"];

#[allow(clippy::too_many_arguments)]
async fn preview_page<T>(
    user: &CurrentUser,
    kind: ImportKind,
    file_name: String,
    rows: &[Checked<T>],
    cells: fn(&T) -> Vec<String>,
    headings: &[&'static str],
    batch_id: Option<Uuid>,
    after_confirm: bool,
) -> Result<PreviewPage> {
    let mut problems = import::problem_lines(rows);
    let more_problems = problems.len().saturating_sub(PROBLEM_LINES);
    problems.truncate(PROBLEM_LINES);
    let title = match kind {
        ImportKind::Plots => "Check the plots to import",
        ImportKind::Contacts => "Check the contacts to import",
    };
    Ok(PreviewPage {
        chrome: user.chrome(title).await?,
        kind: kind.as_str(),
        file_name,
        total: rows.len(),
        bad_rows: rows.iter().filter(|r| !r.problems.is_empty()).count(),
        problems,
        more_problems,
        headings: headings.to_vec(),
        rows: rows
            .iter()
            .take(PREVIEW_ROWS)
            .map(|r| PreviewRow {
                line: r.line,
                cells: cells(&r.row),
                problems: r.problems.join("; "),
            })
            .collect(),
        shown: rows.len().min(PREVIEW_ROWS),
        batch_id,
        after_confirm,
    })
}

/// The upload's kind, file name and bytes; `None` for bytes past [`import::MAX_FILE_BYTES`]
/// (the rest of the upload is read and dropped, so the browser gets the answer).
async fn read_upload(
    multipart: &mut Multipart,
) -> Result<(Option<ImportKind>, String, Option<Vec<u8>>)> {
    let bad = |_| {
        AppError::BadRequest(
            "The upload did not arrive complete. Choose the file and try again.".into(),
        )
    };
    let (mut kind, mut file_name, mut bytes) = (None, String::new(), Some(Vec::new()));
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("kind") => kind = ImportKind::parse(field.text().await.map_err(bad)?.trim()),
            Some("file") => {
                file_name = field.file_name().unwrap_or("").chars().take(200).collect();
                let mut kept = Some(Vec::new());
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if let Some(b) = kept.as_mut() {
                        if b.len() + chunk.len() > import::MAX_FILE_BYTES {
                            kept = None;
                        } else {
                            b.extend_from_slice(&chunk);
                        }
                    }
                }
                bytes = kept;
            }
            _ => {}
        }
    }
    Ok((kind, file_name, bytes))
}

/// Files read at once per process: one may hold tens of MB for a moment.
static READING: Semaphore = Semaphore::const_new(2);
/// How long an upload waits for its turn to be read.
const READING_WAIT: Duration = Duration::from_secs(20);

/// The rows of an import file, typed and checked (without the database).
enum Rows {
    Plots(Vec<Checked<PlotRow>>),
    Contacts(Vec<Checked<ContactRow>>),
}

/// Reads and checks the file on a blocking thread (never on the threads that answer
/// requests), at most [`READING`] at once; a problem with the whole file as the message.
async fn read_rows(kind: ImportKind, bytes: Vec<u8>) -> std::result::Result<Rows, String> {
    let Ok(Ok(permit)) = tokio::time::timeout(READING_WAIT, READING.acquire()).await else {
        return Err("Plotcare is reading other files just now. Try again in a minute.".to_string());
    };
    let reading = tokio::task::spawn_blocking(move || {
        // The permit goes with the work: it is released when the reading ends, even if
        // the request has gone.
        let _permit = permit;
        let sheet = import::read_sheet(&bytes)?;
        drop(bytes);
        Ok(match kind {
            ImportKind::Plots => Rows::Plots(import::parse_plots(&sheet)?),
            ImportKind::Contacts => Rows::Contacts(import::parse_contacts(&sheet)?),
        })
    });
    reading.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "reading an import file failed");
        Err("This file could not be read. Save it as CSV and try again.".to_string())
    })
}

fn stored<T: serde::Serialize>(rows: &[Checked<T>]) -> Result<serde_json::Value> {
    serde_json::to_value(rows).map_err(|e| AppError::Internal(e.into()))
}

async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let (kind, file_name, bytes) = read_upload(&mut multipart).await?;
    let Some(kind) = kind else {
        return Err(AppError::BadRequest(
            "Choose whether the file holds plots or contacts.".into(),
        ));
    };
    let user_ref = &user;
    let file_problem = |message: String| async move {
        let page = index_page(user_ref, Some(message), Some(kind)).await?;
        Ok::<Response, AppError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let Some(bytes) = bytes else {
        return file_problem(import::too_large_file()).await;
    };
    if bytes.is_empty() {
        return file_problem("Choose a CSV or XLSX file to upload.".into()).await;
    }
    let rows = match read_rows(kind, bytes).await {
        Ok(rows) => rows,
        Err(message) => return file_problem(message).await,
    };
    let mut tx = user.begin(&state).await?;
    let page = match rows {
        Rows::Plots(mut rows) => {
            check_plots(&mut tx, &user, &mut rows).await?;
            let batch = batch_if_clean(&mut tx, &user, kind, &file_name, &rows).await?;
            preview_page(
                &user,
                kind,
                file_name,
                &rows,
                plot_cells,
                &PLOT_HEADINGS,
                batch,
                false,
            )
            .await?
        }
        Rows::Contacts(mut rows) => {
            check_contacts(&mut tx, &mut rows).await?;
            let batch = batch_if_clean(&mut tx, &user, kind, &file_name, &rows).await?;
            preview_page(
                &user,
                kind,
                file_name,
                &rows,
                contact_cells,
                &CONTACT_HEADINGS,
                batch,
                false,
            )
            .await?
        }
    };
    tx.commit().await?;
    if page.total == 0 {
        return file_problem("This file has a heading row but no rows to import.".into()).await;
    }
    let status = if page.batch_id.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, page).into_response())
}

/// Keeps the rows for confirmation when none has a problem.
async fn batch_if_clean<T: serde::Serialize>(
    tx: &mut TenantTx,
    user: &CurrentUser,
    kind: ImportKind,
    file_name: &str,
    rows: &[Checked<T>],
) -> Result<Option<Uuid>> {
    if rows.is_empty() || rows.iter().any(|r| !r.problems.is_empty()) {
        return Ok(None);
    }
    Ok(Some(
        db::imports::create_batch(
            tx,
            kind.as_str(),
            file_name,
            rows.len(),
            stored(rows)?,
            user.id,
        )
        .await?,
    ))
}

// ---------------------------------------------------------------- confirming

async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let mut tx = user.begin(&state).await?;
    let batch = db::imports::find_batch_for_update(&mut tx, id, user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    if batch.completed_at.is_some() {
        drop(tx);
        user.flash("info", "This file has already been imported.")
            .await?;
        return Ok(Redirect::to("/imports").into_response());
    }
    let expired = || {
        AppError::BadRequest("This upload can no longer be imported. Upload the file again.".into())
    };
    let kind = ImportKind::parse(&batch.kind).ok_or_else(expired)?;
    let outcome = match kind {
        ImportKind::Plots => {
            let mut rows: Vec<Checked<PlotRow>> =
                serde_json::from_value(batch.rows).map_err(|_| expired())?;
            clear_problems(&mut rows);
            let targets = check_plots(&mut tx, &user, &mut rows).await?;
            if rows.iter().any(|r| !r.problems.is_empty()) {
                drop(tx);
                let page = preview_page(
                    &user,
                    kind,
                    batch.file_name,
                    &rows,
                    plot_cells,
                    &PLOT_HEADINGS,
                    None,
                    true,
                )
                .await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
            insert_plots(&mut tx, &rows, &targets).await
        }
        ImportKind::Contacts => {
            let mut rows: Vec<Checked<ContactRow>> =
                serde_json::from_value(batch.rows).map_err(|_| expired())?;
            clear_problems(&mut rows);
            let companies = check_contacts(&mut tx, &mut rows).await?;
            if rows.iter().any(|r| !r.problems.is_empty()) {
                drop(tx);
                let page = preview_page(
                    &user,
                    kind,
                    batch.file_name,
                    &rows,
                    contact_cells,
                    &CONTACT_HEADINGS,
                    None,
                    true,
                )
                .await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
            insert_contacts(&mut tx, &rows, &companies).await
        }
    };
    let summary = match outcome {
        Ok(s) => s,
        Err(sqlx::Error::Database(e)) if e.constraint().is_some() => {
            // Someone changed the same records meanwhile: the transaction rolls back, nothing is saved.
            drop(tx);
            return Err(AppError::Conflict(
                "Nothing was imported: the records changed while you were checking the file (for example a plot number was added). Upload the file again to see why."
                    .into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    db::imports::complete_batch(&mut tx, batch.id).await?;
    let changes = Changes::new()
        .note("kind", kind.as_str())
        .note("file_name", batch.file_name.as_str())
        .note("rows", batch.row_count)
        .note("created", summary.audit_note());
    db::audit::record(
        &mut tx,
        &user.actor(),
        "import.completed",
        "import_batch",
        Some(batch.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", summary.message()).await?;
    let next = match kind {
        ImportKind::Plots => "/plots",
        ImportKind::Contacts => "/contacts",
    };
    Ok(Redirect::to(next).into_response())
}

/// What an import created.
struct Summary {
    plots: usize,
    contacts: usize,
}

impl Summary {
    fn message(&self) -> String {
        match (self.plots, self.contacts) {
            (0, c) => format!("Imported {c} contact(s)."),
            (p, 0) => format!("Imported {p} plot(s)."),
            (p, c) => format!("Imported {p} plot(s) and {c} homeowner(s)."),
        }
    }
    fn audit_note(&self) -> serde_json::Value {
        serde_json::json!({ "plots": self.plots, "contacts": self.contacts })
    }
}

fn joined(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert_plots(
    tx: &mut TenantTx,
    rows: &[Checked<PlotRow>],
    targets: &[Option<Target>],
) -> sqlx::Result<Summary> {
    let mut plots = Vec::with_capacity(rows.len());
    let mut contacts = Vec::new();
    let mut links = Vec::new();
    for (r, t) in rows.iter().zip(targets) {
        let (Some(t), r) = (t, &r.row) else { continue };
        let plot = NewPlot {
            id: Uuid::now_v7(),
            scheme_id: t.scheme_id,
            contract_id: t.contract_id,
            plot_number: r.plot_number.clone(),
            address_line1: r.address_line1.clone(),
            address_line2: r.address_line2.clone(),
            town: r.town.clone(),
            postcode: r.postcode.clone(),
            house_type: r.house_type.clone(),
            bedrooms: r.bedrooms,
            reservation_date: r.reservation_date,
            completion_date: r.completion_date,
        };
        if !r.homeowner_name.is_empty() {
            let contact = NewContact {
                id: Uuid::now_v7(),
                kind: "homeowner".into(),
                name: r.homeowner_name.clone(),
                emails: r.homeowner_emails.clone(),
                phones: r.homeowner_phones.clone(),
                address: joined(&[&r.address_line1, &r.address_line2, &r.town, &r.postcode]),
                preferred_contact_method: if r.homeowner_phones.is_empty()
                    && !r.homeowner_emails.is_empty()
                {
                    "email"
                } else {
                    "phone"
                }
                .into(),
                ..Default::default()
            };
            links.push(NewHomeowner {
                id: Uuid::now_v7(),
                plot_id: plot.id,
                contact_id: contact.id,
                from_date: r.completion_date,
            });
            contacts.push(contact);
        }
        plots.push(plot);
    }
    db::imports::insert_plots(tx, &plots).await?;
    db::imports::insert_contacts(tx, &contacts).await?;
    db::imports::insert_homeowners(tx, &links).await?;
    Ok(Summary {
        plots: plots.len(),
        contacts: contacts.len(),
    })
}

async fn insert_contacts(
    tx: &mut TenantTx,
    rows: &[Checked<ContactRow>],
    companies: &[Option<CompanyRef>],
) -> sqlx::Result<Summary> {
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    let mut first = Vec::new();
    let mut people = Vec::new();
    for (i, (r, company)) in rows.iter().zip(companies).enumerate() {
        let company_id = match company {
            Some(CompanyRef::Existing(id)) => Some(*id),
            Some(CompanyRef::InFile(j)) => ids.get(*j).copied(),
            None => None,
        };
        let r = &r.row;
        let method = if !r.phones.is_empty() {
            "phone"
        } else if !r.emails.is_empty() {
            "email"
        } else if !r.address.is_empty() {
            "post"
        } else {
            "phone"
        };
        let contact = NewContact {
            id: ids[i],
            kind: r.kind.clone(),
            name: r.name.clone(),
            company_name: r.company_name.clone(),
            company_id,
            emails: r.emails.clone(),
            phones: r.phones.clone(),
            address: r.address.clone(),
            notes: r.notes.clone(),
            preferred_contact_method: method.into(),
            trades: r.trades.clone(),
        };
        if company_id.is_some() {
            people.push(contact)
        } else {
            first.push(contact)
        }
    }
    // Companies before their people.
    db::imports::insert_contacts(tx, &first).await?;
    db::imports::insert_contacts(tx, &people).await?;
    Ok(Summary {
        plots: 0,
        contacts: first.len() + people.len(),
    })
}
