//! Bulk import: reading an uploaded CSV or XLSX file into typed rows, each
//! with the problems found in it. Pure: no database. The checks that need the
//! database (does the scheme exist, is the plot number taken) are given what
//! they need by the caller (see `web::imports`).
//!
//! Row numbers are the spreadsheet's: the heading row is row 1, so the first
//! data row is row 2.

mod xlsx;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use time::{Date, Month, macros::format_description};
use uuid::Uuid;

use crate::{
    db::contacts::{KINDS, TRADES},
    domain::{Email, Postcode},
};

/// The most data rows one file may hold.
pub const MAX_ROWS: usize = 20_000;
/// The largest file accepted.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Plots,
    Contacts,
}

impl ImportKind {
    pub fn parse(value: &str) -> Option<ImportKind> {
        match value {
            "plots" => Some(ImportKind::Plots),
            "contacts" => Some(ImportKind::Contacts),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Plots => "plots",
            ImportKind::Contacts => "contacts",
        }
    }
    /// The columns a file of this kind may have, in the sample's order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Plots => &PLOT_COLUMNS,
            ImportKind::Contacts => &CONTACT_COLUMNS,
        }
    }
    /// The columns a file of this kind must have.
    fn required(self) -> &'static [&'static str] {
        match self {
            ImportKind::Plots => &["scheme", "contract", "plot_number"],
            ImportKind::Contacts => &["kind", "name"],
        }
    }
}

pub const PLOT_COLUMNS: [&str; 14] = [
    "scheme",
    "contract",
    "plot_number",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "house_type",
    "bedrooms",
    "reservation_date",
    "completion_date",
    "homeowner_name",
    "homeowner_phone",
    "homeowner_email",
];

pub const CONTACT_COLUMNS: [&str; 8] = [
    "kind",
    "name",
    "company_name",
    "emails",
    "phones",
    "address",
    "notes",
    "trades",
];

/// A sample file for each kind, offered for download on the import page.
pub fn sample_csv(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Plots => {
            "scheme,contract,plot_number,address_line1,address_line2,town,postcode,house_type,bedrooms,reservation_date,completion_date,homeowner_name,homeowner_phone,homeowner_email\n\
             Meadowbank Park,Phase 1,101,1 Larch Close,,Warrington,WA4 2TX,The Aspen,3,2025-01-15,2025-06-30,Jane Example,07700 900123,jane@example.com\n\
             Meadowbank Park,Phase 1,102,3 Larch Close,,Warrington,WA4 2TX,The Birch,4,2025-02-01,,,,\n"
        }
        ImportKind::Contacts => {
            "kind,name,company_name,emails,phones,address,notes,trades\n\
             subcontractor_company,Northway Electrical Ltd,,office@northway.example,01925 555010,\"Unit 4, Trade Park, Warrington WA2 8XY\",,electrical; heating\n\
             subcontractor_person,Mo Ahmed,Northway Electrical Ltd,mo@northway.example,07700 900456,,Site electrician,\n\
             homeowner,Jane Example,,jane@example.com,07700 900123,\"1 Larch Close, Warrington WA4 2TX\",Prefers calls after 5pm,\n"
        }
    }
}

/// A whole file's problem: nothing in it can be previewed.
pub type FileError = String;

/// The problem of a file past [`MAX_FILE_BYTES`].
pub fn too_large_file() -> FileError {
    format!(
        "This file is too large to import: it is larger than {} MB. Split it into smaller files and import each.",
        MAX_FILE_BYTES / (1024 * 1024)
    )
}

/// The cells of a file: its headings (normalised) and its data rows with their row numbers.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub headings: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Reads a CSV or XLSX file. An XLSX file is a zip archive, which starts with "PK".
pub fn read_sheet(bytes: &[u8]) -> Result<Sheet, FileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large_file());
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("This file is empty.".into());
    }
    let (headings, rows) = if bytes.starts_with(b"PK") {
        xlsx::read(bytes)?
    } else {
        read_csv(bytes)?
    };
    let headings: Vec<String> = headings.iter().map(|h| normalise_heading(h)).collect();
    let rows: Vec<(usize, Vec<String>)> = rows
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .collect();
    if let Some(problem) = control_character(&headings, &rows) {
        return Err(problem);
    }
    if rows.len() > MAX_ROWS {
        return Err(format!(
            "This file has {} rows. Import at most {} rows at a time: split the file and import each part.",
            rows.len(),
            MAX_ROWS
        ));
    }
    Ok(Sheet { headings, rows })
}

