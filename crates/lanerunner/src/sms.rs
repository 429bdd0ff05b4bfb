//! Texts for the notifications service, and the texted codes of identity's SMS second
//! factor: Twilio (`lanerunner-twilio`: the Messages API, Verify, `X-Twilio-Signature`) when
//! an account is configured, else a spool of files under `<data_dir>/sms/` for development,
//! where the texts and verification codes can be read.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_identity::phone_codes::{PhoneCodeError, PhoneCodes};
use lanerunner_notifications::sms::{SmsError, SmsGateway};
use lanerunner_platform::config::TwilioConfig;
use lanerunner_twilio::{MessagesClient, SendSms, TwilioError, VerifyClient};

/// The gateway the configuration asks for.
pub fn gateway(config: &TwilioConfig, data_dir: PathBuf) -> anyhow::Result<Arc<dyn SmsGateway>> {
    match (&config.account_sid, &config.auth_token) {
        (Some(sid), Some(token)) => Ok(Arc::new(Twilio::new(config, sid, token)?)),
        _ => Ok(Arc::new(SpoolSms {
            dir: data_dir.join("sms"),
        })),
    }
}

/// Identity's texted codes, through the same provider's Verify calls.
pub fn phone_codes(
    config: &TwilioConfig,
    data_dir: PathBuf,
) -> anyhow::Result<Arc<dyn PhoneCodes>> {
    Ok(Arc::new(VerifyCodes(gateway(config, data_dir)?)))
}

struct VerifyCodes(Arc<dyn SmsGateway>);

#[async_trait]
impl PhoneCodes for VerifyCodes {
    async fn send(&self, to: &str) -> Result<(), PhoneCodeError> {
        self.0.start_verification(to).await.map_err(|e| match e {
            SmsError::OptedOut => {
                PhoneCodeError::Refused("the number replied STOP to our texts".into())
            }
            SmsError::Permanent(why) => PhoneCodeError::Refused(why),
            SmsError::Transient(why) => PhoneCodeError::Unavailable(why),
        })
    }

    async fn check(&self, to: &str, code: &str) -> Result<bool, PhoneCodeError> {
        self.0
            .check_verification(to, code)
            .await
            .map_err(|e| match e {
                // The one lasting refusal a check gets: too many wrong codes for this text.
                SmsError::OptedOut | SmsError::Permanent(_) => PhoneCodeError::TooManyAttempts,
                SmsError::Transient(why) => PhoneCodeError::Unavailable(why),
            })
    }
}

pub struct Twilio {
    messages: MessagesClient,
    verify: VerifyClient,
    auth_token: String,
    from: Option<String>,
    messaging_service_sid: Option<String>,
}

impl Twilio {
    pub fn new(config: &TwilioConfig, account_sid: &str, auth_token: &str) -> anyhow::Result<Self> {
        let timeout = Duration::from_millis(config.timeout_ms);
        Ok(Self {
            messages: MessagesClient::new(&config.api_base_url, account_sid, auth_token, timeout)?,
            verify: VerifyClient::new(
                &config.verify_base_url,
                config.verify_service_sid.as_deref().unwrap_or_default(),
                account_sid,
                auth_token,
                timeout,
            )?,
            auth_token: auth_token.to_owned(),
            from: config.from_number.clone(),
            messaging_service_sid: config.messaging_service_sid.clone(),
        })
    }
}

/// Twilio's answer as the notifications service reads it.
fn sms_error(e: TwilioError) -> SmsError {
    match e.code() {
        Some(21610) => SmsError::OptedOut,
        _ if e.is_permanent() => SmsError::Permanent(e.to_string()),
        _ => SmsError::Transient(e.to_string()),
    }
}

#[async_trait]
impl SmsGateway for Twilio {
    async fn send(
        &self,
        to: &str,
        body: &str,
        status_callback: Option<&str>,
    ) -> Result<String, SmsError> {
        let sms = SendSms {
            to: to.to_owned(),
            from: self.from.clone(),
            messaging_service_sid: self.messaging_service_sid.clone(),
            body: body.to_owned(),
            status_callback: status_callback.map(str::to_owned),
        };
        self.messages
            .send(&sms)
            .await
            .map(|m| m.sid)
            .map_err(sms_error)
    }

