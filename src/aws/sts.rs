//! STS: who the base credentials belong to (GetCallerIdentity, checked against
//! pipeline.account), the source-account role `push` assumes (AssumeRole with external id,
//! session name, duration and MFA) and the source account's admin role `bootstrap` assumes.
//! The temporary credentials live only in memory, inside types whose Debug shows no secret. Never prompts: the MFA code comes from the command.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sdk_sts::Client;
use aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use secrecy::{ExposeSecret, SecretString};

use crate::aws::error::{assume_role_failure, base_credentials_error, error_parts};
use crate::config::Config;
use crate::error::{Error, Result};

/// The session duration asked for when push.duration-seconds is not set.
pub const DEFAULT_DURATION: i32 = 3600;
/// AWS caps a session assumed with assumed-role credentials (role chaining) at one hour.
pub const CHAINED_MAX_DURATION: i32 = 3600;

/// The identity of the base credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

impl Identity {
    /// The base credentials are themselves an assumed role: what they assume is role chaining.
    pub fn is_assumed_role(&self) -> bool {
        self.arn.contains(":assumed-role/")
    }
}

/// The STS client, with a recorder of the server's clock (the Date header of its responses).
pub fn client(sdk: &crate::aws::Sdk) -> (Client, ServerClock) {
    let clock = ServerClock::default();
    let conf = aws_sdk_sts::config::Builder::from(&sdk.config)
        .interceptor(sdk.calls.clone())
        .interceptor(clock.clone())
        .build();
    (Client::from_conf(conf), clock)
}

/// The last `Date` an AWS response carried and when it arrived: how far the local clock is
/// off, which matters because the git password is signed with the local time.
#[derive(Debug, Clone, Default)]
pub struct ServerClock(Arc<Mutex<Option<(SystemTime, SystemTime)>>>);

impl ServerClock {
    /// Local time minus server time, in whole seconds (positive: the local clock is ahead).
    pub fn skew_seconds(&self) -> Option<i64> {
        let (server, local) = (*self.0.lock().ok()?)?;
        Some(match local.duration_since(server) {
            Ok(ahead) => ahead.as_secs() as i64,
            Err(behind) => -(behind.duration().as_secs() as i64),
        })
    }
}

impl Intercept for ServerClock {
    fn name(&self) -> &'static str {
        "ServerClock"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let server = context
            .response()
            .headers()
            .get("date")
            .and_then(|d| DateTime::from_str(d, Format::HttpDate).ok())
            .and_then(|d| SystemTime::try_from(d).ok());
        if let (Some(server), Ok(mut slot)) = (server, self.0.lock()) {
            *slot = Some((server, SystemTime::now()));
        }
        Ok(())
    }
}

/// A warning when the local clock is far enough from AWS's to matter: the git password is
/// signed with the local time and CodeCommit accepts 15 minutes either way.
pub fn clock_warning(skew_seconds: i64) -> Option<String> {
    (skew_seconds.abs() >= 5 * 60).then(|| {
        format!(
            "the local clock is {} minutes {} of AWS's (from the Date of its response); CodeCommit refuses a git password signed more than 15 minutes off: set the clock (NTP)",
            skew_seconds.abs() / 60,
            if skew_seconds > 0 { "ahead" } else { "behind" }
        )
    })
}

/// GetCallerIdentity: who the base credentials are.
pub async fn caller_identity(client: &Client, profile: Option<&str>) -> Result<Identity> {
    let out = client.get_caller_identity().send().await.map_err(|e| {
        let (code, message) = error_parts(&e);
        let no_credentials = matches!(
            e,
            SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
        ) && message.to_ascii_lowercase().contains("credential");
        base_credentials_error(code.as_deref(), &message, no_credentials, profile)
    })?;
    Ok(Identity {
        account: out.account.unwrap_or_default(),
        arn: out.arn.unwrap_or_default(),
    })
}

