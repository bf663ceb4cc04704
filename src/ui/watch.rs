//! Following an execution, the pure part: successive snapshots of one pipeline execution
//! become events (what changed) and a view (where every stage and action stands), and those
//! become text — a plain timestamped line per change for logs, one line per action for the
//! terminal, the final result for stdout. The renderers at the bottom only print what these
//! functions return.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::Ui;
pub use crate::model::text::{duration, one_line, short_commit, timestamp};

/// One run of one action in the followed execution, as ListActionExecutions reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRun {
    pub stage: String,
    pub action: String,
    /// InProgress, Succeeded, Failed, Abandoned (AWS's ActionExecutionStatus).
    pub status: String,
    /// Seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<f64>,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

/// The source revision an execution builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub commit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// What one tick saw: GetPipelineExecution plus ListActionExecutions of that execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub pipeline: String,
    pub execution_id: String,
    /// InProgress, Stopping, Stopped, Succeeded, Superseded, Failed, Cancelled.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    pub actions: Vec<ActionRun>,
}

/// The declared stages and their actions, in order (from GetPipeline), so that actions not
/// started yet can be shown as pending.
pub type Layout = Vec<(String, Vec<String>)>;

/// A terminal execution status: the watch ends.
pub fn is_final(status: &str) -> bool {
    matches!(
        status,
        "Succeeded" | "Failed" | "Stopped" | "Cancelled" | "Superseded"
    )
}

/// Where one action stands in the view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    pub stage: String,
    pub action: String,
    /// AWS's status, or "Pending" when the action has not started in this execution.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// Seconds from start to end (or to now while it runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ActionError>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageView {
    pub name: String,
    pub status: String,
    pub actions: Vec<ActionView>,
}

/// The whole execution at one moment; also the final result of a watch (stdout).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    pub pipeline: String,
    pub execution_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    pub stages: Vec<StageView>,
}

