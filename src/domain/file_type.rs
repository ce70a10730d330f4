//! What an uploaded file really is, judged by its content: never by its name
//! or by the type the browser claims. Only the kinds below are accepted, and a
//! download is named with the extension of the kind its content showed.
//!
//! Photos, PDFs and videos are known by their first bytes. A zip container is
//! an Office document only when its `[Content_Types].xml` names the main part
//! of a Word, Excel or PowerPoint file, that part is in the zip, and nothing in
//! it is code (macros, Java classes, executables): a `.jar`, an `.apk` or a
//! plain zip is refused. Compound files (OLE/CFB: Office before 2007, but also
//! `.msi` installers and other containers) are refused: their type cannot be
//! told from their first bytes, and people are asked to save them as
//! .docx, .xlsx, .pptx or PDF instead.

use std::io::{Read, Seek};

/// How many leading bytes [`identify`] needs to decide.
pub const SNIFF_LEN: usize = 16;

/// The message shown when a file is refused for its type.
pub const REFUSED: &str = "That file type isn't accepted: upload a photo (JPEG, PNG, HEIC, WebP), a PDF, an MP4 video or an Office document (.docx, .xlsx, .pptx).";

/// The message shown for a compound file (Office before 2007, installers).
pub const REFUSED_COMPOUND: &str = "Older Office files (.doc, .xls, .ppt) and other compound files aren't accepted: save it as .docx, .xlsx, .pptx or PDF and upload that.";

/// The message shown where only photos are taken.
pub const REFUSED_NOT_PHOTO: &str = "Photos must be JPEG, PNG, WebP or HEIC images.";

/// An accepted kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Jpeg,
    Png,
    WebP,
    /// HEIC or HEIF, as iPhones take photos.
    Heic,
    Pdf,
    Mp4,
    /// Word since 2007 (.docx).
    Word,
    /// Excel since 2007 (.xlsx).
    Excel,
    /// PowerPoint since 2007 (.pptx).
    PowerPoint,
}

/// What the first bytes of a file say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// A kind known from its first bytes alone.
    Known(FileType),
    /// A zip container: an Office document only if [`office_document`] says so.
    Zip,
    /// An OLE compound file: refused.
    CompoundFile,
    /// Anything else: refused.
    Unknown,
}

const HEIC_BRANDS: [&[u8; 4]; 9] = [
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"heif", b"mif1", b"msf1",
];
const MP4_BRANDS: [&[u8; 4]; 8] = [
    b"isom", b"iso2", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
];

/// The kind of a file whose first bytes are `head` (at least [`SNIFF_LEN`] of them, unless the file is shorter).
pub fn identify(head: &[u8]) -> Head {
    if head.starts_with(b"PK\x03\x04") {
        return Head::Zip;
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Head::CompoundFile;
    }
    FileType::sniff(head).map_or(Head::Unknown, Head::Known)
}

/// The Office kind of a zip container, judged by the parts inside it; `None` for any other zip.
pub fn office_document<R: Read + Seek>(reader: R) -> Option<FileType> {
    /// `[Content_Types].xml` is a short list; anything longer is not Office's.
    const MAX_CONTENT_TYPES: u64 = 1024 * 1024;
    let mut zip = zip::ZipArchive::new(reader).ok()?;
    for name in zip.file_names() {
        let Ok(name) = name else { return None };
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("meta-inf/")
            || lower.ends_with("vbaproject.bin")
            || [
                ".class", ".exe", ".dll", ".jar", ".js", ".vbs", ".hta", ".bat", ".cmd", ".ps1",
                ".msi", ".scr", ".com", ".lnk", ".dex", ".so",
            ]
            .iter()
            .any(|e| lower.ends_with(e))
        {
            return None;
        }
    }
    let mut types = String::new();
    zip.by_name("[Content_Types].xml")
        .ok()?
        .take(MAX_CONTENT_TYPES)
        .read_to_string(&mut types)
        .ok()?;
    let (kind, part) = [
        (
            FileType::Word,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        ),
        (
            FileType::Excel,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        ),
        (
            FileType::PowerPoint,
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        ),
    ]
    .into_iter()
    .find_map(|(kind, main)| main_part(&types, main).map(|part| (kind, part)))?;
    zip.by_name(part.trim_start_matches('/')).ok()?;
    Some(kind)
}

