//! push's check of the `[[deploy]]` accounts, before anything is written: every target's
//! bootstrap mirror in the pipeline account (one GetParameters call per ten targets) must be
//! current, else push stops (exit 1) naming each account, why, and the `bootstrap` that fixes
//! it. A target never bootstrapped would otherwise fail only at its deploy stage, after the
//! commit had landed.

use crate::aws::{self, bootstrap::ssm};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::policies::key_arn;
use crate::model::targets::{judge, mirror_names, stale_message};
use crate::ui::Ui;

pub async fn check(sdk: &aws::Sdk, cfg: &Config, ui: &Ui) -> Result<()> {
    let names = mirror_names(cfg);
    if names.is_empty() {
        return Ok(());
    }
    let client = aws::client!(aws_sdk_ssm, sdk);
    let found = ssm::mirrors(&client, &names, cfg).await?;
    let key = key_arn(cfg);
    let stale = judge(cfg, &key, &|n: &str| found.get(n).cloned());
    if stale.is_empty() {
        ui.detail(format_args!(
            "target accounts bootstrapped: {}",
            cfg.deploy
                .iter()
                .map(|d| d.account.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return Ok(());
    }
    let (message, hint) = stale_message(cfg, &stale);
    Err(Error::op_hint(message, hint))
}