type Cells = (Vec<String>, Vec<(usize, Vec<String>)>);

/// The first cell holding a control character (a cell may hold line breaks and tabs), as the file's problem.
fn control_character(headings: &[String], rows: &[(usize, Vec<String>)]) -> Option<FileError> {
    use crate::domain::text::{Lines, forbidden_char};
    rows.iter().find_map(|(line, cells)| {
        cells.iter().enumerate().find_map(|(i, cell)| {
            forbidden_char(cell, Lines::Many).map(|c| {
                let column = headings.get(i).map_or("?", String::as_str);
                format!(
                    "Row {line}, column {column} holds a hidden control character (U+{:04X}), which cannot be imported. Remove it and try again.",
                    c as u32
                )
            })
        })
    })
}

fn read_csv(bytes: &[u8]) -> Result<Cells, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| {
        "This file is not a CSV file we can read: save it as \"CSV UTF-8\" (or as an Excel .xlsx workbook) and try again.".to_string()
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let headings = match records.next() {
        Some(Ok(r)) => r.iter().map(str::to_owned).collect(),
        Some(Err(e)) => return Err(format!("The heading row could not be read: {e}.")),
        None => return Err("This file is empty.".into()),
    };
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!(
                "Row {} could not be read as CSV. Check its quotes.",
                p.line()
            ),
            None => "The file could not be read as CSV. Check its quotes.".to_string(),
        })?;
        let line = record
            .position()
            .map(|p| p.line() as usize)
            .unwrap_or(rows.len() + 2);
        rows.push((line, record.iter().map(str::to_owned).collect()));
        if rows.len() > MAX_ROWS + 1000 {
            break;
        }
    }
    Ok((headings, rows))
}

/// "Plot Number " → "plot_number".
fn normalise_heading(heading: &str) -> String {
    heading
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Where each known column is in the file.
struct Columns(HashMap<&'static str, usize>);

impl Columns {
    fn find(kind: ImportKind, headings: &[String]) -> Result<Columns, FileError> {
        let mut found = HashMap::new();
        let mut unknown = Vec::new();
        for (i, h) in headings.iter().enumerate() {
            if h.is_empty() {
                continue;
            }
            match kind.columns().iter().find(|c| **c == h.as_str()) {
                Some(c) if found.contains_key(c) => {
                    return Err(format!("The column '{h}' appears twice. Keep one."));
                }
                Some(c) => {
                    found.insert(*c, i);
                }
                None => unknown.push(h.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(format!(
                "This file has columns we don't know: {}. The columns are: {}.",
                unknown.join(", "),
                kind.columns().join(", ")
            ));
        }
        let missing: Vec<&str> = kind
            .required()
            .iter()
            .filter(|c| !found.contains_key(*c))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "This file has no {} column. Start from the sample file to get the headings right.",
                missing.join(", ")
            ));
        }
        Ok(Columns(found))
    }

    /// The trimmed cell of `column` in `cells`, or "" when absent.
    fn get<'a>(&self, cells: &'a [String], column: &str) -> &'a str {
        self.0
            .get(column)
            .and_then(|i| cells.get(*i))
            .map(|s| s.trim())
            .unwrap_or("")
    }
}

/// One row of the file, typed, with its problems (empty when it can be imported).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checked<T> {
    pub line: usize,
    pub row: T,
    #[serde(default)]
    pub problems: Vec<String>,
}

/// A plot as a row of an import file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PlotRow {
    pub scheme: String,
    pub contract: String,
    pub plot_number: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    /// Normalised ("SW1A 1AA"), or empty.
    pub postcode: String,
    pub house_type: String,
    pub bedrooms: Option<i32>,
    pub reservation_date: Option<Date>,
    pub completion_date: Option<Date>,
    pub homeowner_name: String,
    pub homeowner_phones: Vec<String>,
    pub homeowner_emails: Vec<String>,
}

/// A contact as a row of an import file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ContactRow {
    pub kind: String,
    pub name: String,
    pub company_name: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub address: String,
    pub notes: String,
    pub trades: Vec<String>,
}