/// The latest run of each (stage, action): a retried stage runs its actions again.
fn latest_runs(s: &Snapshot) -> BTreeMap<(&str, &str), &ActionRun> {
    let mut out: BTreeMap<(&str, &str), &ActionRun> = BTreeMap::new();
    for r in &s.actions {
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

fn action_seconds(r: &ActionRun, now: f64) -> Option<f64> {
    let start = r.start?;
    let end = if r.status == "InProgress" {
        now
    } else {
        r.updated.unwrap_or(now)
    };
    Some((end - start).max(0.0))
}

/// A stage's status from its actions' statuses.
fn stage_status(actions: &[ActionView]) -> String {
    let has = |s: &str| actions.iter().any(|a| a.status == s);
    let status = if has("Failed") {
        "Failed"
    } else if has("InProgress") {
        "InProgress"
    } else if has("Abandoned") {
        "Stopped"
    } else if !actions.is_empty() && actions.iter().all(|a| a.status == "Succeeded") {
        "Succeeded"
    } else if has("Succeeded") {
        "InProgress"
    } else {
        "Pending"
    };
    status.to_owned()
}

/// The view of a snapshot at time `now` (seconds since the epoch): the layout's stages and
/// actions in order, then any action the layout does not know (the pipeline changed).
pub fn view(layout: &Layout, s: &Snapshot, now: f64) -> View {
    let runs = latest_runs(s);
    let mut order: Vec<(String, Vec<String>)> = layout.clone();
    for r in &s.actions {
        match order.iter_mut().find(|(st, _)| *st == r.stage) {
            Some((_, acts)) if !acts.contains(&r.action) => acts.push(r.action.clone()),
            Some(_) => {}
            None => order.push((r.stage.clone(), vec![r.action.clone()])),
        }
    }
    let stages = order
        .into_iter()
        .map(|(stage, actions)| {
            let actions: Vec<ActionView> = actions
                .into_iter()
                .map(
                    |action| match runs.get(&(stage.as_str(), action.as_str())).copied() {
                        Some(r) => ActionView {
                            stage: stage.clone(),
                            action,
                            status: r.status.clone(),
                            started: r.start.map(timestamp),
                            seconds: action_seconds(r, now),
                            external_id: r.external_id.clone(),
                            url: r.url.clone(),
                            summary: r.summary.clone(),
                            error: r.error.clone(),
                        },
                        None => ActionView {
                            stage: stage.clone(),
                            action,
                            status: "Pending".to_owned(),
                            started: None,
                            seconds: None,
                            external_id: None,
                            url: None,
                            summary: None,
                            error: None,
                        },
                    },
                )
                .collect();
            StageView {
                status: stage_status(&actions),
                name: stage,
                actions,
            }
        })
        .collect();
    let start = s.actions.iter().filter_map(|r| r.start).reduce(f64::min);
    let end = if is_final(&s.status) {
        s.actions
            .iter()
            .filter_map(|r| r.updated)
            .reduce(f64::max)
            .unwrap_or(now)
    } else {
        now
    };
    View {
        pipeline: s.pipeline.clone(),
        execution_id: s.execution_id.clone(),
        status: s.status.clone(),
        status_summary: s.status_summary.clone(),
        revision: s.revision.clone(),
        trigger: s.trigger.clone(),
        started: start.map(timestamp),
        seconds: start.map(|st| (end - st).max(0.0)),
        stages,
    }
}

/// What changed between two snapshots of the same execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The execution's status (reported on the first snapshot too).
    Execution {
        status: String,
        summary: Option<String>,
        revision: Option<Revision>,
    },
    /// An action appeared or its status changed.
    Action {
        stage: String,
        action: String,
        status: String,
        seconds: Option<f64>,
        url: Option<String>,
        summary: Option<String>,
        error: Option<ActionError>,
    },
}

/// The events from `prev` (None: the first snapshot) to `next`, in a stable order: the
/// execution first when it started, actions by start time, the execution last when it ended.
pub fn events(prev: Option<&Snapshot>, next: &Snapshot, now: f64) -> Vec<Event> {
    let mut out = Vec::new();
    let exec_changed = prev.is_none_or(|p| p.status != next.status);
    let exec_event = Event::Execution {
        status: next.status.clone(),
        summary: next.status_summary.clone(),
        revision: next.revision.clone(),
    };
    if exec_changed && !is_final(&next.status) {
        out.push(exec_event.clone());
    }
    let before = prev.map(latest_runs).unwrap_or_default();
    let mut runs: Vec<&ActionRun> = latest_runs(next).into_values().collect();
    runs.sort_by(|a, b| {
        (a.start.unwrap_or(0.0), &a.stage, &a.action)
            .partial_cmp(&(b.start.unwrap_or(0.0), &b.stage, &b.action))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for r in runs {
        let old = before.get(&(r.stage.as_str(), r.action.as_str()));
        let changed = old.is_none_or(|o| o.status != r.status || o.start != r.start);
        if changed {
            out.push(Event::Action {
                stage: r.stage.clone(),
                action: r.action.clone(),
                status: r.status.clone(),
                seconds: if r.status == "InProgress" {
                    None
                } else {
                    action_seconds(r, now)
                },
                url: r.url.clone(),
                summary: r.summary.clone(),
                error: r.error.clone(),
            });
        }
    }
    if exec_changed && is_final(&next.status) {
        out.push(exec_event);
    }
    out
}

fn revision_text(r: &Revision) -> String {
    match r.summary.as_deref().map(one_line).filter(|s| !s.is_empty()) {
        Some(s) => format!("{} \"{s}\"", short_commit(&r.commit)),
        None => short_commit(&r.commit).to_owned(),
    }
}

fn error_text(e: &ActionError) -> String {
    match &e.code {
        Some(code) => format!("{code}: {}", one_line(&e.message)),
        None => one_line(&e.message),
    }
}

/// An event as text without timestamp: the body of a plain line.
pub fn event_text(e: &Event) -> String {
    match e {
        Event::Execution {
            status,
            summary,
            revision,
        } => {
            let mut s = format!("execution {status}");
            if let Some(r) = revision {
                s.push_str(&format!(", commit {}", revision_text(r)));
            }
            if let Some(sum) = summary.as_deref().map(one_line).filter(|s| !s.is_empty()) {
                s.push_str(&format!(": {sum}"));
            }
            s
        }
        Event::Action {
            stage,
            action,
            status,
            seconds,
            url,
            summary,
            error,
        } => {
            let mut s = format!("{stage}/{action} {status}");
            if let Some(secs) = seconds {
                s.push_str(&format!(" after {}", duration(*secs)));
            }
            if let Some(e) = error {
                s.push_str(&format!(": {}", error_text(e)));
            } else if let Some(sum) = summary.as_deref().map(one_line).filter(|s| !s.is_empty()) {
                s.push_str(&format!(": {sum}"));
            }
            if let Some(u) = url {
                s.push_str(&format!(" {}", one_line(u)));
            }
            s
        }
    }
}

/// A plain log line: `2026-01-02T03:04:05Z <event>`. Holds no control character.
pub fn plain_line(at: f64, e: &Event) -> String {
    format!("{} {}", timestamp(at), event_text(e))
}

/// The terminal line of one action: `✓ Build/Build  Succeeded in 1m05s`, the mark left to
/// the spinner while it runs.
pub fn action_line(a: &ActionView) -> String {
    let mark = match a.status.as_str() {
        "Succeeded" => "✓ ",
        "Failed" => "✗ ",
        "Abandoned" => "■ ",
        "Pending" => "· ",
        _ => "",
    };
    let mut s = format!("{mark}{}/{}", a.stage, a.action);
    match (a.status.as_str(), a.seconds) {
        ("Pending", _) => s.push_str("  waiting"),
        ("InProgress", _) => {}
        (other, Some(secs)) => s.push_str(&format!("  {other} in {}", duration(secs))),
        (other, None) => s.push_str(&format!("  {other}")),
    }
    if let Some(e) = &a.error {
        s.push_str(&format!("  {}", error_text(e)));
    }
    s
}

/// Why an execution that ended did not succeed, naming the failing action and its message;
/// `None` when it succeeded.
pub fn failure(v: &View) -> Option<String> {
    if v.status == "Succeeded" {
        return None;
    }
    let mut msg = format!(
        "execution {} of pipeline {} ended {}",
        v.execution_id, v.pipeline, v.status
    );
    let failed = v
        .stages
        .iter()
        .flat_map(|s| &s.actions)
        .find(|a| a.status == "Failed");
    if let Some(a) = failed {
        msg.push_str(&format!(": action {}/{} failed", a.stage, a.action));
        if let Some(e) = &a.error {
            msg.push_str(&format!(": {}", error_text(e)));
        }
        if let Some(u) = &a.url {
            msg.push_str(&format!("\n  see {}", one_line(u)));
        }
    } else if let Some(sum) = v
        .status_summary
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty())
    {
        msg.push_str(&format!(": {sum}"));
    }
    Some(msg)
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} execution {}",
            self.pipeline, self.status, self.execution_id
        )?;
        if let Some(secs) = self.seconds {
            write!(f, " in {}", duration(secs))?;
        }
        if let Some(r) = &self.revision {
            write!(f, "\n  commit {}", revision_text(r))?;
        }
        if let Some(sum) = self
            .status_summary
            .as_deref()
            .map(one_line)
            .filter(|s| !s.is_empty())
        {
            write!(f, "\n  {sum}")?;
        }
        for a in self.stages.iter().flat_map(|s| &s.actions) {
            write!(f, "\n  {:<12} {}", a.status, action_line_plain(a))?;
        }
        Ok(())
    }
}