/// The base credentials must be the pipeline account's: that account's role is what the
/// source account trusts.
pub fn check_account(identity: &Identity, cfg: &Config) -> Result<()> {
    if identity.account == cfg.pipeline.account {
        return Ok(());
    }
    Err(Error::op_hint(
        format!(
            "your AWS credentials are for account {} ({}), but pipeline.account in {} is {}",
            identity.account,
            identity.arn,
            crate::config::display_path(&cfg.path),
            cfg.pipeline.account
        ),
        format!(
            "use credentials of account {}: --profile NAME or AWS_PROFILE, or fix pipeline.account",
            cfg.pipeline.account
        ),
    ))
}

/// The AssumeRole call push makes, from xpipeline.toml and the base identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRequest {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: i32,
    pub external_id: Option<String>,
    pub mfa_serial: Option<String>,
    /// Said once on stderr: why the duration is not what was configured.
    pub note: Option<String>,
}

impl AssumeRequest {
    pub fn new(cfg: &Config, identity: &Identity, local_user: Option<&str>) -> AssumeRequest {
        let (duration_seconds, note) = duration(
            cfg.push.duration_seconds,
            identity.is_assumed_role(),
            &identity.arn,
        );
        AssumeRequest {
            role_arn: cfg.push.role_arn.clone(),
            session_name: cfg
                .push
                .session_name
                .clone()
                .unwrap_or_else(|| session_name(local_user)),
            duration_seconds,
            external_id: cfg.source.external_id.clone(),
            mfa_serial: cfg.push.mfa_serial.clone(),
            note,
        }
    }
}

/// `xpipeline-<user>`, cut down to what STS accepts: [\w+=,.@-]{2,64}.
pub fn session_name(local_user: Option<&str>) -> String {
    let user: String = local_user
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = if user.is_empty() {
        "xpipeline".to_owned()
    } else {
        format!("xpipeline-{user}")
    };
    name.chars().take(64).collect()
}

/// The duration to ask for, capped at one hour when the base identity is an assumed role.
pub fn duration(configured: Option<i32>, chained: bool, base_arn: &str) -> (i32, Option<String>) {
    let asked = configured.unwrap_or(DEFAULT_DURATION);
    if chained && asked > CHAINED_MAX_DURATION {
        let note = format!(
            "note: push.duration-seconds = {asked} is capped at {CHAINED_MAX_DURATION} (1 hour): your base identity {base_arn} is itself an assumed role, and AWS limits role chaining to one hour"
        );
        (CHAINED_MAX_DURATION, Some(note))
    } else {
        (asked, None)
    }
}

/// The assumed source-account role: its credentials as the SDK's own value type, which signs
/// the git password (`git::sign`) and can back SDK clients in the source account (a
/// `Credentials` is itself a credentials provider). Debug shows neither the secret nor the key id (the SDK type's Debug shows
/// the key id, which names the session: it stays out of logs too).
pub struct SourceSession {
    credentials: Credentials,
    pub role_arn: String,
}

impl SourceSession {
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
}

impl fmt::Debug for SourceSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceSession")
            .field("role_arn", &self.role_arn)
            .field("credentials", &"[REDACTED]")
            .field(
                "expires",
                &self
                    .credentials
                    .expiry()
                    .and_then(|t| DateTime::from(t).fmt(Format::DateTime).ok()),
            )
            .finish()
    }
}

/// Asks the user for a secret (the MFA code); given by the command, which owns the terminal.
pub type AskSecret = Box<dyn FnMut(&str) -> Result<SecretString> + Send>;

/// Where a one-time MFA code comes from.
pub enum Mfa {
    /// --mfa-code or XPIPELINE_MFA_CODE: good for one AssumeRole.
    Given(Option<SecretString>),
    /// Ask the user, each time one is needed.
    Prompt(AskSecret),
    /// Neither: an error when push.mfa-serial asks for one.
    Unavailable,
}

impl Mfa {
    pub fn new(given: Option<&str>, ask: Option<AskSecret>) -> Mfa {
        match (given, ask) {
            (Some(code), _) => Mfa::Given(Some(SecretString::from(code.trim()))),
            (None, Some(ask)) => Mfa::Prompt(ask),
            (None, None) => Mfa::Unavailable,
        }
    }

