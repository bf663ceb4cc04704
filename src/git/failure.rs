//! What a failed git exchange means: the endpoint's HTTP status turned into an error that
//! names the likely cause (the role's GitPush, the repository key, the clock, the endpoint), a
//! redirect to another host, a timeout that says whether anything reached the remote, or a
//! refused update. Pure: the push's request in, an `Error` out.

use super::push::Request;
use super::wire::{ATTEMPTS, Failure};
use crate::error::Error;

/// Where the exchange was when it failed: before the POST nothing can have reached the
/// remote; from the POST on, the update may or may not have been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Advertisement,
    Post,
}

/// A transport failure as an error that says what happened, whether anything was pushed,
/// and the likely fix.
pub(crate) fn wire_failure(f: &Failure, req: &Request, phase: Phase) -> Error {
    let endpoint = &req.target.endpoint;
    let branch = &req.target.branch;
    let unknown = format!("whether the update of {branch} reached the remote is unknown");
    let check = "check with `cargo xpipeline push --dry-run` (it says \"up to date\" when the commit is there) or `cargo xpipeline fetch`; pushing again is safe";
    match f {
        Failure::Redirected(other) => Error::op_hint(
            format!(
                "the git endpoint {} (from {}) redirected to {other}: the signed credentials were not sent there (they are valid only for {}), and nothing was pushed",
                endpoint.url, endpoint.origin, endpoint.host
            ),
            "point --git-endpoint (or source.git-endpoint) at the CodeCommit endpoint itself; a proxy in the way goes in HTTPS_PROXY, not in the endpoint",
        ),
        Failure::Status(status, text) if throttled(*status, text) => Error::op_hint(
            format!(
                "the git endpoint {} is still throttling (HTTP {status}) after {ATTEMPTS} attempts: {}",
                endpoint.url,
                match phase {
                    Phase::Advertisement => "nothing was pushed".to_owned(),
                    Phase::Post => format!("{branch} was not updated"),
                }
            ),
            "wait a minute and push again",
        ),
        Failure::Status(status, _) => http_failure(*status, req),
        Failure::Connect(why) => Error::op_hint(
            format!(
                "cannot reach the CodeCommit git endpoint {} (from {}): {why}; nothing was pushed",
                endpoint.url, endpoint.origin
            ),
            "check the network, or choose another endpoint with --git-endpoint",
        ),
        Failure::Stalled { after, sent } => {
            let secs = after.as_secs();
            match (phase, sent) {
                (Phase::Advertisement, _) | (Phase::Post, 0) => Error::op_hint(
                    format!(
                        "the git endpoint {} did not answer for {secs}s (XPIPELINE_GIT_TIMEOUT): nothing was pushed",
                        endpoint.url
                    ),
                    "check the network and the endpoint; a slow link may need a larger XPIPELINE_GIT_TIMEOUT",
                ),
                (Phase::Post, _) => Error::op_hint(
                    format!(
                        "the git transfer to {} stalled: nothing moved for {secs}s (XPIPELINE_GIT_TIMEOUT) after {sent} bytes had been sent, and no report came back; {unknown}",
                        endpoint.url
                    ),
                    check,
                ),
            }
        }
        Failure::Broken(why) => match phase {
            Phase::Advertisement => Error::op_hint(
                format!(
                    "the connection to the git endpoint {} broke: {why}; nothing was pushed",
                    endpoint.url
                ),
                "check the network, then push again",
            ),
            Phase::Post => Error::op_hint(
                format!(
                    "the connection to the git endpoint {} broke during the push: {why}; {unknown}",
                    endpoint.url
                ),
                check,
            ),
        },
    }
}

fn throttled(status: u16, text: &str) -> bool {
    super::wire::throttled(status, text)
}

/// The push was sent but its outcome could not be read.
pub(crate) fn unreadable_report(why: &str, req: &Request) -> Error {
    Error::op_hint(
        format!(
            "the git endpoint {} answered the push with something that is not a git report ({why}); whether the update of {} reached the remote is unknown",
            req.target.endpoint.url, req.target.branch
        ),
        "check with `cargo xpipeline push --dry-run` (it says \"up to date\" when the commit is there) or `cargo xpipeline fetch`",
    )
}

/// The remote refused the update: a hook or a rule. `remote` are its messages, terminal-safe.
pub(crate) fn refused_update(why: &str, remote: &[String], req: &Request) -> Error {
    let said = match remote {
        [] => String::new(),
        lines => format!(
            "; the remote said:{}",
            lines
                .iter()
                .map(|l| format!("\n  remote: {l}"))
                .collect::<String>()
        ),
    };
    Error::op_hint(
        format!(
            "CodeCommit refused the update of {} in repository {}: {}{said}",
            req.target.branch,
            req.target.repository,
            crate::model::text::safe(why)
        ),
        "a branch protection, an approval rule or a server-side hook forbids it; the branch was not changed",
    )
}

/// The remote's side-band error (band 3).
pub(crate) fn remote_error(why: &str, req: &Request) -> Error {
    Error::op(format!(
        "the git endpoint {} stopped the push: {}",
        req.target.endpoint.url,
        crate::model::text::safe(why.trim())
    ))
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
