//! `cargo xpipeline init`: write a commented xpipeline.toml for this cargo workspace from
//! cargo metadata, git and flags. Offline; never overwrites without --force. The steps and
//! what the user reads are here; the file is rendered from the key table by
//! `config::template`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{GlobalArgs, InitArgs};
use crate::config::template::{DeployEntry, Value};
use crate::config::{self, keys};
use crate::error::{Error, Result};
use crate::model::arn::partition_of;
use crate::model::build;
use crate::model::pipeline::declare::{BUILD_STAGE, SOURCE_STAGE};
use crate::settings::Env;
use crate::ui::{Ui, prompt};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InitReport {
    path: PathBuf,
    /// Keys written commented out because no flag gave them.
    missing: Vec<&'static str>,
    /// buildspec.yml, when init wrote it (the workspace had none).
    #[serde(skip_serializing_if = "Option::is_none")]
    buildspec: Option<PathBuf>,
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
        if let Some(b) = &self.buildspec {
            writeln!(
                f,
                "Wrote {}: how CodeBuild builds the workspace (rustup if the image lacks Rust, cargo build and test --locked, a cache for the cargo registry and target/)",
                config::display_path(b)
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
    let has_template = root.join(build::TEMPLATE_FILE).is_file();
    // The flags that need no account or prompt are checked first: a bad one asks nothing.
    let deploys = deploy_entries(args, &package, has_template)?;
    let values = resolve(args, global, env, &package, &root, ui)?;
    let mut missing: Vec<&'static str> = values
        .iter()
        .filter(|(_, v)| matches!(v, Value::Unknown { .. }))
        .map(|(k, _)| *k)
        .collect();
    if !deploys.is_empty() {
        missing.push(EXECUTION_POLICIES);
    }
    let text = config::template::render_with(&values, &deploys);

    // Check what would be written before writing it: a bad flag loses nothing. The keys left
    // unknown are missing on purpose.
    let shown = format!("{} (not written)", config::display_path(&path));
    if let Err(mut diags) = config::parse(&text, &shown, path.clone()) {
        diags.items.retain(|d| {
            !missing.iter().any(|k| {
                d.message.starts_with(&format!("missing required key {k} "))
                    || k.strip_prefix("deploy.").is_some_and(|name| {
                        d.message == format!("missing required key {name} in this [[deploy]]")
                    })
            })
        });
        if !diags.is_empty() {
            return Err(Error::Config(diags));
        }
    }
    config::write(&path, &text)?;
    // CodeBuild reads buildspec.yml at the root of the source: write one when there is none.
    let buildspec_path = root.join(build::BUILDSPEC_FILE);
    let buildspec = if buildspec_path.exists() {
        None
    } else {
        let package = has_template.then(|| package_target(&values));
        std::fs::write(&buildspec_path, build::buildspec(package.as_ref()))
            .map_err(|e| Error::io("cannot write", &buildspec_path, e))?;
        Some(buildspec_path)
    };

    let mut next_steps = Vec::new();
    let key = if missing.contains(&"artifacts.kms-key-arn") {
        "the KMS key (its ARN is written into xpipeline.toml), "
    } else {
        ""
    };
    if !deploys.is_empty() {
        next_steps.push(format!(
            "choose each [[deploy]] stage's {} (the managed policies CloudFormation may use to \
             create that stack's resources; there is no administrator default)",
            EXECUTION_POLICIES.trim_start_matches("deploy.")
        ));
    }
    next_steps.push(format!(
        "review xpipeline.toml{} and commit {}",
        if buildspec.is_some() {
            " and buildspec.yml"
        } else {
            ""
        },
        if buildspec.is_some() { "them" } else { "it" }
    ));
    next_steps.push(format!(
        "`cargo xpipeline bootstrap` to create or correct, in both accounts, {key}the artifact bucket, the roles, the build project and the repository (`--dry-run` shows what it would do)"
    ));
    next_steps.push(
        "`cargo xpipeline push` to create the pipeline, push this branch and follow the build"
            .to_owned(),
    );
    ui.result(&InitReport {
        path,
        missing,
        buildspec,
        next_steps,
    })
}

/// The key of a `[[deploy]]` entry `init` cannot choose: written commented out, reported.
const EXECUTION_POLICIES: &str = "deploy.execution-policies";

/// The `[[deploy]]` entries of `--deploy NAME=ACCOUNT` in the order given, with `--approve
/// NAME`'s approvals, and defaults: stack `<package>-<name>`, the template `packaged.yaml` when
/// the workspace has a `template.yaml` to package, else `template.yaml`.
fn deploy_entries(args: &InitArgs, package: &str, has_template: bool) -> Result<Vec<DeployEntry>> {
    let mut entries: Vec<DeployEntry> = Vec::new();
    for given in &args.deploy {
        let Some((name, account)) = given.split_once('=') else {
            return Err(Error::usage(format!(
                "--deploy {given}: expected NAME=ACCOUNT, e.g. --deploy Staging=333333333333"
            )));
        };
        if !config::names::is_pipeline_name(name) {
            return Err(Error::usage(format!(
                "--deploy {given}: {name:?} is not a stage name: 1 to 100 letters, digits, '.', \
                 '@', '-' and '_'"
            )));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::usage(format!(
                "--deploy {given}: {account:?} is not an AWS account id: 12 digits"
            )));
        }
        if [SOURCE_STAGE, BUILD_STAGE].contains(&name) {
            return Err(Error::usage(format!(
                "--deploy {given}: {name} is a stage the pipeline already has; name the deploy \
                 stage after its environment (Staging, Prod)"
            )));
        }
        if entries.iter().any(|e| e.name == name) {
            return Err(Error::usage(format!(
                "--deploy {name} is given twice: each stage needs its own name"
            )));
        }
        let slug: String = name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let base = package.to_ascii_lowercase().replace('_', "-");
        entries.push(DeployEntry {
            name: name.to_owned(),
            account: account.to_owned(),
            stack: format!("{base}-{slug}"),
            template: if has_template {
                build::PACKAGED_FILE
            } else {
                build::TEMPLATE_FILE
            }
            .to_owned(),
            approval: false,
        });
    }
    for name in &args.approve {
        let Some(e) = entries.iter_mut().find(|e| &e.name == name) else {
            let given: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            return Err(Error::usage(format!(
                "--approve {name} names no --deploy stage{}",
                if given.is_empty() {
                    " (none was given)".to_owned()
                } else {
                    format!(" (given: {})", given.join(", "))
                }
            )));
        };
        e.approval = true;
    }
    Ok(entries)
}

/// Where the buildspec packages `template.yaml`: the artifact bucket under the pipeline's
/// packages prefix, with the key, or before bootstrap has created it the alias it will have.
fn package_target(values: &BTreeMap<&'static str, Value>) -> build::Package {
    let set = |k: &str| match values.get(k) {
        Some(Value::Set(v)) => v.clone(),
        _ => String::new(),
    };
    let pipeline = set("pipeline.name");
    let kms_key = match values.get("artifacts.kms-key-arn") {
        Some(Value::Set(arn)) => arn.clone(),
        _ => {
            let region = set("pipeline.region");
            format!(
                "arn:{}:kms:{region}:{}:alias/{pipeline}-artifacts",
                partition_of(&region),
                set("pipeline.account")
            )
        }
    };
    build::Package {
        bucket: set("artifacts.bucket"),
        prefix: build::packages_prefix(&pipeline),
        kms_key,
    }
}

/// Ask for the required value of `key`, naming the init flag that gives it.
fn ask(ui: &Ui, key: &str, what: &str) -> Result<String> {
    let flag = keys::get(key)
        .and_then(|k| k.flag)
        .unwrap_or_else(|| panic!("{key} has an init flag in src/config/keys.rs"));
    prompt::ask(ui, flag, what)
}

/// Every value init writes, by key: from the flags, else derived from the package, the git
/// branch and the environment, else asked for.
fn resolve(
    args: &InitArgs,
    global: &GlobalArgs,
    env: &Env,
    package: &str,
    root: &Path,
    ui: &Ui,
) -> Result<BTreeMap<&'static str, Value>> {
    let pipeline_account = match &args.pipeline_account {
        Some(a) => a.clone(),
        None => ask(ui, "pipeline.account", "The pipeline (tools) account id")?,
    };
    let source_account = match &args.source_account {
        Some(a) => a.clone(),
        None => ask(ui, "source.account", "The source (CodeCommit) account id")?,
    };
    let region = match global
        .region
        .clone()
        .or_else(|| env.profile_region(global.profile.as_deref()))
    {
        Some(r) => r,
        None => ask(
            ui,
            "pipeline.region",
            "The AWS region of the pipeline and the repository",
        )?,
    };
    let partition = partition_of(&region);
    let branch = args
        .branch
        .clone()
        .or_else(|| crate::git::current_branch(root))
        .unwrap_or_else(|| "main".to_owned());
    let bucket_base = package.to_ascii_lowercase().replace('_', "-");
    let or = |flag: &Option<String>, default: String| flag.clone().unwrap_or(default);
    let kms = match &args.kms_key_arn {
        Some(arn) => Value::Set(arn.clone()),
        None => Value::Unknown {
            placeholder: format!("arn:{partition}:kms:{region}:{pipeline_account}:key/KEY-ID"),
        },
    };
    let derived = [
        (
            "pipeline.name",
            or(&args.name, format!("{package}-pipeline")),
        ),
        (
            "pipeline.service-role-arn",
            or(
                &args.service_role_arn,
                format!("arn:{partition}:iam::{pipeline_account}:role/{package}-codepipeline"),
            ),
        ),
        (
            "artifacts.bucket",
            or(
                &args.bucket,
                format!("{bucket_base}-artifacts-{pipeline_account}"),
            ),
        ),
        (
            "source.role-arn",
            or(
                &args.source_role_arn,
                format!("arn:{partition}:iam::{source_account}:role/{package}-cross-account"),
            ),
        ),
        (
            "source.repository",
            or(&args.repository, package.to_owned()),
        ),
        (
            "build.project",
            or(&args.build_project, format!("{package}-build")),
        ),
        ("source.branch", branch),
        ("pipeline.account", pipeline_account),
        ("source.account", source_account),
        ("pipeline.region", region),
    ];
    let mut values: BTreeMap<&'static str, Value> = derived
        .into_iter()
        .map(|(k, v)| (k, Value::Set(v)))
        .collect();
    for (key, flag) in [
        ("pipeline.type", &args.pipeline_type),
        ("pipeline.execution-mode", &args.execution_mode),
        ("pipeline.trigger", &args.trigger),
        ("source.external-id", &args.external_id),
        ("source.git-endpoint", &args.git_endpoint),
    ] {
        if let Some(v) = flag {
            values.insert(key, Value::Set(v.clone()));
        }
    }
    values.insert("artifacts.kms-key-arn", kms);
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ask` finds the flag of every key init may ask for in the key table.
    #[test]
    fn the_keys_init_asks_for_have_a_flag() {
        for key in ["pipeline.account", "source.account", "pipeline.region"] {
            assert!(keys::get(key).and_then(|k| k.flag).is_some(), "{key}");
        }
    }
}
