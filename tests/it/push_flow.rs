//! The order of `push`'s steps against the sandbox: a new pipeline's first push builds the
//! pushed commit and leaves no failed run; a role that cannot be assumed leaves nothing; a
//! pipeline that cannot be created after its commit landed says so; `status` explains a
//! creation run that found no branch; the branch rules; StartPipelineExecution retried on
//! ConflictException with one token; a refused push told from CodeCommit's API; Ctrl-C after
//! the push still prints the push result.

use std::time::Duration;

use serde_json::{Value, json};

use crate::status::fixture;
use crate::support::sandbox::{Sandbox, Scenario};
use crate::support::{Output, Project};

const PIPELINE: &str = "flow-pipeline";

fn project(sc: &Scenario, extra: &str) -> Project {
    let p = Project::new("flow-app", "main");
    p.write("xpipeline.toml", &format!("{}{extra}", sc.config(PIPELINE)));
    p.commit_all("declare the pipeline");
    p
}

fn push(p: &Project, sb: &Sandbox, args: &[&str]) -> Output {
    p.cmd().arg("push").args(args).envs(sb.env()).run()
}

fn head(sb: &Sandbox, sc: &Scenario) -> Option<String> {
    sb.branch_head(&sc.source_account, &sc.repository, "main")
}

/// The commit an execution's Source action fetched (as the control API renders it).
fn revision(e: &Value) -> Option<&str> {
    e["artifactRevisions"][0]["revisionId"].as_str()
}

#[test]
fn the_first_push_of_a_new_pipeline_builds_the_pushed_commit_and_leaves_no_failed_run() {
    let sb = Sandbox::start_with_stage_seconds(0.3);
    let sc = sb.seed();
    let p = project(&sc, "");
    let commit = p.git(&["rev-parse", "HEAD"]);
    let out = push(&p, &sb, &[])
        .success()
        .stderr_has("has no commit yet: pushing first, then creating the pipeline")
        .stderr_has("started by the creation of");
    assert!(
        out.stdout.contains(&format!("pushed {commit}")),
        "{}",
        out.stdout
    );
    // The commit went before the pipeline: the receive-pack precedes CreatePipeline.
    let calls: Vec<String> = sb.calls().into_iter().map(|c| c.action).collect();
    let at = |a: &str| {
        calls
            .iter()
            .position(|c| c == a)
            .unwrap_or_else(|| panic!("no {a}: {calls:?}"))
    };
    assert!(at("GitPush") < at("CreatePipeline"), "{calls:?}");
    // One execution: AWS's own, which built the pushed commit; nothing failed, none started.
    let runs = sb.executions(PIPELINE);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["trigger"]["triggerType"], "CreatePipeline");
    assert_eq!(runs[0]["status"], "Succeeded", "{runs:#?}");
    assert_eq!(revision(&runs[0]), Some(commit.as_str()));
    assert_eq!(sb.count("StartPipelineExecution"), 0);
    let status = p.cmd().arg("status").envs(sb.env()).run().success();
    assert!(
        !status.stdout.contains("created before its branch"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_role_that_cannot_be_assumed_leaves_no_pipeline_and_no_commit() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    // The trust asks for an external id the declaration does not send.
    let trust = sb.control(
        "GET",
        &format!("policy?arn={}&kind=trust", sc.source_role_arn),
        None,
    )["document"]
        .clone();
    let mut trust = trust;
    for s in trust["Statement"].as_array_mut().unwrap() {
        if s["Sid"] == "DevelopersPush" {
            s["Condition"] = json!({"StringEquals": {"sts:ExternalId": "the-right-one"}});
        }
    }
    sb.control(
        "POST",
        "policy",
        Some(&json!({"arn": sc.source_role_arn, "kind": "trust", "document": trust})),
    );
    let p = project(&sc, "");
    p.write(
        "xpipeline.toml",
        &sc.config(PIPELINE).replace(
            &format!("role-arn = \"{}\"\n", sc.source_role_arn),
            &format!(
                "role-arn = \"{}\"\nexternal-id = \"a-wrong-one\"\n",
                sc.source_role_arn
            ),
        ),
    );
    p.commit_all("a wrong external id");
    push(&p, &sb, &["--no-watch"])
        .code(1)
        .stderr_has(&format!("cannot assume {}", sc.source_role_arn));
    assert_eq!(sb.count("CreatePipeline"), 0, "no pipeline was created");
    assert_eq!(sb.count("GitPush"), 0);
    assert_eq!(head(&sb, &sc), None, "no commit landed");
    assert!(sb.executions(PIPELINE).is_empty());
}

#[test]
fn a_pipeline_that_cannot_be_created_after_its_commit_landed_says_both() {
    let sb = Sandbox::start_with_stage_seconds(0.3);
    let sc = sb.seed();
    let p = project(&sc, "");
    let commit = p.git(&["rev-parse", "HEAD"]);
    sb.control(
        "POST",
        "refuse-create",
        Some(&json!({"pipeline": PIPELINE})),
    );
    let out = push(&p, &sb, &[])
        .code(1)
        .stderr_has(&format!(
            "commit {} was pushed to branch main of repository {}, but pipeline {PIPELINE} was not created",
            &commit[..12],
            sc.repository
        ))
        .stderr_has("a CodePipeline quota is reached")
        .stderr_has("run `cargo xpipeline push` again");
    // What was done is on stdout all the same.
    assert!(
        out.stdout.contains(&format!("pushed {commit}")),
        "{}",
        out.stdout
    );
    assert_eq!(head(&sb, &sc).as_deref(), Some(commit.as_str()));
    assert!(sb.executions(PIPELINE).is_empty());

    // The fix it names works: the branch is there now, the pipeline goes first, and its own
    // run builds the commit.
    push(&p, &sb, &[]).success().stdout_has(&format!(
        "up to date: branch main of repository {}",
        sc.repository
    ));
    let runs = sb.executions(PIPELINE);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["status"], "Succeeded");
    assert_eq!(revision(&runs[0]), Some(commit.as_str()));
}

