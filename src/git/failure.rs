//! What a failed git push means: libgit2's error or the endpoint's HTTP status turned into an
//! error that names the likely cause (the role's GitPush, the repository key, the clock, the
//! endpoint), a redirect to another host, or a refused update. Pure: the push's request in,
//! an `Error` out.

use git2::{ErrorClass, ErrorCode};

use super::push::Request;
use crate::error::Error;

/// The credentials callback's refusal to answer another host than the signed one.
pub(crate) const REDIRECTED: &str = "redirected to another host: ";
/// The credentials callback giving up after one refused attempt.
pub(crate) const REFUSED_CREDENTIALS: &str = "the git endpoint refused the signed credentials";

/// A git2 failure as an error that names the likely fix.
pub(crate) fn git_failure(e: &git2::Error, req: &Request) -> Error {
    // libgit2's message may quote what the remote sent.
    let msg = &crate::model::text::safe(e.message());
    let status = msg
        .split_once("status code: ")
        .and_then(|(_, s)| s.trim().parse::<u16>().ok());
    if msg.starts_with(REFUSED_CREDENTIALS) {
        return http_failure(401, req);
    }
    if let Some(other) = msg.strip_prefix(REDIRECTED) {
        let endpoint = &req.target.endpoint;
        return Error::op_hint(
            format!(
                "the git endpoint {} (from {}) redirected to {other}: the signed credentials were not sent there (they are valid only for {}), and nothing was pushed",
                endpoint.url, endpoint.origin, endpoint.host
            ),
            "point --git-endpoint (or source.git-endpoint) at the CodeCommit endpoint itself; a proxy in the way goes in HTTPS_PROXY, not in the endpoint",
        );
    }
    if let Some(status) = status {
        return http_failure(status, req);
    }
    if e.code() == ErrorCode::NotFastForward {
        return Error::op_hint(
            format!("git refused the push: {msg}"),
            "fetch the branch and merge or rebase onto it, or pass --force",
        );
    }
    let endpoint = &req.target.endpoint;
    match e.class() {
        ErrorClass::Net | ErrorClass::Http | ErrorClass::Ssl | ErrorClass::Os => Error::op_hint(
            format!(
                "cannot reach the CodeCommit git endpoint {} (from {}): {msg}",
                endpoint.url, endpoint.origin
            ),
            "check the network and proxy settings (HTTPS_PROXY, http.proxy), or choose another endpoint with --git-endpoint",
        ),
        _ => Error::op(format!("git push to {} failed: {msg}", endpoint.url)),
    }
}

/// What an HTTP status from the git endpoint means, most likely cause first.
pub fn http_failure(status: u16, req: &Request) -> Error {
    let t = &req.target;
    let arn = crate::model::arn::repository_arn(&t.region, &t.account, &t.repository);
    match status {
        401 | 403 => {
            let mut causes = vec![
                format!(
                    "the role {} lacks codecommit:GitPush (and codecommit:GitPull) on {arn}",
                    t.role_arn
                ),
                format!(
                    "the KMS key of repository {} denies the role kms:Encrypt/kms:Decrypt/kms:GenerateDataKey",
                    t.repository
                ),
            ];
            causes.push(match req.clock_skew {
                Some(s) if s.abs() >= 5 * 60 => format!(
                    "the local clock is {} by {} (compared with AWS's Date header); the signature is valid for 15 minutes: set the clock (NTP)",
                    if s > 0 { "ahead" } else { "behind" },
                    crate::model::text::duration(s.unsigned_abs() as f64)
                ),
                Some(s) => format!("the local clock is off (it is within {}s of AWS's, so probably not this)", s.abs()),
                None => "the local clock is off: the signature is valid for 15 minutes".to_owned(),
            });
            causes.push(format!(
                "the git endpoint {} (from {}) is not CodeCommit in {}: the password is signed for host {} and region {}",
                t.endpoint.url, t.endpoint.origin, t.region, t.endpoint.host, t.region
            ));
            let list = causes
                .iter()
                .enumerate()
                .map(|(i, c)| format!("\n  {}. {c}", i + 1))
                .collect::<String>();
            Error::op_hint(
                format!(
                    "CodeCommit refused the push to {} ({}). Likely causes, in order:{list}",
                    t.repository,
                    match status {
                        401 => "401: the signed credentials were not accepted",
                        _ => "403 Forbidden",
                    }
                ),
                "`cargo xpipeline policies` prints the role policy and key policy the source account needs",
            )
        }
        404 => Error::op_hint(
            format!(
                "repository {} not found in account {} ({})",
                t.repository, t.account, t.region
            ),
            format!(
                "create it (`aws codecommit create-repository --repository-name {}` in account {}, or `cargo xpipeline bootstrap`), or fix source.repository / source.account in xpipeline.toml",
                t.repository, t.account
            ),
        ),
        _ => Error::op(format!(
            "the git endpoint {} answered HTTP {status} for repository {}",
            t.endpoint.url, t.repository
        )),
    }
}

/// Whether `err` is the refusal `http_failure` reports for a 401/403 (`Some(false)`) or a 404
/// (`Some(true)`) of this request: the refusals CodeCommit's API can then explain precisely
/// (`aws::error::codecommit`).
pub fn refusal(err: &Error, req: &Request) -> Option<bool> {
    let shown = err.to_string();
    [(401, false), (403, false), (404, true)]
        .into_iter()
        .find(|(status, _)| http_failure(*status, req).to_string() == shown)
        .map(|(_, not_found)| not_found)
}
