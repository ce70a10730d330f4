//! What an uploaded file really is, judged by its first bytes: never by its
//! name or by the type the browser claims. Only the kinds below are accepted.

/// How many leading bytes [`FileType::sniff`] needs to decide.
pub const SNIFF_LEN: usize = 16;

/// The message shown when a file is refused for its type.
pub const REFUSED: &str = "That file type isn't accepted: upload a photo (JPEG, PNG, HEIC, WebP), a PDF, an MP4 video or an Office document.";

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
    /// Word, Excel or PowerPoint since 2007 (a zip container).
    OfficeDocument,
    /// Word, Excel or PowerPoint before 2007 (a compound file).
    LegacyOfficeDocument,
}

const HEIC_BRANDS: [&[u8; 4]; 5] = [b"heic", b"heix", b"hevc", b"mif1", b"msf1"];
const MP4_BRANDS: [&[u8; 4]; 8] = [
    b"isom", b"iso2", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
];

impl FileType {
    /// The type of a file whose first bytes are `head` (at least [`SNIFF_LEN`] of them, unless the file is shorter).
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
        if head.starts_with(b"PK\x03\x04") {
            return Some(FileType::OfficeDocument);
        }
        if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            return Some(FileType::LegacyOfficeDocument);
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

    /// The MIME type stored and sent with the file. Office files take a more
    /// precise type from their name's extension, once their content is known to be Office.
    pub fn content_type(self, name: &str) -> &'static str {
        let extension = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::WebP => "image/webp",
            FileType::Heic => "image/heic",
            FileType::Pdf => "application/pdf",
            FileType::Mp4 => "video/mp4",
            FileType::OfficeDocument => match extension.as_str() {
                "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "pptx" => {
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation"
                }
                _ => "application/zip",
            },
            FileType::LegacyOfficeDocument => match extension.as_str() {
                "doc" => "application/msword",
                "xls" => "application/vnd.ms-excel",
                "ppt" => "application/vnd.ms-powerpoint",
                _ => "application/octet-stream",
            },
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
    use super::*;

    fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x18];
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(brand);
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

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
        assert_eq!(FileType::sniff(&ftyp(b"mp42")), Some(FileType::Mp4));
        assert_eq!(FileType::sniff(&ftyp(b"isom")), Some(FileType::Mp4));
        assert_eq!(FileType::sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(
            FileType::sniff(b"PK\x03\x04\x14\0\x06\0"),
            Some(FileType::OfficeDocument)
        );
        assert_eq!(
            FileType::sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
            Some(FileType::LegacyOfficeDocument)
        );
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(FileType::sniff(b"<!doctype html><html>"), None);
        assert_eq!(FileType::sniff(b"#!/bin/sh\nrm -rf /"), None);
        assert_eq!(FileType::sniff(b"MZ\x90\0"), None);
        assert_eq!(FileType::sniff(&ftyp(b"qt  ")), None);
        assert_eq!(FileType::sniff(b""), None);
        assert_eq!(FileType::sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
    }

    #[test]
    fn the_type_comes_from_the_content_and_only_office_files_look_at_the_name() {
        assert_eq!(FileType::Png.content_type("photo.txt"), "image/png");
        assert_eq!(FileType::Jpeg.content_type("x.html"), "image/jpeg");
        assert_eq!(
            FileType::OfficeDocument.content_type("Snagging list.XLSX"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(
            FileType::OfficeDocument.content_type("archive.html"),
            "application/zip"
        );
        assert_eq!(
            FileType::LegacyOfficeDocument.content_type("report.doc"),
            "application/msword"
        );
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
