//! The build behind the Build action, against the local sandbox (which makes it a CodeBuild
//! build record with phases and a CloudWatch log): the failed phase and the failing lines on
//! failure, `--logs` streaming every line once and in order, `logs` (whole, `-n`, `--follow`,
//! JSON), and log text that cannot drive the terminal.

use serde_json::{Value, json};

use crate::status::config;
use crate::support::sandbox::Sandbox;
use crate::support::{Output, Project};

const PHASES: [&str; 10] = [
    "SUBMITTED",
    "QUEUED",
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
];

fn project(sandbox: &Sandbox) -> Project {
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    p.write("xpipeline.toml", &config(&s));
    p.commit_all("Declare the pipeline");
    p
}

/// The next build of the seeded project prints `lines` in BUILD, and fails there with
/// `fail` as its context message when given.
fn script(sandbox: &Sandbox, lines: &[String], fail: Option<&str>) {
    let mut body = json!({"project": "xpipeline-demo-build", "lines": lines});
    if let Some(message) = fail {
        body["fail"] = json!("BUILD");
        body["message"] = json!(message);
    }
    sandbox.control("POST", "build-script", Some(&body));
}

fn xp(p: &Project, sandbox: &Sandbox, args: &[&str]) -> Output {
    p.cmd().args(args).envs(sandbox.env()).run()
}

fn compiler_error() -> Vec<String> {
    [
        "   Compiling demo-app v0.1.0 (/codebuild/output/src1/src)",
        "error[E0425]: cannot find value `x` in this scope",
        " --> src/lib.rs:2:5",
        "  |",
        "2 |     x",
        "  |     ^ not found in this scope",
        "\u{1b}]0;owned title\u{7}\u{1b}[2J\u{1b}[31mred\u{1b}[0m after a clear",
    ]
    .map(String::from)
    .to_vec()
}

const CONTEXT: &str = "Error while executing command: cargo build. Reason: exit status 101";

