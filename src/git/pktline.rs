//! git's pkt-line framing, pure: the smart-HTTP ref advertisement, the receive-pack command
//! and its report-status, the upload-pack request, and the side-band demultiplexer. Bytes in,
//! values out; the transport (`git/wire.rs`) does the I/O.

use std::collections::BTreeMap;

/// The agent we announce.
pub const AGENT: &str = concat!("agent=cargo-xpipeline/", env!("CARGO_PKG_VERSION"));

/// One pkt-line with `data` as its payload.
pub fn line(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:04x}", data.len() + 4).into_bytes();
    out.extend_from_slice(data);
    out
}

/// The flush-pkt.
pub const FLUSH: &[u8] = b"0000";

/// One frame read from a pkt-line stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkt<'a> {
    Flush,
    Data(&'a [u8]),
}

/// Split `buf` into pkt-lines: the frames and the unparsed rest (an incomplete last frame).
pub fn frames(buf: &[u8]) -> Result<(Vec<Pkt<'_>>, &[u8]), String> {
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= 4 {
        let len = std::str::from_utf8(&rest[..4])
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| {
                format!(
                    "the git endpoint sent something that is not git's pkt-line framing: {:?}",
                    crate::model::text::safe(&String::from_utf8_lossy(&rest[..rest.len().min(16)]))
                )
            })?;
        match len {
            // 0000 flush, 0001 delim, 0002 response-end (protocol v2): all ends of a section.
            0..=2 => {
                out.push(Pkt::Flush);
                rest = &rest[4..];
            }
            3 => return Err("the git endpoint sent a pkt-line of length 3".into()),
            n if rest.len() >= n => {
                out.push(Pkt::Data(&rest[4..n]));
                rest = &rest[n..];
            }
            _ => break,
        }
    }
    Ok((out, rest))
}

/// What the server said in its ref advertisement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertisement {
    /// ref name → object id (peeled `^{}` entries left out).
    pub refs: BTreeMap<String, String>,
    pub capabilities: Vec<String>,
}

