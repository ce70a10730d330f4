//! The audit trail's download: the filtered entries as a workbook, in the page's
//! words with the stored codes beside them. Read in keyset batches and written by a
//! blocking thread in constant-memory mode to a temporary file, which then streams
//! out: memory stays bounded however many entries there are. At most [`MAX_ROWS`]
//! entries, the newest; the About sheet says when there were more.

use std::io::{Seek, SeekFrom};

use axum::{
    body::Body,
    extract::{RawQuery, State},
    http::header,
    response::{IntoResponse, Response},
};
use rust_xlsxwriter::Workbook;
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;

use super::{Query, RecordView, actor, words};
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, policy},
    db::{
        self,
        audit::{AuditRow, Changes},
        exports::{Cell, Column, Kind},
    },
    domain::clock,
    export::workbook::{EXCEL_MAX_ROWS, Formats, SheetWriter},
};

/// The most entries one download holds.
pub const MAX_ROWS: usize = 100_000;
/// Entries read per query.
const BATCH: i64 = 2_000;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn columns() -> Vec<Column> {
    let c = |header, kind, width| Column {
        header,
        kind,
        width,
    };
    vec![
        c("When (UK time)", Kind::DateTime, 19.0),
        c("Who", Kind::Text, 24.0),
        c("Who (email)", Kind::Text, 28.0),
        c("Action", Kind::Text, 28.0),
        c("Action code", Kind::Text, 26.0),
        c("Record type", Kind::Text, 16.0),
        c("Record type code", Kind::Text, 16.0),
        c("Record", Kind::Text, 30.0),
        c("Changes", Kind::LongText, 60.0),
        c("IP address", Kind::Text, 16.0),
        c("Request id", Kind::Text, 38.0),
        c("Record id", Kind::Uuid, 38.0),
        c("Entry id", Kind::Uuid, 38.0),
    ]
}

/// What the reading side sends the writer.
enum Part {
    Rows(Vec<AuditRow>),
    /// Every entry sent; whether there were more than fit.
    End {
        cut: bool,
    },
}

pub(super) async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    policy::require_admin(&user)?;
    crate::web::query::check(raw.as_deref())?;
    let q = Query::from_raw(raw.as_deref());
    let mut filter = q.filter()?;
    filter.before = None;
    let mut tx = user.begin(&state).await?;
    let who = match filter.user_id {
        Some(id) => db::users::find(&mut tx, id)
            .await?
            .map(|u| format!("{} ({})", u.name, u.email)),
        None => None,
    };
    let about = about(&q, who);
    let (to_writer, parts) = mpsc::channel::<Part>(2);
    let writer = tokio::task::spawn_blocking(move || write(parts, about));
    let mut sent = 0usize;
    let cut = loop {
        let mut rows = db::audit::list(&mut tx, &filter, BATCH).await?;
        let last_batch = (rows.len() as i64) < BATCH;
        let room = MAX_ROWS - sent;
        let cut = rows.len() > room;
        rows.truncate(room);
        sent += rows.len();
        filter.before = rows.last().map(|r| (r.occurred_at, r.id));
        if !rows.is_empty() && to_writer.send(Part::Rows(rows)).await.is_err() {
            break false;
        }
        if cut || last_batch {
            break cut;
        }
        if sent == MAX_ROWS {
            // Exactly full: cut only if one more entry matches.
            break !db::audit::list(&mut tx, &filter, 1).await?.is_empty();
        }
    };
    let _ = to_writer.send(Part::End { cut }).await;
    drop(to_writer);
    let file = writer
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)?;

    db::audit::record(
        &mut tx,
        &user.actor(),
        "audit.downloaded",
        "audit_trail",
        None,
        Changes::new()
            .note("filters", q.query_string(None))
            .note("entries", sent)
            .note("cut", cut),
    )
    .await?;
    tx.commit().await?;

    let name = format!("audit-trail-{}.xlsx", clock::today());
    let mut response =
        Body::from_stream(ReaderStream::new(tokio::fs::File::from_std(file))).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(XLSX));
    if let Ok(v) = format!("attachment; filename=\"{name}\"").parse() {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// The filters, in words, for the About sheet.
fn about(q: &Query, who: Option<String>) -> Vec<(&'static str, String)> {
    let or_any = |v: &str, any: &str, words: fn(&str) -> String| {
        if v.is_empty() {
            any.to_owned()
        } else {
            words(v)
        }
    };
    vec![
        (
            "User",
            who.unwrap_or_else(|| or_any(&q.user, "Anyone", str::to_owned)),
        ),
        (
            "Record type",
            or_any(&q.record_type, "Any record", words::record_type),
        ),
        ("Record id", or_any(&q.record_id, "Any", str::to_owned)),
        ("Action", or_any(&q.action, "Any action", words::action)),
        ("From", or_any(&q.from, "The start", str::to_owned)),
        ("To", or_any(&q.to, "Today", str::to_owned)),
    ]
}

/// "100,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A moment as a UK clock shows it, for a cell (Excel has no time zones).
fn uk_cell(t: time::OffsetDateTime) -> Cell<'static> {
    Cell::DateTime(clock::uk_time(t).replace_offset(time::UtcOffset::UTC))
}

