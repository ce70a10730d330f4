//! The ticket list's bulk "export": the tickets ticked (or every one the filter matches,
//! up to [`BULK_LIMIT`]) as an XLSX workbook, values as the list shows them. Every cell
//! is written as text or a number, never as a formula, so a title such as "=SUM(A1)"
//! stays words in a spreadsheet. One audit record for the export, naming its tickets.

use axum::http::header;
use rust_xlsxwriter::{Format, Workbook};

use super::*;
use crate::db::audit::{self, Changes};

const COLUMNS: [&str; 13] = [
    "Reference",
    "Title",
    "Scheme",
    "Plot",
    "Postcode",
    "Status",
    "Priority",
    "Trade",
    "Nominated to",
    "Due",
    "Reported",
    "Days open",
    "Complaint",
];

pub(super) async fn export(state: &AppState, user: &CurrentUser, ids: &[Uuid]) -> Result<Response> {
    let mut tx = user.begin(state).await?;
    let scope = policy::ticket_scope(&mut tx, user).await?;
    let found = db::tickets::summaries_of(&mut tx, &scope, ids).await?;
    let sla = db::sla::policy(&mut tx).await?;
    let references: Vec<String> = found.iter().map(|t| t.reference()).collect();
    audit::record(
        &mut tx,
        &user.actor(),
        "tickets.exported",
        "ticket",
        None,
        Changes::new()
            .note("tickets", references.len())
            .note("references", references.join(", ")),
    )
    .await?;
    tx.commit().await?;

    let now = clock::now();
    let rows: Vec<[String; 13]> = found
        .iter()
        .map(|t| {
            let r = summary_row(t, &sla, now, &[]);
            [
                r.reference,
                r.title,
                t.scheme_name.clone(),
                t.plot_number.clone(),
                t.postcode.clone(),
                r.status_label.to_owned(),
                r.priority_label.to_owned(),
                r.category.to_owned(),
                r.nominated,
                r.due,
                r.reported,
                r.days_open.to_string(),
                if t.is_complaint { "Yes" } else { "No" }.to_owned(),
            ]
        })
        .collect();
    let bytes = tokio::task::spawn_blocking(move || workbook(&rows))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    let name = format!("plotcare-tickets-{}.xlsx", clock::today());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn workbook(rows: &[[String; 13]]) -> std::result::Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Tickets")?;
    let bold = Format::new().set_bold();
    for (c, title) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *title, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, value) in row.iter().enumerate() {
            if COLUMNS[c] == "Days open" {
                sheet.write_number(r, c as u16, value.parse::<f64>().unwrap_or_default())?;
            } else {
                sheet.write_string(r, c as u16, value)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    book.save_to_buffer()
}
