//! The pack a push sends, built with git2's `PackBuilder` the way git builds it: the commits
//! the remote lacks, newest first, then each tree and blob they bring, with its path, in the
//! same recency order, so that the delta search pairs versions of the same file (without the
//! paths it pairs unrelated trees and sends twice the bytes). What the remote has — the
//! objects of the trees at the boundary of its advertised tips — is left out.

use std::collections::HashSet;

use git2::{ObjectType, Oid, PackBuilderStage, Repository, Sort, TreeWalkMode, TreeWalkResult};

/// A built pack.
pub struct Pack {
    pub bytes: Vec<u8>,
    pub objects: usize,
}

/// The pack of what `local` has that `haves` (commits the remote has, present locally) lack.
/// `progress(done, total)` sees the objects counted, then the deltas searched.
pub fn build<'r>(
    repo: &'r Repository,
    local: Oid,
    haves: &[Oid],
    progress: &'r mut dyn FnMut(usize, usize),
) -> Result<Pack, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    walk.push(local)?;
    for h in haves {
        walk.hide(*h)?;
    }
    let commits = walk.collect::<Result<Vec<Oid>, _>>()?;
    let sending: HashSet<Oid> = commits.iter().copied().collect();

    // What the remote has: every tree and blob of the commits at the boundary (the parents
    // of what is sent that are not sent, and the advertised tips themselves).
    let mut seen: HashSet<Oid> = HashSet::new();
    let mut boundary: Vec<Oid> = haves.to_vec();
    for c in &commits {
        for p in repo.find_commit(*c)?.parent_ids() {
            if !sending.contains(&p) {
                boundary.push(p);
            }
        }
    }
    for b in boundary {
        if let Ok(commit) = repo.find_commit(b) {
            let tree = commit.tree()?;
            if seen.insert(tree.id()) {
                tree.walk(TreeWalkMode::PreOrder, |_, entry| {
                    if seen.insert(entry.id()) {
                        TreeWalkResult::Ok
                    } else {
                        TreeWalkResult::Skip
                    }
                })?;
            }
        }
    }

    let mut pb = repo.packbuilder()?;
    // 0: one delta-search thread per CPU, as the git CLI does (libgit2's default is 1).
    pb.set_threads(0);
    // Not `insert_commit`: it adds the commit's whole tree, without paths and without
    // leaving out what the remote has.
    for c in &commits {
        pb.insert_object(*c, None)?;
    }
    for c in &commits {
        let tree = repo.find_commit(*c)?.tree()?;
        if !seen.insert(tree.id()) {
            continue;
        }
        pb.insert_object(tree.id(), Some(""))?;
        let mut failed = None;
        tree.walk(TreeWalkMode::PreOrder, |root, entry| {
            // A submodule's commit is not in this repository: it is not sent.
            if entry.kind() == Some(ObjectType::Commit) {
                return TreeWalkResult::Skip;
            }
            if !seen.insert(entry.id()) {
                return TreeWalkResult::Skip;
            }
            let path = format!("{root}{}", String::from_utf8_lossy(entry.name_bytes()));
            if let Err(e) = pb.insert_object(entry.id(), Some(&path)) {
                failed = Some(e);
                return TreeWalkResult::Abort;
            }
            TreeWalkResult::Ok
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    let objects = pb.object_count();
    // A monotonic count: first the objects counted, then the deltas searched (total each).
    let mut last = (0usize, 0usize);
    pb.set_progress_callback(move |stage, current, total| {
        let (done, total) = match stage {
            PackBuilderStage::AddingObjects => (0, objects),
            PackBuilderStage::Deltafication => (current as usize, total as usize),
        };
        if (done, total) != last && done <= total {
            last = (done, total);
            progress(done, total);
        }
        true
    })?;
    let mut buf = git2::Buf::new();
    pb.write_buf(&mut buf)?;
    Ok(Pack {
        bytes: buf.to_vec(),
        objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &Repository, files: &[(&str, &str)], parent: Option<Oid>) -> Oid {
        let mut index = repo.index().unwrap();
        for (path, text) in files {
            let full = repo.workdir().unwrap().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, text).unwrap();
            index.add_path(std::path::Path::new(path)).unwrap();
        }
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let parents: Vec<git2::Commit> = parent
            .into_iter()
            .map(|p| repo.find_commit(p).unwrap())
            .collect();
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(None, &sig, &sig, "c", &tree, &refs).unwrap()
    }

    #[test]
    fn a_pack_holds_what_the_remote_lacks_and_indexes_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let a = commit(&repo, &[("src/a.rs", "one\n"), ("README", "r\n")], None);
        let b = commit(&repo, &[("src/a.rs", "two\n")], Some(a));
        let mut calls = Vec::new();
        let full = build(&repo, b, &[], &mut |d, t| calls.push((d, t))).unwrap();
        // 2 commits, 3 trees (root a, src a, root b, src b = 4), 3 blobs.
        assert_eq!(full.objects, 2 + 4 + 3);
        assert!(calls.iter().all(|(d, t)| d <= t), "{calls:?}");
        let incremental = build(&repo, b, &[a], &mut |_, _| {}).unwrap();
        // The commit, its two new trees and the new blob; README is on the remote.
        assert_eq!(incremental.objects, 1 + 2 + 1);
        assert!(incremental.bytes.len() < full.bytes.len());

        // The pack is valid: another repository indexes it and then has the commit.
        let other = tempfile::tempdir().unwrap();
        let other = Repository::init_bare(other.path()).unwrap();
        let odb = other.odb().unwrap();
        let mut w = odb.packwriter().unwrap();
        std::io::Write::write_all(&mut w, &full.bytes).unwrap();
        w.commit().unwrap();
        assert!(other.find_commit(b).is_ok() && other.find_commit(a).is_ok());
    }
}