impl Advertisement {
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// The body of `GET info/refs?service=<service>`.
pub fn advertisement(body: &[u8], service: &str) -> Result<Advertisement, String> {
    let (pkts, rest) = frames(body)?;
    if !rest.is_empty() {
        return Err("the ref advertisement ends in the middle of a pkt-line".into());
    }
    let mut pkts = pkts.into_iter().peekable();
    // Smart HTTP starts with "# service=...", then a flush.
    if let Some(Pkt::Data(first)) = pkts.peek() {
        if first.starts_with(b"# service=") {
            let announced = String::from_utf8_lossy(first);
            if announced.trim_end() != format!("# service={service}") {
                return Err(format!(
                    "the git endpoint announced {:?} instead of {service}",
                    crate::model::text::safe(announced.trim_end())
                ));
            }
            pkts.next();
            if pkts.next() != Some(Pkt::Flush) {
                return Err("no flush-pkt after the service line".into());
            }
        }
    } else {
        return Err(format!(
            "the git endpoint did not answer as a smart-HTTP git server ({service})"
        ));
    }
    let mut adv = Advertisement::default();
    for (i, pkt) in pkts.enumerate() {
        let Pkt::Data(data) = pkt else { break };
        let data = data.strip_suffix(b"\n").unwrap_or(data);
        let (reference, caps) = match data.iter().position(|&b| b == 0) {
            Some(nul) => (&data[..nul], Some(&data[nul + 1..])),
            None => (data, None),
        };
        if let (0, Some(caps)) = (i, caps) {
            adv.capabilities = String::from_utf8_lossy(caps)
                .split(' ')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
        }
        let text = String::from_utf8_lossy(reference);
        let Some((oid, name)) = text.split_once(' ') else {
            return Err(format!(
                "a ref advertisement line is not \"<id> <ref>\": {:?}",
                crate::model::text::safe(&text)
            ));
        };
        if !is_oid(oid) {
            return Err(format!(
                "a ref advertisement line has no object id: {:?}",
                crate::model::text::safe(&text)
            ));
        }
        // An empty repository advertises "capabilities^{}" with the zero id.
        if name == "capabilities^{}" || name.ends_with("^{}") {
            continue;
        }
        adv.refs.insert(name.to_owned(), oid.to_owned());
    }
    Ok(adv)
}

fn is_oid(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The zero object id: "no such ref" in an update command.
pub const ZERO: &str = "0000000000000000000000000000000000000000";

/// The receive-pack request before the pack: one update command with our capabilities.
pub fn update_command(
    old: Option<&str>,
    new: &str,
    reference: &str,
    adv: &Advertisement,
) -> Vec<u8> {
    let mut caps = vec!["report-status"];
    if adv.has("side-band-64k") {
        caps.push("side-band-64k");
    }
    caps.push(AGENT);
    let cmd = format!(
        "{} {new} {reference}\0{}\n",
        old.unwrap_or(ZERO),
        caps.join(" ")
    );
    let mut out = line(cmd.as_bytes());
    out.extend_from_slice(FLUSH);
    out
}

/// The upload-pack request: `wants`, then at most the given `haves`, then `done`.
pub fn upload_request(wants: &[String], haves: &[String], adv: &Advertisement) -> Vec<u8> {
    let mut caps = Vec::new();
    if adv.has("side-band-64k") {
        caps.push("side-band-64k");
    }
    if adv.has("ofs-delta") {
        caps.push("ofs-delta");
    }
    caps.push(AGENT);
    let mut out = Vec::new();
    for (i, w) in wants.iter().enumerate() {
        let text = match i {
            0 => format!("want {w} {}\n", caps.join(" ")),
            _ => format!("want {w}\n"),
        };
        out.extend(line(text.as_bytes()));
    }
    out.extend_from_slice(FLUSH);
    for h in haves {
        out.extend(line(format!("have {h}\n").as_bytes()));
    }
    out.extend(line(b"done\n"));
    out
}

/// The side-band streams of a response, separated: band 1 (data), the remote's messages
/// (band 2, progress and hook output), and its fatal error (band 3).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Bands {
    pub data: Vec<u8>,
    pub messages: Vec<u8>,
    pub error: Option<String>,
}

/// Demultiplex a side-band response body (a stream of pkt-lines whose first byte is the band)
/// that ends at a flush-pkt or at the end of the body.
pub fn side_band(body: &[u8]) -> Result<Bands, String> {
    let (pkts, _) = frames(body)?;
    let mut bands = Bands::default();
    for pkt in pkts {
        let Pkt::Data(data) = pkt else { break };
        match data.split_first() {
            Some((1, rest)) => bands.data.extend_from_slice(rest),
            Some((2, rest)) => bands.messages.extend_from_slice(rest),
            Some((3, rest)) => bands.error = Some(String::from_utf8_lossy(rest).into_owned()),
            _ => return Err("the git endpoint sent a side-band frame on no known band".into()),
        }
    }
    Ok(bands)
}

/// The report-status of a receive-pack: the unpack result and each ref's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// "ok", or why the pack was not unpacked.
    pub unpack: String,
    /// (ref, None when ok or Some(reason) when refused ("ng")).
    pub refs: Vec<(String, Option<String>)>,
}

/// Parse report-status pkt-lines (`unpack ok`, `ok <ref>`, `ng <ref> <reason>`, flush).
pub fn report(data: &[u8]) -> Result<Report, String> {
    let (pkts, _) = frames(data)?;
    let mut lines = pkts.into_iter().map_while(|p| match p {
        Pkt::Data(d) => Some(String::from_utf8_lossy(d).trim_end_matches('\n').to_owned()),
        Pkt::Flush => None,
    });
    let unpack = lines
        .next()
        .and_then(|l| l.strip_prefix("unpack ").map(str::to_owned))
        .ok_or("the git endpoint's report has no \"unpack\" line")?;
    let mut refs = Vec::new();
    for l in lines {
        if let Some(r) = l.strip_prefix("ok ") {
            refs.push((r.to_owned(), None));
        } else if let Some(rest) = l.strip_prefix("ng ") {
            let (r, why) = rest.split_once(' ').unwrap_or((rest, "refused"));
            refs.push((r.to_owned(), Some(why.to_owned())));
        }
    }
    Ok(Report { unpack, refs })
}

