//! `cargo xpipeline push`: check the base identity, read the plan, assume the source-account
//! role, reconcile the pipeline and git-push the branch to CodeCommit, and follow the
//! execution. The steps run in order in `push`; nothing is written before the role is assumed
//! (a role that cannot be assumed leaves nothing behind). The pipeline goes before the commit,
//! so that no commit lands without its pipeline, except for a new pipeline whose branch does
//! not exist yet: its creation would start a run that fails for lack of the branch, so the
//! commit goes first and that run builds it. The pipeline is reconciled from the xpipeline.toml
//! of the commit pushed (`declaration::for_push`, read before any network call), never from
//! uncommitted changes.

use std::fmt;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use super::declaration::{Committed, Declaration, Origin};
use super::{reconcile, source};
use crate::aws::error::codecommit::{Place, push_refused};
use crate::aws::{self, codecommit, pipeline, sts};
use crate::cli::PushArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::failure;
use crate::git::push::{self as git_push, Change, LocalBranch, Pushed, Target, Transfer};
use crate::git::sign::GitCredentials;
use crate::model::pipeline::plan::{Options, Step};
use crate::model::text::short_commit;
use crate::settings::Settings;
use crate::ui::execution::WithExecution;
use crate::ui::progress::{TransferBar, retry_line, summary_line};
use crate::ui::{Ui, verbose};

pub fn run(
    args: &PushArgs,
    settings: &Settings,
    decl: &Declaration,
    local: LocalBranch,
    ui: &Ui,
) -> Result<()> {
    branch_rule(args.branch.as_deref(), &decl.config, &local)?;
    let access = crate::model::target::Access::from_flags(
        &args.target.target_profile,
        &args.target.target_admin_role_arn,
    )
    .map_err(Error::usage)?;
    aws::block_on(push(args, settings, decl, local, access, ui))?
}

/// The pipeline builds `source.branch`: pushing another local branch onto it must be asked for
/// by name (`--branch`), never happen because that branch was checked out. Before any call.
fn branch_rule(named: Option<&str>, cfg: &Config, local: &LocalBranch) -> Result<()> {
    let builds = &cfg.source.branch;
    if named.is_some() || &local.name == builds {
        return Ok(());
    }
    Err(Error::usage(format!(
        "you are on branch {current}, but pipeline {name} builds branch {builds} (source.branch in xpipeline.toml); \
         nothing was pushed. To push {current} onto {builds}, name it: `cargo xpipeline push --branch {current}`; \
         to push {builds}, switch to it: `git switch {builds}`",
        current = local.name,
        name = cfg.pipeline.name,
    )))
}

