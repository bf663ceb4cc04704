//! `cargo xpipeline push`: check the base identity, assume the source-account role, git-push
//! the branch to CodeCommit, and report the pushed commit. The steps run in order in `push`;
//! the pipeline reconcile goes before the credentials are assumed and the following of the
//! execution after the git push. The pipeline is reconciled from the xpipeline.toml of the
//! commit pushed (`declaration::for_push`, read before any network call), never from
//! uncommitted changes.

use std::fmt;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use super::declaration::{Committed, Declaration, Origin};
use super::reconcile;
use crate::aws::{self, pipeline, sts};
use crate::cli::PushArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::endpoint::{self, GitEndpoint};
use crate::git::push::{self as git_push, Change, LocalBranch, Pushed, Target, Transfer};
use crate::git::sign::GitCredentials;
use crate::model::pipeline::plan::Options;
use crate::model::text::short_commit;
use crate::settings::Settings;
use crate::ui::execution::WithExecution;
use crate::ui::progress::{TransferBar, retry_line, summary_line};
use crate::ui::{self, Ui, verbose};

pub fn run(
    args: &PushArgs,
    settings: &Settings,
    decl: &Declaration,
    local: LocalBranch,
    ui: &Ui,
) -> Result<()> {
    aws::block_on(push(args, settings, decl, local, ui))?
}

async fn push(
    args: &PushArgs,
    settings: &Settings,
    decl: &Declaration,
    local: LocalBranch,
    ui: &Ui,
) -> Result<()> {
    // The local side first (the branch and its xpipeline.toml were read before any network
    // call): what is not pushed, and which declaration is applied.
    let cfg = &decl.config;
    let repo_dir = settings.repo_dir.clone();
    warn_uncommitted(&repo_dir, &local, ui)?;
    tell_declaration(decl, &local, ui);
    let ask = ui
        .interactive
        .then(|| Box::new(ui::prompt::read_secret) as sts::AskSecret);
    let mut mfa = sts::Mfa::new(args.mfa_code.as_deref(), ask);
    mfa.ready(cfg.push.mfa_serial.as_deref())?;

    // One SDK configuration; the base identity must be the pipeline account's.
    let sdk = aws::sdk_config(settings, ui.aws_calls()).await;
    let (sts_client, server_clock) = sts::client(&sdk);
    let identity = sts::caller_identity(&sts_client, settings.profile.as_deref()).await?;
    sts::check_account(&identity, cfg)?;
    if let Some(warning) = server_clock.skew_seconds().and_then(sts::clock_warning) {
        ui.warn(warning);
    }
    ui.detail(format_args!("base identity: {}", identity.arn));

    // The pipeline first, so that no commit lands without its pipeline. `created` tells the
    // execution-following code that AWS already started an execution by itself.
    // Quota-aware (LimitExceededException is not retried as throttling); the executions
    // calls take the same client.
    let pipeline_client = pipeline::quota_aware(&aws::client!(aws_sdk_codepipeline, &sdk));
    let options = Options {
        adopt: args.adopt,
        dry_run: args.dry_run,
    };
    let ensured = reconcile::ensure(&pipeline_client, decl, options, ui).await?;
    ui.detail(format_args!(
        "pipeline {} at version {}",
        cfg.pipeline.name, ensured.version
    ));

    let region = settings.region.clone();
    let endpoint = git_endpoint(args, cfg, sdk.endpoint_url(), &region)?;
    ui.detail(format_args!(
        "git endpoint: {} (from {})",
        endpoint.url, endpoint.origin
    ));
    if let Some(var) = settings.proxy_variable {
        ui.detail(format_args!(
            "{var} is set, but the git transport does not use a proxy: it connects to the git endpoint directly"
        ));
    }

    // The source-account role, assumed in memory.
    let request = sts::AssumeRequest::new(cfg, &identity, settings.local_user().as_deref());
    if let Some(note) = &request.note {
        ui.status(note);
    }
    ui.status(format_args!(
        "assuming {} (session {})",
        request.role_arn, request.session_name
    ));
    let session = sts::assume_role(&sts_client, &request, &mut mfa, &identity).await?;

    // The git push, signed for the host connected to.
    let git_credentials = GitCredentials::sign(
        session.credentials(),
        &region,
        &endpoint.host,
        &endpoint.path,
        SystemTime::now(),
    );
    let git_request = git_push::Request {
        repo_dir,
        local,
        target: Target {
            endpoint,
            branch: cfg.source.branch.clone(),
            repository: cfg.source.repository.clone(),
            account: cfg.source.account.clone(),
            region,
            role_arn: cfg.push.role_arn.clone(),
        },
        force: args.force,
        dry_run: args.dry_run,
        clock_skew: server_clock.skew_seconds(),
        timeout: settings.git_timeout,
    };
    let pushed = git_push_with_progress(git_request.clone(), git_credentials, ui).await?;

    let result = PushResult::new(&git_request, &pushed);
    if args.dry_run {
        return ui.result(&result);
    }
    // The execution that builds exactly the pushed commit: started (trigger = push) or found,
    // then followed; the exit code is its result.
    let mut builds = super::builds::Builds::new(&sdk, args.logs.into());
    let followed = super::watch::after_push(
        &pipeline_client,
        &mut builds,
        cfg,
        super::watch::Pushed {
            commit: &pushed.commit,
            created: ensured.created,
            already_there: pushed.change == Change::UpToDate,
            rebuild: args.rebuild,
        },
        !args.no_watch,
        settings,
        ui,
    )
    .await?;
    ui.result(&WithExecution::new(
        result,
        followed.view(),
        followed.execution_id(),
    ))?;
    followed.outcome()
}

