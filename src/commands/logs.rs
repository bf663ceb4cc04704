//! `cargo xpipeline logs`: the CodeBuild log of an execution's build action, on stdout —
//! the whole log, its last `-n N` lines, or with `--follow` streamed until the build ends
//! (exit 0, or 3 when it failed). The execution is `--execution ID` or the current one (as
//! `status --watch` picks it); the action is `--action NAME` or the latest CodeBuild run.
//! Text output is the log itself, made safe (SGR colours kept on a terminal only); JSON is
//! one object a line: `{"timestamp", "action", "message"}`.

use std::time::{Duration, Instant};

use aws_sdk_codepipeline::Client;
use serde::Serialize;

use crate::aws::error::Failure;
use crate::aws::retry::{Pacer, backoff, random_unit};
use crate::aws::{self, codebuild, executions, logs};
use crate::cli::{LogsArgs, OutputFormat};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::execution::{ActionRun, Build, LogCursor, LogLine, Snapshot, current};
use crate::model::text::{LogText, log_text, timestamp_millis};
use crate::settings::Settings;
use crate::ui::Ui;

/// Pages read in one go while catching up with a long log.
const PAGES_PER_TICK: usize = 5;

pub fn run(args: &LogsArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    aws::block_on(run_async(args, settings, cfg, ui))?
}

/// The clients and what to print, for one `logs` run.
struct Reader<'a> {
    codebuild: aws_sdk_codebuild::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    ui: &'a Ui,
    action: String,
    mode: LogText,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    timestamp: String,
    action: &'a str,
    message: String,
}

impl Reader<'_> {
    fn print(&self, lines: &[LogLine]) -> Result<()> {
        for l in lines {
            let text = match self.ui.format {
                OutputFormat::Text => log_text(&l.message, self.mode),
                OutputFormat::Json => serde_json::to_string(&JsonLine {
                    timestamp: timestamp_millis(l.millis),
                    action: &self.action,
                    message: l.message.trim_end_matches(['\n', '\r']).to_owned(),
                })
                .map_err(|e| Error::op(format!("cannot encode a log line as JSON: {e}")))?,
            };
            self.ui.line(&text)?;
        }
        Ok(())
    }

    async fn build(&self, id: &str) -> std::result::Result<Build, executions::CallFailure> {
        let found = codebuild::builds(&self.codebuild, &[id.to_owned()]).await?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| executions::CallFailure {
                kind: Failure::Fatal,
                error: Error::op(format!("BatchGetBuilds does not know build {id}")),
            })
    }
}

async fn run_async(args: &LogsArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    let sdk = aws::sdk_config(settings, ui.aws_calls()).await;
    let client = aws::client!(aws_sdk_codepipeline, &sdk);
    let name = &cfg.pipeline.name;
    let id = match &args.execution {
        Some(id) => id.clone(),
        None => {
            let recent = executions::recent(&client, name, 10).await?;
            current(&recent)
                .ok_or_else(|| {
                    Error::op_hint(
                        format!("pipeline {name} has no executions, so no build log"),
                        "start one with `cargo xpipeline push`",
                    )
                })?
                .to_owned()
        }
    };
    if let Some(wanted) = &args.action {
        check_action(&client, name, wanted).await?;
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let stopped = |build: &str| {
        Error::op_hint(
            format!("stopped following the log of build {build}; the build itself goes on"),
            format!("follow it again with `cargo xpipeline logs --follow --execution {id}`"),
        )
    };
    // The CodeBuild run: with --follow, wait for the action to start one.
    let run = loop {
        let s = executions::tick(&client, name, &id)
            .await
            .map_err(|f| f.error)?;
        match pick(&s, args.action.as_deref()) {
            Some(r) => break r.clone(),
            None if args.follow && !s.status.is_terminal() => {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = &mut ctrl_c => return Err(stopped("(not started yet)")),
                }
            }
            None => return Err(no_build(&id, &s, args.action.as_deref())),
        }
    };
    let build_id = run.build_id().unwrap_or_default().to_owned();
    let reader = Reader {
        codebuild: aws::client!(aws_sdk_codebuild, &sdk),
        logs: aws::client!(aws_sdk_cloudwatchlogs, &sdk),
        ui,
        action: run.action.clone(),
        mode: if ui.stdout_colour {
            LogText::Terminal { colour: true }
        } else {
            LogText::Plain
        },
    };
    ui.status(format_args!(
        "build {build_id} of {}/{} in execution {id}",
        run.stage, run.action
    ));
    let n = args.lines.map(|n| n as usize);
    if !args.follow {
        let build = reader.build(&build_id).await.map_err(|f| f.error)?;
        let Some(at) = build.logs.clone() else {
            return Err(no_log(&build));
        };
        return match n {
            Some(n) => {
                let (lines, _) = logs::tail(&reader.logs, &at, n, None)
                    .await
                    .map_err(|f| f.error)?;
                reader.print(&lines)
            }
            None => {
                let mut cursor = LogCursor::default();
                loop {
                    let Some(page) = logs::forward(&reader.logs, &at, cursor.token.as_deref())
                        .await
                        .map_err(|f| f.error)?
                    else {
                        return Ok(());
                    };
                    reader.print(&page.lines)?;
                    if cursor.advance(&page.next) {
                        return Ok(());
                    }
                }
            }
        };
    }
    tokio::select! {
        r = follow(&reader, &build_id, n) => r,
        _ = &mut ctrl_c => Err(stopped(&build_id)),
    }
}