    /// Before any network call: an MFA device needs a code we can get, in the right shape.
    pub fn ready(&self, serial: Option<&str>) -> Result<()> {
        match (serial, self) {
            (Some(serial), Mfa::Unavailable) => Err(no_mfa_code(serial)),
            (Some(_), Mfa::Given(Some(code))) => check_mfa_code(code.expose_secret()),
            _ => Ok(()),
        }
    }

    fn code(&mut self, serial: &str) -> Result<SecretString> {
        let code = match self {
            Mfa::Given(code) => code.take().ok_or_else(|| {
                Error::op_hint(
                    format!("the MFA code of {serial} was already used"),
                    "run the command again with a fresh --mfa-code, or run it on a terminal to be asked",
                )
            })?,
            Mfa::Prompt(ask) => ask(&format!("MFA code for {serial}: "))?,
            Mfa::Unavailable => return Err(no_mfa_code(serial)),
        };
        check_mfa_code(code.expose_secret())?;
        Ok(code)
    }
}

fn no_mfa_code(serial: &str) -> Error {
    Error::usage(format!(
        "push.mfa-serial ({serial}) needs an MFA code and there is no terminal to ask on: pass --mfa-code CODE or set XPIPELINE_MFA_CODE"
    ))
}

/// An MFA code is six digits.
pub fn check_mfa_code(code: &str) -> Result<()> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::usage(
            "the MFA code must be the 6 digits your device shows (--mfa-code or XPIPELINE_MFA_CODE)",
        ))
    }
}

/// AssumeRole of the source-account role, in memory.
pub async fn assume_role(
    client: &Client,
    req: &AssumeRequest,
    mfa: &mut Mfa,
    base: &Identity,
) -> Result<SourceSession> {
    let credentials = assume(client, req, mfa, &base.arn).await?;
    Ok(SourceSession {
        credentials,
        role_arn: req.role_arn.clone(),
    })
}

async fn assume(
    client: &Client,
    req: &AssumeRequest,
    mfa: &mut Mfa,
    base_arn: &str,
) -> Result<Credentials> {
    let mut call = client
        .assume_role()
        .role_arn(&req.role_arn)
        .role_session_name(&req.session_name)
        .duration_seconds(req.duration_seconds)
        .set_external_id(req.external_id.clone());
    if let Some(serial) = &req.mfa_serial {
        let code = mfa.code(serial)?;
        call = call.serial_number(serial).token_code(code.expose_secret());
    }
    let out = call
        .send()
        .await
        .map_err(|e| assume_role_error(&e, req, base_arn))?;
    let c = out.credentials.ok_or_else(|| {
        Error::op(format!(
            "sts:AssumeRole of {} returned no credentials",
            req.role_arn
        ))
    })?;
    Ok(Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        SystemTime::try_from(c.expiration).ok(),
        "xpipeline-assume-role",
    ))
}

/// The session name of bootstrap's AssumeRole of the source account's admin role.
pub const BOOTSTRAP_SESSION: &str = "xpipeline-bootstrap";

/// AssumeRole of the source account's admin role (`bootstrap`; `target` names a target account
/// instead), in memory: credentials for that account's clients, as the SDK's own value type.
pub async fn assume_admin(
    client: &Client,
    role_arn: &str,
    base_arn: Option<&str>,
    target: Option<&str>,
) -> Result<Credentials> {
    let out = client
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(BOOTSTRAP_SESSION)
        .duration_seconds(DEFAULT_DURATION)
        .send()
        .await
        .map_err(|e| {
            let (code, message) = error_parts(&e);
            crate::aws::error::admin_role_refused(
                role_arn,
                base_arn,
                target,
                code.as_deref(),
                &message,
            )
        })?;
    let c = out.credentials.ok_or_else(|| {
        Error::op(format!(
            "sts:AssumeRole of {role_arn} returned no credentials"
        ))
    })?;
    Ok(Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        SystemTime::try_from(c.expiration).ok(),
        "xpipeline-bootstrap",
    ))
}

