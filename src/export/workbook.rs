//! Writing one record type's sheet in rust_xlsxwriter's constant-memory mode:
//! a bold, frozen header row with an autofilter; real dates, times and numbers;
//! text always written as text (never a formula); past Excel's row limit the rows
//! continue on "Tickets (2)"; a text past Excel's cell limit continues, visibly,
//! on the workbook's "Long text" sheet.

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

use crate::db::exports::{Cell, Column, Kind};

/// Excel's rows per sheet, the header row included.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;
/// Excel's characters per cell (counted in UTF-16 units).
pub const EXCEL_MAX_CELL: usize = 32_767;
/// How much of a long text one cell holds, leaving room for the marker.
pub const LONG_TEXT_PART: usize = 32_000;
/// The sheet that holds the rest of long texts.
pub const LONG_TEXT_SHEET: &str = "Long text";

/// The marker ending a cell whose text continues on the Long text sheet, where its
/// further parts are found by this cell's sheet, row and column.
pub fn continued_marker(sheet: &str) -> String {
    format!("…[continued on sheet '{sheet}']")
}

/// The columns of the Long text sheet: where a text belongs, its part number, its text.
pub fn long_text_columns() -> Vec<Column> {
    let column = |header, kind, width| Column {
        header,
        kind,
        width,
    };
    vec![
        column("Sheet", Kind::Text, 20.0),
        column("Row", Kind::Int, 8.0),
        column("Column", Kind::Text, 16.0),
        column("Part", Kind::Int, 6.0),
        column("Text", Kind::LongText, 100.0),
    ]
}

/// Adds a sheet with its header row, column widths and formats and frozen header;
/// its index in the workbook.
pub fn add_sheet(
    workbook: &mut Workbook,
    formats: &Formats,
    name: &str,
    columns: &[Column],
) -> Result<usize, XlsxError> {
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name(name)?;
    for (i, column) in columns.iter().enumerate() {
        let col = i as u16;
        sheet.set_column_width(col, column.width)?;
        // Numbers take their column's format: cheaper than a format per cell.
        if let Some(format) = formats.for_kind(column.kind) {
            sheet.set_column_format(col, format)?;
        }
        sheet.write_string_with_format(0, col, column.header, &formats.header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(workbook.worksheets().len() - 1)
}

/// Writes one row of cells, in the order of the columns; returns the texts too long
/// for a cell, unwritten, for the caller to split.
pub fn write_cells<'c>(
    sheet: &mut Worksheet,
    row: u32,
    cells: &'c [Cell<'c>],
) -> Result<Vec<(u16, &'c str)>, XlsxError> {
    let mut overflow = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let col = i as u16;
        match cell {
            Cell::Empty => {}
            // A UTF-8 text has at least as many bytes as UTF-16 units: most texts are
            // short enough not to count.
            Cell::Text(s) if s.len() > EXCEL_MAX_CELL && utf16_len(s) > EXCEL_MAX_CELL => {
                overflow.push((col, &**s))
            }
            Cell::Text(s) => {
                sheet.write_string(row, col, &**s)?;
            }
            Cell::Int(n) => {
                sheet.write_number(row, col, *n as f64)?;
            }
            // Formatted by their column (see add_sheet).
            Cell::Number(n) => {
                sheet.write_number(row, col, *n)?;
            }
            Cell::Bool(b) => {
                sheet.write_boolean(row, col, *b)?;
            }
            Cell::DateTime(t) => {
                sheet.write_number(row, col, excel_datetime(*t))?;
            }
        }
    }
    Ok(overflow)
}

/// The first part of a long text, for its cell, and the rest, for the Long text sheet.
pub fn split_long_text(text: &str) -> (String, Vec<&str>) {
    let mut parts = split_text(text, LONG_TEXT_PART);
    let rest = parts.split_off(1);
    (
        format!("{}{}", parts[0], continued_marker(LONG_TEXT_SHEET)),
        rest,
    )
}

/// The formats every sheet uses.
pub struct Formats {
    pub header: Format,
    pub date: Format,
    pub datetime: Format,
    pub time: Format,
    pub decimal: Format,
}

impl Formats {
    pub fn new() -> Self {
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xE7EEF5))
                .set_border_bottom(FormatBorder::Thin),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            time: Format::new().set_num_format("hh:mm"),
            decimal: Format::new().set_num_format("#,##0.00"),
        }
    }
}

impl Formats {
    /// The number format a column of this kind shows its values in.
    pub fn for_kind(&self, kind: Kind) -> Option<&Format> {
        match kind {
            Kind::Date => Some(&self.date),
            Kind::DateTime => Some(&self.datetime),
            Kind::Time => Some(&self.time),
            Kind::Decimal => Some(&self.decimal),
            Kind::Text | Kind::LongText | Kind::Uuid | Kind::Int | Kind::Bool => None,
        }
    }
}

impl Default for Formats {
    fn default() -> Self {
        Self::new()
    }
}

/// Days since Excel's epoch (1899-12-30), as Excel counts them from March 1900 on.
pub fn excel_date(date: Date) -> f64 {
    let epoch = Date::from_calendar_date(1899, Month::December, 30).expect("valid date");
    f64::from(date.to_julian_day() - epoch.to_julian_day())
}

pub fn excel_time(time: Time) -> f64 {
    let (h, m, s, nanos) = time.as_hms_nano();
    (f64::from(h) * 3600.0 + f64::from(m) * 60.0 + f64::from(s) + f64::from(nanos) / 1e9) / 86_400.0
}

