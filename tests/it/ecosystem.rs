//! What fits cargo-xpipeline into editors, shells and CI: the JSON Schema of xpipeline.toml
//! (checked with a real validator, Python's `jsonschema` in the sandbox's virtualenv), the
//! shell completions (loaded into a real bash), the direct `cargo-xpipeline ARGS` form, and
//! the README's placeholder key ARN refused.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{Project, xpipeline};

const SCHEMA: &str = include_str!("../../xpipeline.schema.json");
const EXAMPLE: &str = include_str!("../../xpipeline.toml.example");

fn python() -> PathBuf {
    std::env::var_os("XPIPELINE_SANDBOX_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

/// The problems `jsonschema` finds in `toml_text` against the committed schema (empty: valid).
fn schema_problems(toml_text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.toml");
    std::fs::write(&file, toml_text).unwrap();
    let script = r#"
import json, sys, tomllib, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
doc = tomllib.load(open(sys.argv[2], "rb"))
for e in jsonschema.Draft7Validator(schema).iter_errors(doc):
    print("/".join(map(str, e.absolute_path)) + ": " + e.message)
"#;
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("xpipeline.schema.json");
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("the sandbox's python runs (XPIPELINE_SANDBOX_PYTHON or .venv)");
    assert!(
        out.status.success(),
        "the validator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn schema_prints_the_committed_file() {
    let dir = tempfile::tempdir().unwrap();
    // Offline and without xpipeline.toml; JSON whatever --output says.
    let out = xpipeline(dir.path()).arg("schema").run().success();
    assert_eq!(out.stdout, SCHEMA);
    let out = xpipeline(dir.path())
        .args(["schema", "--output", "json"])
        .run()
        .success();
    assert_eq!(out.stdout, SCHEMA);
}

#[test]
fn the_example_and_what_init_writes_validate_against_the_schema() {
    assert_eq!(schema_problems(EXAMPLE), Vec::<String>::new());

    let p = Project::new("demo-app", "main");
    p.cmd()
        .args([
            "init",
            "--pipeline-account",
            "111111111111",
            "--source-account",
            "222222222222",
            "--region",
            "eu-west-1",
            "--kms-key-arn",
            "arn:aws:kms:eu-west-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            "--trigger",
            "poll",
        ])
        .run()
        .success();
    let written = p.read("xpipeline.toml");
    let first = written.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("#:schema https://") && first.ends_with("/xpipeline.schema.json"),
        "taplo's directive comes first: {first}"
    );
    assert_eq!(schema_problems(&written), Vec::<String>::new());
}

#[test]
fn the_schema_rejects_a_misspelt_key_a_wrong_type_and_a_bad_value() {
    let misspelt = EXAMPLE.replacen("bucket = ", "bukcet = ", 1);
    let problems = schema_problems(&misspelt);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("'bukcet' was unexpected")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("'bucket' is a required")),
        "{problems:?}"
    );

    let wrong_type = EXAMPLE.replacen("account = \"111111111111\"", "account = 111111111111", 1);
    let problems = schema_problems(&wrong_type);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("pipeline/account: ") && p.contains("is not of type 'string'")),
        "{problems:?}"
    );

    let bad_enum = EXAMPLE.replacen("trigger = \"push\"", "trigger = \"cron\"", 1);
    let problems = schema_problems(&bad_enum);
    assert!(
        problems.iter().any(|p| p.starts_with("pipeline/trigger: ")),
        "{problems:?}"
    );
}

#[test]
fn bash_loads_the_completions_and_completes_a_subcommand_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = xpipeline(dir.path())
        .args(["completions", "bash"])
        .run()
        .success();
    let script = dir.path().join("cargo-xpipeline.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let probe = format!(
        "source '{}' && complete -p cargo-xpipeline && \
         COMP_WORDS=(cargo-xpipeline push --no-wat) COMP_CWORD=2 && \
         _cargo__xpipeline cargo-xpipeline --no-wat push && echo \"[${{COMPREPLY[*]}}]\" && \
         COMP_WORDS=(cargo-xpipeline -v sta) COMP_CWORD=2 && \
         _cargo__xpipeline cargo-xpipeline sta -v && echo \"[${{COMPREPLY[*]}}]\"",
        script.display()
    );
    let bash = Command::new("bash")
        .args(["--norc", "-c", &probe])
        .output()
        .expect("bash runs");
    let said = String::from_utf8_lossy(&bash.stdout);
    assert!(
        bash.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&bash.stderr)
    );
    assert!(said.contains("-F _cargo__xpipeline"), "{said}");
    assert!(
        said.contains("[--no-watch]"),
        "push's flags complete: {said}"
    );
    assert!(said.contains("[status]"), "subcommands complete: {said}");
}

