//! `cargo xpipeline policies`: print the IAM, KMS and S3 documents both accounts need for the
//! pipeline of xpipeline.toml. Offline.

use crate::config::Config;
use crate::error::Result;
use crate::model::policies;
use crate::ui::Ui;

/// The documents `bootstrap` applies. Offline, it cannot know the role of a build project that
/// already exists: it names the role bootstrap would create with the project.
pub fn run(cfg: &Config, ui: &Ui) -> Result<()> {
    ui.result(&policies::render(cfg, &policies::build_role_arn(cfg)))
}
