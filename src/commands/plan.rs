//! `cargo xpipeline plan`: compare the live pipeline in the pipeline account with the one
//! xpipeline.toml declares and print the differences (or "no changes"). Never writes.

use crate::aws::{self, pipeline, sts};
use crate::cli::PlanArgs;
use crate::config::Config;
use crate::error::Result;
use crate::settings::Settings;
use crate::ui::Ui;

pub fn run(_args: &PlanArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    let plan = aws::block_on(async {
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
        let client = aws::client!(aws_sdk_codepipeline, &sdk);
        pipeline::plan(&client, cfg).await
    })??;
    ui.result(&plan)
}