/// The blocking side: the entries' sheet, then the About sheet; saved to a temporary file.
fn write(
    mut parts: mpsc::Receiver<Part>,
    about: Vec<(&'static str, String)>,
) -> anyhow::Result<std::fs::File> {
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    let mut sheet = SheetWriter::new(
        &mut workbook,
        &formats,
        "Audit trail",
        columns(),
        EXCEL_MAX_ROWS,
    )?;
    let mut written = 0usize;
    let cut = loop {
        match parts.blocking_recv() {
            Some(Part::Rows(rows)) => {
                for row in &rows {
                    let record = RecordView::of(row);
                    fn text(s: &Option<String>) -> Cell<'_> {
                        s.as_deref().map_or(Cell::Empty, |s| Cell::Text(s.into()))
                    }
                    let id = |id: Option<uuid::Uuid>| {
                        id.map_or(Cell::Empty, |id| Cell::Text(id.to_string().into()))
                    };
                    sheet.write_row(
                        &mut workbook,
                        &formats,
                        &[
                            uk_cell(row.occurred_at),
                            Cell::Text(actor(row).into()),
                            text(&row.actor_email),
                            Cell::Text(words::action(&row.action).into()),
                            Cell::Text(row.action.as_str().into()),
                            Cell::Text(record.kind.into()),
                            Cell::Text(row.record_type.as_str().into()),
                            Cell::Text(record.name.into()),
                            Cell::Text(words::changes(&row.changes).join("\n").into()),
                            text(&row.ip),
                            text(&row.request_id),
                            id(row.record_id),
                            Cell::Text(row.id.to_string().into()),
                        ],
                    )?;
                    written += 1;
                }
            }
            Some(Part::End { cut }) => break cut,
            None => anyhow::bail!("the download stopped before it was complete"),
        }
    };
    sheet.finish(&mut workbook)?;

    let about_columns = vec![
        Column {
            header: "About this download",
            kind: Kind::Text,
            width: 24.0,
        },
        Column {
            header: "Value",
            kind: Kind::Text,
            width: 80.0,
        },
    ];
    let mut info = SheetWriter::new(
        &mut workbook,
        &formats,
        "About",
        about_columns,
        EXCEL_MAX_ROWS,
    )?;
    let mut line = |label: &str, value: String| {
        info.write_row(
            &mut workbook,
            &formats,
            &[Cell::Text(label.into()), Cell::Text(value.into())],
        )
    };
    line("Times", "UK time (British Summer Time in summer)".into())?;
    line("Entries", written.to_string())?;
    for (label, value) in about {
        line(label, value)?;
    }
    if cut {
        line(
            "Cut",
            format!(
                "Only the newest {} matching entries are here: more match. Narrow the filters (dates, user, action) to download the rest.",
                thousands(MAX_ROWS)
            ),
        )?;
    }
    info.finish(&mut workbook)?;

    let mut file = tempfile::tempfile()?;
    workbook.save_to_writer(&mut file)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use calamine::{Reader, Xlsx};
    use serde_json::json;
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;

    fn row(action: &str) -> AuditRow {
        AuditRow {
            id: Uuid::now_v7(),
            occurred_at: datetime!(2025-07-10 12:00 UTC),
            actor_user_id: None,
            actor_name: Some("Sam Staff".into()),
            actor_email: Some("sam@acme.test".into()),
            actor_token_id: None,
            action: action.into(),
            record_type: "ticket".into(),
            record_id: Some(Uuid::now_v7()),
            changes: json!({"priority": {"before": "low", "after": "high"}}),
            ip: None,
            request_id: None,
            record_name: None,
            record_ticket_number: Some(42),
            record_link: None,
        }
    }

    fn written(cut: bool) -> Vec<(String, Vec<Vec<String>>)> {
        let (to_writer, parts) = mpsc::channel(4);
        to_writer
            .try_send(Part::Rows(vec![
                row("ticket.updated"),
                row("ticket.created"),
            ]))
            .unwrap();
        to_writer.try_send(Part::End { cut }).unwrap();
        let mut file = write(parts, vec![("Action", "Any action".into())]).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let names = book.sheet_names().to_vec();
        names
            .into_iter()
            .map(|n| {
                let range = book.worksheet_range(&n).unwrap();
                let rows = range
                    .rows()
                    .map(|r| r.iter().map(|c| c.to_string()).collect())
                    .collect();
                (n, rows)
            })
            .collect()
    }

    #[test]
    fn the_workbook_holds_the_entries_in_words_and_says_when_it_was_cut() {
        let sheets = written(false);
        assert_eq!(sheets[0].0, "Audit trail");
        let entries = &sheets[0].1;
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1][1], "Sam Staff");
        assert_eq!(entries[1][3], "Edited ticket");
        assert_eq!(entries[1][4], "ticket.updated");
        assert_eq!(entries[1][7], "T-00042");
        assert_eq!(entries[1][8], "Priority: Low → High");
        assert_eq!(entries[2][3], "Logged ticket");
        let about = &sheets[1].1;
        assert_eq!(sheets[1].0, "About");
        assert!(about.iter().any(|r| r[0] == "Entries" && r[1] == "2"));
        assert!(!about.iter().any(|r| r[0] == "Cut"));

        let cut = written(true);
        let note = cut[1]
            .1
            .iter()
            .find(|r| r[0] == "Cut")
            .expect("a note that the download was cut");
        assert!(
            note[1].contains("Only the newest 100,000 matching entries"),
            "{note:?}"
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
