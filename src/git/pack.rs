//! The pack a push sends, built with git2's `PackBuilder` the way git builds it: the commits
//! the remote lacks, newest first, then each tree and blob they bring, with its path, in the
//! same recency order, so that the delta search pairs versions of the same file (without the
//! paths it pairs unrelated trees and sends twice the bytes). What the remote has — the
//! objects of the trees at the boundary of its advertised tips — is left out.

use std::collections::{HashMap, HashSet};
use std::path::Path;

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

/// The pack with each REF_DELTA whose base is earlier in the pack rewritten as an OFS_DELTA
/// (the base named by its distance back, 1 to 4 bytes, instead of its 20-byte id), as git
/// writes them when the server offers `ofs-delta`: libgit2 writes only REF_DELTA, 18 bytes
/// more per delta. The entries' bounds come from indexing the pack (libgit2's indexer, into
/// `scratch`, a directory removed afterwards); the trailer is the new SHA-1.
pub fn with_offset_deltas(pack: &[u8], scratch: &Path) -> Result<Vec<u8>, git2::Error> {
    std::fs::create_dir_all(scratch)
        .map_err(|e| git2::Error::from_str(&format!("cannot create {}: {e}", scratch.display())))?;
    let indexed = index(pack, scratch);
    let _ = std::fs::remove_dir_all(scratch);
    let entries = indexed?;
    let end = pack.len() - 20;
    let mut out = Vec::with_capacity(pack.len());
    out.extend_from_slice(&pack[..12]);
    let mut moved: HashMap<[u8; 20], usize> = HashMap::with_capacity(entries.len());
    for (i, (offset, oid)) in entries.iter().enumerate() {
        let next = entries.get(i + 1).map_or(end, |(o, _)| *o);
        let entry = &pack[*offset..next];
        let at = out.len();
        moved.insert(*oid, at);
        // The header: type in bits 4-6 of the first byte, the size in 7-bit groups.
        let kind = (entry[0] >> 4) & 7;
        let header = entry
            .iter()
            .position(|b| b & 0x80 == 0)
            .map_or(entry.len(), |p| p + 1);
        let base = (kind == 7 && entry.len() >= header + 20)
            .then(|| <[u8; 20]>::try_from(&entry[header..header + 20]).ok())
            .flatten()
            .and_then(|b| moved.get(&b).copied());
        match base {
            Some(base_at) => {
                out.push((entry[0] & 0x8f) | (6 << 4));
                out.extend_from_slice(&entry[1..header]);
                out.extend_from_slice(&offset_bytes(at - base_at));
                out.extend_from_slice(&entry[header + 20..]);
            }
            None => out.extend_from_slice(entry),
        }
    }
    let sum = sha1_of(&out);
    out.extend_from_slice(&sum);
    Ok(out)
}

/// git's OFS_DELTA distance: 7 bits a byte, most significant first, each continuation
/// byte standing for one more than its value.
fn offset_bytes(mut ofs: usize) -> Vec<u8> {
    let mut bytes = vec![(ofs & 127) as u8];
    ofs >>= 7;
    while ofs > 0 {
        ofs -= 1;
        bytes.push(0x80 | (ofs & 127) as u8);
        ofs >>= 7;
    }
    bytes.reverse();
    bytes
}

/// Each object's offset and id in `pack`, in pack order, from its index (version 2).
fn index(pack: &[u8], dir: &Path) -> Result<Vec<(usize, [u8; 20])>, git2::Error> {
    let mut indexer = git2::Indexer::new(None, dir, 0o644, true)?;
    std::io::Write::write_all(&mut indexer, pack)
        .map_err(|e| git2::Error::from_str(&format!("cannot index the pack: {e}")))?;
    let name = indexer.commit()?;
    let idx = std::fs::read(dir.join(format!("pack-{name}.idx")))
        .map_err(|e| git2::Error::from_str(&format!("cannot read the pack index: {e}")))?;
    let bad = || git2::Error::from_str("the pack index is not version 2");
    if idx.get(..8) != Some(&[0xff, b't', b'O', b'c', 0, 0, 0, 2][..]) {
        return Err(bad());
    }
    let u32_at = |at: usize| -> Result<u32, git2::Error> {
        idx.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(bad)
    };
    let n = u32_at(8 + 255 * 4)? as usize;
    let ids = 8 + 256 * 4;
    let offsets = ids + n * 20 + n * 4;
    let large = offsets + n * 4;
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let oid: [u8; 20] = idx
            .get(ids + i * 20..ids + i * 20 + 20)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        let o = u32_at(offsets + i * 4)?;
        let offset = if o & 0x8000_0000 == 0 {
            o as usize
        } else {
            let at = large + (o & 0x7fff_ffff) as usize * 8;
            let b = idx.get(at..at + 8).ok_or_else(bad)?;
            u64::from_be_bytes(b.try_into().map_err(|_| bad())?) as usize
        };
        entries.push((offset, oid));
    }
    entries.sort_unstable();
    Ok(entries)
}

fn sha1_of(data: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(data).into()
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

        // With offset deltas: smaller when there are deltas, and just as valid.
        let scratch = dir.path().join("scratch");
        let ofs = with_offset_deltas(&full.bytes, &scratch).unwrap();
        assert!(ofs.len() <= full.bytes.len());
        assert!(!scratch.exists());
        let third = tempfile::tempdir().unwrap();
        let third = Repository::init_bare(third.path()).unwrap();
        let odb = third.odb().unwrap();
        let mut w = odb.packwriter().unwrap();
        std::io::Write::write_all(&mut w, &ofs).unwrap();
        w.commit().unwrap();
        assert!(third.find_commit(b).is_ok() && third.find_commit(a).is_ok());
    }

    #[test]
    fn offsets_are_encoded_as_git_does() {
        assert_eq!(offset_bytes(0), [0]);
        assert_eq!(offset_bytes(127), [127]);
        // 128 = (0 + 1) << 7 | 0
        assert_eq!(offset_bytes(128), [0x80, 0]);
        assert_eq!(offset_bytes(16511), [0xff, 0x7f]);
        assert_eq!(offset_bytes(16512), [0x80, 0x80, 0]);
    }

    #[test]
    fn a_pack_with_deltas_shrinks_by_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let text: String = (0..200)
            .map(|i| format!("line {i} of a longish file\n"))
            .collect();
        let mut last = commit(&repo, &[("a.txt", &text)], None);
        for i in 0..5 {
            last = commit(
                &repo,
                &[("a.txt", &format!("{text}change {i}\n"))],
                Some(last),
            );
        }
        let pack = build(&repo, last, &[], &mut |_, _| {}).unwrap();
        let ofs = with_offset_deltas(&pack.bytes, &dir.path().join("s")).unwrap();
        // At least the four later versions of a.txt are deltas: 18 bytes or more saved each.
        assert!(
            pack.bytes.len() - ofs.len() >= 4 * 18,
            "{} -> {}",
            pack.bytes.len(),
            ofs.len()
        );
        let other = tempfile::tempdir().unwrap();
        let other = Repository::init_bare(other.path()).unwrap();
        let odb = other.odb().unwrap();
        let mut w = odb.packwriter().unwrap();
        std::io::Write::write_all(&mut w, &ofs).unwrap();
        w.commit().unwrap();
        let blob = other
            .find_commit(last)
            .unwrap()
            .tree()
            .unwrap()
            .get_name("a.txt")
            .unwrap()
            .id();
        assert!(
            other
                .find_blob(blob)
                .unwrap()
                .content()
                .ends_with(b"change 4\n")
        );
    }
}
