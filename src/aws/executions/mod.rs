//! Pipeline executions, the ops: each function makes CodePipeline calls and returns model
//! values (`crate::model::execution`) or an error; none prints, handles a signal or reads the
//! environment.
//!
//! The watch loop is not here. This module offers one tick (`tick`: GetPipelineExecution then
//! ListActionExecutions) and a failed call comes back as a `CallFailure` that says how it
//! affects a retrying caller; `commands::watch` runs the loop (pacing, outage, Ctrl-C,
//! rendering). Why: every decision in that loop is about what to tell the user and when to
//! stop, which is a step's business; a loop here would need a callback for each of those
//! decisions and a cancellation future, and would still print nothing itself. One tick is
//! the smallest op that is still one thing, and it keeps the call budget visible in one place.
//! The waits for an execution to appear (`find`, `creation_execution`) are loops here because
//! they decide nothing the user reads until they return.

mod map;
mod overview;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::types::{
    ActionExecutionFilter, SourceRevisionOverride, SourceRevisionType,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use map::layout_of;
pub use overview::{Declared, overview};

use crate::aws::error::{Failure, classify_error, error_parts, execution_call};
use crate::aws::retry::{Retrying, backoff, random_unit, retry_while};
use crate::error::{Error, Result};
use crate::model::execution::{
    Builds, ExecutionSummary, Layout, SOURCE_ACTION, Snapshot, request_token,
};

/// A failed call: how it affects a retrying caller, and the error to report.
#[derive(Debug)]
pub struct CallFailure {
    pub kind: Failure,
    pub error: Error,
}

fn failure<E>(what: &str, err: SdkError<E, HttpResponse>) -> CallFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let kind = classify_error(&err);
    let (code, message) = error_parts(&err);
    let error = execution_call(what, code.as_deref(), &message);
    CallFailure { kind, error }
}

/// A failed CodePipeline call as the error to report, with a hint where one helps.
fn call_failed<E>(what: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    failure(what, err).error
}

/// Seconds since the epoch, the clock views are computed at.
pub fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The stages and actions of the live pipeline (GetPipeline), for showing pending actions.
pub async fn layout(client: &Client, pipeline: &str) -> Result<Layout> {
    let out = client
        .get_pipeline()
        .name(pipeline)
        .send()
        .await
        .map_err(|e| call_failed(&format!("GetPipeline {pipeline}"), e))?;
    Ok(out.pipeline().map(layout_of).unwrap_or_default())
}

/// One tick: GetPipelineExecution, then ListActionExecutions of that execution (in that
/// order, so that the actions are at least as new as the status: a final status always
/// comes with its final actions).
pub async fn tick(
    client: &Client,
    pipeline: &str,
    id: &str,
) -> std::result::Result<Snapshot, CallFailure> {
    let exec = client
        .get_pipeline_execution()
        .pipeline_name(pipeline)
        .pipeline_execution_id(id)
        .send()
        .await
        .map_err(|e| failure(&format!("GetPipelineExecution {id}"), e))?;
    let filter = ActionExecutionFilter::builder()
        .pipeline_execution_id(id)
        .build();
    // One page of 100 action runs: a two-stage pipeline has 2, more only with many retries.
    let actions = client
        .list_action_executions()
        .pipeline_name(pipeline)
        .filter(filter)
        .max_results(100)
        .send()
        .await
        .map_err(|e| failure(&format!("ListActionExecutions of {id}"), e))?;
    let Some(exec) = exec.pipeline_execution() else {
        return Err(CallFailure {
            kind: Failure::Transient,
            error: Error::op(format!("GetPipelineExecution {id} returned no execution")),
        });
    };
    Ok(map::snapshot_of(
        pipeline,
        exec,
        actions.action_execution_details(),
    ))
}

/// One execution as it stands now, with the layout to show its pending actions (GetPipeline
/// in parallel with one tick; without the layout the execution still shows).
pub async fn execution(client: &Client, pipeline: &str, id: &str) -> Result<(Layout, Snapshot)> {
    let (layout, snap) = tokio::join!(layout(client, pipeline), tick(client, pipeline, id));
    Ok((layout.unwrap_or_default(), snap.map_err(|f| f.error)?))
}

/// The most recent executions of the pipeline, newest first (one ListPipelineExecutions).
pub async fn recent(client: &Client, pipeline: &str, n: i32) -> Result<Vec<ExecutionSummary>> {
    recent_or_failure(client, pipeline, n)
        .await
        .map_err(|f| f.error)
}

