//! The pure model: ARNs and partitions, the pipeline declaration and its diff, the execution
//! model, the policy documents and the text helpers every message shares. No SDK client, no
//! I/O, no terminal: data in, data out, unit-tested without a network. (The pipeline
//! declaration uses the SDK's `PipelineDeclaration` as plain data: it is what CreatePipeline
//! takes, and a mirror type would only add a conversion.)

pub mod arn;
pub mod bootstrap;
pub mod build;
pub mod execution;
pub mod pipeline;
pub mod policies;
pub mod target;
pub mod targets;
pub mod text;
