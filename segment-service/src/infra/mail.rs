//! Notification mail: written to the outbox in the same transaction as the
//! change it reports, then sent over SMTP (`SMTP_URL`) by the mailer. Without
//! SMTP the mail stays in the outbox and is logged.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::db::Db;
use super::now_ms;
use crate::with_db;

/// Adds a mail to the outbox on an open transaction of either backend.
macro_rules! enqueue {
    ($tx:expr, $recipient:expr, $subject:expr, $body:expr, $segment_id:expr, $now:expr) => {{
        sqlx::query(
            "INSERT INTO mail_outbox (recipient, subject, body, segment_id, created_at, next_try_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind($recipient)
        .bind($subject)
        .bind($body)
        .bind($segment_id)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
        tracing::info!(to = %$recipient, subject = %$subject, "notification queued in the outbox");
    }};
}
pub(crate) use enqueue;

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (plain), `smtp://host?tls=required` (STARTTLS) or `smtps://…`, with optional `user:password@`.
    pub smtp_url: Option<String>,
    pub from: String,
    pub poll: Duration,
}

/// Attempts before a mail is left in the outbox for good.
const MAX_MAIL_ATTEMPTS: i32 = 8;

/// The outbox's sender: SMTP transport and sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    poll: Duration,
}

impl Mailer {
    /// The mailer of `settings`, or `None` when SMTP is not configured (the
    /// outbox then keeps the mail, and its enqueueing was logged).
    pub fn new(settings: &MailSettings) -> anyhow::Result<Option<Self>> {
        let Some(url) = settings.smtp_url.as_deref() else {
            tracing::info!("SMTP_URL is not set: notifications stay in the mail_outbox table");
            return Ok(None);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        Ok(Some(Self {
            transport,
            from: settings.from.parse()?,
            poll: settings.poll,
        }))
    }

    /// Sends outbox mail until shutdown.
    pub async fn run(self, db: Db, shutdown: tokio_util::sync::CancellationToken) {
        loop {
            if let Err(error) = send_pending(&db, &self.transport, &self.from).await {
                tracing::error!(%error, "sending outbox mail failed");
            }
            if !crate::background::pause(&shutdown, self.poll).await {
                return;
            }
        }
    }
}

/// A notification waiting in the outbox.
#[derive(sqlx::FromRow)]
struct OutboxMail {
    id: i64,
    recipient: String,
    subject: String,
    body: String,
    attempts: i32,
}

async fn send_pending(
    db: &Db,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
) -> anyhow::Result<()> {
    let now = now_ms();
    let pending: Vec<OutboxMail> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, recipient, subject, body, attempts FROM mail_outbox
             WHERE sent_at IS NULL AND next_try_at <= $1 AND attempts < $2 ORDER BY id LIMIT 50",
        )
        .bind(now)
        .bind(MAX_MAIL_ATTEMPTS)
        .fetch_all(pool)
        .await?
    });
    for OutboxMail {
        id,
        recipient,
        subject,
        body,
        attempts,
    } in pending
    {
        let sent = async {
            let message = Message::builder()
                .from(from.clone())
                .to(recipient.parse()?)
                .subject(subject.clone())
                .body(body)?;
            transport.send(message).await?;
            anyhow::Ok(())
        }
        .await;
        match sent {
            Ok(()) => {
                with_db!(db, pool => {
                    sqlx::query("UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
                        .bind(now_ms())
                        .bind(id)
                        .execute(pool)
                        .await?
                        .rows_affected()
                });
                tracing::info!(to = %recipient, %subject, "notification sent");
            }
            Err(error) => {
                let delay = 5_000i64 << attempts.clamp(0, 10);
                tracing::warn!(to = %recipient, error = %format!("{error:#}"), "notification not sent; will retry");
                with_db!(db, pool => {
                    sqlx::query("UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_try_at = $2 WHERE id = $3")
                        .bind(format!("{error:#}"))
                        .bind(now_ms() + delay)
                        .bind(id)
                        .execute(pool)
                        .await?
                        .rows_affected()
                });
            }
        }
    }
    Ok(())
}
