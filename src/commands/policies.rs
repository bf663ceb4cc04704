//! `cargo xpipeline policies`: print the IAM, KMS and S3 documents both accounts need for the
//! pipeline of xpipeline.toml. Offline.

use crate::config::Config;
use crate::error::Result;
use crate::model::policies;
use crate::ui::Ui;

pub fn run(cfg: &Config, ui: &Ui) -> Result<()> {
    ui.result(&policies::render(cfg))
}
