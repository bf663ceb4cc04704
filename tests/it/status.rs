//! `status` against the local sandbox: the overview as one JSON document, `--watch` to the end
//! of the execution (exit 0 on success, 3 with the failing action's message otherwise), plain
//! output without a single control character, two calls a tick, and a watch that gives up
//! (exit 1) only after a sustained outage. The pipeline is created with boto3 and the commit
//! pushed straight into the sandbox's bare repository, so that these tests do not depend on
//! `push`.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Output, Project};
use fixture::{Sandbox, Scenario};

const PIPELINE: &str = "demo-app-pipeline";

pub(crate) fn config(s: &Scenario) -> String {
    s.config(PIPELINE)
}

/// A project declaring the seeded scenario, its commit on branch main of the sandbox's
/// CodeCommit repository, and the pipeline created (which starts an execution of that commit).
fn pipeline(sandbox: &Sandbox) -> (Project, String) {
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    p.write("xpipeline.toml", &config(&s));
    let commit = p.commit_all("Add the pipeline declaration");
    let repo = sandbox.repo_dir(&s.source_account, &s.repository);
    p.git(&["push", "-q", repo.to_str().unwrap(), "HEAD:main"]);
    fixture::create_pipeline(sandbox, &s, PIPELINE);
    (p, commit)
}

fn status(p: &Project, sandbox: &Sandbox, args: &[&str]) -> Output {
    p.cmd().arg("status").args(args).envs(sandbox.env()).run()
}

/// Every byte is printable, or a newline: no ESC, no CR, no spinner redraws.
#[track_caller]
fn assert_plain(text: &str) {
    for (i, b) in text.bytes().enumerate() {
        assert!(
            b >= 0x20 && b != 0x7f || b == b'\n',
            "control byte {b:#04x} at {i} in:\n{text}"
        );
    }
}

#[test]
fn on_a_terminal_each_action_gets_a_line_that_ends_in_a_mark() {
    let sandbox = Sandbox::start();
    let (p, commit) = pipeline(&sandbox);
    let out = p
        .cmd()
        .args(["status", "--watch"])
        .envs(sandbox.env())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .in_terminal()
        .run()
        .success();
    let screen = out.stdout;
    assert!(
        screen.contains("\u{1b}["),
        "a terminal gets cursor movements:\n{screen:?}"
    );
    assert!(
        screen.contains("✓ Source/Source  Succeeded in"),
        "{screen:?}"
    );
    assert!(screen.contains("✓ Build/Build  Succeeded in"), "{screen:?}");
    assert!(screen.contains(&commit[..12]), "{screen:?}");
}

#[test]
fn a_terminal_that_cannot_draw_gets_plain_lines_not_silence() {
    let sandbox = Sandbox::start();
    let (p, _) = pipeline(&sandbox);
    // No TERM (or TERM=dumb): spinners cannot be drawn; the changes still show, one a line.
    let out = p
        .cmd()
        .args(["status", "--watch"])
        .envs(sandbox.env())
        .env_remove("NO_COLOR")
        .env_remove("TERM")
        .in_terminal()
        .run()
        .success();
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
    assert!(
        out.stdout.contains("Build/Build Succeeded after"),
        "{:?}",
        out.stdout
    );
}

#[test]
fn status_json_is_one_document_naming_the_pipeline_and_the_latest_execution() {
    let sandbox = Sandbox::start();
    let (p, commit) = pipeline(&sandbox);
    let out = status(&p, &sandbox, &["--output", "json"]).success();
    let doc: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["pipeline"]["name"], PIPELINE);
    assert_eq!(doc["pipeline"]["type"], "V2");
    assert_eq!(doc["pipeline"]["pipelineAccount"], "123456789012");
    assert_eq!(doc["pipeline"]["sourceAccount"], "222222222222");
    let latest = &doc["executions"][0];
    assert!(
        ["InProgress", "Succeeded"].contains(&latest["status"].as_str().unwrap()),
        "{latest}"
    );
    assert_eq!(latest["revision"]["commit"], commit.as_str());
    assert_eq!(latest["trigger"], "CreatePipeline");
    let stages: Vec<&str> = doc["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["Source", "Build"]);
}

#[test]
fn status_text_lists_stages_and_recent_executions() {
    let sandbox = Sandbox::start();
    let (p, commit) = pipeline(&sandbox);
    let out = status(&p, &sandbox, &[]).success();
    assert!(
        out.stdout
            .starts_with(&format!("{PIPELINE} (V2, version 1"))
    );
    assert!(out.stdout.contains("source account 222222222222"));
    assert!(out.stdout.contains("Recent executions"));
    assert!(out.stdout.contains(&commit[..12]), "{}", out.stdout);
    assert!(out.stdout.contains("\"Add the pipeline declaration\""));
}

