//! CodeCommit's API in the source account, with the push role's assumed credentials:
//! GetRepository and GetBranch, run side by side, say whether the repository and the branch
//! `push` writes to exist, or which action the role is denied, in AWS's own words. `push` reads
//! the answer to order its first push (a pipeline created before its branch exists fails its
//! first run) and to tell a refused git push precisely. Never prints.

use aws_credential_types::Credentials;
use aws_sdk_codecommit::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::Sdk;
use crate::aws::error::error_parts;

/// What one call said of the thing it asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// It exists (for a branch: the commit at its head).
    Exists(Option<String>),
    /// It does not exist: AWS's message.
    Missing(String),
    /// The role may not ask: AWS's AccessDeniedException message (it names the action, the
    /// resource and the role's session).
    Denied(String),
    /// Anything else (a network failure, an endpoint that is not CodeCommit): what it said.
    Unknown(String),
}

/// What CodeCommit's API says of the repository and the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub repository: Answer,
    pub branch: Answer,
}

/// A CodeCommit client of the source `account`: the one SDK configuration (endpoint,
/// retries, call log) with the assumed role's credentials, in memory only.
pub fn client(sdk: &Sdk, credentials: &Credentials, account: &str) -> Client {
    let source = Sdk {
        config: crate::aws::bootstrap::with_credentials(&sdk.config, credentials),
        calls: sdk.calls.for_account(account),
    };
    crate::aws::client!(aws_sdk_codecommit, &source)
}

/// GetRepository and GetBranch, concurrently.
pub async fn probe(client: &Client, repository: &str, branch: &str) -> Probe {
    let repo = async {
        match client
            .get_repository()
            .repository_name(repository)
            .send()
            .await
        {
            Ok(_) => Answer::Exists(None),
            Err(e) => answer_of(&e),
        }
    };
    let head = async {
        match client
            .get_branch()
            .repository_name(repository)
            .branch_name(branch)
            .send()
            .await
        {
            Ok(out) => Answer::Exists(out.branch.and_then(|b| b.commit_id)),
            Err(e) => answer_of(&e),
        }
    };
    let (repository, branch) = tokio::join!(repo, head);
    Probe { repository, branch }
}

fn answer_of<E>(err: &SdkError<E, HttpResponse>) -> Answer
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = error_parts(err);
    classify(code.as_deref(), message)
}

/// An error code and message of GetRepository or GetBranch as an `Answer`.
pub fn classify(code: Option<&str>, message: String) -> Answer {
    match code {
        Some("RepositoryDoesNotExistException" | "BranchDoesNotExistException") => {
            Answer::Missing(message)
        }
        Some("AccessDeniedException") => Answer::Denied(message),
        Some(c) => Answer::Unknown(format!("{c}: {message}")),
        None => Answer::Unknown(message),
    }
}

impl Probe {
    /// Whether the branch does not exist yet, as far as the API can tell: missing, or a
    /// repository that does not exist. `None` when the API could not say.
    pub fn branch_missing(&self) -> Option<bool> {
        match (&self.repository, &self.branch) {
            (_, Answer::Exists(_)) => Some(false),
            (_, Answer::Missing(_)) | (Answer::Missing(_), _) => Some(true),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_answers() {
        assert_eq!(
            classify(
                Some("RepositoryDoesNotExistException"),
                "r does not exist".into()
            ),
            Answer::Missing("r does not exist".into())
        );
        assert!(matches!(
            classify(Some("AccessDeniedException"), "User: x is not authorized".into()),
            Answer::Denied(m) if m.contains("not authorized")
        ));
        assert_eq!(
            classify(Some("InternalFailure"), "boom".into()),
            Answer::Unknown("InternalFailure: boom".into())
        );
    }

    #[test]
    fn a_branch_is_known_missing_only_when_the_api_says_so() {
        let p = |repository, branch| Probe { repository, branch };
        let missing = || Answer::Missing("gone".into());
        let denied = || Answer::Denied("no".into());
        assert_eq!(
            p(Answer::Exists(None), Answer::Exists(Some("c".into()))).branch_missing(),
            Some(false)
        );
        assert_eq!(
            p(Answer::Exists(None), missing()).branch_missing(),
            Some(true)
        );
        assert_eq!(p(missing(), denied()).branch_missing(), Some(true));
        assert_eq!(p(Answer::Exists(None), denied()).branch_missing(), None);
        assert_eq!(
            p(denied(), Answer::Unknown("x".into())).branch_missing(),
            None
        );
    }
}
