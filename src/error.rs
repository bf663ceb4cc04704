//! The one error type of the tool. Every failure ends here; `Error::exit_code` picks the
//! process exit code (README.md "Exit codes") and `lib::main_with_args` prints it once.

use std::path::PathBuf;

use crate::config::Diagnostics;

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for an operational failure: AWS, git, network, permissions.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for invalid usage or configuration.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a followed pipeline execution that ended other than Succeeded.
pub const EXIT_PIPELINE: u8 = 3;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// xpipeline.toml has one or more problems; all of them are listed.
    #[error("{0}")]
    Config(Diagnostics),

    /// A flag, argument or environment variable that cannot be used as given.
    #[error("{0}")]
    Usage(String),

    /// A file that could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An operation against AWS, git or the network failed. `hint` says what to do about it.
    #[error("{message}{}", hint.as_deref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Operation {
        message: String,
        hint: Option<String>,
    },

    /// The followed pipeline execution ended other than Succeeded.
    #[error("{0}")]
    Pipeline(String),
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    pub fn op(message: impl Into<String>) -> Self {
        Error::Operation {
            message: message.into(),
            hint: None,
        }
    }

    pub fn op_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Operation {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) => EXIT_USAGE,
            Error::Io { .. } | Error::Operation { .. } => EXIT_FAILURE,
            Error::Pipeline(_) => EXIT_PIPELINE,
        }
    }
}

#[cfg(test)]
impl Error {
    /// The message and hint of an operation error (tests).
    pub(crate) fn parts(&self) -> (String, String) {
        match self {
            Error::Operation { message, hint } => {
                (message.clone(), hint.clone().unwrap_or_default())
            }
            other => panic!("not an operation error: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_design() {
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::op("x").exit_code(), 1);
        assert_eq!(Error::Pipeline("x".into()).exit_code(), 3);
        assert_eq!(Error::Config(Diagnostics::default()).exit_code(), 2);
    }

    #[test]
    fn hint_is_printed_on_its_own_line() {
        let e = Error::op_hint("push refused", "pass --force");
        assert_eq!(e.to_string(), "push refused\n  hint: pass --force");
    }
}
