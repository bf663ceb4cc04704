//! The statuses of an execution, a stage and an action: one enum each, each knowing whether
//! it is terminal. They read and write exactly AWS's strings (plus "Pending" for what has
//! not run); a string AWS adds later survives as `Unknown` and counts as not terminal.

use std::fmt;

use serde::{Serialize, Serializer};

/// An enum of status strings: `as_str`, `From<&str>`, `Display` and `Serialize` as the string.
macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A status this version does not know, kept as AWS sent it.
            Unknown(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                    $name::Unknown(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $(stringify!($variant) => $name::$variant,)+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

status_enum! {
    /// The status of a pipeline execution (AWS's PipelineExecutionStatus).
    ExecutionStatus {
        InProgress,
        Stopping,
        Stopped,
        Succeeded,
        Superseded,
        Failed,
        Cancelled,
    }
}

status_enum! {
    /// The status of one run of an action (AWS's ActionExecutionStatus), or `Pending` when
    /// the action has not started.
    ActionStatus {
        Pending,
        InProgress,
        Succeeded,
        Failed,
        Abandoned,
    }
}

status_enum! {
    /// The status of a stage (AWS's StageExecutionStatus, or derived from its actions), or
    /// `Pending` when it has not run.
    StageStatus {
        Pending,
        InProgress,
        Stopping,
        Stopped,
        Succeeded,
        Failed,
        Cancelled,
        Skipped,
    }
}

impl ExecutionStatus {
    /// The execution has ended: a watch stops here.
    pub fn is_terminal(&self) -> bool {
        use ExecutionStatus::*;
        matches!(self, Succeeded | Failed | Stopped | Cancelled | Superseded)
    }

    /// Still building (or stopping): what `--watch` and a second push of one commit follow.
    pub fn is_running(&self) -> bool {
        matches!(
            self,
            ExecutionStatus::InProgress | ExecutionStatus::Stopping
        )
    }
}

impl StageStatus {
    /// A stage's status from its actions' (latest runs'): a failure wins, then a running
    /// action, then an abandoned one (the execution was stopped); all succeeded is success,
    /// some succeeded and the rest pending is still in progress.
    pub fn of_actions(actions: &[ActionStatus]) -> StageStatus {
        let has = |s: ActionStatus| actions.contains(&s);
        if has(ActionStatus::Failed) {
            StageStatus::Failed
        } else if has(ActionStatus::InProgress) {
            StageStatus::InProgress
        } else if has(ActionStatus::Abandoned) {
            StageStatus::Stopped
        } else if !actions.is_empty() && actions.iter().all(|a| *a == ActionStatus::Succeeded) {
            StageStatus::Succeeded
        } else if has(ActionStatus::Succeeded) {
            StageStatus::InProgress
        } else {
            StageStatus::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_and_write_aws_strings() {
        for s in [
            "InProgress",
            "Stopping",
            "Stopped",
            "Succeeded",
            "Superseded",
            "Failed",
            "Cancelled",
        ] {
            let st = ExecutionStatus::from(s);
            assert!(!matches!(st, ExecutionStatus::Unknown(_)), "{s}");
            assert_eq!(st.as_str(), s);
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(ActionStatus::from("Abandoned"), ActionStatus::Abandoned);
        assert_eq!(StageStatus::from("Skipped").to_string(), "Skipped");
        let new = ExecutionStatus::from("Paused");
        assert_eq!(new, ExecutionStatus::Unknown("Paused".into()));
        assert_eq!(new.as_str(), "Paused");
        assert!(!new.is_terminal());
    }

    #[test]
    fn terminal_statuses_are_known_in_one_place() {
        use ExecutionStatus as E;
        let ended: Vec<bool> = [
            E::InProgress,
            E::Stopping,
            E::Stopped,
            E::Succeeded,
            E::Superseded,
            E::Failed,
            E::Cancelled,
        ]
        .iter()
        .map(E::is_terminal)
        .collect();
        assert_eq!(ended, [false, false, true, true, true, true, true]);
        assert!(E::Stopping.is_running() && !E::Stopped.is_running());
    }

    #[test]
    fn a_stage_stands_where_its_actions_do() {
        use ActionStatus as A;
        let of = |a: &[A]| StageStatus::of_actions(a);
        assert_eq!(of(&[A::Succeeded, A::Failed]), StageStatus::Failed);
        assert_eq!(of(&[A::Succeeded, A::InProgress]), StageStatus::InProgress);
        assert_eq!(of(&[A::Abandoned]), StageStatus::Stopped);
        assert_eq!(of(&[A::Succeeded, A::Succeeded]), StageStatus::Succeeded);
        assert_eq!(of(&[A::Succeeded, A::Pending]), StageStatus::InProgress);
        assert_eq!(of(&[A::Pending]), StageStatus::Pending);
        assert_eq!(of(&[]), StageStatus::Pending);
    }

    #[test]
    fn display_pads_like_a_string() {
        assert_eq!(format!("{:<11}|", ExecutionStatus::Failed), "Failed     |");
    }
}
