//! `cargo xpipeline approve [--reject]`: find the manual approval waiting (GetPipelineState
//! for its token, GetPipeline for its declaration), show the change set it approves
//! (DescribeChangeSet in the target account, when the caller can reach it), answer it
//! (PutApprovalResult) and print what was answered.

use aws_sdk_codepipeline::Client;

use crate::aws::{self, approvals, cloudformation, sts, target};
use crate::cli::ApproveArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::execution::approval::{ChangeSetRef, Gates, NotChosen, Pending, choose, summary};
use crate::model::execution::deploy::ChangeSetSummary;
use crate::model::target::Access;
use crate::model::text::one_line;
use crate::settings::Settings;
use crate::ui::Ui;
use crate::ui::approval::Answered;

pub fn run(args: &ApproveArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    let access = Access::from_flags(
        &args.target.target_profile,
        &args.target.target_admin_role_arn,
    )
    .map_err(Error::usage)?;
    let answered = aws::block_on(approve(args, &access, settings, cfg, ui))??;
    ui.result(&answered)
}

async fn approve(
    args: &ApproveArgs,
    access: &Access,
    settings: &Settings,
    cfg: &Config,
    ui: &Ui,
) -> Result<Answered> {
    let sdk = aws::sdk_config(settings, ui.aws_calls()).await;
    let client: Client = aws::client!(aws_sdk_codepipeline, &sdk);
    let name = &cfg.pipeline.name;
    let (gates, waiting) = tokio::join!(
        approvals::declared(&client, name, &settings.region),
        approvals::waiting(&client, name)
    );
    let chosen = choose(
        name,
        waiting?,
        args.execution.as_deref(),
        args.stage.as_deref(),
    )
    .map_err(|e| match e {
        NotChosen::None(m) => Error::op_hint(
            m,
            "`cargo xpipeline status` shows where the executions stand; an approval waits once its stage reaches it",
        ),
        NotChosen::Several(m) => Error::usage(m),
    })?;
    // Without the declaration the approval is still answered; only its details are missing.
    let gates = gates.unwrap_or_else(|e| {
        ui.detail(format_args!("cannot read the declaration: {e}"));
        Gates {
            pipeline_arn: crate::model::arn::pipeline_arn(
                &settings.region,
                &cfg.pipeline.account,
                name,
            ),
            gates: Vec::new(),
            deploys: Vec::new(),
        }
    });
    let pending = Pending::of(
        &gates,
        &chosen.stage,
        &chosen.action,
        chosen.execution_id.as_deref(),
    );
    let (sts_client, _) = sts::client(&sdk);
    let who = sts::caller_identity(&sts_client, settings.profile.as_deref()).await?;
    let change_set = match &pending.change_set {
        Some(r) => match read_change_set(&sdk, settings, access, r, &who.account).await {
            Ok(c) => {
                let verb = if args.reject {
                    "rejecting"
                } else {
                    "approving"
                };
                ui.status(format_args!(
                    "{verb} {}/{} of execution {}: {c}",
                    pending.stage,
                    pending.action,
                    pending.execution_id.as_deref().unwrap_or("?"),
                ));
                Some(c)
            }
            Err(e) => {
                ui.warn(format_args!(
                    "cannot read change set {} of stack {} in account {}: {}; answering without it",
                    r.change_set,
                    r.stack,
                    r.account,
                    one_line(&e.to_string())
                ));
                None
            }
        },
        None => None,
    };
    let text = summary(args.comment.as_deref(), !args.reject, &who.arn);
    let at = approvals::answer(&client, name, &chosen, !args.reject, &text).await?;
    Ok(Answered {
        pipeline: name.clone(),
        result: if args.reject { "Rejected" } else { "Approved" },
        summary: text,
        answered_at: at.map(crate::model::text::timestamp),
        approval: pending,
        change_set,
    })
}

/// DescribeChangeSet in the target account, reached as the flags say.
async fn read_change_set(
    sdk: &aws::Sdk,
    settings: &Settings,
    access: &Access,
    r: &ChangeSetRef,
    own_account: &str,
) -> Result<ChangeSetSummary> {
    // A stage deploying into the caller's own account needs no other credentials.
    let target =
        target::in_account(sdk, settings, access, own_account, &r.account, &r.region).await?;
    let cf = aws::client!(aws_sdk_cloudformation, &target);
    cloudformation::change_set(&cf, &r.account, &r.stack, &r.change_set).await
}
