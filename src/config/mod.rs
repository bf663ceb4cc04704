//! xpipeline.toml: where it is found, how it is read, validated and written. `load` is the
//! one way every command gets its `Config`; it touches no network.
//!
//! keys.rs      every key, declared once: kind, required, init's comment, example and flag
//! schema.rs    the walk of the parsed file against the keys: unknown, wrong kind, missing
//! validate.rs  the rules of the values, and the `Config` they make
//! names.rs     AWS and git naming rules
//! arns.rs      the ARN rule: service, kind, partition, account, region
//! template.rs  the file `init` writes, rendered from the keys
//! model.rs     `Config`, the validated settings
//! diagnostic.rs problems with their file:line:col

mod arns;
mod diagnostic;
pub(crate) mod keys;
mod model;
pub(crate) mod names;
mod schema;
pub(crate) mod template;
mod validate;

use std::path::{Path, PathBuf};

use toml::de::DeTable;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use model::*;

use crate::error::{Error, Result};

/// The file name looked for at the workspace root.
pub(crate) const FILE_NAME: &str = "xpipeline.toml";

/// Parse and validate xpipeline.toml text. `file` is the name shown in diagnostics.
pub(crate) fn parse(text: &str, file: &str, path: PathBuf) -> Result<Config, Diagnostics> {
    let mut diags = Diagnostics::new(file, text);
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let msg = e.message().trim().to_owned();
            diags.push(span, format!("invalid TOML: {msg}"));
        }
        return Err(diags);
    }
    let values = schema::walk(doc.get_ref(), &mut diags);
    match validate::validate(&values, path, &mut diags) {
        Some(config) if diags.is_empty() => Ok(config),
        _ => Err(diags),
    }
}

/// Where xpipeline.toml is: `--config`, else the workspace root of `--manifest-path` or of the
/// current directory. The root is read off the manifests when that is unambiguous (see
/// `evident_workspace_root`), else asked of `cargo metadata`.
pub(crate) fn locate(config: Option<&Path>, manifest_path: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = config {
        return Ok(path.to_path_buf());
    }
    let start = match manifest_path {
        Some(m) => m.parent().map(Path::to_path_buf),
        None => std::env::current_dir().ok(),
    };
    if let Some(root) = start.as_deref().and_then(evident_workspace_root) {
        let path = root.join(FILE_NAME);
        if path.is_file() {
            return Ok(path);
        }
    }
    Ok(workspace_root(manifest_path)?.join(FILE_NAME))
}

/// The workspace root when the manifests make it plain, without spawning cargo (which costs
/// more than the rest of `status`): the nearest Cargo.toml at or above `start` is the root if
/// it has a [workspace] table, or if it is a package that names no other workspace and has no
/// Cargo.toml above it. Any other layout returns `None` and cargo metadata decides.
pub(crate) fn evident_workspace_root(start: &Path) -> Option<PathBuf> {
    let nearest = start.ancestors().find(|d| d.join("Cargo.toml").is_file())?;
    let manifest: toml::Table = std::fs::read_to_string(nearest.join("Cargo.toml"))
        .ok()?
        .parse()
        .ok()?;
    if manifest.contains_key("workspace") {
        return Some(nearest.to_path_buf());
    }
    let names_a_workspace = manifest
        .get("package")
        .and_then(|p| p.get("workspace"))
        .is_some();
    let manifest_above = nearest
        .ancestors()
        .skip(1)
        .any(|d| d.join("Cargo.toml").is_file());
    (!names_a_workspace && !manifest_above && manifest.contains_key("package"))
        .then(|| nearest.to_path_buf())
}

/// The cargo workspace root, through `cargo metadata --no-deps`.
pub(crate) fn workspace_root(manifest_path: Option<&Path>) -> Result<PathBuf> {
    Ok(metadata(manifest_path)?.workspace_root.into_std_path_buf())
}

pub(crate) fn metadata(manifest_path: Option<&Path>) -> Result<cargo_metadata::Metadata> {
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
pub(crate) fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// Write `text` to `path` through a temporary file in the same directory renamed into place,
/// so the file is never seen half-written.
pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp-{}", FILE_NAME, std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| Error::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })
}