#[test]
fn polling_disabled_by_aws_shows_in_text_and_json() {
    let sandbox = Sandbox::start();
    let (p, _) = pipeline(&sandbox);
    let out = status(&p, &sandbox, &[]).success();
    assert!(!out.stdout.contains("polling disabled"), "{}", out.stdout);
    // What AWS does to a polling pipeline inactive for 30 days.
    sandbox.control(
        "POST",
        "polling-disabled",
        Some(&serde_json::json!({"pipeline": PIPELINE, "at": 1_767_323_045})),
    );
    let out = status(&p, &sandbox, &[]).success();
    assert!(
        out.stdout
            .contains("polling disabled by AWS since 2026-01-02T03:04:05Z (inactive for 30 days)"),
        "{}",
        out.stdout
    );
    let json: Value =
        serde_json::from_str(&status(&p, &sandbox, &["--output", "json"]).success().stdout)
            .unwrap();
    assert_eq!(
        json["pipeline"]["pollingDisabledAt"],
        "2026-01-02T03:04:05Z"
    );
}

#[test]
fn watch_follows_the_execution_to_succeeded_and_exits_0() {
    let sandbox = Sandbox::start();
    let (p, commit) = pipeline(&sandbox);
    let out = status(&p, &sandbox, &["--watch"]).success();
    assert!(
        out.stdout
            .starts_with(&format!("{PIPELINE} Succeeded execution ")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&commit[..12]));
    // One plain line per change, in order, on stderr.
    let source = out
        .stderr
        .find("Source/Source Succeeded")
        .expect("source line");
    let build = out
        .stderr
        .find("Build/Build Succeeded")
        .expect("build line");
    assert!(source < build, "{}", out.stderr);
    assert!(out.stderr.contains("execution Succeeded"));
    assert_plain(&out.stderr);
    assert_plain(&out.stdout);
}

#[test]
fn an_injected_build_failure_exits_3_naming_the_action_and_its_message() {
    let sandbox = Sandbox::start();
    sandbox.inject_failure(PIPELINE, "Build", "cargo test: 2 tests failed");
    let (p, _) = pipeline(&sandbox);
    let out = status(&p, &sandbox, &["--watch"])
        .code(3)
        .stderr_has("action Build/Build failed: JobFailed: cargo test: 2 tests failed");
    assert!(out.stdout.contains("Failed"), "{}", out.stdout);
    // Without a terminal: no control characters anywhere, progress or result.
    assert_plain(&out.stderr);
    assert_plain(&out.stdout);
}

#[test]
fn watch_json_prints_one_document_at_the_end_even_on_failure() {
    let sandbox = Sandbox::start();
    sandbox.inject_failure(PIPELINE, "Build", "linker error");
    let (p, _) = pipeline(&sandbox);
    let out = status(&p, &sandbox, &["--watch", "--output", "json"]).code(3);
    let doc: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["status"], "Failed");
    let build = &doc["stages"][1]["actions"][0];
    assert_eq!(build["status"], "Failed");
    assert_eq!(build["error"]["message"], "linker error");
    assert!(
        build["url"].as_str().unwrap().contains("codebuild"),
        "{build}"
    );
}

#[test]
fn a_superseded_execution_exits_3_saying_which_execution_superseded_it() {
    let sandbox = Sandbox::start();
    // The first execution stays in Build; the next two queue behind it, and the third
    // supersedes the second (SUPERSEDED mode).
    sandbox.hold(PIPELINE, "Build");
    let (p, _) = pipeline(&sandbox);
    let second = fixture::start_execution(&sandbox, PIPELINE);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let third = fixture::start_execution(&sandbox, PIPELINE);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    status(&p, &sandbox, &["--watch", "--execution", &second])
        .code(3)
        .stderr_has(&format!(
            "execution {second} of pipeline {PIPELINE} ended Superseded"
        ))
        .stderr_has(&third);
}

#[test]
fn a_stopped_execution_exits_3() {
    let sandbox = Sandbox::start();
    sandbox.hold(PIPELINE, "Build");
    let (p, _) = pipeline(&sandbox);
    let id = fixture::latest_execution(&sandbox, PIPELINE);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    fixture::stop_execution(&sandbox, PIPELINE, &id);
    let out = status(&p, &sandbox, &["--watch"])
        .code(3)
        .stderr_has(&format!(
            "execution {id} of pipeline {PIPELINE} ended Stopped"
        ));
    assert!(out.stdout.contains("Abandoned"), "{}", out.stdout);
}