#[test]
fn status_explains_a_creation_run_that_found_no_branch() {
    let sb = Sandbox::start_with_stage_seconds(0.3);
    let sc = sb.seed();
    let p = Project::new("flow-app", "main");
    p.write("xpipeline.toml", &crate::status::config(&sc));
    p.commit_all("declare");
    // Created by hand before anything was pushed: AWS's run finds no branch.
    fixture::create_pipeline(&sb, &sc, "demo-app-pipeline");
    let id = fixture::latest_execution(&sb, "demo-app-pipeline");
    let began = std::time::Instant::now();
    while sb.executions("demo-app-pipeline")[0]["status"] != "Failed" {
        assert!(
            began.elapsed().as_secs() < 20,
            "the creation run never failed"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = p.cmd().arg("status").envs(sb.env()).run().success();
    let row = out
        .stdout
        .lines()
        .position(|l| l.starts_with(&format!("  {id}  ")))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[row].contains("Failed") && lines[row].contains("CreatePipeline"));
    assert_eq!(
        lines[row + 1].trim(),
        "the pipeline was created before its branch existed, so its first run found nothing to build; the next push builds it"
    );
    let json = p
        .cmd()
        .args(["status", "--output", "json"])
        .envs(sb.env())
        .run()
        .success();
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        v["executions"][0]["note"]
            .as_str()
            .is_some_and(|n| n.contains("created before its branch existed"))
    );
}

#[test]
fn another_local_branch_must_be_named_and_an_unborn_one_asks_for_a_first_commit() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc, "");
    p.git(&["checkout", "-q", "-b", "feature"]);
    let feature = p.commit_all("feature work");
    sb.clear_calls();
    let out = push(&p, &sb, &["--no-watch"])
        .code(2)
        .stderr_has("you are on branch feature, but pipeline flow-pipeline builds branch main (source.branch")
        .stderr_has("nothing was pushed")
        .stderr_has("cargo xpipeline push --branch feature")
        .stderr_has("git switch main");
    assert!(sb.calls().is_empty(), "no network call: {:?}", sb.calls());
    assert!(out.stdout.is_empty());
    assert_eq!(head(&sb, &sc), None);
    // Named, it goes.
    push(&p, &sb, &["--no-watch", "--branch", "feature"]).success();
    assert_eq!(head(&sb, &sc).as_deref(), Some(feature.as_str()));

    // A branch with no commit yet (an orphan, like a fresh `git init`).
    p.git(&["checkout", "-q", "--orphan", "fresh"]);
    p.cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .run()
        .code(2)
        .stderr_has("branch \"fresh\" has no commit yet: make a first commit");
}

