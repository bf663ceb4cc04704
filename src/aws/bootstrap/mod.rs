//! The ops of `bootstrap`, one module per service: read what exists, create or put what the
//! command decided. Each takes a client built from the one `SdkConfig` (pipeline account) or
//! from the source account's credentials, returns data or an `Error` naming the call, the
//! resource and the account, and never prints: a call retried while a new role propagates
//! reports each wait through the `Retrying` callback.

pub mod codebuild;
pub mod codecommit;
pub mod events;
pub mod iam;
pub mod kms;
pub mod s3;
pub mod ssm;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::error::{bootstrap_call, error_parts};
use crate::aws::retry::Retrying;
use crate::aws::{Sdk, client};
use crate::error::Error;

/// Hears of each wait while a call is retried for a role to propagate.
pub type OnRetry<'a> = &'a mut (dyn FnMut(Retrying) + Send);

/// The tag put on everything bootstrap creates.
pub fn managed_by() -> (&'static str, &'static str) {
    (crate::MANAGED_BY_TAG, crate::MANAGED_BY_VALUE)
}

/// The SDK configuration of the source account: the pipeline one with the assumed admin
/// role's credentials (in memory only).
pub fn with_credentials(sdk: &SdkConfig, credentials: &Credentials) -> SdkConfig {
    sdk.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials.clone()))
        .build()
}

/// The clients of the pipeline account.
pub struct PipelineClients {
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    pub s3: aws_sdk_s3::Client,
    pub codebuild: aws_sdk_codebuild::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// The mirrors of the target accounts' bootstrap markers.
    pub ssm: aws_sdk_ssm::Client,
}

impl PipelineClients {
    /// `path_style`: S3 addressed as ENDPOINT/BUCKET, for an endpoint override (an emulator
    /// serves no bucket host names).
    pub fn new(sdk: &Sdk, path_style: bool) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(&sdk.config)
            .force_path_style(path_style)
            .interceptor(sdk.calls.clone())
            .build();
        PipelineClients {
            iam: client!(aws_sdk_iam, sdk),
            kms: client!(aws_sdk_kms, sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            codebuild: client!(aws_sdk_codebuild, sdk),
            events: client!(aws_sdk_eventbridge, sdk),
            ssm: client!(aws_sdk_ssm, sdk),
        }
    }
}

/// The clients of one `[[deploy]]` target account.
pub struct TargetClients {
    pub account: String,
    pub iam: aws_sdk_iam::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl TargetClients {
    pub fn new(account: &str, sdk: &Sdk) -> Self {
        TargetClients {
            account: account.to_owned(),
            iam: client!(aws_sdk_iam, sdk),
            ssm: client!(aws_sdk_ssm, sdk),
        }
    }
}

/// The clients of the source account.
pub struct SourceClients {
    pub iam: aws_sdk_iam::Client,
    pub codecommit: aws_sdk_codecommit::Client,
    pub events: aws_sdk_eventbridge::Client,
}

impl SourceClients {
    pub fn new(sdk: &Sdk) -> Self {
        SourceClients {
            iam: client!(aws_sdk_iam, sdk),
            codecommit: client!(aws_sdk_codecommit, sdk),
            events: client!(aws_sdk_eventbridge, sdk),
        }
    }
}

/// The error code of a failed call.
pub(crate) fn code_of<E, R>(err: &SdkError<E, R>) -> Option<String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    error_parts(err).0
}

/// The `Error` of a failed call: `what` names the call and the resource.
pub(crate) fn failed<E, R>(what: &str, account: &str, err: &SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let (code, message) = error_parts(err);
    bootstrap_call(what, account, code.as_deref(), &message)
}

/// The name and path of a role from its ARN: `arn:aws:iam::1:role/a/b/name` is `name` at `/a/b/`.
pub fn role_name_and_path(arn: &str) -> (String, String) {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    let inner = resource.strip_prefix("role/").unwrap_or(resource);
    match inner.rsplit_once('/') {
        Some((path, name)) => (name.to_owned(), format!("/{path}/")),
        None => (inner.to_owned(), "/".to_owned()),
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); decode them, leave plain JSON alone.
pub fn decode_policy(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_and_paths() {
        assert_eq!(
            role_name_and_path("arn:aws:iam::111111111111:role/hello-codepipeline"),
            ("hello-codepipeline".into(), "/".into())
        );
        assert_eq!(
            role_name_and_path("arn:aws:iam::111111111111:role/service-role/team/x"),
            ("x".into(), "/service-role/team/".into())
        );
    }

    #[test]
    fn policies_are_url_decoded_when_iam_encoded_them() {
        assert_eq!(
            decode_policy("%7B%22Version%22%3A%222012-10-17%22%7D"),
            "{\"Version\":\"2012-10-17\"}"
        );
        assert_eq!(decode_policy("{\"a\": \"%41\"}"), "{\"a\": \"%41\"}");
        assert_eq!(decode_policy("%7B%2"), "{%2");
    }
}
