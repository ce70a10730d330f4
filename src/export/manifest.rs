//! What an export holds, so the customer can check nothing is missing: a
//! manifest.json and a README workbook with when it was made, for which tenant,
//! each sheet's rows and each file's SHA-256.

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use uuid::Uuid;

use super::workbook::{LONG_TEXT_SHEET, continued_marker};

#[derive(Debug, Clone, Serialize)]
pub struct SheetCount {
    pub name: String,
    pub rows: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub name: String,
    pub size_bytes: u64,
    pub sha256: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sheets: Vec<SheetCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TenantInfo {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub kind: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
    pub tenant: TenantInfo,
    pub files: Vec<FileEntry>,
}

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// How the workbooks are laid out, for the README sheet.
pub const HOW_TO_READ: &[&str] = &[
    "Each workbook holds one kind of record; each sheet starts with a header row.",
    "Dates and times are real Excel dates, in UTC. Amounts are numbers.",
    "Records refer to each other by references people can read (scheme name and code, plot number, ticket T-00042, user email) and by their ids.",
    "Text is always stored as text, never as a formula, even when it starts with =, +, - or @.",
    "Excel holds at most 1,048,576 rows per sheet: further rows continue on a sheet of the same name with (2), (3) after it.",
];

/// The README sheet's explanation of long texts.
pub fn long_text_rule() -> String {
    format!(
        "Excel holds at most 32,767 characters in a cell. A longer text keeps its first 32,000 characters in its cell, ending with {} and continues on the workbook's '{LONG_TEXT_SHEET}' sheet: one row per further 32,000 characters, with the sheet, row and column it belongs to and its part number (2, 3, ...). Join the parts in order to get the whole text.",
        continued_marker(LONG_TEXT_SHEET)
    )
}

/// The README workbook (a normal, small workbook).
pub fn readme_workbook(manifest: &Manifest, title: &str) -> Result<Workbook, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("README")?;
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 40)?;
    sheet.set_column_width(2, 12)?;
    sheet.set_column_width(3, 70)?;
    sheet.write_string_with_format(0, 0, title, &bold)?;
    let made = manifest.made_at.format(&Rfc3339).unwrap_or_default();
    let facts = [
        ("Made at (UTC)", made),
        ("Organisation", manifest.tenant.name.clone()),
        ("Organisation code", manifest.tenant.slug.clone()),
        ("Organisation id", manifest.tenant.id.to_string()),
    ];
    let mut row = 2;
    for (label, value) in facts {
        sheet.write_string_with_format(row, 0, label, &bold)?;
        sheet.write_string(row, 1, &value)?;
        row += 1;
    }
    row += 1;
    for line in HOW_TO_READ.iter().map(|s| (*s).to_owned()).chain([
        long_text_rule(),
        "manifest.json in the zip lists the same, and the SHA-256 of this README file too."
            .to_owned(),
    ]) {
        sheet.write_string(row, 0, &line)?;
        row += 1;
    }
    row += 1;
    for (col, header) in ["File", "Sheet", "Rows", "SHA-256 of the file"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(row, col as u16, *header, &bold)?;
    }
    row += 1;
    for file in &manifest.files {
        if file.sheets.is_empty() {
            sheet.write_string(row, 0, &file.name)?;
            sheet.write_string(row, 3, &file.sha256)?;
            row += 1;
        }
        for s in &file.sheets {
            sheet.write_string(row, 0, &file.name)?;
            sheet.write_string(row, 1, &s.name)?;
            sheet.write_number(row, 2, s.rows)?;
            sheet.write_string(row, 3, &file.sha256)?;
            row += 1;
        }
    }
    Ok(workbook)
}