#[test]
fn ctrl_c_stops_watching_not_the_pipeline_and_says_how_to_resume() {
    let sandbox = Sandbox::start();
    sandbox.hold(PIPELINE, "Build");
    let (p, _) = pipeline(&sandbox);
    let id = fixture::latest_execution(&sandbox, PIPELINE);
    sandbox.clear_calls();
    // Interrupted once it is watching.
    let out = p
        .cmd()
        .args(["status", "--watch", "--execution", &id])
        .envs(sandbox.env())
        .interrupt_when(Duration::from_secs(20), || {
            sandbox.count("ListActionExecutions") >= 2
        });
    let stderr = &out.stderr;
    assert_eq!(out.code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "stopped watching execution {id}; the execution itself goes on"
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("cargo xpipeline status --watch --execution {id}")));
    // Nothing was stopped: the execution still runs.
    let now: Value = serde_json::from_str(
        &status(&p, &sandbox, &["--execution", &id, "--output", "json"])
            .success()
            .stdout,
    )
    .unwrap();
    assert_eq!(now["status"], "InProgress");
    assert_eq!(sandbox.count("StopPipelineExecution"), 0);
}

#[test]
fn following_costs_two_calls_a_tick_and_nothing_else() {
    let sandbox = Sandbox::start();
    let (p, _) = pipeline(&sandbox);
    let id = fixture::latest_execution(&sandbox, PIPELINE);
    sandbox.clear_calls();
    status(&p, &sandbox, &["--watch", "--execution", &id]).success();
    let gets = sandbox.count("GetPipelineExecution");
    let lists = sandbox.count("ListActionExecutions");
    assert!(gets >= 1);
    assert_eq!(gets, lists, "one ListActionExecutions per tick");
    // Besides the ticks, one GetPipeline for the layout, and nothing else.
    assert_eq!(sandbox.count("GetPipeline"), 1);
    assert_eq!(fixture::codepipeline_calls(&sandbox), gets + lists + 1);
}

#[test]
fn execution_shows_that_execution_not_the_latest() {
    let sandbox = Sandbox::start();
    let (p, _) = pipeline(&sandbox);
    let first = fixture::latest_execution(&sandbox, PIPELINE);
    status(&p, &sandbox, &["--watch", "--execution", &first, "-q"]).success();
    fixture::start_execution(&sandbox, PIPELINE);
    let out = status(&p, &sandbox, &["--execution", &first, "--output", "json"]).success();
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["executionId"], first.as_str());
    assert_eq!(doc["status"], "Succeeded");
}

/// No ESC (or other control byte but the newline) anywhere in what a run printed.
#[track_caller]
fn assert_no_escape(out: &Output) {
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "a control byte reached the terminal:\n{text:?}"
        );
    }
}