fn assume_role_error<E, R>(err: &SdkError<E, R>, req: &AssumeRequest, base_arn: &str) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    let (code, message) = error_parts(err);
    assume_role_failure(code.as_deref(), &message, req, base_arn)
}

#[cfg(test)]
mod tests {

    use super::*;

    fn id(arn: &str) -> Identity {
        Identity {
            account: crate::model::arn::account_of(arn).unwrap().to_owned(),
            arn: arn.to_owned(),
        }
    }

    #[test]
    fn session_names_are_sanitised() {
        assert_eq!(session_name(Some("alice")), "xpipeline-alice");
        assert_eq!(session_name(Some("Jörg Müller")), "xpipeline-J-rg-M-ller");
        assert_eq!(session_name(Some("dom\\bob")), "xpipeline-dom-bob");
        assert_eq!(session_name(None), "xpipeline");
        let long = session_name(Some(&"x".repeat(100)));
        assert_eq!(long.len(), 64);
        assert!(crate::config::names::is_session_name(&long));
    }

    #[test]
    fn role_chaining_caps_the_duration_with_a_note() {
        let user = id("arn:aws:iam::111111111111:user/alice");
        let role = id("arn:aws:sts::111111111111:assumed-role/Admin/alice");
        assert!(role.is_assumed_role() && !user.is_assumed_role());
        assert_eq!(duration(Some(7200), false, &user.arn), (7200, None));
        let (secs, note) = duration(Some(7200), true, &role.arn);
        assert_eq!(secs, 3600);
        assert!(note.unwrap().contains("role chaining"));
        assert_eq!(duration(None, true, &role.arn), (3600, None));
        assert_eq!(duration(Some(900), true, &role.arn), (900, None));
    }

    #[test]
    fn a_clock_minutes_off_is_worth_a_warning() {
        assert_eq!(clock_warning(299), None);
        assert_eq!(clock_warning(-10), None);
        let w = clock_warning(-1200).unwrap();
        assert!(w.contains("20 minutes behind"), "{w}");
        assert!(clock_warning(600).unwrap().contains("10 minutes ahead"));
    }

    #[test]
    fn mfa_codes_are_six_digits() {
        assert!(check_mfa_code("123456").is_ok());
        for bad in ["12345", "1234567", "12345a", ""] {
            assert_eq!(check_mfa_code(bad).unwrap_err().exit_code(), 2);
        }
        let mut m = Mfa::new(None, None);
        assert!(m.ready(None).is_ok());
        assert_eq!(
            m.ready(Some("arn:aws:iam::1:mfa/a"))
                .unwrap_err()
                .exit_code(),
            2
        );
        assert!(Mfa::new(Some("12"), None).ready(Some("s")).is_err());
        let asked: AskSecret = Box::new(|q| {
            assert_eq!(q, "MFA code for s: ");
            Ok(SecretString::from("654321"))
        });
        let mut p = Mfa::new(None, Some(asked));
        assert!(p.ready(Some("s")).is_ok());
        assert_eq!(p.code("s").unwrap().expose_secret(), "654321");
        let err = m.code("arn:aws:iam::1:mfa/a").unwrap_err().to_string();
        assert!(err.contains("--mfa-code"), "{err}");
        let mut m = Mfa::new(Some(" 123456 "), None);
        assert_eq!(m.code("s").unwrap().expose_secret(), "123456");
        assert!(
            m.code("s")
                .unwrap_err()
                .to_string()
                .contains("already used")
        );
    }

    #[test]
    fn secrets_never_show() {
        let session = SourceSession {
            credentials: Credentials::new(
                "ASIAEXAMPLEKEYID",
                "SECRETKEY",
                Some("SESSIONTOKEN".into()),
                Some(SystemTime::now()),
                "test",
            ),
            role_arn: "arn:aws:iam::222222222222:role/x".into(),
        };
        let shown = format!("{session:?}");
        for s in ["ASIAEXAMPLEKEYID", "SECRETKEY", "SESSIONTOKEN"] {
            assert!(!shown.contains(s), "{shown}");
        }
        assert!(shown.contains("role/x"), "{shown}");
    }
}
