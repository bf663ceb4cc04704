//! What the user does: one module per subcommand, dispatched from `run`.

mod completions;
mod declaration;
mod init;
mod plan;
mod policies;
mod push;
mod reconcile;
mod schema;
mod status;
mod watch;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use crate::settings::{Env, Settings};
use crate::ui::Ui;

pub fn run(cli: Cli, env: &Env, ui: &Ui) -> Result<()> {
    let global = &cli.global;
    match &cli.command {
        Command::Init(args) => init::run(args, global, env, ui),
        // Offline, and need no xpipeline.toml.
        Command::Schema(_) => schema::run(ui),
        Command::Completions(args) => completions::run(args, ui),
        command => {
            // Every other command starts from a valid xpipeline.toml, before any network call:
            // push's is the one of the commit it pushes (see declaration.rs).
            let (decl, local) = match command {
                Command::Push(args) => {
                    let (decl, local) = declaration::for_push(global, args.branch.as_deref())?;
                    (decl, Some(local))
                }
                Command::Plan(args) => match &args.commit {
                    Some(rev) => (declaration::at_revision(global, rev)?, None),
                    None => (declaration::working_tree(global, true)?, None),
                },
                _ => (declaration::working_tree(global, false)?, None),
            };
            ui.detail(format_args!("loaded {}", decl.shown));
            let cfg = &decl.config;
            let settings = Settings::resolve(global, env, cfg)?;
            match (command, local) {
                (Command::Plan(_), _) => plan::run(&settings, &decl, ui),
                (Command::Policies(_), _) => policies::run(cfg, ui),
                (Command::Push(args), Some(local)) => push::run(args, &settings, &decl, local, ui),
                (Command::Status(args), _) => status::run(args, &settings, cfg, ui),
                (other, _) => Err(Error::NotImplemented(other.name())),
            }
        }
    }
}