#[test]
fn an_aws_error_message_echoing_escape_sequences_is_shown_escaped() {
    let sandbox = Sandbox::start();
    let (p, _) = pipeline(&sandbox);
    // The sandbox's PipelineExecutionNotFoundException, like AWS's, quotes the id it was sent.
    let id = "\u{1b}]0;pwned\u{7}\u{1b}[2Jx";
    let out = status(&p, &sandbox, &["--execution", id]).code(1);
    assert_no_escape(&out);
    assert!(
        out.stderr
            .contains("Pipeline execution with id ^[]0;pwned^G^[[2Jx does not exist"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_commit_message_with_escape_sequences_is_shown_without_them() {
    let sandbox = Sandbox::start();
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    p.write("xpipeline.toml", &config(&s));
    p.commit_all("Add \u{1b}]0;pwned\u{7}\u{1b}[31mred\u{1b}[0m declaration");
    let repo = sandbox.repo_dir(&s.source_account, &s.repository);
    p.git(&["push", "-q", repo.to_str().unwrap(), "HEAD:main"]);
    fixture::create_pipeline(&sandbox, &s, PIPELINE);
    let out = status(&p, &sandbox, &[]).success();
    assert_no_escape(&out);
    assert!(out.stdout.contains("red"), "{}", out.stdout);
    let out = status(&p, &sandbox, &["--watch"]).success();
    assert_no_escape(&out);
}

#[test]
fn status_of_a_missing_pipeline_says_how_to_create_it() {
    let sandbox = Sandbox::start();
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    p.write("xpipeline.toml", &config(&s));
    status(&p, &sandbox, &[])
        .code(1)
        .stderr_has("does not have a pipeline with name 'demo-app-pipeline'")
        .stderr_has("cargo xpipeline push");
}

#[test]
fn the_watch_gives_up_with_exit_1_only_after_a_sustained_outage() {
    // Nothing listens on the port: every call fails before any response.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let p = Project::new("demo-app", "main");
    p.write(
        "xpipeline.toml",
        &crate::support::valid_config("123456789012", "222222222222", "eu-west-1"),
    );
    let began = std::time::Instant::now();
    let out = p
        .cmd()
        .args(["status", "--watch", "--execution", "e-1"])
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("XPIPELINE_WATCH_OUTAGE", "3")
        .run()
        .code(1);
    assert!(
        began.elapsed() >= std::time::Duration::from_secs(3),
        "gave up before the outage limit"
    );
    let out = out
        .stderr_has("CodePipeline has not answered for")
        .stderr_has("cargo xpipeline status --watch --execution e-1");
    // It kept trying in between, saying so.
    assert!(
        out.stderr.matches("retrying in").count() >= 2,
        "{}",
        out.stderr
    );
}

/// The sandbox fixture, and boto3 (from the sandbox's Python) for what a test does "out of
/// band": create the pipeline, start, stop or look up executions.
pub(crate) mod fixture {
    use std::process::Command;

    pub use crate::support::sandbox::{Sandbox, Scenario};

    fn python_exe() -> String {
        std::env::var("XPIPELINE_SANDBOX_PYTHON")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").to_owned())
    }

    /// How many CodePipeline calls the sandbox received.
    pub fn codepipeline_calls(sandbox: &Sandbox) -> usize {
        sandbox
            .calls()
            .iter()
            .filter(|c| c.service == "codepipeline")
            .count()
    }

    /// Run `script` with `cp`, a boto3 CodePipeline client of the pipeline account.
    pub fn boto3(sandbox: &Sandbox, script: &str) -> String {
        let out = Command::new(python_exe())
            .arg("-c")
            .arg(format!(
                "import boto3, json, os\n\
                 cp = boto3.client('codepipeline', endpoint_url=os.environ['AWS_ENDPOINT_URL'], \
                 region_name=os.environ['AWS_REGION'])\n{script}"
            ))
            .envs(sandbox.env())
            .output()
            .expect("the sandbox python runs");
        assert!(
            out.status.success(),
            "boto3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The declared pipeline (model::pipeline::declare), created out of band; AWS starts an execution.
    pub fn create_pipeline(sandbox: &Sandbox, s: &Scenario, name: &str) {
        let decl = serde_json::json!({
            "name": name,
            "roleArn": s.service_role_arn,
            "pipelineType": "V2",
            "executionMode": "SUPERSEDED",
            "artifactStore": {"type": "S3", "location": s.bucket,
                              "encryptionKey": {"id": s.kms_key_arn, "type": "KMS"}},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS",
                                     "provider": "CodeCommit", "version": "1"},
                    "roleArn": s.source_role_arn,
                    "configuration": {"RepositoryName": s.repository, "BranchName": "main",
                                      "PollForSourceChanges": "false"},
                    "outputArtifacts": [{"name": "SourceArtifact"}]}]},
                {"name": "Build", "actions": [{
                    "name": "Build",
                    "actionTypeId": {"category": "Build", "owner": "AWS",
                                     "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": s.build_project},
                    "inputArtifacts": [{"name": "SourceArtifact"}],
                    "outputArtifacts": [{"name": "BuildArtifact"}]}]}
            ]
        });
        boto3(
            sandbox,
            &format!(
                "cp.create_pipeline(pipeline=json.loads({:?}))",
                decl.to_string()
            ),
        );
    }

    pub fn latest_execution(sandbox: &Sandbox, name: &str) -> String {
        boto3(
            sandbox,
            &format!(
                "print(cp.list_pipeline_executions(pipelineName='{name}')\
                 ['pipelineExecutionSummaries'][0]['pipelineExecutionId'])"
            ),
        )
    }

    pub fn stop_execution(sandbox: &Sandbox, name: &str, id: &str) {
        boto3(
            sandbox,
            &format!(
                "cp.stop_pipeline_execution(pipelineName='{name}', pipelineExecutionId='{id}', \
                 abandon=True, reason='stopped by the test')"
            ),
        );
    }

    pub fn start_execution(sandbox: &Sandbox, name: &str) -> String {
        boto3(
            sandbox,
            &format!("print(cp.start_pipeline_execution(name='{name}')['pipelineExecutionId'])"),
        )
    }
}
