//! What changed between two snapshots of one execution: the events a watch shows as plain
//! lines, and the "something changed" its pacing listens to.

use super::build::LogLine;
use super::snapshot::{ActionResult, ActionRun, Revision, Snapshot};
use super::status::{ActionStatus, ExecutionStatus};

/// What changed between two snapshots of the same execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The execution's status (reported on the first snapshot too).
    Execution {
        status: ExecutionStatus,
        summary: Option<String>,
        revision: Option<Revision>,
    },
    /// An action appeared or its status changed.
    Action {
        stage: String,
        action: String,
        status: ActionStatus,
        /// How long it ran, once it has ended.
        seconds: Option<f64>,
        result: ActionResult,
    },
    /// The CodeBuild build of an action entered a phase (COMPLETED is not told: the
    /// action's end is).
    Phase {
        stage: String,
        action: String,
        phase: String,
    },
    /// New lines of a build's log (the watch with --logs reads them; not a snapshot diff).
    Log {
        stage: String,
        action: String,
        lines: Vec<LogLine>,
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
    let ended = next.status.is_terminal();
    if exec_changed && !ended {
        out.push(exec_event.clone());
    }
    let before = prev.map(Snapshot::latest_runs).unwrap_or_default();
    let mut runs: Vec<&ActionRun> = next.latest_runs().into_values().collect();
    runs.sort_by(|a, b| {
        (a.start.unwrap_or(0.0), &a.stage, &a.action)
            .partial_cmp(&(b.start.unwrap_or(0.0), &b.stage, &b.action))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for r in runs {
        let old = before.get(&(r.stage.as_str(), r.action.as_str()));
        if old.is_none_or(|o| o.status != r.status || o.start != r.start) {
            out.push(Event::Action {
                stage: r.stage.clone(),
                action: r.action.clone(),
                status: r.status.clone(),
                seconds: if r.status == ActionStatus::InProgress {
                    None
                } else {
                    r.seconds(now)
                },
                result: r.result.clone(),
            });
        }
        let phase = next.build_of(r).map(|b| &b.current_phase);
        let was = old
            .and_then(|o| prev.and_then(|p| p.build_of(o)))
            .map(|b| &b.current_phase);
        if let Some(phase) = phase.filter(|p| Some(*p) != was && *p != "COMPLETED") {
            out.push(Event::Phase {
                stage: r.stage.clone(),
                action: r.action.clone(),
                phase: phase.clone(),
            });
        }
    }
    if exec_changed && ended {
        out.push(exec_event);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::execution::view::tests::{run, snap};
    use ActionStatus as A;
    use ExecutionStatus as E;

    fn source(status: A, updated: f64) -> ActionRun {
        run("Source", "Source", status, 100.0, updated)
    }

    #[test]
    fn first_snapshot_reports_the_execution_and_each_action() {
        let s = snap(E::InProgress, vec![source(A::InProgress, 100.0)]);
        let ev = events(None, &s, 101.0);
        assert_eq!(ev.len(), 2);
        assert!(matches!(&ev[0], Event::Execution { status, .. } if *status == E::InProgress));
        assert!(
            matches!(&ev[1], Event::Action { action, status, seconds: None, .. } if action == "Source" && *status == A::InProgress)
        );
    }

    #[test]
    fn an_unchanged_snapshot_has_no_events() {
        let s = snap(E::InProgress, vec![source(A::InProgress, 100.0)]);
        assert!(events(Some(&s), &s, 150.0).is_empty());
    }

    #[test]
    fn a_finished_action_and_the_next_one_starting_come_in_start_order() {
        let a = snap(E::InProgress, vec![source(A::InProgress, 100.0)]);
        let b = snap(
            E::InProgress,
            vec![
                run("Build", "Build", A::InProgress, 104.0, 104.0),
                source(A::Succeeded, 104.0),
            ],
        );
        let ev = events(Some(&a), &b, 105.0);
        assert_eq!(ev.len(), 2);
        assert!(
            matches!(&ev[0], Event::Action { action, seconds: Some(s), .. } if action == "Source" && *s == 4.0)
        );
        assert!(matches!(&ev[1], Event::Action { action, seconds: None, .. } if action == "Build"));
    }

    #[test]
    fn a_build_entering_a_phase_is_an_event_once() {
        use crate::model::execution::Build;
        let with_phase = |phase: &str| {
            let mut r = run("Build", "Build", A::InProgress, 100.0, 100.0);
            r.provider = Some("CodeBuild".into());
            r.result.external_id = Some("p:1".into());
            let mut s = snap(E::InProgress, vec![r]);
            s.builds.insert(
                "p:1".into(),
                Build {
                    id: "p:1".into(),
                    status: "IN_PROGRESS".into(),
                    current_phase: phase.into(),
                    complete: false,
                    phases: vec![],
                    logs: None,
                },
            );
            s
        };
        let a = with_phase("INSTALL");
        let ev = events(None, &a, 101.0);
        assert!(
            matches!(&ev[2], Event::Phase { phase, .. } if phase == "INSTALL"),
            "{ev:?}"
        );
        assert!(events(Some(&a), &a, 102.0).is_empty());
        let b = with_phase("BUILD");
        let ev = events(Some(&a), &b, 103.0);
        assert_eq!(
            ev,
            [Event::Phase {
                stage: "Build".into(),
                action: "Build".into(),
                phase: "BUILD".into()
            }]
        );
        assert!(events(Some(&b), &with_phase("COMPLETED"), 104.0).is_empty());
    }

    #[test]
    fn the_final_status_comes_after_the_actions() {
        let a = snap(
            E::InProgress,
            vec![run("Build", "Build", A::InProgress, 100.0, 100.0)],
        );
        let b = snap(
            E::Failed,
            vec![run("Build", "Build", A::Failed, 100.0, 130.0)],
        );
        let ev = events(Some(&a), &b, 131.0);
        assert_eq!(ev.len(), 2);
        assert!(matches!(&ev[0], Event::Action { .. }));
        assert!(matches!(&ev[1], Event::Execution { status, .. } if *status == E::Failed));
    }
}
