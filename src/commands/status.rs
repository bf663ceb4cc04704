//! `cargo xpipeline status`: the live pipeline (name, type, version, both accounts, the commit
//! that declared it), each stage's latest state with its revision, and the recent executions
//! — four calls made in parallel. `--execution ID` shows one execution; `--watch` follows the current one (or ID)
//! until it ends, and exits 3 unless it succeeded.

use aws_sdk_codepipeline::Client;

use super::builds::{Builds, LogOptions};
use super::deploys::Deploys;
use super::watch;
use crate::aws::{self, executions};
use crate::cli::StatusArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::execution::{View, current};
use crate::model::target::Access;
use crate::settings::Settings;
use crate::ui::Ui;

/// How many recent executions the overview lists (and `--watch` picks from).
const RECENT: i32 = 10;

pub fn run(args: &StatusArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    let access = Access::from_flags(
        &args.target.target_profile,
        &args.target.target_admin_role_arn,
    )
    .map_err(Error::usage)?;
    aws::block_on(run_async(args, settings, cfg, access, ui))?
}

async fn run_async(
    args: &StatusArgs,
    settings: &Settings,
    cfg: &Config,
    access: Access,
    ui: &Ui,
) -> Result<()> {
    let sdk = aws::sdk_config(settings, ui.aws_calls()).await;
    let client: Client = aws::client!(aws_sdk_codepipeline, &sdk);
    let name = &cfg.pipeline.name;
    match (args.watch, args.execution.as_deref()) {
        (false, _) if args.logs.logs => Err(Error::usage(
            "--logs streams the log of a watched build: add --watch, or see `cargo xpipeline logs`",
        )),
        (false, None) => {
            let declared = executions::Declared {
                name,
                region: &settings.region,
                pipeline_account: &cfg.pipeline.account,
                source_account: &cfg.source.account,
            };
            let mut report = executions::overview(&client, declared, RECENT).await?;
            // Where the declaring commit stands in the local repository: "(main)", "(not on main)".
            let p = &mut report.pipeline;
            p.declared_by = p
                .declared_by
                .take()
                .map(|d| super::declaration::placed(&settings.repo_dir, d));
            ui.result(&report)
        }
        (false, Some(id)) => {
            let (layout, mut snapshot) = executions::execution(&client, name, id).await?;
            // The phase of its builds; a build that cannot be read is left out.
            let quiet = LogOptions {
                stream: false,
                tail: 0,
            };
            let _ = Builds::new(&sdk, quiet).read(&mut snapshot).await;
            ui.result(&View::of(&layout, &snapshot, executions::now_epoch()))
        }
        (true, id) => {
            let id = match id {
                Some(id) => id.to_owned(),
                None => {
                    let recent = executions::recent(&client, name, RECENT).await?;
                    let current = current(&recent).ok_or_else(|| {
                        Error::op_hint(
                            format!("pipeline {name} has no executions to watch"),
                            "start one with `cargo xpipeline push`",
                        )
                    })?;
                    ui.status(format_args!(
                        "watching execution {current} of {name} (`--execution ID` picks another)"
                    ));
                    current.to_owned()
                }
            };
            let mut builds = Builds::new(&sdk, args.logs.into());
            let mut deploys = Deploys::new(
                &sdk,
                settings,
                &cfg.pipeline.account,
                access,
                args.no_wait_approval,
            );
            let view = watch::follow(
                &client,
                &mut builds,
                &mut deploys,
                name,
                &id,
                None,
                settings.watch_outage,
                ui,
            )
            .await?;
            ui.result(&view)?;
            watch::outcome(&view)
        }
    }
}
