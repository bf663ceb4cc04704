//! The git push to CodeCommit with git2: an anonymous remote (nothing written to
//! .git/config), credentials only through the in-memory credentials callback (which gives up
//! after one rejected attempt), the remote branch looked at first so that a non-fast-forward
//! is refused with its reason and "up to date" pushes nothing. What the outcome means is
//! decided by pure functions (`decide`, `http_failure`) the tests call directly.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::{
    BranchType, CredentialType, Direction, ErrorClass, ErrorCode, Oid, ProxyOptions, PushOptions,
    RemoteCallbacks, Repository, StatusOptions,
};
use secrecy::ExposeSecret;
use serde::Serialize;

use super::failure::{REDIRECTED, REFUSED_CREDENTIALS, git_failure};
use crate::error::{Error, Result};
use crate::git::endpoint::GitEndpoint;
use crate::git::sign::GitCredentials;

/// The branch to push, as found in the local repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBranch {
    pub name: String,
    pub commit: String,
    /// HEAD is on this branch (so work-tree changes concern it).
    pub is_head: bool,
}

/// The git repository holding `dir`.
pub fn open(dir: &Path) -> Result<Repository> {
    Repository::discover(dir).map_err(|e| {
        Error::usage(format!(
            "{} is not in a git repository ({}); run `git init` and commit first",
            dir.display(),
            e.message()
        ))
    })
}

/// `--branch`, else the branch HEAD is on.
pub fn local_branch(repo: &Repository, branch: Option<&str>) -> Result<LocalBranch> {
    let head_branch = repo
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().map(str::to_owned))
        .and_then(|t| t.strip_prefix("refs/heads/").map(str::to_owned));
    let name = match (branch, &head_branch) {
        (Some(b), _) => b.to_owned(),
        (None, Some(h)) => h.clone(),
        (None, None) => {
            return Err(Error::usage(
                "HEAD is detached: check out a branch, or name one with --branch",
            ));
        }
    };
    let unborn = head_branch.as_deref() == Some(name.as_str());
    let commit = repo
        .find_branch(&name, BranchType::Local)
        .map_err(|_| match unborn {
            // HEAD names a branch that has no commit yet (a fresh `git init`).
            true => Error::usage(format!(
                "branch {name:?} has no commit yet: make a first commit (`git add` then `git commit`), then push"
            )),
            false => Error::usage(format!(
                "there is no local branch {name:?}; check --branch (`git branch` lists them)"
            )),
        })?
        .get()
        .peel_to_commit()
        .map_err(|_| {
            Error::usage(format!(
                "branch {name:?} has no commit yet: commit something first"
            ))
        })?;
    Ok(LocalBranch {
        is_head: head_branch.as_deref() == Some(name.as_str()),
        name,
        commit: commit.id().to_string(),
    })
}

/// Tracked files with changes that are not committed (and so not pushed).
pub fn uncommitted_changes(repo: &Repository) -> usize {
    if repo.is_bare() {
        return 0;
    }
    let mut opts = StatusOptions::new();
    opts.include_untracked(false)
        .include_ignored(false)
        .exclude_submodules(true);
    repo.statuses(Some(&mut opts))
        .map(|s| s.iter().filter(|e| !e.status().is_empty()).count())
        .unwrap_or(0)
}

/// Where the push goes, and who it goes as: enough to explain a refusal.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: GitEndpoint,
    pub branch: String,
    pub repository: String,
    pub account: String,
    pub region: String,
    pub role_arn: String,
}

/// One push.
#[derive(Debug, Clone)]
pub struct Request {
    pub repo_dir: PathBuf,
    pub local: LocalBranch,
    pub target: Target,
    pub force: bool,
    pub dry_run: bool,
    /// Local clock minus AWS's, in seconds, when known: a 403 may be a clock problem.
    pub clock_skew: Option<i64>,
}

/// What the push does (or, with --dry-run, would do) to the remote branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "change")]
pub enum Change {
    /// The branch does not exist yet.
    Create,
    /// The remote commit is an ancestor of the pushed one.
    FastForward { from: String },
    /// --force over a remote commit that is not an ancestor.
    Forced { from: String },
    /// The remote branch already is at the commit.
    UpToDate,
}