/// Stream the log until the build is complete and its log read to the end.
async fn follow(reader: &Reader<'_>, build_id: &str, n: Option<usize>) -> Result<()> {
    let began = Instant::now();
    let mut pacer = Pacer::default();
    let mut cursor: Option<LogCursor> = None;
    let mut attempt = 0;
    loop {
        let at = began.elapsed().as_secs_f64();
        let step = async {
            let build = reader.build(build_id).await?;
            let mut shown = false;
            let mut caught_up = false;
            if let Some(logs_at) = &build.logs {
                if cursor.is_none() {
                    // Where to begin: the last N lines, or the head.
                    if let Some(n) = n {
                        let (lines, next) = logs::tail(&reader.logs, logs_at, n, None).await?;
                        reader.print(&lines).map_err(fatal)?;
                        shown = !lines.is_empty();
                        cursor = next.map(|t| LogCursor { token: Some(t) });
                    } else {
                        cursor = Some(LogCursor::default());
                    }
                }
                if let Some(c) = cursor.as_mut() {
                    for _ in 0..PAGES_PER_TICK {
                        let Some(page) =
                            logs::forward(&reader.logs, logs_at, c.token.as_deref()).await?
                        else {
                            break;
                        };
                        reader.print(&page.lines).map_err(fatal)?;
                        shown |= !page.lines.is_empty();
                        if c.advance(&page.next) {
                            caught_up = true;
                            break;
                        }
                    }
                }
            }
            Ok::<_, executions::CallFailure>((build, shown, caught_up))
        };
        let wait = match step.await {
            Ok((build, shown, caught_up)) => {
                attempt = 0;
                if build.complete && (caught_up || build.logs.is_none()) {
                    return build_outcome(&build);
                }
                pacer.tick(at, shown)
            }
            Err(f) if f.kind == Failure::Fatal => return Err(f.error),
            Err(f) => {
                attempt += 1;
                reader.ui.status(format_args!("{}; retrying", f.error));
                pacer.failed(
                    at,
                    f.kind == Failure::Throttled,
                    backoff(attempt, random_unit()),
                )
            }
        };
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}

fn fatal(error: Error) -> executions::CallFailure {
    executions::CallFailure {
        kind: Failure::Fatal,
        error,
    }
}

/// Exit 0 when the build succeeded, 3 (naming the failed phase) otherwise.
fn build_outcome(b: &Build) -> Result<()> {
    if b.succeeded() {
        return Ok(());
    }
    let mut msg = format!("build {} ended {}", b.id, b.status);
    if let Some(f) = b.failed_phase() {
        msg.push_str(&format!(": phase {} {}", f.phase, f.status));
        if let Some(m) = f.message.or(f.code) {
            msg.push_str(&format!(": {}", crate::model::text::one_line(&m)));
        }
    }
    Err(Error::Pipeline(msg))
}

/// The CodeBuild run to show: the one `--action` names (NAME or STAGE/NAME), else the
/// latest CodeBuild run of the execution.
pub fn pick<'a>(s: &'a Snapshot, action: Option<&str>) -> Option<&'a ActionRun> {
    s.latest_runs()
        .into_values()
        .filter(|r| r.build_id().is_some())
        .filter(|r| action.is_none_or(|a| names(r, a)))
        .max_by(|a, b| a.start.unwrap_or(0.0).total_cmp(&b.start.unwrap_or(0.0)))
}

