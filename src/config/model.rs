//! `Config`: the validated contents of xpipeline.toml, the settings the rest of the tool works
//! with. What may be written in the file is declared in `keys.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The validated contents of xpipeline.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the file was read from.
    pub path: PathBuf,
    pub pipeline: Pipeline,
    pub artifacts: Artifacts,
    pub source: Source,
    pub build: Build,
    pub push: Push,
    pub tags: BTreeMap<String, String>,
    /// The `[[deploy]]` entries, in file order: one stage each, after Build.
    pub deploy: Vec<Deploy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub name: String,
    pub account: String,
    pub region: String,
    pub service_role_arn: String,
    pub pipeline_type: PipelineType,
    /// Only for V2; `None` leaves AWS's default (SUPERSEDED).
    pub execution_mode: Option<ExecutionMode>,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifacts {
    pub bucket: String,
    /// `None` until `cargo xpipeline bootstrap` creates the key and writes its ARN back;
    /// `plan` and `push` require it (`config::require_kms_key`).
    pub kms_key_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub account: String,
    pub repository: String,
    pub branch: String,
    pub role_arn: String,
    pub external_id: Option<String>,
    pub git_endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub project: String,
    pub env: BTreeMap<String, String>,
}

/// How `push` reaches the source account. Defaults are filled in: `role_arn` is
/// source.role-arn when [push] does not name one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub duration_seconds: Option<i32>,
    pub mfa_serial: Option<String>,
}

/// One `[[deploy]]` entry: a CloudFormation stack in a target account, deployed by its own
/// stage. Defaults are filled in: the roles are the ones `bootstrap` creates in `account`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    /// The stage name.
    pub name: String,
    /// The target account (12 digits).
    pub account: String,
    pub stack: String,
    /// A file of the build artifact (`BuildArtifact::<template>`).
    pub template: String,
    pub template_configuration: Option<String>,
    /// Default `CAPABILITY_NAMED_IAM`, `CAPABILITY_AUTO_EXPAND`.
    pub capabilities: Vec<String>,
    pub mode: DeployMode,
    /// The deploy role CodePipeline assumes, in `account`; default
    /// `arn:<partition>:iam::<account>:role/<pipeline>-deploy`.
    pub role_arn: String,
    /// The role CloudFormation runs as, in the deploy role's account; default
    /// `arn:<partition>:iam::<account>:role/<pipeline>-cfn-execution`.
    pub execution_role_arn: String,
    /// Managed policies attached to the execution role (at least one; no administrator
    /// default).
    pub execution_policies: Vec<String>,
    pub outputs_file: Option<String>,
    /// Rendered as `ParameterOverrides`.
    pub parameters: BTreeMap<String, String>,
    /// Only in `change-set` mode: a manual approval between the change set and its execution.
    pub approval: Option<Approval>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployMode {
    /// CHANGE_SET_REPLACE, the optional approval, then CHANGE_SET_EXECUTE.
    ChangeSet,
    /// CREATE_UPDATE, no approval.
    Direct,
}

/// `[deploy.approval]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approval {
    pub notification_arn: Option<String>,
    pub external_link: Option<String>,
    pub comment: Option<String>,
    pub timeout_minutes: Option<i64>,
}

#[cfg(test)]
impl Deploy {
    /// An entry as the configuration fills in its defaults (for tests).
    pub(crate) fn with_defaults(pipeline: &str, name: &str, account: &str, stack: &str) -> Deploy {
        let role = |name: String| format!("arn:aws:iam::{account}:role/{name}");
        Deploy {
            name: name.into(),
            account: account.into(),
            stack: stack.into(),
            template: "packaged.yaml".into(),
            template_configuration: None,
            capabilities: vec![
                "CAPABILITY_NAMED_IAM".into(),
                "CAPABILITY_AUTO_EXPAND".into(),
            ],
            mode: DeployMode::ChangeSet,
            role_arn: role(default_deploy_role_name(pipeline)),
            execution_role_arn: role(default_execution_role_name(pipeline)),
            execution_policies: vec!["arn:aws:iam::aws:policy/AmazonSSMFullAccess".into()],
            outputs_file: None,
            parameters: BTreeMap::new(),
            approval: None,
        }
    }
}

/// The deploy role bootstrap creates in a target account: `<pipeline>-deploy`.
pub fn default_deploy_role_name(pipeline: &str) -> String {
    format!("{pipeline}-deploy")
}

/// The CloudFormation execution role bootstrap creates in a target account:
/// `<pipeline>-cfn-execution`.
pub fn default_execution_role_name(pipeline: &str) -> String {
    format!("{pipeline}-cfn-execution")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineType {
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionMode {
    Superseded,
    Queued,
    Parallel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Push,
    Poll,
    Events,
}

impl PipelineType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PipelineType::V1 => "V1",
            PipelineType::V2 => "V2",
        }
    }
}

impl ExecutionMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ExecutionMode::Superseded => "SUPERSEDED",
            ExecutionMode::Queued => "QUEUED",
            ExecutionMode::Parallel => "PARALLEL",
        }
    }
}

impl Trigger {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Trigger::Push => "push",
            Trigger::Poll => "poll",
            Trigger::Events => "events",
        }
    }
}

impl fmt::Display for PipelineType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ExecutionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
