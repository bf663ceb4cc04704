//! The watch step, shared by `status --watch` and `push`: follow one execution to its end
//! (the loop: one tick, render, decide, pace; Ctrl-C; an outage given up on), and, after a
//! push, start or find the execution that builds the pushed commit and say which one is
//! followed. The ops it calls (`aws::executions`) only make calls and return model values;
//! every line the user reads is decided here and drawn by `ui::watch::Renderer`.
//!
//! The loop's decisions (events since the last answer, the pause before the next tick, when
//! an outage has lasted too long) are the pure `Watch` below, unit-tested without a network.

use std::time::{Duration, Instant};

use aws_sdk_codepipeline::Client;

use super::builds::Builds;
use super::deploys::Deploys;
use crate::aws::error::Failure;
use crate::aws::executions::{self, Creation};
use crate::aws::retry::{Pacer, Retrying, backoff, random_unit};
use crate::config::{Config, PipelineType, Trigger};
use crate::error::{Error, Result};
use crate::model::execution::{
    ActionStatus, Builds as BuildsCommit, Event, Layout, Snapshot, View, events, running_for,
};
use crate::model::text::{duration, short_commit};
use crate::settings::Settings;
use crate::ui::Ui;
use crate::ui::approval::waiting_lines;
use crate::ui::execution::failure;
use crate::ui::watch::Renderer;

/// Exit 3 (`Error::Pipeline`, naming the failing action) unless the execution succeeded.
pub fn outcome(view: &View) -> Result<()> {
    failure(view).map_or(Ok(()), |m| Err(Error::Pipeline(m)))
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
            Followed::Ended(v) => outcome(v),
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

/// What the push did that decides which execution builds its commit.
#[derive(Debug, Clone, Copy)]
pub struct Pushed<'a> {
    pub commit: &'a str,
    /// The pipeline was just created (AWS started an execution by itself).
    pub created: bool,
    /// The remote branch already was at the commit: nothing was sent.
    pub already_there: bool,
    /// --rebuild: start a new execution even when one built the commit.
    pub rebuild: bool,
}

/// After the git push: start or find the execution of `commit`, then follow it unless
/// `watch` is false (--no-watch still starts it when trigger = push, and says how to follow).
/// One execution per commit: a commit already on the branch whose execution exists is
/// followed (running) or reported (ended), unless --rebuild.
#[allow(clippy::too_many_arguments)]
pub async fn after_push(
    client: &Client,
    builds: &mut Builds,
    deploys: &mut Deploys,
    cfg: &Config,
    pushed: Pushed<'_>,
    watch: bool,
    settings: &Settings,
    ui: &Ui,
) -> Result<Followed> {
    let commit = pushed.commit;
    if !watch && cfg.pipeline.trigger != Trigger::Push {
        return Ok(Followed::Nothing);
    }
    let id = start_or_find(client, cfg, pushed, settings, ui).await?;
    if !watch {
        ui.status(format_args!(
            "not following it (--no-watch): `cargo xpipeline status --watch --execution {id}`"
        ));
        return Ok(Followed::Started(id));
    }
    // The pipeline was just reconciled to the declaration: its layout costs no call.
    let layout = crate::model::pipeline::declare::declare(cfg)
        .ok()
        .map(|d| executions::layout_of(&d));
    let view = follow(
        client,
        builds,
        deploys,
        &cfg.pipeline.name,
        &id,
        layout,
        settings.watch_outage,
        ui,
    )
    .await?;
    if let Some(built) = view.built_other_than(commit) {
        ui.warn(format_args!(
            "execution {} built commit {built}, not the pushed {commit}: the branch moved after the push \
             (a V1 pipeline builds the branch head; pipeline.type = \"V2\" builds exactly the pushed commit)",
            view.execution_id
        ));
    }
    Ok(Followed::Ended(Box::new(view)))
}

