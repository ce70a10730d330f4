//! Reading the first sheet of an XLSX workbook within fixed bounds, whatever the file says.
//!
//! A workbook is a zip archive of XML parts, and a small file can claim anything: cells at
//! A1 and XFD1048576 (a grid of 17 billion cells), a sheet that inflates to gigabytes, a
//! shared-strings table "of a trillion strings". So, before anything is parsed, the archive's
//! directory is checked (the sizes the parts inflate to, which the zip reader then enforces
//! while inflating), and each XML part is inflated once into nothing to check it holds no
//! run of text longer than Excel itself writes. Then the sheet is read one cell at a time,
//! keeping only cells with something in them, and reading stops at the row, column and text
//! limits. No grid is ever built from the sheet's bounding box.

use std::{
    collections::BTreeMap,
    io::{Cursor, Read},
};

use calamine::{DataRef, Reader, Xlsx};

use super::{Cells, FileError, MAX_ROWS};

/// The most bytes the parts of one workbook may inflate to, all together.
pub const MAX_INFLATED_BYTES: u64 = 100 * 1024 * 1024;
/// The most bytes the parts read whole when a workbook is opened (the shared strings,
/// styles, workbook and relationships) may inflate to: they are held in memory.
const MAX_OPENED_BYTES: u64 = 24 * 1024 * 1024;
/// The most bytes the styles may inflate to (each style is held as a much larger record).
const MAX_STYLES_BYTES: u64 = 4 * 1024 * 1024;
/// The most entries an archive may hold.
const MAX_ENTRIES: usize = 10_000;
/// The longest run of XML without a tag: Excel's longest cell (32,767 characters, each
/// escaped at worst as 6 bytes) is well under it.
const MAX_XML_RUN: usize = 1024 * 1024;
/// The most shared strings a workbook may declare: 15 distinct texts on each of the
/// MAX_ROWS rows (a plot or contact import has fewer columns than that). Each costs
/// the parser a string of its own (some 56 bytes even for one letter), so the cap is
/// what keeps two workbooks read at once within the instance's memory.
const MAX_SHARED_STRINGS: u64 = 300_000;
/// The most columns read: every import column fits many times over.
pub const MAX_COLUMNS: u32 = 64;
/// The most text the sheet's cells may hold together (a CSV file is at most 10 MB).
const MAX_TEXT_BYTES: usize = 16 * 1024 * 1024;

fn unreadable() -> FileError {
    "This file looks like a spreadsheet but could not be opened. Save it as an Excel .xlsx workbook (or as CSV) and try again.".into()
}

/// The message for a workbook past one of the bounds.
pub fn too_large(what: &str) -> FileError {
    format!(
        "This file is too large to import: {what}. Keep only the rows and columns to import (or save the sheet as CSV), split it if needed, and try again."
    )
}

/// The first sheet's headings and data rows (with their spreadsheet row numbers).
pub fn read(bytes: &[u8]) -> Result<Cells, FileError> {
    check_archive(bytes)?;
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let first = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| "This workbook has no sheets.".to_string())?;
    let mut reader = book
        .worksheet_cells_reader(&first)
        .map_err(|_| unreadable())?;
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut text_bytes = 0usize;
    while let Some(cell) = reader.next_cell().map_err(|_| unreadable())? {
        let text = cell_text(cell.get_value());
        if text.trim().is_empty() {
            continue;
        }
        let (row, column) = cell.get_position();
        if column >= MAX_COLUMNS {
            return Err(format!(
                "Cell {}{} holds a value, but a file to import has at most {MAX_COLUMNS} columns (up to column {}). Delete what is beyond them and try again.",
                column_name(column),
                u64::from(row) + 1,
                column_name(MAX_COLUMNS - 1)
            ));
        }
        text_bytes += text.len();
        if text_bytes > MAX_TEXT_BYTES {
            return Err(too_large(&format!(
                "its cells hold more than {} MB of text",
                MAX_TEXT_BYTES / (1024 * 1024)
            )));
        }
        if !rows.contains_key(&row) && rows.len() > MAX_ROWS {
            return Err(format!(
                "This file has more than {MAX_ROWS} rows. Import at most {MAX_ROWS} rows at a time: split the file and import each part."
            ));
        }
        let cells = rows.entry(row).or_default();
        let column = column as usize;
        if cells.len() <= column {
            cells.resize(column + 1, String::new());
        }
        cells[column] = text;
    }
    let mut rows = rows
        .into_iter()
        .map(|(row, cells)| (row as usize + 1, cells));
    let Some((_, headings)) = rows.next() else {
        return Err("This file is empty.".into());
    };
    Ok((headings, rows.collect()))
}

