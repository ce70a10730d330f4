//! A photo that claims a huge picture: a 16384×16384 16-bit PNG (2 GB of pixels in a
//! 13 MB file) is stored, refused from its header for a thumbnail without decoding, and
//! the upload succeeds without one.

use plotcare::domain::Role;
use reqwest::StatusCode;

use crate::{
    comments::create_ticket,
    common::{TestApp, corpus::huge_png},
    files,
};

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
