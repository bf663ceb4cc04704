//! Which xpipeline.toml a command works from: `push` the one of the commit it pushes (the
//! repository is the truth), `plan` the working tree's (a preview of the next commit) or
//! `--commit REV`'s, the other commands the working tree's; `--config PATH` wins everywhere.
//! Each `Declaration` knows how the working-tree file compares with the committed one, so
//! the command can say what is not applied.

use std::path::Path;

use git2::Repository;

use crate::cli::GlobalArgs;
use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::git::commit;
use crate::git::push::{self as git_push, LocalBranch};
use crate::model::pipeline::declared_by::{DeclaredBy, file_tag_value};
use crate::model::text::short_commit;
use crate::settings::repository_dir;

/// A validated declaration and where it was read.
#[derive(Debug)]
pub struct Declaration {
    pub config: Config,
    /// How messages name it: `xpipeline.toml`, `xpipeline.toml@5d8e9c1a0b2f`, the --config path.
    pub shown: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--config PATH`: a file as it is on disk.
    File { name: String },
    /// The working-tree file; `committed` is HEAD's when compared.
    WorkTree { committed: Committed },
    /// The file at `commit`; `committed` compares the working tree's with it.
    Commit {
        commit: String,
        work_tree: Committed,
    },
}

/// How the working-tree xpipeline.toml compares with a commit's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Not compared (no repository, or the working tree is on another branch).
    Unknown,
    Same {
        commit: String,
    },
    /// The working-tree file differs from the commit's (or is missing).
    Differs {
        commit: String,
    },
    /// The commit has no xpipeline.toml; `None`: the repository has no commit yet.
    Absent {
        commit: Option<String>,
    },
}

impl Declaration {
    /// The value of the xpipeline-declared-by tag a write sets: the commit, `file:NAME` for
    /// --config, nothing for an uncommitted working-tree file (plan only, which never writes).
    pub fn tag_value(&self) -> Option<String> {
        match &self.origin {
            Origin::File { name } => Some(file_tag_value(name)),
            Origin::Commit { commit, .. } => Some(commit.clone()),
            Origin::WorkTree { .. } => None,
        }
    }
}

/// The working-tree file (or --config's); with `compare`, compared with HEAD's when there is
/// a repository (plan says what is not committed; status and policies need not look).
pub fn working_tree(global: &GlobalArgs, compare_with_head: bool) -> Result<Declaration> {
    if let Some(explicit) = explicit(global)? {
        return Ok(explicit);
    }
    let path = config::locate(None, global.manifest_path.as_deref())?;
    let config = config::load(Some(&path), None)?;
    let committed = compare_with_head
        .then(|| repository(global).ok())
        .flatten()
        .and_then(|repo| {
            let rel = commit::path_in_repository(&repo, &path)?;
            Some(match commit::head(&repo) {
                None => Committed::Absent { commit: None },
                Some(head) => compare(&repo, &head, &rel, &path),
            })
        })
        .unwrap_or(Committed::Unknown);
    Ok(Declaration {
        shown: config::display_path(&path),
        config,
        origin: Origin::WorkTree { committed },
    })
}

/// `plan --commit REV`: the file at the commit REV names.
pub fn at_revision(global: &GlobalArgs, rev: &str) -> Result<Declaration> {
    if let Some(path) = &global.config {
        return Err(Error::usage(format!(
            "--commit {rev} reads xpipeline.toml from a commit, --config {} names a file: give one of them",
            path.display()
        )));
    }
    let repo = repository(global)?;
    let commit = commit::resolve(&repo, rev).ok_or_else(|| {
        Error::usage(format!(
            "--commit {rev:?} names no commit of the repository at {}; give a commit id, a branch or a tag (`git log --oneline` lists commits)",
            workdir(&repo)
        ))
    })?;
    at_commit(global, &repo, &commit, rev, false)
}

/// `push`: the local branch to push and the declaration of its commit (or --config's).
pub fn for_push(global: &GlobalArgs, branch: Option<&str>) -> Result<(Declaration, LocalBranch)> {
    let repo = repository(global)?;
    let local = git_push::local_branch(&repo, branch)?;
    let declaration = match explicit(global)? {
        Some(d) => d,
        None => at_commit(global, &repo, &local.commit, &local.name, local.is_head)?,
    };
    Ok((declaration, local))
}

/// --config PATH, read as it is on disk.
fn explicit(global: &GlobalArgs) -> Result<Option<Declaration>> {
    let Some(path) = &global.config else {
        return Ok(None);
    };
    let config = config::load(Some(path), None)?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Some(Declaration {
        shown: config::display_path(path),
        config,
        origin: Origin::File { name },
    }))
}

/// The xpipeline.toml of `commit` (named `label` in messages), validated with positions in
/// that blob; `work_tree`: compare the working-tree file with it.
fn at_commit(
    global: &GlobalArgs,
    repo: &Repository,
    commit: &str,
    label: &str,
    work_tree: bool,
) -> Result<Declaration> {
    let path = config::locate(None, global.manifest_path.as_deref())?;
    let rel = commit::path_in_repository(repo, &path).ok_or_else(|| {
        Error::usage(format!(
            "{} is outside the git repository at {}, so no commit holds it\n  hint: keep xpipeline.toml in the repository, or pass --config PATH to use a file as it is on disk",
            config::display_path(&path),
            workdir(repo)
        ))
    })?;
    let shown = format!("{}@{}", rel.display(), short_commit(commit));
    let bytes = commit::file_at(repo, commit, &rel, config::read::MAX_BYTES)?.ok_or_else(|| {
        Error::usage(format!(
            "commit {short} ({label}) has no {rel}: push and plan --commit apply the xpipeline.toml a commit holds, and this one holds none\n  hint: commit it first (git add {rel} && git commit), or pass --config PATH to use a file as it is on disk",
            short = short_commit(commit),
            rel = rel.display()
        ))
    })?;
    let text = config::read::text(bytes, &shown)?;
    let config = config::parse(&text, &shown, path.clone()).map_err(Error::Config)?;
    let work_tree = match work_tree {
        true => compare(repo, commit, &rel, &path),
        false => Committed::Unknown,
    };
    Ok(Declaration {
        config,
        shown,
        origin: Origin::Commit {
            commit: commit.to_owned(),
            work_tree,
        },
    })
}

/// How the working-tree file at `path` compares with the one `commit` holds at `rel`.
fn compare(repo: &Repository, commit: &str, rel: &Path, path: &Path) -> Committed {
    let committed = match commit::file_at(repo, commit, rel, config::read::MAX_BYTES) {
        Ok(Some(text)) => text,
        Ok(None) => {
            return Committed::Absent {
                commit: Some(commit.to_owned()),
            };
        }
        Err(_) => return Committed::Unknown,
    };
    let shown = config::display_path(path);
    let on_disk = config::read::file(path, &shown).ok().flatten();
    let commit = commit.to_owned();
    match on_disk {
        Some(text) if text.as_bytes() == committed => Committed::Same { commit },
        _ => Committed::Differs { commit },
    }
}

/// The repository holding the workspace (the directory of --manifest-path, else the current one).
fn repository(global: &GlobalArgs) -> Result<Repository> {
    git_push::open(&repository_dir(global.manifest_path.as_deref()))
}

fn workdir(repo: &Repository) -> String {
    repo.workdir().map_or_else(
        || repo.path().display().to_string(),
        |p| p.display().to_string(),
    )
}

/// `declared` compared with the branch HEAD is on in the repository at `dir` (unchanged when
/// there is no repository or no commit).
pub fn placed(dir: &Path, declared: DeclaredBy) -> DeclaredBy {
    let Ok(repo) = git_push::open(dir) else {
        return declared;
    };
    let Some(head) = commit::head(&repo) else {
        return declared;
    };
    let branch = crate::git::current_branch(dir).unwrap_or_else(|| "HEAD".to_owned());
    let reach = declared
        .commit
        .as_deref()
        .map(|c| commit::reach(&repo, &head, c));
    declared.on(&branch, reach)
}
