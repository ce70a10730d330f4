//! The outbox page for admins: recent emails, whether each was sent, logged
//! (no SMTP settings) or failed, and what it said.

use askama::Template;
use askama_web::WebTemplate;
use axum::{Router, extract::State, routing::get};

use crate::domain::when;
use crate::{
    AppState, Result,
    auth::{CurrentUser, policy},
    db,
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/outbox", get(index))
}

/// Emails shown, newest first.
const SHOWN: i64 = 200;

struct EmailView {
    id: String,
    to: String,
    subject: String,
    body: String,
    status: &'static str,
    badge: &'static str,
    error: String,
    time: String,
    ticket: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    chrome: Chrome,
    emails: Vec<EmailView>,
    smtp: bool,
}

/// The secret of a set-password link (`psl_` and 64 hex digits) belongs to the person the
/// email is for: the outbox shows where the link goes, never the secret, so no admin can
/// set someone else's password (or tell whether an invitee already signs in to Plotcare).
fn hide_links(body: &str) -> String {
    const PREFIX: &str = "psl_";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(PREFIX) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let secret = from[PREFIX.len()..]
            .bytes()
            .take_while(u8::is_ascii_hexdigit)
            .count();
        out.push_str(if secret > 0 {
            "psl_(hidden: for the recipient only)"
        } else {
            PREFIX
        });
        rest = &from[PREFIX.len() + secret..];
    }
    out.push_str(rest);
    out
}

async fn index(State(state): State<AppState>, user: CurrentUser) -> Result<OutboxPage> {
    policy::require_admin(&user)?;
    let mut tx = user.begin(&state).await?;
    let emails = db::outbox::recent(&mut tx, SHOWN).await?;
    tx.commit().await?;
    Ok(OutboxPage {
        chrome: user.chrome("Outbox").await?,
        smtp: state.config.smtp_url.is_some(),
        emails: emails
            .into_iter()
            .map(|e| {
                let (status, badge) = match e.status.as_str() {
                    "sent" => ("Sent", "ok"),
                    "logged" => ("Logged, not sent", "info"),
                    "failed" => ("Failed", "bad"),
                    _ => ("Waiting to send", "warn"),
                };
                EmailView {
                    id: e.id.to_string(),
                    to: e.to_address,
                    subject: e.subject,
                    body: hide_links(&e.body_text),
                    status,
                    badge,
                    error: e.error.unwrap_or_default(),
                    time: when(e.sent_at.unwrap_or(e.created_at)),
                    ticket: e.ticket_id.map(|t| t.to_string()),
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::hide_links;

    #[test]
    fn a_set_password_secret_is_hidden_and_the_rest_kept() {
        let body = format!(
            "Open http://x.test/set-password/psl_{} now. psl_ alone stays.",
            "ab12".repeat(16)
        );
        assert_eq!(
            hide_links(&body),
            "Open http://x.test/set-password/psl_(hidden: for the recipient only) now. psl_ alone stays."
        );
    }
}