/// The `PartName` of the `<Override>` whose `ContentType` is `content_type`.
fn main_part<'a>(types: &'a str, content_type: &str) -> Option<&'a str> {
    types.split("<Override").skip(1).find_map(|element| {
        let element = element.split('>').next()?;
        (attribute(element, "ContentType")? == content_type)
            .then(|| attribute(element, "PartName"))
            .flatten()
    })
}

fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let start = element.find(&format!("{name}=\""))? + name.len() + 2;
    let end = element[start..].find('"')? + start;
    Some(&element[start..end])
}

impl FileType {
    /// The type of a photo, PDF or video by its first bytes; `None` for anything else
    /// (zip and compound containers too: see [`identify`]).
    pub fn sniff(head: &[u8]) -> Option<FileType> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(FileType::Jpeg);
        }
        if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            return Some(FileType::Png);
        }
        if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            return Some(FileType::WebP);
        }
        if head.starts_with(b"%PDF-") {
            return Some(FileType::Pdf);
        }
        if head.len() >= 12 && &head[4..8] == b"ftyp" {
            let brand = &head[8..12];
            if HEIC_BRANDS.iter().any(|b| &b[..] == brand) {
                return Some(FileType::Heic);
            }
            if MP4_BRANDS.iter().any(|b| &b[..] == brand) {
                return Some(FileType::Mp4);
            }
        }
        None
    }

    /// The MIME type stored and sent with the file.
    pub fn content_type(self) -> &'static str {
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::WebP => "image/webp",
            FileType::Heic => "image/heic",
            FileType::Pdf => "application/pdf",
            FileType::Mp4 => "video/mp4",
            FileType::Word => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileType::Excel => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileType::PowerPoint => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
        }
    }

    /// Photos show in the page; everything else downloads as an attachment.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            FileType::Jpeg | FileType::Png | FileType::WebP | FileType::Heic
        )
    }

    /// Whether we make a thumbnail (HEIC is not decoded here: it shows a label instead).
    pub fn has_thumbnail(self) -> bool {
        matches!(self, FileType::Jpeg | FileType::Png | FileType::WebP)
    }
}

/// Whether a stored content type (one that [`FileType::content_type`] gave) is an image.
pub fn is_image_content_type(content_type: &str) -> bool {
    content_type.starts_with("image/")
}

/// The extensions a file of this stored content type may carry; the first is the one given.
/// Types stored before content was checked inside containers get their container's extension.
fn extensions(content_type: &str) -> &'static [&'static str] {
    match content_type {
        "image/jpeg" => &["jpg", "jpeg"],
        "image/png" => &["png"],
        "image/webp" => &["webp"],
        "image/heic" => &["heic", "heif"],
        "application/pdf" => &["pdf"],
        "video/mp4" => &["mp4", "m4v"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => &["docx"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => &["xlsx"],
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => &["pptx"],
        "application/msword" => &["doc"],
        "application/vnd.ms-excel" => &["xls"],
        "application/vnd.ms-powerpoint" => &["ppt"],
        "application/zip" => &["zip"],
        _ => &["bin"],
    }
}

/// The name a file downloads under: the name it was uploaded with, ending in the extension of
/// its content's type ("photos.jar" holding a PNG downloads as "photos.png"; "Snag list.XLSX" stays).
pub fn download_name(original: &str, content_type: &str) -> String {
    let allowed = extensions(content_type);
    let (stem, extension) = match original.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext)),
        _ => (original, None),
    };
    if extension.is_some_and(|e| allowed.iter().any(|a| a.eq_ignore_ascii_case(e))) {
        return original.to_owned();
    }
    let stem = if stem.trim().is_empty() { "file" } else { stem };
    format!("{stem}.{}", allowed[0])
}