/// An action in the final text result: no marks, the status is its own column.
fn action_line_plain(a: &ActionView) -> String {
    let mut s = format!("{}/{}", a.stage, a.action);
    if let Some(secs) = a.seconds {
        s.push_str(&format!("  {}", duration(secs)));
    }
    if let Some(e) = &a.error {
        s.push_str(&format!("  {}", error_text(e)));
    }
    if let Some(u) = &a.url {
        s.push_str(&format!("  {}", one_line(u)));
    }
    s
}

/// A command's result with the execution it started or followed (`push`): the result's own
/// fields, then `execution` — the final view, or `{"executionId": ..}` when not followed.
#[derive(Debug, Clone, Serialize)]
pub struct WithExecution<T> {
    #[serde(flatten)]
    pub result: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionRef>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ExecutionRef {
    Followed(Box<View>),
    #[serde(rename_all = "camelCase")]
    Started {
        execution_id: String,
    },
}

impl<T> WithExecution<T> {
    pub fn new(result: T, view: Option<&View>, started: Option<&str>) -> Self {
        let execution = match (view, started) {
            (Some(v), _) => Some(ExecutionRef::Followed(Box::new(v.clone()))),
            (None, Some(id)) => Some(ExecutionRef::Started {
                execution_id: id.to_owned(),
            }),
            (None, None) => None,
        };
        WithExecution { result, execution }
    }
}

impl<T: fmt::Display> fmt::Display for WithExecution<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.result)?;
        match &self.execution {
            Some(ExecutionRef::Followed(v)) => write!(f, "\n{v}"),
            Some(ExecutionRef::Started { execution_id }) => {
                write!(f, "\nstarted execution {execution_id}")
            }
            None => Ok(()),
        }
    }
}

