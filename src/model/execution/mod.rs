//! The execution model: typed statuses (terminal or not, known in one place), the snapshot
//! one tick of a watch sees, the events between two snapshots, the view of one execution and
//! the `status` report. Used by both `status` and the watch; no client, no I/O.

pub mod approval;
pub mod build;
pub mod deploy;
pub mod events;
pub mod permissions;
pub mod report;
pub mod snapshot;
pub mod status;
pub mod view;

pub use build::{Build, FailedPhase, LogCursor, LogLine, LogsAt, Phase};
pub use events::{Event, events};
pub use report::{ActionState, ExecutionRow, PipelineInfo, Report, StageState};
pub use snapshot::{
    ActionError, ActionResult, ActionRun, Builds, ExecutionSummary, Layout, Revision,
    SOURCE_ACTION, Snapshot, current, request_token, running_for,
};
pub use status::{ActionStatus, ExecutionStatus, StageStatus};
pub use view::{ActionView, View};
