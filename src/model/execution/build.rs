//! The CodeBuild build behind a Build action, as plain values: its phases (BatchGetBuilds),
//! where its log is (the build's `logs` field, which honours the project's log
//! configuration), its log lines (CloudWatch Logs), the failed phase with its context, and
//! the forward-token rule that makes a followed log lose and repeat nothing.

use serde::Serialize;

use crate::model::text::timestamp_millis;

/// The provider name of a CodeBuild action (actionTypeId.provider).
pub const CODEBUILD: &str = "CodeBuild";

/// A build as one BatchGetBuilds answer describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    pub id: String,
    /// buildStatus: IN_PROGRESS, SUCCEEDED, FAILED, FAULT, TIMED_OUT, STOPPED.
    pub status: String,
    /// currentPhase: SUBMITTED .. FINALIZING, then COMPLETED.
    pub current_phase: String,
    pub complete: bool,
    pub phases: Vec<Phase>,
    /// Where its CloudWatch log is; `None` before the build has a log stream, or when the
    /// project's CloudWatch logs are disabled.
    pub logs: Option<LogsAt>,
}

/// One phase of a build.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub kind: String,
    /// phaseStatus once the phase has ended: SUCCEEDED, FAILED, FAULT, TIMED_OUT, ...
    pub status: Option<String>,
    /// Seconds since the epoch.
    pub start: Option<f64>,
    pub end: Option<f64>,
    /// The (statusCode, message) pairs CodeBuild gives; empty strings for a phase that passed.
    pub contexts: Vec<(String, String)>,
}

/// A CloudWatch Logs group and stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsAt {
    pub group: String,
    pub stream: String,
}

/// The phase a build failed in, with CodeBuild's context.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedPhase {
    pub phase: String,
    /// BUILD failed with FAILED; also FAULT, TIMED_OUT, STOPPED.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the phase ended (seconds since the epoch): the log tail shown ends there, so
    /// that the failing lines are not pushed out by the phases that run after it.
    #[serde(skip)]
    pub end: Option<f64>,
}

/// One log event: CloudWatch's timestamp (milliseconds since the epoch) and the text as
/// written, untrusted (see `model::text::log_text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub millis: i64,
    pub message: String,
}

impl Serialize for LogLine {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("LogLine", 2)?;
        st.serialize_field("timestamp", &timestamp_millis(self.millis))?;
        st.serialize_field("message", self.message.trim_end_matches(['\n', '\r']))?;
        st.end()
    }
}

impl Build {
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }

    /// The first phase that ended other than SUCCEEDED, with its first non-empty context.
    pub fn failed_phase(&self) -> Option<FailedPhase> {
        let p = self
            .phases
            .iter()
            .find(|p| p.status.as_deref().is_some_and(|s| s != "SUCCEEDED"))?;
        let context = p
            .contexts
            .iter()
            .find(|(c, m)| !c.is_empty() || !m.is_empty());
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Some(FailedPhase {
            phase: p.kind.clone(),
            status: p.status.clone().unwrap_or_default(),
            code: context.and_then(|(c, _)| nonempty(c)),
            message: context.and_then(|(_, m)| nonempty(m)),
            end: p.end,
        })
    }
}

/// What a build says in a view: its id, phase and status, and once it failed, the failed
/// phase and the last lines of its log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildView {
    pub id: String,
    pub current_phase: String,
    pub build_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_phase: Option<FailedPhase>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<LogLine>,
}

impl BuildView {
    pub fn of(b: &Build) -> BuildView {
        BuildView {
            id: b.id.clone(),
            current_phase: b.current_phase.clone(),
            build_status: b.status.clone(),
            failed_phase: b.failed_phase(),
            log_tail: Vec::new(),
        }
    }
}

/// Where a followed log stands: the forward token of the last page read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogCursor {
    pub token: Option<String>,
}

impl LogCursor {
    /// Take in a page read with `self.token`: true when the stream is read to its end for
    /// now. CloudWatch says the end by returning the token it was given; a page may be
    /// empty or partial without being the end, so only the token tells.
    pub fn advance(&mut self, next: &str) -> bool {
        let end = self.token.as_deref() == Some(next);
        self.token = Some(next.to_owned());
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(kind: &str, status: Option<&str>, ctx: (&str, &str)) -> Phase {
        Phase {
            kind: kind.into(),
            status: status.map(Into::into),
            start: Some(100.0),
            end: Some(130.0),
            contexts: vec![(ctx.0.into(), ctx.1.into())],
        }
    }

    fn build(phases: Vec<Phase>) -> Build {
        Build {
            id: "p:1".into(),
            status: "FAILED".into(),
            current_phase: "COMPLETED".into(),
            complete: true,
            phases,
            logs: None,
        }
    }

    #[test]
    fn the_failed_phase_is_the_first_that_did_not_succeed_with_its_context() {
        let b = build(vec![
            phase("INSTALL", Some("SUCCEEDED"), ("", "")),
            phase(
                "BUILD",
                Some("FAILED"),
                (
                    "COMMAND_EXECUTION_ERROR",
                    "Error while executing command: cargo build",
                ),
            ),
            phase("POST_BUILD", Some("SUCCEEDED"), ("", "")),
            phase("COMPLETED", None, ("", "")),
        ]);
        assert_eq!(
            b.failed_phase(),
            Some(FailedPhase {
                phase: "BUILD".into(),
                status: "FAILED".into(),
                code: Some("COMMAND_EXECUTION_ERROR".into()),
                message: Some("Error while executing command: cargo build".into()),
                end: Some(130.0),
            })
        );
        let ok = build(vec![phase("BUILD", Some("SUCCEEDED"), ("", ""))]);
        assert_eq!(ok.failed_phase(), None);
        let bare = build(vec![phase("BUILD", Some("TIMED_OUT"), ("", ""))]);
        let f = bare.failed_phase().unwrap();
        assert_eq!((f.code, f.message), (None, None));
        assert_eq!(f.status, "TIMED_OUT");
    }

    #[test]
    fn the_cursor_ends_only_when_the_token_comes_back() {
        let mut c = LogCursor::default();
        assert!(!c.advance("f/1"), "a first page is never the end");
        assert!(!c.advance("f/2"));
        assert!(c.advance("f/2"));
        assert!(!c.advance("f/9"), "new events after the end");
        assert_eq!(c.token.as_deref(), Some("f/9"));
    }

    #[test]
    fn a_log_line_serialises_as_timestamp_and_message_without_its_newline() {
        let l = LogLine {
            millis: 1_500,
            message: "error[E0425]\n".into(),
        };
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"timestamp":"1970-01-01T00:00:01.5Z","message":"error[E0425]"}"#
        );
    }

    #[test]
    fn a_build_view_carries_the_failed_phase() {
        let b = build(vec![phase("BUILD", Some("FAILED"), ("C", "m"))]);
        let json = serde_json::to_string(&BuildView::of(&b)).unwrap();
        assert_eq!(
            json,
            r#"{"id":"p:1","currentPhase":"COMPLETED","buildStatus":"FAILED","failedPhase":{"phase":"BUILD","status":"FAILED","code":"C","message":"m"}}"#
        );
    }
}
