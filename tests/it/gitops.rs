//! GitOps against the sandbox: `push` applies the xpipeline.toml of the commit it pushes
//! (never uncommitted changes), the pipeline's xpipeline-declared-by tag names that commit
//! (written with every write, and only then), `status` shows it, `plan` previews the working
//! tree or `--commit REV` and says what is not committed or declared elsewhere, and a revert
//! reverts the pipeline.

use serde_json::Value;

use crate::support::sandbox::{Sandbox, Scenario};
use crate::support::{Output, Project, valid_config};

const PIPELINE: &str = "gitops-pipeline";
const TAG: &str = "xpipeline-declared-by";
/// An endpoint nothing listens on: a command that got as far as the network would exit 1.
const NOWHERE: &str = "http://127.0.0.1:9";

/// xpipeline.toml for the scenario, building with `project`.
fn declaring(s: &Scenario, project: &str) -> String {
    s.config(PIPELINE).replace(
        &format!("project = \"{}\"", s.build_project),
        &format!("project = \"{project}\""),
    )
}

fn run(p: &Project, sb: &Sandbox, args: &[&str]) -> Output {
    p.cmd().args(args).envs(sb.env()).run()
}

fn push(p: &Project, sb: &Sandbox, extra: &[&str]) -> Output {
    let args = [&["push", "--no-watch"][..], extra].concat();
    run(p, sb, &args)
}

fn json(out: Output) -> Value {
    serde_json::from_str(&out.success().stdout).expect("one JSON document on stdout")
}

/// The live pipeline's build project and its tags, read with boto3 (not through the tool).
fn live(sb: &Sandbox, s: &Scenario) -> (String, Value) {
    let script = format!(
        "import boto3, json, os\n\
         cp = boto3.client('codepipeline', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='{region}')\n\
         r = cp.get_pipeline(name='{PIPELINE}')\n\
         tags = cp.list_tags_for_resource(resourceArn=r['metadata']['pipelineArn'])['tags']\n\
         print(json.dumps({{'project': r['pipeline']['stages'][1]['actions'][0]['configuration']['ProjectName'], \
         'tags': {{t['key']: t['value'] for t in tags}}}}))",
        region = s.region
    );
    let exe = std::env::var("XPIPELINE_SANDBOX_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").to_owned());
    let out = std::process::Command::new(exe)
        .arg("-c")
        .arg(script)
        .envs(sb.env())
        .output()
        .expect("the sandbox python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (v["project"].as_str().unwrap().to_owned(), v["tags"].clone())
}

/// CreatePipeline, UpdatePipeline and TagResource calls so far.
fn writes(sb: &Sandbox) -> [usize; 3] {
    ["CreatePipeline", "UpdatePipeline", "TagResource"].map(|a| sb.count(a))
}