fn names(r: &ActionRun, wanted: &str) -> bool {
    r.action == wanted || format!("{}/{}", r.stage, r.action) == wanted
}

/// `--action` must name an action of the pipeline (GetPipeline): a typo is a usage error,
/// not a wait that never ends.
async fn check_action(client: &Client, pipeline: &str, wanted: &str) -> Result<()> {
    let layout = executions::layout(client, pipeline).await?;
    let all: Vec<String> = layout
        .iter()
        .flat_map(|(st, acts)| acts.iter().map(move |a| format!("{st}/{a}")))
        .collect();
    let known = layout.iter().any(|(st, acts)| {
        acts.iter()
            .any(|a| a == wanted || format!("{st}/{a}") == wanted)
    });
    if known || all.is_empty() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--action {wanted}: pipeline {pipeline} has no such action (its actions: {})",
        all.join(", ")
    )))
}

fn no_build(id: &str, s: &Snapshot, action: Option<&str>) -> Error {
    let what = action.map_or("a CodeBuild action".to_owned(), |a| format!("action {a}"));
    let hint = if s.status.is_terminal() {
        format!(
            "execution {id} ended {} before {what} ran a build; pick another with --execution ID (see `cargo xpipeline status`)",
            s.status
        )
    } else {
        format!(
            "it has not started yet: `cargo xpipeline logs --follow --execution {id}` waits for it"
        )
    };
    Error::op_hint(
        format!("execution {id} has no build of {what} to show"),
        hint,
    )
}

fn no_log(b: &Build) -> Error {
    if b.complete {
        Error::op_hint(
            format!("build {} wrote no CloudWatch log", b.id),
            "its project's logsConfig may disable CloudWatch Logs (S3 logs are not read)",
        )
    } else {
        Error::op_hint(
            format!(
                "build {} has no log stream yet (phase {})",
                b.id, b.current_phase
            ),
            "`--follow` waits for it and streams it",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::execution::ActionStatus as A;
    use crate::model::execution::ExecutionStatus as E;
    use crate::model::execution::view::tests::{run, snap};

    fn codebuild(stage: &str, action: &str, start: f64, id: &str) -> ActionRun {
        let mut r = run(stage, action, A::InProgress, start, start);
        r.provider = Some("CodeBuild".into());
        r.result.external_id = Some(id.into());
        r
    }

    #[test]
    fn the_latest_codebuild_run_is_picked_unless_one_is_named() {
        let s = snap(
            E::InProgress,
            vec![
                run("Source", "Source", A::Succeeded, 1.0, 2.0),
                codebuild("Build", "Build", 2.0, "b:1"),
                codebuild("Test", "Lint", 3.0, "b:2"),
            ],
        );
        assert_eq!(
            pick(&s, None).unwrap().result.external_id.as_deref(),
            Some("b:2")
        );
        assert_eq!(pick(&s, Some("Build")).unwrap().action, "Build");
        assert_eq!(pick(&s, Some("Test/Lint")).unwrap().action, "Lint");
        assert!(pick(&s, Some("Source")).is_none(), "not a CodeBuild action");
    }

    #[test]
    fn a_failed_build_exits_3_naming_its_phase() {
        let b = Build {
            id: "p:1".into(),
            status: "FAILED".into(),
            current_phase: "COMPLETED".into(),
            complete: true,
            phases: vec![crate::model::execution::Phase {
                kind: "BUILD".into(),
                status: Some("FAILED".into()),
                start: None,
                end: None,
                contexts: vec![("COMMAND_EXECUTION_ERROR".into(), "exit status 101".into())],
            }],
            logs: None,
        };
        let e = build_outcome(&b).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.to_string(),
            "build p:1 ended FAILED: phase BUILD FAILED: exit status 101"
        );
    }
}
