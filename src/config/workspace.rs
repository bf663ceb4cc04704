//! Where xpipeline.toml is: the cargo workspace root (read off the manifests when that is
//! plain, else asked of `cargo metadata`), and how a path is shown relative to the current
//! directory. The current directory is the only thing of the environment config reads.

use std::path::{Path, PathBuf};

use super::FILE_NAME;
use crate::error::{Error, Result};

fn current_dir() -> Option<PathBuf> {
    std::env::current_dir().ok()
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
        None => current_dir(),
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
fn evident_workspace_root(start: &Path) -> Option<PathBuf> {
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
fn workspace_root(manifest_path: Option<&Path>) -> Result<PathBuf> {
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
    current_dir()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The rest of config takes what it needs as arguments: no environment variable, and the
    /// current directory only through `current_dir` above.
    #[test]
    fn config_reads_no_environment_outside_this_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let allowed = usize::from(path.ends_with("workspace.rs"));
            assert!(
                code.matches("std::env").count() <= allowed && !code.contains("env::var"),
                "{} reads the environment; take it as an argument (see settings.rs)",
                path.display()
            );
        }
    }
}