/// Find, read and validate xpipeline.toml.
pub(crate) fn load(config: Option<&Path>, manifest_path: Option<&Path>) -> Result<Config> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../xpipeline.toml.example");

    fn parse_ok(text: &str) -> Config {
        parse(text, "xpipeline.toml", PathBuf::from("xpipeline.toml"))
            .unwrap_or_else(|d| panic!("{d}"))
    }

    #[test]
    fn the_example_parses_into_every_setting() {
        let c = parse_ok(EXAMPLE);
        assert_eq!(c.pipeline.name, "hello-pipeline");
        assert_eq!(c.pipeline.account, "111111111111");
        assert_eq!(c.pipeline.pipeline_type, PipelineType::V2);
        assert_eq!(c.pipeline.execution_mode, Some(ExecutionMode::Superseded));
        assert_eq!(c.pipeline.trigger, Trigger::Push);
        assert_eq!(c.artifacts.bucket, "hello-pipeline-artifacts");
        assert_eq!(c.source.account, "222222222222");
        assert_eq!(c.source.external_id.as_deref(), Some("hello-external-id"));
        assert_eq!(
            c.build.env.get("RUST_LOG").map(String::as_str),
            Some("info")
        );
        assert_eq!(c.push.duration_seconds, Some(3600));
        assert_eq!(
            c.push.mfa_serial.as_deref(),
            Some("arn:aws:iam::111111111111:mfa/alice")
        );
        assert_eq!(c.tags.get("team").map(String::as_str), Some("platform"));
    }

    #[test]
    fn optional_keys_take_their_defaults() {
        let minimal: String = EXAMPLE
            .split("\n\n# Optional. Plain")
            .next()
            .unwrap()
            .lines()
            .filter(|l| {
                ![
                    "type",
                    "execution-mode",
                    "trigger",
                    "external-id",
                    "git-endpoint",
                ]
                .iter()
                .any(|k| l.starts_with(&format!("{k} =")))
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = parse_ok(&minimal);
        assert_eq!(c.pipeline.pipeline_type, PipelineType::V2);
        assert_eq!(c.pipeline.execution_mode, None);
        assert_eq!(c.pipeline.trigger, Trigger::Push);
        assert_eq!(c.source.external_id, None);
        assert!(c.build.env.is_empty() && c.tags.is_empty());
        // push.role-arn defaults to the source role.
        assert_eq!(c.push.role_arn, c.source.role_arn);
        assert_eq!(c.push.session_name, None);
    }

    #[test]
    fn all_problems_are_collected_not_just_the_first() {
        let text = EXAMPLE
            .replace("account = \"111111111111\"", "account = \"1\"")
            .replace("repository = \"hello\"", "repository = \"a.git\"")
            .replace("project = \"hello-build\"", "projekt = \"x\"");
        let d = parse(&text, "x.toml", "x.toml".into()).unwrap_err();
        let messages: Vec<&str> = d.items.iter().map(|i| i.message.as_str()).collect();
        assert_eq!(d.items.len(), 3, "{messages:#?}");
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("pipeline.account must be 12 digits"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("source.repository must not end in .git"))
        );
        assert!(messages.iter().any(|m| m.starts_with("unknown key `projekt` in [build]; did you mean `project`?")));
    }

    #[test]
    fn evident_workspace_roots_are_found_without_cargo() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"a\"]\n").unwrap();
        std::fs::create_dir_all(root.join("a/src")).unwrap();
        std::fs::write(root.join("a/Cargo.toml"), "[package]\nname = \"a\"\n").unwrap();
        // A [workspace] manifest is the root, from itself or below.
        assert_eq!(evident_workspace_root(root).as_deref(), Some(root));
        assert_eq!(
            evident_workspace_root(&root.join("a/src")),
            None,
            "a member: ask cargo"
        );
        // A lone package is its own root.
        let lone = tempfile::tempdir().unwrap();
        std::fs::write(lone.path().join("Cargo.toml"), "[package]\nname = \"b\"\n").unwrap();
        let found = evident_workspace_root(lone.path());
        // Unless a Cargo.toml above it (e.g. in the temp dir's parents) could be its workspace.
        let above = lone
            .path()
            .ancestors()
            .skip(1)
            .any(|d| d.join("Cargo.toml").is_file());
        assert_eq!(found.is_some(), !above);
        std::fs::write(
            lone.path().join("Cargo.toml"),
            "[package]\nname = \"b\"\nworkspace = \"..\"\n",
        )
        .unwrap();
        assert_eq!(evident_workspace_root(lone.path()), None);
    }

    #[test]
    fn display_path_is_relative_under_the_current_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(display_path(&cwd.join("xpipeline.toml")), "xpipeline.toml");
        assert_eq!(
            display_path(Path::new("/elsewhere/x.toml")),
            "/elsewhere/x.toml"
        );
    }
}
