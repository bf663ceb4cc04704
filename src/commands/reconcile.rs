//! The reconcile step of `push`: make the live pipeline what xpipeline.toml declares, saying
//! each change as it is made. The comparison and the decision are `model::pipeline::plan`'s,
//! the calls `aws::pipeline`'s; this step only tells. No write call when nothing differs.

use aws_sdk_codepipeline::Client;

use super::declaration::Declaration;
use crate::aws::pipeline;
use crate::aws::retry::Retrying;
use crate::error::Result;
use crate::model::pipeline::declared_by::DECLARED_BY_TAG;
use crate::model::pipeline::plan::{Options, Step, changed_meanwhile, changes, decide};
use crate::model::text::short_commit;
use crate::ui::Ui;

/// What reconciling did.
#[derive(Debug, Clone, Copy)]
pub struct Ensured {
    /// CreatePipeline was called: AWS starts an execution by itself, do not start another.
    pub created: bool,
    /// The pipeline's version now (0 when a dry run found no pipeline).
    pub version: i32,
}

pub async fn ensure(
    client: &Client,
    decl: &Declaration,
    opts: Options,
    ui: &Ui,
) -> Result<Ensured> {
    let cfg = &decl.config;
    let declaring = decl.tag_value();
    let plan = pipeline::plan(client, cfg, declaring.as_deref()).await?;
    let name = &cfg.pipeline.name;
    let shown = &decl.shown;
    // What a write tags the pipeline with, said once it is done.
    let declared = declaring
        .as_deref()
        .map(|d| format!("; {DECLARED_BY_TAG}={}", short_commit(d)))
        .unwrap_or_default();
    let dry = if opts.dry_run {
        " (dry run: not applied)"
    } else {
        ""
    };
    let version = plan.version.unwrap_or(0);
    let (update, tag) = match decide(&plan, opts)? {
        Step::Create => {
            ui.status(format_args!(
                "pipeline {name} does not exist: creating it{dry}"
            ));
            for line in &plan.summary {
                ui.status(format_args!("  {line}"));
            }
            if opts.dry_run {
                return Ok(Ensured {
                    created: false,
                    version: 0,
                });
            }
            let mut note = |r: Retrying| iam_note(ui, &format!("creating pipeline {name}"), &r);
            let version = pipeline::create(client, cfg, &plan, &mut note).await?;
            ui.status(format_args!(
                "created pipeline {name} (version {version}) from {shown}{declared}"
            ));
            return Ok(Ensured {
                created: true,
                version,
            });
        }
        Step::Nothing => {
            ui.status(format_args!(
                "pipeline {name} matches {shown} (version {version})"
            ));
            return Ok(Ensured {
                created: false,
                version,
            });
        }
        Step::Change { update, tag } => (update, tag),
    };
    ui.status(format_args!(
        "pipeline {name} (version {version}) differs from {shown} by {}{dry}",
        changes(plan.changes.len())
    ));
    for line in plan.lines() {
        ui.status(format_args!("  {line}"));
    }
    if opts.dry_run {
        return Ok(Ensured {
            created: false,
            version,
        });
    }
    let mut now = version;
    if update {
        let mut note = |r: Retrying| iam_note(ui, &format!("updating pipeline {name}"), &r);
        now = pipeline::update(client, cfg, &plan, &mut note).await?;
        if now != version + 1 {
            let current = pipeline::plan(client, cfg, declaring.as_deref()).await?;
            return Err(changed_meanwhile(name, version, now, &current.changes));
        }
    }
    if tag {
        pipeline::tag(client, cfg, &plan).await?;
    }
    let done = if update { "updated" } else { "tagged" };
    ui.status(format_args!(
        "{done} pipeline {name} (version {now}) from {shown}{}",
        if tag { declared.as_str() } else { "" }
    ));
    Ok(Ensured {
        created: false,
        version: now,
    })
}

fn iam_note(ui: &Ui, what: &str, r: &Retrying) {
    ui.status(format_args!(
        "{what}: CodePipeline cannot use the service role yet (a new IAM role takes up to \
         {}s to propagate); retrying in {}s ({}s so far)",
        r.limit.as_secs(),
        r.wait.as_secs(),
        r.so_far.as_secs()
    ));
}
