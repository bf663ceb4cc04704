//! `push` follows the execution that builds the pushed commit, against the local sandbox:
//! exit 0 when it succeeds, 3 with the failing action's message otherwise; one execution per
//! pushed commit (also when creating the pipeline started one by itself); `--no-watch` starts
//! it and says how to follow it.

use serde_json::Value;

use crate::status::config;
use crate::support::sandbox::Sandbox;
use crate::support::{Output, Project};

const PIPELINE: &str = "demo-app-pipeline";

fn project(sandbox: &Sandbox) -> Project {
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    p.write("xpipeline.toml", &config(&s));
    p.commit_all("Declare the pipeline");
    p
}

fn push(p: &Project, sandbox: &Sandbox, extra: &[&str]) -> Output {
    p.cmd().arg("push").args(extra).envs(sandbox.env()).run()
}

/// The executions whose source revision is `commit`.
fn executions_of(sandbox: &Sandbox, commit: &str) -> Vec<Value> {
    sandbox
        .executions(PIPELINE)
        .into_iter()
        .filter(|e| {
            e["artifactRevisions"]
                .as_array()
                .is_some_and(|r| r.iter().any(|a| a["revisionId"] == commit))
        })
        .collect()
}

#[test]
fn push_follows_the_execution_of_the_pushed_commit_to_succeeded() {
    let sandbox = Sandbox::start();
    let p = project(&sandbox);
    let commit = p.git(&["rev-parse", "HEAD"]);
    let out = push(&p, &sandbox, &["--output", "json"]).success();
    let doc: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["commit"], commit.as_str());
    assert_eq!(doc["execution"]["status"], "Succeeded");
    assert_eq!(doc["execution"]["revision"]["commit"], commit.as_str());
    assert!(
        out.stderr.contains("Build/Build Succeeded"),
        "{}",
        out.stderr
    );
    // Creating the pipeline started an execution by itself (before the push: it could not
    // fetch the branch); exactly one execution built the pushed commit.
    assert_eq!(executions_of(&sandbox, &commit).len(), 1);
}

#[test]
fn a_second_push_starts_one_execution_pinned_to_its_commit() {
    let sandbox = Sandbox::start();
    let p = project(&sandbox);
    push(&p, &sandbox, &["-q"]).success();
    p.write("src/lib.rs", "pub fn answer() -> u32 { 42 }\n");
    let second = p.commit_all("Add the answer");
    sandbox.clear_calls();
    let out = push(&p, &sandbox, &[]).success();
    assert_eq!(sandbox.count("StartPipelineExecution"), 1);
    // Following: two calls a tick, no more.
    assert_eq!(
        sandbox.count("GetPipelineExecution"),
        sandbox.count("ListActionExecutions")
    );
    assert!(
        out.stdout.contains(&format!("pushed {second}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Succeeded execution"), "{}", out.stdout);
    let runs = executions_of(&sandbox, &second);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["trigger"]["triggerType"], "StartPipelineExecution");
}

#[test]
fn a_build_failure_makes_push_exit_3_with_the_actions_message() {
    let sandbox = Sandbox::start();
    let p = project(&sandbox);
    push(&p, &sandbox, &["-q"]).success();
    sandbox.inject_failure(PIPELINE, "Build", "error[E0425]: cannot find value `x`");
    p.write("src/main.rs", "fn main() { x }\n");
    p.commit_all("Break the build");
    let out = push(&p, &sandbox, &[])
        .code(3)
        .stderr_has("action Build/Build failed: JobFailed: error[E0425]: cannot find value `x`");
    // The push itself happened and is reported on stdout, with the failed execution.
    assert!(out.stdout.contains("pushed "), "{}", out.stdout);
    assert!(out.stdout.contains("Failed"), "{}", out.stdout);
    for b in out.stderr.bytes().chain(out.stdout.bytes()) {
        assert!(b >= 0x20 || b == b'\n', "control byte {b:#04x}");
    }
}

#[test]
fn no_watch_starts_the_execution_and_says_how_to_follow_it() {
    let sandbox = Sandbox::start();
    let p = project(&sandbox);
    push(&p, &sandbox, &["-q"]).success();
    p.write("README.md", "hello\n");
    let commit = p.commit_all("Add a readme");
    let out = push(&p, &sandbox, &["--no-watch", "--output", "json"]).success();
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let id = doc["execution"]["executionId"]
        .as_str()
        .expect("the execution id");
    assert!(doc["execution"].get("status").is_none(), "not followed");
    assert!(
        out.stderr
            .contains(&format!("cargo xpipeline status --watch --execution {id}")),
        "{}",
        out.stderr
    );
    let runs = executions_of(&sandbox, &commit);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["pipelineExecutionId"], id);
}