// ------------------------------------------------------------------------------ renderers

/// Shows successive snapshots on stderr: spinners on a terminal, plain lines otherwise,
/// nothing with -q. Holds the previous snapshot to compute the events.
pub struct Renderer {
    mode: Mode,
    layout: Layout,
    prev: Option<Snapshot>,
}

enum Mode {
    Quiet,
    Plain,
    Fancy {
        multi: MultiProgress,
        bars: BTreeMap<(String, String), Line>,
    },
}

/// One action's line on the terminal.
struct Line {
    bar: ProgressBar,
    spinning: bool,
    link_shown: bool,
}

impl Renderer {
    pub fn new(ui: &Ui, layout: Layout) -> Self {
        let mode = if ui.quiet {
            Mode::Quiet
        } else if ui.fancy {
            Mode::Fancy {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: BTreeMap::new(),
            }
        } else {
            Mode::Plain
        };
        Renderer {
            mode,
            layout,
            prev: None,
        }
    }

    /// A line of text above the bars (or a plain line).
    pub fn note(&self, at: f64, text: &str) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Plain => write_stderr(&format!("{} {}", timestamp(at), one_line(text))),
            Mode::Fancy { multi, .. } => {
                let _ = multi.println(text);
            }
        }
    }

    /// Show one snapshot taken at `now`.
    pub fn show(&mut self, s: &Snapshot, now: f64) {
        match &mut self.mode {
            Mode::Quiet => {}
            Mode::Plain => {
                for e in events(self.prev.as_ref(), s, now) {
                    write_stderr(&plain_line(now, &e));
                }
            }
            Mode::Fancy { multi, bars } => {
                let v = view(&self.layout, s, now);
                if self.prev.is_none() {
                    let mut head = format!("{} execution {}", v.pipeline, v.execution_id);
                    if let Some(r) = &v.revision {
                        head.push_str(&format!(", commit {}", revision_text(r)));
                    }
                    let _ = multi.println(head);
                }
                for a in v.stages.iter().flat_map(|st| &st.actions) {
                    let key = (a.stage.clone(), a.action.clone());
                    let line = bars.entry(key).or_insert_with(|| {
                        let elapsed = Duration::from_secs_f64(a.seconds.unwrap_or(0.0));
                        let bar = multi.add(ProgressBar::new_spinner().with_elapsed(elapsed));
                        bar.set_style(pending_style());
                        Line {
                            bar,
                            spinning: false,
                            link_shown: false,
                        }
                    });
                    if line.bar.is_finished() {
                        continue;
                    }
                    // The link (the CodeBuild build) once, above the lines: long URLs would
                    // wrap and garble a redrawn line.
                    if let (false, Some(url)) = (line.link_shown, &a.url) {
                        let _ =
                            multi.println(format!("{}/{}: {}", a.stage, a.action, one_line(url)));
                        line.link_shown = true;
                    }
                    match a.status.as_str() {
                        "Pending" => line.bar.set_message(action_line(a)),
                        "InProgress" => {
                            if !line.spinning {
                                if self.prev.is_some() {
                                    // Seen pending on an earlier tick: it started just now.
                                    line.bar.reset_elapsed();
                                }
                                line.bar.set_style(spinner_style());
                                line.bar.enable_steady_tick(Duration::from_millis(120));
                                line.spinning = true;
                            }
                            line.bar.set_message(action_line(a));
                        }
                        _ => {
                            line.bar.set_style(pending_style());
                            line.bar.finish_with_message(action_line(a));
                        }
                    }
                }
            }
        }
        self.prev = Some(s.clone());
    }

    /// Leave the lines on screen as they are (the watch ends or is interrupted).
    pub fn finish(&mut self) {
        if let Mode::Fancy { bars, .. } = &mut self.mode {
            for line in bars.values() {
                if !line.bar.is_finished() {
                    line.bar.abandon();
                }
            }
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}  {elapsed}").unwrap_or_else(|_| pending_style())
}

