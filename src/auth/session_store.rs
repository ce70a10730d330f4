//! The session store: tower-sessions' PostgreSQL store, made safe for hang-ups and outages.
//!
//! - Creating a session record runs in a task of its own: the store's `create` begins a
//!   transaction, and a request cancelled during that BEGIN must not leave the pooled
//!   connection inside it (see [`crate::db::begin`]).
//! - When saving fails after the request's change committed, the failure is logged and the
//!   request answers as if it had saved ([`crate::outage`]): the change is stored, and an
//!   error page would make people send it again. Otherwise the failure is reported, and
//!   [`crate::outage::answer_honestly`] answers the styled 503 page.

use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, SessionStore},
};
use tower_sessions_sqlx_store::PostgresStore;

use crate::outage;

#[derive(Debug, Clone)]
pub struct Store {
    inner: PostgresStore,
}

impl Store {
    pub fn new(pool: sqlx::PgPool) -> Self {
        Store {
            inner: PostgresStore::new(pool),
        }
    }

    /// Creates the session store's schema and table.
    pub async fn migrate(&self) -> sqlx::Result<()> {
        self.inner.migrate().await
    }

    fn after_failed_write(&self, e: session_store::Error) -> session_store::Result<()> {
        if outage::committed() {
            tracing::warn!(error = %e, "session not saved after a committed change; answering as saved");
            Ok(())
        } else {
            outage::session_not_saved();
            Err(e)
        }
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let inner = self.inner.clone();
        let mut created = record.clone();
        let task = tokio::spawn(async move { inner.create(&mut created).await.map(|()| created) });
        match task.await {
            Ok(Ok(created)) => {
                *record = created;
                Ok(())
            }
            Ok(Err(e)) => self.after_failed_write(e),
            Err(e) => self.after_failed_write(session_store::Error::Backend(e.to_string())),
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self.inner.save(record).await {
            Ok(()) => Ok(()),
            Err(e) => self.after_failed_write(e),
        }
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        self.inner.load(session_id).await
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        match self.inner.delete(session_id).await {
            Ok(()) => Ok(()),
            Err(e) => self.after_failed_write(e),
        }
    }
}
