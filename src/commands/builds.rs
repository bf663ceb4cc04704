//! The builds behind a watched execution's CodeBuild actions: each tick, their phases
//! (one BatchGetBuilds for the builds not complete yet) and, with `--logs`, the new lines of
//! their logs (one GetLogEvents each, from the forward token, so that no line is lost or
//! shown twice); at the end, the last lines of a failed build's log. Used by the watch loop
//! (`commands::watch`); the decisions (which builds, when to drain) are here, the calls are
//! the ops `aws::codebuild` and `aws::logs`.
//!
//! A build that cannot be read never stops the watch: the pipeline's own status is what
//! decides its end. A refusal (access denied) is told once and build reading stops; a
//! transient failure skips the tick's build reads.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::error::Failure;
use crate::aws::{self, codebuild, logs};
use crate::error::Error;
use crate::model::execution::{Build, Event, LogCursor, Snapshot, View};

/// At most this many pages are read to drain a finished build's log (a page holds up to
/// 10,000 lines).
const DRAIN_PAGES: usize = 50;

/// What `--logs` and `--log-lines` ask of a watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// Stream the build's log lines as they arrive.
    pub stream: bool,
    /// Lines of a failed build's log to show at the end (0: none).
    pub tail: usize,
}

impl From<crate::cli::LogArgs> for LogOptions {
    fn from(a: crate::cli::LogArgs) -> Self {
        LogOptions {
            stream: a.logs,
            tail: a.log_lines as usize,
        }
    }
}

/// The builds followed by one watch, and where each log stands.
pub struct Builds {
    codebuild: aws_sdk_codebuild::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    pub opts: LogOptions,
    /// The last answer for each build; complete ones are not asked again.
    known: BTreeMap<String, Build>,
    cursors: BTreeMap<String, LogCursor>,
    /// Builds whose log was read to its end after they completed.
    drained: BTreeSet<String>,
    /// Reading builds was refused: the watch goes on without them.
    refused: bool,
    /// Some log lines were shown (the end then does not repeat them).
    pub streamed: bool,
}

impl Builds {
    pub fn new(sdk: &aws::Sdk, opts: LogOptions) -> Builds {
        Builds {
            codebuild: aws::client!(aws_sdk_codebuild, sdk),
            logs: aws::client!(aws_sdk_cloudwatchlogs, sdk),
            opts,
            known: BTreeMap::new(),
            cursors: BTreeMap::new(),
            drained: BTreeSet::new(),
            refused: false,
            streamed: false,
        }
    }

    /// Read what changed in the snapshot's builds and put them in `s.builds`; with
    /// `--logs`, the new log lines as events. `Err` carries a refusal to tell the user
    /// once (build reading then stops).
    pub async fn read(&mut self, s: &mut Snapshot) -> (Vec<Event>, Option<Error>) {
        let mut events = Vec::new();
        if self.refused {
            return (events, None);
        }
        let runs: Vec<(String, String, String)> = s
            .latest_runs()
            .values()
            .filter_map(|r| Some((r.build_id()?.to_owned(), r.stage.clone(), r.action.clone())))
            .collect();
        let ask: Vec<String> = runs
            .iter()
            .map(|(id, _, _)| id.clone())
            .filter(|id| !self.known.get(id).is_some_and(|b| b.complete))
            .collect();
        match codebuild::builds(&self.codebuild, &ask).await {
            Ok(builds) => {
                for b in builds {
                    self.known.insert(b.id.clone(), b);
                }
            }
            // A refusal stops build reading; a transient failure keeps what was read before.
            Err(f) => {
                if let Some(refused) = self.failed(f) {
                    return (events, Some(refused));
                }
            }
        }
        for (id, stage, action) in &runs {
            let Some(b) = self.known.get(id) else {
                continue;
            };
            s.builds.insert(id.clone(), b.clone());
            if !self.opts.stream || self.drained.contains(id) {
                continue;
            }
            let Some(at) = b.logs.clone() else { continue };
            let complete = b.complete;
            let cursor = self.cursors.entry(id.clone()).or_default();
            let mut lines = Vec::new();
            // Running: one page a tick. Complete: to the end, since the watch may stop.
            let pages = if complete { DRAIN_PAGES } else { 1 };
            for _ in 0..pages {
                match logs::forward(&self.logs, &at, cursor.token.as_deref()).await {
                    Ok(Some(page)) => {
                        lines.extend(page.lines);
                        if cursor.advance(&page.next) {
                            if complete {
                                self.drained.insert(id.clone());
                            }
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(f) => {
                        let refused = self.failed(f);
                        if refused.is_some() {
                            return (events, refused);
                        }
                        break;
                    }
                }
            }
            if !lines.is_empty() {
                self.streamed = true;
                events.push(Event::Log {
                    stage: stage.clone(),
                    action: action.clone(),
                    lines,
                });
            }
        }
        (events, None)
    }

    /// The last `--log-lines` lines of each failed build's log, into the final view.
    pub async fn tail_failed(&mut self, view: &mut View) {
        if self.opts.tail == 0 || self.refused {
            return;
        }
        let failed: Vec<(String, crate::model::execution::LogsAt, Option<i64>)> = view
            .actions()
            .filter_map(|a| a.build.as_ref())
            .filter(|b| {
                b.failed_phase.is_some()
                    || matches!(
                        b.build_status.as_str(),
                        "FAILED" | "FAULT" | "TIMED_OUT" | "STOPPED"
                    )
            })
            .filter_map(|b| {
                // Up to the end of the failed phase (CloudWatch leaves out lines at endTime).
                let before = b
                    .failed_phase
                    .as_ref()
                    .and_then(|f| f.end)
                    .map(|e| (e * 1000.0).round() as i64);
                Some((b.id.clone(), self.known.get(&b.id)?.logs.clone()?, before))
            })
            .collect();
        for (id, at, before) in failed {
            if let Ok((lines, _)) = logs::tail(&self.logs, &at, self.opts.tail, before).await {
                view.attach_log_tail(&id, lines);
            }
        }
    }

    fn failed(&mut self, f: crate::aws::executions::CallFailure) -> Option<Error> {
        (f.kind == Failure::Fatal).then(|| {
            self.refused = true;
            f.error
        })
    }
}