/// Progress of the pack being built and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transfer {
    /// One HTTP request of the transfer ended: the ref advertisement (GET) or the pack (POST).
    /// libgit2 does not tell the status of a request that succeeded, only that it did.
    Request {
        method: &'static str,
        /// The URL without credentials (they never are in it).
        url: String,
        elapsed: Duration,
        /// Why it failed, when it did.
        failure: Option<String>,
    },
    Packing {
        done: usize,
        total: usize,
    },
    Sending {
        done: usize,
        total: usize,
        bytes: usize,
    },
}

/// What a finished push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub commit: String,
    pub change: Change,
    /// Nothing was sent (`--dry-run`, or already up to date).
    pub wrote: bool,
    pub objects: usize,
    pub bytes: usize,
    pub elapsed: Duration,
}

/// How the remote branch's commit relates to the local one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// The remote commit is in the local branch's history: a fast-forward.
    RemoteBehind,
    /// The local commit is in the remote's history: the remote has commits the local lacks.
    RemoteAhead,
    /// Each has commits the other lacks.
    Diverged,
    /// The remote commit is not in this repository at all.
    Unknown,
}

/// Decide what to do from the local commit, the remote branch's commit (if any), how they
/// relate, and --force. A refusal is an error that says why and what to do.
pub fn decide(
    local: &str,
    remote: Option<(&str, History)>,
    force: bool,
    target: &Target,
    local_branch: &str,
) -> Result<Change> {
    let (r, history) = match remote {
        None => return Ok(Change::Create),
        Some((r, _)) if r == local => return Ok(Change::UpToDate),
        Some((r, History::RemoteBehind)) => {
            return Ok(Change::FastForward { from: r.to_owned() });
        }
        Some((r, _)) if force => return Ok(Change::Forced { from: r.to_owned() }),
        Some(refused) => refused,
    };
    let why = match history {
        History::RemoteAhead => {
            "which is ahead of the local branch: it has commits the local branch lacks"
        }
        History::Unknown => "a commit this repository does not have (someone else pushed)",
        _ => "and the two have diverged: each has commits the other lacks",
    };
    Err(Error::op_hint(
        format!(
            "refusing to push {local_branch} ({}) to {} in repository {} (account {}): the remote branch is at {}, {why}; this is not a fast-forward (non-fast-forward) and would discard those commits",
            crate::model::text::short_commit(local),
            target.branch,
            target.repository,
            target.account,
            crate::model::text::short_commit(r),
        ),
        "bring those commits in first (fetch the branch and merge or rebase onto it), or pass --force to overwrite the remote branch",
    ))
}

/// How `remote` relates to `local` in `repo`.
fn history(repo: &Repository, local: Oid, remote: Oid) -> History {
    if repo.find_commit(remote).is_err() {
        History::Unknown
    } else if repo.graph_descendant_of(local, remote).unwrap_or(false) {
        History::RemoteBehind
    } else if repo.graph_descendant_of(remote, local).unwrap_or(false) {
        History::RemoteAhead
    } else {
        History::Diverged
    }
}

