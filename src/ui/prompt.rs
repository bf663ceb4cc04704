//! The one prompt: a required value asked for on the terminal. Without a terminal it is a
//! usage error naming the flag that gives the value.

use std::io::{BufRead, Write};

use super::Ui;
use crate::error::{Error, Result};

/// Ask for `what` (set by `--flag`) when standard input is a terminal; an empty answer, or no
/// terminal, is a usage error that names the flag.
pub fn ask(ui: &Ui, flag: &str, what: &str) -> Result<String> {
    if !ui.interactive {
        return Err(Error::usage(format!(
            "{what} is required: pass --{flag} (standard input is not a terminal, so init does not prompt)"
        )));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{what} (--{flag}): ");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::op(format!("cannot read the answer: {e}")))?;
    let answer = line.trim().to_owned();
    if answer.is_empty() {
        return Err(Error::usage(format!("{what} is required: pass --{flag}")));
    }
    Ok(answer)
}
