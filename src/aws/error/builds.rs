//! Hints for the calls that read a build and its log: CodeBuild BatchGetBuilds and
//! CloudWatch Logs GetLogEvents, made by the watch (with --logs, and on failure) and `logs`.

use crate::error::Error;

/// The error to report for a failed BatchGetBuilds or GetLogEvents, with a hint where one
/// helps.
pub fn build_call(what: &str, code: Option<&str>, message: &str) -> Error {
    match code {
        Some(c) if c.contains("AccessDenied") || c == "UnauthorizedOperation" => Error::op_hint(
            format!("{what}: {c}: {message}"),
            "following a build needs codebuild:BatchGetBuilds on the build.project project and \
             logs:GetLogEvents on its log group (/aws/codebuild/<project> unless the project \
             configures another): see `cargo xpipeline policies`",
        ),
        Some(c @ ("ExpiredToken" | "ExpiredTokenException" | "RequestExpired")) => Error::op_hint(
            format!("{what}: {c}: {message}"),
            "the base credentials expired: refresh them (`aws sso login`, or export new keys)",
        ),
        Some(c @ "ResourceNotFoundException") => Error::op_hint(
            format!("{what}: {c}: {message}"),
            "the build's log group or stream is gone: its retention may have expired it",
        ),
        Some(c) => Error::op(format!("{what}: {c}: {message}")),
        None => Error::op(format!("{what}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_names_both_permissions() {
        let e = build_call("BatchGetBuilds of p:1", Some("AccessDeniedException"), "no");
        let (msg, hint) = e.parts();
        assert!(
            msg.starts_with("BatchGetBuilds of p:1: AccessDeniedException"),
            "{msg}"
        );
        assert!(hint.contains("codebuild:BatchGetBuilds"), "{hint}");
        assert!(hint.contains("logs:GetLogEvents"), "{hint}");
        assert_eq!(build_call("x", None, "boom").to_string(), "x: boom");
    }
}
