//! Pipeline executions: start the one that builds the pushed commit (or find the one AWS
//! started for it), then follow that execution id until it ends. Per tick at most two calls
//! (GetPipelineExecution, ListActionExecutions of that execution), an interval that starts
//! short and lengthens while nothing changes, backoff with jitter on throttling, and
//! transient errors ride out until the outage lasts too long. The pure parts (pacing, error
//! classification, matching an execution to a commit, SDK types to snapshots) are at the top.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::types::{
    ActionExecutionDetail, ActionExecutionFilter, PipelineDeclaration, PipelineExecution,
    PipelineExecutionSummary, SourceRevisionOverride, SourceRevisionType,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::error::{Failure, classify_error, error_parts};
use crate::aws::retry::{Pacer, backoff, random_unit};
use crate::config::Config;
use crate::config::{PipelineType, Trigger};
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::ui::Ui;
use crate::ui::watch::{self, ActionError, ActionRun, Layout, Renderer, Revision, Snapshot, View};

/// The name of the Source action in the declared pipeline (DESIGN.md "The pipeline it declares").
pub const SOURCE_ACTION: &str = "Source";

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

pub fn builds(summary: &PipelineExecutionSummary, commit: &str) -> Builds {
    let revs: Vec<&str> = summary
        .source_revisions()
        .iter()
        .filter_map(|r| r.revision_id())
        .collect();
    if revs.iter().any(|r| same_commit(r, commit)) {
        Builds::Yes
    } else if revs.is_empty()
        && !summary
            .status()
            .is_some_and(|s| watch::is_final(s.as_str()))
    {
        Builds::NotYet
    } else {
        Builds::No
    }
}

/// The revision summary of a source: CodeCommit sends the commit message; some providers a
/// JSON object with a CommitMessage.
fn revision_summary(s: &str) -> String {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .and_then(|v| v.get("CommitMessage")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| s.to_owned())
}

fn secs(t: Option<&aws_smithy_types::DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// One tick's answers as a snapshot.
pub fn snapshot_of(
    pipeline: &str,
    exec: &PipelineExecution,
    details: &[ActionExecutionDetail],
) -> Snapshot {
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
            details.iter().find_map(|d| {
                let res = d.output()?.execution_result()?;
                (d.stage_name()? == SOURCE_ACTION && d.status()?.as_str() == "Succeeded").then(
                    || Revision {
                        commit: res.external_execution_id().unwrap_or_default().to_owned(),
                        summary: res.external_execution_summary().map(revision_summary),
                    },
                )
            })
        })
        .filter(|r| !r.commit.is_empty());
    let actions = details
        .iter()
        .map(|d| {
            let result = d.output().and_then(|o| o.execution_result());
            ActionRun {
                stage: d.stage_name().unwrap_or_default().to_owned(),
                action: d.action_name().unwrap_or_default().to_owned(),
                status: d
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "InProgress".to_owned()),
                start: secs(d.start_time()),
                updated: secs(d.last_update_time()),
                external_id: result
                    .and_then(|r| r.external_execution_id())
                    .map(str::to_owned),
                url: result
                    .and_then(|r| r.external_execution_url())
                    .map(str::to_owned),
                summary: result
                    .and_then(|r| r.external_execution_summary())
                    .map(str::to_owned),
                error: result.and_then(|r| r.error_details()).map(|e| ActionError {
                    code: e.code().map(str::to_owned),
                    message: e.message().unwrap_or("no message").to_owned(),
                }),
            }
        })
        .collect();
    Snapshot {
        pipeline: pipeline.to_owned(),
        execution_id: exec.pipeline_execution_id().unwrap_or_default().to_owned(),
        status: exec
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "InProgress".to_owned()),
        status_summary: exec.status_summary().map(str::to_owned),
        revision,
        trigger: exec
            .trigger()
            .and_then(|t| t.trigger_type())
            .map(|t| t.as_str().to_owned()),
        actions,
    }
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

pub fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------ I/O

/// A failed call: how it affects the watch, and the error to report.
struct CallFailure {
    kind: Failure,
    error: Error,
}

