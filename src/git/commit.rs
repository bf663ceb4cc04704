//! What commits of the local repository hold: a revision resolved to its commit, the text of a
//! file at a commit (its blob, never the working tree), where a file of the working tree sits
//! in the repository, and whether a branch contains a commit. Ops: data or an `Error`, no
//! printing.

use std::path::{Component, Path, PathBuf};

use git2::{ErrorCode, Oid, Repository};

use crate::error::{Error, Result};
use crate::model::pipeline::declared_by::Reach;

/// The commit `rev` names (`HEAD`, a branch, a tag, a full or short id, `main~2`), or `None`
/// when it names none in `repo`.
pub fn resolve(repo: &Repository, rev: &str) -> Option<String> {
    let object = repo.revparse_single(rev).ok()?;
    let commit = object.peel_to_commit().ok()?;
    Some(commit.id().to_string())
}

/// The commit HEAD is at, if HEAD has one (a fresh repository has none).
pub fn head(repo: &Repository) -> Option<String> {
    resolve(repo, "HEAD")
}

/// Where `file` (a path in the working tree, which need not exist) is inside the repository,
/// as the path a commit's tree holds it under; `None` when it is outside the working tree.
pub fn path_in_repository(repo: &Repository, file: &Path) -> Option<PathBuf> {
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let name = file.file_name()?;
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .canonicalize()
        .ok()?;
    let rel = parent.join(name).strip_prefix(&workdir).ok()?.to_path_buf();
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(rel)
}

/// The bytes of the file at `path` in `commit`: `Ok(None)` when the commit has no file there.
/// A directory, a submodule or a blob over `max_bytes` (its size read from the object header,
/// so it is never loaded) is an error naming it.
pub fn file_at(
    repo: &Repository,
    commit: &str,
    path: &Path,
    max_bytes: u64,
) -> Result<Option<Vec<u8>>> {
    let shown = || {
        format!(
            "{}@{}",
            path.display(),
            crate::model::text::short_commit(commit)
        )
    };
    let tree = Oid::from_str(commit)
        .and_then(|oid| repo.find_commit(oid))
        .and_then(|c| c.tree())
        .map_err(|e| Error::op(format!("cannot read commit {commit}: {}", e.message())))?;
    let entry = match tree.get_path(path) {
        Ok(entry) => entry,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::op(format!(
                "cannot read {}: {}",
                shown(),
                e.message()
            )));
        }
    };
    let not_a_file = || Error::usage(format!("{} is not a file in that commit", shown()));
    if entry.kind() != Some(git2::ObjectType::Blob) {
        return Err(not_a_file());
    }
    let size = repo
        .odb()
        .and_then(|odb| odb.read_header(entry.id()))
        .map_err(|e| Error::op(format!("cannot read {}: {}", shown(), e.message())))?
        .0 as u64;
    if size > max_bytes {
        return Err(Error::usage(format!(
            "{} is {size} bytes ({:.1} MiB), over the limit of {max_bytes} bytes",
            shown(),
            size as f64 / (1024.0 * 1024.0)
        )));
    }
    let blob = entry
        .to_object(repo)
        .ok()
        .and_then(|o| o.into_blob().ok())
        .ok_or_else(not_a_file)?;
    Ok(Some(blob.content().to_vec()))
}

/// Whether the history of `tip` contains `commit` (`tip` itself included).
pub fn reach(repo: &Repository, tip: &str, commit: &str) -> Reach {
    let (Ok(tip), Ok(commit)) = (Oid::from_str(tip), Oid::from_str(commit)) else {
        return Reach::NotInRepository;
    };
    if repo.find_commit(commit).is_err() {
        return Reach::NotInRepository;
    }
    if tip == commit || repo.graph_descendant_of(tip, commit).unwrap_or(false) {
        Reach::OnBranch
    } else {
        Reach::NotOnBranch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit_file(repo: &Repository, path: &str, text: &str, parent: Option<Oid>) -> Oid {
        let workdir = repo.workdir().unwrap();
        let full = workdir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new(path)).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        index.write().unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let parents: Vec<git2::Commit> = parent
            .map(|p| repo.find_commit(p).unwrap())
            .into_iter()
            .collect();
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &refs)
            .unwrap()
    }

    #[test]
    fn a_file_is_read_from_the_commit_not_the_working_tree() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        assert_eq!(head(&repo), None);
        let first = commit_file(&repo, "ws/xpipeline.toml", "a = 1\n", None);
        let second = commit_file(&repo, "ws/other.txt", "x", Some(first));
        std::fs::write(dir.path().join("ws/xpipeline.toml"), "a = 2\n").unwrap();

        let rel = path_in_repository(&repo, &dir.path().join("ws/xpipeline.toml")).unwrap();
        assert_eq!(rel, Path::new("ws/xpipeline.toml"));
        let text = file_at(&repo, &second.to_string(), &rel, 100).unwrap();
        assert_eq!(text.as_deref(), Some(&b"a = 1\n"[..]));
        assert_eq!(
            file_at(&repo, &second.to_string(), Path::new("ws/none.toml"), 100).unwrap(),
            None
        );
        let e = file_at(&repo, &second.to_string(), &rel, 5).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "ws/xpipeline.toml@{} is 6 bytes (0.0 MiB), over the limit of 5 bytes",
                &second.to_string()[..12]
            )
        );
        let e = file_at(&repo, &second.to_string(), Path::new("ws"), 100).unwrap_err();
        assert!(
            e.to_string().contains("is not a file in that commit"),
            "{e}"
        );
        assert_eq!(resolve(&repo, "HEAD~1"), Some(first.to_string()));
        assert_eq!(resolve(&repo, "no-such-rev"), None);
        assert_eq!(head(&repo), Some(second.to_string()));
        assert_eq!(
            path_in_repository(&repo, Path::new("/elsewhere/xpipeline.toml")),
            None
        );
    }

    #[test]
    fn reach_tells_contained_from_elsewhere_and_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let first = commit_file(&repo, "f", "1", None);
        let second = commit_file(&repo, "f", "2", Some(first));
        let (a, b) = (first.to_string(), second.to_string());
        assert_eq!(reach(&repo, &b, &a), Reach::OnBranch);
        assert_eq!(reach(&repo, &b, &b), Reach::OnBranch);
        assert_eq!(reach(&repo, &a, &b), Reach::NotOnBranch);
        assert_eq!(reach(&repo, &b, &"0".repeat(40)), Reach::NotInRepository);
        assert_eq!(reach(&repo, &b, "file:x.toml"), Reach::NotInRepository);
    }
}
