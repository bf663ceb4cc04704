//! Where one execution stands at one moment: every declared stage and action in order, those
//! not started yet as pending, each with its latest run. `status --execution ID` prints it,
//! the watch draws it, and it is the final result of a watch (`status --watch`, `push`).

use serde::Serialize;

use super::build::{BuildView, LogLine};
use super::deploy::DeployFailure;
use super::snapshot::{ActionResult, Layout, Revision, Snapshot};
use super::status::{ActionStatus, ExecutionStatus, StageStatus};
use crate::model::text::timestamp;

/// Where one action stands in the view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    pub stage: String,
    pub action: String,
    /// AWS's status, or Pending when the action has not started in this execution.
    pub status: ActionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// Seconds from start to end (or to now while it runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(flatten)]
    pub result: ActionResult,
    /// The CodeBuild build of a CodeBuild action, when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildView>,
    /// A failed CloudFormation action explained (the watch reads it at the end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy_failure: Option<DeployFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageView {
    pub name: String,
    pub status: StageStatus,
    pub actions: Vec<ActionView>,
}

/// An execution in outline: its status and why, the revision it builds, what started it,
/// when, and for how long. The head of a `View` and a row of the `status` overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outline {
    pub status: ExecutionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// From the start to the last update once it has ended, to `now` while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

impl Outline {
    /// `started` and `seconds` from the start and the last update (seconds since the epoch).
    pub fn timed(self, start: Option<f64>, last_update: Option<f64>, now: f64) -> Outline {
        let end = match self.status.is_terminal() {
            true => last_update.unwrap_or(now),
            false => now,
        };
        Outline {
            started: start.map(timestamp),
            seconds: start.map(|st| (end - st).max(0.0)),
            ..self
        }
    }
}

/// The whole execution at one moment; also the final result of a watch (stdout).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    pub pipeline: String,
    pub execution_id: String,
    #[serde(flatten)]
    pub outline: Outline,
    pub stages: Vec<StageView>,
}

