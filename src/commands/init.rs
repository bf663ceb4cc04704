//! `cargo xpipeline init`: write a commented xpipeline.toml for this cargo workspace from
//! cargo metadata, git and flags. Offline; never overwrites without --force.

use std::fmt;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{GlobalArgs, InitArgs};
use crate::config;
use crate::error::{Error, Result};
use crate::settings::Env;
use crate::ui::Ui;

/// Every value init writes, resolved from flags, defaults and prompts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitValues {
    pub name: String,
    pub pipeline_account: String,
    pub region: String,
    pub service_role_arn: String,
    pub pipeline_type: Option<String>,
    pub execution_mode: Option<String>,
    pub trigger: Option<String>,
    pub bucket: String,
    pub kms_key_arn: Option<String>,
    pub source_account: String,
    pub repository: String,
    pub branch: String,
    pub source_role_arn: String,
    pub external_id: Option<String>,
    pub git_endpoint: Option<String>,
    pub build_project: String,
}

#[derive(Debug, Serialize)]
struct InitReport {
    path: PathBuf,
    /// Keys written commented out because no flag gave them.
    missing: Vec<&'static str>,
    next_steps: Vec<String>,
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Wrote {}", config::display_path(&self.path))?;
        for key in &self.missing {
            writeln!(
                f,
                "  {key} is not set yet: it is written commented out, with how to find it"
            )?;
        }
        writeln!(f, "\nNext steps:")?;
        for (i, step) in self.next_steps.iter().enumerate() {
            write!(f, "  {}. {step}", i + 1)?;
            if i + 1 < self.next_steps.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

pub fn run(args: &InitArgs, global: &GlobalArgs, env: &Env, ui: &Ui) -> Result<()> {
    let meta = config::metadata(global.manifest_path.as_deref())?;
    let root = meta.workspace_root.clone().into_std_path_buf();
    let path = global
        .config
        .clone()
        .unwrap_or_else(|| root.join(config::FILE_NAME));
    if path.exists() && !args.force {
        return Err(Error::usage(format!(
            "{} already exists; it was left as it is\n  hint: pass --force to overwrite it, or edit it by hand",
            config::display_path(&path)
        )));
    }
    let package = match meta.root_package() {
        Some(p) => p.name.to_string(),
        None => root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "app".to_owned()),
    };
    let mut prompt = Prompter { ui };
    let values = resolve(args, global, env, &package, &root, &mut prompt)?;
    let text = render(&values);

    // Check what would be written before writing it: a bad flag loses nothing.
    let shown = format!("{} (not written)", config::display_path(&path));
    if let Err(mut diags) = config::parse(&text, &shown, path.clone()) {
        diags.items.retain(|d| {
            !(values.kms_key_arn.is_none()
                && d.message
                    .starts_with("missing required key artifacts.kms-key-arn"))
        });
        if !diags.is_empty() {
            return Err(Error::Config(diags));
        }
    }
    write_atomically(&path, &text)?;

    let mut missing = Vec::new();
    let mut next_steps = Vec::new();
    if values.kms_key_arn.is_none() {
        missing.push("artifacts.kms-key-arn");
        next_steps.push(
            "set artifacts.kms-key-arn (or run `cargo xpipeline bootstrap` to create the key and the rest)".to_owned(),
        );
    }
    next_steps.push("review xpipeline.toml and commit it".to_owned());
    next_steps.push("`cargo xpipeline plan` to see the pipeline it declares".to_owned());
    next_steps.push(
        "`cargo xpipeline push` to create the pipeline, push this branch and follow the build"
            .to_owned(),
    );
    ui.result(&InitReport {
        path,
        missing,
        next_steps,
    })
}

/// Asks for a required value when stdin is a terminal; otherwise says which flag to pass.
struct Prompter<'a> {
    ui: &'a Ui,
}

impl Prompter<'_> {
    fn ask(&mut self, flag: &str, what: &str) -> Result<String> {
        if !self.ui.interactive {
            return Err(Error::usage(format!(
                "{what} is required: pass --{flag} (standard input is not a terminal, so init does not prompt)"
            )));
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{what} (--{flag}): ");
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::op(format!("cannot read the answer: {e}")))?;
        let answer = line.trim().to_owned();
        if answer.is_empty() {
            return Err(Error::usage(format!("{what} is required: pass --{flag}")));
        }
        Ok(answer)
    }
}

/// The region when --region does not give one: the environment, then the AWS profile
/// (read from the local config file only: init works offline).
fn profile_region(profile: Option<&str>, env: &Env) -> Option<String> {
    if let Some(r) = env.region() {
        return Some(r.to_owned());
    }
    let file = env
        .aws_config_file
        .clone()
        .or_else(|| env.home.as_ref().map(|h| h.join(".aws/config")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let profile = profile.unwrap_or("default");
    let wanted = |header: &str| {
        let h = header.trim();
        h == profile || h == format!("profile {profile}")
    };
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = wanted(header);
        } else if in_section {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == "region" && !v.trim().is_empty() {
                    return Some(v.trim().to_owned());
                }
            }
        }
    }
    None
}

