//! The pipeline xpipeline.toml declares and its reconciliation: `render` (config → declaration),
//! `diff` (declared vs live, normalised), `reconcile` (GetPipeline, Create/UpdatePipeline).

pub mod diff;
pub mod reconcile;
pub mod render;

pub use diff::Change;
pub use reconcile::{EnsureOptions, Ensured, Plan, ensure, plan};
