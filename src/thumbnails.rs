//! Thumbnails of photos: made once after upload and stored beside the original.
//!
//! JPEG, PNG and WebP are decoded here; HEIC, PDF, video and Office files show
//! a label instead. A small file can claim a huge picture (a 2 MB PNG of
//! 16384×16384 16-bit pixels decodes to 2 GB), so a photo's header is read first
//! and a photo past [`MAX_DIMENSION`] on a side, or whose pixels would take more
//! than [`MAX_DECODE_BYTES`], is not decoded at all (it just gets no thumbnail).
//! Decoding is CPU work on blocking threads: at most [`DECODES`] photos per
//! process at once, together holding at most [`MAX_DECODE_BYTES`] of pixels.

use std::io::Cursor;

use image::{
    DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits,
    codecs::jpeg::JpegEncoder,
    error::{LimitError, LimitErrorKind},
};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::domain::file_type::FileType;

/// The longest side of a thumbnail, in pixels.
pub const MAX_SIDE: u32 = 320;
/// Thumbnails are JPEG.
pub const CONTENT_TYPE: &str = "image/jpeg";
/// Photos larger than this on either side are not decoded (a phone's 200 MP photo is 16,320 × 12,240;
/// a 48 MP one 8,064 × 6,048).
pub const MAX_DIMENSION: u32 = 10_000;
/// The most memory one decoded photo may take, and all the photos being decoded together:
/// a 48 MP phone photo (8,064 × 6,048 RGB, 146 MB) fits, and the 512 MB instance keeps room
/// for everything else it does at the same time.
pub const MAX_DECODE_BYTES: u64 = 160 * 1024 * 1024;
/// Photos decoded at once per process.
pub const DECODES: usize = 2;
const QUALITY: u8 = 80;
const MB: u64 = 1024 * 1024;

/// One of the [`DECODES`] places to decode a photo: take it before reading the photo.
static DECODING: Semaphore = Semaphore::const_new(DECODES);
/// The decode memory, in MB, shared by the photos being decoded.
static DECODE_MEMORY: Semaphore = Semaphore::const_new((MAX_DECODE_BYTES / MB) as usize);

/// Waits for a place to decode a photo (at most [`DECODES`] per process).
pub async fn decode_slot() -> SemaphorePermit<'static> {
    DECODING
        .acquire()
        .await
        .expect("the decode semaphore is never closed")
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

fn format_of(kind: FileType) -> Option<ImageFormat> {
    match kind {
        FileType::Jpeg => Some(ImageFormat::Jpeg),
        FileType::Png => Some(ImageFormat::Png),
        FileType::WebP => Some(ImageFormat::WebP),
        _ => None,
    }
}

fn too_large() -> ImageError {
    ImageError::Limits(LimitError::from_kind(LimitErrorKind::InsufficientMemory))
}

/// The bytes the decoded pixels of `original` would take, read from its header alone;
/// an error (a limit) for a photo past [`MAX_DIMENSION`] or [`MAX_DECODE_BYTES`].
pub fn decoded_size(original: &[u8], kind: FileType) -> Result<Option<u64>, ImageError> {
    let Some(format) = format_of(kind) else {
        return Ok(None);
    };
    let mut reader = ImageReader::with_format(Cursor::new(original), format);
    reader.limits(limits());
    let size = reader.into_decoder()?.total_bytes();
    if size > MAX_DECODE_BYTES {
        return Err(too_large());
    }
    Ok(Some(size))
}

/// [`make`] on a blocking thread, in the decode `slot`, once the decode memory the photo
/// needs is free; the photo is refused from its header, without decoding, past the limits.
pub async fn make_bounded(
    slot: SemaphorePermit<'static>,
    original: Vec<u8>,
    kind: FileType,
) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(size) = decoded_size(&original, kind)? else {
        return Ok(None);
    };
    let memory = DECODE_MEMORY
        .acquire_many(size.div_ceil(MB).max(1) as u32)
        .await?;
    let thumbnail = tokio::task::spawn_blocking(move || {
        // Held by the work itself: released when decoding ends, even if the request has gone.
        let _held = (slot, memory);
        make(&original, kind)
    })
    .await??;
    Ok(thumbnail)
}