/// Start the execution that builds `commit` (trigger = push), or find the one AWS started
/// for it (trigger = poll or events, or the execution CreatePipeline started when the
/// pipeline was just `created`). Returns its id. Never starts two for the same commit.
async fn start_or_find(
    client: &Client,
    cfg: &Config,
    pushed: Pushed<'_>,
    settings: &Settings,
    ui: &Ui,
) -> Result<String> {
    let (commit, created) = (pushed.commit, pushed.created);
    let name = &cfg.pipeline.name;
    let short = short_commit(commit);
    // --rebuild on a commit already there: nothing else would start an execution.
    let rebuild_now = pushed.rebuild && pushed.already_there;
    if cfg.pipeline.trigger != Trigger::Push && !rebuild_now {
        ui.status(format_args!(
            "waiting for {name} to start an execution for commit {short} (trigger = {})",
            cfg.pipeline.trigger
        ));
        return match executions::find(client, name, commit, settings.find_timeout).await? {
            Some(id) => {
                ui.status(format_args!("found execution {id} building commit {short}"));
                Ok(id)
            }
            None => Err(not_started(cfg, commit, settings.find_timeout)),
        };
    }
    let running = if created {
        match executions::creation_execution(client, name, commit).await? {
            Creation::Builds(id) => {
                ui.status(format_args!(
                    "following execution {id}, started by the creation of {name}, which builds commit {short}"
                ));
                Some(id)
            }
            Creation::Other => None,
            Creation::NotFetched => {
                ui.warn(format_args!(
                    "the execution that creating {name} started has not fetched its source after 60s; starting one for commit {short}"
                ));
                None
            }
        }
    } else if pushed.rebuild {
        None
    } else {
        // An earlier push of the same commit, interrupted: follow its execution rather than
        // start a second one that would supersede it. The commit already on the branch and
        // built: report that execution's result rather than build it again.
        let recent = executions::recent(client, name, 10).await?;
        if let Some(id) = running_for(&recent, commit) {
            ui.status(format_args!(
                "execution {id} is already building commit {short}: following it"
            ));
            Some(id.to_owned())
        } else if pushed.already_there {
            recent
                .iter()
                .find(|s| s.builds(commit) == BuildsCommit::Yes)
                .map(|s| {
                    ui.status(format_args!(
                        "branch {} already is at commit {short}, which execution {} built ({}): its result follows; --rebuild starts a new execution",
                        cfg.source.branch,
                        s.id,
                        s.status.as_str()
                    ));
                    s.id.clone()
                })
        } else {
            None
        }
    };
    if let Some(id) = running {
        return Ok(id);
    }
    let pin = cfg.pipeline.pipeline_type == PipelineType::V2;
    if !pin {
        ui.detail(format_args!(
            "pipeline {name} is V1: the execution builds the head of branch {} (V2 pins the commit)",
            cfg.source.branch
        ));
    }
    let mut busy = |r: Retrying| {
        ui.status(format_args!(
            "pipeline {name} is busy (ConflictException): starting the execution again in {}s with the same request token ({}s so far, up to {}s)",
            r.wait.as_secs_f64().ceil(),
            r.so_far.as_secs(),
            r.limit.as_secs()
        ))
    };
    let id = executions::start(client, name, commit, pin, &mut busy).await?;
    ui.status(format_args!(
        "started execution {id} of {name} for commit {short}"
    ));
    Ok(id)
}

/// No execution for the pushed commit within the limit: name the likely cause.
fn not_started(cfg: &Config, commit: &str, limit: Duration) -> Error {
    let name = &cfg.pipeline.name;
    let msg = format!(
        "no execution of pipeline {name} has picked up commit {} after {} (pipeline.trigger = \"{}\")",
        short_commit(commit),
        duration(limit.as_secs_f64()),
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
             forward them to account {}: `cargo xpipeline bootstrap` creates or repairs that \
             wiring (`cargo xpipeline policies` prints it); or {start_by_hand}",
            cfg.source.repository, cfg.source.branch, cfg.source.account, cfg.pipeline.account
        ),
    };
    Error::op_hint(msg, hint)
}

fn interrupted(id: &str) -> Error {
    Error::op_hint(
        format!("stopped watching execution {id}; the execution itself goes on"),
        format!("follow it again with `cargo xpipeline status --watch --execution {id}`"),
    )
}