fn resolve(
    args: &InitArgs,
    global: &GlobalArgs,
    env: &Env,
    package: &str,
    root: &Path,
    prompt: &mut Prompter<'_>,
) -> Result<InitValues> {
    let pipeline_account = match &args.pipeline_account {
        Some(a) => a.clone(),
        None => prompt.ask("pipeline-account", "The pipeline (tools) account id")?,
    };
    let source_account = match &args.source_account {
        Some(a) => a.clone(),
        None => prompt.ask("source-account", "The source (CodeCommit) account id")?,
    };
    let region = match global
        .region
        .clone()
        .or_else(|| profile_region(global.profile.as_deref(), env))
    {
        Some(r) => r,
        None => prompt.ask(
            "region",
            "The AWS region of the pipeline and the repository",
        )?,
    };
    let partition = crate::model::arn::partition_of(&region);
    let branch = match args
        .branch
        .clone()
        .or_else(|| crate::git::current_branch(root))
    {
        Some(b) => b,
        None => "main".to_owned(),
    };
    let bucket_base = package.to_ascii_lowercase().replace('_', "-");
    Ok(InitValues {
        name: args
            .name
            .clone()
            .unwrap_or_else(|| format!("{package}-pipeline")),
        service_role_arn: args.service_role_arn.clone().unwrap_or_else(|| {
            format!("arn:{partition}:iam::{pipeline_account}:role/{package}-codepipeline")
        }),
        bucket: args
            .bucket
            .clone()
            .unwrap_or_else(|| format!("{bucket_base}-artifacts-{pipeline_account}")),
        source_role_arn: args.source_role_arn.clone().unwrap_or_else(|| {
            format!("arn:{partition}:iam::{source_account}:role/{package}-cross-account")
        }),
        repository: args
            .repository
            .clone()
            .unwrap_or_else(|| package.to_owned()),
        build_project: args
            .build_project
            .clone()
            .unwrap_or_else(|| format!("{package}-build")),
        pipeline_type: args.pipeline_type.clone(),
        execution_mode: args.execution_mode.clone(),
        trigger: args.trigger.clone(),
        kms_key_arn: args.kms_key_arn.clone(),
        external_id: args.external_id.clone(),
        git_endpoint: args.git_endpoint.clone(),
        pipeline_account,
        source_account,
        region,
        branch,
    })
}

/// A TOML basic string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `key = "value"` when set, else the key commented out with its default.
fn optional(key: &str, value: Option<&str>, default: &str) -> String {
    match value {
        Some(v) => format!("{key} = {}", q(v)),
        None => format!("# {key} = {}", q(default)),
    }
}