/// "A" for column 0, "Z" for 25, "AA" for 26 … "XFD" for 16,383.
fn column_name(column: u32) -> String {
    let mut n = u64::from(column) + 1;
    let mut name = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        name.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// A spreadsheet cell as the text a person would type: whole numbers without ".0", dates as YYYY-MM-DD.
fn cell_text(cell: &DataRef<'_>) -> String {
    match cell {
        DataRef::Empty | DataRef::Error(_) => String::new(),
        DataRef::String(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => if *b { "yes" } else { "no" }.into(),
        DataRef::DateTime(d) => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{day:02}")
        }
        DataRef::DateTimeIso(s) => s.chars().take(10).collect(),
    }
}

/// Checks the archive before it is parsed: the sizes its parts inflate to, what is held
/// in memory when it is opened, and (inflating each XML part into nothing) that no part
/// holds an overlong run of text or declares an absurd number of shared strings.
fn check_archive(bytes: &[u8]) -> Result<(), FileError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| unreadable())?;
    if zip.len() > MAX_ENTRIES {
        return Err(too_large(&format!(
            "it holds more than {MAX_ENTRIES} parts"
        )));
    }
    let (mut inflated, mut opened) = (0u64, 0u64);
    let mut xml_parts = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|_| unreadable())?;
        let name = entry.name().map_err(|_| unreadable())?.to_ascii_lowercase();
        let size = entry.size();
        inflated = inflated.saturating_add(size);
        let is_xml = name.ends_with(".xml") || name.ends_with(".rels");
        if is_xml && !name.contains("worksheets/") {
            opened = opened.saturating_add(size);
            if name.ends_with("styles.xml") && size > MAX_STYLES_BYTES {
                return Err(too_large("its styles are larger than Plotcare reads"));
            }
        }
        if is_xml {
            xml_parts.push((i, name.ends_with("sharedstrings.xml")));
        }
    }
    if inflated > MAX_INFLATED_BYTES {
        return Err(too_large(&format!(
            "it unpacks to more than {} MB",
            MAX_INFLATED_BYTES / (1024 * 1024)
        )));
    }
    if opened > MAX_OPENED_BYTES {
        return Err(too_large(&format!(
            "its shared text and styles unpack to more than {} MB",
            MAX_OPENED_BYTES / (1024 * 1024)
        )));
    }
    let mut budget = MAX_INFLATED_BYTES;
    for (i, shared_strings) in xml_parts {
        let entry = zip.by_index(i).map_err(|_| unreadable())?;
        // The zip reader fails a part that inflates past its declared size; `take` bounds
        // the whole workbook whatever happens.
        let mut part = entry.take(budget + 1);
        let scan = scan_xml(&mut part, shared_strings)?;
        budget = budget.saturating_sub(scan.bytes);
        if budget == 0 {
            return Err(too_large(&format!(
                "it unpacks to more than {} MB",
                MAX_INFLATED_BYTES / (1024 * 1024)
            )));
        }
    }
    Ok(())
}

/// What one XML part inflated to.
struct Scan {
    bytes: u64,
}

