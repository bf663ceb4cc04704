//! cargo-xpipeline: a cross-account AWS CodePipeline + CodeCommit setup as one declared file
//! (xpipeline.toml) and three commands. ARCHITECTURE.md describes the layout: what the user
//! does and reads is in `commands`, how it is done in `aws` and `git` (ops that never print),
//! the pure logic in `model` and `config`, the resolved settings in `settings`, the rendering
//! in `ui`.

mod aws;
mod cli;
mod commands;
mod config;
mod error;
mod git;
mod model;
mod settings;
mod ui;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub use error::{Error, Result};

/// The tag every pipeline created by this tool carries (value `cargo-xpipeline`).
pub const MANAGED_BY_TAG: &str = "managed-by";
pub const MANAGED_BY_VALUE: &str = "cargo-xpipeline";

/// The binary cargo runs for `cargo xpipeline`.
pub const BIN_NAME: &str = "cargo-xpipeline";

/// Parse the command line, run the command, print the error once and pick the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli::CargoCli::Xpipeline(cli) = match cli::CargoCli::try_parse_from(cargo_form(args)) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout and usage errors to stderr, exit 0 or 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                error::EXIT_USAGE
            } else {
                error::EXIT_OK
            });
        }
    };
    let env = settings::Env::from_process();
    let output = settings::Output::resolve(&cli.global, &env);
    if output.verbose >= 2 && !output.quiet {
        ui::verbose::install_tracing(env.rust_log.as_deref());
    }
    let ui = ui::Ui::new(&output);
    match run(cli, &env, &ui) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            ui.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// The arguments as cargo passes them (`cargo-xpipeline xpipeline ARGS`): run directly as
/// `cargo-xpipeline ARGS` (what the shell completions complete), the `xpipeline` is added.
fn cargo_form(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.len() == 1 || args.get(1).is_some_and(|a| a != "xpipeline") {
        args.insert(1.min(args.len()), OsString::from("xpipeline"));
    }
    args
}

/// Run one command; `Ok` carries the exit code of a command that finished (0, or 3 for a
/// followed execution that did not succeed is reported as an `Error::Pipeline`).
pub fn run(cli: cli::Cli, env: &settings::Env, ui: &ui::Ui) -> Result<u8> {
    commands::run(cli, env, ui).map(|()| error::EXIT_OK)
}
