//! `cargo xpipeline bootstrap`: create or correct, in both accounts, what xpipeline.toml
//! declares around the pipeline, in an order AWS's checks accept (roles before the key, bucket
//! and trust policies that name them). This file holds the command's frame: which
//! credentials reach which account, the warnings, the report; `steps.rs` holds the steps.
//! Every write is told on stderr as it is made and listed in the result on stdout.

mod steps;

use crate::aws::target::{Side, session};
use crate::aws::{self, bootstrap as ops, sts};
use crate::cli::BootstrapArgs;
use crate::config::{Config, Trigger};
use crate::error::{Error, Result};
use crate::model::arn::{parse_arn, partition_of};
use crate::model::bootstrap::Report;
use crate::model::policies::deploy::targets;
use crate::model::target::{Access, ORGANIZATION_ROLE, Reach};
use crate::settings::Settings;
use crate::ui::Ui;

pub fn run(args: &BootstrapArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    let reach = reach(args, cfg)?;
    let targets = target_reach(args, cfg)?;
    if cfg.pipeline.trigger == Trigger::Poll {
        ui.warn(
            "pipeline.trigger = \"poll\": AWS stops polling a pipeline that has not run for 30 days (`status` shows when); \"events\" is the reliable trigger across accounts",
        );
    }
    let report = aws::block_on(bootstrap(args.dry_run, reach, targets, settings, cfg, ui))??;
    ui.result(&report)
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

/// How bootstrap reaches each `[[deploy]]` account that is neither the pipeline nor the source
/// account, from the flags (`model::target::Access`, shared with `push`, `status` and
/// `approve`), checked before any call: every account they name must be one of those targets.
fn target_reach(args: &BootstrapArgs, cfg: &Config) -> Result<Vec<(String, Reach)>> {
    let part = partition_of(&cfg.pipeline.region);
    let accounts: Vec<String> = targets(cfg)
        .into_iter()
        .map(|t| t.account)
        .filter(|a| *a != cfg.pipeline.account && *a != cfg.source.account)
        .collect();
    let access = Access::from_flags(
        &args.target.target_profile,
        &args.target.target_admin_role_arn,
    )
    .map_err(Error::usage)?;
    if let Some(other) = access
        .named_accounts()
        .find(|a| !accounts.iter().any(|t| t == a))
    {
        let listed = if accounts.is_empty() {
            "none: xpipeline.toml has no [[deploy]] entry in another account".to_owned()
        } else {
            accounts.join(", ")
        };
        return Err(Error::usage(format!(
            "--target-profile and --target-admin-role-arn name account {other}, which is not a target account of xpipeline.toml ({listed})"
        )));
    }
    Ok(accounts
        .into_iter()
        .map(|a| {
            let reach = access.reach(part, &a);
            (a, reach)
        })
        .collect())
}

/// The SDK configuration of `account` (the source account, or a target account) reached as
/// `reach`, said on stderr first.
async fn reach_account(
    base: (&aws::Sdk, &sts::Identity),
    settings: &Settings,
    ui: &Ui,
    (account, side): (&str, Side),
    reach: &Reach,
) -> Result<aws::Sdk> {
    let (sdk, identity) = base;
    if let Reach::AdminRole(role) = reach {
        let which = if side == Side::Target {
            "target"
        } else {
            "source"
        };
        ui.status(format_args!(
            "assuming {role} in the {which} account {account}"
        ));
    }
    session(sdk, settings, reach, account, side, Some(&identity.arn)).await
}

async fn bootstrap(
    dry_run: bool,
    reach: Reach,
    targets: Vec<(String, Reach)>,
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
    let base = (&sdk, &identity);
    let source_sdk = reach_account(
        base,
        settings,
        ui,
        (&cfg.source.account, Side::Source),
        &reach,
    )
    .await?;
    let pipeline = ops::PipelineClients::new(&sdk, settings.endpoint_url.is_some());
    let source = ops::SourceClients::new(&source_sdk);
    // Every target account's clients: the pipeline's or the source's own when it is one of them.
    let mut target_clients = Vec::new();
    for t in crate::model::policies::deploy::targets(cfg) {
        let config = if t.account == cfg.pipeline.account {
            sdk.clone()
        } else if t.account == cfg.source.account {
            source_sdk.clone()
        } else {
            let (_, r) = targets
                .iter()
                .find(|(a, _)| *a == t.account)
                .expect("target_reach covers every other target account");
            reach_account(base, settings, ui, (&t.account, Side::Target), r).await?
        };
        target_clients.push(ops::TargetClients::new(&t.account, &config));
    }
    let mut run = steps::Run::new(dry_run, cfg.clone(), ui, pipeline, source, target_clients);
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
            target: Default::default(),
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

    fn with_targets() -> Config {
        let mut c = cfg();
        let e = crate::model::policies::deploy::tests::entry;
        c.deploy = vec![
            e(&c, "Staging", "333333333333", "s"),
            e(&c, "Prod", "444444444444", "p"),
            e(&c, "Tools", "111111111111", "t"),
        ];
        c
    }

    fn target_args(roles: &[&str], profiles: &[&str]) -> BootstrapArgs {
        let mut a = args(None, None);
        a.target.target_admin_role_arn = roles.iter().map(|s| s.to_string()).collect();
        a.target.target_profile = profiles.iter().map(|s| s.to_string()).collect();
        a
    }

    #[test]
    fn each_other_target_is_reached_by_profile_then_arn_then_name_then_the_organization_role() {
        let c = with_targets();
        let role = |a: &str, n: &str| Reach::AdminRole(format!("arn:aws:iam::{a}:role/{n}"));
        // The pipeline account is not reached again.
        assert_eq!(
            target_reach(&target_args(&[], &[]), &c).unwrap(),
            vec![
                (
                    "333333333333".into(),
                    role("333333333333", ORGANIZATION_ROLE)
                ),
                (
                    "444444444444".into(),
                    role("444444444444", ORGANIZATION_ROLE)
                ),
            ]
        );
        assert_eq!(
            target_reach(
                &target_args(&["Admin", "arn:aws:iam::444444444444:role/Deployer"], &[]),
                &c
            )
            .unwrap(),
            vec![
                ("333333333333".into(), role("333333333333", "Admin")),
                ("444444444444".into(), role("444444444444", "Deployer")),
            ]
        );
        assert_eq!(
            target_reach(&target_args(&[], &["444444444444=prod"]), &c).unwrap()[1],
            ("444444444444".into(), Reach::Profile("prod".into()))
        );
    }

    #[test]
    fn target_flags_outside_the_targets_are_refused_naming_them() {
        let c = with_targets();
        for (roles, profiles, says) in [
            (
                &["arn:aws:iam::555555555555:role/Admin"][..],
                &[][..],
                "--target-profile and --target-admin-role-arn name account 555555555555, which is not a target account of xpipeline.toml (333333333333, 444444444444)",
            ),
            (
                &[],
                &["555555555555=x"],
                "--target-profile and --target-admin-role-arn name account 555555555555, which is not a target account of xpipeline.toml (333333333333, 444444444444)",
            ),
            (&[], &["prod"], "--target-profile takes ACCOUNT=PROFILE"),
            (
                &["A", "B"],
                &[],
                "--target-admin-role-arn takes one role NAME for every target account",
            ),
            (
                &["arn:aws:iam::333333333333:role/A"],
                &["333333333333=p"],
                "account 333333333333 has both --target-profile and --target-admin-role-arn",
            ),
        ] {
            let e = target_reach(&target_args(roles, profiles), &c).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().starts_with(says), "{e}");
        }
        let mut none = cfg();
        none.deploy.clear();
        let e = target_reach(&target_args(&[], &["333333333333=p"]), &none).unwrap_err();
        assert!(
            e.to_string()
                .contains("(none: xpipeline.toml has no [[deploy]] entry in another account)"),
            "{e}"
        );
    }
}
