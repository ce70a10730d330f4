//! The bad-input corpus: files built to hurt (sparse and bomb workbooks, a PNG that
//! claims a huge picture), made in memory by the tests and the budget benchmark.

/// An XLSX workbook whose first sheet's `<sheetData>` is `rows` (written in pieces, so a
/// sheet of hundreds of MB is never held whole), deflated.
fn workbook_with_sheet_data(rows: impl Iterator<Item = String>) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let parts: [(&str, &str); 4] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Plots" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, content) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    zip.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>"#).unwrap();
    for row in rows {
        zip.write_all(row.as_bytes()).unwrap();
    }
    zip.write_all(b"</sheetData></worksheet>").unwrap();
    zip.finish().unwrap().into_inner()
}

/// Cells at A1 and XFD1048576 only: a grid over their bounding box would be 17 billion cells.
pub fn sparse_workbook() -> Vec<u8> {
    workbook_with_sheet_data(
        [
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>scheme</t></is></c></row>"#.to_string(),
            r#"<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>"#
                .to_string(),
        ]
        .into_iter(),
    )
}

/// A sheet of `mb` MB of identical rows: deflates to a few hundred KB.
pub fn bomb_workbook(mb: usize) -> Vec<u8> {
    let row = r#"<row><c t="inlineStr"><is><t>Meadowbank Park</t></is></c><c><v>1</v></c></row>"#;
    let piece = row.repeat(1024 * 1024 / row.len());
    workbook_with_sheet_data(std::iter::repeat_n(piece, mb))
}

/// Deflate bits, least significant first (RFC 1951).
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn push(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, sent from its most significant bit.
    fn code(&mut self, code: u64, len: u32) {
        let reversed = (0..len).fold(0, |r, i| r | (((code >> i) & 1) << (len - 1 - i)));
        self.push(reversed, len);
    }
}

/// A zlib stream of `n` zero bytes: one fixed-Huffman block of a literal 0 and copies of
/// 258 bytes at distance 1 (13 bits each).
fn zlib_zeros(n: u64) -> Vec<u8> {
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    bits.push(1, 1); // the last block
    bits.push(1, 2); // fixed Huffman codes
    let literal_zero = |bits: &mut Bits| bits.code(0x30, 8);
    literal_zero(&mut bits);
    let rest = n - 1;
    for _ in 0..rest / 258 {
        bits.code(0b1100_0101, 8); // length 258 (symbol 285)
        bits.code(0, 5); // distance 1
    }
    for _ in 0..rest % 258 {
        literal_zero(&mut bits);
    }
    bits.code(0, 7); // end of block (256)
    if bits.n > 0 {
        bits.push(0, 8 - bits.n);
    }
    // Adler-32 of zeros: a stays 1, b grows by 1 a byte.
    let adler = (((n % 65_521) as u32) << 16) | 1;
    let mut out = bits.out;
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid, all-black, fully transparent `side`×`side` PNG of 16-bit RGBA pixels
/// (8 bytes a pixel: 16384 a side is 2 GB decoded, in a 13 MB file).
pub fn huge_png(side: u32) -> Vec<u8> {
    zero_png(side, side, 16, 6, 8)
}

/// A valid all-zero PNG: `depth` bits, PNG colour `color` (2 RGB, 6 RGBA), `bytes` a pixel.
pub fn zero_png(width: u32, height: u32, depth: u8, color: u8, bytes: u64) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, color, 0, 0, 0]);
    let row = 1 + u64::from(width) * bytes;
    let idat = zlib_zeros(row * u64::from(height));
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &idat), (b"IEND", &[])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    out
}

/// A workbook whose shared-strings table is `mb` MB of one-letter strings (the most
/// strings per byte) and whose sheet is empty: the largest table the checks let through.
pub fn shared_strings_workbook(mb: usize) -> Vec<u8> {
    use std::io::Write;
    let sheet = workbook_with_sheet_data(std::iter::empty());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(sheet)).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        zip.raw_copy_file(archive.by_index_raw(i).unwrap()).unwrap();
    }
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("xl/sharedStrings.xml", options).unwrap();
    zip.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#).unwrap();
    let piece = "<si><t>a</t></si>".repeat(1024 * 1024 / 17);
    for _ in 0..mb {
        zip.write_all(piece.as_bytes()).unwrap();
    }
    zip.write_all(b"</sst>").unwrap();
    zip.finish().unwrap().into_inner()
}