    async fn sent_since(
        &self,
        to: &str,
        body: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, SmsError> {
        // Twilio's clock and ours may differ by a little: a second of slack. Twenty pages of
        // a thousand reach back far enough for any one person's texts.
        let since = since - chrono::Duration::seconds(1);
        let recent = self
            .messages
            .sent_to_since(to, since, 1000, 20)
            .await
            .map_err(sms_error)?;
        Ok(recent
            .into_iter()
            .find(|m| {
                m.body.as_deref() == Some(body) && m.created_at().is_some_and(|at| at >= since)
            })
            .map(|m| m.sid))
    }

    async fn start_verification(&self, to: &str) -> Result<(), SmsError> {
        self.verify.start(to).await.map(|_| ()).map_err(sms_error)
    }

    async fn check_verification(&self, to: &str, code: &str) -> Result<bool, SmsError> {
        match self.verify.check(to, code).await {
            Ok(v) => Ok(v.approved()),
            // None pending: never started, expired, or already used.
            Err(TwilioError::Api { status: 404, .. }) => Ok(false),
            Err(TwilioError::Api {
                code: Some(60202), ..
            }) => Err(SmsError::Permanent(
                "too many wrong codes: ask for a new one".into(),
            )),
            Err(e) => Err(sms_error(e)),
        }
    }

    fn signed(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        lanerunner_twilio::verify(&self.auth_token, url, params, signature)
    }

    fn backend(&self) -> &'static str {
        "twilio"
    }
}

/// A spooled text's recipient, time and body, as [`SpoolSms::send`] writes them.
fn spooled(text: &str) -> Option<(&str, chrono::DateTime<chrono::Utc>, &str)> {
    let (head, body) = text.split_once("\n\n")?;
    let mut lines = head.lines();
    let to = lines.next()?.strip_prefix("To: ")?;
    let at = chrono::DateTime::parse_from_rfc3339(lines.next()?.strip_prefix("Date: ")?).ok()?;
    Some((
        to,
        at.with_timezone(&chrono::Utc),
        body.strip_suffix('\n').unwrap_or(body),
    ))
}

/// Development: each text a file, each verification code a file; no inbound requests are
/// accepted (there is no provider to sign them).
pub struct SpoolSms {
    dir: PathBuf,
}

impl SpoolSms {
    fn code_path(&self, to: &str) -> PathBuf {
        self.dir
            .join(format!("verify-{}.txt", to.trim_start_matches('+')))
    }
}

#[async_trait]
impl SmsGateway for SpoolSms {
    async fn send(
        &self,
        to: &str,
        body: &str,
        _callback: Option<&str>,
    ) -> Result<String, SmsError> {
        let id = format!("SPOOL{}", uuid::Uuid::now_v7().simple());
        let text = format!(
            "To: {to}\nDate: {}\n\n{body}\n",
            chrono::Utc::now().to_rfc3339()
        );
        let io = |e: std::io::Error| SmsError::Transient(e.to_string());
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        tokio::fs::write(self.dir.join(format!("{id}.txt")), text)
            .await
            .map_err(io)?;
        tracing::info!(to, id, "text spooled");
        Ok(id)
    }

    async fn sent_since(
        &self,
        to: &str,
        body: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, SmsError> {
        let io = |e: std::io::Error| SmsError::Transient(e.to_string());
        let mut dir = match tokio::fs::read_dir(&self.dir).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        while let Some(entry) = dir.next_entry().await.map_err(io)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_prefix("SPOOL")
                .and_then(|n| n.strip_suffix(".txt"))
            else {
                continue;
            };
            let text = tokio::fs::read_to_string(entry.path()).await.map_err(io)?;
            if spooled(&text).is_some_and(|(t, at, b)| t == to && at >= since && b == body) {
                return Ok(Some(format!("SPOOL{id}")));
            }
        }
        Ok(None)
    }

    async fn start_verification(&self, to: &str) -> Result<(), SmsError> {
        use rand::Rng;
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let io = |e: std::io::Error| SmsError::Transient(e.to_string());
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        tokio::fs::write(self.code_path(to), &code)
            .await
            .map_err(io)?;
        tracing::info!(to, path = %self.code_path(to).display(), "verification code spooled");
        Ok(())
    }

    async fn check_verification(&self, to: &str, code: &str) -> Result<bool, SmsError> {
        match tokio::fs::read_to_string(self.code_path(to)).await {
            Ok(expected) if expected.trim() == code => {
                let _ = tokio::fs::remove_file(self.code_path(to)).await;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn signed(&self, _url: &str, _params: &[(String, String)], _signature: &str) -> bool {
        false
    }

    fn backend(&self) -> &'static str {
        "spool"
    }
}
