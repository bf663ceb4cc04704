//! The command line itself: help of every command (snapshotted), usage errors, exit codes.

use crate::support::{Project, xpipeline};

#[test]
fn help_of_every_command_is_stable() {
    let p = Project::new("demo-app", "main");
    for cmd in [
        None,
        Some("init"),
        Some("push"),
        Some("fetch"),
        Some("plan"),
        Some("status"),
        Some("policies"),
        Some("bootstrap"),
        Some("approve"),
        Some("schema"),
        Some("completions"),
    ] {
        let mut c = p.cmd();
        if let Some(cmd) = cmd {
            c = c.arg(cmd);
        }
        let out = c.arg("--help").run().success();
        assert!(out.stderr.is_empty(), "help goes to stdout: {}", out.stderr);
        insta::assert_snapshot!(format!("help_{}", cmd.unwrap_or("main")), out.stdout);
    }
}

#[test]
fn unknown_command_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    xpipeline(dir.path())
        .arg("deploy")
        .run()
        .code(2)
        .stderr_has("unrecognized subcommand 'deploy'");
}

#[test]
fn invalid_output_format_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    xpipeline(dir.path())
        .args(["--output", "yaml", "status"])
        .run()
        .code(2)
        .stderr_has("invalid value 'yaml' for '--output <OUTPUT>'");
}

#[test]
fn outside_a_cargo_workspace_the_error_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    xpipeline(dir.path())
        .arg("status")
        .run()
        .code(2)
        .stderr_has("cannot find the cargo workspace")
        .stderr_has("--config PATH");
}

#[test]
fn missing_config_file_names_init() {
    let p = Project::new("demo-app", "main");
    p.cmd()
        .arg("plan")
        .run()
        .code(2)
        .stderr_has("no xpipeline.toml at")
        .stderr_has("cargo xpipeline init");
}

#[test]
fn version_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    xpipeline(dir.path())
        .arg("--version")
        .run()
        .success()
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

#[test]
fn empty_ids_and_names_are_refused_before_any_call_naming_the_flag() {
    let p = Project::new("demo-app", "main");
    p.write(
        "xpipeline.toml",
        &crate::support::valid_config("111111111111", "222222222222", "eu-west-1"),
    );
    p.commit_all("declare the pipeline");
    for (args, message) in [
        (
            &["status", "--execution", ""][..],
            "--execution is empty: give an execution id",
        ),
        (
            &["status", "--watch", "--execution", " "][..],
            "--execution is empty",
        ),
        (
            &["logs", "--execution", ""][..],
            "--execution is empty: give an execution id",
        ),
        (
            &["logs", "--action", ""][..],
            "--action is empty: give an action name",
        ),
        (
            &["push", "--branch", ""][..],
            "--branch is empty: give a local branch name",
        ),
        (
            &["plan", "--commit", ""][..],
            "--commit is empty: give a commit id",
        ),
    ] {
        // -v lists every AWS call: there must be none; the endpoint would refuse one anyway.
        let out = p
            .cmd()
            .args(["-v", "--endpoint-url", "http://127.0.0.1:9"])
            .args(args)
            .run()
            .code(2)
            .stderr_has(message);
        assert!(!out.stderr.contains("aws:"), "{args:?}: {}", out.stderr);
    }
}
