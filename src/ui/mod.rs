//! Output: results on stdout (text or one JSON document), progress and errors on stderr.
//! Spinners and bars only when stderr is a terminal; plain lines otherwise.

pub mod approval;
pub mod execution;
pub mod progress;
pub mod prompt;
pub mod status;
pub mod verbose;
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
    /// Colour the `error:` and `warning:` labels (see `settings::Output::color`).
    pub color: bool,
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
            color: output.color,
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

    /// Where the AWS calls go: with -v, one line each on stderr (`verbose::CallLine`).
    pub fn aws_calls(&self) -> crate::aws::calls::CallSink {
        verbose::call_sink(self.verbose, self.quiet)
    }

    /// A warning on stderr (shown even with -q).
    pub fn warn(&self, msg: impl Display) {
        let label = self.label("warning", "1;33");
        let _ = writeln!(std::io::stderr().lock(), "{label}: {msg}");
    }

    /// The error that ends the command, printed once by `main_with_args`.
    pub fn error(&self, err: &Error) {
        let label = self.label("error", "1;31");
        let _ = writeln!(std::io::stderr().lock(), "{label}: {err}");
    }

    /// `error` in bold red (SGR `code`) when colour is on, plain otherwise.
    fn label(&self, word: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{word}\x1b[0m")
        } else {
            word.to_owned()
        }
    }

    /// A result that is text whatever `--output` says (a script, a schema), on stdout as is.
    pub fn result_text(&self, text: &str) -> Result<()> {
        let mut out = std::io::stdout().lock();
        let written = out.write_all(text.as_bytes());
        Self::finish(out, written)
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
        Self::finish(out, written)
    }

    fn finish(mut out: std::io::StdoutLock<'_>, written: std::io::Result<()>) -> Result<()> {
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
