//! The one mapping of SDK errors: the code and message AWS sent, how a failure affects a
//! retrying caller (throttled, transient, fatal), the plain `Error` of a failed call, and
//! the hints that name what to fix, by service: `pipeline` (the xpipeline.toml key a failed
//! CodePipeline call points at), `executions` (reading and starting executions),
//! `credentials` (the base identity and the assumed role), `bootstrap` (the set-up of both
//! accounts).

mod approvals;
mod bootstrap;
mod builds;
pub mod codecommit;
mod credentials;
mod executions;
mod pipeline;

pub use approvals::{approval_call, deploy_call};
pub use bootstrap::{admin_role_refused, bootstrap_call};
pub use builds::build_call;
use credentials::loading_failure;
pub use credentials::{assume_role_failure, base_credentials_error};
pub use executions::execution_call;
pub use pipeline::explain;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::model::text::safe;

/// The error code and message of a failed call, as AWS sent them, made safe for a terminal
/// (`model::text::safe`: a message may echo input, escape sequences included).
pub fn error_parts<E, R>(err: &SdkError<E, R>) -> (Option<String>, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let (code, message) = raw_error_parts(err);
    (code.as_deref().map(safe), safe(&message))
}

fn raw_error_parts<E, R>(err: &SdkError<E, R>) -> (Option<String>, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match err {
        SdkError::ServiceError(se) if se.err().code().is_none() && se.err().message().is_none() => {
            // An answer the SDK could not read as an AWS error (a proxy's or a load
            // balancer's plain-text page): the status says what it was.
            match http_status(se.raw()) {
                Some(429) => (None, plain_answer("throttled (HTTP 429)", se.raw())),
                Some(status) => (
                    None,
                    plain_answer(&format!("HTTP {status} without an AWS error"), se.raw()),
                ),
                None => (None, source_chain(se.err())),
            }
        }
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
            // No credentials could be loaded: a plain reason, not the chain's last provider
            // (IMDS) saying it was unreachable.
            if let Some(parts) = loading_failure(&source_chain(err)) {
                return parts;
            }
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

/// The HTTP status of a raw response, when it is the SDK's `HttpResponse`.
fn http_status<R: std::fmt::Debug + 'static>(raw: &R) -> Option<u16> {
    (raw as &dyn std::any::Any)
        .downcast_ref::<HttpResponse>()
        .map(|r| r.status().as_u16())
}

/// `what`, with the first line of the body when it is short text (at most 200 characters).
fn plain_answer<R: std::fmt::Debug + 'static>(what: &str, raw: &R) -> String {
    let body = (raw as &dyn std::any::Any)
        .downcast_ref::<HttpResponse>()
        .and_then(|r| r.body().bytes())
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| t.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(|l| l.chars().take(200).collect::<String>());
    match body {
        Some(b) => format!("{what}: \"{b}\""),
        None => what.to_owned(),
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

/// How a failed call affects the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// AWS asked us to slow down: back off and retry.
    Throttled,
    /// Network, timeout or a 5xx: retry; give up only after a sustained outage.
    Transient,
    /// Anything else (not found, access denied, a bad request): the watch cannot go on.
    Fatal,
}

/// Classify a failure from what is known of it: the AWS error code, the HTTP status, and
/// whether it happened before any response (network, timeout).
pub fn classify(code: Option<&str>, http_status: Option<u16>, no_response: bool) -> Failure {
    const THROTTLING: &[&str] = &[
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    ];
    if code.is_some_and(|c| THROTTLING.contains(&c)) || http_status == Some(429) {
        Failure::Throttled
    } else if no_response
        || http_status.is_some_and(|s| s >= 500)
        || code.is_some_and(|c| c == "InternalFailure" || c == "ServiceUnavailable")
    {
        Failure::Transient
    } else {
        Failure::Fatal
    }
}

/// What is known of a failed call: its code, the HTTP status and whether no response came.
pub fn classify_error<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let http = match err {
        SdkError::ServiceError(se) => Some(se.raw().status().as_u16()),
        SdkError::ResponseError(re) => Some(re.raw().status().as_u16()),
        _ => None,
    };
    let no_response = matches!(
        err,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    );
    // Missing or expired credentials do not come back by waiting.
    if matches!(err, SdkError::DispatchFailure(_)) && loading_failure(&source_chain(err)).is_some()
    {
        return Failure::Fatal;
    }
    let code = match err {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    };
    classify(code, http, no_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified() {
        assert_eq!(
            classify(Some("ThrottlingException"), Some(400), false),
            Failure::Throttled
        );
        assert_eq!(classify(None, Some(429), false), Failure::Throttled);
        assert_eq!(classify(None, Some(503), false), Failure::Transient);
        assert_eq!(classify(None, None, true), Failure::Transient);
        assert_eq!(
            classify(Some("AccessDeniedException"), Some(400), false),
            Failure::Fatal
        );
        assert_eq!(
            classify(Some("PipelineExecutionNotFoundException"), Some(400), false),
            Failure::Fatal
        );
    }
}

#[cfg(test)]
mod plain_answers {
    use super::*;
    use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn answer(status: u16, body: &str) -> SdkError<GetPipelineError, HttpResponse> {
        // What the SDK makes of a body that is no AWS error document: no code, no message.
        let err = GetPipelineError::generic(ErrorMetadata::builder().build());
        let raw = HttpResponse::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(body.to_owned()),
        );
        SdkError::service_error(err, raw)
    }

    #[test]
    fn a_plain_text_429_reads_as_throttled() {
        let e = answer(429, "Rate exceeded\n");
        assert_eq!(
            error_parts(&e),
            (None, "throttled (HTTP 429): \"Rate exceeded\"".to_owned())
        );
        assert_eq!(classify_error(&e), Failure::Throttled);
        let (_, m) = error_parts(&answer(502, "<html>\n<h1>Bad Gateway</h1>"));
        assert_eq!(m, "HTTP 502 without an AWS error: \"<html>\"");
        assert!(!m.contains("unhandled"));
    }
}