/// The remote's messages as lines to show, each made terminal-safe, progress (lines ending
/// in `\r`) left out.
pub fn remote_lines(messages: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(messages)
        .split('\n')
        .filter_map(|l| {
            let last = l.rsplit('\r').find(|s| !s.trim().is_empty())?;
            // A line that was only ever progress ends with \r and no newline before it.
            Some(crate::model::text::safe(last.trim_end()))
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(lines: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            if l.is_empty() {
                out.extend_from_slice(FLUSH);
            } else {
                out.extend(line(l));
            }
        }
        out
    }

    #[test]
    fn an_advertisement_gives_refs_and_capabilities() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let body = stream(&[
            b"# service=git-receive-pack\n",
            b"",
            format!("{a} refs/heads/main\0report-status side-band-64k ofs-delta\n").as_bytes(),
            format!("{b} refs/tags/v1\n").as_bytes(),
            format!("{a} refs/tags/v1^{{}}\n").as_bytes(),
            b"",
        ]);
        let adv = advertisement(&body, "git-receive-pack").unwrap();
        assert_eq!(adv.refs.get("refs/heads/main"), Some(&a));
        assert_eq!(adv.refs.get("refs/tags/v1"), Some(&b));
        assert_eq!(adv.refs.len(), 2);
        assert!(adv.has("side-band-64k") && adv.has("report-status") && !adv.has("atomic"));
    }

    #[test]
    fn an_empty_repository_advertises_no_refs() {
        let body = stream(&[
            b"# service=git-receive-pack\n",
            b"",
            format!("{ZERO} capabilities^{{}}\0report-status delete-refs\n").as_bytes(),
            b"",
        ]);
        let adv = advertisement(&body, "git-receive-pack").unwrap();
        assert!(adv.refs.is_empty());
        assert!(adv.has("report-status"));
    }

    #[test]
    fn what_is_not_a_git_server_is_refused_safely() {
        let e = advertisement(b"<html>\x1b[31m", "git-receive-pack").unwrap_err();
        assert!(e.contains("pkt-line") && !e.contains('\x1b'), "{e}");
        let other = stream(&[b"# service=git-upload-pack\n", b""]);
        assert!(advertisement(&other, "git-receive-pack").is_err());
        assert!(frames(b"0003").is_err());
    }

    #[test]
    fn the_update_command_asks_for_what_the_server_offers() {
        let adv = Advertisement {
            capabilities: vec!["report-status".into(), "side-band-64k".into()],
            ..Default::default()
        };
        let cmd = update_command(None, &"c".repeat(40), "refs/heads/main", &adv);
        let text = String::from_utf8(cmd).unwrap();
        assert!(
            text.starts_with(&format!("{:04x}{ZERO} ", text.len() - 4)),
            "{text}"
        );
        assert!(
            text.contains("\0report-status side-band-64k agent="),
            "{text}"
        );
        assert!(text.ends_with("\n0000"), "{text}");
        let plain = update_command(Some(&"d".repeat(40)), "e", "r", &Advertisement::default());
        assert!(!String::from_utf8(plain).unwrap().contains("side-band"));
    }

    #[test]
    fn side_band_and_report_status_are_read_with_hook_messages() {
        let inner = stream(&[b"unpack ok\n", b"ng refs/heads/main hook declined\n", b""]);
        let mut sb = Vec::new();
        sb.extend(line(
            &[&[2u8][..], b"remote: \x1b[31mno direct pushes\n"].concat(),
        ));
        sb.extend(line(&[&[1u8][..], &inner].concat()));
        sb.extend_from_slice(FLUSH);
        let bands = side_band(&sb).unwrap();
        let r = report(&bands.data).unwrap();
        assert_eq!(r.unpack, "ok");
        assert_eq!(
            r.refs,
            vec![("refs/heads/main".into(), Some("hook declined".into()))]
        );
        let lines = remote_lines(&bands.messages);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("no direct pushes") && !lines[0].contains('\x1b'));
    }

    #[test]
    fn progress_lines_are_left_out_of_remote_messages() {
        let lines = remote_lines(
            b"Resolving deltas:  50% (1/2)\rResolving deltas: 100% (2/2), done.\nhello\n",
        );
        assert_eq!(lines, vec!["Resolving deltas: 100% (2/2), done.", "hello"]);
    }

    #[test]
    fn the_upload_request_has_wants_haves_and_done() {
        let adv = Advertisement {
            capabilities: vec!["side-band-64k".into(), "ofs-delta".into()],
            ..Default::default()
        };
        let req = upload_request(&["a".repeat(40)], &["b".repeat(40)], &adv);
        let (pkts, rest) = frames(&req).unwrap();
        assert!(rest.is_empty());
        let texts: Vec<String> = pkts
            .iter()
            .map(|p| match p {
                Pkt::Data(d) => String::from_utf8_lossy(d).into_owned(),
                Pkt::Flush => "<flush>".into(),
            })
            .collect();
        assert!(texts[0].starts_with(&format!(
            "want {} side-band-64k ofs-delta agent=",
            "a".repeat(40)
        )));
        assert_eq!(texts[1], "<flush>");
        assert_eq!(texts[2], format!("have {}\n", "b".repeat(40)));
        assert_eq!(texts[3], "done\n");
    }
}
