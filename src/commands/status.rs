//! `cargo xpipeline status`: the live pipeline (name, type, version, both accounts), each
//! stage's latest state with its revision, and the recent executions — three calls made in
//! parallel. `--execution ID` shows one execution; `--watch` follows the current one (or ID)
//! until it ends, and exits 3 unless it succeeded.

use std::fmt;

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineOutput;
use aws_sdk_codepipeline::operation::get_pipeline_state::GetPipelineStateOutput;
use aws_sdk_codepipeline::types::PipelineExecutionSummary;
use serde::Serialize;

use crate::aws::{self, executions};
use crate::cli::StatusArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::arn::account_of;
use crate::settings::Settings;
use crate::ui::Ui;
use crate::ui::watch::{self, Revision};

/// How many recent executions the overview lists.
const RECENT: i32 = 10;

pub fn run(args: &StatusArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    aws::block_on(run_async(args, settings, cfg, ui))?
}

async fn run_async(args: &StatusArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    let sdk = aws::sdk_config(settings).await;
    let client = Client::new(&sdk);
    let name = &cfg.pipeline.name;
    match (args.watch, args.execution.as_deref()) {
        (false, None) => {
            let report = overview(&client, cfg).await?;
            ui.result(&report)
        }
        (false, Some(id)) => {
            let view = executions::execution_view(&client, name, id).await?;
            ui.result(&view)
        }
        (true, id) => {
            let id = match id {
                Some(id) => id.to_owned(),
                None => {
                    let recent = executions::recent_executions(&client, name, RECENT).await?;
                    let current = current(&recent).ok_or_else(|| {
                        Error::op_hint(
                            format!("pipeline {name} has no executions to watch"),
                            "start one with `cargo xpipeline push`",
                        )
                    })?;
                    ui.status(format_args!(
                        "watching execution {current} of {name} (`--execution ID` picks another)"
                    ));
                    current.to_owned()
                }
            };
            let view =
                executions::watch_execution(&client, name, &id, None, settings.watch_outage, ui)
                    .await?;
            ui.result(&view)?;
            match watch::failure(&view) {
                None => Ok(()),
                Some(msg) => Err(Error::Pipeline(msg)),
            }
        }
    }
}

/// The execution `--watch` follows: the newest one in progress, else the newest.
pub fn current(recent: &[PipelineExecutionSummary]) -> Option<&str> {
    recent
        .iter()
        .find(|s| {
            s.status()
                .is_some_and(|st| matches!(st.as_str(), "InProgress" | "Stopping"))
        })
        .or_else(|| recent.first())
        .and_then(|s| s.pipeline_execution_id())
}

/// GetPipeline, GetPipelineState and ListPipelineExecutions, in parallel.
async fn overview(client: &Client, cfg: &Config) -> Result<Report> {
    let name = &cfg.pipeline.name;
    let (pipeline, state, recent) = tokio::join!(
        client.get_pipeline().name(name).send(),
        client.get_pipeline_state().name(name).send(),
        executions::recent_executions(client, name, RECENT),
    );
    let pipeline =
        pipeline.map_err(|e| executions::call_failed(&format!("GetPipeline {name}"), e))?;
    let state =
        state.map_err(|e| executions::call_failed(&format!("GetPipelineState {name}"), e))?;
    Ok(report(
        cfg,
        &pipeline,
        &state,
        &recent?,
        executions::now_epoch(),
    ))
}