/// A timestamp as an Excel date-time in UTC.
pub fn excel_datetime(at: OffsetDateTime) -> f64 {
    let utc = at.to_offset(UtcOffset::UTC);
    excel_date(utc.date()) + excel_time(utc.time())
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Splits `s` into pieces of at most `max` UTF-16 units, at character boundaries.
pub fn split_text(s: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut units) = (0, 0);
    for (i, ch) in s.char_indices() {
        if units + ch.len_utf16() > max {
            parts.push(&s[start..i]);
            start = i;
            units = 0;
        }
        units += ch.len_utf16();
    }
    parts.push(&s[start..]);
    parts
}

/// One titled sheet (and its continuations) in a workbook.
pub struct SheetWriter {
    title: String,
    columns: Vec<Column>,
    max_rows: u32,
    /// Workbook indices and names of "Title", "Title (2)", ...
    sheets: Vec<(usize, String, u32)>,
    /// The next row to write on the last sheet.
    row: u32,
    long_text: Option<Box<SheetWriter>>,
}

impl SheetWriter {
    /// Adds the first sheet, with its header row, column widths and frozen header.
    pub fn new(
        workbook: &mut Workbook,
        formats: &Formats,
        title: &str,
        columns: Vec<Column>,
        max_rows: u32,
    ) -> Result<Self, XlsxError> {
        let mut writer = SheetWriter {
            title: title.to_owned(),
            columns,
            max_rows: max_rows.clamp(2, EXCEL_MAX_ROWS),
            sheets: Vec::new(),
            row: 0,
            long_text: None,
        };
        writer.add_sheet(workbook, formats)?;
        Ok(writer)
    }

    fn add_sheet(&mut self, workbook: &mut Workbook, formats: &Formats) -> Result<(), XlsxError> {
        let name = match self.sheets.len() {
            0 => self.title.clone(),
            n => format!("{} ({})", self.title, n + 1),
        };
        let index = add_sheet(workbook, formats, &name, &self.columns)?;
        self.sheets.push((index, name, 0));
        self.row = 1;
        Ok(())
    }

    /// Writes one row of cells, in the order of the columns.
    pub fn write_row(
        &mut self,
        workbook: &mut Workbook,
        formats: &Formats,
        cells: &[Cell],
    ) -> Result<(), XlsxError> {
        if self.row >= self.max_rows {
            self.add_sheet(workbook, formats)?;
        }
        let row = self.row;
        let index = self.sheets.last().expect("a sheet").0;
        // Texts too long for a cell: the first part here with a marker, the rest on the Long text sheet.
        let overflow = write_cells(workbook.worksheet_from_index(index)?, row, cells)?;
        for (col, text) in overflow {
            let sheet_name = self.sheets.last().expect("a sheet").1.clone();
            let header = self.columns[usize::from(col)].header;
            let (first, rest) = split_long_text(text);
            workbook
                .worksheet_from_index(index)?
                .write_string(row, col, &first)?;
            let long = self.long_text(workbook, formats)?;
            for (n, part) in rest.iter().enumerate() {
                long.write_row(
                    workbook,
                    formats,
                    &[
                        Cell::Text(sheet_name.as_str().into()),
                        Cell::Int(i64::from(row) + 1),
                        Cell::Text(header.into()),
                        Cell::Int(n as i64 + 2),
                        Cell::Text((*part).into()),
                    ],
                )?;
            }
        }
        self.row += 1;
        if let Some(last) = self.sheets.last_mut() {
            last.2 += 1;
        }
        Ok(())
    }

    fn long_text(
        &mut self,
        workbook: &mut Workbook,
        formats: &Formats,
    ) -> Result<&mut SheetWriter, XlsxError> {
        if self.long_text.is_none() {
            self.long_text = Some(Box::new(SheetWriter::new(
                workbook,
                formats,
                LONG_TEXT_SHEET,
                long_text_columns(),
                self.max_rows,
            )?));
        }
        Ok(self.long_text.as_mut().expect("just made"))
    }

    /// Adds the autofilters; returns every sheet written (name, data rows), the Long text sheets last.
    pub fn finish(self, workbook: &mut Workbook) -> Result<Vec<(String, u32)>, XlsxError> {
        let last_col = self.columns.len().saturating_sub(1) as u16;
        let mut out = Vec::new();
        for (index, name, rows) in &self.sheets {
            let sheet: &mut Worksheet = workbook.worksheet_from_index(*index)?;
            sheet.autofilter(0, 0, *rows, last_col)?;
            out.push((name.clone(), *rows));
        }
        if let Some(long) = self.long_text {
            out.extend(long.finish(workbook)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    #[test]
    fn dates_are_excel_serial_numbers() {
        assert_eq!(excel_date(date!(1900 - 03 - 01)), 61.0);
        assert_eq!(excel_date(date!(2024 - 01 - 01)), 45292.0);
        assert_eq!(excel_time(time!(12:00)), 0.5);
        assert_eq!(excel_datetime(datetime!(2024-01-01 18:00 +6)), 45292.5);
    }

    #[test]
    fn long_texts_split_at_character_boundaries() {
        let s = "é".repeat(10) + "😀";
        let parts = split_text(&s, 4);
        assert_eq!(parts.concat(), s);
        assert!(parts.iter().all(|p| utf16_len(p) <= 4));
        assert_eq!(split_text("", 4), vec![""]);
    }
}
