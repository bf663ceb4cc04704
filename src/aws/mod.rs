//! AWS: the one SDK configuration (profile, region, endpoint override, retries, timeouts)
//! with the call log every client carries (`Sdk`, `client!`), the async runtime the commands
//! run on, and the mapping of SDK errors to `Error`.

pub mod approvals;
pub mod bootstrap;
pub mod calls;
pub mod cloudformation;
pub mod codebuild;
pub mod codecommit;
pub mod error;
pub mod executions;
pub mod logs;
pub mod pipeline;
pub mod retry;
pub mod sts;
pub mod target;

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

/// The one SDK configuration and the call log (`-v`) every client made from it carries.
///
/// `SdkConfig` holds no interceptor, so the log is added per client: build clients with
/// `aws::client!(aws_sdk_x, &sdk)`. `Sdk` dereferences to `SdkConfig`, so `Client::new(&sdk)`
/// still compiles, but such a client's calls are not shown by `-v`.
#[derive(Debug, Clone)]
pub struct Sdk {
    pub config: SdkConfig,
    pub calls: calls::CallLog,
}

impl std::ops::Deref for Sdk {
    type Target = SdkConfig;

    fn deref(&self) -> &SdkConfig {
        &self.config
    }
}

/// A client of an SDK crate made from an `Sdk`, with its call log:
/// `aws::client!(aws_sdk_codepipeline, &sdk)`.
macro_rules! client {
    ($krate:ident, $sdk:expr) => {{
        let sdk: &$crate::aws::Sdk = $sdk;
        $krate::Client::from_conf(
            $krate::config::Builder::from(&sdk.config)
                .interceptor(sdk.calls.clone())
                .build(),
        )
    }};
}
pub(crate) use client;

/// Build the SDK configuration once; every client of the run is made from it. `calls`
/// receives every AWS call as it completes (the command decides what to show).
/// Base credentials come from the standard chain (env, profile, SSO, credential_process, IMDS).
pub async fn sdk_config(settings: &Settings, calls: calls::CallSink) -> Sdk {
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
    Sdk {
        config: loader.load().await,
        calls: calls::CallLog::new(&settings.region, calls),
    }
}
