//! Where alerts go: the log (always), a JSON webhook (one POST per alert, the body signed with
//! HMAC-SHA256, retried with backoff while the receiver fails), and email through SMTP (one
//! message per cycle listing its alerts). The store records which sinks took each alert; one a
//! sink did not take is offered to that sink again next cycle (for a day). A receiver may still
//! see an alert twice (it took it, but the answer was lost): `X-Rewind-Delivery` is its id.

use std::fmt::Write as _;
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use sha2::Sha256;

use super::{Alert, Metrics};

/// Header carrying the body's signature: `sha256=` and the hex HMAC-SHA256 of the raw body
/// under the webhook secret (as GitHub signs its webhooks).
pub const SIGNATURE_HEADER: &str = "X-Rewind-Signature";

/// A sink's settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The webhook URL is not an http(s) URL.
    #[error("webhook URL '{0}' is not an http:// or https:// URL (REWIND_WEBHOOK_URL)")]
    WebhookUrl(String),
    /// The SMTP URL or an address is wrong.
    #[error("email: {0}")]
    Email(String),
    /// An SMTP server without a sender.
    #[error("REWIND_SMTP_URL is set but no sender: set REWIND_EMAIL_FROM")]
    NoSender,
    /// Recipients without an SMTP server.
    #[error("--email-to needs an SMTP server: set REWIND_SMTP_URL (and REWIND_EMAIL_FROM)")]
    NoServer,
}

impl Sinks {
    /// The sinks the configuration names: a webhook (`REWIND_WEBHOOK_URL`, signed with
    /// `REWIND_WEBHOOK_SECRET`) and email (`REWIND_SMTP_URL`, `REWIND_EMAIL_FROM`,
    /// `REWIND_EMAIL_TO`); none is fine.
    pub fn from_config(raw: &crate::RawConfig) -> Result<Sinks, SinkError> {
        let webhook = match &raw.webhook_url {
            Some(url) => Some(Webhook::new(url, raw.webhook_secret.clone())?),
            None => None,
        };
        let email = match &raw.smtp_url {
            Some(url) => {
                let from = raw.email_from.as_deref().ok_or(SinkError::NoSender)?;
                let to = raw.email_to.clone().unwrap_or_default();
                Some(Email::new(url, from, &to)?)
            }
            None if raw.email_to.is_some() => return Err(SinkError::NoServer),
            None => None,
        };
        Ok(Sinks { webhook, email })
    }
}

/// A JSON webhook.
#[derive(Debug, Clone)]
pub struct Webhook {
    url: String,
    secret: Option<String>,
    client: reqwest::Client,
    /// Attempts per alert before giving up.
    pub attempts: u32,
    /// Wait before the first retry; doubled for each next one.
    pub backoff: Duration,
}