fn pending_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn write_stderr(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {

    use super::*;

    fn run(stage: &str, action: &str, status: &str, start: f64, updated: f64) -> ActionRun {
        ActionRun {
            stage: stage.into(),
            action: action.into(),
            status: status.into(),
            start: Some(start),
            updated: Some(updated),
            external_id: None,
            url: None,
            summary: None,
            error: None,
        }
    }

    fn snap(status: &str, actions: Vec<ActionRun>) -> Snapshot {
        Snapshot {
            pipeline: "p".into(),
            execution_id: "e-1".into(),
            status: status.into(),
            status_summary: None,
            revision: Some(Revision {
                commit: "0123456789abcdef0123".into(),
                summary: Some("Fix the build\n\nlong body".into()),
            }),
            trigger: Some("StartPipelineExecution".into()),
            actions,
        }
    }

    fn layout() -> Layout {
        vec![
            ("Source".into(), vec!["Source".into()]),
            ("Build".into(), vec!["Build".into()]),
        ]
    }

    #[test]
    fn first_snapshot_reports_the_execution_and_each_action() {
        let s = snap(
            "InProgress",
            vec![run("Source", "Source", "InProgress", 100.0, 100.0)],
        );
        let ev = events(None, &s, 101.0);
        assert_eq!(ev.len(), 2);
        assert!(matches!(&ev[0], Event::Execution { status, .. } if status == "InProgress"));
        assert!(
            matches!(&ev[1], Event::Action { action, status, seconds: None, .. } if action == "Source" && status == "InProgress")
        );
    }

    #[test]
    fn an_unchanged_snapshot_has_no_events() {
        let s = snap(
            "InProgress",
            vec![run("Source", "Source", "InProgress", 100.0, 100.0)],
        );
        assert!(events(Some(&s), &s, 150.0).is_empty());
    }

    #[test]
    fn a_finished_action_and_the_next_one_starting_are_two_events() {
        let a = snap(
            "InProgress",
            vec![run("Source", "Source", "InProgress", 100.0, 100.0)],
        );
        let b = snap(
            "InProgress",
            vec![
                run("Build", "Build", "InProgress", 104.0, 104.0),
                run("Source", "Source", "Succeeded", 100.0, 104.0),
            ],
        );
        let ev = events(Some(&a), &b, 105.0);
        let text: Vec<String> = ev.iter().map(event_text).collect();
        assert_eq!(
            text,
            ["Source/Source Succeeded after 4s", "Build/Build InProgress"]
        );
    }

    #[test]
    fn the_final_status_comes_after_the_actions() {
        let a = snap(
            "InProgress",
            vec![run("Build", "Build", "InProgress", 100.0, 100.0)],
        );
        let mut failed = run("Build", "Build", "Failed", 100.0, 130.0);
        failed.error = Some(ActionError {
            code: Some("JobFailed".into()),
            message: "cargo test failed\nsecond line".into(),
        });
        let b = snap("Failed", vec![failed]);
        let text: Vec<String> = events(Some(&a), &b, 131.0).iter().map(event_text).collect();
        assert_eq!(
            text,
            [
                "Build/Build Failed after 30s: JobFailed: cargo test failed",
                "execution Failed, commit 0123456789ab \"Fix the build\""
            ]
        );
    }

    #[test]
    fn the_view_shows_pending_actions_and_stage_status() {
        let s = snap(
            "InProgress",
            vec![run("Source", "Source", "Succeeded", 100.0, 103.0)],
        );
        let v = view(&layout(), &s, 110.0);
        assert_eq!(v.stages.len(), 2);
        assert_eq!(v.stages[0].status, "Succeeded");
        assert_eq!(v.stages[0].actions[0].seconds, Some(3.0));
        assert_eq!(v.stages[1].status, "Pending");
        assert_eq!(v.stages[1].actions[0].status, "Pending");
        assert_eq!(v.seconds, Some(10.0));
    }

    #[test]
    fn a_retried_action_shows_its_latest_run() {
        let s = snap(
            "InProgress",
            vec![
                run("Build", "Build", "InProgress", 200.0, 200.0),
                run("Build", "Build", "Failed", 100.0, 150.0),
            ],
        );
        let v = view(&layout(), &s, 210.0);
        assert_eq!(v.stages[1].actions[0].status, "InProgress");
        assert_eq!(v.stages[1].status, "InProgress");
    }

    #[test]
    fn failure_names_the_action_and_its_message() {
        let mut failed = run("Build", "Build", "Failed", 100.0, 130.0);
        failed.error = Some(ActionError {
            code: Some("JobFailed".into()),
            message: "tests failed".into(),
        });
        failed.url = Some("https://console/build".into());
        let v = view(&layout(), &snap("Failed", vec![failed]), 140.0);
        let msg = failure(&v).unwrap();
        assert!(
            msg.starts_with(
                "execution e-1 of pipeline p ended Failed: action Build/Build failed: JobFailed: tests failed"
            ),
            "{msg}"
        );
        assert!(msg.contains("see https://console/build"));
        let ok = view(
            &layout(),
            &snap(
                "Succeeded",
                vec![run("Build", "Build", "Succeeded", 1.0, 2.0)],
            ),
            3.0,
        );
        assert_eq!(failure(&ok), None);
    }

    #[test]
    fn superseded_and_stopped_say_why() {
        let mut s = snap("Superseded", vec![]);
        s.status_summary = Some("Superseded by execution e-2".into());
        let msg = failure(&view(&layout(), &s, 1.0)).unwrap();
        assert_eq!(
            msg,
            "execution e-1 of pipeline p ended Superseded: Superseded by execution e-2"
        );
    }

    #[test]
    fn plain_lines_hold_no_control_characters() {
        let mut r = run("Build", "Build", "Failed", 100.0, 130.0);
        r.error = Some(ActionError {
            code: None,
            message: "\u{1b}[31mred\u{1b}[0m\ttab\r".into(),
        });
        r.summary = Some("a\u{7}b".into());
        let ev = events(None, &snap("Failed", vec![r]), 131.0);
        for e in &ev {
            let line = plain_line(131.0, e);
            assert!(
                !line.chars().any(|c| c.is_control()),
                "control character in {line:?}"
            );
        }
        assert!(plain_line(0.0, &ev[0]).starts_with("1970-01-01T00:00:00Z "));
    }

    #[test]
    fn action_lines_carry_a_mark_once_done() {
        let v = view(
            &layout(),
            &snap(
                "InProgress",
                vec![run("Source", "Source", "Succeeded", 1.0, 3.0)],
            ),
            5.0,
        );
        assert_eq!(
            action_line(&v.stages[0].actions[0]),
            "✓ Source/Source  Succeeded in 2s"
        );
        assert_eq!(
            action_line(&v.stages[1].actions[0]),
            "· Build/Build  waiting"
        );
    }

    #[test]
    fn the_text_result_lists_every_action() {
        let v = view(
            &layout(),
            &snap(
                "Succeeded",
                vec![
                    run("Source", "Source", "Succeeded", 100.0, 102.0),
                    run("Build", "Build", "Succeeded", 102.0, 160.0),
                ],
            ),
            170.0,
        );
        let text = v.to_string();
        assert!(
            text.starts_with("p Succeeded execution e-1 in 1m00s"),
            "{text}"
        );
        assert!(text.contains("commit 0123456789ab \"Fix the build\""));
        assert!(text.contains("Succeeded    Build/Build  58s"), "{text}");
    }
}
