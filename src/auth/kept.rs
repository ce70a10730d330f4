//! Where sign-in returns to, and a form kept when the session had ended.
//!
//! - [`safe_next`]: the only return paths accepted: same-site relative paths (one `/`,
//!   never `//` or `/\`, no scheme, no spaces or control characters). Anything else
//!   goes to the home page, so `next` can never send anyone to another site.
//! - [`keep`]: a middleware (after the CSRF check) on browser form posts. When the post
//!   is answered "sign in" because the person's session had ended (idle, absolute or
//!   ended elsewhere), its fields (urlencoded, at most [`MAX_BYTES`], never passwords,
//!   tokens or the CSRF field) are kept in the anonymous session with the page they came
//!   from. Nothing is sent: after signing in (as the same membership, within
//!   [`KEEP_MINUTES`]) the person lands on that page with the text back in its form, to
//!   send again themselves.

use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::{Method, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;
use uuid::Uuid;

use super::{TenantTx, session};
use crate::error::AppError;

/// A kept form waiting for its person to sign in.
pub const KEPT: &str = "kept_form";
/// A kept form for the page the person returns to (taken by that page).
pub const RESTORE: &str = "restore_form";
/// The largest form body kept.
pub const MAX_BYTES: usize = 16 * 1024;
/// How long a kept form waits for its person to sign in again.
pub const KEEP_MINUTES: i64 = 60;
/// What the return page says.
pub const KEPT_MESSAGE: &str = "Your session had ended, so we kept what you typed. \
     It has not been sent yet: check it and send it again.";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeptForm {
    pub tenant_id: Uuid,
    /// The session that had ended: only its own membership gets the text back.
    pub user_session_id: Uuid,
    /// Where the form was posted (which form on the page to fill).
    pub action: String,
    /// The page it came from.
    pub back_to: String,
    pub fields: Vec<(String, String)>,
    #[serde(with = "time::serde::timestamp")]
    pub at: OffsetDateTime,
}

impl KeptForm {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// On a "sign in" redirect: where to come back to and, when a session had just ended,
/// whose (tenant, `user_sessions` row), for [`keep`].
#[derive(Debug, Clone)]
pub struct SignInNeeded {
    pub next: Option<String>,
    pub ended: Option<(Uuid, Uuid)>,
}

/// `next` if it is a same-site relative path, else nothing.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.len() <= 2000
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && !next.starts_with("/sign-in")
        && !next.starts_with("/sign-out");
    ok.then_some(next)
}

/// The sign-in page, coming back to `next` (when it is safe and not the home page).
pub fn sign_in_url(next: Option<&str>) -> String {
    match next.and_then(safe_next).filter(|n| *n != "/") {
        Some(n) => format!(
            "/sign-in?next={}",
            url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
        ),
        None => "/sign-in".to_owned(),
    }
}

/// Where a request sent to sign in should come back to: the page itself for a GET, the
/// page the form was on (its same-site Referer) for a post. Never for the API.
pub fn return_path(parts: &Parts) -> Option<String> {
    let path = parts.uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return None;
    }
    let wanted = if matches!(parts.method, Method::GET | Method::HEAD) {
        parts.uri.path_and_query()?.as_str().to_owned()
    } else {
        let referer = parts.headers.get(header::REFERER)?.to_str().ok()?;
        let referer = url::Url::parse(referer).ok()?;
        let host = parts.headers.get(header::HOST)?.to_str().ok()?;
        let referer_host = match referer.port() {
            Some(p) => format!("{}:{p}", referer.host_str()?),
            None => referer.host_str()?.to_owned(),
        };
        if !referer_host.eq_ignore_ascii_case(host) {
            return None;
        }
        match referer.query() {
            Some(q) => format!("{}?{q}", referer.path()),
            None => referer.path().to_owned(),
        }
    };
    safe_next(&wanted).map(str::to_owned)
}

/// Fields never kept: secrets, and the keys a form is sent with.
fn keepable(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !([super::csrf::FIELD, "form_key", "code", "confirm"].contains(&name.as_str())
        || ["password", "secret", "token"]
            .iter()
            .any(|w| name.contains(w)))
}

fn is_form(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// See the module docs. Runs after the CSRF check, so only a form the person's own
/// page sent is kept.
pub async fn keep(request: Request, next: Next) -> Response {
    let small = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n <= MAX_BYTES);
    let path = request.uri().path().to_owned();
    if request.method() != Method::POST
        || !small
        || !is_form(&request)
        || path == "/api"
        || path.starts_with("/api/")
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BYTES).await else {
        return AppError::BadRequest("That form could not be read.".into()).into_response();
    };
    let session = parts.extensions.get::<Session>().cloned();
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    let Some(needed) = response.extensions().get::<SignInNeeded>().cloned() else {
        return response;
    };
    let (Some(session), Some((tenant_id, user_session_id)), Some(back_to)) =
        (session, needed.ended, needed.next)
    else {
        return response;
    };
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&bytes)
        .filter(|(k, _)| keepable(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if fields.iter().all(|(_, v)| v.trim().is_empty()) {
        return response;
    }
    let kept = KeptForm {
        tenant_id,
        user_session_id,
        action: path,
        back_to,
        fields,
        at: crate::domain::clock::now(),
    };
    if let Err(e) = session::insert(&session, KEPT, kept).await {
        tracing::warn!(error = %e, "could not keep a form sent after the session ended");
    }
    response
}

/// At sign-in into a membership: the kept form, if it is that membership's (its ended
/// session was theirs) and recent, moves on to the page it came from. Returns that page.
pub async fn claim(
    session: &Session,
    tx: &mut TenantTx,
    user_id: Uuid,
) -> Result<Option<String>, AppError> {
    if session::get::<KeptForm>(session, KEPT).await?.is_none() {
        return Ok(None);
    }
    let Some(kept) = session::remove::<KeptForm>(session, KEPT).await? else {
        return Ok(None);
    };
    let fresh = crate::domain::clock::now() - kept.at < time::Duration::minutes(KEEP_MINUTES);
    if !fresh || kept.tenant_id != tx.tenant_id() {
        return Ok(None);
    }
    let theirs: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM user_sessions WHERE tenant_id = $1 AND id = $2 AND user_id = $3)",
    )
    .bind(tx.tenant_id())
    .bind(kept.user_session_id)
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    if !theirs {
        return Ok(None);
    }
    let back_to = kept.back_to.clone();
    session::insert(session, RESTORE, kept).await?;
    Ok(Some(back_to))
}

/// The kept form for the form posting to `action`, taken (shown once).
pub async fn take(session: Option<&Session>, action: &str) -> Result<Option<KeptForm>, AppError> {
    let Some(session) = session else {
        return Ok(None);
    };
    // Read before removing: removing marks the session changed (see `take_flash`).
    match session::get::<KeptForm>(session, RESTORE).await? {
        Some(k) if k.action == action => {
            session::remove::<KeptForm>(session, RESTORE).await?;
            Ok(Some(k))
        }
        _ => Ok(None),
    }
}