fn failure<E>(what: &str, err: SdkError<E, HttpResponse>) -> CallFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let kind = classify_error(&err);
    let (code, message) = error_parts(&err);
    let error = match code.as_deref() {
        Some("PipelineNotFoundException") => Error::op_hint(
            format!("{what}: {message}"),
            "check pipeline.name and the region, or run `cargo xpipeline push` to create the pipeline",
        ),
        Some("PipelineExecutionNotFoundException") => Error::op_hint(
            format!("{what}: {message}"),
            "list the recent executions with `cargo xpipeline status`",
        ),
        Some(c @ ("ExpiredToken" | "ExpiredTokenException" | "RequestExpired")) => Error::op_hint(
            format!("{what}: {c}: {message}"),
            "the base credentials expired: refresh them (`aws sso login`, or export new keys); \
             `cargo xpipeline status --watch` then picks the watch up again",
        ),
        Some(c) if c.contains("AccessDenied") || c == "UnauthorizedOperation" => Error::op_hint(
            format!("{what}: {c}: {message}"),
            "the pipeline-account credentials need codepipeline:GetPipeline, GetPipelineState, \
             GetPipelineExecution, ListPipelineExecutions, ListActionExecutions and \
             StartPipelineExecution on the pipeline (see `cargo xpipeline policies`)",
        ),
        Some(c) => Error::op(format!("{what}: {c}: {message}")),
        None => Error::op(format!("{what}: {message}")),
    };
    CallFailure { kind, error }
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

/// The stages and actions of the live pipeline (GetPipeline), for showing pending actions.
pub async fn layout(client: &Client, pipeline: &str) -> Result<Layout> {
    let out = client
        .get_pipeline()
        .name(pipeline)
        .send()
        .await
        .map_err(|e| failure(&format!("GetPipeline {pipeline}"), e).error)?;
    Ok(out.pipeline().map(layout_of).unwrap_or_default())
}

/// One tick: GetPipelineExecution, then ListActionExecutions of that execution (in that
/// order, so that the actions are at least as new as the status: a final status always
/// comes with its final actions).
async fn snapshot(
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
    Ok(snapshot_of(
        pipeline,
        exec,
        actions.action_execution_details(),
    ))
}

/// A failed CodePipeline call as the error to report, with a hint where one helps.
pub fn call_failed<E>(what: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    failure(what, err).error
}

/// One execution as it stands now (GetPipeline, GetPipelineExecution and
/// ListActionExecutions; the first in parallel with the other two).
pub async fn execution_view(client: &Client, pipeline: &str, id: &str) -> Result<View> {
    let (layout, snap) = tokio::join!(layout(client, pipeline), snapshot(client, pipeline, id));
    let snap = snap.map_err(|f| f.error)?;
    Ok(watch::view(&layout.unwrap_or_default(), &snap, now_epoch()))
}

/// The most recent executions of the pipeline, newest first (one ListPipelineExecutions).
pub async fn recent_executions(
    client: &Client,
    pipeline: &str,
    n: i32,
) -> Result<Vec<PipelineExecutionSummary>> {
    recent(client, pipeline, n).await.map_err(|f| f.error)
}

/// Start the execution that builds `commit` (trigger = push), or find the one AWS started
/// for it (trigger = poll or events, or the execution CreatePipeline started when the
/// pipeline was just `created`). Returns its id. Never starts two for the same commit.
pub async fn start_or_find(
    client: &Client,
    cfg: &Config,
    commit: &str,
    created: bool,
    limits: &Settings,
    ui: &Ui,
) -> Result<String> {
    match cfg.pipeline.trigger {
        Trigger::Push => {
            let running = if created {
                creation_execution(client, cfg, commit, ui).await?
            } else {
                running_for(client, cfg, commit, ui).await?
            };
            match running {
                Some(id) => Ok(id),
                None => start(client, cfg, commit, ui).await,
            }
        }
        Trigger::Poll | Trigger::Events => find(client, cfg, commit, limits.find_timeout, ui).await,
    }
}

