//! What the user does: one module per subcommand, dispatched from `run`.

mod builds;
mod init;
mod logs;
mod plan;
mod policies;
mod push;
mod reconcile;
mod status;
mod watch;

use crate::cli::{Cli, Command};
use crate::config;
use crate::error::{Error, Result};
use crate::settings::{Env, Settings};
use crate::ui::Ui;

pub fn run(cli: Cli, env: &Env, ui: &Ui) -> Result<()> {
    let global = &cli.global;
    match &cli.command {
        Command::Init(args) => init::run(args, global, env, ui),
        command => {
            // Every other command starts from a valid xpipeline.toml, before any network call.
            let cfg = config::load(global.config.as_deref(), global.manifest_path.as_deref())?;
            ui.detail(format_args!("loaded {}", config::display_path(&cfg.path)));
            let settings = Settings::resolve(global, env, &cfg)?;
            match command {
                Command::Plan(args) => plan::run(args, &settings, &cfg, ui),
                Command::Policies(_) => policies::run(&cfg, ui),
                Command::Push(args) => push::run(args, &settings, &cfg, ui),
                Command::Status(args) => status::run(args, &settings, &cfg, ui),
                Command::Logs(args) => logs::run(args, &settings, &cfg, ui),
                other => Err(Error::NotImplemented(other.name())),
            }
        }
    }
}
