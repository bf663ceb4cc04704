//! xpipeline.toml: where it is found, how it is read and validated. `load` is the one way
//! every command gets its `Config`; it touches no network.

mod diagnostic;
mod model;
mod schema;
pub mod validate;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::DeTable;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use model::*;

use crate::error::{Error, Result};

/// The file name looked for at the workspace root.
pub const FILE_NAME: &str = "xpipeline.toml";

/// Parse and validate xpipeline.toml text. `file` is the name shown in diagnostics.
pub fn parse(text: &str, file: &str, path: PathBuf) -> Result<Config, Diagnostics> {
    let mut diags = Diagnostics::new(file, text);
    let (mut doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let msg = e.message().trim().to_owned();
            diags.push(span, format!("invalid TOML: {msg}"));
        }
        return Err(diags);
    }
    let mut reported = std::collections::BTreeSet::new();
    schema::check_table(doc.get_mut(), schema::ROOT, "", &mut diags, &mut reported);
    let raw = match RawConfig::deserialize(toml::de::Deserializer::from(doc)) {
        Ok(raw) => raw,
        Err(e) => {
            // The schema walk leaves only what deserializes; this is a safety net.
            diags.push(e.span().unwrap_or(0..0), e.message().to_owned());
            return Err(diags);
        }
    };
    match validate::validate(raw, path, &mut diags, &reported) {
        Some(config) if diags.is_empty() => Ok(config),
        _ => Err(diags),
    }
}

/// Where xpipeline.toml is: `--config`, else the workspace root of `--manifest-path` or of the
/// current directory, as cargo metadata reports it.
pub fn locate(config: Option<&Path>, manifest_path: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = config {
        return Ok(path.to_path_buf());
    }
    Ok(workspace_root(manifest_path)?.join(FILE_NAME))
}

/// The cargo workspace root, through `cargo metadata --no-deps`.
pub fn workspace_root(manifest_path: Option<&Path>) -> Result<PathBuf> {
    Ok(metadata(manifest_path)?.workspace_root.into_std_path_buf())
}

pub fn metadata(manifest_path: Option<&Path>) -> Result<cargo_metadata::Metadata> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps();
    if let Some(p) = manifest_path {
        cmd.manifest_path(p);
    }
    cmd.exec().map_err(|e| {
        let detail = match &e {
            cargo_metadata::Error::CargoMetadata { stderr } => stderr
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or(stderr.trim())
                .trim_start_matches("error: ")
                .to_owned(),
            other => other.to_string(),
        };
        Error::usage(format!(
            "cannot find the cargo workspace: {detail}\n  hint: run inside a cargo workspace, or pass --manifest-path PATH or --config PATH"
        ))
    })
}

/// How a path is shown to the user: relative to the current directory when under it.
pub fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// Find, read and validate xpipeline.toml.
pub fn load(config: Option<&Path>, manifest_path: Option<&Path>) -> Result<Config> {
    let path = locate(config, manifest_path)?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::usage(format!(
                "no {} at {}\n  hint: run `cargo xpipeline init` to write one, or pass --config PATH",
                FILE_NAME,
                path.display()
            )));
        }
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    parse(&text, &display_path(&path), path).map_err(Error::Config)
}
