//! `status`'s overview as text: the pipeline, each stage with its actions, the recent
//! executions. The JSON is the model's own serialization.

use std::fmt;

use crate::model::execution::Report;
use crate::model::pipeline::declared_by::DECLARED_BY_TAG;
use crate::model::text::{duration, short_commit};

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.pipeline;
        write!(f, "{} ({}", p.name, p.pipeline_type)?;
        if let Some(v) = p.version {
            write!(f, ", version {v}")?;
        }
        if let Some(m) = &p.execution_mode {
            write!(f, ", {m}")?;
        }
        writeln!(f, ")")?;
        write!(
            f,
            "  pipeline account {} ({}), source account {}",
            p.pipeline_account, p.region, p.source_account
        )?;
        if let (Some(r), Some(b)) = (&p.repository, &p.branch) {
            write!(f, ": {r}@{b}")?;
        }
        writeln!(f)?;
        if let Some(at) = &p.polling_disabled_at {
            writeln!(
                f,
                "  polling disabled by AWS since {at} (inactive for 30 days): a push no longer starts it; \
                 set pipeline.trigger = \"events\" (then `cargo xpipeline bootstrap`) or \"push\""
            )?;
        }
        match &p.declared_by {
            Some(d) => writeln!(f, "  declared by {d}")?,
            None => writeln!(
                f,
                "  declared by no recorded commit (no tag {DECLARED_BY_TAG}; the next push records it)"
            )?,
        }
        writeln!(f, "\nStages")?;
        for st in &self.stages {
            write!(f, "  {:<12} {}", st.name, st.status)?;
            if let Some(id) = &st.execution_id {
                write!(f, "  execution {id}")?;
            }
            writeln!(f)?;
            for a in &st.actions {
                write!(f, "    {:<10} {:<11}", a.name, a.status)?;
                if let Some(r) = &a.revision {
                    write!(f, " {}", short_commit(r))?;
                }
                if let Some(s) = a.summary.as_deref().filter(|s| !s.is_empty()) {
                    write!(f, " \"{s}\"")?;
                }
                if let Some(t) = &a.last_change {
                    write!(f, "  {t}")?;
                }
                if let Some(e) = &a.error {
                    write!(f, "  {e}")?;
                }
                if let Some(u) = &a.url {
                    write!(f, "  {u}")?;
                }
                writeln!(f)?;
            }
        }
        if !self.approvals.is_empty() {
            writeln!(f, "\nWaiting for approval")?;
            for line in self
                .approvals
                .iter()
                .flat_map(crate::ui::approval::waiting_lines)
            {
                writeln!(f, "  {line}")?;
            }
        }
        write!(f, "\nRecent executions")?;
        if self.executions.is_empty() {
            write!(f, "\n  none yet: `cargo xpipeline push` starts one")?;
        }
        for e in &self.executions {
            let o = &e.outline;
            write!(f, "\n  {}  {:<11}", e.id, o.status)?;
            if let Some(r) = &o.revision {
                write!(f, " {r}")?;
            }
            if let Some(t) = &o.trigger {
                write!(f, "  {t}")?;
            }
            if let Some(s) = &o.started {
                write!(f, "  {s}")?;
            }
            if let Some(secs) = o.seconds {
                write!(f, "  {}", duration(secs))?;
            }
            if let Some(note) = &e.note {
                write!(f, "\n    {note}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::execution::view::Outline;
    use crate::model::execution::{
        ActionState, ActionStatus, ExecutionRow, ExecutionStatus, PipelineInfo, Report, Revision,
        StageState, StageStatus,
    };
    use crate::model::pipeline::declared_by::{DeclaredBy, Reach};

    fn report() -> Report {
        Report {
            pipeline: PipelineInfo {
                name: "hello-pipeline".into(),
                pipeline_type: "V2".into(),
                version: Some(3),
                execution_mode: Some("SUPERSEDED".into()),
                region: "eu-west-1".into(),
                pipeline_account: "111111111111".into(),
                source_account: "222222222222".into(),
                repository: Some("hello".into()),
                branch: Some("main".into()),
                polling_disabled_at: None,
                declared_by: Some(
                    DeclaredBy::parse("5d8e9c1a0b2f5d8e9c1a0b2f5d8e9c1a0b2f5d8e")
                        .on("main", Some(Reach::OnBranch)),
                ),
            },
            stages: vec![StageState {
                name: "Build".into(),
                status: StageStatus::Failed,
                execution_id: Some("e-1".into()),
                actions: vec![ActionState {
                    name: "Build".into(),
                    status: ActionStatus::Failed,
                    revision: Some("hello-build:7f3c".into()),
                    summary: None,
                    last_change: Some("2026-01-12T10:19:41Z".into()),
                    url: Some("https://b".into()),
                    error: Some("JobFailed: exit status 101".into()),
                }],
            }],
            approvals: vec![],
            executions: vec![ExecutionRow {
                id: "e-1".into(),
                outline: Outline {
                    status: ExecutionStatus::Failed,
                    status_summary: None,
                    revision: Some(Revision {
                        commit: "5d8e9c1a0b2f5d8e9c1a".into(),
                        summary: Some("Fix the parser".into()),
                    }),
                    trigger: Some("StartPipelineExecution".into()),
                    started: Some("2026-01-12T10:15:02Z".into()),
                    seconds: Some(279.0),
                },
                note: None,
            }],
        }
    }

    #[test]
    fn the_overview_reads_as_documented() {
        let expected = "\
hello-pipeline (V2, version 3, SUPERSEDED)
  pipeline account 111111111111 (eu-west-1), source account 222222222222: hello@main
  declared by 5d8e9c1a0b2f (main)

Stages
  Build        Failed  execution e-1
    Build      Failed      hello-build:7f3c  2026-01-12T10:19:41Z  JobFailed: exit status 101  https://b

Recent executions
  e-1  Failed      5d8e9c1a0b2f \"Fix the parser\"  StartPipelineExecution  2026-01-12T10:15:02Z  4m39s";
        assert_eq!(report().to_string(), expected);
    }

    #[test]
    fn a_creation_run_that_found_no_branch_is_explained_under_its_row() {
        let mut r = report();
        r.executions[0].outline.trigger = Some("CreatePipeline".into());
        r.executions[0].outline.revision = None;
        r.executions[0].note = Some("the pipeline was created before its branch existed, so its first run found nothing to build; the next push builds it".into());
        let text = r.to_string();
        assert!(
            text.ends_with(
                "CreatePipeline  2026-01-12T10:15:02Z  4m39s\n    the pipeline was created before its branch existed, so its first run found nothing to build; the next push builds it"
            ),
            "{text}"
        );
    }

    #[test]
    fn no_executions_yet_says_how_to_start_one() {
        let mut r = report();
        r.executions.clear();
        assert!(
            r.to_string()
                .ends_with("Recent executions\n  none yet: `cargo xpipeline push` starts one")
        );
    }

    #[test]
    fn polling_disabled_by_aws_is_said_with_what_to_do() {
        let mut r = report();
        assert!(!r.to_string().contains("polling disabled"));
        r.pipeline.polling_disabled_at = Some("2026-01-02T03:04:05Z".into());
        let text = r.to_string();
        assert!(
            text.contains(
                "  polling disabled by AWS since 2026-01-02T03:04:05Z (inactive for 30 days)"
            ),
            "{text}"
        );
        assert!(text.contains("pipeline.trigger = \"events\""), "{text}");
    }
}
