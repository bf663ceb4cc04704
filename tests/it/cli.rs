//! The command line itself: help of every command (snapshotted), usage errors, exit codes.

use crate::support::{Project, xpipeline};

#[test]
fn help_of_every_command_is_stable() {
    let p = Project::new("demo-app", "main");
    for cmd in [
        None,
        Some("init"),
        Some("push"),
        Some("plan"),
        Some("status"),
        Some("policies"),
        Some("bootstrap"),
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
