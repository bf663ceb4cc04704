//! What AWS says about executions, as plain values: one tick of a followed execution
//! (`Snapshot`: GetPipelineExecution plus ListActionExecutions), one line of
//! ListPipelineExecutions (`ExecutionSummary`), the declared layout, and the decisions made
//! from them: which execution builds a commit, which one `--watch` follows, the request token.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::build::{Build, CODEBUILD};
use super::status::{ActionStatus, ExecutionStatus};
use crate::model::text::{one_line, short_commit};

/// The name of the Source stage and action of the declared pipeline.
pub const SOURCE_ACTION: &str = "Source";

/// The trigger of the execution CreatePipeline starts by itself.
pub const CREATE_PIPELINE_TRIGGER: &str = "CreatePipeline";

/// One run of one action in the followed execution, as ListActionExecutions reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRun {
    pub stage: String,
    pub action: String,
    pub status: ActionStatus,
    /// actionTypeId.provider: CodeBuild, CodeCommit, ...
    #[serde(skip)]
    pub provider: Option<String>,
    /// Seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<f64>,
    #[serde(flatten)]
    pub result: ActionResult,
}

/// What a run of an action reports about its work (AWS's ActionExecutionResult).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionResult {
    /// The CodeBuild build id, the commit of a Source action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ActionError>,
}

impl ActionRun {
    /// The CodeBuild build this run started, when it is a CodeBuild action that has one.
    pub fn build_id(&self) -> Option<&str> {
        (self.provider.as_deref() == Some(CODEBUILD))
            .then_some(self.result.external_id.as_deref())
            .flatten()
    }

    /// Seconds from its start to its end (to `now` while it runs).
    pub fn seconds(&self, now: f64) -> Option<f64> {
        let start = self.start?;
        let end = if self.status == ActionStatus::InProgress {
            now
        } else {
            self.updated.unwrap_or(now)
        };
        Some((end - start).max(0.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

/// `JobFailed: cargo test failed` (the message's first line).
impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", one_line(&self.message)),
            None => f.write_str(&one_line(&self.message)),
        }
    }
}

/// The source revision an execution builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub commit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// `0123456789ab "Fix the build"`: the short commit and the message's first line.
impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(short_commit(&self.commit))?;
        match self.summary.as_deref().map(one_line) {
            Some(s) if !s.is_empty() => write!(f, " \"{s}\""),
            _ => Ok(()),
        }
    }
}

/// What one tick saw: GetPipelineExecution plus ListActionExecutions of that execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub pipeline: String,
    pub execution_id: String,
    pub status: ExecutionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    pub actions: Vec<ActionRun>,
    /// The CodeBuild builds of its CodeBuild actions, by build id, when they were read
    /// (BatchGetBuilds); absent builds are simply not shown.
    #[serde(skip)]
    pub builds: BTreeMap<String, Build>,
}

impl Snapshot {
    /// The latest run of each (stage, action): a retried stage runs its actions again.
    pub fn latest_runs(&self) -> BTreeMap<(&str, &str), &ActionRun> {
        let mut out: BTreeMap<(&str, &str), &ActionRun> = BTreeMap::new();
        for r in &self.actions {
            let key = (r.stage.as_str(), r.action.as_str());
            match out.get(&key) {
                Some(old) if old.start.unwrap_or(0.0) > r.start.unwrap_or(0.0) => {}
                _ => {
                    out.insert(key, r);
                }
            }
        }
        out
    }

    /// The build of a run, when it was read.
    pub fn build_of(&self, run: &ActionRun) -> Option<&Build> {
        self.builds.get(run.build_id()?)
    }
}

/// The declared stages and their actions, in order (from GetPipeline), so that actions not
/// started yet can be shown as pending.
pub type Layout = Vec<(String, Vec<String>)>;

/// One execution as ListPipelineExecutions sums it up.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionSummary {
    pub id: String,
    pub status: ExecutionStatus,
    pub status_summary: Option<String>,
    /// The source revisions, each with AWS's revision summary as sent.
    pub revisions: Vec<Revision>,
    pub trigger: Option<String>,
    /// Seconds since the epoch.
    pub start: Option<f64>,
    pub updated: Option<f64>,
}

/// Does `revision` (a full commit id from AWS) name `commit` (full, or a prefix of 7+)?
pub fn same_commit(revision: &str, commit: &str) -> bool {
    commit.len() >= 7 && revision.len() >= commit.len() && revision.starts_with(commit)
}

/// What a summary of ListPipelineExecutions says about a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builds {
    /// Its Source action fetched this commit.
    Yes,
    /// It fetched another revision, or ended without one.
    No,
    /// Its Source action has not reported a revision yet.
    NotYet,
}

impl ExecutionSummary {
    pub fn builds(&self, commit: &str) -> Builds {
        if self
            .revisions
            .iter()
            .any(|r| same_commit(&r.commit, commit))
        {
            Builds::Yes
        } else if self.revisions.is_empty() && !self.status.is_terminal() {
            Builds::NotYet
        } else {
            Builds::No
        }
    }

    /// The execution CreatePipeline started by itself.
    pub fn started_by_creation(&self) -> bool {
        self.trigger.as_deref() == Some(CREATE_PIPELINE_TRIGGER)
    }

