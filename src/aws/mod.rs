//! AWS: the one SDK configuration (profile, region, endpoint override, retries, timeouts),
//! the async runtime the commands run on, and the mapping of SDK errors to `Error`.

pub mod executions;
pub mod pipeline;
pub mod policies;
pub mod sts;

use std::future::Future;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::error::{Error, Result};

/// Run a future to completion on a single-threaded runtime (blocking work such as git2 goes
/// to `tokio::task::spawn_blocking`).
pub fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::op(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

/// The region every call goes to: --region, else pipeline.region.
pub fn region(global: &GlobalArgs, cfg: &Config) -> String {
    global
        .region
        .clone()
        .unwrap_or_else(|| cfg.pipeline.region.clone())
}

/// Build the SDK configuration once; every client of the run is made from it.
/// Base credentials come from the standard chain (env, profile, SSO, credential_process, IMDS).
pub async fn sdk_config(global: &GlobalArgs, cfg: &Config) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region(global, cfg)))
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(profile) = &global.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &global.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// AWS_MAX_ATTEMPTS when set and valid, else the SDK's standard 3.
fn max_attempts() -> u32 {
    std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(3)
}

/// The error code and message of a failed call, as AWS sent them.
pub fn error_parts<E, R>(err: &SdkError<E, R>) -> (Option<String>, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            (
                e.code().map(str::to_owned),
                // Without a message (an answer the SDK could not read), the source chain says
                // more than the bare "unhandled error".
                e.message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| source_chain(e)),
            )
        }
        SdkError::TimeoutError(_) => (None, "the request timed out".to_owned()),
        SdkError::DispatchFailure(d) => {
            let why = if d.is_io() {
                "could not connect"
            } else if d.is_timeout() {
                "timed out connecting"
            } else {
                "could not send the request"
            };
            (None, format!("{why}: {}", source_chain(err)))
        }
        other => (None, source_chain(other)),
    }
}

/// An error with its sources, joined: the SDK's top-level Display alone says little.
pub fn source_chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// A failed AWS call as an `Error`: what was being done, the code and AWS's message.
pub fn call_error<E, R>(what: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (code, message) = error_parts(&err);
    match code {
        Some(code) => Error::op(format!("{what}: {code}: {message}")),
        None => Error::op(format!("{what}: {message}")),
    }
}