/// Push (or with `dry_run`, only look). `progress` sees the pack being built and sent.
pub fn push(
    req: &Request,
    creds: &GitCredentials,
    progress: &mut dyn FnMut(Transfer),
) -> Result<Pushed> {
    let started = Instant::now();
    let repo = open(&req.repo_dir)?;
    let local = Oid::from_str(&req.local.commit)
        .map_err(|e| Error::op(format!("bad local commit id: {}", e.message())))?;
    let remote_ref = format!("refs/heads/{}", req.target.branch);

    let mut remote = repo
        .remote_anonymous(&req.target.endpoint.url)
        .map_err(|e| git_failure(&e, req))?;
    let base = req.target.endpoint.url.trim_end_matches('/').to_owned();
    let signed_for = origin(&req.target.endpoint.url);
    let asked = Instant::now();
    let connected = remote.connect_auth(
        Direction::Push,
        Some(callbacks(creds, signed_for)),
        Some(proxy()),
    );
    progress(Transfer::Request {
        method: "GET",
        url: format!("{base}/info/refs?service=git-receive-pack"),
        elapsed: asked.elapsed(),
        failure: connected.as_ref().err().map(|e| e.message().to_owned()),
    });
    let mut conn = connected.map_err(|e| git_failure(&e, req))?;
    let remote_oid = conn
        .list()
        .map_err(|e| git_failure(&e, req))?
        .iter()
        .find(|h| h.name() == remote_ref)
        .map(|h| h.oid());
    let remote_state = remote_oid.map(|r| (r.to_string(), history(&repo, local, r)));
    let change = decide(
        &req.local.commit,
        remote_state.as_ref().map(|(r, h)| (r.as_str(), *h)),
        req.force,
        &req.target,
        &req.local.name,
    )?;
    let done = |objects, bytes, wrote| Pushed {
        commit: req.local.commit.clone(),
        change: change.clone(),
        wrote,
        objects,
        bytes,
        elapsed: started.elapsed(),
    };
    if req.dry_run || change == Change::UpToDate {
        return Ok(done(0, 0, false));
    }

    let plus = if matches!(change, Change::Forced { .. }) {
        "+"
    } else {
        ""
    };
    // The commit that was read and checked (its xpipeline.toml is the one applied), not the
    // branch name: a branch that moves meanwhile cannot change what is pushed.
    let refspec = format!("{plus}{}:{remote_ref}", req.local.commit);
    let mut rejected: Option<String> = None;
    let mut sent = (0usize, 0usize);
    let progress = RefCell::new(progress);
    {
        let mut cbs = callbacks(creds, signed_for);
        cbs.push_update_reference(|name, status| {
            if let Some(why) = status {
                rejected = Some(crate::model::text::safe(&format!("{name}: {why}")));
            }
            Ok(())
        });
        cbs.pack_progress(|_, done, total| {
            (progress.borrow_mut())(Transfer::Packing { done, total });
        });
        cbs.push_transfer_progress(|done, total, bytes| {
            sent = (total, bytes);
            (progress.borrow_mut())(Transfer::Sending { done, total, bytes });
        });
        let mut opts = PushOptions::new();
        // 0: one delta-search thread per CPU, as the git CLI does (libgit2's default is 1).
        opts.remote_callbacks(cbs)
            .proxy_options(proxy())
            .packbuilder_parallelism(0);
        let asked = Instant::now();
        let pushed = conn.remote().push(&[refspec.as_str()], Some(&mut opts));
        (progress.borrow_mut())(Transfer::Request {
            method: "POST",
            url: format!("{base}/git-receive-pack"),
            elapsed: asked.elapsed(),
            failure: pushed.as_ref().err().map(|e| e.message().to_owned()),
        });
        pushed.map_err(|e| git_failure(&e, req))?;
    }
    if let Some(why) = rejected {
        return Err(Error::op_hint(
            format!(
                "CodeCommit refused the update of {} in repository {}: {why}",
                req.target.branch, req.target.repository
            ),
            "a branch protection or approval rule may forbid direct pushes; check the repository's approval rule templates and the role's codecommit:GitPush conditions",
        ));
    }
    Ok(done(sent.0, sent.1, true))
}

/// The credentials callback: the signed password once; a second request means it was
/// refused, and asking again would only loop.
/// The credentials callback: the signed credentials, once, and only for `signed_for` (the
/// `scheme://host[:port]` they were signed for). libgit2 follows a redirect of the first
/// request to any host and asks again there: that host gets nothing.
fn callbacks<'a>(creds: &'a GitCredentials, signed_for: &'a str) -> RemoteCallbacks<'a> {
    let mut cbs = RemoteCallbacks::new();
    let mut asked = false;
    cbs.credentials(move |url, _user, allowed| {
        let asking = origin(url);
        if asking != signed_for {
            return Err(git2::Error::new(
                ErrorCode::Auth,
                ErrorClass::Http,
                format!("{REDIRECTED}{}", asking.split_once("://").map_or(asking, |(_, h)| h)),
            ));
        }
        if asked {
            return Err(git2::Error::new(
                ErrorCode::Auth,
                ErrorClass::Http,
                REFUSED_CREDENTIALS,
            ));
        }
        asked = true;
        if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            return Err(git2::Error::from_str(
                "the git endpoint does not take a user name and password (is it a CodeCommit endpoint?)",
            ));
        }
        git2::Cred::userpass_plaintext(
            creds.username().expose_secret(),
            creds.password().expose_secret(),
        )
    });
    cbs
}

