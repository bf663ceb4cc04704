//! The prompts: a required value asked for on the terminal (without a terminal, a usage error
//! naming the flag that gives the value), and a secret (the MFA code) kept in a SecretString.

use std::io::{BufRead, Write};

use secrecy::SecretString;

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
    let answer = read_answer(&format!("{what} (--{flag}): "))?;
    if answer.is_empty() {
        return Err(Error::usage(format!("{what} is required: pass --{flag}")));
    }
    Ok(answer)
}

/// Ask on the terminal for a secret (an MFA code), kept in a `SecretString`.
pub fn read_secret(question: &str) -> Result<SecretString> {
    read_answer(question).map(SecretString::from)
}

/// `question` on stderr, one line of answer from stdin, trimmed.
fn read_answer(question: &str) -> Result<String> {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::op(format!("cannot read the answer from the terminal: {e}")))?;
    Ok(line.trim().to_owned())
}
