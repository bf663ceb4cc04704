//! The command line as parsed by clap: the cargo wrapper, the global flags and one `Args`
//! struct per subcommand. Nothing here resolves or validates; see `config` for that.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `cargo` runs `cargo-xpipeline xpipeline ARGS...`: the first argument names the subcommand.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap::builder::styling::Styles::styled())]
pub enum CargoCli {
    Xpipeline(Cli),
}

/// A cross-account AWS CodePipeline + CodeCommit setup as one declared file: xpipeline.toml.
#[derive(Debug, Args)]
#[command(
    version,
    about = "A CodePipeline in the pipeline (tools) account building a CodeCommit repository of \
             another account, declared in xpipeline.toml: write it (init), apply and push (push), \
             preview (plan), follow (status)",
    long_about = None,
    after_help = "Examples:\n  \
                  cargo xpipeline init --pipeline-account 111111111111 --source-account 222222222222\n  \
                  cargo xpipeline push\n  \
                  cargo xpipeline -v status --watch\n\n\
                  Exit codes: 0 success, 1 AWS/git/network failure, 2 usage or xpipeline.toml error, \
                  3 the followed pipeline execution did not succeed."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Path of xpipeline.toml [default: at the cargo workspace root]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Path to Cargo.toml of the workspace whose xpipeline.toml to use
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// AWS profile for the base credentials (pipeline account)
    #[arg(long, global = true, value_name = "NAME", env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// AWS region [default: pipeline.region of xpipeline.toml]
    #[arg(long, global = true, value_name = "NAME")]
    pub region: Option<String>,

    /// Send every AWS call (and git, unless --git-endpoint says otherwise) to this URL
    #[arg(long, global = true, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,

    /// Format of the result on stdout
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Print only results and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail on stderr (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colours and spinners
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write xpipeline.toml for this cargo workspace
    #[command(
        after_help = "Example:\n  cargo xpipeline init --pipeline-account 111111111111 --source-account 222222222222 --region eu-west-1"
    )]
    Init(Box<InitArgs>),
    /// Reconcile the pipeline, git-push to CodeCommit, follow the build of the pushed commit
    #[command(after_help = "Example:\n  cargo xpipeline push --output json > push.json")]
    Push(PushArgs),
    /// Fetch the pipeline's branch into refs/remotes/xpipeline/<branch> (no remote configured)
    #[command(after_help = "Example:\n  cargo xpipeline fetch && git rebase xpipeline/main")]
    Fetch(FetchArgs),
    /// Show what `push` would change in the pipeline, without changing it
    #[command(after_help = "Example:\n  cargo xpipeline plan --profile tools")]
    Plan(PlanArgs),
    /// Show (or --watch) the pipeline and its executions
    #[command(after_help = "Example:\n  cargo xpipeline status --watch")]
    Status(StatusArgs),
    /// Print the IAM, KMS and S3 policy documents both accounts need
    #[command(after_help = "Example:\n  cargo xpipeline policies --output json")]
    Policies(PoliciesArgs),
    /// Create the key, bucket, roles, repository and build project the pipeline needs
    #[command(after_help = "Example:\n  cargo xpipeline bootstrap")]
    Bootstrap(BootstrapArgs),
    /// Show (or --follow) the CodeBuild log of an execution's build
    Logs(LogsArgs),
    /// Approve (or --reject) the manual approval an execution waits for
    #[command(
        after_help = "Examples:\n  cargo xpipeline approve --stage prod --comment \"change set reviewed\"\n  cargo xpipeline approve --reject --target-profile 444444444444=prod-admin"
    )]
    Approve(ApproveArgs),
    /// Print the JSON Schema of xpipeline.toml (for editors: taplo, Even Better TOML)
    #[command(after_help = "Example:\n  cargo xpipeline schema > xpipeline.schema.json")]
    Schema(SchemaArgs),
    /// Print the completion script of a shell
    #[command(
        after_help = "Example:\n  cargo xpipeline completions bash > ~/.local/share/bash-completion/completions/cargo-xpipeline"
    )]
    Completions(CompletionsArgs),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init(_) => "init",
            Command::Push(_) => "push",
            Command::Fetch(_) => "fetch",
            Command::Plan(_) => "plan",
            Command::Status(_) => "status",
            Command::Policies(_) => "policies",
            Command::Bootstrap(_) => "bootstrap",
            Command::Logs(_) => "logs",
            Command::Approve(_) => "approve",
            Command::Schema(_) => "schema",
            Command::Completions(_) => "completions",
        }
    }
}

