//! xpipeline.toml read with bounds: only a regular file (a symlink to one is fine), at most
//! `MAX_BYTES`, never more than that plus one byte read; FIFOs, devices, directories and
//! symlink loops refused without opening them; binary and invalid UTF-8 refused with the
//! position. The committed blob goes through `text` with the same limit.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use super::diagnostic::line_col;
use crate::error::{Error, Result};

/// The most xpipeline.toml may hold: 1 MiB (the example is under 4 KiB).
pub(crate) const MAX_BYTES: u64 = 1024 * 1024;

/// What a file that is not a regular file is, in words.
fn kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// "1.2 MiB" / "5000000 bytes" for a size over the limit.
fn too_large(shown: &str, size: Option<u64>) -> Error {
    let size = size.map_or_else(
        || "more than 1 MiB".to_owned(),
        |s| format!("{s} bytes ({:.1} MiB)", s as f64 / (1024.0 * 1024.0)),
    );
    Error::usage(format!(
        "{shown} is {size}; xpipeline.toml may be at most 1 MiB ({MAX_BYTES} bytes)\n  hint: is it the right file? a pipeline declaration is a few kilobytes"
    ))
}

/// The file at `path` (named `shown`), or `Ok(None)` when nothing is there.
pub(crate) fn file(path: &Path, shown: &str) -> Result<Option<String>> {
    let refuse = |what: String| {
        Error::usage(format!(
            "{shown} is {what}; xpipeline.toml must be a regular file (a symlink to one is fine)"
        ))
    };
    let link = std::fs::symlink_metadata(path);
    let is_link = link.as_ref().is_ok_and(|m| m.file_type().is_symlink());
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !is_link => return Ok(None),
        Err(e) if is_link => {
            return Err(refuse(format!("a symlink that cannot be followed ({e})")));
        }
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = kind(&ft);
        return Err(refuse(match is_link {
            true => match std::fs::canonicalize(path) {
                Ok(target) => format!("a symlink to {}, {what}", target.display()),
                Err(_) => format!("a symlink to {what}"),
            },
            false => what.to_owned(),
        }));
    }
    if meta.len() > MAX_BYTES {
        return Err(too_large(shown, Some(meta.len())));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    // Checked again on the open file: the path may have been swapped since.
    match file.metadata() {
        Ok(m) if m.file_type().is_file() => {}
        Ok(m) => return Err(refuse(kind(&m.file_type()).to_owned())),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    text(bytes, shown).map(Some)
}

/// `bytes` as xpipeline.toml text: at most `MAX_BYTES`, no NUL byte, UTF-8; a refusal names
/// the line and column of the first offending byte.
pub(crate) fn text(bytes: Vec<u8>, shown: &str) -> Result<String> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_large(shown, None));
    }
    let valid = match std::str::from_utf8(&bytes) {
        Ok(_) => bytes.len(),
        Err(e) => e.valid_up_to(),
    };
    let position = |at: usize| {
        let prefix = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let (line, col) = line_col(prefix, at);
        format!("{shown}:{line}:{col}")
    };
    if let Some(at) = bytes[..valid].iter().position(|&b| b == 0) {
        return Err(Error::usage(format!(
            "{}: a NUL byte: this is a binary file, not TOML text; xpipeline.toml must be UTF-8 TOML",
            position(at)
        )));
    }
    if valid < bytes.len() {
        return Err(Error::usage(format!(
            "{}: not UTF-8 text (byte 0x{:02X}); xpipeline.toml must be UTF-8\n  hint: re-save the file as UTF-8",
            position(valid),
            bytes[valid]
        )));
    }
    String::from_utf8(bytes).map_err(|_| Error::usage(format!("{shown} is not UTF-8 text")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_refuses_binary_and_invalid_utf8_with_the_position() {
        let e = text(b"a = 1\nb = \"\xff\"\n".to_vec(), "x.toml").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .starts_with("x.toml:2:6: not UTF-8 text (byte 0xFF)"),
            "{e}"
        );
        let e = text(b"a = 1\n\0\0".to_vec(), "x.toml").unwrap_err();
        assert!(e.to_string().starts_with("x.toml:2:1: a NUL byte"), "{e}");
        let e = text(vec![b' '; MAX_BYTES as usize + 1], "x.toml").unwrap_err();
        assert!(
            e.to_string().starts_with("x.toml is more than 1 MiB"),
            "{e}"
        );
        assert_eq!(text(b"a = 1\n".to_vec(), "x").unwrap(), "a = 1\n");
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = std::env::temp_dir().join(format!("xpipeline-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = file(&dir, "d").unwrap_err();
        assert_eq!(
            e.to_string(),
            "d is a directory; xpipeline.toml must be a regular file (a symlink to one is fine)"
        );
        let lp = dir.join("loop");
        let _ = std::fs::remove_file(&lp);
        std::os::unix::fs::symlink(&lp, &lp).unwrap();
        let e = file(&lp, "loop").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("loop is a symlink that cannot be followed ("),
            "{e}"
        );
        assert!(file(&dir.join("absent"), "a").unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
