//! `cargo xpipeline plan`: compare the live pipeline in the pipeline account with a
//! declaration — the working-tree xpipeline.toml by default (a preview of the next commit),
//! `--commit REV`'s, or `--config PATH` — and print the differences (or "no changes"), what
//! of the file is not committed yet, and which commit declared the live pipeline. Never writes.

use std::fmt;

use serde::Serialize;

use super::declaration::{self, Committed, Declaration, Origin};
use crate::aws::{self, pipeline, sts};
use crate::error::Result;
use crate::model::pipeline::declared_by::DECLARED_BY_TAG;
use crate::model::pipeline::plan::Plan;
use crate::model::text::short_commit;
use crate::settings::Settings;
use crate::ui::Ui;

pub fn run(settings: &Settings, decl: &Declaration, ui: &Ui) -> Result<()> {
    let cfg = &decl.config;
    let mut plan = aws::block_on(async {
        let sdk = aws::sdk_config(settings, ui.aws_calls()).await;
        // Credentials of another account would find no pipeline and report one "to create".
        let (sts_client, _) = sts::client(&sdk);
        let identity = sts::caller_identity(&sts_client, settings.profile.as_deref()).await?;
        sts::check_account(&identity, cfg)?;
        ui.detail(format_args!(
            "reading pipeline {} in account {} ({}) as {}",
            cfg.pipeline.name,
            cfg.pipeline.account,
            settings.region.clone(),
            identity.arn
        ));
        let client = pipeline::quota_aware(&aws::client!(aws_sdk_codepipeline, &sdk));
        pipeline::plan(&client, cfg, decl.tag_value().as_deref()).await
    })??;
    plan.declared_by = plan
        .declared_by
        .take()
        .map(|d| declaration::placed(&settings.repo_dir, d));
    ui.result(&PlanReport::new(plan, decl))
}

/// What `plan` prints: the comparison, and where the compared declaration stands.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanReport {
    #[serde(flatten)]
    plan: Plan,
    /// The declaration compared: `xpipeline.toml`, `xpipeline.toml@<commit>` or --config's.
    declaration: String,
    /// The commit it was read from (--commit).
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    /// The working-tree file is not what HEAD holds: push would not apply it until committed.
    #[serde(skip_serializing_if = "Option::is_none")]
    uncommitted: Option<bool>,
    #[serde(skip)]
    notes: Vec<String>,
}

impl PlanReport {
    fn new(plan: Plan, decl: &Declaration) -> PlanReport {
        let shown = &decl.shown;
        let mut notes = Vec::new();
        let (commit, uncommitted) = match &decl.origin {
            Origin::File { .. } => {
                notes.push(format!("compared {shown} (--config), as it is on disk"));
                (None, None)
            }
            Origin::Commit { commit, .. } => {
                notes.push(format!("compared {shown}"));
                (Some(commit.clone()), None)
            }
            Origin::WorkTree { committed } => {
                match committed {
                    Committed::Differs { commit } => notes.push(format!(
                        "{shown} in the working tree differs from {shown}@{} (HEAD): these \
                         changes are not committed, and push applies only what the pushed \
                         commit holds; commit them to apply them",
                        short_commit(commit)
                    )),
                    Committed::Absent { commit: Some(c) } => notes.push(format!(
                        "{shown} is not committed (HEAD {} has none): push refuses a commit \
                         without it; commit it first",
                        short_commit(c)
                    )),
                    Committed::Absent { commit: None } => notes.push(format!(
                        "the repository has no commit yet: commit {shown} before pushing"
                    )),
                    Committed::Same { .. } | Committed::Unknown => {}
                }
                let differs = matches!(
                    committed,
                    Committed::Differs { .. } | Committed::Absent { .. }
                );
                (None, (*committed != Committed::Unknown).then_some(differs))
            }
        };
        match &plan.declared_by {
            Some(d) => notes.push(
                d.foreign()
                    .unwrap_or_else(|| format!("the live pipeline was declared by {d}")),
            ),
            None if plan.exists => notes.push(format!(
                "the live pipeline names no declaring commit (no tag {DECLARED_BY_TAG}): the \
                 next push tags it"
            )),
            None => {}
        }
        PlanReport {
            plan,
            declaration: shown.clone(),
            commit,
            uncommitted,
            notes,
        }
    }
}

impl fmt::Display for PlanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.plan)?;
        for note in &self.notes {
            write!(f, "\n{note}")?;
        }
        Ok(())
    }
}