/// Values for `init`; each one names the key of xpipeline.toml it fills.
#[derive(Debug, Default, Args)]
pub struct InitArgs {
    /// pipeline.name [default: <package>-pipeline]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// pipeline.account: the pipeline (tools) account, 12 digits
    #[arg(long, value_name = "ACCOUNT")]
    pub pipeline_account: Option<String>,
    /// pipeline.service-role-arn [default: role <package>-codepipeline in the pipeline account]
    #[arg(long, value_name = "ARN")]
    pub service_role_arn: Option<String>,
    /// pipeline.type
    #[arg(long = "type", value_name = "TYPE", value_parser = ["V1", "V2"])]
    pub pipeline_type: Option<String>,
    /// pipeline.execution-mode (V2 only)
    #[arg(long, value_name = "MODE", value_parser = ["SUPERSEDED", "QUEUED", "PARALLEL"])]
    pub execution_mode: Option<String>,
    /// pipeline.trigger
    #[arg(long, value_name = "TRIGGER", value_parser = ["push", "poll", "events"])]
    pub trigger: Option<String>,
    /// artifacts.bucket [default: <package>-artifacts-<pipeline account>]
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
    /// artifacts.kms-key-arn: a key ARN in the pipeline account (not an alias)
    #[arg(long, value_name = "ARN")]
    pub kms_key_arn: Option<String>,
    /// source.account: the CodeCommit (source) account, 12 digits
    #[arg(long, value_name = "ACCOUNT")]
    pub source_account: Option<String>,
    /// source.repository [default: <package>]
    #[arg(long, value_name = "NAME")]
    pub repository: Option<String>,
    /// source.branch [default: the current git branch]
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// source.role-arn [default: role <package>-cross-account in the source account]
    #[arg(long, value_name = "ARN")]
    pub source_role_arn: Option<String>,
    /// source.external-id
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// source.git-endpoint
    #[arg(long, value_name = "URL")]
    pub git_endpoint: Option<String>,
    /// build.project [default: <package>-build]
    #[arg(long, value_name = "NAME")]
    pub build_project: Option<String>,
    /// A [[deploy]] stage NAME deploying to ACCOUNT (12 digits), after Build in the order given; repeatable
    #[arg(long = "deploy", value_name = "NAME=ACCOUNT")]
    pub deploy: Vec<String>,
    /// Give the --deploy stage NAME a manual approval before its change set is executed; repeatable
    #[arg(long = "approve", value_name = "NAME")]
    pub approve: Vec<String>,
    /// Overwrite an existing xpipeline.toml
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Local branch to push [default: the current branch]
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Overwrite the remote branch even when it is not a fast-forward
    #[arg(long)]
    pub force: bool,
    /// Stop after the git push; do not follow the pipeline execution
    #[arg(long)]
    pub no_watch: bool,
    /// Start a new execution even when one already built this commit
    #[arg(long)]
    pub rebuild: bool,
    /// Stop following (exit 0) when the execution reaches a manual approval
    #[arg(long, conflicts_with = "no_watch")]
    pub no_wait_approval: bool,
    /// Show what would happen; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Take over a pipeline of the same name that cargo-xpipeline did not create
    #[arg(long)]
    pub adopt: bool,
    /// The current code of the MFA device of push.mfa-serial
    #[arg(
        long,
        value_name = "CODE",
        env = "XPIPELINE_MFA_CODE",
        hide_env_values = true
    )]
    pub mfa_code: Option<String>,
    /// CodeCommit git endpoint [default: source.git-endpoint, the AWS endpoint override, or the regional one]
    #[arg(long, value_name = "URL", env = "XPIPELINE_GIT_ENDPOINT")]
    pub git_endpoint: Option<String>,
    #[command(flatten)]
    pub logs: LogArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The current code of the MFA device of push.mfa-serial
    #[arg(
        long,
        value_name = "CODE",
        env = "XPIPELINE_MFA_CODE",
        hide_env_values = true
    )]
    pub mfa_code: Option<String>,
    /// CodeCommit git endpoint [default: source.git-endpoint, the AWS endpoint override, or the regional one]
    #[arg(long, value_name = "URL", env = "XPIPELINE_GIT_ENDPOINT")]
    pub git_endpoint: Option<String>,
}