impl View {
    /// The view of a snapshot at time `now` (seconds since the epoch): the layout's stages
    /// and actions in order, then any action the layout does not know (the pipeline changed).
    pub fn of(layout: &Layout, s: &Snapshot, now: f64) -> View {
        let runs = s.latest_runs();
        let mut order: Layout = layout.clone();
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
                    .map(|action| {
                        let run = runs.get(&(stage.as_str(), action.as_str())).copied();
                        ActionView {
                            stage: stage.clone(),
                            action,
                            status: run.map_or(ActionStatus::Pending, |r| r.status.clone()),
                            started: run.and_then(|r| r.start).map(timestamp),
                            seconds: run.and_then(|r| r.seconds(now)),
                            result: run.map(|r| r.result.clone()).unwrap_or_default(),
                            build: run.and_then(|r| s.build_of(r)).map(BuildView::of),
                            deploy_failure: None,
                        }
                    })
                    .collect();
                let statuses: Vec<ActionStatus> =
                    actions.iter().map(|a| a.status.clone()).collect();
                StageView {
                    status: StageStatus::of_actions(&statuses),
                    name: stage,
                    actions,
                }
            })
            .collect();
        let outline = Outline {
            status: s.status.clone(),
            status_summary: s.status_summary.clone(),
            revision: s.revision.clone(),
            trigger: s.trigger.clone(),
            started: None,
            seconds: None,
        };
        View {
            pipeline: s.pipeline.clone(),
            execution_id: s.execution_id.clone(),
            outline: outline.timed(
                s.actions.iter().filter_map(|r| r.start).reduce(f64::min),
                s.actions.iter().filter_map(|r| r.updated).reduce(f64::max),
                now,
            ),
            stages,
        }
    }

    pub fn actions(&self) -> impl Iterator<Item = &ActionView> {
        self.stages.iter().flat_map(|s| &s.actions)
    }

    pub fn succeeded(&self) -> bool {
        self.outline.status == ExecutionStatus::Succeeded
    }

    /// The first action that failed, the one to name when the execution did not succeed.
    pub fn failed_action(&self) -> Option<&ActionView> {
        self.actions().find(|a| a.status == ActionStatus::Failed)
    }

    /// Attach the last lines of a build's log to the action that ran it.
    pub fn attach_log_tail(&mut self, build_id: &str, lines: Vec<LogLine>) {
        let build = self
            .stages
            .iter_mut()
            .flat_map(|s| s.actions.iter_mut())
            .filter_map(|a| a.build.as_mut())
            .find(|b| b.id == build_id);
        if let Some(b) = build {
            b.log_tail = lines;
        }
    }

    /// Attach what explains a failed deploy action to it.
    pub fn attach_deploy_failure(&mut self, stage: &str, action: &str, f: DeployFailure) {
        let found = self
            .stages
            .iter_mut()
            .flat_map(|s| s.actions.iter_mut())
            .find(|a| a.stage == stage && a.action == action);
        if let Some(a) = found {
            a.deploy_failure = Some(f);
        }
    }

    /// The commit the execution built when it is not `pushed`: a V1 pipeline builds the
    /// branch head, which someone may have moved since the push.
    pub fn built_other_than(&self, pushed: &str) -> Option<&str> {
        let built = &self.outline.revision.as_ref()?.commit;
        (built != pushed).then_some(built.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::execution::snapshot::ActionRun;

    pub(crate) fn run(
        stage: &str,
        action: &str,
        status: ActionStatus,
        start: f64,
        updated: f64,
    ) -> ActionRun {
        ActionRun {
            stage: stage.into(),
            action: action.into(),
            status,
            provider: None,
            start: Some(start),
            updated: Some(updated),
            result: ActionResult::default(),
        }
    }

    pub(crate) fn snap(status: ExecutionStatus, actions: Vec<ActionRun>) -> Snapshot {
        Snapshot {
            pipeline: "p".into(),
            execution_id: "e-1".into(),
            status,
            status_summary: None,
            revision: Some(Revision {
                commit: "0123456789abcdef0123".into(),
                summary: Some("Fix the build\n\nlong body".into()),
            }),
            trigger: Some("StartPipelineExecution".into()),
            actions,
            builds: Default::default(),
        }
    }

    pub(crate) fn layout() -> Layout {
        vec![
            ("Source".into(), vec!["Source".into()]),
            ("Build".into(), vec!["Build".into()]),
        ]
    }

    #[test]
    fn the_view_shows_pending_actions_and_stage_status() {
        let s = snap(
            ExecutionStatus::InProgress,
            vec![run(
                "Source",
                "Source",
                ActionStatus::Succeeded,
                100.0,
                103.0,
            )],
        );
        let v = View::of(&layout(), &s, 110.0);
        assert_eq!(v.stages.len(), 2);
        assert_eq!(v.stages[0].status, StageStatus::Succeeded);
        assert_eq!(v.stages[0].actions[0].seconds, Some(3.0));
        assert_eq!(v.stages[1].status, StageStatus::Pending);
        assert_eq!(v.stages[1].actions[0].status, ActionStatus::Pending);
        assert_eq!(v.outline.seconds, Some(10.0));
    }

    #[test]
    fn a_retried_action_shows_its_latest_run() {
        let s = snap(
            ExecutionStatus::InProgress,
            vec![
                run("Build", "Build", ActionStatus::InProgress, 200.0, 200.0),
                run("Build", "Build", ActionStatus::Failed, 100.0, 150.0),
            ],
        );
        let v = View::of(&layout(), &s, 210.0);
        assert_eq!(v.stages[1].actions[0].status, ActionStatus::InProgress);
        assert_eq!(v.stages[1].status, StageStatus::InProgress);
    }

    #[test]
    fn an_action_the_layout_does_not_know_is_shown_after_it() {
        let s = snap(
            ExecutionStatus::InProgress,
            vec![run("Deploy", "Deploy", ActionStatus::InProgress, 1.0, 1.0)],
        );
        let v = View::of(&layout(), &s, 2.0);
        let names: Vec<&str> = v.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Source", "Build", "Deploy"]);
    }

    #[test]
    fn a_finished_execution_lasts_until_its_last_update() {
        let s = snap(
            ExecutionStatus::Succeeded,
            vec![
                run("Source", "Source", ActionStatus::Succeeded, 100.0, 102.0),
                run("Build", "Build", ActionStatus::Succeeded, 102.0, 160.0),
            ],
        );
        let v = View::of(&layout(), &s, 999.0);
        assert_eq!(v.outline.seconds, Some(60.0));
        assert!(v.succeeded());
        assert!(v.failed_action().is_none());
    }

    #[test]
    fn the_json_keys_stay_as_documented() {
        let mut build = run("Build", "Build", ActionStatus::Failed, 100.0, 130.0);
        build.result.url = Some("https://b".into());
        let v = View::of(
            &layout(),
            &snap(ExecutionStatus::Failed, vec![build]),
            131.0,
        );
        let json = serde_json::to_string(&v).unwrap();
        let keys = [
            "\"pipeline\"",
            "\"executionId\"",
            "\"status\":\"Failed\"",
            "\"revision\"",
            "\"trigger\"",
            "\"started\"",
            "\"seconds\"",
            "\"stages\"",
        ];
        let at: Vec<usize> = keys.iter().map(|k| json.find(k).expect(k)).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{json}");
        assert!(
            json.contains(
                "{\"stage\":\"Build\",\"action\":\"Build\",\"status\":\"Failed\",\"started\":\"1970-01-01T00:01:40Z\",\"seconds\":30.0,\"url\":\"https://b\"}"
            ),
            "{json}"
        );
        assert!(
            json.contains("{\"name\":\"Source\",\"status\":\"Pending\""),
            "{json}"
        );
    }

    #[test]
    fn building_another_commit_than_the_pushed_one_is_noticed() {
        let mut v = View::of(&layout(), &snap(ExecutionStatus::Succeeded, vec![]), 1.0);
        let built = "0123456789abcdef0123";
        assert_eq!(v.built_other_than(built), None);
        assert_eq!(v.built_other_than(&"b".repeat(40)), Some(built));
        v.outline.revision = None;
        assert_eq!(v.built_other_than(&"b".repeat(40)), None);
    }
}
