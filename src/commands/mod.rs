//! What the user does: one module per subcommand, dispatched from `run`.

mod approve;
mod bootstrap;
mod builds;
mod completions;
mod declaration;
mod deploys;
mod fetch;
mod init;
mod logs;
mod plan;
mod policies;
mod push;
mod push_targets;
mod reconcile;
mod schema;
mod source;
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
        // Offline, and need no xpipeline.toml.
        Command::Schema(_) => schema::run(ui),
        Command::Completions(args) => completions::run(args, ui),
        command => {
            refuse_empty_flags(command)?;
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
                // bootstrap writes the new key's ARN into the file on disk.
                _ => (declaration::working_tree(global, false)?, None),
            };
            ui.detail(format_args!("loaded {}", decl.shown));
            let cfg = &decl.config;
            let settings = Settings::resolve(global, env, cfg)?;
            match (command, local) {
                (Command::Plan(_), _) => {
                    config::require_kms_key(cfg)?;
                    plan::run(&settings, &decl, ui)
                }
                (Command::Policies(_), _) => policies::run(cfg, ui),
                (Command::Fetch(args), _) => fetch::run(args, &settings, cfg, ui),
                (Command::Push(args), Some(local)) => {
                    config::require_kms_key(cfg)?;
                    push::run(args, &settings, &decl, local, ui)
                }
                (Command::Status(args), _) => status::run(args, &settings, cfg, ui),
                (Command::Bootstrap(args), _) => bootstrap::run(args, &settings, cfg, ui),
                (Command::Logs(args), _) => logs::run(args, &settings, cfg, ui),
                (Command::Approve(args), _) => approve::run(args, &settings, cfg, ui),
                (Command::Push(_), None) => unreachable!("push has its local branch"),
                (Command::Init(_) | Command::Schema(_) | Command::Completions(_), _) => {
                    unreachable!("dispatched above")
                }
            }
        }
    }
}

/// An empty id or name given on the command line is refused before anything is read or
/// sent (AWS would be asked about execution "", git about branch ""), naming the flag.
fn refuse_empty_flags(command: &Command) -> Result<()> {
    let given: &[(&str, Option<&str>, &str)] = match command {
        Command::Status(a) => &[(
            "--execution",
            a.execution.as_deref(),
            "an execution id (`cargo xpipeline status` lists the recent ones), or leave it out for the current execution",
        )],
        Command::Logs(a) => &[
            (
                "--execution",
                a.execution.as_deref(),
                "an execution id (`cargo xpipeline status` lists the recent ones), or leave it out for the current execution",
            ),
            (
                "--action",
                a.action.as_deref(),
                "an action name (NAME or STAGE/NAME), or leave it out for the latest build",
            ),
        ],
        Command::Approve(a) => &[
            (
                "--execution",
                a.execution.as_deref(),
                "an execution id, or leave it out for whichever approval is waiting",
            ),
            (
                "--stage",
                a.stage.as_deref(),
                "a stage name, or leave it out when one approval is waiting",
            ),
        ],
        Command::Push(a) => &[(
            "--branch",
            a.branch.as_deref(),
            "a local branch name, or leave it out for the current branch",
        )],
        Command::Plan(a) => &[(
            "--commit",
            a.commit.as_deref(),
            "a commit id, a branch or a tag, or leave it out for the working-tree file",
        )],
        _ => &[],
    };
    for (flag, value, what) in given {
        if value.is_some_and(|v| v.trim().is_empty()) {
            return Err(Error::usage(format!("{flag} is empty: give {what}")));
        }
    }
    Ok(())
}
