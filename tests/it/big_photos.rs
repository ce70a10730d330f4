//! A photo that claims a huge picture: a 16384×16384 16-bit PNG (2 GB of pixels in a
//! 13 MB file) is stored, refused from its header for a thumbnail without decoding, and
//! the upload succeeds without one.

use plotcare::domain::Role;
use reqwest::StatusCode;

use crate::{comments::create_ticket, common::TestApp, files};

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

/// A valid, all-black, fully transparent `side`×`side` PNG of 16-bit RGBA pixels.
pub fn huge_png(side: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[16, 6, 0, 0, 0]);
    let row = 1 + u64::from(side) * 8;
    let idat = zlib_zeros(row * u64::from(side));
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

#[test]
fn the_hand_made_png_decodes_as_a_png() {
    let small = huge_png(40);
    let image = image::load_from_memory(&small).unwrap();
    assert_eq!((image.width(), image.height()), (40, 40));
    assert_eq!(image.color(), image::ColorType::Rgba16);
}

#[tokio::test]
async fn a_16384_pixel_16_bit_png_uploads_without_a_thumbnail_and_without_being_decoded() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let png = huge_png(16_384);
    assert!(png.len() < 16 * 1024 * 1024, "{} bytes", png.len());

    // Act
    let response = files::upload(&staff, ticket, "roof.png", "image/png", &png, false).await;

    // Assert: stored, listed, no thumbnail; the server answers on.
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let file = files::newest_file(&app, ticket).await;
    let (kind, thumbnail): (String, Option<String>) =
        sqlx::query_as("SELECT content_type, thumbnail_key FROM media_files WHERE id = $1")
            .bind(file)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(kind, "image/png");
    assert_eq!(thumbnail, None, "no thumbnail for a photo past the limits");
    let (status, page) = staff.page(&format!("/tickets/{ticket}/files")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("roof.png"), "{page}");
    assert_eq!(
        staff
            .get(&format!("/tickets/{ticket}/files/{file}/thumbnail"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.client().get("/healthz").await.status(), StatusCode::OK);
}