/// `scheme://host[:port]` of a URL, lower-cased; the URL itself when it has no scheme.
fn origin(url: &str) -> &str {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &url[..scheme.len() + 3 + end]
}

/// Proxy settings from git config and the environment, as git does.
fn proxy() -> ProxyOptions<'static> {
    let mut p = ProxyOptions::new();
    p.auto();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::failure::http_failure;

    #[test]
    fn the_origin_of_a_url_is_scheme_host_and_port() {
        assert_eq!(
            origin("https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/r"),
            "https://git-codecommit.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:9/v1/repos/r?x"),
            "http://127.0.0.1:9"
        );
        assert_eq!(origin("http://other:8080"), "http://other:8080");
        assert_ne!(
            origin("http://127.0.0.1:9/a"),
            origin("http://127.0.0.1:10/a")
        );
    }
    use crate::git::endpoint;

    fn request(skew: Option<i64>) -> Request {
        Request {
            repo_dir: PathBuf::from("."),
            local: LocalBranch {
                name: "main".into(),
                commit: "a".repeat(40),
                is_head: true,
            },
            target: Target {
                endpoint: endpoint::resolve(None, None, None, "eu-west-1", "app").unwrap(),
                branch: "main".into(),
                repository: "app".into(),
                account: "222222222222".into(),
                region: "eu-west-1".into(),
                role_arn: "arn:aws:iam::222222222222:role/push".into(),
            },
            force: false,
            dry_run: false,
            clock_skew: skew,
        }
    }

    #[test]
    fn decide_covers_every_case() {
        let r = request(None);
        let (l, o) = ("a".repeat(40), "b".repeat(40));
        let d = |remote, force| decide(&l, remote, force, &r.target, "main");
        assert_eq!(d(None, false).unwrap(), Change::Create);
        assert_eq!(
            d(Some((&l, History::Unknown)), false).unwrap(),
            Change::UpToDate
        );
        assert_eq!(
            d(Some((&o, History::RemoteBehind)), false).unwrap(),
            Change::FastForward { from: o.clone() }
        );
        for h in [History::RemoteAhead, History::Diverged, History::Unknown] {
            assert_eq!(
                d(Some((&o, h)), true).unwrap(),
                Change::Forced { from: o.clone() }
            );
            let e = d(Some((&o, h)), false).unwrap_err();
            assert_eq!(e.exit_code(), 1);
            let e = e.to_string();
            assert!(
                e.contains("non-fast-forward")
                    && e.contains("--force")
                    && e.contains("bbbbbbbbbbbb"),
                "{e}"
            );
        }
        let ahead = d(Some((&o, History::RemoteAhead)), false)
            .unwrap_err()
            .to_string();
        assert!(ahead.contains("ahead of the local branch"), "{ahead}");
    }

    #[test]
    fn forbidden_lists_the_causes_in_order_with_the_clock_skew() {
        let e = http_failure(403, &request(Some(-1000))).to_string();
        let (perm, kms, clock) = (
            e.find("lacks codecommit:GitPush").unwrap(),
            e.find("KMS key").unwrap(),
            e.find("the local clock is behind by 16m40s").unwrap(),
        );
        assert!(perm < kms && kms < clock, "{e}");
        let e = http_failure(403, &request(Some(3))).to_string();
        assert!(e.contains("probably not this"), "{e}");
    }

    #[test]
    fn not_found_names_the_repository_and_the_fix() {
        let e = http_failure(404, &request(None)).to_string();
        assert!(
            e.contains("repository app not found in account 222222222222")
                && e.contains("create-repository"),
            "{e}"
        );
    }
}
