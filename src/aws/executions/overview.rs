//! The `status` overview, the op: GetPipeline, GetPipelineState, ListPipelineExecutions and
//! ListTagsForResource (for the declaring commit) in parallel, mapped to the model's `Report`.

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineOutput;
use aws_sdk_codepipeline::operation::get_pipeline_state::GetPipelineStateOutput;
use aws_sdk_codepipeline::types::ActionState as SdkActionState;

use super::map::{action_error, secs};
use super::{call_failed, now_epoch, recent};
use crate::error::Result;
use crate::model::arn::{account_of, pipeline_arn};
use crate::model::execution::approval::Pending;
use crate::model::execution::report::execution_mode;
use crate::model::execution::{
    ActionState, ActionStatus, ExecutionRow, ExecutionSummary, PipelineInfo, Report, StageState,
    StageStatus,
};
use crate::model::pipeline::declared_by::{DECLARED_BY_TAG, DeclaredBy};
use crate::model::text::{one_line, timestamp};

/// What xpipeline.toml declares, for what the live pipeline does not say.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'a> {
    pub name: &'a str,
    pub region: &'a str,
    pub pipeline_account: &'a str,
    pub source_account: &'a str,
}

/// The live pipeline, its stages and its `n` most recent executions.
pub async fn overview(client: &Client, declared: Declared<'_>, n: i32) -> Result<Report> {
    let name = declared.name;
    let arn = pipeline_arn(declared.region, declared.pipeline_account, name);
    let (pipeline, state, recent, tags) = tokio::join!(
        client.get_pipeline().name(name).send(),
        client.get_pipeline_state().name(name).send(),
        recent(client, name, n),
        client.list_tags_for_resource().resource_arn(&arn).send(),
    );
    let pipeline = pipeline.map_err(|e| call_failed(&format!("GetPipeline {name}"), e))?;
    let state = state.map_err(|e| call_failed(&format!("GetPipelineState {name}"), e))?;
    let tags = tags.map_err(|e| call_failed(&format!("ListTagsForResource {name}"), e))?;
    // The tag is among the first page: a pipeline has at most 50 tags, and a page holds them.
    let declared_by = tags
        .tags()
        .iter()
        .find(|t| t.key() == DECLARED_BY_TAG)
        .map(|t| DeclaredBy::parse(t.value()));
    let mut r = report(declared, &pipeline, &state, &recent?, now_epoch());
    r.pipeline.declared_by = declared_by;
    Ok(r)
}

/// The report from the three answers; the accounts come from the live pipeline where it
/// says them (its ARN, the Source action's role), else from xpipeline.toml.
fn report(
    declared: Declared<'_>,
    pipeline: &GetPipelineOutput,
    state: &GetPipelineStateOutput,
    recent: &[ExecutionSummary],
    now: f64,
) -> Report {
    let decl = pipeline.pipeline();
    let source = decl.and_then(|p| {
        p.stages().iter().flat_map(|s| s.actions()).find(|a| {
            a.action_type_id()
                .is_some_and(|t| t.category().as_str() == "Source")
        })
    });
    let conf = |key: &str| {
        source
            .and_then(|a| a.configuration())
            .and_then(|c| c.get(key))
            .cloned()
    };
    let pipeline_type = decl
        .and_then(|p| p.pipeline_type())
        .map_or("V1", |t| t.as_str())
        .to_owned();
    let info = PipelineInfo {
        name: decl.map(|p| p.name()).unwrap_or(declared.name).to_owned(),
        version: state
            .pipeline_version()
            .or_else(|| decl.and_then(|p| p.version())),
        execution_mode: execution_mode(
            &pipeline_type,
            decl.and_then(|p| p.execution_mode()).map(|m| m.as_str()),
        ),
        pipeline_type,
        region: declared.region.to_owned(),
        pipeline_account: pipeline
            .metadata()
            .and_then(|m| m.pipeline_arn())
            .and_then(account_of)
            .unwrap_or(declared.pipeline_account)
            .to_owned(),
        source_account: source
            .and_then(|a| a.role_arn())
            .and_then(account_of)
            .unwrap_or(declared.source_account)
            .to_owned(),
        repository: conf("RepositoryName"),
        branch: conf("BranchName"),
        polling_disabled_at: pipeline
            .metadata()
            .and_then(|m| m.polling_disabled_at())
            .map(|t| timestamp(t.as_secs_f64())),
        declared_by: None,
    };
    let stages = state
        .stage_states()
        .iter()
        .map(|st| StageState {
            name: st.stage_name().unwrap_or_default().to_owned(),
            status: st
                .latest_execution()
                .map_or(StageStatus::Pending, |e| e.status().as_str().into()),
            execution_id: st
                .latest_execution()
                .map(|e| e.pipeline_execution_id().to_owned()),
            actions: st.action_states().iter().map(action_state).collect(),
        })
        .collect();
    // The approvals waiting: an action of the declaration's approvals, InProgress with a token.
    let gates = decl.map(|p| {
        let arn = pipeline.metadata().and_then(|m| m.pipeline_arn());
        crate::aws::approvals::gates_of(p, arn, declared.region)
    });
    let gates = gates.as_ref();
    let approvals = state
        .stage_states()
        .iter()
        .flat_map(|st| {
            let exec = st.latest_execution().map(|e| e.pipeline_execution_id());
            st.action_states().iter().filter_map(move |a| {
                let last = a.latest_execution()?;
                let waiting = last.token().is_some()
                    && last.status().map(|s| s.as_str()) == Some("InProgress");
                let (stage, action) = (st.stage_name()?, a.action_name()?);
                let gates = gates?;
                (waiting && gates.get(stage, action).is_some())
                    .then(|| Pending::of(gates, stage, action, exec))
            })
        })
        .collect();
    Report {
        pipeline: info,
        stages,
        approvals,
        executions: recent.iter().map(|s| ExecutionRow::of(s, now)).collect(),
    }
}