/// The result of `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub pipeline: PipelineInfo,
    pub stages: Vec<StageState>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_mode: Option<String>,
    pub region: String,
    pub pipeline_account: String,
    pub source_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageState {
    pub name: String,
    /// The stage's latest status, or "Pending" when it never ran.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    pub actions: Vec<ActionState>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionState {
    pub name: String,
    pub status: String,
    /// The revision the action last worked on (the commit, for the Source action).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_change: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRow {
    pub id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// From start to the last update (to now while it runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

fn secs(t: Option<&aws_smithy_types::DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// One row of the recent executions.
pub fn row(s: &PipelineExecutionSummary, now: f64) -> ExecutionRow {
    let status = s
        .status()
        .map(|x| x.as_str())
        .unwrap_or("Unknown")
        .to_owned();
    let start = secs(s.start_time());
    let end = if watch::is_final(&status) {
        secs(s.last_update_time()).unwrap_or(now)
    } else {
        now
    };
    ExecutionRow {
        id: s.pipeline_execution_id().unwrap_or_default().to_owned(),
        status_summary: s.status_summary().map(str::to_owned),
        revision: s.source_revisions().iter().find_map(|r| {
            Some(Revision {
                commit: r.revision_id()?.to_owned(),
                summary: r.revision_summary().map(watch::one_line),
            })
        }),
        trigger: s
            .trigger()
            .and_then(|t| t.trigger_type())
            .map(|t| t.as_str().to_owned()),
        started: start.map(watch::timestamp),
        seconds: start.map(|st| (end - st).max(0.0)),
        status,
    }
}

/// The report from the three answers; the accounts come from the live pipeline where it
/// says them (its ARN, the Source action's role), else from xpipeline.toml.
pub fn report(
    cfg: &Config,
    pipeline: &GetPipelineOutput,
    state: &GetPipelineStateOutput,
    recent: &[PipelineExecutionSummary],
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
    let info = PipelineInfo {
        name: decl
            .map(|p| p.name().to_owned())
            .unwrap_or_else(|| cfg.pipeline.name.clone()),
        pipeline_type: decl
            .and_then(|p| p.pipeline_type())
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| "V1".to_owned()),
        version: state
            .pipeline_version()
            .or_else(|| decl.and_then(|p| p.version())),
        execution_mode: decl
            .and_then(|p| p.execution_mode())
            .map(|m| m.as_str().to_owned()),
        region: cfg.pipeline.region.clone(),
        pipeline_account: pipeline
            .metadata()
            .and_then(|m| m.pipeline_arn())
            .and_then(account_of)
            .unwrap_or(&cfg.pipeline.account)
            .to_owned(),
        source_account: source
            .and_then(|a| a.role_arn())
            .and_then(account_of)
            .unwrap_or(&cfg.source.account)
            .to_owned(),
        repository: conf("RepositoryName"),
        branch: conf("BranchName"),
    };
    let stages = state
        .stage_states()
        .iter()
        .map(|st| StageState {
            name: st.stage_name().unwrap_or_default().to_owned(),
            status: st
                .latest_execution()
                .map(|e| e.status().as_str().to_owned())
                .unwrap_or_else(|| "Pending".to_owned()),
            execution_id: st
                .latest_execution()
                .map(|e| e.pipeline_execution_id().to_owned()),
            actions: st
                .action_states()
                .iter()
                .map(|a| {
                    let last = a.latest_execution();
                    ActionState {
                        name: a.action_name().unwrap_or_default().to_owned(),
                        status: last
                            .and_then(|l| l.status())
                            .map(|s| s.as_str().to_owned())
                            .unwrap_or_else(|| "Pending".to_owned()),
                        revision: a
                            .current_revision()
                            .map(|r| r.revision_id().to_owned())
                            .or_else(|| {
                                last.and_then(|l| l.external_execution_id())
                                    .map(str::to_owned)
                            }),
                        summary: last.and_then(|l| l.summary()).map(watch::one_line),
                        last_change: secs(last.and_then(|l| l.last_status_change()))
                            .map(watch::timestamp),
                        url: last
                            .and_then(|l| l.external_execution_url())
                            .or_else(|| a.entity_url())
                            .map(str::to_owned),
                        error: last.and_then(|l| l.error_details()).map(|e| {
                            let msg = watch::one_line(e.message().unwrap_or("no message"));
                            match e.code() {
                                Some(c) => format!("{c}: {msg}"),
                                None => msg,
                            }
                        }),
                    }
                })
                .collect(),
        })
        .collect();
    Report {
        pipeline: info,
        stages,
        executions: recent.iter().map(|s| row(s, now)).collect(),
    }
}

fn revision_text(r: &Revision) -> String {
    match r.summary.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => format!("{} \"{s}\"", watch::short_commit(&r.commit)),
        None => watch::short_commit(&r.commit).to_owned(),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.pipeline;
        write!(f, "{} ({}", p.name, p.pipeline_type)?;
        if let Some(v) = p.version {
            write!(f, ", version {v}")?;
        }
        if let Some(m) = &p.execution_mode {
            write!(f, ", {m}")?;
        }
        writeln!(f, ")")?;
        write!(
            f,
            "  pipeline account {} ({}), source account {}",
            p.pipeline_account, p.region, p.source_account
        )?;
        if let (Some(r), Some(b)) = (&p.repository, &p.branch) {
            write!(f, ": {r}@{b}")?;
        }
        writeln!(f)?;
        writeln!(f, "\nStages")?;
        for st in &self.stages {
            write!(f, "  {:<12} {}", st.name, st.status)?;
            if let Some(id) = &st.execution_id {
                write!(f, "  execution {id}")?;
            }
            writeln!(f)?;
            for a in &st.actions {
                write!(f, "    {:<10} {:<11}", a.name, a.status)?;
                if let Some(r) = &a.revision {
                    write!(f, " {}", watch::short_commit(r))?;
                }
                if let Some(s) = a.summary.as_deref().filter(|s| !s.is_empty()) {
                    write!(f, " \"{s}\"")?;
                }
                if let Some(t) = &a.last_change {
                    write!(f, "  {t}")?;
                }
                if let Some(e) = &a.error {
                    write!(f, "  {e}")?;
                }
                if let Some(u) = &a.url {
                    write!(f, "  {u}")?;
                }
                writeln!(f)?;
            }
        }
        write!(f, "\nRecent executions")?;
        if self.executions.is_empty() {
            write!(f, "\n  none yet: `cargo xpipeline push` starts one")?;
        }
        for e in &self.executions {
            write!(f, "\n  {}  {:<11}", e.id, e.status)?;
            if let Some(r) = &e.revision {
                write!(f, " {}", revision_text(r))?;
            }
            if let Some(t) = &e.trigger {
                write!(f, "  {t}")?;
            }
            if let Some(s) = &e.started {
                write!(f, "  {s}")?;
            }
            if let Some(secs) = e.seconds {
                write!(f, "  {}", watch::duration(secs))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codepipeline::types::{
        ExecutionTrigger, PipelineExecutionStatus, SourceRevision, TriggerType,
    };

    fn summary(id: &str, status: PipelineExecutionStatus) -> PipelineExecutionSummary {
        PipelineExecutionSummary::builder()
            .pipeline_execution_id(id)
            .status(status)
            .build()
    }

    #[test]
    fn watch_follows_the_newest_execution_in_progress_else_the_newest() {
        use PipelineExecutionStatus as S;
        let list = [
            summary("e-3", S::Succeeded),
            summary("e-2", S::InProgress),
            summary("e-1", S::InProgress),
        ];
        assert_eq!(current(&list), Some("e-2"));
        assert_eq!(current(&list[..1]), Some("e-3"));
        assert_eq!(current(&[]), None);
    }

    #[test]
    fn accounts_come_from_arns() {
        use crate::model::arn::account_of as account_of_arn;
        assert_eq!(
            account_of_arn("arn:aws:iam::222222222222:role/x"),
            Some("222222222222")
        );
        assert_eq!(
            account_of_arn("arn:aws:codepipeline:eu-west-1:123456789012:p"),
            Some("123456789012")
        );
        assert_eq!(account_of_arn("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn a_row_shows_commit_trigger_and_duration() {
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
                    .trigger_type(TriggerType::StartPipelineExecution)
                    .build(),
            )
            .build();
        let r = row(&s, 5_000.0);
        assert_eq!(r.seconds, Some(65.0));
        assert_eq!(r.trigger.as_deref(), Some("StartPipelineExecution"));
        assert_eq!(r.revision.as_ref().unwrap().summary.as_deref(), Some("Fix"));
        assert_eq!(r.started.as_deref(), Some("1970-01-01T00:16:40Z"));
    }
}
