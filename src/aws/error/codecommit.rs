//! Hints for a git push CodeCommit refused (HTTP 401, 403 or 404), told from what its API
//! (GetRepository, GetBranch: `aws::codecommit::Probe`) says: a missing repository, a denied
//! action quoted as AWS worded it, or a repository that exists although the git endpoint said
//! it does not (the endpoint or a proxy is not CodeCommit). `None` when the API cannot tell
//! more than the ranked guesses of `git::failure` (the clock, the key, GitPush itself).

use crate::aws::codecommit::{Answer, Probe};
use crate::error::Error;

/// Where the refused push went.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub repository: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub role_arn: &'a str,
    pub endpoint: &'a str,
}

/// The error to report instead of the git refusal, when the API said which one it is.
/// `not_found`: the git endpoint answered 404 (else 401/403).
pub fn push_refused(probe: &Probe, place: Place<'_>, not_found: bool) -> Option<Error> {
    let Place {
        repository,
        account,
        region,
        role_arn,
        endpoint,
    } = place;
    let arn = crate::model::arn::repository_arn(region, account, repository);
    match &probe.repository {
        Answer::Missing(said) => Some(Error::op_hint(
            format!(
                "repository {repository} not found in account {account} ({region}): CodeCommit's GetRepository says \"{said}\""
            ),
            format!(
                "create it (`aws codecommit create-repository --repository-name {repository}` in account {account}, or `cargo xpipeline bootstrap`), or fix source.repository / source.account in xpipeline.toml"
            ),
        )),
        // AWS authorizes before it looks: a denial also answers for a repository that does
        // not exist, when the role's policy names only the one it was granted.
        Answer::Denied(said) if not_found => Some(Error::op_hint(
            format!(
                "repository {repository} not found in account {account} ({region}) by the git endpoint, and the role {role_arn} may not read it through CodeCommit's API either. AWS says: \"{said}\""
            ),
            format!(
                "check source.repository / source.account in xpipeline.toml, or create it (`aws codecommit create-repository --repository-name {repository}` in account {account}, or `cargo xpipeline bootstrap`); if it exists, grant the role codecommit:GitPush, codecommit:GitPull and codecommit:GetRepository on {arn} (`cargo xpipeline policies`)"
            ),
        )),
        Answer::Denied(said) => Some(Error::op_hint(
            format!(
                "CodeCommit refused the push to {repository}: the role {role_arn} may not even read the repository. AWS says: \"{said}\""
            ),
            format!(
                "grant the role codecommit:GitPush, codecommit:GitPull and codecommit:GetRepository on {arn} (the PushTheConfiguredBranch and ReadTheRepository statements that `cargo xpipeline policies` prints; `cargo xpipeline bootstrap` puts them), or check that source.repository / source.account name the repository it was granted"
            ),
        )),
        Answer::Exists(_) if not_found => Some(Error::op_hint(
            format!(
                "the git endpoint {endpoint} answered 404 for repository {repository}, but CodeCommit's API (GetRepository) says it exists in account {account} ({region}): that endpoint is not CodeCommit's git endpoint, or a proxy answered for it"
            ),
            "check --git-endpoint / source.git-endpoint (leave them out for the regional endpoint) and the proxy settings (HTTPS_PROXY, http.proxy)",
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACE: Place<'static> = Place {
        repository: "hello",
        account: "222222222222",
        region: "eu-west-1",
        role_arn: "arn:aws:iam::222222222222:role/push",
        endpoint: "https://git-codecommit.eu-west-1.amazonaws.com",
    };

    fn probe(repository: Answer) -> Probe {
        Probe {
            repository,
            branch: Answer::Unknown("not asked".into()),
        }
    }

    #[test]
    fn a_denial_is_quoted_with_the_grant_that_fixes_it() {
        let said = "User: arn:aws:sts::222222222222:assumed-role/push/s is not authorized to perform: codecommit:GetRepository on resource: arn:aws:codecommit:eu-west-1:222222222222:hello";
        let e = push_refused(&probe(Answer::Denied(said.into())), PLACE, false)
            .unwrap()
            .to_string();
        assert!(e.contains(said), "{e}");
        assert!(
            e.contains("the role arn:aws:iam::222222222222:role/push"),
            "{e}"
        );
        assert!(e.contains("ReadTheRepository"), "{e}");
        // With a 404 from the git endpoint, the denial may hide a repository that is not there.
        let e = push_refused(&probe(Answer::Denied(said.into())), PLACE, true)
            .unwrap()
            .to_string();
        assert!(
            e.contains(
                "repository hello not found in account 222222222222 (eu-west-1) by the git endpoint"
            ),
            "{e}"
        );
        assert!(e.contains(said) && e.contains("create-repository"), "{e}");
    }

    #[test]
    fn a_missing_repository_says_how_to_create_it() {
        let e = push_refused(
            &probe(Answer::Missing("hello does not exist".into())),
            PLACE,
            true,
        )
        .unwrap()
        .to_string();
        assert!(
            e.contains("repository hello not found in account 222222222222"),
            "{e}"
        );
        assert!(e.contains("\"hello does not exist\""), "{e}");
        assert!(e.contains("create-repository"), "{e}");
    }

    #[test]
    fn a_404_for_a_repository_that_exists_blames_the_endpoint() {
        let e = push_refused(&probe(Answer::Exists(None)), PLACE, true)
            .unwrap()
            .to_string();
        assert!(e.contains("says it exists"), "{e}");
        assert!(e.contains("proxy"), "{e}");
        // A 403 on an existing, readable repository: the API cannot tell more.
        assert!(push_refused(&probe(Answer::Exists(None)), PLACE, false).is_none());
        assert!(push_refused(&probe(Answer::Unknown("x".into())), PLACE, true).is_none());
    }
}
