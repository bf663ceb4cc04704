//! `cargo xpipeline init`: the file it writes, its defaults, and that it never overwrites.

use crate::support::Project;

const KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn init_args() -> Vec<&'static str> {
    vec![
        "init",
        "--pipeline-account",
        "111111111111",
        "--source-account",
        "222222222222",
        "--region",
        "eu-west-1",
        "--kms-key-arn",
        KEY,
    ]
}

#[test]
fn init_writes_a_file_that_loads_with_the_derived_defaults() {
    let p = Project::new("demo-app", "trunk");
    let out = p.cmd().args(init_args()).run().success();
    assert!(
        out.stdout.contains("Wrote xpipeline.toml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("cargo xpipeline push"),
        "next steps are printed: {}",
        out.stdout
    );
    let text = p.read("xpipeline.toml");
    for expected in [
        "name = \"demo-app-pipeline\"",
        "repository = \"demo-app\"",
        "branch = \"trunk\"",
        "project = \"demo-app-build\"",
        "bucket = \"demo-app-artifacts-111111111111\"",
        "service-role-arn = \"arn:aws:iam::111111111111:role/demo-app-codepipeline\"",
        "role-arn = \"arn:aws:iam::222222222222:role/demo-app-cross-account\"",
        "region = \"eu-west-1\"",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    // Every optional key is there, commented.
    for commented in [
        "# type = ",
        "# execution-mode = ",
        "# trigger = ",
        "# external-id = ",
        "# git-endpoint = ",
        "# [push]",
        "# [tags]",
        "# [build.env]",
    ] {
        assert!(text.contains(commented), "{commented} in:\n{text}");
    }
    // The tool loads it: a following command gets past validation (it fails later, offline).
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "plan"])
        .run();
    assert_ne!(out.code, 2, "the written file is valid:\n{}", out.stderr);
}

#[test]
fn a_second_init_without_force_leaves_the_file_byte_identical() {
    let p = Project::new("demo-app", "trunk");
    p.cmd().args(init_args()).run().success();
    let before = std::fs::read(p.file("xpipeline.toml")).unwrap();
    let mut args = init_args();
    args.extend(["--name", "other"]);
    p.cmd()
        .args(&args)
        .run()
        .code(2)
        .stderr_has("xpipeline.toml already exists; it was left as it is")
        .stderr_has("--force");
    assert_eq!(std::fs::read(p.file("xpipeline.toml")).unwrap(), before);
    p.cmd().args(&args).arg("--force").run().success();
    assert!(p.read("xpipeline.toml").contains("name = \"other\""));
}

#[test]
fn every_key_can_be_given_by_a_flag() {
    let p = Project::new("demo-app", "main");
    p.cmd()
        .args(init_args())
        .args([
            "--name",
            "custom-pipe",
            "--service-role-arn",
            "arn:aws:iam::111111111111:role/svc",
            "--type",
            "V2",
            "--execution-mode",
            "QUEUED",
            "--trigger",
            "poll",
            "--bucket",
            "my-bucket",
            "--repository",
            "repo1",
            "--branch",
            "release",
            "--source-role-arn",
            "arn:aws:iam::222222222222:role/src",
            "--external-id",
            "ext-123",
            "--git-endpoint",
            "https://git.example.com",
            "--build-project",
            "proj1",
        ])
        .run()
        .success();
    let text = p.read("xpipeline.toml");
    for expected in [
        "name = \"custom-pipe\"",
        "service-role-arn = \"arn:aws:iam::111111111111:role/svc\"",
        "type = \"V2\"",
        "execution-mode = \"QUEUED\"",
        "trigger = \"poll\"",
        "bucket = \"my-bucket\"",
        "repository = \"repo1\"",
        "branch = \"release\"",
        "role-arn = \"arn:aws:iam::222222222222:role/src\"",
        "external-id = \"ext-123\"",
        "git-endpoint = \"https://git.example.com\"",
        "project = \"proj1\"",
    ] {
        assert!(
            text.contains(&format!("\n{expected}\n")),
            "{expected} in:\n{text}"
        );
    }
}