    /// The run CreatePipeline started by itself failed before its Source action fetched a
    /// commit, for lack of the branch (AWS's summary, when it gives one, names the branch): the
    /// pipeline was created before its branch existed.
    pub fn created_before_branch(&self) -> bool {
        self.started_by_creation()
            && self.status == ExecutionStatus::Failed
            && self.revisions.is_empty()
            && self
                .status_summary
                .as_deref()
                .is_none_or(|s| s.contains("no branch named"))
    }
}

/// The execution `status --watch` follows among the recent ones (newest first): the newest
/// one running, else the newest.
pub fn current(recent: &[ExecutionSummary]) -> Option<&str> {
    recent
        .iter()
        .find(|s| s.status.is_running())
        .or_else(|| recent.first())
        .map(|s| s.id.as_str())
}

/// The running execution already building `commit` (an earlier push of the same commit,
/// interrupted): following it beats starting a second one that would supersede it.
pub fn running_for<'a>(recent: &'a [ExecutionSummary], commit: &str) -> Option<&'a str> {
    recent
        .iter()
        .find(|s| s.builds(commit) == Builds::Yes && s.status.is_running())
        .map(|s| s.id.as_str())
}

/// A clientRequestToken for StartPipelineExecution: the SDK's retries of one request reuse it
/// (so a retried start never starts a second execution); another run of the tool gets
/// another one. [A-Za-z0-9-], at most 128 characters.
pub fn request_token(commit: &str, nanos: u128) -> String {
    let short: String = commit
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    format!("xpipeline-{short}-{nanos:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "0123456789abcdef0123456789abcdef01234567";

    fn summary(id: &str, status: ExecutionStatus, rev: Option<&str>) -> ExecutionSummary {
        ExecutionSummary {
            id: id.into(),
            status,
            status_summary: None,
            revisions: rev
                .map(|r| Revision {
                    commit: r.into(),
                    summary: None,
                })
                .into_iter()
                .collect(),
            trigger: None,
            start: None,
            updated: None,
        }
    }

    #[test]
    fn commits_match_in_full_or_by_a_long_enough_prefix() {
        assert!(same_commit(C, C));
        assert!(same_commit(C, "0123456"));
        assert!(!same_commit(C, "0123"));
        assert!(!same_commit(C, "1123456789"));
    }

    #[test]
    fn an_execution_builds_a_commit_once_its_source_says_so() {
        use ExecutionStatus as S;
        assert_eq!(summary("e", S::InProgress, Some(C)).builds(C), Builds::Yes);
        assert_eq!(summary("e", S::InProgress, None).builds(C), Builds::NotYet);
        assert_eq!(summary("e", S::Failed, None).builds(C), Builds::No);
        assert_eq!(
            summary("e", S::InProgress, Some("ffffffffff")).builds(C),
            Builds::No
        );
    }

    #[test]
    fn watch_follows_the_newest_execution_in_progress_else_the_newest() {
        use ExecutionStatus as S;
        let list = [
            summary("e-3", S::Succeeded, None),
            summary("e-2", S::InProgress, None),
            summary("e-1", S::InProgress, None),
        ];
        assert_eq!(current(&list), Some("e-2"));
        assert_eq!(current(&list[..1]), Some("e-3"));
        assert_eq!(current(&[]), None);
    }

    #[test]
    fn only_a_running_execution_of_the_commit_is_followed_again() {
        use ExecutionStatus as S;
        let list = [
            summary("e-3", S::Succeeded, Some(C)),
            summary("e-2", S::Stopping, Some(C)),
            summary("e-1", S::InProgress, Some("ffffffffff")),
        ];
        assert_eq!(running_for(&list, C), Some("e-2"));
        assert_eq!(running_for(&list[..1], C), None);
    }

    #[test]
    fn revisions_and_errors_read_as_one_line() {
        let r = Revision {
            commit: C.into(),
            summary: Some("Fix it\n\nbody".into()),
        };
        assert_eq!(r.to_string(), "0123456789ab \"Fix it\"");
        let bare = Revision {
            commit: "abc".into(),
            summary: Some(" ".into()),
        };
        assert_eq!(bare.to_string(), "abc");
        let e = ActionError {
            code: Some("JobFailed".into()),
            message: "tests failed\nmore".into(),
        };
        assert_eq!(e.to_string(), "JobFailed: tests failed");
        let e = ActionError {
            code: None,
            message: "boom".into(),
        };
        assert_eq!(e.to_string(), "boom");
    }

    #[test]
    fn a_creation_run_failed_for_lack_of_a_branch_is_recognised() {
        let mut s = summary("e", ExecutionStatus::Failed, None);
        assert!(!s.created_before_branch(), "not started by CreatePipeline");
        s.trigger = Some(CREATE_PIPELINE_TRIGGER.into());
        assert!(s.created_before_branch());
        s.status_summary = Some("The action failed because no branch named main was found in the selected AWS CodeCommit repository r.".into());
        assert!(s.created_before_branch());
        s.status_summary = Some("Access denied".into());
        assert!(!s.created_before_branch(), "another failure");
        let built = summary("e", ExecutionStatus::Failed, Some(C));
        let built = ExecutionSummary {
            trigger: Some(CREATE_PIPELINE_TRIGGER.into()),
            ..built
        };
        assert!(!built.created_before_branch(), "it fetched a commit");
    }

    #[test]
    fn request_tokens_fit_the_api_pattern() {
        let t = request_token("0123456789abcdef", 0xdead_beef);
        assert_eq!(t, "xpipeline-0123456789ab-deadbeef");
        assert!(t.len() <= 128);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