/// Inflates one XML part, checking the runs between tags and, for the shared strings
/// (held whole, at most MAX_OPENED_BYTES), the count the table declares: calamine reserves
/// room for that many strings before reading one.
fn scan_xml(part: &mut impl Read, shared_strings: bool) -> Result<Scan, FileError> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut bytes, mut run) = (0u64, 0usize);
    let mut whole: Vec<u8> = Vec::new();
    loop {
        let n = match part.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(unreadable()),
        };
        bytes += n as u64;
        let chunk = &buf[..n];
        for (i, piece) in chunk.split(|b| *b == b'<').enumerate() {
            run = if i == 0 {
                run + piece.len()
            } else {
                piece.len()
            };
            if run > MAX_XML_RUN {
                return Err(too_large(
                    "a cell or part holds more text than Excel writes",
                ));
            }
        }
        if shared_strings {
            if whole.len() as u64 + n as u64 > MAX_OPENED_BYTES {
                return Err(too_large("its shared text is larger than Plotcare reads"));
            }
            whole.extend_from_slice(chunk);
        }
    }
    if shared_strings
        && (largest_unique_count(&whole) > MAX_SHARED_STRINGS
            || string_items(&whole) > MAX_SHARED_STRINGS)
    {
        return Err(too_large(
            "it declares more text cells than an import can hold",
        ));
    }
    Ok(Scan { bytes })
}

/// The largest `uniqueCount` of any `sst` start tag (prefixed or not) in `xml`; 0 when
/// none declares one; `u64::MAX` for a count too long to be a number.
fn largest_unique_count(xml: &[u8]) -> u64 {
    const ATTR: &[u8] = b"uniqueCount";
    let mut largest = 0u64;
    for at in find_all(xml, b"sst") {
        let before = at.checked_sub(1).map(|i| xml[i]);
        let after = xml.get(at + 3).copied();
        let opens = matches!(before, Some(b'<' | b':'));
        let ends = matches!(after, Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/'));
        if !(opens && ends) {
            continue;
        }
        let tag = &xml[at + 3..];
        let tag = &tag[..tag.iter().position(|b| *b == b'>').unwrap_or(tag.len())];
        for name in find_all(tag, ATTR) {
            if name == 0 || !tag[name - 1].is_ascii_whitespace() {
                continue;
            }
            let rest = trim_start(&tag[name + ATTR.len()..]);
            let Some(rest) = rest.strip_prefix(b"=") else {
                continue;
            };
            let rest = trim_start(rest);
            let Some((&quote, rest)) = rest.split_first() else {
                continue;
            };
            if quote != b'"' && quote != b'\'' {
                continue;
            }
            let value = &rest[..rest.iter().position(|b| *b == quote).unwrap_or(rest.len())];
            let digits = value.trim_ascii();
            if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
                let count = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(u64::MAX);
                largest = largest.max(count);
            }
        }
    }
    largest
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[skip..]
}

/// Where `needle` starts in `haystack`, each time.
/// How many `<si>` items (prefixed or not) `xml` holds: what the parser would make a
/// string of each, whatever the table declares.
fn string_items(xml: &[u8]) -> u64 {
    let mut items = 0u64;
    for at in find_all(xml, b"si") {
        let after = xml.get(at + 2).copied();
        if !matches!(after, Some(b'>' | b' ' | b'/' | b'\t' | b'\r' | b'\n')) {
            continue;
        }
        let opens = match at.checked_sub(1).map(|i| xml[i]) {
            Some(b'<') => true,
            // `<x:si>`, not `</x:si>`: back over the prefix to its `<`.
            Some(b':') => {
                let start = xml[..at - 1]
                    .iter()
                    .rposition(|b| !b.is_ascii_alphanumeric())
                    .unwrap_or(0);
                xml[start] == b'<'
            }
            _ => false,
        };
        items += u64::from(opens);
    }
    items
}