#[test]
fn without_a_kms_key_it_is_written_commented_and_the_command_says_so() {
    let p = Project::new("demo-app", "main");
    let out = p
        .cmd()
        .args([
            "init",
            "--pipeline-account",
            "111111111111",
            "--source-account",
            "222222222222",
            "--region",
            "eu-west-1",
        ])
        .run()
        .success();
    assert!(
        out.stdout.contains("artifacts.kms-key-arn is not set yet"),
        "{}",
        out.stdout
    );
    let text = p.read("xpipeline.toml");
    assert!(
        text.contains("# kms-key-arn = \"arn:aws:kms:eu-west-1:111111111111:key/KEY-ID\""),
        "{text}"
    );
    assert!(text.contains("aws kms describe-key"), "{text}");
    // Until it is set, plan (and push) say so and name bootstrap.
    p.cmd()
        .arg("plan")
        .run()
        .code(2)
        .stderr_has("artifacts.kms-key-arn is not set in xpipeline.toml")
        .stderr_has("run `cargo xpipeline bootstrap` to create the key");
}

#[test]
fn a_bad_flag_value_is_reported_and_nothing_is_written() {
    let p = Project::new("demo-app", "main");
    let out = p
        .cmd()
        .args([
            "init",
            "--pipeline-account",
            "1111",
            "--source-account",
            "222222222222",
            "--region",
            "eu-west-1",
            "--kms-key-arn",
            KEY,
        ])
        .run()
        .code(2);
    assert!(
        out.stderr.contains("pipeline.account must be 12 digits"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("(not written)"), "{}", out.stderr);
    assert!(!p.file("xpipeline.toml").exists());
}

#[test]
fn a_missing_required_value_without_a_terminal_names_the_flag() {
    let p = Project::new("demo-app", "main");
    p.cmd()
        .args([
            "init",
            "--source-account",
            "222222222222",
            "--region",
            "eu-west-1",
        ])
        .run()
        .code(2)
        .stderr_has("pass --pipeline-account");
    assert!(!p.file("xpipeline.toml").exists());
}

#[test]
fn region_comes_from_the_profile_when_no_flag_gives_it() {
    let p = Project::new("demo-app", "main");
    p.write(".aws-config", "[profile work]\nregion = ap-southeast-2\n");
    p.cmd()
        .env("AWS_CONFIG_FILE", p.file(".aws-config"))
        .args([
            "--profile",
            "work",
            "init",
            "--pipeline-account",
            "111111111111",
            "--source-account",
            "222222222222",
        ])
        .run()
        .success();
    assert!(
        p.read("xpipeline.toml")
            .contains("region = \"ap-southeast-2\"")
    );
}

#[test]
fn a_virtual_workspace_uses_its_directory_name() {
    let p = Project::new("member", "main");
    let root = tempfile::Builder::new()
        .prefix("virtual-ws")
        .tempdir()
        .unwrap();
    std::fs::write(
        root.path().join("Cargo.toml"),
        "[workspace]\nmembers = []\nresolver = \"2\"\n",
    )
    .unwrap();
    drop(p);
    let dirname = root
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    crate::support::xpipeline(root.path())
        .args([
            "init",
            "--pipeline-account",
            "111111111111",
            "--source-account",
            "222222222222",
            "--region",
            "eu-west-1",
            "--kms-key-arn",
            KEY,
        ])
        .run()
        .success();
    let text = std::fs::read_to_string(root.path().join("xpipeline.toml")).unwrap();
    assert!(
        text.contains(&format!("repository = \"{dirname}\"")),
        "{text}"
    );
}

#[test]
fn json_output_is_one_document() {
    let p = Project::new("demo-app", "main");
    let out = p
        .cmd()
        .args(["--output", "json"])
        .args(init_args())
        .run()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert!(v["path"].as_str().unwrap().ends_with("xpipeline.toml"));
    assert_eq!(v["missing"], serde_json::json!([]));
}

#[test]
fn the_written_file_is_stable() {
    // Without a KMS key: every optional key commented, the key's how-to-find block.
    let p = Project::new("demo-app", "trunk");
    p.cmd()
        .args([
            "init",
            "--pipeline-account",
            "111111111111",
            "--source-account",
            "222222222222",
            "--region",
            "cn-north-1",
        ])
        .run()
        .success();
    insta::assert_snapshot!("init_file_minimal", p.read("xpipeline.toml"));

    // Every flag given.
    let p = Project::new("demo-app", "main");
    p.cmd()
        .args(init_args())
        .args([
            "--type",
            "V1",
            "--execution-mode",
            "SUPERSEDED",
            "--trigger",
            "events",
            "--external-id",
            "ext:id/1",
            "--git-endpoint",
            "https://git.example.com",
        ])
        .run()
        .success();
    insta::assert_snapshot!("init_file_every_flag", p.read("xpipeline.toml"));
}

#[test]
fn json_keys_are_camel_case() {
    let p = Project::new("demo-app", "main");
    let out = p
        .cmd()
        .args(["--output", "json", "init", "--pipeline-account"])
        .args(["111111111111", "--source-account", "222222222222"])
        .args(["--region", "eu-west-1"])
        .run()
        .success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["buildspec", "missing", "nextSteps", "path"],
        "{}",
        out.stdout
    );
    assert_eq!(v["missing"], serde_json::json!(["artifacts.kms-key-arn"]));
    assert!(
        v["nextSteps"][1].as_str().unwrap().starts_with(
            "`cargo xpipeline bootstrap` to create or correct, in both accounts, the KMS key"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn init_writes_a_buildspec_when_there_is_none_and_names_bootstrap_next() {
    let p = Project::new("demo-app", "main");
    let out = p.cmd().args(init_args()).run().success();
    let yaml = p.read("buildspec.yml");
    assert!(
        yaml.contains("cargo build --locked") && yaml.contains("sh.rustup.rs"),
        "{yaml}"
    );
    assert!(out.stdout.contains("Wrote buildspec.yml"), "{}", out.stdout);
    assert!(
        out.stdout.contains("2. `cargo xpipeline bootstrap`"),
        "{}",
        out.stdout
    );
    // One of the team's own is kept as it is.
    p.write("buildspec.yml", "version: 0.2 # ours\n");
    let out = p.cmd().args(init_args()).arg("--force").run().success();
    assert_eq!(p.read("buildspec.yml"), "version: 0.2 # ours\n");
    assert!(
        !out.stdout.contains("Wrote buildspec.yml"),
        "{}",
        out.stdout
    );
}

#[test]
fn init_refuses_a_wrong_deploy_or_approve_flag_with_exit_2_and_writes_nothing() {
    let p = Project::new("demo-app", "main");
    for (flags, message) in [
        (
            vec!["--deploy", "Staging"],
            "--deploy Staging: expected NAME=ACCOUNT, e.g. --deploy Staging=333333333333",
        ),
        (
            vec!["--deploy", "Stag ing=333333333333"],
            "\"Stag ing\" is not a stage name: 1 to 100 letters, digits",
        ),
        (
            vec!["--deploy", "Staging=33333333333"],
            "--deploy Staging=33333333333: \"33333333333\" is not an AWS account id: 12 digits",
        ),
        (
            vec!["--deploy", "Build=333333333333"],
            "Build is a stage the pipeline already has",
        ),
        (
            vec![
                "--deploy",
                "Prod=444444444444",
                "--deploy",
                "Prod=333333333333",
            ],
            "--deploy Prod is given twice",
        ),
        (
            vec!["--deploy", "Staging=333333333333", "--approve", "Prod"],
            "--approve Prod names no --deploy stage (given: Staging)",
        ),
    ] {
        p.cmd()
            .args(init_args())
            .args(&flags)
            .run()
            .code(2)
            .stderr_has(message);
        assert!(!p.file("xpipeline.toml").exists(), "{flags:?}");
        assert!(!p.file("buildspec.yml").exists(), "{flags:?}");
    }
}

/// The sandbox's Python (it has PyYAML): the buildspec init writes read as YAML.
fn yaml_to_json(yaml: &str) -> serde_json::Value {
    let exe = std::env::var("XPIPELINE_SANDBOX_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").to_owned());
    let mut child = std::process::Command::new(exe)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the sandbox python runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "not YAML:\n{yaml}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn with_a_template_yaml_the_buildspec_packages_it_into_the_artifact_bucket() {
    let p = Project::new("demo-app", "main");
    p.write("template.yaml", "Resources: {}\n");
    p.cmd().args(init_args()).run().success();
    let spec = yaml_to_json(&p.read("buildspec.yml"));
    let vars = &spec["env"]["variables"];
    assert_eq!(vars["PACKAGE_BUCKET"], "demo-app-artifacts-111111111111");
    assert_eq!(vars["PACKAGE_PREFIX"], "demo-app-pipeline/packages");
    assert_eq!(vars["PACKAGE_KMS_KEY"], KEY);
    let commands = spec["phases"]["build"]["commands"].as_array().unwrap();
    let package = commands.last().unwrap().as_str().unwrap();
    assert!(
        package.starts_with("aws cloudformation package --template-file template.yaml "),
        "{package}"
    );
    for part in [
        "--s3-bucket \"$PACKAGE_BUCKET\"",
        "--s3-prefix \"$PACKAGE_PREFIX\"",
        "--kms-key-id \"$PACKAGE_KMS_KEY\"",
        "--output-template-file packaged.yaml",
    ] {
        assert!(package.contains(part), "{part} in {package}");
    }
    assert_eq!(
        spec["artifacts"]["files"],
        serde_json::json!(["target/debug/*", "packaged.yaml"])
    );

    // Before bootstrap has created the key, the alias it will give it.
    let q = Project::new("demo-app", "main");
    q.write("template.yaml", "Resources: {}\n");
    q.cmd()
        .args(["init", "--pipeline-account", "111111111111"])
        .args(["--source-account", "222222222222", "--region", "eu-west-1"])
        .run()
        .success();
    let spec = yaml_to_json(&q.read("buildspec.yml"));
    assert_eq!(
        spec["env"]["variables"]["PACKAGE_KMS_KEY"],
        "arn:aws:kms:eu-west-1:111111111111:alias/demo-app-pipeline-artifacts"
    );

    // Without a template, nothing is packaged.
    let r = Project::new("demo-app", "main");
    r.cmd().args(init_args()).run().success();
    assert!(!r.read("buildspec.yml").contains("cloudformation"));
}

#[test]
fn init_deploy_writes_entries_that_load_once_their_execution_policies_are_chosen() {
    let p = Project::new("demo-app", "main");
    let out = p
        .cmd()
        .args(init_args())
        .args([
            "--deploy",
            "Staging=333333333333",
            "--deploy",
            "Prod=444444444444",
        ])
        .args(["--approve", "Prod"])
        .run()
        .success();
    assert!(
        out.stdout
            .contains("deploy.execution-policies is not set yet"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("1. choose each [[deploy]] stage's execution-policies"),
        "{}",
        out.stdout
    );
    let text = p.read("xpipeline.toml");
    for expected in [
        "[[deploy]]\n# The stage name.\nname = \"Staging\"\n",
        "account = \"333333333333\"\n",
        "stack = \"demo-app-staging\"\n",
        // No template.yaml in the workspace: the template is the artifact's template.yaml.
        "template = \"template.yaml\"\n",
        "name = \"Prod\"\n",
        "# execution-policies = [\"arn:aws:iam::444444444444:policy/demo-app-prod-resources\"]\n",
        "\n[deploy.approval]\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    // Until the policies are chosen, the file is refused where the entry starts.
    let line = text
        .lines()
        .position(|l| l == "[[deploy]]")
        .expect("an entry")
        + 1;
    p.cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "plan"])
        .run()
        .code(2)
        .stderr_has(&format!(
            "xpipeline.toml:{line}:1: missing required key execution-policies in this [[deploy]]"
        ));
    p.write(
        "xpipeline.toml",
        &text.replace("# execution-policies = ", "execution-policies = "),
    );
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "plan"])
        .run();
    assert_ne!(out.code, 2, "the filled-in file loads:\n{}", out.stderr);

    // With a template.yaml, the entries deploy what the buildspec packages.
    let q = Project::new("demo-app", "main");
    q.write("template.yaml", "Resources: {}\n");
    q.cmd()
        .args(init_args())
        .args(["--deploy", "Staging=333333333333"])
        .run()
        .success();
    assert!(
        q.read("xpipeline.toml")
            .contains("template = \"packaged.yaml\"\n")
    );
}