/// StartPipelineExecution with a clientRequestToken and, on V2, the Source action pinned to
/// `commit` (sourceRevisions COMMIT_ID), so that the execution builds exactly that commit.
pub async fn start(client: &Client, cfg: &Config, commit: &str, ui: &Ui) -> Result<String> {
    let name = &cfg.pipeline.name;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut req = client
        .start_pipeline_execution()
        .name(name)
        .client_request_token(request_token(commit, nanos));
    if cfg.pipeline.pipeline_type == PipelineType::V2 {
        let pin = SourceRevisionOverride::builder()
            .action_name(SOURCE_ACTION)
            .revision_type(SourceRevisionType::CommitId)
            .revision_value(commit)
            .build()
            .map_err(|e| Error::op(format!("cannot build the source revision override: {e}")))?;
        req = req.source_revisions(pin);
    } else {
        ui.detail(format_args!(
            "pipeline {name} is V1: the execution builds the head of branch {} (V2 pins the commit)",
            cfg.source.branch
        ));
    }
    let out = req
        .send()
        .await
        .map_err(|e| failure(&format!("StartPipelineExecution of pipeline {name}"), e).error)?;
    let id = out
        .pipeline_execution_id()
        .ok_or_else(|| Error::op("StartPipelineExecution returned no execution id"))?
        .to_owned();
    ui.status(format_args!(
        "started execution {id} of {name} for commit {}",
        watch::short_commit(commit)
    ));
    Ok(id)
}

/// The recent executions of the pipeline, newest first (one call).
async fn recent(
    client: &Client,
    pipeline: &str,
    n: i32,
) -> std::result::Result<Vec<PipelineExecutionSummary>, CallFailure> {
    let out = client
        .list_pipeline_executions()
        .pipeline_name(pipeline)
        .max_results(n)
        .send()
        .await
        .map_err(|e| failure(&format!("ListPipelineExecutions of {pipeline}"), e))?;
    Ok(out.pipeline_execution_summaries().to_vec())
}

/// An execution already building `commit` (an earlier push of the same commit, interrupted):
/// following it beats starting a second one that would supersede it.
async fn running_for(
    client: &Client,
    cfg: &Config,
    commit: &str,
    ui: &Ui,
) -> Result<Option<String>> {
    let summaries = recent(client, &cfg.pipeline.name, 10)
        .await
        .map_err(|f| f.error)?;
    let running = summaries.iter().find(|s| {
        builds(s, commit) == Builds::Yes
            && s.status()
                .is_some_and(|st| matches!(st.as_str(), "InProgress" | "Stopping"))
    });
    Ok(running.and_then(|s| s.pipeline_execution_id()).map(|id| {
        ui.status(format_args!(
            "execution {id} is already building commit {}: following it",
            watch::short_commit(commit)
        ));
        id.to_owned()
    }))
}

/// A just-created pipeline runs once by itself (trigger CreatePipeline). Follow that run when
/// its Source action fetched `commit`; `None` when it fetched something else, failed before
/// fetching (the branch did not exist yet), or did not show up.
async fn creation_execution(
    client: &Client,
    cfg: &Config,
    commit: &str,
    ui: &Ui,
) -> Result<Option<String>> {
    let name = &cfg.pipeline.name;
    let began = Instant::now();
    let mut attempt = 0;
    loop {
        let waited = began.elapsed();
        let summaries = match recent(client, name, 5).await {
            Ok(s) => s,
            Err(f) if f.kind != Failure::Fatal && waited < Duration::from_secs(60) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs_f64(backoff(attempt, random_unit()))).await;
                continue;
            }
            Err(f) => return Err(f.error),
        };
        let auto = summaries.iter().find(|s| {
            s.trigger()
                .and_then(|t| t.trigger_type())
                .is_some_and(|t| t.as_str() == "CreatePipeline")
        });
        match auto.map(|s| (s, builds(s, commit))) {
            Some((s, Builds::Yes)) => {
                let id = s.pipeline_execution_id().unwrap_or_default().to_owned();
                ui.status(format_args!(
                    "following execution {id}, started by the creation of {name}, which builds commit {}",
                    watch::short_commit(commit)
                ));
                return Ok(Some(id));
            }
            Some((_, Builds::No)) => return Ok(None),
            None if waited >= Duration::from_secs(10) => return Ok(None),
            Some((_, Builds::NotYet)) if waited >= Duration::from_secs(60) => {
                ui.warn(format_args!(
                    "the execution that creating {name} started has not fetched its source after 60s; starting one for commit {}",
                    watch::short_commit(commit)
                ));
                return Ok(None);
            }
            _ => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    }
}