/// A short label for a file that has no thumbnail, e.g. "PDF".
pub fn label_for(content_type: &str) -> &'static str {
    match content_type {
        "image/heic" => "HEIC photo",
        t if t.starts_with("image/") => "Photo",
        "application/pdf" => "PDF",
        "video/mp4" => "Video",
        _ => "Document",
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x18];
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(brand);
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

    /// A zip of the given (name, content) entries.
    pub fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, content) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(content.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    const WORD_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

    #[test]
    fn accepted_files_are_known_by_their_first_bytes() {
        assert_eq!(
            FileType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(FileType::Jpeg)
        );
        assert_eq!(
            FileType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(FileType::Png)
        );
        assert_eq!(
            FileType::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(FileType::WebP)
        );
        assert_eq!(FileType::sniff(&ftyp(b"heic")), Some(FileType::Heic));
        assert_eq!(FileType::sniff(&ftyp(b"mif1")), Some(FileType::Heic));
        assert_eq!(FileType::sniff(&ftyp(b"heif")), Some(FileType::Heic));
        assert_eq!(FileType::sniff(&ftyp(b"mp42")), Some(FileType::Mp4));
        assert_eq!(FileType::sniff(&ftyp(b"isom")), Some(FileType::Mp4));
        assert_eq!(FileType::sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(identify(b"%PDF-1.7\n"), Head::Known(FileType::Pdf));
        assert_eq!(identify(b"PK\x03\x04\x14\0\x06\0"), Head::Zip);
        assert_eq!(
            identify(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
            Head::CompoundFile
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for head in [
            &b"<!doctype html><html>"[..],
            b"#!/bin/sh\nrm -rf /",
            b"MZ\x90\0",
            &ftyp(b"qt  "),
            b"",
            b"RIFF\x10\0\0\0WAVEfmt ",
        ] {
            assert_eq!(identify(head), Head::Unknown, "{head:?}");
        }
    }

    #[test]
    fn a_zip_is_an_office_document_only_when_its_parts_say_so() {
        let docx = zip_of(&[
            ("[Content_Types].xml", WORD_TYPES),
            ("word/document.xml", "<w:document/>"),
        ]);
        assert_eq!(office_document(Cursor::new(docx)), Some(FileType::Word));
        let xlsx = zip_of(&[
            (
                "[Content_Types].xml",
                &WORD_TYPES
                    .replace("/word/document.xml", "/xl/workbook.xml")
                    .replace("wordprocessingml.document.main", "spreadsheetml.sheet.main"),
            ),
            ("xl/workbook.xml", "<workbook/>"),
        ]);
        assert_eq!(office_document(Cursor::new(xlsx)), Some(FileType::Excel));

        let jar = zip_of(&[
            ("META-INF/MANIFEST.MF", "Main-Class: Setup\n"),
            ("Setup.class", "\u{ca}"),
        ]);
        let plain = zip_of(&[("photos/1.jpg", "x")]);
        let main_part_missing = zip_of(&[("[Content_Types].xml", WORD_TYPES)]);
        let with_macros = zip_of(&[
            ("[Content_Types].xml", WORD_TYPES),
            ("word/document.xml", "<w:document/>"),
            ("word/vbaProject.bin", "macro"),
        ]);
        let polyglot = zip_of(&[
            ("[Content_Types].xml", WORD_TYPES),
            ("word/document.xml", "<w:document/>"),
            ("run.hta", "<script>"),
        ]);
        for refused in [
            jar,
            plain,
            main_part_missing,
            with_macros,
            polyglot,
            b"PK\x03\x04junk".to_vec(),
        ] {
            assert_eq!(office_document(Cursor::new(refused)), None);
        }
    }

    #[test]
    fn a_download_is_named_with_the_extension_of_its_content() {
        assert_eq!(download_name("photos.jar", "image/png"), "photos.png");
        assert_eq!(download_name("run.hta", "application/pdf"), "run.pdf");
        assert_eq!(download_name("IMG_0001.JPG", "image/jpeg"), "IMG_0001.JPG");
        assert_eq!(
            download_name("front door.jpeg", "image/jpeg"),
            "front door.jpeg"
        );
        assert_eq!(
            download_name(
                "Snag list.XLSX",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            ),
            "Snag list.XLSX"
        );
        assert_eq!(download_name("report", "application/pdf"), "report.pdf");
        assert_eq!(download_name(".bashrc", "application/pdf"), ".bashrc.pdf");
        assert_eq!(download_name("setup.msi", "application/zip"), "setup.zip");
        assert_eq!(download_name("x.exe", "application/octet-stream"), "x.bin");
    }

    #[test]
    fn only_photos_are_images() {
        assert!(FileType::Heic.is_image());
        assert!(!FileType::Heic.has_thumbnail());
        assert!(FileType::WebP.has_thumbnail());
        assert!(!FileType::Pdf.is_image());
        assert!(is_image_content_type("image/png"));
        assert!(!is_image_content_type("application/pdf"));
        assert_eq!(label_for("video/mp4"), "Video");
    }
}