#[test]
fn with_trigger_poll_push_finds_the_execution_aws_started_for_the_commit() {
    let sandbox = Sandbox::start();
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    p.write(
        "xpipeline.toml",
        &config(&s).replace("[artifacts]", "trigger = \"poll\"\n\n[artifacts]"),
    );
    let first = p.commit_all("Declare a polled pipeline");
    // The first push creates the pipeline after the commit: its own run builds it.
    let out = push(&p, &sandbox, &["--output", "json"]).success();
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["execution"]["revision"]["commit"], first.as_str());
    assert_eq!(doc["execution"]["trigger"], "CreatePipeline");
    p.write("src/lib.rs", "pub fn polled() {}\n");
    let commit = p.commit_all("Polled");
    let out = push(&p, &sandbox, &["--output", "json"]).success();
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["execution"]["status"], "Succeeded");
    assert_eq!(doc["execution"]["revision"]["commit"], commit.as_str());
    assert_eq!(doc["execution"]["trigger"], "PollForSourceChanges");
    assert_eq!(sandbox.count("StartPipelineExecution"), 0);
}

#[test]
fn with_trigger_events_and_no_rule_push_stops_waiting_and_names_the_cause() {
    let sandbox = Sandbox::start();
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    p.write(
        "xpipeline.toml",
        &config(&s).replace("[artifacts]", "trigger = \"events\"\n\n[artifacts]"),
    );
    p.commit_all("Declare a pipeline started by events");
    // The first push creates the pipeline after the commit: its own run builds it.
    p.cmd().arg("push").envs(sandbox.env()).run().success();
    p.write("src/lib.rs", "pub fn evented() {}\n");
    p.commit_all("Evented");
    let out = p
        .cmd()
        .arg("push")
        .envs(sandbox.env())
        .env("XPIPELINE_FIND_TIMEOUT", "3")
        .run()
        .code(1)
        .stderr_has("has picked up commit")
        .stderr_has("EventBridge rule")
        .stderr_has("`cargo xpipeline bootstrap` creates or repairs that wiring");
    // The push itself happened before the wait.
    assert!(out.stderr.contains("sent "), "{}", out.stderr);
    assert_eq!(sandbox.count("StartPipelineExecution"), 0);
}

#[test]
fn pushing_a_built_commit_again_starts_nothing_and_rebuild_starts_one() {
    let sandbox = Sandbox::start();
    let p = project(&sandbox);
    let commit = p.git(&["rev-parse", "HEAD"]);
    push(&p, &sandbox, &["-q"]).success();
    assert_eq!(executions_of(&sandbox, &commit).len(), 1);
    // Again: the branch is at the commit and its execution ended: its result, nothing started.
    sandbox.clear_calls();
    let out = push(&p, &sandbox, &[]).success();
    assert_eq!(sandbox.count("StartPipelineExecution"), 0);
    assert_eq!(executions_of(&sandbox, &commit).len(), 1);
    assert!(
        out.stderr.contains(&format!(
            "branch main already is at commit {}, which execution",
            &commit[..12]
        )) && out
            .stderr
            .contains("(Succeeded): its result follows; --rebuild starts a new execution"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("Succeeded execution"), "{}", out.stdout);
    // --rebuild: a second execution of the same commit.
    push(&p, &sandbox, &["-q", "--rebuild"]).success();
    assert_eq!(sandbox.count("StartPipelineExecution"), 1);
    assert_eq!(executions_of(&sandbox, &commit).len(), 2);
}

#[test]
fn pushing_a_commit_whose_build_failed_again_reports_the_failure_with_exit_3() {
    let sandbox = Sandbox::start();
    let p = project(&sandbox);
    let commit = p.git(&["rev-parse", "HEAD"]);
    sandbox.inject_failure(PIPELINE, "Build", "cargo test failed");
    push(&p, &sandbox, &["-q"]).code(3);
    sandbox.clear_calls();
    push(&p, &sandbox, &[])
        .code(3)
        .stderr_has("(Failed): its result follows")
        .stderr_has("cargo test failed");
    assert_eq!(sandbox.count("StartPipelineExecution"), 0);
    assert_eq!(executions_of(&sandbox, &commit).len(), 1);
}
