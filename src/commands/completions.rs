//! `cargo xpipeline completions SHELL`: the completion script clap_complete generates from the
//! command line definition, for the binary `cargo-xpipeline` (which also runs without the
//! `xpipeline` word cargo inserts: `cargo-xpipeline push`).

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, Result};
use crate::ui::Ui;

pub fn run(args: &CompletionsArgs, ui: &Ui) -> Result<()> {
    ui.result_text(&script(args.shell)?)
}

/// The script of `shell` for the commands and flags of `cargo xpipeline`.
pub fn script(shell: clap_complete::Shell) -> Result<String> {
    // Built afresh under the binary's name (not as cargo's subcommand, whose nested names
    // would not match what the shell sees).
    let mut cli = <Cli as clap::Args>::augment_args(clap::Command::new(crate::BIN_NAME));
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cli, crate::BIN_NAME, &mut out);
    let script = String::from_utf8(out)
        .map_err(|e| Error::op(format!("the completion script is not UTF-8: {e}")))?;
    Ok(match shell {
        // clap_complete 4.6's bash script names the subcommand states of a hyphenated binary
        // `cargo__subcmd__xpipeline__...` where it sets `cargo__xpipeline__...`, so no flag of
        // a subcommand would complete: make the two agree (tests/it/ecosystem.rs checks it).
        clap_complete::Shell::Bash => {
            script.replace("cargo__subcmd__xpipeline", "cargo__xpipeline")
        }
        _ => script,
    })
}