#[test]
fn a_busy_pipeline_is_started_again_with_the_same_token_and_runs_once() {
    let sb = Sandbox::start_with_stage_seconds(0.3);
    let sc = sb.seed();
    let p = project(&sc, "");
    push(&p, &sb, &["--no-watch"]).success();
    p.write("src/lib.rs", "pub fn more() {}\n");
    let second = p.commit_all("second");
    sb.control(
        "POST",
        "conflict",
        Some(&json!({"pipeline": PIPELINE, "count": 1})),
    );
    let before = sb.executions(PIPELINE).len();
    push(&p, &sb, &["--no-watch"])
        .success()
        .stderr_has(
            "pipeline flow-pipeline is busy (ConflictException): starting the execution again in",
        )
        .stderr_has("with the same request token");
    let starts = sb.control("GET", "start-requests", None);
    let starts = starts.as_array().unwrap();
    assert_eq!(starts.len(), 2, "{starts:#?}");
    assert_eq!(starts[0]["outcome"], "ConflictException");
    assert_eq!(starts[1]["outcome"], "started");
    let token = starts[0]["clientRequestToken"].as_str().unwrap();
    assert!(
        token.starts_with(&format!("xpipeline-{}", &second[..12])),
        "{token}"
    );
    assert_eq!(
        starts[1]["clientRequestToken"], token,
        "the same token both times"
    );
    let runs = sb.executions(PIPELINE);
    assert_eq!(runs.len(), before + 1, "one execution: {runs:#?}");
}

#[test]
fn a_role_that_may_not_read_the_repository_is_told_in_aws_words() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc, "");
    // The push role keeps everything but CodeCommit.
    let role = &sc.source_role_arn;
    let mut perms =
        sb.control("GET", &format!("policy?arn={role}&kind=permissions"), None)["document"].clone();
    perms["Statement"].as_array_mut().unwrap().retain(|s| {
        ![
            "SourceAction",
            "PushTheConfiguredBranch",
            "ReadTheRepository",
        ]
        .contains(&s["Sid"].as_str().unwrap_or_default())
    });
    sb.control(
        "POST",
        "policy",
        Some(&json!({"arn": role, "kind": "permissions", "document": perms})),
    );
    let repo_arn = format!(
        "arn:aws:codecommit:{}:{}:{}",
        sc.region, sc.source_account, sc.repository
    );
    let role_name = role.rsplit('/').next().unwrap();
    let out = push(&p, &sb, &["--no-watch"])
        .code(1)
        .stderr_has(&format!("the role {role} may not even read the repository"))
        .stderr_has(&format!(":assumed-role/{role_name}/"))
        .stderr_has(&format!(
            "is not authorized to perform: codecommit:GetRepository on resource: {repo_arn}"
        ))
        .stderr_has("ReadTheRepository");
    assert!(!out.stderr.contains("Likely causes"), "{}", out.stderr);
    assert_eq!(head(&sb, &sc), None);
    assert!(sb.executions(PIPELINE).is_empty(), "nothing was created");
}

