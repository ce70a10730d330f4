//! Thumbnails of photos: made once after upload and stored beside the original.
//!
//! JPEG, PNG and WebP are decoded here; HEIC, PDF, video and Office files show
//! a label instead. Decoding is CPU work: call [`make`] from `spawn_blocking`.

use std::io::Cursor;

use image::{
    DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, codecs::jpeg::JpegEncoder,
};

use crate::domain::file_type::FileType;

/// The longest side of a thumbnail, in pixels.
pub const MAX_SIDE: u32 = 320;
/// Thumbnails are JPEG.
pub const CONTENT_TYPE: &str = "image/jpeg";
/// Photos larger than this on either side are not decoded (a guard against decompression bombs).
const MAX_DIMENSION: u32 = 16_384;
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
const QUALITY: u8 = 80;

/// A JPEG thumbnail of `original`, at most [`MAX_SIDE`] pixels on its longest side,
/// turned upright by its EXIF orientation. `None` for kinds that get no thumbnail.
pub fn make(original: &[u8], kind: FileType) -> Result<Option<Vec<u8>>, image::ImageError> {
    let format = match kind {
        FileType::Jpeg => ImageFormat::Jpeg,
        FileType::Png => ImageFormat::Png,
        FileType::WebP => ImageFormat::WebP,
        _ => return Ok(None),
    };
    let mut reader = ImageReader::with_format(Cursor::new(original), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation()?;
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);

    let small = image.thumbnail(MAX_SIDE, MAX_SIDE);
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

    #[test]
    fn documents_get_no_thumbnail_and_broken_photos_are_an_error() {
        assert!(make(b"%PDF-1.7", FileType::Pdf).unwrap().is_none());
        assert!(make(b"\x89PNG\r\n\x1a\nnot really", FileType::Png).is_err());
    }
}
