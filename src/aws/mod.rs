//! AWS: the one SDK configuration (profile, region, endpoint override, retries, timeouts),
//! the async runtime the commands run on, and the mapping of SDK errors to `Error`.

pub mod codebuild;
pub mod error;
pub mod executions;
pub mod logs;
pub mod pipeline;
pub mod retry;
pub mod sts;

use std::future::Future;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::error::{Error, Result};
use crate::settings::Settings;

/// Run a future to completion on a single-threaded runtime (blocking work such as git2 goes
/// to `tokio::task::spawn_blocking`).
pub fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::op(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

/// Build the SDK configuration once; every client of the run is made from it.
/// Base credentials come from the standard chain (env, profile, SSO, credential_process, IMDS).
pub async fn sdk_config(settings: &Settings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}
