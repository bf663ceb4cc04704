//! The pipeline xpipeline.toml declares and its reconciliation, pure: `declare` (config →
//! declaration, and any declaration → the API's JSON), `diff` (declared vs live, normalised),
//! `plan` (the comparison, and the decision of what reconciling takes).

pub mod declare;
pub mod diff;
pub mod plan;
