//! Serves signed download links of the local media store. (With S3, links
//! are pre-signed S3 URLs and never reach this route.)

use axum::{
    Router,
    body::Body,
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{
    AppError, AppState, Result,
    media::{LocalLink, MediaKey},
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/media/download", get(download))
}

#[derive(Deserialize)]
struct SignedLink {
    key: String,
    expires: u64,
    filename: String,
    content_type: String,
    inline: bool,
    signature: String,
}

async fn download(State(state): State<AppState>, Query(q): Query<SignedLink>) -> Result<Response> {
    let key = MediaKey::parse(&q.key).ok_or(AppError::NotFound)?;
    let link = LocalLink {
        key,
        expires: q.expires,
        filename: q.filename,
        content_type: q.content_type,
        inline: q.inline,
    };
    let (object, disposition) = state.media.open_local_link(&link, &q.signature).await?;
    let mut response = Body::from_stream(object.body).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = link.content_type.parse() {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = disposition.parse() {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(size) = object.size {
        headers.insert(header::CONTENT_LENGTH, size.into());
    }
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}
