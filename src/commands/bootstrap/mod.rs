//! `cargo xpipeline bootstrap`: create or correct, in both accounts, what xpipeline.toml
//! declares around the pipeline, in an order AWS's checks accept (roles before the key, bucket
//! and trust policies that name them). This file holds the command's frame: which
//! credentials reach which account, the warnings, the report; `steps.rs` holds the steps.
//! Every write is told on stderr as it is made and listed in the result on stdout.

mod steps;

use crate::aws::{self, bootstrap as ops, sts};
use crate::cli::BootstrapArgs;
use crate::config::{Config, Trigger};
use crate::error::{Error, Result};
use crate::model::arn::{parse_arn, partition_of};
use crate::model::bootstrap::Report;
use crate::settings::Settings;
use crate::ui::Ui;

/// The role AWS Organizations creates in a member account for the management account.
pub const ORGANIZATION_ROLE: &str = "OrganizationAccountAccessRole";

pub fn run(args: &BootstrapArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    let reach = reach(args, cfg)?;
    if cfg.pipeline.trigger == Trigger::Poll {
        ui.warn(
            "pipeline.trigger = \"poll\": AWS stops polling a pipeline that has not run for 30 days (`status` shows when); \"events\" is the reliable trigger across accounts",
        );
    }
    let report = aws::block_on(bootstrap(args.dry_run, reach, settings, cfg, ui))??;
    ui.result(&report)
}

/// How bootstrap reaches the source account.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    AdminRole(String),
    Profile(String),
}

/// From the flags, checked before any call: an admin role must be a role of the source account.
fn reach(args: &BootstrapArgs, cfg: &Config) -> Result<Reach> {
    if let Some(p) = &args.source_profile {
        return Ok(Reach::Profile(p.clone()));
    }
    let sa = &cfg.source.account;
    match &args.source_admin_role_arn {
        None => Ok(Reach::AdminRole(format!(
            "arn:{}:iam::{sa}:role/{ORGANIZATION_ROLE}",
            partition_of(&cfg.pipeline.region)
        ))),
        Some(arn) => {
            let ok = parse_arn(arn).is_some_and(|a| {
                a.service == "iam" && a.account == sa && a.resource.starts_with("role/")
            });
            if ok {
                Ok(Reach::AdminRole(arn.clone()))
            } else {
                Err(Error::usage(format!(
                    "--source-admin-role-arn must be the ARN of a role in the source account {sa} (arn:{}:iam::{sa}:role/NAME), found {arn:?}",
                    partition_of(&cfg.pipeline.region)
                )))
            }
        }
    }
}

async fn bootstrap(
    dry_run: bool,
    reach: Reach,
    settings: &Settings,
    cfg: &Config,
    ui: &Ui,
) -> Result<Report> {
    let sdk = aws::sdk_config(settings, ui.aws_calls()).await;
    let (sts_client, _) = sts::client(&sdk);
    let identity = sts::caller_identity(&sts_client, settings.profile.as_deref()).await?;
    sts::check_account(&identity, cfg)?;
    ui.detail(format_args!(
        "pipeline account {} as {}",
        identity.account, identity.arn
    ));

    let source_sdk = match &reach {
        Reach::AdminRole(role) => {
            ui.status(format_args!(
                "assuming {role} in the source account {}",
                cfg.source.account
            ));
            let credentials = sts::assume_admin(&sts_client, role, &identity).await?;
            ops::with_credentials(&sdk, &credentials)
        }
        Reach::Profile(profile) => {
            let mut s = settings.clone();
            s.profile = Some(profile.clone());
            let source_sdk = aws::sdk_config(&s, ui.aws_calls()).await;
            let (c, _) = sts::client(&source_sdk);
            let who = sts::caller_identity(&c, Some(profile)).await?;
            if who.account != cfg.source.account {
                return Err(Error::usage(format!(
                    "--source-profile {profile} has credentials of account {} ({}), but source.account is {}",
                    who.account, who.arn, cfg.source.account
                )));
            }
            source_sdk.config
        }
    };
    let pipeline = ops::PipelineClients::new(&sdk, settings.endpoint_url.is_some());
    let source = ops::SourceClients::new(&source_sdk);
    let mut run = steps::Run::new(dry_run, cfg.clone(), ui, pipeline, source);
    run.all().await?;
    Ok(run.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        crate::config::parse(
            include_str!("../../../xpipeline.toml.example"),
            "x",
            "x".into(),
        )
        .unwrap()
    }

    fn args(role: Option<&str>, profile: Option<&str>) -> BootstrapArgs {
        BootstrapArgs {
            dry_run: false,
            source_admin_role_arn: role.map(str::to_owned),
            source_profile: profile.map(str::to_owned),
        }
    }

    #[test]
    fn the_source_account_is_reached_through_the_organization_role_by_default() {
        assert_eq!(
            reach(&args(None, None), &cfg()).unwrap(),
            Reach::AdminRole("arn:aws:iam::222222222222:role/OrganizationAccountAccessRole".into())
        );
        assert_eq!(
            reach(&args(None, Some("src")), &cfg()).unwrap(),
            Reach::Profile("src".into())
        );
    }

    #[test]
    fn an_admin_role_outside_the_source_account_is_refused_naming_the_flag() {
        let e = reach(
            &args(Some("arn:aws:iam::111111111111:role/Admin"), None),
            &cfg(),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let text = e.to_string();
        assert!(
            text.starts_with("--source-admin-role-arn must be the ARN of a role in the source account 222222222222"),
            "{text}"
        );
    }
}
