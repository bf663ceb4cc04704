//! Hints for the credentials: a failed call with the base credentials (expired, refused,
//! missing) and a refused AssumeRole of the source-account role (trust policy, external id,
//! MFA, session duration).

use crate::aws::sts::AssumeRequest;
use crate::error::Error;

/// The code `error_parts` gives a call that failed because no credentials could be loaded.
pub const NO_CREDENTIALS: &str = "NoCredentials";
/// ... because the SSO session of the profile has expired.
pub const SSO_EXPIRED: &str = "SsoSessionExpired";

/// A call that failed before it was sent, while loading the credentials: a code of ours and a
/// plain message, or `None` when the failure is something else (the text says what).
pub(super) fn loading_failure(chain: &str) -> Option<(Option<String>, String)> {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("sso") && (lower.contains("expired") || lower.contains("aws sso login")) {
        return Some((
            Some(SSO_EXPIRED.to_owned()),
            "the SSO session of the profile has expired".to_owned(),
        ));
    }
    // The chain tried every provider; the last one (instance metadata) reports why it failed,
    // which says nothing about the machine of a user who simply has no credentials.
    if lower.contains("no providers in chain provided credentials")
        || lower.contains("imds")
        || lower.contains("credential provider was not enabled")
    {
        return Some((
            Some(NO_CREDENTIALS.to_owned()),
            "no AWS credentials found (none in the environment, the shared config and credentials \
             files, or instance metadata)"
                .to_owned(),
        ));
    }
    None
}

/// What a failed call with the base credentials means, and what to do about it.
pub fn base_credentials_error(
    code: Option<&str>,
    message: &str,
    no_credentials: bool,
    profile: Option<&str>,
) -> Error {
    let refresh = match profile {
        Some(p) => format!("refresh them: `aws sso login --profile {p}` for an SSO profile, or update profile {p:?} in ~/.aws/credentials"),
        None => "refresh them: `aws sso login` for an SSO profile, or export new AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN".to_owned(),
    };
    match code {
        Some(SSO_EXPIRED) => Error::op_hint(
            message.to_owned(),
            match profile {
                Some(p) => format!("run `aws sso login --profile {p}`"),
                None => "run `aws sso login --profile NAME` for the profile you use".to_owned(),
            },
        ),
        Some(NO_CREDENTIALS) => Error::op_hint(
            message.to_owned(),
            "give credentials of the pipeline account: --profile NAME (or AWS_PROFILE) for a \
             profile of ~/.aws/config, `aws sso login --profile NAME` for an SSO profile, or \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment",
        ),
        Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired") => Error::op_hint(
            format!("your AWS credentials have expired ({message})"),
            refresh,
        ),
        Some("InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException") => {
            Error::op_hint(
                format!("AWS does not accept your credentials ({message})"),
                format!("check the access key and secret, or {refresh}"),
            )
        }
        _ if no_credentials => Error::op_hint(
            format!("no AWS credentials found: {message}"),
            "give credentials of the pipeline account: --profile NAME (or AWS_PROFILE), `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ),
        Some(code) => Error::op(format!(
            "checking your AWS identity (sts:GetCallerIdentity): {code}: {message}"
        )),
        None => Error::op(format!(
            "checking your AWS identity (sts:GetCallerIdentity): {message}"
        )),
    }
}

/// What a refused AssumeRole means and how to fix it.
pub fn assume_role_failure(
    code: Option<&str>,
    message: &str,
    req: &AssumeRequest,
    base_arn: &str,
) -> Error {
    let role = &req.role_arn;
    let what = format!("cannot assume {role} as {base_arn}");
    match code {
        Some("AccessDenied") if message.contains("MultiFactorAuthentication") => Error::op_hint(
            format!("{what}: the MFA code was refused ({message})"),
            "check push.mfa-serial and give the code your device shows now (codes are single-use and change every 30 seconds)",
        ),
        Some("AccessDenied") => {
            let external = match &req.external_id {
                Some(_) => " with the condition sts:ExternalId equal to source.external-id",
                None => "",
            };
            let root = match crate::model::arn::parse_arn(base_arn) {
                Some(a) if crate::model::arn::is_account(a.account) => {
                    crate::model::arn::account_root(a.partition, a.account)
                }
                _ => "arn:aws:iam::<pipeline account>:root".to_owned(),
            };
            Error::op_hint(
                format!("{what}: {message}"),
                format!(
                    "check push.role-arn (or source.role-arn) names an existing role; its trust policy must let your account ({root}) or identity call sts:AssumeRole{external}, and your identity needs sts:AssumeRole on {role}. `cargo xpipeline policies` prints both documents",
                ),
            )
        }
        Some("ValidationError") if message.contains("DurationSeconds") => Error::op_hint(
            format!("{what}: {message}"),
            "lower push.duration-seconds, or raise the role's maximum session duration (iam update-role --max-session-duration)",
        ),
        Some("RegionDisabledException") => Error::op_hint(
            format!("{what}: {message}"),
            "activate STS for this region in the IAM console of the source account, or use --region",
        ),
        Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired") => {
            base_credentials_error(code, message, false, None)
        }
        Some(code) => Error::op(format!("{what}: {code}: {message}")),
        None => Error::op(format!("{what}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_fix() {
        let req = AssumeRequest {
            role_arn: "arn:aws:iam::222222222222:role/x".into(),
            session_name: "xpipeline-a".into(),
            duration_seconds: 3600,
            external_id: Some("ext".into()),
            mfa_serial: None,
            note: None,
        };
        let base = "arn:aws:iam::111111111111:user/alice";
        let e = assume_role_failure(Some("AccessDenied"), "not authorized", &req, base).to_string();
        assert!(
            e.contains("trust policy")
                && e.contains("arn:aws:iam::111111111111:root")
                && e.contains("sts:ExternalId"),
            "{e}"
        );
        let e =
            base_credentials_error(Some("ExpiredToken"), "expired", false, Some("dev")).to_string();
        assert!(
            e.contains("have expired") && e.contains("aws sso login --profile dev"),
            "{e}"
        );
        let e = base_credentials_error(None, "no credentials", true, None).to_string();
        assert!(e.contains("--profile"), "{e}");
    }

    #[test]
    fn credential_loading_failures_say_the_cause_not_imds() {
        let chain = "dispatch failure: other: an error occurred while loading credentials: failed to load IMDS session token: service error: request forbidden: IMDS is disabled";
        let (code, message) = loading_failure(chain).unwrap();
        assert_eq!(code.as_deref(), Some(NO_CREDENTIALS));
        assert!(!message.contains("IMDS"), "{message}");
        let e = base_credentials_error(code.as_deref(), &message, true, None).to_string();
        assert!(
            e.contains("AWS_ACCESS_KEY_ID") && e.contains("--profile"),
            "{e}"
        );

        let sso = "dispatch failure: other: failed to load SSO token: the SSO token has expired; to refresh this SSO session run aws sso login with the corresponding profile";
        let (code, message) = loading_failure(sso).unwrap();
        let e = base_credentials_error(code.as_deref(), &message, true, Some("dev")).to_string();
        assert!(e.contains("aws sso login --profile dev"), "{e}");

        assert_eq!(
            loading_failure("could not connect: connection refused"),
            None
        );
    }
}
