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
//! workspace.rs where the file is: the cargo workspace root; paths as shown
//! diagnostic.rs problems with their file:line:col
//! read.rs      the file read with bounds: regular files only, 1 MiB, UTF-8 text
//! edit.rs      writing the created key's ARN into the file, comments and layout kept

mod arns;
mod deploy;
mod diagnostic;
mod edit;
pub(crate) mod json_schema;
pub(crate) mod keys;
mod model;
pub(crate) mod names;
pub(crate) mod read;
mod schema;
pub(crate) mod template;
mod validate;
mod workspace;

use std::path::{Path, PathBuf};

use toml::de::DeTable;

pub use diagnostic::Diagnostics;
pub use model::*;
pub(crate) use workspace::{display_path, locate, metadata};

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

/// Write `arn` into artifacts.kms-key-arn of the file `cfg` was read from, keeping its
/// comments and layout; the result is validated before it replaces the file.
pub(crate) fn write_kms_key_arn(cfg: &Config, arn: &str) -> Result<()> {
    let path = &cfg.path;
    let shown = display_path(path);
    let text = read::file(path, &shown)?
        .ok_or_else(|| Error::usage(format!("{shown} is gone: it was there when loaded")))?;
    let edited = edit::with_kms_key_arn(&text, arn).map_err(|why| {
        Error::op_hint(
            format!("cannot write the key's ARN into {shown}: {why}"),
            format!("set artifacts.kms-key-arn = \"{arn}\" in {shown} by hand"),
        )
    })?;
    let written = parse(&edited, &shown, path.clone()).map_err(Error::Config)?;
    debug_assert_eq!(written.artifacts.kms_key_arn.as_deref(), Some(arn));
    write(path, &edited)
}

/// `plan` and `push` declare the pipeline, whose artifact store names the key: until
/// `bootstrap` created it (or someone set it), they stop here.
pub(crate) fn require_kms_key(cfg: &Config) -> Result<&str> {
    cfg.artifacts.kms_key_arn.as_deref().ok_or_else(|| {
        Error::usage(format!(
            "artifacts.kms-key-arn is not set in {}\n  hint: run `cargo xpipeline bootstrap` to create the key (it writes the ARN there), or set it to the ARN of a customer managed key in account {} ({})",
            display_path(&cfg.path),
            cfg.pipeline.account,
            cfg.pipeline.region
        ))
    })
}

/// Find, read and validate xpipeline.toml.
pub(crate) fn load(config: Option<&Path>, manifest_path: Option<&Path>) -> Result<Config> {
    let path = locate(config, manifest_path)?;
    let shown = display_path(&path);
    let Some(text) = read::file(&path, &shown)? else {
        return Err(Error::usage(format!(
            "no {} at {}\n  hint: run `cargo xpipeline init` to write one, or pass --config PATH",
            FILE_NAME,
            path.display()
        )));
    };
    parse(&text, &shown, path).map_err(Error::Config)
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
}