/// How the watch shows the CodeBuild build's log (push, status --watch).
#[derive(Debug, Clone, Copy, Args)]
pub struct LogArgs {
    /// Stream the build's log lines (CloudWatch Logs) while it runs
    #[arg(long)]
    pub logs: bool,
    /// Lines of a failed build's log shown at the end (0: none)
    #[arg(long, value_name = "N", default_value_t = 40, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub log_lines: u32,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Compare the xpipeline.toml of this commit (id, branch, tag, HEAD~1) [default: the working-tree file]
    #[arg(long, value_name = "REV")]
    pub commit: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Follow the current execution until it ends
    #[arg(long)]
    pub watch: bool,
    /// Show (or with --watch, follow) this execution
    #[arg(long, value_name = "ID")]
    pub execution: Option<String>,
    /// With --watch: stop following (exit 0) when the execution reaches a manual approval
    #[arg(long, requires = "watch")]
    pub no_wait_approval: bool,
    #[command(flatten)]
    pub logs: LogArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Reject instead: the execution ends Failed
    #[arg(long)]
    pub reject: bool,
    /// The summary recorded with the answer [default: "Approved by <caller ARN> with cargo xpipeline"]
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// Answer the approval of this execution [default: whichever is waiting]
    #[arg(long, value_name = "ID")]
    pub execution: Option<String>,
    /// The stage whose approval to answer, or STAGE/ACTION (needed when several wait)
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// How a target (deploy) account is reached, to read its change sets and stack events.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Target accounts")]
pub struct TargetArgs {
    /// AWS profile with credentials of [[deploy]] account ACCOUNT, instead of assuming its admin role; repeatable
    #[arg(long, value_name = "ACCOUNT=PROFILE")]
    pub target_profile: Vec<String>,
    /// Role to assume in the [[deploy]] accounts: a role ARN (for its account) or a role NAME (in every target without an ARN); repeatable [default: OrganizationAccountAccessRole]
    #[arg(long, value_name = "ARN|NAME")]
    pub target_admin_role_arn: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The execution whose build log to show [default: the current one]
    #[arg(long, value_name = "ID")]
    pub execution: Option<String>,
    /// The CodeBuild action (NAME or STAGE/NAME) [default: the latest CodeBuild action run]
    #[arg(long, value_name = "NAME")]
    pub action: Option<String>,
    /// Stream the log until the build ends; exit 0, or 3 when the build failed
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only the last N lines (with --follow: then the new ones)
    #[arg(short = 'n', long = "lines", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub lines: Option<u32>,
}

#[derive(Debug, Args)]
pub struct PoliciesArgs {}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Read every account and print what would change; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Role to assume in the source account [default: arn:<partition>:iam::<source.account>:role/OrganizationAccountAccessRole]
    #[arg(long, value_name = "ARN", conflicts_with = "source_profile")]
    pub source_admin_role_arn: Option<String>,
    /// AWS profile with credentials of the source account, instead of assuming its admin role
    #[arg(long, value_name = "NAME")]
    pub source_profile: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        CargoCli::command().debug_assert();
    }
}