async fn push(
    args: &PushArgs,
    settings: &Settings,
    decl: &Declaration,
    local: LocalBranch,
    access: crate::model::target::Access,
    ui: &Ui,
) -> Result<()> {
    // The local side first (the branch and its xpipeline.toml were read before any network
    // call): what is not pushed, and which declaration is applied.
    let cfg = &decl.config;
    let repo_dir = settings.repo_dir.clone();
    warn_uncommitted(&repo_dir, &local, ui)?;
    tell_declaration(decl, &local, ui);
    let mut mfa = source::mfa(args.mfa_code.as_deref(), cfg, ui)?;

    // One SDK configuration; the base identity must be the pipeline account's, and every
    // [[deploy]] account bootstrapped for this declaration.
    let source::Base {
        sdk,
        sts: sts_client,
        identity,
        clock_skew,
    } = source::base_identity(settings, cfg, ui).await?;
    super::push_targets::check(&sdk, cfg, ui).await?;

    // The plan, read only: what the reconcile will do is decided (or refused) before anything
    // is written. Quota-aware (LimitExceededException is not retried as throttling); the
    // executions calls take the same client.
    let pipeline_client = pipeline::quota_aware(&aws::client!(aws_sdk_codepipeline, &sdk));
    let options = Options {
        adopt: args.adopt,
        dry_run: args.dry_run,
    };
    let planned = reconcile::read(&pipeline_client, decl, options).await?;

    let region = settings.region.clone();
    let endpoint = source::git_endpoint(args.git_endpoint.as_deref(), cfg, &sdk, settings, ui)?;

    // The source-account role, assumed in memory, before anything is written: a role that
    // cannot be assumed leaves no pipeline and no commit behind.
    let session = source::assume(&sts_client, &identity, &mut mfa, cfg, settings, ui).await?;

    // CodeCommit's API with the same credentials, alongside the git push: it says precisely
    // why a refused push was refused, and whether the branch exists yet.
    let mut probe = Probe::start(
        codecommit::client(&sdk, session.credentials(), &cfg.source.account),
        &cfg.source.repository,
        &cfg.source.branch,
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
        clock_skew,
        timeout: settings.git_timeout,
    };

    // A pipeline created before its branch exists runs once by itself and fails (its Source
    // action finds no branch). So when it must be created and the branch is not there yet,
    // the commit goes first; the creation's own execution then builds it. Otherwise the
    // pipeline goes first, so that no commit lands without its pipeline.
    let creating = matches!(planned.1, Step::Create) && !args.dry_run;
    let branch_missing = match creating {
        true => probe.branch_missing().await,
        false => Some(false),
    };
    let (ensured, pushed) = if branch_missing != Some(false) {
        let branch = match branch_missing {
            Some(_) => "has no commit yet",
            None => "may not exist yet (CodeCommit's API could not say)",
        };
        ui.status(format_args!(
            "pipeline {} does not exist and branch {} of {} {branch}: pushing first, then creating the pipeline, whose first execution builds the pushed commit",
            cfg.pipeline.name, cfg.source.branch, cfg.source.repository
        ));
        let pushed = explained_push(&git_request, &session, &mut probe, ui).await?;
        let result = PushResult::new(&git_request, &pushed);
        match reconcile::ensure(&pipeline_client, decl, planned, options, ui).await {
            Ok(ensured) => (ensured, pushed),
            Err(e) => {
                ui.result(&result)?;
                return Err(not_created(e, cfg, &pushed.commit));
            }
        }
    } else {
        let ensured = reconcile::ensure(&pipeline_client, decl, planned, options, ui).await?;
        let pushed = explained_push(&git_request, &session, &mut probe, ui).await?;
        (ensured, pushed)
    };
    drop(probe);
    ui.detail(format_args!(
        "pipeline {} at version {}",
        cfg.pipeline.name, ensured.version
    ));

    let result = PushResult::new(&git_request, &pushed);
    if args.dry_run {
        return ui.result(&result);
    }
    // The execution that builds exactly the pushed commit: started (trigger = push) or found,
    // then followed; the exit code is its result. Interrupted (Ctrl-C) or failed, the push
    // still happened: stdout says so before the error.
    let mut builds = super::builds::Builds::new(&sdk, args.logs.into());
    let mut deploys = super::deploys::Deploys::new(
        &sdk,
        settings,
        &cfg.pipeline.account,
        access,
        args.no_wait_approval,
    );
    let ctrl_c = tokio::signal::ctrl_c();
    let after = super::watch::after_push(
        &pipeline_client,
        &mut builds,
        &mut deploys,
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
    );
    let followed = tokio::select! {
        biased;
        followed = after => followed,
        _ = ctrl_c => Err(interrupted_before_following(cfg, &pushed.commit)),
    };
    let followed = match followed {
        Ok(f) => f,
        Err(e) => {
            ui.result(&result)?;
            return Err(e);
        }
    };
    ui.result(&WithExecution::new(
        result,
        followed.view(),
        followed.execution_id(),
    ))?;
    followed.outcome()
}