impl Webhook {
    /// A webhook posting to `url`, signing with `secret` when given.
    pub fn new(url: &str, secret: Option<String>) -> Result<Webhook, SinkError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| SinkError::WebhookUrl(url.into()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SinkError::WebhookUrl(url.into()));
        }
        // A redirect would carry the signed alert to a host nobody configured.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| SinkError::WebhookUrl(url.into()))?;
        Ok(Webhook {
            url: url.into(),
            secret,
            client,
            attempts: 5,
            backoff: Duration::from_secs(1),
        })
    }

    /// Posts one alert, retrying transient failures; the error names the last failure.
    pub async fn post(&self, alert: &Alert) -> Result<(), String> {
        let body = serde_json::to_vec(alert).map_err(|e| e.to_string())?;
        let mut wait = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts.max(1) {
            let mut req = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .header("user-agent", concat!("rewind/", env!("CARGO_PKG_VERSION")))
                .header("x-rewind-event", "alert");
            if let Some(id) = alert.id {
                req = req.header("x-rewind-delivery", id.to_string());
            }
            if let Some(secret) = &self.secret {
                req = req.header(SIGNATURE_HEADER, sign(secret, &body));
            }
            match req.body(body.clone()).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => {
                    last = format!("the receiver answered {}", r.status());
                    let retry = r.status().is_server_error() || r.status().as_u16() == 429;
                    if !retry {
                        return Err(last);
                    }
                }
                Err(e) => last = format!("cannot reach the receiver: {e}"),
            }
            if attempt < self.attempts {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        Err(last)
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Email through SMTP.
#[derive(Clone)]
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the SMTP password.
        f.debug_struct("Email").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Email {
    /// Email through the server of `smtp_url` (`smtp://user:pass@host:port`, `smtps://…` for
    /// TLS, `smtp://…?tls=required` for STARTTLS), from one address to others.
    pub fn new(smtp_url: &str, from: &str, to: &[String]) -> Result<Email, SinkError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| {
                SinkError::Email(format!("REWIND_SMTP_URL is not an smtp:// or smtps:// URL: {e}"))
            })?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let mailbox = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|e| SinkError::Email(format!("'{a}' is not an email address: {e}")))
        };
        if to.is_empty() {
            return Err(SinkError::Email(
                "no recipients: set --email-to or REWIND_EMAIL_TO".into(),
            ));
        }
        Ok(Email {
            transport,
            from: mailbox(from)?,
            to: to.iter().map(|a| mailbox(a)).collect::<Result<_, _>>()?,
        })
    }

    /// Sends one message listing `alerts`.
    pub async fn send(&self, alerts: &[Alert]) -> Result<(), String> {
        let Some(worst) = alerts.iter().map(|a| a.severity).max() else {
            return Ok(());
        };
        let tenant = &alerts[0].tenant;
        let subject = format!(
            "[Rewind] {} on {tenant} ({worst}): {}",
            if alerts.len() == 1 {
                "1 alert".to_string()
            } else {
                format!("{} alerts", alerts.len())
            },
            alerts[0].summary
        );
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let message = builder.body(email_text(alerts)).map_err(|e| e.to_string())?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

fn email_text(alerts: &[Alert]) -> String {
    let mut s = String::new();
    for a in alerts {
        let _ = writeln!(s, "{} · {} · {}", a.severity, a.rule, a.summary);
        if !a.actors.is_empty() {
            let _ = writeln!(s, "  by {}", a.actors.join(", "));
        }
        let _ = writeln!(
            s,
            "  tenant {} ({}), snapshot {} taken {}",
            a.tenant, a.tenant_id, a.snapshot, a.taken_at
        );
        let _ = writeln!(s, "  {}\n", a.explanation);
    }
    s.push_str("List them with `rewind alerts`; compare with `rewind changes --from 1h`.\n");
    s
}

/// Every sink alerts go to.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    /// The webhook, if configured.
    pub webhook: Option<Webhook>,
    /// Email, if configured.
    pub email: Option<Email>,
}

impl Sinks {
    /// Logs alerts just raised (the log is a sink that never fails).
    pub fn log(alerts: &[Alert]) {
        for a in alerts {
            tracing::warn!(
                target: "rewind::alert",
                tenant = %a.tenant,
                rule = a.rule,
                severity = %a.severity,
                actors = %a.actors.join(", "),
                object = a.object.as_ref().map(|o| o.id.as_str()).unwrap_or_default(),
                "{}",
                a.summary
            );
        }
    }

    /// Sends alerts to the sinks that have not taken them yet (`(alert, sinks that took it)`)
    /// and returns, per alert, the sinks that have it now and whether that is every configured
    /// one. Failures are logged and counted, never raised: delivery must not stop watching,
    /// and what a sink did not take is offered to it again next cycle.
    pub async fn deliver(
        &self,
        pending: &[(Alert, Vec<String>)],
        metrics: &Metrics,
    ) -> Vec<(rewind_store::AlertId, Vec<String>, bool)> {
        let mut have: Vec<Vec<String>> = pending.iter().map(|(_, s)| s.clone()).collect();
        if let Some(w) = &self.webhook {
            for ((a, _), took) in pending.iter().zip(&mut have) {
                if took.iter().any(|s| s == "webhook") {
                    continue;
                }
                match w.post(a).await {
                    Ok(()) => took.push("webhook".into()),
                    Err(e) => {
                        tracing::error!(tenant = %a.tenant, rule = a.rule, "webhook delivery failed: {e}");
                        metrics.delivery_failed("webhook");
                    }
                }
            }
        }
        if let Some(mail) = &self.email {
            let owed: Vec<usize> =
                (0..pending.len()).filter(|i| !have[*i].iter().any(|s| s == "email")).collect();
            let alerts: Vec<Alert> = owed.iter().map(|i| pending[*i].0.clone()).collect();
            if !alerts.is_empty() {
                match mail.send(&alerts).await {
                    Ok(()) => owed.iter().for_each(|i| have[*i].push("email".into())),
                    Err(e) => {
                        tracing::error!("email delivery failed: {e}");
                        metrics.delivery_failed("email");
                    }
                }
            }
        }
        let wanted = usize::from(self.webhook.is_some()) + usize::from(self.email.is_some());
        pending
            .iter()
            .zip(have)
            .filter_map(|((a, _), took)| {
                let complete = took.len() >= wanted;
                Some((a.id?, took, complete))
            })
            .collect()
    }
}
