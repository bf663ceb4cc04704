//! An execution as text: an event as a plain timestamped line (logs), an action as its
//! terminal line, the view as the final result on stdout, the error of an execution that
//! did not succeed, and `push`'s result with the execution it started or followed.

use std::fmt;

use serde::Serialize;

use crate::model::execution::permissions::missing_grant;
use crate::model::execution::{ActionStatus, ActionView, Event, FailedPhase, LogLine, View};
use crate::model::text::{LogText, count, duration, log_text, one_line, timestamp};

/// Text from AWS made fit for one line, or nothing when that leaves it empty.
fn line_of(s: Option<&str>) -> Option<String> {
    s.map(one_line).filter(|s| !s.is_empty())
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
                s.push_str(&format!(", commit {r}"));
            }
            if let Some(sum) = line_of(summary.as_deref()) {
                s.push_str(&format!(": {sum}"));
            }
            s
        }
        Event::Action {
            stage,
            action,
            status,
            seconds,
            result,
        } => {
            let mut s = format!("{stage}/{action} {status}");
            if let Some(secs) = seconds {
                s.push_str(&format!(" after {}", duration(*secs)));
            }
            if let Some(e) = &result.error {
                s.push_str(&format!(": {e}"));
            } else if let Some(sum) = line_of(result.summary.as_deref()) {
                s.push_str(&format!(": {sum}"));
            }
            if let Some(u) = &result.url {
                s.push_str(&format!(" {}", one_line(u)));
            }
            s
        }
        Event::Phase {
            stage,
            action,
            phase,
        } => format!("{stage}/{action} phase {}", one_line(phase)),
        Event::Log {
            stage,
            action,
            lines,
        } => format!(
            "{stage}/{action}: {}",
            count(lines.len(), "log line", "log lines")
        ),
    }
}

/// One line of a build's log as shown: `Build│ text`, the text made safe for `mode`.
pub fn log_line(action: &str, line: &LogLine, mode: LogText) -> String {
    format!("{action}│ {}", log_text(&line.message, mode))
}

/// A log line off a terminal: its own CloudWatch time, then `Build│ text`; no control
/// character at all.
pub fn plain_log_line(action: &str, line: &LogLine) -> String {
    format!(
        "{} {}",
        timestamp(line.millis as f64 / 1000.0),
        log_line(&one_line(action), line, LogText::Plain)
    )
}

/// `failed in phase BUILD: COMMAND_EXECUTION_ERROR: Error while executing command ...`
fn failed_phase_text(f: &FailedPhase) -> String {
    let mut s = format!("phase {}", one_line(&f.phase));
    if f.status != "FAILED" {
        s.push_str(&format!(" ({})", one_line(&f.status)));
    }
    match (&f.code, &f.message) {
        (Some(c), Some(m)) => s.push_str(&format!(": {}: {}", one_line(c), one_line(m))),
        (Some(x), None) | (None, Some(x)) => s.push_str(&format!(": {}", one_line(x))),
        (None, None) => {}
    }
    s
}

/// What the failed build of a failed action says, before the error line: the failed phase
/// with its context, then (unless the log was streamed already) the last lines of its log.
pub fn failed_build_lines(a: &ActionView, mode: LogText, log_shown: bool) -> Vec<String> {
    let Some(b) = &a.build else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(f) = &b.failed_phase {
        out.push(format!(
            "{}/{}: build {} failed in {}",
            a.stage,
            a.action,
            one_line(&b.id),
            failed_phase_text(f)
        ));
    }
    if !log_shown && !b.log_tail.is_empty() {
        out.push(format!(
            "{}/{}: the last {} of its log up to the failure:",
            a.stage,
            a.action,
            count(b.log_tail.len(), "line", "lines")
        ));
        out.extend(b.log_tail.iter().map(|l| match mode {
            LogText::Plain => plain_log_line(&a.action, l),
            _ => log_line(&a.action, l, mode),
        }));
    }
    out
}

/// A plain log line: `2026-01-02T03:04:05Z <text>`. Holds no control character.
pub fn plain_line(at: f64, text: &str) -> String {
    format!("{} {}", timestamp(at), one_line(text))
}

/// The terminal line of one action: `✓ Build/Build  Succeeded in 1m05s`, the mark left to
/// the spinner while it runs.
pub fn action_line(a: &ActionView) -> String {
    let mark = match a.status {
        ActionStatus::Succeeded => "✓ ",
        ActionStatus::Failed => "✗ ",
        ActionStatus::Abandoned => "■ ",
        ActionStatus::Pending => "· ",
        _ => "",
    };
    let mut s = format!("{mark}{}/{}", a.stage, a.action);
    match (&a.status, a.seconds) {
        (ActionStatus::Pending, _) => s.push_str("  waiting"),
        (ActionStatus::InProgress, _) => {
            if let Some(b) = &a.build {
                s.push_str(&format!("  {}", one_line(&b.current_phase)));
            }
        }
        (other, Some(secs)) => s.push_str(&format!("  {other} in {}", duration(secs))),
        (other, None) => s.push_str(&format!("  {other}")),
    }
    if let Some(e) = &a.result.error {
        s.push_str(&format!("  {e}"));
    }
    s
}