async fn recent_or_failure(
    client: &Client,
    pipeline: &str,
    n: i32,
) -> std::result::Result<Vec<ExecutionSummary>, CallFailure> {
    let out = client
        .list_pipeline_executions()
        .pipeline_name(pipeline)
        .max_results(n)
        .send()
        .await
        .map_err(|e| failure(&format!("ListPipelineExecutions of {pipeline}"), e))?;
    Ok(out
        .pipeline_execution_summaries()
        .iter()
        .map(map::summary_of)
        .collect())
}

/// How long StartPipelineExecution is retried while CodePipeline answers ConflictException.
pub const CONFLICT_RETRY: Duration = Duration::from_secs(60);

/// StartPipelineExecution with a clientRequestToken; with `pin` (V2 pipelines) the Source
/// action is pinned to `commit` (sourceRevisions COMMIT_ID), so that the execution builds
/// exactly that commit. Returns the execution id. A ConflictException (the pipeline is busy
/// with another change) is retried with jittered backoff for up to `CONFLICT_RETRY`, with the
/// same token, so that a start AWS did take is never taken twice; `on_retry` hears of each wait.
pub async fn start(
    client: &Client,
    pipeline: &str,
    commit: &str,
    pin: bool,
    on_retry: &mut (dyn FnMut(Retrying) + Send),
) -> Result<String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut req = client
        .start_pipeline_execution()
        .name(pipeline)
        .client_request_token(request_token(commit, nanos));
    if pin {
        let pin = SourceRevisionOverride::builder()
            .action_name(SOURCE_ACTION)
            .revision_type(SourceRevisionType::CommitId)
            .revision_value(commit)
            .build()
            .map_err(|e| Error::op(format!("cannot build the source revision override: {e}")))?;
        req = req.source_revisions(pin);
    }
    let out = retry_while(
        CONFLICT_RETRY,
        |code, _| code == Some("ConflictException"),
        on_retry,
        || req.clone().send(),
    )
    .await
    .map_err(|e| call_failed(&format!("StartPipelineExecution of pipeline {pipeline}"), e))?;
    Ok(out
        .pipeline_execution_id()
        .ok_or_else(|| Error::op("StartPipelineExecution returned no execution id"))?
        .to_owned())
}

/// What became of the execution CreatePipeline started by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creation {
    /// Its Source action fetched the commit: follow this one.
    Builds(String),
    /// It fetched something else, failed before fetching (the branch did not exist yet), or
    /// did not show up within 10 s.
    Other,
    /// It has not fetched its source after 60 s.
    NotFetched,
}

/// A just-created pipeline runs once by itself (trigger CreatePipeline): wait (up to 60 s)
/// until that run says whether it builds `commit`.
pub async fn creation_execution(client: &Client, pipeline: &str, commit: &str) -> Result<Creation> {
    let began = Instant::now();
    let mut attempt = 0;
    loop {
        let waited = began.elapsed();
        let summaries = match recent_or_failure(client, pipeline, 5).await {
            Ok(s) => s,
            Err(f) if f.kind != Failure::Fatal && waited < Duration::from_secs(60) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs_f64(backoff(attempt, random_unit()))).await;
                continue;
            }
            Err(f) => return Err(f.error),
        };
        let auto = summaries.iter().find(|s| s.started_by_creation());
        match auto.map(|s| (s, s.builds(commit))) {
            Some((s, Builds::Yes)) => return Ok(Creation::Builds(s.id.clone())),
            Some((_, Builds::No)) => return Ok(Creation::Other),
            None if waited >= Duration::from_secs(10) => return Ok(Creation::Other),
            Some((_, Builds::NotYet)) if waited >= Duration::from_secs(60) => {
                return Ok(Creation::NotFetched);
            }
            _ => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    }
}

/// Wait up to `limit` for an execution that builds `commit` (the one AWS starts when
/// trigger = poll or events); `None` when none showed up. Transient failures are retried
/// with backoff; a fatal one ends the wait.
pub async fn find(
    client: &Client,
    pipeline: &str,
    commit: &str,
    limit: Duration,
) -> Result<Option<String>> {
    let began = Instant::now();
    let mut attempt = 0;
    let mut wait = 2.0;
    loop {
        match recent_or_failure(client, pipeline, 10).await {
            Ok(summaries) => {
                attempt = 0;
                if let Some(s) = summaries.iter().find(|s| s.builds(commit) == Builds::Yes) {
                    return Ok(Some(s.id.clone()));
                }
            }
            Err(f) if f.kind == Failure::Fatal => return Err(f.error),
            Err(_) => attempt += 1,
        }
        if began.elapsed() >= limit {
            return Ok(None);
        }
        let pause = if attempt > 0 {
            backoff(attempt, random_unit())
        } else {
            wait = (wait * 1.2_f64).min(10.0);
            wait
        };
        tokio::time::sleep(Duration::from_secs_f64(pause)).await;
    }
}