fn find_all<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A workbook with the given parts (name, content), deflated.
    fn workbook(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        for (name, content) in parts {
            zip.start_file(*name, options).unwrap();
            zip.write_all(content).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
    const ROOT_RELS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    const WORKBOOK: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    const WORKBOOK_RELS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

    fn with_sheet(sheet_data: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
        let sheet = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_data}</sheetData></worksheet>"#
        );
        let mut parts: Vec<(&str, &[u8])> = vec![
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
        ];
        parts.extend_from_slice(extra);
        workbook(&parts)
    }

    fn inline(cell: &str, text: &str) -> String {
        format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
    }

    #[test]
    fn cells_far_apart_are_read_without_a_grid_and_far_columns_are_named() {
        let sparse = with_sheet(
            &format!(
                "<row r=\"1\">{}</row><row r=\"1048576\">{}</row>",
                inline("A1", "scheme"),
                inline("XFD1048576", "x")
            ),
            &[],
        );
        assert!(sparse.len() < 4096, "{} bytes", sparse.len());
        let err = read(&sparse).unwrap_err();
        assert!(err.contains("Cell XFD1048576"), "{err}");
        assert!(err.contains("up to column BL"), "{err}");

        let far_row = with_sheet(
            &format!(
                "<row r=\"1\">{}</row><row r=\"1048576\">{}</row>",
                inline("A1", "scheme"),
                inline("A1048576", "Meadow")
            ),
            &[],
        );
        let (headings, rows) = read(&far_row).unwrap();
        assert_eq!(headings, ["scheme"]);
        assert_eq!(rows, [(1_048_576, vec!["Meadow".to_string()])]);
    }

    #[test]
    fn a_sheet_that_inflates_past_the_cap_is_too_large() {
        let filler = "<row><c><v>1</v></c></row>".repeat(110 * 1024 * 1024 / 26 + 1);
        let bomb = with_sheet(&filler, &[]);
        assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());
        let err = read(&bomb).unwrap_err();
        assert!(err.contains("too large to import"), "{err}");
    }

    #[test]
    fn a_part_that_inflates_past_the_size_its_entry_declares_is_refused() {
        let filler = "<row><c><v>1</v></c></row>".repeat(4 * 1024 * 1024 / 26);
        let mut lying = with_sheet(&filler, &[]);
        // Declare the sheet (the largest entry) as 1 KB in its local and central headers.
        let real = u32::try_from(filler.len()).unwrap();
        for (signature, at) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
            for i in find_all(&lying, signature).collect::<Vec<_>>() {
                let size = &mut lying[i + at..i + at + 4];
                if u32::from_le_bytes(size.try_into().unwrap()) > real {
                    size.copy_from_slice(&1024u32.to_le_bytes());
                }
            }
        }
        let err = read(&lying).unwrap_err();
        assert!(err.contains("could not be opened"), "{err}");
    }

    #[test]
    fn string_items_are_counted_opening_tags_only() {
        assert_eq!(
            string_items(b"<sst><si><t>a</t></si><si><t>b</t></si></sst>"),
            2
        );
        assert_eq!(string_items(b"<x:sst><x:si><x:t>a</x:t></x:si></x:sst>"), 1);
        assert_eq!(string_items(b"<sst><si/><sis>no</sis></sst>"), 1);
    }

    #[test]
    fn overlong_text_and_absurd_string_tables_are_refused_before_parsing() {
        let long = with_sheet(&inline("A1", &"a".repeat(2 * MAX_XML_RUN)), &[]);
        assert!(read(&long).unwrap_err().contains("too large to import"));

        let table = br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount = '99999999999999999999'><si><t>a</t></si></sst>"#;
        let lying = with_sheet(
            &inline("A1", "scheme"),
            &[("xl/sharedStrings.xml", table.as_slice())],
        );
        assert!(read(&lying).unwrap_err().contains("too large to import"));
    }

    #[test]
    fn too_many_rows_stop_the_reading() {
        let rows: String = (1..=MAX_ROWS + 2)
            .map(|r| format!("<row r=\"{r}\">{}</row>", inline(&format!("A{r}"), "x")))
            .collect();
        let err = read(&with_sheet(&rows, &[])).unwrap_err();
        assert!(err.contains("Import at most 20000 rows"), "{err}");
    }

    #[test]
    fn columns_are_named_as_in_excel() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(63), "BL");
        assert_eq!(column_name(16_383), "XFD");
    }
}