/// A warning when the work tree holds changes that will not be pushed.
fn warn_uncommitted(dir: &Path, local: &LocalBranch, ui: &Ui) -> Result<()> {
    let repo = git_push::open(dir)?;
    if local.is_head {
        let changed = git_push::uncommitted_changes(&repo);
        if changed > 0 {
            let (files, them) = match changed {
                1 => ("1 tracked file has".to_owned(), "it"),
                n => (format!("{n} tracked files have"), "them"),
            };
            ui.warn(format_args!(
                "{files} uncommitted changes; only committed work is pushed (commit {them} first to include it)"
            ));
        }
    }
    Ok(())
}

/// Which xpipeline.toml the pipeline is reconciled from, and what is not applied.
fn tell_declaration(decl: &Declaration, local: &LocalBranch, ui: &Ui) {
    match &decl.origin {
        Origin::File { .. } => ui.warn(format_args!(
            "applying {} (--config) as it is on disk, not the xpipeline.toml committed at {} ({}): \
             the pipeline will say it was declared by that file, not by a commit",
            decl.shown,
            short_commit(&local.commit),
            local.name
        )),
        Origin::Commit {
            work_tree: Committed::Differs { .. },
            ..
        } => ui.warn(format_args!(
            "xpipeline.toml has uncommitted changes that push does not apply: it applies {}, the \
             declaration of the commit it pushes; commit them to apply them (`cargo xpipeline plan` \
             previews them)",
            decl.shown
        )),
        _ => ui.detail(format_args!("declaration: {}", decl.shown)),
    }
}

/// Run the git push off the async runtime, with a progress bar on a terminal and one summary
/// line otherwise.
async fn git_push_with_progress(
    request: git_push::Request,
    credentials: GitCredentials,
    ui: &Ui,
) -> Result<Pushed> {
    let what = match request.dry_run {
        true => "checking",
        false => "pushing",
    };
    ui.status(format_args!(
        "{what} {} ({}) to {} of {} in account {}",
        request.local.name,
        &request.local.commit[..12],
        request.target.branch,
        request.target.repository,
        request.target.account
    ));
    let bar = (ui.fancy && !ui.quiet && !request.dry_run).then(TransferBar::start);
    let reporter = bar.clone();
    let show_requests = ui.verbose > 0 && !ui.quiet;
    let quiet = ui.quiet;
    let pushed = tokio::task::spawn_blocking(move || {
        let mut on_progress = |t: Transfer| match t {
            Transfer::Request {
                method,
                url,
                elapsed,
                failure,
            } => {
                if show_requests {
                    let line = verbose::git_line(method, &url, elapsed, failure.as_deref());
                    match &reporter {
                        Some(bar) => bar.println(&line),
                        None => verbose::print_line(&line),
                    }
                }
            }
            Transfer::Retrying {
                method,
                status,
                attempt,
                wait,
            } => {
                if !quiet {
                    let line = retry_line(method, status, attempt, wait);
                    match &reporter {
                        Some(bar) => bar.println(&line),
                        None => verbose::print_line(&line),
                    }
                }
            }
            t => {
                if let Some(bar) = &reporter {
                    bar.show(t);
                }
            }
        };
        git_push::push(&request, &credentials, &mut on_progress)
    })
    .await
    .map_err(|e| Error::op(format!("the git push stopped unexpectedly: {e}")))?;
    if let Some(bar) = bar {
        bar.finish();
    }
    let pushed = pushed?;
    if pushed.wrote {
        ui.status(summary_line(&pushed));
    }
    Ok(pushed)
}

/// What `push` reports on stdout.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushResult {
    /// The commit now at the remote branch (or that would be, with --dry-run).
    pub commit: String,
    pub local_branch: String,
    pub branch: String,
    pub repository: String,
    pub account: String,
    pub region: String,
    #[serde(flatten)]
    pub change: Change,
    pub dry_run: bool,
    /// Whether anything was written to the repository.
    pub pushed: bool,
}

impl PushResult {
    pub fn new(req: &git_push::Request, p: &Pushed) -> PushResult {
        PushResult {
            commit: p.commit.clone(),
            local_branch: req.local.name.clone(),
            branch: req.target.branch.clone(),
            repository: req.target.repository.clone(),
            account: req.target.account.clone(),
            region: req.target.region.clone(),
            change: p.change.clone(),
            dry_run: req.dry_run,
            pushed: p.wrote,
        }
    }
}

impl fmt::Display for PushResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = format!(
            "branch {} of repository {} in account {} ({})",
            self.branch, self.repository, self.account, self.region
        );
        let how = match &self.change {
            Change::Create => "new branch".to_owned(),
            Change::FastForward { from } => format!("fast-forward from {}", &from[..12]),
            Change::Forced { from } => format!("forced over {}", &from[..12]),
            Change::UpToDate => String::new(),
        };
        match (&self.change, self.dry_run) {
            (Change::UpToDate, _) => write!(f, "up to date: {place} is already at {}", self.commit),
            (_, true) => write!(
                f,
                "dry run: would push {} ({}) to {place} ({how}); nothing was changed",
                self.commit, self.local_branch
            ),
            (_, false) => write!(
                f,
                "pushed {} ({}) to {place} ({how})",
                self.commit, self.local_branch
            ),
        }
    }
}

/// The endpoint the push goes to (the order README.md "Global options" gives).
fn git_endpoint(
    args: &PushArgs,
    cfg: &Config,
    aws_override: Option<&str>,
    region: &str,
) -> Result<GitEndpoint> {
    endpoint::resolve(
        args.git_endpoint.as_deref(),
        cfg.source.git_endpoint.as_deref(),
        aws_override,
        region,
        &cfg.source.repository,
    )
}