/// The file init writes: every key present or commented, each explained.
pub fn render(v: &InitValues) -> String {
    let kms = match &v.kms_key_arn {
        Some(arn) => format!("kms-key-arn = {}", q(arn)),
        None => format!(
            "# REQUIRED, not known yet: the ARN of a customer managed KMS key in the pipeline account\n\
             # (an alias will not do: aliases do not resolve across accounts). Find it with\n\
             #   aws kms describe-key --key-id alias/YOUR-ALIAS --query KeyMetadata.Arn --output text\n\
             # or let `cargo xpipeline bootstrap` create it.\n\
             # kms-key-arn = \"arn:{}:kms:{}:{}:key/KEY-ID\"",
            crate::model::arn::partition_of(&v.region),
            v.region,
            v.pipeline_account
        ),
    };
    format!(
        r#"# xpipeline.toml: the cross-account pipeline of this workspace, read by `cargo xpipeline`.
# The pipeline runs in the pipeline (tools) account; the CodeCommit repository lives in the
# source account. `cargo xpipeline push` makes the live pipeline match this file.

[pipeline]
# The CodePipeline name: 1-100 of A-Z a-z 0-9 . @ _ -
name = {name}
# The pipeline (tools) account: 12 digits.
account = {pipeline_account}
# One region for the pipeline, the repository, the bucket and the key.
region = {region}
# The role CodePipeline runs as, in the pipeline account. It must be allowed to
# sts:AssumeRole source.role-arn.
service-role-arn = {service_role_arn}
# Pipeline type: "V2" (default) or "V1".
{pipeline_type}
# V2 only: "SUPERSEDED" (default), "QUEUED" or "PARALLEL".
{execution_mode}
# What starts an execution: "push" (default: `cargo xpipeline push` starts it for the exact
# commit it pushed), "poll" (CodePipeline polls the branch) or "events" (an EventBridge rule).
{trigger}

[artifacts]
# The S3 artifact bucket in the pipeline account; its policy must let the source role in.
bucket = {bucket}
# The customer managed KMS key that encrypts the artifacts, in the pipeline account and
# region; its key policy must let the source account use it.
{kms}

[source]
# The source (CodeCommit) account: 12 digits.
account = {source_account}
# The CodeCommit repository in the source account.
repository = {repository}
# The branch the pipeline builds.
branch = {branch}
# The role in the source account that the Source action assumes, and that `push` assumes
# to git-push (unless [push] role-arn says otherwise).
role-arn = {source_role_arn}
# Sent as sts:ExternalId when assuming the source role, if the role's trust policy asks for one.
{external_id}
# The CodeCommit git endpoint, for a VPC endpoint, a FIPS host or an emulator.
# Default: the AWS endpoint override if one is set, else https://git-codecommit.REGION.amazonaws.com
{git_endpoint}

[build]
# The CodeBuild project in the pipeline account that builds the source.
project = {build_project}

# Plain environment variables for the build action.
# [build.env]
# RUST_LOG = "info"

# How `push` reaches the source account (all optional).
# [push]
# role-arn = "arn:aws:iam::SOURCE-ACCOUNT:role/NAME"   # default: source.role-arn
# session-name = "xpipeline-alice"                      # default: xpipeline-<local user>
# duration-seconds = 3600                               # 900..43200; 1 hour at most when you are yourself in a role
# mfa-serial = "arn:aws:iam::PIPELINE-ACCOUNT:mfa/alice" # prompts for the code, or --mfa-code

# Tags for the pipeline; managed-by = "cargo-xpipeline" is always added.
# [tags]
# team = "platform"
"#,
        name = q(&v.name),
        pipeline_account = q(&v.pipeline_account),
        region = q(&v.region),
        service_role_arn = q(&v.service_role_arn),
        pipeline_type = optional("type", v.pipeline_type.as_deref(), "V2"),
        execution_mode = optional("execution-mode", v.execution_mode.as_deref(), "SUPERSEDED"),
        trigger = optional("trigger", v.trigger.as_deref(), "push"),
        bucket = q(&v.bucket),
        kms = kms,
        source_account = q(&v.source_account),
        repository = q(&v.repository),
        branch = q(&v.branch),
        source_role_arn = q(&v.source_role_arn),
        external_id = optional("external-id", v.external_id.as_deref(), "..."),
        git_endpoint = optional("git-endpoint", v.git_endpoint.as_deref(), "https://..."),
        build_project = q(&v.build_project),
    )
}

/// Write through a temporary file in the same directory and rename it into place, so the
/// file is never seen half-written.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp-{}", config::FILE_NAME, std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| Error::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> InitValues {
        InitValues {
            name: "demo-app-pipeline".into(),
            pipeline_account: "111111111111".into(),
            region: "eu-west-1".into(),
            service_role_arn: "arn:aws:iam::111111111111:role/demo-app-codepipeline".into(),
            pipeline_type: None,
            execution_mode: None,
            trigger: None,
            bucket: "demo-app-artifacts-111111111111".into(),
            kms_key_arn: Some(
                "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                    .into(),
            ),
            source_account: "222222222222".into(),
            repository: "demo-app".into(),
            branch: "trunk".into(),
            source_role_arn: "arn:aws:iam::222222222222:role/demo-app-cross-account".into(),
            external_id: None,
            git_endpoint: None,
            build_project: "demo-app-build".into(),
        }
    }

    #[test]
    fn rendered_file_loads_with_the_given_values() {
        let cfg = config::parse(
            &render(&values()),
            "xpipeline.toml",
            "xpipeline.toml".into(),
        )
        .unwrap();
        assert_eq!(cfg.source.repository, "demo-app");
        assert_eq!(cfg.source.branch, "trunk");
        assert_eq!(cfg.pipeline.pipeline_type, config::PipelineType::V2);
        assert_eq!(cfg.push.role_arn, cfg.source.role_arn);
    }

    #[test]
    fn unknown_kms_key_is_written_commented_with_how_to_find_it() {
        let mut v = values();
        v.kms_key_arn = None;
        let text = render(&v);
        assert!(text.contains("# kms-key-arn = \"arn:aws:kms:eu-west-1:111111111111:key/KEY-ID\""));
        assert!(text.contains("aws kms describe-key"));
        let diags = config::parse(&text, "x", "x".into()).unwrap_err();
        assert_eq!(diags.items.len(), 1);
        assert!(diags.items[0].message.contains("artifacts.kms-key-arn"));
    }

    #[test]
    fn values_with_quotes_and_backslashes_round_trip() {
        for s in ["a\"b", "c:\\x", "it's \"both\""] {
            let doc: toml::Table = toml::from_str(&format!("k = {}", q(s))).unwrap();
            assert_eq!(doc["k"].as_str(), Some(s));
        }
    }
}
