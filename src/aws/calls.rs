//! Every AWS call as a typed value (`Call`): an SDK interceptor (`CallLog`) that every client
//! built through `aws::Sdk` carries. It reads only what identifies an attempt — service,
//! operation, region, HTTP status, duration, request id, attempt number, the error code — and
//! never a header value other than the request id, a body or a credential. It does not print:
//! each `Call` goes to the sink the command gave (`-v` renders it as one stderr line).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sts::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// One attempt of one AWS API call, as it completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The service as the SDK names it: `CodePipeline`, `STS`.
    pub service: String,
    /// The operation: `GetPipeline`.
    pub operation: String,
    /// The account whose credentials signed it, once GetCallerIdentity has told.
    pub account: Option<String>,
    pub region: String,
    /// The HTTP status; `None` when no response came (connection refused, timeout).
    pub status: Option<u16>,
    pub duration: Duration,
    /// `x-amzn-RequestId` (or S3's `x-amz-request-id`).
    pub request_id: Option<String>,
    /// 1 for the first attempt, 2 for the first retry.
    pub attempt: u32,
    /// What went wrong when there was no response: the SDK's own one-line reason.
    pub failure: Option<String>,
}

/// Where the calls go: set up by the command (`Ui::aws_calls`).
pub type CallSink = Arc<dyn Fn(&Call) + Send + Sync>;

/// The interceptor. Cheap to clone: clones share the sink and the learned account.
#[derive(Clone)]
pub struct CallLog {
    sink: CallSink,
    region: String,
    account: Arc<Mutex<Option<String>>>,
}

impl fmt::Debug for CallLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallLog")
            .field("region", &self.region)
            .field("account", &self.account())
            .finish_non_exhaustive()
    }
}

impl CallLog {
    pub fn new(region: &str, sink: CallSink) -> CallLog {
        CallLog {
            sink,
            region: region.to_owned(),
            account: Arc::default(),
        }
    }

    /// The same sink for the calls signed by another account's credentials (the assumed
    /// source role): their lines name that account, not the one GetCallerIdentity told.
    pub fn for_account(&self, account: &str) -> CallLog {
        CallLog {
            sink: self.sink.clone(),
            region: self.region.clone(),
            account: Arc::new(Mutex::new(Some(account.to_owned()))),
        }
    }

    fn account(&self) -> Option<String> {
        self.account.lock().ok().and_then(|a| a.clone())
    }
}

/// When the current attempt started.
#[derive(Debug, Clone, Copy)]
struct AttemptStart(Instant);

impl Storable for AttemptStart {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(AttemptStart(Instant::now()));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(AttemptStart(start)) = cfg.load::<AttemptStart>().copied() else {
            // Failed before anything was sent (e.g. no credentials): the error says it all.
            return Ok(());
        };
        cfg.interceptor_state().unset::<AttemptStart>();
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_else(|| ("?".to_owned(), "?".to_owned()));
        if operation == "GetCallerIdentity" {
            let learned = context
                .output_or_error()
                .and_then(Result::ok)
                .and_then(|o| o.downcast_ref::<GetCallerIdentityOutput>())
                .and_then(|o| o.account.clone());
            if let (Some(account), Ok(mut slot)) = (learned, self.account.lock()) {
                *slot = Some(account);
            }
        }
        let response = context.response();
        let header = |name: &str| {
            response
                .and_then(|r| r.headers().get(name))
                .map(str::to_owned)
        };
        let failure = match (response, context.output_or_error()) {
            (None, Some(Err(e))) => Some(crate::model::text::one_line(&error_chain(e))),
            _ => None,
        };
        (self.sink)(&Call {
            service,
            operation,
            account: self.account(),
            region: self.region.clone(),
            status: response.map(|r| r.status().as_u16()),
            duration: start.elapsed(),
            request_id: header("x-amzn-requestid").or_else(|| header("x-amz-request-id")),
            attempt: cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts()),
            failure,
        });
        Ok(())
    }
}

/// An error and its sources on one line: the SDK's top-level "dispatch failure" says little.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_accounts_log_names_that_account_and_leaves_this_one() {
        let log = CallLog::new("eu-west-1", Arc::new(|_: &Call| {}));
        let source = log.for_account("222222222222");
        assert_eq!(source.account().as_deref(), Some("222222222222"));
        assert_eq!(log.account(), None);
    }

    #[test]
    fn clones_share_the_learned_account() {
        let log = CallLog::new("eu-west-1", Arc::new(|_| {}));
        let clone = log.clone();
        assert_eq!(clone.account(), None);
        *log.account.lock().unwrap() = Some("111111111111".into());
        assert_eq!(clone.account().as_deref(), Some("111111111111"));
        assert!(format!("{log:?}").contains("eu-west-1"));
    }
}