/// Why an execution that ended did not succeed, naming the failing action and its message;
/// `None` when it succeeded.
pub fn failure(v: &View) -> Option<String> {
    // Succeeded, or still running (a watch stopped at an approval by --no-wait-approval).
    if v.succeeded() || !v.outline.status.is_terminal() {
        return None;
    }
    let mut msg = format!(
        "execution {} of pipeline {} ended {}",
        v.execution_id, v.pipeline, v.outline.status
    );
    if let Some(a) = v.failed_action() {
        msg.push_str(&format!(": action {}/{} failed", a.stage, a.action));
        if let Some(e) = &a.result.error {
            msg.push_str(&format!(": {e}"));
        }
        if let Some(u) = &a.result.url {
            msg.push_str(&format!("\n  see {}", one_line(u)));
        }
        // A deploy: the failing resource and the known cause's fix.
        let deploy = a.deploy_failure.as_ref();
        if let Some(d) = deploy {
            msg.push_str(&super::approval::deploy_failure_text(d));
        }
        // A permission refusal: which grant is missing and which command adds it.
        if let Some(g) = a
            .result
            .error
            .as_ref()
            .filter(|_| deploy.is_none_or(|d| d.fix.is_none()))
            .and_then(|e| missing_grant(&e.message))
        {
            msg.push_str(&format!("\n  hint: {}", one_line(&g.to_string())));
        }
    } else if let Some(sum) = line_of(v.outline.status_summary.as_deref()) {
        msg.push_str(&format!(": {sum}"));
    }
    Some(msg)
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.outline;
        write!(
            f,
            "{} {} execution {}",
            self.pipeline, o.status, self.execution_id
        )?;
        if let Some(secs) = o.seconds {
            write!(f, " in {}", duration(secs))?;
        }
        if let Some(r) = &o.revision {
            write!(f, "\n  commit {r}")?;
        }
        if let Some(sum) = line_of(o.status_summary.as_deref()) {
            write!(f, "\n  {sum}")?;
        }
        for a in self.actions() {
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
    if let Some(e) = &a.result.error {
        s.push_str(&format!("  {e}"));
    }
    if let Some(u) = &a.result.url {
        s.push_str(&format!("  {}", one_line(u)));
    }
    match &a.build {
        Some(b) if a.status == ActionStatus::InProgress => {
            s.push_str(&format!("  phase {}", one_line(&b.current_phase)));
        }
        Some(b) => {
            if let Some(f) = &b.failed_phase {
                s.push_str(&format!(
                    "\n               failed in {}",
                    failed_phase_text(f)
                ));
            }
        }
        None => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::execution::view::tests::{layout, run, snap};
    use crate::model::execution::{ActionError, ExecutionStatus, events};

    use ActionStatus as A;
    use ExecutionStatus as E;

    #[test]
    fn a_finished_action_and_the_next_one_starting_are_two_lines() {
        let a = snap(
            E::InProgress,
            vec![run("Source", "Source", A::InProgress, 100.0, 100.0)],
        );
        let b = snap(
            E::InProgress,
            vec![
                run("Build", "Build", A::InProgress, 104.0, 104.0),
                run("Source", "Source", A::Succeeded, 100.0, 104.0),
            ],
        );
        let text: Vec<String> = events(Some(&a), &b, 105.0).iter().map(event_text).collect();
        assert_eq!(
            text,
            ["Source/Source Succeeded after 4s", "Build/Build InProgress"]
        );
    }

    #[test]
    fn the_final_status_line_names_the_commit() {
        let a = snap(
            E::InProgress,
            vec![run("Build", "Build", A::InProgress, 100.0, 100.0)],
        );
        let mut failed = run("Build", "Build", A::Failed, 100.0, 130.0);
        failed.result.error = Some(ActionError {
            code: Some("JobFailed".into()),
            message: "cargo test failed\nsecond line".into(),
        });
        let b = snap(E::Failed, vec![failed]);
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
    fn failure_names_the_action_and_its_message() {
        let mut failed = run("Build", "Build", A::Failed, 100.0, 130.0);
        failed.result.error = Some(ActionError {
            code: Some("JobFailed".into()),
            message: "tests failed".into(),
        });
        failed.result.url = Some("https://console/build".into());
        let v = View::of(&layout(), &snap(E::Failed, vec![failed]), 140.0);
        let msg = failure(&v).unwrap();
        assert!(
            msg.starts_with(
                "execution e-1 of pipeline p ended Failed: action Build/Build failed: JobFailed: tests failed"
            ),
            "{msg}"
        );
        assert!(msg.contains("see https://console/build"));
        let ok = View::of(
            &layout(),
            &snap(
                E::Succeeded,
                vec![run("Build", "Build", A::Succeeded, 1.0, 2.0)],
            ),
            3.0,
        );
        assert_eq!(failure(&ok), None);
    }

    #[test]
    fn a_permission_failure_names_the_missing_grant_and_the_command() {
        let mut failed = run("Build", "Build", A::Failed, 100.0, 130.0);
        failed.result.error = Some(ActionError {
            code: Some("JobFailed".into()),
            message:
                "CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::1:role/b"
                    .into(),
        });
        let msg = failure(&View::of(&layout(), &snap(E::Failed, vec![failed]), 140.0)).unwrap();
        assert!(
            msg.ends_with("\n  hint: CodeBuild may not assume the build role arn:aws:iam::1:role/b: run `cargo xpipeline bootstrap`, which adds CodeBuildAssumesTheRole to the trust policy of arn:aws:iam::1:role/b; for a resource bootstrap may not change, add the statements `cargo xpipeline policies` prints for it"),
            "{msg}"
        );
    }

    #[test]
    fn superseded_and_stopped_say_why() {
        let mut s = snap(E::Superseded, vec![]);
        s.status_summary = Some("Superseded by execution e-2".into());
        let msg = failure(&View::of(&layout(), &s, 1.0)).unwrap();
        assert_eq!(
            msg,
            "execution e-1 of pipeline p ended Superseded: Superseded by execution e-2"
        );
    }

    #[test]
    fn plain_lines_hold_no_control_characters() {
        let mut r = run("Build", "Build", A::Failed, 100.0, 130.0);
        r.result.error = Some(ActionError {
            code: None,
            message: "\u{1b}[31mred\u{1b}[0m\ttab\r".into(),
        });
        r.result.summary = Some("a\u{7}b".into());
        let ev = events(None, &snap(E::Failed, vec![r]), 131.0);
        for e in &ev {
            let line = plain_line(131.0, &event_text(e));
            assert!(
                !line.chars().any(|c| c.is_control()),
                "control character in {line:?}"
            );
        }
        assert!(plain_line(0.0, &event_text(&ev[0])).starts_with("1970-01-01T00:00:00Z "));
    }

    #[test]
    fn action_lines_carry_a_mark_once_done() {
        let v = View::of(
            &layout(),
            &snap(
                E::InProgress,
                vec![run("Source", "Source", A::Succeeded, 1.0, 3.0)],
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
        let v = View::of(
            &layout(),
            &snap(
                E::Succeeded,
                vec![
                    run("Source", "Source", A::Succeeded, 100.0, 102.0),
                    run("Build", "Build", A::Succeeded, 102.0, 160.0),
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

    #[test]
    fn a_failed_run_as_plain_lines_then_its_error() {
        let ticks = [
            snap(
                E::InProgress,
                vec![run("Source", "Source", A::InProgress, 100.0, 100.0)],
            ),
            snap(
                E::InProgress,
                vec![
                    run("Source", "Source", A::Succeeded, 100.0, 103.0),
                    run("Build", "Build", A::InProgress, 103.0, 103.0),
                ],
            ),
            snap(E::Failed, {
                let mut build = run("Build", "Build", A::Failed, 103.0, 379.0);
                build.result.error = Some(ActionError {
                    code: Some("JobFailed".into()),
                    message: "Build failed: exit status 101".into(),
                });
                build.result.url = Some("https://console/build/1".into());
                vec![run("Source", "Source", A::Succeeded, 100.0, 103.0), build]
            }),
        ];
        let mut lines = Vec::new();
        let mut prev = None;
        for (i, s) in ticks.iter().enumerate() {
            let at = 100.0 + 140.0 * i as f64;
            for e in events(prev, s, at) {
                lines.push(plain_line(at, &event_text(&e)));
            }
            prev = Some(s);
        }
        let last = View::of(&layout(), &ticks[2], 400.0);
        lines.push(format!("error: {}", failure(&last).unwrap()));
        insta::assert_snapshot!(lines.join("\n"), @r#"
        1970-01-01T00:01:40Z execution InProgress, commit 0123456789ab "Fix the build"
        1970-01-01T00:01:40Z Source/Source InProgress
        1970-01-01T00:04:00Z Source/Source Succeeded after 3s
        1970-01-01T00:04:00Z Build/Build InProgress
        1970-01-01T00:06:20Z Build/Build Failed after 4m36s: JobFailed: Build failed: exit status 101 https://console/build/1
        1970-01-01T00:06:20Z execution Failed, commit 0123456789ab "Fix the build"
        error: execution e-1 of pipeline p ended Failed: action Build/Build failed: JobFailed: Build failed: exit status 101
          see https://console/build/1
        "#);
        insta::assert_snapshot!(last.to_string(), @r#"
        p Failed execution e-1 in 4m39s
          commit 0123456789ab "Fix the build"
          Succeeded    Source/Source  3s
          Failed       Build/Build  4m36s  JobFailed: Build failed: exit status 101  https://console/build/1
        "#);
    }

    #[test]
    fn push_without_a_followed_execution_names_the_started_one() {
        let w = WithExecution::new("pushed", None, Some("e-9"));
        assert_eq!(w.to_string(), "pushed\nstarted execution e-9");
        let json = serde_json::to_value(WithExecution::new(
            serde_json::json!({"commit": "c"}),
            None,
            Some("e-9"),
        ))
        .unwrap();
        assert_eq!(json["execution"]["executionId"], "e-9");
    }
}