#[test]
fn every_shell_gets_a_script_and_a_wrong_shell_names_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = xpipeline(dir.path())
            .args(["completions", shell])
            .run()
            .success();
        assert!(
            out.stdout.contains("cargo-xpipeline") && out.stdout.contains("no-watch"),
            "{shell}: {}",
            &out.stdout[..out.stdout.len().min(300)]
        );
    }
    xpipeline(dir.path())
        .args(["completions", "tcsh"])
        .run()
        .code(2)
        .stderr_has("possible values: bash, elvish, fish, powershell, zsh");
}

#[test]
fn the_binary_also_runs_without_the_word_cargo_inserts() {
    // What the completions complete: `cargo-xpipeline push ...`.
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-xpipeline"))
        .args(["push", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: cargo xpipeline push"));
}

#[test]
fn the_readme_placeholder_key_is_refused_and_nothing_is_written() {
    let p = Project::new("demo-app", "main");
    p.cmd()
        .args([
            "init",
            "--pipeline-account",
            "111111111111",
            "--source-account",
            "222222222222",
            "--region",
            "eu-west-1",
            "--kms-key-arn",
            "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-...",
        ])
        .run()
        .code(2)
        .stderr_has("artifacts.kms-key-arn ends in key/1234abcd-..., which is not a KMS key id")
        .stderr_has("aws kms describe-key");
    assert!(!p.file("xpipeline.toml").exists());
}

/// A project with a valid xpipeline.toml (no sandbox needed: these fail before any call).
fn configured() -> Project {
    let p = Project::new("demo-app", "main");
    p.write(
        "xpipeline.toml",
        &crate::support::valid_config("123456789012", "222222222222", "eu-west-1"),
    );
    // push applies the committed declaration.
    p.commit_all("Declare the pipeline");
    p
}

#[test]
fn a_missing_profile_is_named_with_the_profiles_that_exist() {
    let p = configured();
    p.write(
        ".aws-config",
        "[default]\nregion = eu-west-1\n[profile tools]\nregion = eu-west-1\n",
    );
    for command in ["status", "plan", "push"] {
        let out = p
            .cmd()
            .args([command, "--profile", "nope"])
            .env("AWS_CONFIG_FILE", p.file(".aws-config"))
            .run()
            .code(2)
            .stderr_has("no profile named nope in ")
            .stderr_has("(profiles: default, tools)")
            .stderr_has("aws configure --profile nope");
        assert!(!out.stderr.contains("IMDS"), "{}", out.stderr);
    }
    // AWS_PROFILE is the same setting.
    p.cmd()
        .arg("status")
        .env("AWS_PROFILE", "nope")
        .env("AWS_CONFIG_FILE", p.file(".aws-config"))
        .run()
        .code(2)
        .stderr_has("no profile named nope");
}

#[test]
fn no_credentials_at_all_gets_a_hint_without_imds_noise() {
    let p = configured();
    for command in ["status", "plan"] {
        let out = p
            .cmd()
            .arg(command)
            // Never reached: the credentials fail first.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .run()
            .code(1)
            .stderr_has("no AWS credentials found")
            .stderr_has("AWS_ACCESS_KEY_ID")
            .stderr_has("--profile NAME");
        assert!(!out.stderr.contains("IMDS"), "{command}: {}", out.stderr);
    }
}

/// `rust-version` is the true minimum of the locked tree: the highest `rust-version` any
/// locked crate declares (clippy's `incompatible_msrv` then checks our own code against it).
#[test]
fn rust_version_is_the_highest_the_locked_crates_declare() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // Only this platform's crates: the others (wasi, windows) are never downloaded by a build
    // here, and --offline cannot fetch them.
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    let mut ours = None;
    let mut needed: (Vec<u32>, String) = (vec![0], String::new());
    for p in meta["packages"].as_array().unwrap() {
        let Some(rv) = p["rust_version"].as_str() else {
            continue;
        };
        if p["name"] == "cargo-xpipeline" {
            ours = Some(version(rv));
        } else if version(rv) > needed.0 {
            needed = (version(rv), p["name"].as_str().unwrap().to_owned());
        }
    }
    let mut ours = ours.expect("Cargo.toml sets rust-version");
    ours.resize(3, 0);
    needed.0.resize(3, 0);
    assert_eq!(
        ours, needed.0,
        "rust-version in Cargo.toml must be what {} needs",
        needed.1
    );
}