/// Wait for the execution AWS starts for `commit` (trigger = poll or events).
pub async fn find(
    client: &Client,
    cfg: &Config,
    commit: &str,
    limit: Duration,
    ui: &Ui,
) -> Result<String> {
    let name = &cfg.pipeline.name;
    let began = Instant::now();
    let short = watch::short_commit(commit);
    ui.status(format_args!(
        "waiting for {name} to start an execution for commit {short} (trigger = {})",
        cfg.pipeline.trigger
    ));
    let mut attempt = 0;
    let mut wait = 2.0;
    loop {
        match recent(client, name, 10).await {
            Ok(summaries) => {
                attempt = 0;
                if let Some(s) = summaries.iter().find(|s| builds(s, commit) == Builds::Yes) {
                    let id = s.pipeline_execution_id().unwrap_or_default().to_owned();
                    ui.status(format_args!("found execution {id} building commit {short}"));
                    return Ok(id);
                }
            }
            Err(f) if f.kind == Failure::Fatal => return Err(f.error),
            Err(_) => attempt += 1,
        }
        if began.elapsed() >= limit {
            return Err(not_started(cfg, commit, limit));
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

/// No execution for the pushed commit within the limit: name the likely cause.
fn not_started(cfg: &Config, commit: &str, limit: Duration) -> Error {
    let name = &cfg.pipeline.name;
    let msg = format!(
        "no execution of pipeline {name} has picked up commit {} after {} (pipeline.trigger = \"{}\")",
        watch::short_commit(commit),
        watch::duration(limit.as_secs_f64()),
        cfg.pipeline.trigger
    );
    let start_by_hand = format!(
        "start one by hand with `aws codepipeline start-pipeline-execution --name {name}`, or set pipeline.trigger = \"push\" so that push starts it"
    );
    let hint = match cfg.pipeline.trigger {
        Trigger::Poll => format!(
            "CodePipeline polls only when the Source action has PollForSourceChanges = true: \
             compare with `cargo xpipeline plan`; or {start_by_hand}"
        ),
        _ => format!(
            "an EventBridge rule must start the pipeline on CodeCommit \"Repository State Change\" \
             events of repository {} branch {}, and the default event bus of account {} must \
             forward them to account {}: check that the rules exist, are enabled and may call \
             codepipeline:StartPipelineExecution; or {start_by_hand}",
            cfg.source.repository, cfg.source.branch, cfg.source.account, cfg.pipeline.account
        ),
    };
    Error::op_hint(msg, hint)
}

/// What `push` did about the execution of the pushed commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Followed {
    /// --no-watch with trigger = poll or events: AWS starts it; nothing was asked.
    Nothing,
    /// --no-watch: started (or found), not followed.
    Started(String),
    /// Followed to its end.
    Ended(Box<View>),
}

impl Followed {
    /// Exit 3 (`Error::Pipeline`) unless a followed execution succeeded.
    pub fn outcome(&self) -> Result<()> {
        match self {
            Followed::Ended(v) => watch::failure(v).map_or(Ok(()), |m| Err(Error::Pipeline(m))),
            _ => Ok(()),
        }
    }

    pub fn execution_id(&self) -> Option<&str> {
        match self {
            Followed::Nothing => None,
            Followed::Started(id) => Some(id),
            Followed::Ended(v) => Some(&v.execution_id),
        }
    }

    pub fn view(&self) -> Option<&View> {
        match self {
            Followed::Ended(v) => Some(v),
            _ => None,
        }
    }
}

/// After the git push: start or find the execution of `commit`, then follow it unless
/// `watch` is false (--no-watch still starts it when trigger = push, and says how to follow).
pub async fn after_push(
    client: &Client,
    cfg: &Config,
    commit: &str,
    created: bool,
    watch: bool,
    limits: &Settings,
    ui: &Ui,
) -> Result<Followed> {
    if !watch && cfg.pipeline.trigger != Trigger::Push {
        return Ok(Followed::Nothing);
    }
    let id = start_or_find(client, cfg, commit, created, limits, ui).await?;
    if !watch {
        ui.status(format_args!(
            "not following it (--no-watch): `cargo xpipeline status --watch --execution {id}`"
        ));
        return Ok(Followed::Started(id));
    }
    // The pipeline was just reconciled to the declaration: its layout costs no call.
    let layout = crate::model::pipeline::declare::declare(cfg)
        .ok()
        .map(|d| layout_of(&d));
    let view = watch_execution(
        client,
        &cfg.pipeline.name,
        &id,
        layout,
        limits.watch_outage,
        ui,
    )
    .await?;
    if let Some(warning) = other_revision(&view, commit) {
        ui.warn(warning);
    }
    Ok(Followed::Ended(Box::new(view)))
}

/// A warning when the followed execution built another commit than the one pushed: a V1
/// pipeline builds the branch head, which someone may have moved since the push.
fn other_revision(view: &View, pushed: &str) -> Option<String> {
    let built = &view.revision.as_ref()?.commit;
    (built != pushed).then(|| {
        format!(
            "execution {} built commit {built}, not the pushed {pushed}: the branch moved after the push \
             (a V1 pipeline builds the branch head; pipeline.type = \"V2\" builds exactly the pushed commit)",
            view.execution_id
        )
    })
}

/// Follow one execution until it ends, whatever its end: the final view. Errors only when
/// the watch itself cannot go on (Ctrl-C, a sustained outage, access denied). `layout` (the
/// stages and actions, to show those not started yet) is read with GetPipeline when `None`.
pub async fn watch_execution(
    client: &Client,
    pipeline: &str,
    execution_id: &str,
    layout: Option<Layout>,
    limit: Duration,
    ui: &Ui,
) -> Result<View> {
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let interrupted = || {
        Error::op_hint(
            format!("stopped watching execution {execution_id}; the execution itself goes on"),
            format!(
                "follow it again with `cargo xpipeline status --watch --execution {execution_id}`"
            ),
        )
    };
    // The layout only adds pending actions to the view: without it the watch still works.
    let layout = match layout {
        Some(l) => l,
        None => tokio::select! {
            l = self::layout(client, pipeline) => l.unwrap_or_default(),
            _ = &mut ctrl_c => return Err(interrupted()),
        },
    };
    let mut renderer = Renderer::new(ui, layout.clone());
    let began = Instant::now();
    let mut pacer = Pacer::default();
    let mut prev: Option<Snapshot> = None;
    let mut outage: Option<(Instant, u32)> = None;
    loop {
        let result = tokio::select! {
            r = snapshot(client, pipeline, execution_id) => r,
            _ = &mut ctrl_c => {
                renderer.finish();
                return Err(interrupted());
            }
        };
        let at = began.elapsed().as_secs_f64();
        let wait = match result {
            Ok(s) => {
                let now = now_epoch();
                if outage.take().is_some() {
                    renderer.note(now, "CodePipeline answers again");
                }
                let changed = !watch::events(prev.as_ref(), &s, now).is_empty();
                renderer.show(&s, now);
                if watch::is_final(&s.status) {
                    renderer.finish();
                    return Ok(watch::view(&layout, &s, now));
                }
                prev = Some(s);
                pacer.tick(at, changed)
            }
            Err(f) if f.kind == Failure::Fatal => {
                renderer.finish();
                return Err(f.error);
            }
            Err(f) => {
                let (since, attempt) = outage.get_or_insert((Instant::now(), 0));
                *attempt += 1;
                if since.elapsed() >= limit {
                    renderer.finish();
                    return Err(Error::op_hint(
                        format!(
                            "gave up watching execution {execution_id}: CodePipeline has not answered for {}; last error: {}",
                            watch::duration(since.elapsed().as_secs_f64()),
                            f.error
                        ),
                        format!(
                            "the execution itself goes on; follow it again with `cargo xpipeline status --watch --execution {execution_id}`"
                        ),
                    ));
                }
                let wait = pacer.failed(
                    at,
                    f.kind == Failure::Throttled,
                    backoff(*attempt, random_unit()),
                );
                renderer.note(
                    now_epoch(),
                    &format!("{}; retrying in {}", f.error, watch::duration(wait)),
                );
                wait
            }
        };
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
            _ = &mut ctrl_c => {
                renderer.finish();
                return Err(interrupted());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn building_another_commit_than_the_pushed_one_is_warned_about() {
        let mut view = View {
            pipeline: "p".into(),
            execution_id: "e1".into(),
            status: "Succeeded".into(),
            status_summary: None,
            revision: Some(crate::ui::watch::Revision {
                commit: "a".repeat(40),
                summary: None,
            }),
            trigger: None,
            started: None,
            seconds: None,
            stages: Vec::new(),
        };
        assert_eq!(super::other_revision(&view, &"a".repeat(40)), None);
        let w = super::other_revision(&view, &"b".repeat(40)).unwrap();
        assert!(
            w.contains(&format!("built commit {}", "a".repeat(40))),
            "{w}"
        );
        view.revision = None;
        assert_eq!(super::other_revision(&view, &"b".repeat(40)), None);
    }

    use super::*;
    use aws_sdk_codepipeline::types::{
        ActionExecutionOutput, ActionExecutionResult, ActionExecutionStatus, ArtifactRevision,
        ErrorDetails, PipelineExecutionStatus, SourceRevision,
    };

    #[test]
    fn commits_match_in_full_or_by_a_long_enough_prefix() {
        let full = "0123456789abcdef0123456789abcdef01234567";
        assert!(same_commit(full, full));
        assert!(same_commit(full, "0123456"));
        assert!(!same_commit(full, "0123"));
        assert!(!same_commit(full, "1123456789"));
    }

    fn summary(status: PipelineExecutionStatus, rev: Option<&str>) -> PipelineExecutionSummary {
        let mut b = PipelineExecutionSummary::builder()
            .pipeline_execution_id("e-1")
            .status(status);
        if let Some(r) = rev {
            b = b.source_revisions(
                SourceRevision::builder()
                    .action_name("Source")
                    .revision_id(r)
                    .build()
                    .unwrap(),
            );
        }
        b.build()
    }

    #[test]
    fn an_execution_builds_a_commit_once_its_source_says_so() {
        let c = "0123456789abcdef0123456789abcdef01234567";
        use PipelineExecutionStatus as S;
        assert_eq!(builds(&summary(S::InProgress, Some(c)), c), Builds::Yes);
        assert_eq!(builds(&summary(S::InProgress, None), c), Builds::NotYet);
        assert_eq!(builds(&summary(S::Failed, None), c), Builds::No);
        assert_eq!(
            builds(&summary(S::InProgress, Some("ffffffffff")), c),
            Builds::No
        );
    }

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
        assert_eq!(s.status, "Failed");
        assert_eq!(s.revision.as_ref().unwrap().commit, "abc1234def");
        assert_eq!(
            s.revision.as_ref().unwrap().summary.as_deref(),
            Some("Fix it")
        );
        let a = &s.actions[0];
        assert_eq!((a.start, a.updated), (Some(100.0), Some(130.0)));
        assert_eq!(a.error.as_ref().unwrap().message, "cargo test failed");
        assert_eq!(a.url.as_deref(), Some("https://console/b/1"));
    }

    #[test]
    fn request_tokens_fit_the_api_pattern() {
        let t = request_token("0123456789abcdef", 0xdead_beef);
        assert_eq!(t, "xpipeline-0123456789ab-deadbeef");
        assert!(t.len() <= 128);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
