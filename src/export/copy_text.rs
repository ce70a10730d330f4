//! Reading PostgreSQL's text COPY format: one row per line, fields separated by
//! tabs, `\N` for NULL, and backslash escapes for backslash, tab, newline and the
//! other control characters COPY escapes. The data export reads its rows this way:
//! PostgreSQL writes them faster than result rows, and each field is a slice of the
//! line, not a value decoded and allocated on its own.

use std::borrow::Cow;

use crate::db::exports::{Cell, Column, Kind};

/// A line that is not what the export's COPY statement writes.
#[derive(Debug, thiserror::Error)]
#[error("row {row} of the COPY output could not be read: {why}")]
pub struct CopyError {
    pub row: u64,
    pub why: String,
}

/// One field: `None` for NULL, else its text with escapes undone.
pub fn field(raw: &[u8]) -> Result<Option<Cow<'_, str>>, std::str::Utf8Error> {
    if raw == b"\\N" {
        return Ok(None);
    }
    let text = std::str::from_utf8(raw)?;
    if !text.contains('\\') {
        return Ok(Some(Cow::Borrowed(text)));
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Ok(Some(Cow::Owned(out)))
}

/// The cells of one line (without its newline), by the sheet's columns.
/// Dates, times and timestamps arrive as Excel serial numbers (see `db::exports`).
pub fn cells<'a>(line: &'a [u8], columns: &[Column], row: u64) -> Result<Vec<Cell<'a>>, CopyError> {
    let error = |why: String| CopyError { row, why };
    let mut cells = Vec::with_capacity(columns.len());
    let mut raw = line.split(|&b| b == b'\t');
    for column in columns {
        let Some(raw) = raw.next() else {
            return Err(error(format!(
                "{} fields, {} columns",
                cells.len(),
                columns.len()
            )));
        };
        let value = field(raw).map_err(|e| error(format!("{}: {e}", column.header)))?;
        let cell = match (value, column.kind) {
            (None, _) => Cell::Empty,
            (Some(text), Kind::Text | Kind::LongText | Kind::Uuid) => Cell::Text(text),
            (Some(text), Kind::Bool) => Cell::Bool(text == "t"),
            (Some(text), Kind::Int | Kind::Decimal | Kind::Date | Kind::DateTime | Kind::Time) => {
                Cell::Number(
                    text.parse()
                        .map_err(|_| error(format!("{}: not a number: {text:?}", column.header)))?,
                )
            }
        };
        cells.push(cell);
    }
    if raw.next().is_some() {
        return Err(error(format!(
            "more fields than the {} columns",
            columns.len()
        )));
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(kind: Kind) -> Column {
        Column {
            header: "Column",
            kind,
            width: 10.0,
        }
    }

    #[test]
    fn escapes_are_undone_and_null_is_empty() {
        assert_eq!(field(b"\\N").unwrap(), None);
        assert_eq!(field(b"").unwrap().as_deref(), Some(""));
        assert_eq!(
            field(b"a\\tb\\nc\\\\d\\re").unwrap().as_deref(),
            Some("a\tb\nc\\d\re")
        );
        assert!(matches!(
            field(b"plain").unwrap(),
            Some(Cow::Borrowed("plain"))
        ));
    }

    #[test]
    fn a_line_becomes_cells_by_column_kind() {
        let columns = [
            column(Kind::Text),
            column(Kind::Bool),
            column(Kind::DateTime),
            column(Kind::Int),
            column(Kind::Decimal),
        ];
        let cells = cells(b"Dripping tap\tt\t45292.5\t\\N\t1234.5", &columns, 1).unwrap();
        assert_eq!(
            cells,
            vec![
                Cell::Text("Dripping tap".into()),
                Cell::Bool(true),
                Cell::Number(45292.5),
                Cell::Empty,
                Cell::Number(1234.5),
            ]
        );
    }

    #[test]
    fn a_line_that_does_not_fit_the_columns_is_refused() {
        let columns = [column(Kind::Text), column(Kind::Int)];
        assert!(cells(b"only one", &columns, 7).is_err());
        assert!(cells(b"a\t1\textra", &columns, 7).is_err());
        let error = cells(b"a\tlots", &columns, 7).unwrap_err();
        assert_eq!(error.row, 7);
    }
}
