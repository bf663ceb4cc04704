//! The fetch of the pipeline's branch into `refs/remotes/xpipeline/<branch>` through our own
//! upload-pack exchange (`git/wire.rs`): the ref advertisement, one POST with the want and up
//! to `MAX_HAVES` haves from the local refs, `done`, and the pack read through the side band
//! and written with the object database's pack writer. No remote is configured: nothing is
//! written to .git/config.

use std::io::Write;
use std::time::Instant;

use git2::{Oid, Sort};
use serde::Serialize;

use super::failure::{Phase, wire_failure};
use super::pktline;
use super::push::{Request, Transfer, advertisement, describe, open};
use super::wire::{self, Wire};
use crate::error::{Error, Result};
use crate::git::sign::GitCredentials;

/// The most commits named as "have" (the newest of the local refs): enough for the server to
/// find what is shared in a repository that follows the branch, bounded for one that does not.
pub const MAX_HAVES: usize = 256;

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fetched {
    pub branch: String,
    /// `refs/remotes/xpipeline/<branch>`
    pub reference: String,
    /// Where the reference was before, if it existed.
    pub from: Option<String>,
    pub to: String,
    pub objects: usize,
    pub bytes: usize,
}

/// The local reference a fetch of `branch` writes.
pub fn tracking_ref(branch: &str) -> String {
    format!("refs/remotes/xpipeline/{branch}")
}

/// Fetch `req.target.branch` (the push request's target; `local`, `force`, `dry_run` unused).
pub fn fetch(
    req: &Request,
    creds: &GitCredentials,
    progress: &mut dyn FnMut(Transfer),
) -> Result<Fetched> {
    let repo = open(&req.repo_dir)?;
    let t = &req.target;
    let wire = Wire::new(&t.endpoint.url, creds, req.timeout)
        .map_err(|f| wire_failure(&f, req, Phase::Advertisement))?;
    let adv = advertisement(&wire, "git-upload-pack", progress)
        .map_err(|f| wire_failure(&f, req, Phase::Advertisement))?;
    let adv = pktline::advertisement(&adv, "git-upload-pack").map_err(|e| {
        Error::op(format!(
            "the git endpoint {} is not a git server: {e}",
            t.endpoint.url
        ))
    })?;
    let remote_ref = format!("refs/heads/{}", t.branch);
    let Some(want) = adv.refs.get(&remote_ref).cloned() else {
        return Err(Error::op_hint(
            format!(
                "branch {} does not exist in repository {} (account {}): nothing has been pushed to it yet",
                t.branch, t.repository, t.account
            ),
            "`cargo xpipeline push` creates it",
        ));
    };
    let want_oid = Oid::from_str(&want)
        .map_err(|_| Error::op(format!("the git endpoint advertised a bad id {want:?}")))?;
    let reference = tracking_ref(&t.branch);
    let from = repo.refname_to_id(&reference).ok().map(|o| o.to_string());

    let (mut objects, mut bytes) = (0, 0);
    if repo.find_commit(want_oid).is_err() {
        let haves = haves(&repo).map_err(|e| Error::op(e.message().to_owned()))?;
        let body = pktline::upload_request(std::slice::from_ref(&want), &haves, &adv);
        let asked = Instant::now();
        let answer = wire.run(wire.post("git-upload-pack", body, &mut |e| {
            if let wire::Event::Moved(m) = e {
                progress(Transfer::Receiving { bytes: m.received });
            }
        }));
        progress(Transfer::Request {
            method: "POST",
            url: wire.url("git-upload-pack"),
            elapsed: asked.elapsed(),
            failure: answer.as_ref().err().map(describe),
        });
        // A fetch changes nothing on the remote: a failure is never "unknown" there.
        let answer = answer.map_err(|f| wire_failure(&f, req, Phase::Advertisement))?;
        let pack = pack_of(&answer, adv.has("side-band-64k"))
            .map_err(|e| Error::op(format!("the fetch from {} failed: {e}", t.endpoint.url)))?;
        objects = pack
            .get(8..12)
            .map_or(0, |n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize);
        bytes = pack.len();
        let odb = repo.odb().map_err(|e| Error::op(e.message().to_owned()))?;
        let mut writer = odb
            .packwriter()
            .map_err(|e| Error::op(e.message().to_owned()))?;
        writer
            .write_all(&pack)
            .map_err(|e| Error::op(format!("cannot write the fetched pack: {e}")))?;
        writer
            .commit()
            .map_err(|e| Error::op(format!("the fetched pack is not valid: {}", e.message())))?;
        repo.find_commit(want_oid).map_err(|_| {
            Error::op(format!(
                "the fetched pack does not hold {want} (the endpoint sent an incomplete pack)"
            ))
        })?;
    }
    repo.reference(
        &reference,
        want_oid,
        true,
        &format!("cargo xpipeline fetch: {}", t.branch),
    )
    .map_err(|e| Error::op(format!("cannot update {reference}: {}", e.message())))?;
    Ok(Fetched {
        branch: t.branch.clone(),
        reference,
        from,
        to: want,
        objects,
        bytes,
    })
}

