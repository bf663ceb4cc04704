//! CodePipeline's SDK types as model values: one tick's answers as a `Snapshot`, a line of
//! ListPipelineExecutions as an `ExecutionSummary`, a declaration as a `Layout`. Pure.

use aws_sdk_codepipeline::types::{
    ActionExecutionDetail, PipelineDeclaration, PipelineExecution, PipelineExecutionSummary,
};

use crate::model::execution::{
    ActionError, ActionResult, ActionRun, ActionStatus, ExecutionStatus, ExecutionSummary, Layout,
    Revision, SOURCE_ACTION, Snapshot,
};

/// An SDK time as seconds since the epoch.
pub fn secs(t: Option<&aws_smithy_types::DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// The revision summary of a source: CodeCommit sends the commit message; some providers a
/// JSON object with a CommitMessage.
fn revision_summary(s: &str) -> String {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .and_then(|v| v.get("CommitMessage")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| s.to_owned())
}

/// The error AWS reports for an action, without a message when it sent none.
pub fn action_error(e: &aws_sdk_codepipeline::types::ErrorDetails) -> ActionError {
    ActionError {
        code: e.code().map(str::to_owned),
        message: e.message().unwrap_or("no message").to_owned(),
    }
}

fn action_run(d: &ActionExecutionDetail) -> ActionRun {
    let result = d.output().and_then(|o| o.execution_result());
    ActionRun {
        stage: d.stage_name().unwrap_or_default().to_owned(),
        action: d.action_name().unwrap_or_default().to_owned(),
        provider: d
            .input()
            .and_then(|i| i.action_type_id())
            .map(|t| t.provider().to_owned()),
        status: d
            .status()
            .map_or(ActionStatus::InProgress, |s| s.as_str().into()),
        start: secs(d.start_time()),
        updated: secs(d.last_update_time()),
        result: ActionResult {
            external_id: result
                .and_then(|r| r.external_execution_id())
                .map(str::to_owned),
            url: result
                .and_then(|r| r.external_execution_url())
                .map(str::to_owned),
            summary: result
                .and_then(|r| r.external_execution_summary())
                .map(str::to_owned),
            error: result.and_then(|r| r.error_details()).map(action_error),
        },
    }
}

/// One tick's answers (GetPipelineExecution, ListActionExecutions) as a snapshot.
pub fn snapshot_of(
    pipeline: &str,
    exec: &PipelineExecution,
    details: &[ActionExecutionDetail],
) -> Snapshot {
    let actions: Vec<ActionRun> = details.iter().map(action_run).collect();
    let revision = exec
        .artifact_revisions()
        .iter()
        .find_map(|r| {
            Some(Revision {
                commit: r.revision_id()?.to_owned(),
                summary: r.revision_summary().map(revision_summary),
            })
        })
        .or_else(|| {
            // Before the Source action ends, the artifacts are not known yet; its run is.
            actions.iter().find_map(|a| {
                (a.stage == SOURCE_ACTION && a.status == ActionStatus::Succeeded).then(|| {
                    Revision {
                        commit: a.result.external_id.clone().unwrap_or_default(),
                        summary: a.result.summary.as_deref().map(revision_summary),
                    }
                })
            })
        })
        .filter(|r| !r.commit.is_empty());
    Snapshot {
        pipeline: pipeline.to_owned(),
        execution_id: exec.pipeline_execution_id().unwrap_or_default().to_owned(),
        status: exec
            .status()
            .map_or(ExecutionStatus::InProgress, |s| s.as_str().into()),
        status_summary: exec.status_summary().map(str::to_owned),
        revision,
        trigger: exec
            .trigger()
            .and_then(|t| t.trigger_type())
            .map(|t| t.as_str().to_owned()),
        actions,
        builds: Default::default(),
    }
}

/// A line of ListPipelineExecutions; an execution without a status is "Unknown".
pub fn summary_of(s: &PipelineExecutionSummary) -> ExecutionSummary {
    ExecutionSummary {
        id: s.pipeline_execution_id().unwrap_or_default().to_owned(),
        status: s
            .status()
            .map_or(ExecutionStatus::Unknown("Unknown".to_owned()), |st| {
                st.as_str().into()
            }),
        status_summary: s.status_summary().map(str::to_owned),
        revisions: s
            .source_revisions()
            .iter()
            .filter_map(|r| {
                Some(Revision {
                    commit: r.revision_id()?.to_owned(),
                    summary: r.revision_summary().map(str::to_owned),
                })
            })
            .collect(),
        trigger: s
            .trigger()
            .and_then(|t| t.trigger_type())
            .map(|t| t.as_str().to_owned()),
        start: secs(s.start_time()),
        updated: secs(s.last_update_time()),
    }
}

/// The stages and actions of a pipeline declaration, in order.
pub fn layout_of(p: &PipelineDeclaration) -> Layout {
    p.stages()
        .iter()
        .map(|s| {
            (
                s.name().to_owned(),
                s.actions().iter().map(|a| a.name().to_owned()).collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codepipeline::types::{
        ActionExecutionOutput, ActionExecutionResult, ActionExecutionStatus, ArtifactRevision,
        ErrorDetails, ExecutionTrigger, PipelineExecutionStatus, SourceRevision, TriggerType,
    };

    #[test]
    fn sdk_answers_become_a_snapshot() {
        let exec = PipelineExecution::builder()
            .pipeline_execution_id("e-1")
            .status(PipelineExecutionStatus::Failed)
            .artifact_revisions(
                ArtifactRevision::builder()
                    .revision_id("abc1234def")
                    .revision_summary(r#"{"ProviderType":"GitHub","CommitMessage":"Fix it"}"#)
                    .build(),
            )
            .build();
        let detail = ActionExecutionDetail::builder()
            .stage_name("Build")
            .action_name("Build")
            .status(ActionExecutionStatus::Failed)
            .start_time(aws_smithy_types::DateTime::from_secs(100))
            .last_update_time(aws_smithy_types::DateTime::from_secs(130))
            .output(
                ActionExecutionOutput::builder()
                    .execution_result(
                        ActionExecutionResult::builder()
                            .external_execution_id("demo-build:1")
                            .external_execution_url("https://console/b/1")
                            .error_details(
                                ErrorDetails::builder()
                                    .code("JobFailed")
                                    .message("cargo test failed")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build();
        let s = snapshot_of("p", &exec, &[detail]);
        assert_eq!(s.status, ExecutionStatus::Failed);
        assert_eq!(s.revision.as_ref().unwrap().commit, "abc1234def");
        assert_eq!(
            s.revision.as_ref().unwrap().summary.as_deref(),
            Some("Fix it")
        );
        let a = &s.actions[0];
        assert_eq!(a.status, ActionStatus::Failed);
        assert_eq!((a.start, a.updated), (Some(100.0), Some(130.0)));
        assert_eq!(
            a.result.error.as_ref().unwrap().message,
            "cargo test failed"
        );
        assert_eq!(a.result.url.as_deref(), Some("https://console/b/1"));
    }

    #[test]
    fn before_the_artifacts_the_source_run_names_the_revision() {
        let exec = PipelineExecution::builder()
            .pipeline_execution_id("e-1")
            .build();
        let source = ActionExecutionDetail::builder()
            .stage_name("Source")
            .action_name("Source")
            .status(ActionExecutionStatus::Succeeded)
            .output(
                ActionExecutionOutput::builder()
                    .execution_result(
                        ActionExecutionResult::builder()
                            .external_execution_id("0123456789abcdef")
                            .external_execution_summary("Add it")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let s = snapshot_of("p", &exec, &[source]);
        assert_eq!(s.status, ExecutionStatus::InProgress);
        let r = s.revision.unwrap();
        assert_eq!(
            (r.commit.as_str(), r.summary.as_deref()),
            ("0123456789abcdef", Some("Add it"))
        );
    }

    #[test]
    fn a_summary_keeps_revisions_trigger_and_times() {
        let s = PipelineExecutionSummary::builder()
            .pipeline_execution_id("e-1")
            .status(PipelineExecutionStatus::Succeeded)
            .start_time(aws_smithy_types::DateTime::from_secs(1_000))
            .last_update_time(aws_smithy_types::DateTime::from_secs(1_065))
            .source_revisions(
                SourceRevision::builder()
                    .action_name("Source")
                    .revision_id("0123456789abcdef")
                    .revision_summary("Fix\n\nbody")
                    .build()
                    .unwrap(),
            )
            .trigger(
                ExecutionTrigger::builder()
                    .trigger_type(TriggerType::CreatePipeline)
                    .build(),
            )
            .build();
        let m = summary_of(&s);
        assert_eq!(m.status, ExecutionStatus::Succeeded);
        assert_eq!((m.start, m.updated), (Some(1_000.0), Some(1_065.0)));
        assert_eq!(m.revisions[0].summary.as_deref(), Some("Fix\n\nbody"));
        assert!(m.started_by_creation());
        let bare = summary_of(&PipelineExecutionSummary::builder().build());
        assert_eq!(bare.status.as_str(), "Unknown");
    }
}
