//! The result of `cargo xpipeline status`: the live pipeline, each stage's latest state and
//! the recent executions. JSON keys are camelCase (the README documents them).

use serde::Serialize;

use super::snapshot::{ExecutionSummary, Revision};
use super::status::{ActionStatus, StageStatus};
use super::view::Outline;
use crate::model::pipeline::declared_by::DeclaredBy;
use crate::model::text::one_line;

/// The execution mode CodePipeline applies when a pipeline declares none.
pub const DEFAULT_EXECUTION_MODE: &str = "SUPERSEDED";

/// The result of `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub pipeline: PipelineInfo,
    pub stages: Vec<StageState>,
    /// The manual approvals waiting for an answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<super::approval::Pending>,
    /// Newest first.
    pub executions: Vec<ExecutionRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub pipeline_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// Always set for a V2 pipeline (see `execution_mode`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_mode: Option<String>,
    pub region: String,
    pub pipeline_account: String,
    pub source_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// When AWS turned polling off (a polling pipeline inactive for 30 days): a branch update
    /// no longer starts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polling_disabled_at: Option<String>,
    /// The commit whose xpipeline.toml the pipeline holds (its xpipeline-declared-by tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_by: Option<DeclaredBy>,
}

/// The execution mode to report: the one AWS sent, else SUPERSEDED for a V2 pipeline (AWS
/// leaves the default out of GetPipeline).
pub fn execution_mode(pipeline_type: &str, sent: Option<&str>) -> Option<String> {
    match sent {
        Some(m) => Some(m.to_owned()),
        None if pipeline_type == "V2" => Some(DEFAULT_EXECUTION_MODE.to_owned()),
        None => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageState {
    pub name: String,
    /// The stage's latest status, or Pending when it never ran.
    pub status: StageStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    pub actions: Vec<ActionState>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionState {
    pub name: String,
    /// The action's latest status, or Pending when it never ran.
    pub status: ActionStatus,
    /// The revision the action last worked on (the commit, for the Source action).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_change: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `code: message`, as `ActionError` shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRow {
    pub id: String,
    #[serde(flatten)]
    pub outline: Outline,
    /// What the row means when its own words mislead (a creation run that failed for lack of
    /// the branch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The note of a creation run that failed because the branch did not exist yet.
pub const CREATED_BEFORE_BRANCH: &str = "the pipeline was created before its branch existed, so its first run found nothing to build; the next push builds it";

impl ExecutionRow {
    /// One row of the recent executions, at time `now` (seconds since the epoch).
    pub fn of(s: &ExecutionSummary, now: f64) -> ExecutionRow {
        let outline = Outline {
            status: s.status.clone(),
            status_summary: s.status_summary.clone(),
            revision: s.revisions.first().map(|r| Revision {
                commit: r.commit.clone(),
                summary: r.summary.as_deref().map(one_line),
            }),
            trigger: s.trigger.clone(),
            started: None,
            seconds: None,
        };
        ExecutionRow {
            id: s.id.clone(),
            outline: outline.timed(s.start, s.updated, now),
            note: s
                .created_before_branch()
                .then(|| CREATED_BEFORE_BRANCH.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::execution::ExecutionStatus;

    #[test]
    fn a_row_shows_commit_trigger_and_duration() {
        let s = ExecutionSummary {
            id: "e-1".into(),
            status: ExecutionStatus::Succeeded,
            status_summary: None,
            revisions: vec![Revision {
                commit: "0123456789abcdef".into(),
                summary: Some("Fix\n\nbody".into()),
            }],
            trigger: Some("StartPipelineExecution".into()),
            start: Some(1_000.0),
            updated: Some(1_065.0),
        };
        let r = ExecutionRow::of(&s, 5_000.0).outline;
        assert_eq!(r.seconds, Some(65.0));
        assert_eq!(r.trigger.as_deref(), Some("StartPipelineExecution"));
        assert_eq!(r.revision.as_ref().unwrap().summary.as_deref(), Some("Fix"));
        assert_eq!(r.started.as_deref(), Some("1970-01-01T00:16:40Z"));
        let running = ExecutionSummary {
            status: ExecutionStatus::InProgress,
            ..s
        };
        let r = ExecutionRow::of(&running, 1_100.0).outline;
        assert_eq!(r.seconds, Some(100.0));
    }

    #[test]
    fn a_v2_pipeline_always_names_its_execution_mode() {
        assert_eq!(execution_mode("V2", None).as_deref(), Some("SUPERSEDED"));
        assert_eq!(
            execution_mode("V2", Some("QUEUED")).as_deref(),
            Some("QUEUED")
        );
        assert_eq!(execution_mode("V1", None), None);
    }
}