#[test]
fn push_applies_the_committed_declaration_and_a_revert_reverts_the_pipeline() {
    let sb = Sandbox::start();
    let s = sb.seed();
    let p = Project::new("gitops-app", "main");
    p.write("xpipeline.toml", &declaring(&s, "project-a"));
    let a = p.commit_all("build with project A");
    push(&p, &sb, &[]).success();
    assert_eq!(live(&sb, &s).0, "project-a");

    // B in the working tree only: plan previews it and says it is not committed...
    p.write("xpipeline.toml", &declaring(&s, "project-b"));
    run(&p, &sb, &["plan"])
        .success()
        .stdout_has(r#"configuration.ProjectName: "project-a" -> "project-b""#)
        .stdout_has(&format!(
            "xpipeline.toml in the working tree differs from xpipeline.toml@{} (HEAD): these changes are not committed",
            &a[..12]
        ));
    let plan = json(run(&p, &sb, &["plan", "--output", "json"]));
    assert_eq!(plan["uncommitted"], true);
    assert_eq!(plan["declaration"], "xpipeline.toml");
    assert_eq!(plan["changes"].as_array().unwrap().len(), 1, "{plan}");
    assert_eq!(plan["declaredBy"]["commit"], a.as_str());
    assert_eq!(plan["declaredBy"]["local"]["reach"], "onBranch");
    // ...while the committed file is what the pipeline is.
    run(&p, &sb, &["plan", "--commit", "HEAD"])
        .success()
        .stdout_has(&format!("pipeline {PIPELINE} (version 1): no changes"))
        .stdout_has(&format!("compared xpipeline.toml@{}", &a[..12]));
    let at_head = json(run(
        &p,
        &sb,
        &["plan", "--commit", "HEAD", "--output", "json"],
    ));
    assert_eq!(at_head["commit"], a.as_str());
    assert_eq!(at_head["changes"], serde_json::json!([]));
    assert!(at_head.get("uncommitted").is_none(), "{at_head}");

    // push leaves the pipeline on A and says B is not applied.
    let before = writes(&sb);
    push(&p, &sb, &[]).success().stderr_has(&format!(
        "xpipeline.toml has uncommitted changes that push does not apply: it applies xpipeline.toml@{}",
        &a[..12]
    ));
    assert_eq!(live(&sb, &s).0, "project-a");
    assert_eq!(writes(&sb), before, "nothing to apply: no write call");

    // Committed, B is applied, and the pipeline names the commit that declared it.
    let b = p.commit_all("build with project B");
    push(&p, &sb, &[]).success().stderr_has(&format!(
        "updated pipeline {PIPELINE} (version 2) from xpipeline.toml@{0}; {TAG}={0}",
        &b[..12]
    ));
    let (project, tags) = live(&sb, &s);
    assert_eq!(project, "project-b");
    assert_eq!(tags[TAG], b.as_str());
    run(&p, &sb, &["status"])
        .success()
        .stdout_has(&format!("  declared by {} (main)\n", &b[..12]));
    let status = json(run(&p, &sb, &["status", "--output", "json"]));
    assert_eq!(
        status["pipeline"]["declaredBy"],
        serde_json::json!({"commit": b, "local": {"branch": "main", "reach": "onBranch"}})
    );

    // A commit that changes code only: pushed, and no write of any kind to the pipeline.
    p.write("src/lib.rs", "pub fn answer() -> u32 {\n    42\n}\n");
    let code = p.commit_all("code only");
    let before = writes(&sb);
    push(&p, &sb, &[]).success().stderr_has(&format!(
        "pipeline {PIPELINE} matches xpipeline.toml@{} (version 2)",
        &code[..12]
    ));
    assert_eq!(
        writes(&sb),
        before,
        "an unchanged declaration makes no write call"
    );
    assert_eq!(
        live(&sb, &s).1[TAG],
        b.as_str(),
        "still declared by B's commit"
    );

    // Reverting the commit that changed the project restores the earlier project.
    p.git(&["revert", "--no-edit", &b]);
    let revert = p.git(&["rev-parse", "HEAD"]);
    push(&p, &sb, &[])
        .success()
        .stderr_has(r#"configuration.ProjectName: "project-b" -> "project-a""#);
    let (project, tags) = live(&sb, &s);
    assert_eq!(project, "project-a");
    assert_eq!(tags[TAG], revert.as_str());
}

#[test]
fn plan_says_when_the_live_pipeline_was_declared_by_a_commit_the_branch_lacks() {
    let sb = Sandbox::start();
    let s = sb.seed();
    let p = Project::new("gitops-app", "main");
    p.write("xpipeline.toml", &declaring(&s, "project-a"));
    p.commit_all("declare");
    push(&p, &sb, &[]).success();

    // Someone pushes another branch's declaration.
    p.git(&["checkout", "-q", "-b", "experiment"]);
    p.write("xpipeline.toml", &declaring(&s, "project-x"));
    let x = p.commit_all("try project X");
    p.git(&["checkout", "-q", "main"]);
    push(&p, &sb, &["--branch", "experiment"]).success();
    assert_eq!(live(&sb, &s).0, "project-x");

    run(&p, &sb, &["plan"])
        .success()
        .stdout_has(&format!(
            "the live pipeline was declared by commit {}, which branch main does not contain",
            &x[..12]
        ))
        .stdout_has(r#""project-x" -> "project-a""#);
    let plan = json(run(&p, &sb, &["plan", "--output", "json"]));
    assert_eq!(plan["declaredBy"]["local"]["reach"], "notOnBranch");
    assert_eq!(plan["uncommitted"], false);
    run(&p, &sb, &["status"])
        .success()
        .stdout_has(&format!("declared by {} (not on main)", &x[..12]));
}

#[test]
fn config_flag_applies_the_file_on_disk_and_the_pipeline_says_so() {
    let sb = Sandbox::start();
    let s = sb.seed();
    let p = Project::new("gitops-app", "main");
    p.write("ci.toml", &declaring(&s, "project-ci"));
    push(&p, &sb, &["--config", "ci.toml"])
        .success()
        .stderr_has(
            "applying ci.toml (--config) as it is on disk, not the xpipeline.toml committed at",
        );
    let (project, tags) = live(&sb, &s);
    assert_eq!(project, "project-ci");
    assert_eq!(tags[TAG], "file:ci.toml");
    run(&p, &sb, &["--config", "ci.toml", "status"])
        .success()
        .stdout_has("declared by the file ci.toml (--config), not a commit");
}

#[test]
fn a_commit_without_xpipeline_toml_is_refused_before_anything_is_sent() {
    let sb = Sandbox::start();
    let s = sb.seed();
    let p = Project::new("gitops-app", "main");
    let head = p.git(&["rev-parse", "HEAD"]);
    p.write("xpipeline.toml", &declaring(&s, "project-a"));
    sb.clear_calls();
    push(&p, &sb, &[])
        .code(2)
        .stderr_has(&format!(
            "commit {} (main) has no xpipeline.toml",
            &head[..12]
        ))
        .stderr_has("git add xpipeline.toml && git commit");
    assert_eq!(sb.calls(), Vec::new(), "no call of any kind");
    assert_eq!(
        sb.branch_head(&s.source_account, &s.repository, "main"),
        None
    );
    // plan previews the working tree and says it is not committed.
    run(&p, &sb, &["plan"]).success().stdout_has(&format!(
        "xpipeline.toml is not committed (HEAD {} has none)",
        &head[..12]
    ));
}

#[test]
fn problems_in_the_committed_file_are_shown_at_their_place_in_that_commit() {
    let p = Project::new("gitops-app", "main");
    let good = valid_config("111111111111", "222222222222", "eu-west-1");
    p.write(
        "xpipeline.toml",
        &good.replace("account = \"111111111111\"", "account = \"1\""),
    );
    let bad = p.commit_all("a typo");
    // Fixed on disk, not committed: push still applies (and refuses) the commit's.
    p.write("xpipeline.toml", &good);
    let out = p
        .cmd()
        .args(["--endpoint-url", NOWHERE, "push", "--dry-run"])
        .run()
        .code(2)
        .stderr_has(&format!("xpipeline.toml@{}:3:", &bad[..12]))
        .stderr_has("pipeline.account must be 12 digits");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    // The working tree's is valid: plan gets as far as the network.
    p.cmd()
        .args(["--endpoint-url", NOWHERE, "plan"])
        .run()
        .code(1);
}

#[test]
fn plan_commit_needs_a_commit_and_no_config_flag() {
    let p = Project::new("gitops-app", "main");
    p.write(
        "xpipeline.toml",
        &valid_config("111111111111", "222222222222", "eu-west-1"),
    );
    p.commit_all("declare");
    p.cmd()
        .args([
            "--endpoint-url",
            NOWHERE,
            "plan",
            "--commit",
            "no-such-branch",
        ])
        .run()
        .code(2)
        .stderr_has("--commit \"no-such-branch\" names no commit of the repository");
    p.cmd()
        .args([
            "--endpoint-url",
            NOWHERE,
            "--config",
            "xpipeline.toml",
            "plan",
            "--commit",
            "HEAD",
        ])
        .run()
        .code(2)
        .stderr_has("give one of them");
    // HEAD~1 has no xpipeline.toml.
    p.cmd()
        .args(["--endpoint-url", NOWHERE, "plan", "--commit", "HEAD~1"])
        .run()
        .code(2)
        .stderr_has("has no xpipeline.toml");
}
