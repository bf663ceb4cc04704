//! Settings resolved once: the region xpipeline.toml declares against --region and
//! AWS_REGION, and the XPIPELINE_* variables checked before any network call.

use crate::support::{Project, valid_config};

fn project() -> Project {
    let p = Project::new("demo-app", "main");
    p.write(
        "xpipeline.toml",
        &valid_config("111111111111", "222222222222", "eu-west-1"),
    );
    // Committed: push applies the xpipeline.toml of the commit it pushes.
    p.commit_all("declare the pipeline");
    p
}

/// An endpoint nothing listens on: a command that got as far as the network would exit 1.
const NOWHERE: &str = "http://127.0.0.1:9";

#[test]
fn a_region_flag_other_than_the_declared_one_stops_before_any_call() {
    let p = project();
    let out = p
        .cmd()
        .args(["--endpoint-url", NOWHERE, "--region", "us-east-1", "plan"])
        .run()
        .code(2)
        .stderr_has("--region is us-east-1 but pipeline.region in xpipeline.toml is eu-west-1");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn aws_region_other_than_the_declared_one_stops_push_before_anything_is_done() {
    let p = project();
    let head = p.git(&["rev-parse", "HEAD"]);
    p.cmd()
        .env("AWS_REGION", "us-east-1")
        .args(["--endpoint-url", NOWHERE, "push", "--dry-run"])
        .run()
        .code(2)
        .stderr_has("AWS_REGION is us-east-1 but pipeline.region")
        .stderr_has("drop AWS_REGION (or set it to eu-west-1)");
    // Nothing was half-done: no remote configured, HEAD where it was.
    assert_eq!(p.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(p.git(&["remote"]), "");
}

#[test]
fn the_declared_region_given_again_is_fine() {
    let p = project();
    p.cmd()
        .env("AWS_REGION", "eu-west-1")
        .args(["--region", "eu-west-1", "policies"])
        .run()
        .success()
        .stdout_has("arn:aws:kms:eu-west-1:111111111111:key/");
}

#[test]
fn an_xpipeline_variable_that_is_not_a_number_is_a_usage_error() {
    let p = project();
    p.cmd()
        .env("XPIPELINE_WATCH_OUTAGE", "five minutes")
        .args(["--endpoint-url", NOWHERE, "status"])
        .run()
        .code(2)
        .stderr_has(
            "XPIPELINE_WATCH_OUTAGE=\"five minutes\" is not a whole number from 1 to 86400",
        );
    p.cmd()
        .env("XPIPELINE_FIND_TIMEOUT", "0")
        .args(["--endpoint-url", NOWHERE, "status"])
        .run()
        .code(2)
        .stderr_has("XPIPELINE_FIND_TIMEOUT=\"0\"");
}

/// A command that fails offline: the error label shows whether colour is on.
fn failing(p: &Project) -> crate::support::Cmd {
    p.cmd()
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .args(["--config", "missing.toml", "policies"])
}

const RED_ERROR: &str = "\u{1b}[1;31merror\u{1b}[0m: ";

#[test]
fn piped_stderr_has_no_colour_by_default_and_color_always_colours_it() {
    let p = project();
    let plain = failing(&p).run().code(2);
    assert!(plain.stderr.starts_with("error: "), "{}", plain.stderr);
    assert!(!plain.stderr.contains('\u{1b}'), "{:?}", plain.stderr);
    let coloured = failing(&p).arg("--color").arg("always").run().code(2);
    assert!(
        coloured.stderr.starts_with(RED_ERROR),
        "{:?}",
        coloured.stderr
    );
}

#[test]
fn clicolor_force_colours_piped_output_and_no_color_wins_over_it() {
    let p = project();
    let forced = failing(&p).env("CLICOLOR_FORCE", "1").run().code(2);
    assert!(forced.stderr.starts_with(RED_ERROR), "{:?}", forced.stderr);
    let zero = failing(&p).env("CLICOLOR_FORCE", "0").run().code(2);
    assert!(!zero.stderr.contains('\u{1b}'), "{:?}", zero.stderr);
    let both = failing(&p)
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .run()
        .code(2);
    assert!(!both.stderr.contains('\u{1b}'), "{:?}", both.stderr);
    // An empty NO_COLOR does not count (no-color.org).
    let empty = failing(&p)
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "")
        .run()
        .code(2);
    assert!(empty.stderr.starts_with(RED_ERROR), "{:?}", empty.stderr);
    // --color never beats CLICOLOR_FORCE.
    let never = failing(&p)
        .env("CLICOLOR_FORCE", "1")
        .args(["--color", "never"])
        .run()
        .code(2);
    assert!(!never.stderr.contains('\u{1b}'), "{:?}", never.stderr);
}
