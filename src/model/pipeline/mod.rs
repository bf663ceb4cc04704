//! The pipeline xpipeline.toml declares and its reconciliation, pure: `declare` (config →
//! declaration, and any declaration → the API's JSON), `diff` (declared vs live, normalised),
//! `plan` (the comparison, and the decision of what reconciling takes), `declared_by` (the tag
//! naming the commit whose declaration the pipeline holds).

pub mod declare;
pub mod declared_by;
pub mod diff;
pub mod plan;
pub mod stages;