/// Follow one execution until it ends, whatever its end: the final view. Errors only when
/// the watch itself cannot go on (Ctrl-C, an outage longer than `outage`, access denied).
/// `layout` (the stages and actions, to show those not started yet) is read with GetPipeline
/// when `None`.
#[allow(clippy::too_many_arguments)]
pub async fn follow(
    client: &Client,
    builds: &mut Builds,
    deploys: &mut Deploys,
    pipeline: &str,
    id: &str,
    layout: Option<Layout>,
    outage: Duration,
    ui: &Ui,
) -> Result<View> {
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // The layout only adds pending actions to the view: without it the watch still works.
    let layout = match layout {
        Some(l) => l,
        None => tokio::select! {
            l = executions::layout(client, pipeline) => l.unwrap_or_default(),
            _ = &mut ctrl_c => return Err(interrupted(id)),
        },
    };
    let mut renderer = Renderer::new(ui, layout.clone());
    let began = Instant::now();
    let mut watch = Watch::new(outage);
    loop {
        let read = async {
            let mut s = executions::tick(client, pipeline, id).await?;
            let (logs, refused) = builds.read(&mut s).await;
            Ok::<_, executions::CallFailure>((s, logs, refused))
        };
        let result = tokio::select! {
            r = read => r,
            _ = &mut ctrl_c => {
                renderer.finish();
                return Err(interrupted(id));
            }
        };
        let at = began.elapsed().as_secs_f64();
        let now = executions::now_epoch();
        let wait = match result {
            Ok((s, logs, refused)) => {
                if let Some(e) = refused {
                    renderer.note(
                        now,
                        &format!("cannot read the build: {e}; the watch goes on without it"),
                    );
                }
                let answer = watch.answered(&s, at, now, !logs.is_empty());
                let recovered = answer.recovered;
                let wait = answer.wait;
                if recovered {
                    renderer.note(now, "CodePipeline answers again");
                }
                renderer.show(&s, &in_order(answer.events, logs), now);
                let (told, waits) = deploys.waiting(client, &s).await;
                for line in told.iter().flat_map(waiting_lines) {
                    renderer.note(now, &line);
                }
                match wait {
                    Some(_) if waits && deploys.stop_at_gate => {
                        renderer.finish();
                        ui.status(format_args!(
                            "stopped following at the approval (--no-wait-approval); the execution waits: answer it with `cargo xpipeline approve`, follow it with `cargo xpipeline status --watch --execution {id}`"
                        ));
                        return Ok(View::of(&layout, &s, now));
                    }
                    Some(wait) => wait,
                    None => {
                        renderer.finish();
                        let mut view = View::of(&layout, &s, now);
                        if !view.succeeded() {
                            builds.tail_failed(&mut view).await;
                            deploys.explain(client, &s, &mut view).await;
                            renderer.failed_builds(&view, builds.streamed);
                        }
                        return Ok(view);
                    }
                }
            }
            Err(f) if f.kind == Failure::Fatal => {
                renderer.finish();
                return Err(f.error);
            }
            Err(f) => match watch.failed(f.kind == Failure::Throttled, at, random_unit()) {
                Ok(wait) => {
                    renderer.note(now, &format!("{}; retrying in {}", f.error, duration(wait)));
                    wait
                }
                Err(lasted) => {
                    renderer.finish();
                    return Err(Error::op_hint(
                        format!(
                            "gave up watching execution {id}: CodePipeline has not answered for {}; last error: {}",
                            duration(lasted),
                            f.error
                        ),
                        format!(
                            "the execution itself goes on; follow it again with `cargo xpipeline status --watch --execution {id}`"
                        ),
                    ));
                }
            },
        };
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
            _ = &mut ctrl_c => {
                renderer.finish();
                return Err(interrupted(id));
            }
        }
    }
}

/// The tick's events with its new log lines: after what started (the execution, an action
/// starting, a phase), before what ended (an action's end, the execution's).
fn in_order(events: Vec<Event>, logs: Vec<Event>) -> Vec<Event> {
    let ends = |e: &Event| match e {
        Event::Execution { status, .. } => status.is_terminal(),
        Event::Action { status, .. } => *status != ActionStatus::InProgress,
        _ => false,
    };
    let at = events.iter().position(ends).unwrap_or(events.len());
    let mut out = events;
    let tail = out.split_off(at);
    out.extend(logs);
    out.extend(tail);
    out
}

/// The watch's decisions, pure: what changed since the last answer, how long to wait before
/// the next tick, when an outage has lasted too long. Times are seconds since the watch began.
struct Watch {
    pacer: Pacer,
    prev: Option<Snapshot>,
    /// Since when CodePipeline has not answered, and how many ticks failed since.
    outage: Option<(f64, u32)>,
    limit: f64,
}

/// What to do with a tick that answered.
struct Answered {
    events: Vec<Event>,
    /// It ends an outage.
    recovered: bool,
    /// The pause before the next tick; `None` when the execution has ended.
    wait: Option<f64>,
}

