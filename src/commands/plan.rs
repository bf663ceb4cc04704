//! `cargo xpipeline plan`: compare the live pipeline in the pipeline account with the one
//! xpipeline.toml declares and print the differences (or "no changes"). Never writes.

use crate::aws::{self, pipeline};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::config::Config;
use crate::error::Result;
use crate::ui::Ui;

pub fn run(_args: &PlanArgs, global: &GlobalArgs, cfg: &Config, ui: &Ui) -> Result<()> {
    let plan = aws::block_on(async {
        let sdk = aws::sdk_config(global, cfg).await;
        let client = aws_sdk_codepipeline::Client::new(&sdk);
        ui.detail(format_args!(
            "reading pipeline {} in account {} ({})",
            cfg.pipeline.name,
            cfg.pipeline.account,
            aws::region(global, cfg)
        ));
        pipeline::plan(&client, cfg).await
    })??;
    ui.result(&plan)
}