/// An action's latest run as GetPipelineState reports it.
fn action_state(a: &SdkActionState) -> ActionState {
    let last = a.latest_execution();
    ActionState {
        name: a.action_name().unwrap_or_default().to_owned(),
        status: last
            .and_then(|l| l.status())
            .map_or(ActionStatus::Pending, |s| s.as_str().into()),
        revision: a
            .current_revision()
            .map(|r| r.revision_id().to_owned())
            .or_else(|| {
                last.and_then(|l| l.external_execution_id())
                    .map(str::to_owned)
            }),
        summary: last.and_then(|l| l.summary()).map(one_line),
        last_change: secs(last.and_then(|l| l.last_status_change())).map(timestamp),
        url: last
            .and_then(|l| l.external_execution_url())
            .or_else(|| a.entity_url())
            .map(str::to_owned),
        error: last
            .and_then(|l| l.error_details())
            .map(|e| action_error(e).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codepipeline::types::{
        ActionExecution, ActionExecutionStatus, ErrorDetails, PipelineDeclaration, PipelineType,
        StageExecution, StageExecutionStatus, StageState as SdkStageState,
    };

    const DECLARED: Declared = Declared {
        name: "declared",
        region: "eu-west-1",
        pipeline_account: "111111111111",
        source_account: "222222222222",
    };

    #[test]
    fn the_report_reads_the_live_pipeline_and_fills_the_default_mode() {
        let decl = PipelineDeclaration::builder()
            .name("live")
            .role_arn("arn:aws:iam::111111111111:role/r")
            .pipeline_type(PipelineType::V2)
            .set_stages(Some(Vec::new()))
            .build()
            .unwrap();
        let pipeline = GetPipelineOutput::builder().pipeline(decl).build();
        let stage = SdkStageState::builder()
            .stage_name("Build")
            .latest_execution(
                StageExecution::builder()
                    .pipeline_execution_id("e-1")
                    .status(StageExecutionStatus::Failed)
                    .build()
                    .unwrap(),
            )
            .action_states(
                SdkActionState::builder()
                    .action_name("Build")
                    .latest_execution(
                        ActionExecution::builder()
                            .status(ActionExecutionStatus::Failed)
                            .error_details(
                                ErrorDetails::builder()
                                    .code("JobFailed")
                                    .message("boom\nmore")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build();
        let state = GetPipelineStateOutput::builder()
            .stage_states(stage)
            .stage_states(SdkStageState::builder().stage_name("Deploy").build())
            .build();
        let r = report(DECLARED, &pipeline, &state, &[], 0.0);
        assert_eq!(r.pipeline.name, "live");
        assert_eq!(r.pipeline.pipeline_type, "V2");
        assert_eq!(r.pipeline.execution_mode.as_deref(), Some("SUPERSEDED"));
        assert_eq!(r.pipeline.pipeline_account, "111111111111");
        assert_eq!(r.pipeline.region, "eu-west-1");
        assert_eq!(r.stages[0].status, StageStatus::Failed);
        let a = &r.stages[0].actions[0];
        assert_eq!(a.status, ActionStatus::Failed);
        assert_eq!(a.error.as_deref(), Some("JobFailed: boom"));
        assert_eq!(r.stages[1].status, StageStatus::Pending);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["pipeline"]["executionMode"], "SUPERSEDED");
        assert_eq!(json["stages"][1]["status"], "Pending");
    }
}