#[test]
fn a_missing_repository_is_told_from_get_repository() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = Project::new("flow-app", "main");
    p.write(
        "xpipeline.toml",
        &sc.config(PIPELINE).replace(
            &format!("repository = \"{}\"", sc.repository),
            "repository = \"no-such-repo\"",
        ),
    );
    p.commit_all("wrong repository");
    // A role that may read any repository of its account, so that AWS can say it is missing.
    let role = &sc.source_role_arn;
    let mut perms =
        sb.control("GET", &format!("policy?arn={role}&kind=permissions"), None)["document"].clone();
    perms["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "ReadAny", "Effect": "Allow",
        "Action": ["codecommit:GetRepository", "codecommit:GetBranch", "codecommit:GitPush"],
        "Resource": "*"
    }));
    sb.control(
        "POST",
        "policy",
        Some(&json!({"arn": role, "kind": "permissions", "document": perms})),
    );
    push(&p, &sb, &["--no-watch"])
        .code(1)
        .stderr_has(&format!(
            "repository no-such-repo not found in account {} ({}): CodeCommit's GetRepository says \"no-such-repo does not exist\"",
            sc.source_account, sc.region
        ))
        .stderr_has("create-repository");
    assert!(
        sb.executions(PIPELINE).is_empty(),
        "no pipeline without its repository"
    );
}

#[test]
fn ctrl_c_after_the_push_still_prints_the_push_result() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc, "");
    let commit = p.git(&["rev-parse", "HEAD"]);
    sb.hold(PIPELINE, "Build");
    let out = p
        .cmd()
        .arg("push")
        .env("HOME", p.path())
        .envs(sb.env())
        .interrupt_when(Duration::from_secs(30), || {
            sb.count("ListActionExecutions") >= 2
        });
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert_eq!(out.code, 1, "{stderr}");
    assert!(
        stdout.contains(&format!("pushed {commit}")),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stderr.contains("stopped watching execution"), "{stderr}");
    assert_eq!(head(&sb, &sc).as_deref(), Some(commit.as_str()));
}

#[test]
fn a_plain_text_429_reads_as_throttled_not_unhandled() {
    use std::io::{Read, Write};
    // An endpoint (a proxy, a load balancer) answering every request with a plain-text 429.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = [0u8; 65536];
            let _ = conn.read(&mut buf);
            let body = "Rate exceeded\n";
            let _ = write!(
                conn,
                "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = Project::new("flow-app", "main");
    p.write("xpipeline.toml", &sc.config(PIPELINE));
    p.commit_all("declare");
    let env: Vec<(String, String)> = sb
        .env()
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "AWS_ENDPOINT_URL" => (k, endpoint.clone()),
            _ => (k, v),
        })
        .collect();
    let out = p
        .cmd()
        .args(["plan"])
        .envs(env)
        .env("AWS_MAX_ATTEMPTS", "1")
        .run()
        .code(1)
        .stderr_has("throttled (HTTP 429): \"Rate exceeded\"");
    assert!(!out.stderr.contains("unhandled"), "{}", out.stderr);
}

#[test]
fn ctrl_c_while_waiting_for_an_execution_prints_the_push_and_how_to_look() {
    let sb = Sandbox::start_with_stage_seconds(0.3);
    let sc = sb.seed();
    // trigger = events without the EventBridge wiring: nothing ever starts the second push's run.
    let p = Project::new("flow-app", "main");
    p.write(
        "xpipeline.toml",
        &sc.config(PIPELINE)
            .replace("[artifacts]", "trigger = \"events\"\n\n[artifacts]"),
    );
    p.commit_all("declare");
    push(&p, &sb, &[]).success();
    p.write("NEXT", "next\n");
    let commit = p.commit_all("next");
    sb.clear_calls();
    // Interrupted once the commit landed and the wait for its execution began.
    let out = p
        .cmd()
        .arg("push")
        .env("XPIPELINE_FIND_TIMEOUT", "120")
        .envs(sb.env())
        .interrupt_when(Duration::from_secs(30), || {
            sb.count("GitPush") >= 1 && sb.count("ListPipelineExecutions") >= 1
        });
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert_eq!(out.code, 1, "{stderr}");
    assert!(
        stdout.contains(&format!("pushed {commit}")),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "interrupted after the push of commit {}, before its execution of pipeline {PIPELINE} was followed",
            &commit[..12]
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("cargo xpipeline status --watch"),
        "{stderr}"
    );
    assert_eq!(head(&sb, &sc).as_deref(), Some(commit.as_str()));
}