impl Watch {
    fn new(limit: Duration) -> Watch {
        Watch {
            pacer: Pacer::default(),
            prev: None,
            outage: None,
            limit: limit.as_secs_f64(),
        }
    }

    /// A tick that answered at `at`; `more` when it brought something besides the snapshot
    /// (new log lines), which also makes the next tick come soon.
    fn answered(&mut self, s: &Snapshot, at: f64, now: f64, more: bool) -> Answered {
        let recovered = self.outage.take().is_some();
        let events = events(self.prev.as_ref(), s, now);
        let changed = more || !events.is_empty();
        let wait = (!s.status.is_terminal()).then(|| self.pacer.tick(at, changed));
        self.prev = Some(s.clone());
        Answered {
            events,
            recovered,
            wait,
        }
    }

    /// A tick that failed (throttled, or transiently) at `at`: the pause before the next
    /// one, or `Err` with how long the outage has lasted once that reaches the limit.
    /// `unit` jitters the backoff.
    fn failed(&mut self, throttled: bool, at: f64, unit: f64) -> std::result::Result<f64, f64> {
        let (since, attempt) = self.outage.get_or_insert((at, 0));
        *attempt += 1;
        let lasted = at - *since;
        if lasted >= self.limit {
            return Err(lasted);
        }
        Ok(self.pacer.failed(at, throttled, backoff(*attempt, unit)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::execution::view::tests::{run, snap};
    use crate::model::execution::{ActionStatus as A, ExecutionStatus as E};

    #[test]
    fn the_watch_looks_again_soon_after_a_change_and_stops_at_the_end() {
        let mut w = Watch::new(Duration::from_secs(300));
        let running = snap(
            E::InProgress,
            vec![run("Source", "Source", A::InProgress, 1.0, 1.0)],
        );
        let first = w.answered(&running, 0.0, 1.0, false);
        assert_eq!(first.events.len(), 2);
        assert_eq!(first.wait, Some(1.0));
        let quiet = w.answered(&running, 1.0, 2.0, false);
        assert!(quiet.events.is_empty());
        assert!(quiet.wait.unwrap() > 1.0);
        let quiet = w.answered(&running, 2.0, 3.0, false);
        assert!(quiet.wait.unwrap() > 1.25);
        // New log lines count as a change: look again soon.
        let lines = w.answered(&running, 3.0, 4.0, true);
        assert!(lines.events.is_empty());
        assert!(lines.wait.unwrap() <= 2.0, "{:?}", lines.wait);
        let done = snap(
            E::Succeeded,
            vec![run("Source", "Source", A::Succeeded, 1.0, 3.0)],
        );
        let last = w.answered(&done, 3.0, 4.0, false);
        assert_eq!(last.events.len(), 2);
        assert_eq!(last.wait, None);
        assert!(!last.recovered);
    }

    #[test]
    fn log_lines_come_after_what_started_and_before_what_ended() {
        let a = snap(
            E::InProgress,
            vec![run("Build", "Build", A::InProgress, 1.0, 1.0)],
        );
        let b = snap(E::Failed, vec![run("Build", "Build", A::Failed, 1.0, 3.0)]);
        let log = Event::Log {
            stage: "Build".into(),
            action: "Build".into(),
            lines: vec![],
        };
        let started = in_order(events(None, &a, 2.0), vec![log.clone()]);
        assert!(
            matches!(started.last(), Some(Event::Log { .. })),
            "{started:?}"
        );
        let ended = in_order(events(Some(&a), &b, 4.0), vec![log]);
        assert!(
            matches!(ended.first(), Some(Event::Log { .. })),
            "{ended:?}"
        );
        assert_eq!(ended.len(), 3);
    }

    #[test]
    fn an_outage_is_ridden_out_until_the_limit_and_its_end_is_told() {
        let mut w = Watch::new(Duration::from_secs(10));
        let first = w.failed(false, 5.0, 0.0).unwrap();
        assert!(first >= 1.0);
        let second = w.failed(true, 7.0, 0.0).unwrap();
        assert!(second >= 2.0, "{second}");
        assert_eq!(w.failed(false, 15.0, 0.0), Err(10.0));
        let s = snap(E::InProgress, vec![]);
        assert!(w.answered(&s, 16.0, 16.0, false).recovered);
        assert!(!w.answered(&s, 17.0, 17.0, false).recovered);
        // A new outage counts from its own start.
        assert!(w.failed(false, 30.0, 0.0).is_ok());
    }
}