/// The newest commits of the local branches and remote-tracking refs, at most `MAX_HAVES`.
fn haves(repo: &git2::Repository) -> std::result::Result<Vec<String>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TIME)?;
    for glob in ["refs/heads", "refs/remotes", "refs/tags"] {
        // An empty glob is fine; a broken ref is skipped rather than failing the fetch.
        let _ = walk.push_glob(glob);
    }
    Ok(walk
        .take(MAX_HAVES)
        .filter_map(|o| o.ok())
        .map(|o| o.to_string())
        .collect())
}

/// The pack in an upload-pack answer: after the ACK/NAK lines, through the side band when
/// it was negotiated.
fn pack_of(answer: &[u8], side_band: bool) -> std::result::Result<Vec<u8>, String> {
    let mut rest = answer;
    // Without the side band the pack follows the last ACK/NAK raw ("PACK..."): not a pkt-line.
    while !rest.starts_with(b"PACK") {
        let len = rest
            .get(..4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| usize::from_str_radix(h, 16).ok());
        match len.and_then(|n| rest.get(4..n)) {
            Some(d) if d.starts_with(b"ACK ") || d.starts_with(b"NAK") => {
                rest = &rest[4 + d.len()..];
            }
            _ => break,
        }
    }
    if !side_band {
        return Ok(rest.to_vec());
    }
    let bands = pktline::side_band(rest)?;
    if let Some(e) = bands.error {
        return Err(format!(
            "the endpoint stopped: {}",
            crate::model::text::safe(e.trim())
        ));
    }
    if !bands.data.starts_with(b"PACK") {
        return Err("the answer holds no pack".into());
    }
    Ok(bands.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pack_follows_the_acknowledgements_through_the_side_band() {
        let mut answer = pktline::line(b"ACK 0123456789012345678901234567890123456789\n");
        answer.extend(pktline::line(b"NAK\n"));
        answer.extend(pktline::line(b"\x02Counting objects: 3\n"));
        answer.extend(pktline::line(b"\x01PACK\x00\x00\x00\x02"));
        answer.extend(pktline::line(b"\x01rest"));
        answer.extend_from_slice(pktline::FLUSH);
        assert_eq!(pack_of(&answer, true).unwrap(), b"PACK\x00\x00\x00\x02rest");
        let mut fatal = pktline::line(b"NAK\n");
        fatal.extend(pktline::line(b"\x03not our ref\x1b[0m\n"));
        let e = pack_of(&fatal, true).unwrap_err();
        assert!(e.contains("not our ref") && !e.contains('\x1b'), "{e}");
        let mut plain = pktline::line(b"NAK\n");
        plain.extend_from_slice(b"PACKdata");
        assert_eq!(pack_of(&plain, false).unwrap(), b"PACKdata");
    }
}
