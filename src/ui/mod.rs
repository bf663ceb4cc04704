//! Output: results on stdout (text or one JSON document), progress and errors on stderr.
//! Spinners and bars only when stderr is a terminal; plain lines otherwise.

pub mod execution;
pub mod progress;
pub mod prompt;
pub mod status;
pub mod watch;

use std::fmt::Display;
use std::io::Write;

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::{Error, Result};
use crate::settings::Output;

/// Where and how the tool talks to the user.
#[derive(Debug, Clone)]
pub struct Ui {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: u8,
    /// Spinners and bars; plain lines when false (see `settings::Output::fancy`).
    pub fancy: bool,
    /// Standard input is a terminal: prompts are allowed.
    pub interactive: bool,
    /// Standard output is a terminal that may show colours.
    pub stdout_colour: bool,
}

impl Ui {
    pub fn new(output: &Output) -> Self {
        Ui {
            format: output.format,
            quiet: output.quiet,
            verbose: output.verbose,
            fancy: output.fancy,
            interactive: output.interactive,
            stdout_colour: output.stdout_colour,
        }
    }

    /// A progress or status line on stderr (not with -q).
    pub fn status(&self, msg: impl Display) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{msg}");
        }
    }

    /// Extra detail on stderr, with -v.
    pub fn detail(&self, msg: impl Display) {
        if self.verbose > 0 && !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{msg}");
        }
    }

    /// A warning on stderr (shown even with -q).
    pub fn warn(&self, msg: impl Display) {
        let _ = writeln!(std::io::stderr().lock(), "warning: {msg}");
    }

    /// The error that ends the command, printed once by `main_with_args`.
    pub fn error(&self, err: &Error) {
        let _ = writeln!(std::io::stderr().lock(), "error: {err}");
    }

    /// One line of a streamed result on stdout (`logs`: a log line, or one JSON object).
    pub fn line(&self, line: &str) -> Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::BrokenPipe => Ok(()),
                _ => Err(Error::op(format!("cannot write to stdout: {e}"))),
            })
    }

    /// The command's result on stdout: its Display for text, one JSON document for json.
    pub fn result<R: Serialize + Display>(&self, r: &R) -> Result<()> {
        let mut out = std::io::stdout().lock();
        let written = match self.format {
            OutputFormat::Text => writeln!(out, "{r}"),
            OutputFormat::Json => {
                let json = serde_json::to_string_pretty(r)
                    .map_err(|e| Error::op(format!("cannot encode the result as JSON: {e}")))?;
                writeln!(out, "{json}")
            }
        };
        written.and_then(|()| out.flush()).or_else(|e| {
            // A closed pipe (`| head`) is not an error of ours.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(Error::op(format!("cannot write to stdout: {e}")))
            }
        })
    }
}
