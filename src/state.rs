//! Shared application state, cloned into every handler.

use std::sync::Arc;

use sqlx::PgPool;

use crate::{config::Config, media::MediaStore};

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub media: MediaStore,
    pub config: Arc<Config>,
}

impl AppState {
    pub fn new(config: Config, db: PgPool, media: MediaStore) -> Self {
        AppState {
            db,
            media,
            config: Arc::new(config),
        }
    }
}