#[test]
fn a_build_failing_in_build_shows_its_phase_and_failing_lines_then_exits_3() {
    let sandbox = Sandbox::start_with_stage_seconds(2.0);
    let p = project(&sandbox);
    // The execution CreatePipeline starts fails in Source (no branch yet): the script goes
    // to the build of the pushed commit.
    script(&sandbox, &compiler_error(), Some(CONTEXT));
    let out = xp(&p, &sandbox, &["push"]).code(3);
    let err = &out.stderr;
    let phase_line = format!("failed in phase BUILD: COMMAND_EXECUTION_ERROR: {CONTEXT}");
    let at_phase = err.find(&phase_line).unwrap_or_else(|| panic!("{err}"));
    let at_before = err
        .find("Build│    Compiling demo-app v0.1.0")
        .unwrap_or_else(|| panic!("{err}"));
    let at_error = err
        .find("Build│ error[E0425]: cannot find value `x` in this scope")
        .unwrap_or_else(|| panic!("{err}"));
    let at_final = err
        .find("\nerror: execution")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        at_phase < at_before && at_before < at_error && at_error < at_final,
        "{err}"
    );
    // Plain mode: no control character reaches the pipe, and the sequences are gone whole.
    assert!(!err.chars().any(|c| c.is_control() && c != '\n'), "{err:?}");
    assert!(err.contains("Build│ red after a clear"), "{err}");
    assert!(!err.contains("owned title"), "{err}");

    // JSON carries the failed phase and the same lines.
    script(&sandbox, &compiler_error(), Some(CONTEXT));
    p.write("src/lib.rs", "pub fn f() -> u32 {\n    x\n}\n");
    p.commit_all("Use x");
    let out = xp(
        &p,
        &sandbox,
        &["push", "--output", "json", "--log-lines", "12"],
    )
    .code(3);
    let doc: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    let build = doc["execution"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["actions"].as_array().unwrap())
        .find(|a| a["action"] == "Build")
        .expect("the Build action")["build"]
        .clone();
    assert_eq!(build["buildStatus"], "FAILED");
    assert_eq!(build["failedPhase"]["phase"], "BUILD");
    assert_eq!(build["failedPhase"]["code"], "COMMAND_EXECUTION_ERROR");
    assert_eq!(build["failedPhase"]["message"], CONTEXT);
    let tail: Vec<&str> = build["logTail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(tail.len(), 12, "{tail:?}");
    assert!(tail.contains(&"error[E0425]: cannot find value `x` in this scope"));
    assert!(
        tail.last()
            .unwrap()
            .contains("Phase context status code: COMMAND_EXECUTION_ERROR")
    );
    assert!(
        build["logTail"][0]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[test]
fn push_with_logs_shows_every_line_of_a_500_line_build_once_in_order_and_the_phases_in_order() {
    // Each build phase lasts 0.8 s: ticks (2 s apart at most while lines arrive) see several.
    let sandbox = Sandbox::start_with_stage_seconds(8.0);
    let p = project(&sandbox);
    let lines: Vec<String> = (0..500)
        .map(|i| format!("line {i:03} of the build"))
        .collect();
    script(&sandbox, &lines, None);
    sandbox.clear_calls();
    let out = xp(&p, &sandbox, &["push", "--logs"]).success();
    let shown: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.split_once("Build│ line ").map(|(_, rest)| rest))
        .collect();
    let expected: Vec<String> = (0..500).map(|i| format!("{i:03} of the build")).collect();
    assert_eq!(shown, expected, "every line once, in order");
    let phases: Vec<usize> = out
        .stderr
        .lines()
        .filter_map(|l| l.split_once(" Build/Build phase ").map(|(_, p)| p))
        .map(|p| PHASES.iter().position(|x| *x == p).expect(p))
        .collect();
    assert!(phases.len() >= 3, "{}", out.stderr);
    assert!(phases.windows(2).all(|w| w[0] < w[1]), "{phases:?}");
    // At most 4 calls a tick: one BatchGetBuilds and one GetLogEvents per tick while the
    // build runs (plus the pages that drain it at its end).
    let ticks = sandbox.count("GetPipelineExecution");
    assert!(sandbox.count("BatchGetBuilds") <= ticks);
    assert!(sandbox.count("GetLogEvents") <= ticks + 50 / 10);
}

#[test]
fn logs_follows_a_running_build_to_its_end_and_shows_a_finished_one() {
    let sandbox = Sandbox::start_with_stage_seconds(4.0);
    let p = project(&sandbox);
    let lines: Vec<String> = (0..30).map(|i| format!("step {i}")).collect();
    script(&sandbox, &lines, None);
    let started = xp(&p, &sandbox, &["push", "--no-watch", "--output", "json"]).success();
    let id = serde_json::from_str::<Value>(&started.stdout).unwrap()["execution"]["executionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = xp(&p, &sandbox, &["logs", "--follow", "--execution", &id]).success();
    let steps: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("step "))
        .collect();
    assert_eq!(steps, lines.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.stdout
            .contains("Phase complete: FINALIZING State: SUCCEEDED")
    );

    // The finished build: the whole log, its last lines, and JSON lines.
    let whole = xp(&p, &sandbox, &["logs", "--execution", &id]).success();
    assert_eq!(whole.stdout, out.stdout);
    let last = xp(&p, &sandbox, &["logs", "--execution", &id, "-n", "3"]).success();
    let want: Vec<&str> = whole.stdout.lines().rev().take(3).collect::<Vec<_>>();
    assert_eq!(last.stdout.lines().rev().collect::<Vec<_>>(), want);
    let json = xp(&p, &sandbox, &["logs", "--output", "json", "-n", "2"]).success();
    for line in json.stdout.lines() {
        let v: Value = serde_json::from_str(line).expect("one JSON object a line");
        assert_eq!(v["action"], "Build");
        assert!(v["timestamp"].as_str().unwrap().contains('T'));
        assert!(v["message"].is_string());
    }
    assert_eq!(json.stdout.lines().count(), 2);

    // A failing build: --follow exits 3 with it.
    script(&sandbox, &compiler_error(), Some(CONTEXT));
    p.write("src/lib.rs", "pub fn f() {}\n");
    p.commit_all("Another");
    let started = xp(&p, &sandbox, &["push", "--no-watch", "--output", "json"]).success();
    let id = serde_json::from_str::<Value>(&started.stdout).unwrap()["execution"]["executionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = xp(&p, &sandbox, &["logs", "-f", "--execution", &id])
        .code(3)
        .stderr_has("ended FAILED: phase BUILD FAILED");
    assert!(out.stdout.contains("error[E0425]"), "{}", out.stdout);
}

#[test]
fn on_a_terminal_colours_survive_and_every_other_sequence_is_shown_escaped() {
    let sandbox = Sandbox::start();
    let p = project(&sandbox);
    script(&sandbox, &compiler_error(), None);
    let out = xp(&p, &sandbox, &["push", "--output", "json"]).success();
    let id = serde_json::from_str::<Value>(&out.stdout).unwrap()["execution"]["executionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let tty = p
        .cmd()
        .args(["logs", "--execution", &id])
        .envs(sandbox.env())
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .in_terminal()
        .run()
        .success();
    let line = tty
        .stdout
        .lines()
        .find(|l| l.contains("after a clear"))
        .unwrap_or_else(|| panic!("{:?}", tty.stdout));
    assert!(line.contains("\u{1b}[31mred\u{1b}[0m"), "{line:?}");
    assert!(line.contains("^[]0;owned title^G^[[2J"), "{line:?}");
    assert!(
        !line.contains("\u{1b}]") && !line.contains("\u{1b}[2J"),
        "{line:?}"
    );
    assert!(!line.contains('\u{7}'), "{line:?}");
    // Through a pipe: no escape sequence at all.
    let piped = xp(&p, &sandbox, &["logs", "--execution", &id]).success();
    assert!(!piped.stdout.contains('\u{1b}'), "{:?}", piped.stdout);
    assert!(piped.stdout.contains("red after a clear"));
}

#[test]
fn bad_flags_name_themselves() {
    let sandbox = Sandbox::start();
    let p = project(&sandbox);
    xp(&p, &sandbox, &["push", "-q"]).success();
    xp(&p, &sandbox, &["logs", "--action", "Buidl"])
        .code(2)
        .stderr_has("--action Buidl: pipeline demo-app-pipeline has no such action (its actions: Source/Source, Build/Build)");
    xp(&p, &sandbox, &["push", "--log-lines", "many"])
        .code(2)
        .stderr_has("--log-lines");
    xp(&p, &sandbox, &["status", "--logs"])
        .code(2)
        .stderr_has("--logs streams the log of a watched build: add --watch");
    xp(&p, &sandbox, &["logs", "--action", "Source"])
        .code(1)
        .stderr_has("has no build of action Source to show");
}
