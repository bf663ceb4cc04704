//! The git push to CodeCommit: the remote's refs read first (our own smart-HTTP exchange,
//! `git/wire.rs`; nothing written to .git/config, credentials only in memory and only to the
//! signed endpoint) so that a non-fast-forward is refused with its reason and "up to date"
//! pushes nothing; then the pack (`git/pack.rs`) and the update in one POST, and the
//! remote's report read: refusals and hook messages reported. What the outcome means is
//! decided by pure functions (`decide`, `http_failure`) the tests call directly.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::{BranchType, Oid, Repository, StatusOptions};
use serde::Serialize;

use super::failure::{Phase, refused_update, remote_error, unreadable_report, wire_failure};
use super::pktline;
use super::wire::{self, Wire};
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
    /// The connect and stall timeout of every git request (XPIPELINE_GIT_TIMEOUT).
    pub timeout: Duration,
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
    /// Bytes of a fetched pack received so far.
    Receiving {
        bytes: usize,
    },
    /// The endpoint asked to slow down (429, 503, "Rate exceeded"): attempt `attempt` follows
    /// after `wait`.
    Retrying {
        method: &'static str,
        status: u16,
        attempt: u32,
        wait: Duration,
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
        format!(
            "bring those commits in first: `cargo xpipeline fetch`, then `git rebase xpipeline/{0}` (or `git merge xpipeline/{0}`) and push again; or pass --force to overwrite the remote branch",
            target.branch
        ),
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

/// Push (or with `dry_run`, only look). `progress` sees the requests, the pack being built
/// and sent, and throttled requests being retried.
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

    let wire = Wire::new(&req.target.endpoint.url, creds, req.timeout)
        .map_err(|f| wire_failure(&f, req, Phase::Advertisement))?;
    let adv = advertisement(&wire, "git-receive-pack", progress)
        .map_err(|f| wire_failure(&f, req, Phase::Advertisement))?;
    let adv = pktline::advertisement(&adv, "git-receive-pack").map_err(|e| {
        Error::op(format!(
            "the git endpoint {} is not a git server: {e}; nothing was pushed",
            req.target.endpoint.url
        ))
    })?;
    let remote_oid = adv
        .refs
        .get(&remote_ref)
        .and_then(|r| Oid::from_str(r).ok());
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

    // What the remote has that this repository knows: left out of the pack.
    let haves: Vec<Oid> = adv
        .refs
        .values()
        .filter_map(|r| Oid::from_str(r).ok())
        .filter(|o| repo.find_commit(*o).is_ok())
        .collect();
    let pack = super::pack::build(&repo, local, &haves, &mut |done, total| {
        progress(Transfer::Packing { done, total })
    })
    .map_err(|e| Error::op(format!("cannot build the pack to push: {}", e.message())))?;
    // The commit that was read and checked (its xpipeline.toml is the one applied), not the
    // branch name: a branch that moves meanwhile cannot change what is pushed.
    let mut body = pktline::update_command(
        remote_oid.map(|o| o.to_string()).as_deref(),
        &req.local.commit,
        &remote_ref,
        &adv,
    );
    // Offset deltas where the server takes them, as git sends them (18 bytes fewer a delta);
    // should the rewrite fail, the pack as libgit2 wrote it is just as good.
    let scratch = repo
        .path()
        .join(format!("xpipeline-pack-{}", std::process::id()));
    match adv.has("ofs-delta") {
        true => match super::pack::with_offset_deltas(&pack.bytes, &scratch) {
            Ok(smaller) => body.extend_from_slice(&smaller),
            Err(_) => body.extend_from_slice(&pack.bytes),
        },
        false => body.extend_from_slice(&pack.bytes),
    }
    let total = body.len();
    let objects = pack.objects;
    drop(pack);

    let asked = Instant::now();
    let mut most = 0usize;
    let answer = wire.run(wire.post("git-receive-pack", body, &mut |e| match e {
        wire::Event::Moved(m) => {
            // Counted up to the totals, never back (a retried attempt starts again at 0).
            most = most.max(m.sent.min(total));
            progress(Transfer::Sending {
                done: objects * most / total.max(1),
                total: objects,
                bytes: most,
            });
        }
        wire::Event::Retrying {
            status,
            attempt,
            wait,
        } => progress(Transfer::Retrying {
            method: "POST",
            status,
            attempt,
            wait,
        }),
    }));
    progress(Transfer::Request {
        method: "POST",
        url: wire.url("git-receive-pack"),
        elapsed: asked.elapsed(),
        failure: answer.as_ref().err().map(describe),
    });
    let answer = answer.map_err(|f| wire_failure(&f, req, Phase::Post))?;
    let (data, messages) = if adv.has("side-band-64k") {
        let bands = pktline::side_band(&answer).map_err(|e| unreadable_report(&e, req))?;
        if let Some(e) = bands.error {
            return Err(remote_error(&e, req));
        }
        (bands.data, pktline::remote_lines(&bands.messages))
    } else {
        (answer, Vec::new())
    };
    let report = pktline::report(&data).map_err(|e| unreadable_report(&e, req))?;
    if report.unpack != "ok" {
        return Err(refused_update(
            &format!("the pack was not unpacked ({})", report.unpack),
            &messages,
            req,
        ));
    }
    match report.refs.iter().find(|(r, _)| *r == remote_ref) {
        Some((_, None)) => Ok(done(objects, total, true)),
        Some((_, Some(why))) => Err(refused_update(why, &messages, req)),
        None => Err(unreadable_report(
            &format!("no status for {remote_ref}"),
            req,
        )),
    }
}

/// `GET info/refs?service=<service>`, told as a `Transfer::Request`.
pub(crate) fn advertisement(
    wire: &Wire,
    service: &str,
    progress: &mut dyn FnMut(Transfer),
) -> std::result::Result<Vec<u8>, wire::Failure> {
    let asked = Instant::now();
    let adv = wire.run(wire.advertisement(service, &mut |e| {
        if let wire::Event::Retrying {
            status,
            attempt,
            wait,
        } = e
        {
            progress(Transfer::Retrying {
                method: "GET",
                status,
                attempt,
                wait,
            })
        }
    }));
    progress(Transfer::Request {
        method: "GET",
        url: wire.url(&format!("info/refs?service={service}")),
        elapsed: asked.elapsed(),
        failure: adv.as_ref().err().map(describe),
    });
    adv
}

/// A transport failure in a few words, for `-v`.
pub(crate) fn describe(f: &wire::Failure) -> String {
    match f {
        wire::Failure::Redirected(to) => format!("redirected to {to}"),
        wire::Failure::Status(s, _) => format!("HTTP {s}"),
        wire::Failure::Connect(why) | wire::Failure::Broken(why) => why.clone(),
        wire::Failure::Stalled { after, .. } => format!("nothing moved for {}s", after.as_secs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::failure::http_failure;

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
            timeout: Duration::from_secs(60),
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
                    && e.contains("cargo xpipeline fetch")
                    && e.contains("git rebase xpipeline/main")
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
