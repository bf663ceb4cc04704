//! `cargo xpipeline fetch`: the pipeline's branch brought into
//! `refs/remotes/xpipeline/<branch>` with the same identity check and assumed source role as
//! `push` (so that a refused non-fast-forward can be merged or rebased), nothing written to
//! .git/config. Prints what it fetched (old..new) on stdout.

use std::fmt;
use std::time::SystemTime;

use super::source;
use crate::aws;
use crate::cli::FetchArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::fetch::{self as git_fetch, Fetched};
use crate::git::push::{LocalBranch, Request, Target, Transfer};
use crate::git::sign::GitCredentials;
use crate::model::text::short_commit;
use crate::settings::Settings;
use crate::ui::progress::{TransferBar, retry_line};
use crate::ui::{Ui, verbose};

pub fn run(args: &FetchArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    aws::block_on(fetch(args, settings, cfg, ui))?
}

async fn fetch(args: &FetchArgs, settings: &Settings, cfg: &Config, ui: &Ui) -> Result<()> {
    // The repository first: no network call for a directory that is not one.
    crate::git::push::open(&settings.repo_dir)?;
    let mut mfa = source::mfa(args.mfa_code.as_deref(), cfg, ui)?;
    let source::Base {
        sdk,
        sts: sts_client,
        identity,
        clock_skew,
    } = source::base_identity(settings, cfg, ui).await?;
    let region = settings.region.clone();
    let endpoint = source::git_endpoint(args.git_endpoint.as_deref(), cfg, &sdk, settings, ui)?;
    let session = source::assume(&sts_client, &identity, &mut mfa, cfg, settings, ui).await?;
    let credentials = GitCredentials::sign(
        session.credentials(),
        &region,
        &endpoint.host,
        &endpoint.path,
        SystemTime::now(),
    );
    let req = Request {
        repo_dir: settings.repo_dir.clone(),
        // Not pushed: the fetch reads only the target.
        local: LocalBranch {
            name: cfg.source.branch.clone(),
            commit: String::new(),
            is_head: false,
        },
        target: Target {
            endpoint,
            branch: cfg.source.branch.clone(),
            repository: cfg.source.repository.clone(),
            account: cfg.source.account.clone(),
            region,
            role_arn: cfg.push.role_arn.clone(),
        },
        force: false,
        dry_run: false,
        clock_skew,
        timeout: settings.git_timeout,
    };
    ui.status(format_args!(
        "fetching {} of {} in account {}",
        req.target.branch, req.target.repository, req.target.account
    ));
    let bar = (ui.fancy && !ui.quiet).then(TransferBar::start);
    let reporter = bar.clone();
    let show_requests = ui.verbose > 0 && !ui.quiet;
    let quiet = ui.quiet;
    let fetched = tokio::task::spawn_blocking(move || {
        let mut on_progress = |t: Transfer| {
            let line = match &t {
                Transfer::Request {
                    method,
                    url,
                    elapsed,
                    failure,
                } if show_requests => {
                    Some(verbose::git_line(method, url, *elapsed, failure.as_deref()))
                }
                Transfer::Retrying {
                    method,
                    status,
                    attempt,
                    wait,
                } if !quiet => Some(retry_line(method, *status, *attempt, *wait)),
                _ => None,
            };
            match (line, &reporter) {
                (Some(line), Some(bar)) => bar.println(&line),
                (Some(line), None) => verbose::print_line(&line),
                (None, Some(bar)) => bar.show(t),
                (None, None) => {}
            }
        };
        git_fetch::fetch(&req, &credentials, &mut on_progress)
    })
    .await
    .map_err(|e| Error::op(format!("the git fetch stopped unexpectedly: {e}")))?;
    if let Some(bar) = bar {
        bar.finish();
    }
    ui.result(&FetchResult(fetched?))
}

/// What `fetch` reports on stdout.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
struct FetchResult(Fetched);

impl fmt::Display for FetchResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.0;
        let shown = r.reference.trim_start_matches("refs/remotes/");
        match &r.from {
            Some(from) if *from == r.to => {
                write!(f, "{shown} is up to date at {}", short_commit(&r.to))
            }
            Some(from) => write!(
                f,
                "fetched {}: {}..{} into {shown}",
                r.branch,
                short_commit(from),
                short_commit(&r.to)
            ),
            None => write!(
                f,
                "fetched {}: {} (new) into {shown}",
                r.branch,
                short_commit(&r.to)
            ),
        }?;
        if r.objects > 0 {
            write!(
                f,
                " ({} object{}, {} bytes)",
                r.objects,
                if r.objects == 1 { "" } else { "s" },
                r.bytes
            )?;
        }
        write!(
            f,
            "\nmerge or rebase onto it: git rebase {shown}  (or: git merge {shown})"
        )
    }
}