/// A JPEG thumbnail of `original`, at most [`MAX_SIDE`] pixels on its longest side,
/// turned upright by its EXIF orientation. `None` for kinds that get no thumbnail.
/// CPU work: call from a blocking thread (see [`make_bounded`]).
pub fn make(original: &[u8], kind: FileType) -> Result<Option<Vec<u8>>, ImageError> {
    let Some(format) = format_of(kind) else {
        return Ok(None);
    };
    let orientation = {
        let mut reader = ImageReader::with_format(Cursor::new(original), format);
        reader.limits(limits());
        reader.into_decoder()?.orientation()?
    };
    // `decode` checks the decoded size against `max_alloc` before allocating
    // (a decoder turned into an image with `from_decoder` does not).
    let mut reader = ImageReader::with_format(Cursor::new(original), format);
    reader.limits(limits());
    let image = reader.decode()?;
    let mut small = image.thumbnail(MAX_SIDE, MAX_SIDE);
    drop(image);
    // Turned after shrinking: turning the full photo would copy it.
    small.apply_orientation(orientation);

    let rgb = flatten_on_white(&small);
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, QUALITY).encode_image(&rgb)?;
    Ok(Some(out))
}

/// JPEG has no transparency: transparent pixels become white rather than black.
fn flatten_on_white(image: &DynamicImage) -> image::RgbImage {
    let rgba = image.to_rgba8();
    let (w, h) = rgba.dimensions();
    image::RgbImage::from_fn(w, h, |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u16::from(p[3]);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        image::Rgb([blend(p[0]), blend(p[1]), blend(p[2])])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgba8(image)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_large_photo_gets_a_small_jpeg_thumbnail_keeping_its_shape() {
        let thumb = make(&png(1000, 500), FileType::Png)
            .unwrap()
            .expect("a thumbnail");
        assert_eq!(FileType::sniff(&thumb), Some(FileType::Jpeg));
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (320, 160));
    }

    /// A PNG whose header says `width`×`height` 16-bit RGBA, with a few bytes of data
    /// after it: refused from the header, or it would be a decoding error.
    fn png_header_only(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[16, 6, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &[0x78, 0x01, 0, 0])] {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut crc_input = kind.to_vec();
            crc_input.extend_from_slice(data);
            out.extend_from_slice(&crc_input);
            out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        }
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

    #[test]
    fn a_huge_photo_is_refused_from_its_header_without_decoding() {
        // 16384 × 16384 × 8 bytes: 2 GB of pixels.
        let huge = png_header_only(16_384, 16_384);
        for refused in [
            make(&huge, FileType::Png).unwrap_err(),
            decoded_size(&huge, FileType::Png).unwrap_err(),
        ] {
            assert!(matches!(refused, ImageError::Limits(_)), "{refused:?}");
        }
        // Within each side, but past the memory: 9000 × 9000 × 8 bytes is 648 MB.
        let wide = png_header_only(9_000, 9_000);
        assert!(matches!(
            make(&wide, FileType::Png).unwrap_err(),
            ImageError::Limits(_)
        ));
        assert!(matches!(
            decoded_size(&wide, FileType::Png).unwrap_err(),
            ImageError::Limits(_)
        ));
        // A photo within the limits is sized from its header.
        assert_eq!(
            decoded_size(&png_header_only(100, 50), FileType::Png).unwrap(),
            Some(100 * 50 * 8)
        );
    }

    #[test]
    fn documents_get_no_thumbnail_and_broken_photos_are_an_error() {
        assert!(make(b"%PDF-1.7", FileType::Pdf).unwrap().is_none());
        assert!(make(b"\x89PNG\r\n\x1a\nnot really", FileType::Png).is_err());
    }
}
