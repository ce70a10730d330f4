//! Emails go out through an outbox: [`queue`] writes the email and enqueues a
//! `send_email` job in the caller's transaction, so an email exists exactly
//! when the change that caused it committed. The job then sends it over SMTP
//! (`SMTP_URL`), or, without SMTP settings, logs that it would have and marks
//! it `logged`; admins read every email on the outbox page either way.
//!
//! Logs carry the email's id only: never the address or the body (personal data).

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::TenantTx,
    config::Config,
    db::{self, jobs::Job},
};

/// The job kind that sends one outbox email.
pub const SEND_EMAIL: &str = "send_email";

/// Writes the email (status `queued`) and its `send_email` job, in `tx`.
/// `to` is one address, or several separated by commas.
pub async fn queue(
    tx: &mut TenantTx,
    to: &str,
    subject: &str,
    body: &str,
    ticket_id: Option<Uuid>,
) -> sqlx::Result<Uuid> {
    let id = db::outbox::insert(tx, to, subject, body, ticket_id).await?;
    db::jobs::enqueue(tx, SEND_EMAIL, json!({ "email_id": id })).await?;
    Ok(id)
}

/// How emails leave: an SMTP server, or the log.
pub enum Mailer {
    Smtp(Box<Smtp>),
    Log,
}

/// An SMTP server and the sender it sends as.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// From `SMTP_URL` and `EMAIL_FROM`. A plain `smtp://` URL requires STARTTLS
    /// unless it says `?tls=none` (a relay on the same machine) or `?tls=opportunistic`.
    pub fn from_config(config: &Config) -> anyhow::Result<Mailer> {
        let Some(raw) = &config.smtp_url else {
            return Ok(Mailer::Log);
        };
        let mut url =
            url::Url::parse(raw.expose()).map_err(|_| anyhow::anyhow!("SMTP_URL is not a URL"))?;
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => {
                url.query_pairs_mut().append_pair("tls", "required");
            }
            ("smtp", Some("none")) => url.set_query(None),
            _ => {}
        }
        // The error would repeat the URL, password included: say only what is wrong.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
            .map_err(|_| {
                anyhow::anyhow!(
                    "SMTP_URL: use smtp://user:pass@host:587 or smtps://user:pass@host:465"
                )
            })?
            .build();
        let from = config
            .email_from
            .parse()
            .map_err(|_| anyhow::anyhow!("EMAIL_FROM is not an email address"))?;
        Ok(Mailer::Smtp(Box::new(Smtp { transport, from })))
    }

    /// Delivers one email; the status it ends in (`sent` or `logged`).
    async fn deliver(&self, email: &db::outbox::OutboxEmail) -> anyhow::Result<&'static str> {
        match self {
            Mailer::Log => {
                tracing::info!(email_id = %email.id, "email logged");
                Ok("logged")
            }
            Mailer::Smtp(smtp) => {
                let Smtp { transport, from } = smtp.as_ref();
                let mut message = Message::builder()
                    .from(from.clone())
                    .subject(email.subject.clone())
                    .header(ContentType::TEXT_PLAIN);
                for to in email
                    .to_address
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    let mailbox: Mailbox = to
                        .parse()
                        .map_err(|_| Permanent("an address is not valid"))?;
                    message = message.to(mailbox);
                }
                let message = message
                    .body(email.body_text.clone())
                    .map_err(|_| Permanent("the email has no valid recipient"))?;
                match transport.send(message).await {
                    Ok(_) => {
                        tracing::info!(email_id = %email.id, "email sent");
                        Ok("sent")
                    }
                    // The server's text may quote the address: keep only its code.
                    Err(e) => {
                        let code = e
                            .status()
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "no answer".into());
                        if e.is_permanent() {
                            Err(Permanent("the mail server refused the email").into())
                        } else {
                            anyhow::bail!("the mail server could not take the email ({code})")
                        }
                    }
                }
            }
        }
    }
}

/// A failure that retrying cannot fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Permanent(&'static str);

/// The `send_email` job: sends (or logs) one queued email and records the outcome.
/// Transient failures retry with the queue's backoff; after the last attempt,
/// or on a permanent failure, the email is marked `failed` with the reason.
pub async fn send_job(tx: &mut TenantTx, job: &Job, mailer: &Mailer) -> anyhow::Result<()> {
    let id: Uuid = job
        .payload
        .get("email_id")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("send_email job without an email_id"))?;
    let Some(email) = db::outbox::find(tx, id).await? else {
        tracing::warn!(email_id = %id, "email to send is gone");
        return Ok(());
    };
    if email.status != "queued" {
        return Ok(());
    }
    match mailer.deliver(&email).await {
        Ok(status) => db::outbox::mark(tx, id, status, None).await?,
        Err(e) if e.is::<Permanent>() || job.is_last_attempt() => {
            tracing::warn!(email_id = %id, error = %e, "email failed");
            db::outbox::mark(tx, id, "failed", Some(&e.to_string())).await?;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap()
    }

    #[test]
    fn without_smtp_settings_emails_are_logged() {
        assert!(matches!(
            Mailer::from_config(&config(&[])).unwrap(),
            Mailer::Log
        ));
    }

    #[tokio::test]
    async fn smtp_settings_make_an_smtp_mailer_without_connecting() {
        for url in [
            "smtp://user:pass@mail.example.com:587",
            "smtps://user:pass@mail.example.com",
            "smtp://localhost:1025?tls=none",
        ] {
            assert!(
                matches!(
                    Mailer::from_config(&config(&[("SMTP_URL", url)])).unwrap(),
                    Mailer::Smtp(_)
                ),
                "{url}"
            );
        }
    }
}
