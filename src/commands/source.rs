//! The steps `push` and `fetch` share to reach the source repository: the MFA code ready
//! before any call, the base identity checked against the pipeline account, the git endpoint
//! told, and the source role assumed in memory. Each says on stderr what it did, in the same
//! words for both commands.

use crate::aws::{self, Sdk, sts};
use crate::config::Config;
use crate::error::Result;
use crate::git::endpoint::{self, GitEndpoint};
use crate::settings::Settings;
use crate::ui::{self, Ui};

/// The MFA code source: `--mfa-code`, else the terminal; checked ready before any call when
/// push.mfa-serial asks for one.
pub fn mfa(code: Option<&str>, cfg: &Config, ui: &Ui) -> Result<sts::Mfa> {
    let ask = ui
        .interactive
        .then(|| Box::new(ui::prompt::read_secret) as sts::AskSecret);
    let mfa = sts::Mfa::new(code, ask);
    mfa.ready(cfg.push.mfa_serial.as_deref())?;
    Ok(mfa)
}

/// The one SDK configuration, the STS client, the base identity (the pipeline account's) and
/// the local clock's skew against AWS's, in seconds when known.
pub struct Base {
    pub sdk: Sdk,
    pub sts: aws_sdk_sts::Client,
    pub identity: sts::Identity,
    pub clock_skew: Option<i64>,
}

/// The one SDK configuration and the base identity, which must be the pipeline account's; a
/// skewed clock is warned about.
pub async fn base_identity(settings: &Settings, cfg: &Config, ui: &Ui) -> Result<Base> {
    let sdk = aws::sdk_config(settings, ui.aws_calls()).await;
    let (sts_client, server_clock) = sts::client(&sdk);
    let identity = sts::caller_identity(&sts_client, settings.profile.as_deref()).await?;
    sts::check_account(&identity, cfg)?;
    if let Some(warning) = server_clock.skew_seconds().and_then(sts::clock_warning) {
        ui.warn(warning);
    }
    ui.detail(format_args!("base identity: {}", identity.arn));
    Ok(Base {
        sdk,
        sts: sts_client,
        identity,
        clock_skew: server_clock.skew_seconds(),
    })
}

/// The git endpoint (`--git-endpoint`, source.git-endpoint, the AWS endpoint override, else
/// CodeCommit's), told with `-v`, with the note that the git transport uses no proxy.
pub fn git_endpoint(
    flag: Option<&str>,
    cfg: &Config,
    sdk: &Sdk,
    settings: &Settings,
    ui: &Ui,
) -> Result<GitEndpoint> {
    let endpoint = endpoint::resolve(
        flag,
        cfg.source.git_endpoint.as_deref(),
        sdk.endpoint_url(),
        &settings.region,
        &cfg.source.repository,
    )?;
    ui.detail(format_args!(
        "git endpoint: {} (from {})",
        endpoint.url, endpoint.origin
    ));
    if let Some(var) = settings.proxy_variable {
        ui.detail(format_args!(
            "{var} is set, but the git transport does not use a proxy: it connects to the git endpoint directly"
        ));
    }
    Ok(endpoint)
}

/// The source role (push.role-arn) assumed in memory, said on stderr.
pub async fn assume(
    sts_client: &aws_sdk_sts::Client,
    identity: &sts::Identity,
    mfa: &mut sts::Mfa,
    cfg: &Config,
    settings: &Settings,
    ui: &Ui,
) -> Result<sts::SourceSession> {
    let request = sts::AssumeRequest::new(cfg, identity, settings.local_user().as_deref());
    if let Some(note) = &request.note {
        ui.status(note);
    }
    ui.status(format_args!(
        "assuming {} (session {})",
        request.role_arn, request.session_name
    ));
    sts::assume_role(sts_client, &request, mfa, identity).await
}