/// Several values in one cell: separated by semicolons, commas or new lines.
fn split_list(cell: &str) -> Vec<String> {
    cell.split([';', ',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A date as people type it in the UK: 2025-03-31, 31/03/2025 or 31-03-2025.
pub fn parse_date(input: &str) -> Option<Date> {
    let input = input.trim();
    if let Ok(d) = Date::parse(input, format_description!("[year]-[month]-[day]")) {
        return Some(d);
    }
    let parts: Vec<&str> = input.split(['/', '-', '.']).collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    let (d, m, y): (u8, u8, i32) = (d.parse().ok()?, m.parse().ok()?, y.parse().ok()?);
    if !(1900..=2200).contains(&y) {
        return None;
    }
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// Phone numbers: digits, spaces and + ( ) - only, with at least 6 digits.
pub fn valid_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (6..=20).contains(&digits)
        && phone.len() <= 40
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +()-".contains(c))
}

fn text_limit(problems: &mut Vec<String>, label: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        problems.push(format!("{label} is longer than {max} characters"));
    }
}

/// Reads the plots of a file, with the problems each row has on its own and
/// with the rest of the file (a plot number twice in one scheme).
pub fn parse_plots(sheet: &Sheet) -> Result<Vec<Checked<PlotRow>>, FileError> {
    let cols = Columns::find(ImportKind::Plots, &sheet.headings)?;
    let mut out = Vec::with_capacity(sheet.rows.len());
    for (line, cells) in &sheet.rows {
        let get = |c: &str| cols.get(cells, c);
        let mut problems = Vec::new();
        let mut row = PlotRow {
            scheme: get("scheme").to_owned(),
            contract: get("contract").to_owned(),
            plot_number: get("plot_number").to_owned(),
            address_line1: get("address_line1").to_owned(),
            address_line2: get("address_line2").to_owned(),
            town: get("town").to_owned(),
            house_type: get("house_type").to_owned(),
            homeowner_name: get("homeowner_name").to_owned(),
            homeowner_phones: split_list(get("homeowner_phone")),
            homeowner_emails: split_list(get("homeowner_email")),
            ..Default::default()
        };
        if row.scheme.is_empty() {
            problems.push("the scheme is missing".into());
        }
        if row.contract.is_empty() {
            problems.push("the contract is missing".into());
        }
        if row.plot_number.is_empty() {
            problems.push("the plot number is missing".into());
        } else {
            text_limit(&mut problems, "the plot number", &row.plot_number, 20);
        }
        for (label, value, max) in [
            ("address line 1", &row.address_line1, 200),
            ("address line 2", &row.address_line2, 200),
            ("the town", &row.town, 100),
            ("the house type", &row.house_type, 100),
            ("the homeowner's name", &row.homeowner_name, 200),
        ] {
            text_limit(&mut problems, label, value, max);
        }
        let postcode = get("postcode");
        if !postcode.is_empty() {
            match Postcode::parse("postcode", postcode) {
                Ok(p) => row.postcode = p.as_str().to_owned(),
                Err(_) => problems.push(format!("postcode '{postcode}' is not a UK postcode")),
            }
        }
        let bedrooms = get("bedrooms");
        if !bedrooms.is_empty() {
            match bedrooms.parse::<i32>() {
                Ok(n) if (0..=20).contains(&n) => row.bedrooms = Some(n),
                _ => problems.push(format!(
                    "bedrooms '{bedrooms}' is not a number from 0 to 20"
                )),
            }
        }
        for (column, label, slot) in [
            (
                "reservation_date",
                "reservation date",
                &mut row.reservation_date,
            ),
            (
                "completion_date",
                "completion date",
                &mut row.completion_date,
            ),
        ] {
            let value = get(column);
            if !value.is_empty() {
                match parse_date(value) {
                    Some(d) => *slot = Some(d),
                    None => problems.push(format!(
                        "{label} '{value}' is not a date: use YYYY-MM-DD or DD/MM/YYYY"
                    )),
                }
            }
        }
        if let (Some(r), Some(c)) = (row.reservation_date, row.completion_date)
            && c < r
        {
            problems.push(format!(
                "the completion date {c} is before the reservation date {r}"
            ));
        }
        let has_details = !row.homeowner_emails.is_empty() || !row.homeowner_phones.is_empty();
        let mut emails = Vec::new();
        for e in &row.homeowner_emails {
            match Email::parse("homeowner_email", e) {
                Ok(e) => emails.push(e.as_str().to_owned()),
                Err(_) => problems.push(format!("homeowner email '{e}' is not an email address")),
            }
        }
        row.homeowner_emails = emails;
        for p in row.homeowner_phones.iter().filter(|p| !valid_phone(p)) {
            problems.push(format!("homeowner phone '{p}' is not a phone number"));
        }
        if row.homeowner_name.is_empty() && has_details {
            problems
                .push("a homeowner phone or email is given without the homeowner's name".into());
        }
        out.push(Checked {
            line: *line,
            row,
            problems,
        });
    }
    flag_duplicates_in_file(&mut out);
    Ok(out)
}

/// A plot number that appears twice for one scheme in the file: every row but the first is a problem.
fn flag_duplicates_in_file(rows: &mut [Checked<PlotRow>]) {
    let mut first: HashMap<(String, String), usize> = HashMap::new();
    for r in rows.iter_mut() {
        if r.row.plot_number.is_empty() || r.row.scheme.is_empty() {
            continue;
        }
        let key = (r.row.scheme.to_lowercase(), r.row.plot_number.clone());
        match first.get(&key) {
            Some(line) => r.problems.push(format!(
                "plot number {} appears more than once for {} in this file (first on row {line})",
                r.row.plot_number, r.row.scheme
            )),
            None => {
                first.insert(key, r.line);
            }
        }
    }
}

/// A scheme the importing user may see, with its contracts.
#[derive(Debug, Clone)]
pub struct KnownScheme {
    pub id: Uuid,
    pub name: String,
    pub contracts: Vec<(Uuid, String)>,
}

/// Where a plot row goes: its scheme and contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub scheme_id: Uuid,
    pub contract_id: Uuid,
}

/// Finds each row's scheme and contract by name (ignoring case). Contracts are never created by an import.
pub fn resolve_plots(
    rows: &mut [Checked<PlotRow>],
    schemes: &[KnownScheme],
) -> Vec<Option<Target>> {
    rows.iter_mut()
        .map(|r| {
            if r.row.scheme.is_empty() || r.row.contract.is_empty() {
                return None;
            }
            let matching: Vec<&KnownScheme> = schemes.iter().filter(|s| s.name.eq_ignore_ascii_case(&r.row.scheme)).collect();
            let scheme = match matching.as_slice() {
                [] => {
                    r.problems.push(format!("there is no scheme called '{}'", r.row.scheme));
                    return None;
                }
                [one] => *one,
                _ => {
                    r.problems.push(format!("more than one scheme is called '{}': rename one first", r.row.scheme));
                    return None;
                }
            };
            let contracts: Vec<Uuid> = scheme.contracts.iter().filter(|(_, n)| n.eq_ignore_ascii_case(&r.row.contract)).map(|(id, _)| *id).collect();
            match contracts.as_slice() {
                [] => {
                    r.problems.push(format!(
                        "there is no contract called '{}' in {} (imports never create contracts: add it on the scheme's page first)",
                        r.row.contract, scheme.name
                    ));
                    None
                }
                [one] => Some(Target { scheme_id: scheme.id, contract_id: *one }),
                _ => {
                    r.problems.push(format!("more than one contract in {} is called '{}'", scheme.name, r.row.contract));
                    None
                }
            }
        })
        .collect()
}

/// The (scheme, plot number) pairs of the rows that found their scheme, to ask the database which are taken.
pub fn plot_keys(rows: &[Checked<PlotRow>], targets: &[Option<Target>]) -> Vec<(Uuid, String)> {
    rows.iter()
        .zip(targets)
        .filter_map(|(r, t)| t.map(|t| (t.scheme_id, r.row.plot_number.clone())))
        .collect()
}

/// Marks the rows whose plot number already exists in their scheme.
pub fn flag_taken(
    rows: &mut [Checked<PlotRow>],
    targets: &[Option<Target>],
    taken: &HashSet<(Uuid, String)>,
    schemes: &[KnownScheme],
) {
    for (r, t) in rows.iter_mut().zip(targets) {
        let Some(t) = t else { continue };
        if taken.contains(&(t.scheme_id, r.row.plot_number.clone())) {
            let scheme = schemes
                .iter()
                .find(|s| s.id == t.scheme_id)
                .map(|s| s.name.as_str())
                .unwrap_or("its scheme");
            r.problems.push(format!(
                "plot number {} already exists in {scheme}",
                r.row.plot_number
            ));
        }
    }
}

/// Reads the contacts of a file, with the problems each row has on its own.
pub fn parse_contacts(sheet: &Sheet) -> Result<Vec<Checked<ContactRow>>, FileError> {
    let cols = Columns::find(ImportKind::Contacts, &sheet.headings)?;
    let mut out = Vec::with_capacity(sheet.rows.len());
    for (line, cells) in &sheet.rows {
        let get = |c: &str| cols.get(cells, c);
        let mut problems = Vec::new();
        let kind_cell = get("kind");
        let kind = normalise_heading(kind_cell);
        if kind.is_empty() {
            problems.push("the kind is missing".into());
        } else if !KINDS.iter().any(|(k, _)| *k == kind) {
            problems.push(format!(
                "kind '{kind_cell}' is not one of: {}",
                KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ));
        }
        let mut row = ContactRow {
            kind,
            name: get("name").to_owned(),
            company_name: get("company_name").to_owned(),
            phones: split_list(get("phones")),
            address: get("address").to_owned(),
            notes: get("notes").to_owned(),
            ..Default::default()
        };
        if row.name.is_empty() {
            problems.push("the name is missing".into());
        }
        text_limit(&mut problems, "the name", &row.name, 200);
        text_limit(&mut problems, "the company name", &row.company_name, 200);
        text_limit(&mut problems, "the address", &row.address, 1000);
        text_limit(&mut problems, "the notes", &row.notes, 5000);
        for e in split_list(get("emails")) {
            match Email::parse("emails", &e) {
                Ok(e) => row.emails.push(e.as_str().to_owned()),
                Err(_) => problems.push(format!("email '{e}' is not an email address")),
            }
        }
        for p in row.phones.iter().filter(|p| !valid_phone(p)) {
            problems.push(format!("phone '{p}' is not a phone number"));
        }
        for t in split_list(get("trades")) {
            let trade = normalise_heading(&t).replace("windows_and_doors", "windows_doors");
            match TRADES
                .iter()
                .find(|(k, l)| *k == trade || l.eq_ignore_ascii_case(&t))
            {
                Some((k, _)) if !row.trades.contains(&k.to_string()) => {
                    row.trades.push((*k).to_owned())
                }
                Some(_) => {}
                None => problems.push(format!(
                    "trade '{t}' is not one of: {}",
                    TRADES
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        if !row.trades.is_empty() && row.kind != "subcontractor_company" && !row.kind.is_empty() {
            problems.push("trades are only for subcontractor companies".into());
        }
        if row.kind == "subcontractor_person" && row.company_name.is_empty() {
            problems
                .push("a person at a subcontractor needs the company_name of their company".into());
        }
        out.push(Checked {
            line: *line,
            row,
            problems,
        });
    }
    Ok(out)
}

/// The company a subcontractor person belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyRef {
    /// A company already in Plotcare.
    Existing(Uuid),
    /// A company on an earlier row of this file (its index in the rows).
    InFile(usize),
}

/// Finds the company of each subcontractor person: one already in Plotcare, or one earlier in the file.
pub fn resolve_companies(
    rows: &mut [Checked<ContactRow>],
    existing: &[(Uuid, String)],
) -> Vec<Option<CompanyRef>> {
    let mut in_file: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter_mut().enumerate() {
        if r.row.kind == "subcontractor_company" {
            in_file.entry(r.row.name.to_lowercase()).or_insert(i);
        }
        if r.row.kind != "subcontractor_person" || r.row.company_name.is_empty() {
            out.push(None);
            continue;
        }
        let wanted = r.row.company_name.to_lowercase();
        let found = existing
            .iter()
            .find(|(_, n)| n.to_lowercase() == wanted)
            .map(|(id, _)| CompanyRef::Existing(*id))
            .or_else(|| in_file.get(&wanted).map(|i| CompanyRef::InFile(*i)));
        if found.is_none() {
            r.problems.push(format!(
                "there is no subcontractor company called '{}' in Plotcare or on an earlier row of this file",
                r.row.company_name
            ));
        }
        out.push(found);
    }
    out
}

/// "Row 7: postcode 'XYZ' is not a UK postcode" for every problem of every row.
pub fn problem_lines<T>(rows: &[Checked<T>]) -> Vec<String> {
    rows.iter()
        .flat_map(|r| {
            r.problems
                .iter()
                .map(move |p| format!("Row {}: {p}", r.line))
        })
        .collect()
}

#[cfg(test)]
mod tests;