/// The git push; refused (401, 403, 404), told from CodeCommit's API when it says more than
/// the ranked guesses.
async fn explained_push(
    request: &git_push::Request,
    session: &sts::SourceSession,
    probe: &mut Probe,
    ui: &Ui,
) -> Result<Pushed> {
    // Signed just before the push (the password is valid for 15 minutes), for the host
    // connected to.
    let endpoint = &request.target.endpoint;
    let credentials = GitCredentials::sign(
        session.credentials(),
        &request.target.region,
        &endpoint.host,
        &endpoint.path,
        SystemTime::now(),
    );
    let err = match git_push_with_progress(request.clone(), credentials, ui).await {
        Ok(pushed) => return Ok(pushed),
        Err(e) => e,
    };
    let Some(not_found) = failure::refusal(&err, request) else {
        return Err(err);
    };
    let Some(answer) = probe.answer().await else {
        return Err(err);
    };
    let t = &request.target;
    let place = Place {
        repository: &t.repository,
        account: &t.account,
        region: &t.region,
        role_arn: &t.role_arn,
        endpoint: &t.endpoint.url,
    };
    Err(push_refused(answer, place, not_found).unwrap_or(err))
}

/// GetRepository and GetBranch running beside the push. A successful push never waits for
/// them: dropped, the task is left to end by itself (its calls still reach `-v`), or with the
/// runtime when the command returns.
struct Probe {
    task: Option<tokio::task::JoinHandle<codecommit::Probe>>,
    answer: Option<codecommit::Probe>,
}

impl Probe {
    fn start(client: aws_sdk_codecommit::Client, repository: &str, branch: &str) -> Probe {
        let (repository, branch) = (repository.to_owned(), branch.to_owned());
        let task =
            tokio::spawn(async move { codecommit::probe(&client, &repository, &branch).await });
        Probe {
            task: Some(task),
            answer: None,
        }
    }

    async fn answer(&mut self) -> Option<&codecommit::Probe> {
        if let Some(task) = self.task.take() {
            self.answer = task.await.ok();
        }
        self.answer.as_ref()
    }

    async fn branch_missing(&mut self) -> Option<bool> {
        self.answer()
            .await
            .and_then(codecommit::Probe::branch_missing)
    }
}

/// The commit landed but CreatePipeline failed: say both, and how to finish.
fn not_created(e: Error, cfg: &Config, commit: &str) -> Error {
    let (why, hint) = match e {
        Error::Operation { message, hint } => (message, hint),
        other => (other.to_string(), None),
    };
    let again = format!(
        "then run `cargo xpipeline push` again: it creates pipeline {}, whose first execution builds branch {} (the commit is already there)",
        cfg.pipeline.name, cfg.source.branch
    );
    Error::op_hint(
        format!(
            "commit {} was pushed to branch {} of repository {}, but pipeline {} was not created: {why}",
            short_commit(commit),
            cfg.source.branch,
            cfg.source.repository,
            cfg.pipeline.name
        ),
        match hint {
            Some(h) => format!("{h}; {again}"),
            None => format!("fix that, {again}"),
        },
    )
}

/// Ctrl-C after the push, before an execution was being followed.
fn interrupted_before_following(cfg: &Config, commit: &str) -> Error {
    Error::op_hint(
        format!(
            "interrupted after the push of commit {}, before its execution of pipeline {} was followed",
            short_commit(commit),
            cfg.pipeline.name
        ),
        "`cargo xpipeline status` shows the pipeline's executions; `cargo xpipeline status --watch` follows the current one",
    )
}

/// Ctrl-C during the git transfer: the pack may or may not have reached the remote.
fn interrupted_during_push(request: &git_push::Request) -> Error {
    Error::op_hint(
        format!(
            "interrupted during the git push of {} ({}) to {} of {}: whether the update reached the remote is unknown",
            request.local.name,
            short_commit(&request.local.commit),
            request.target.branch,
            request.target.repository
        ),
        "`cargo xpipeline push --dry-run` says whether the branch is at the commit; running `cargo xpipeline push` again is safe (a push of the same commit changes nothing and starts no second execution)",
    )
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
    // Said if the user interrupts the transfer (the request is moved into the push).
    let interrupted = interrupted_during_push(&request);
    let transfer = tokio::task::spawn_blocking(move || {
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
    });
    let pushed = tokio::select! {
        biased;
        joined = transfer => {
            joined.map_err(|e| Error::op(format!("the git push stopped unexpectedly: {e}")))?
        }
        _ = tokio::signal::ctrl_c() => {
            if let Some(bar) = bar {
                bar.finish();
            }
            return Err(interrupted);
        }
    };
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
