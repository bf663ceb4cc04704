//! Deploy stages in the pipeline against the local sandbox: `plan` names the stages a
//! declaration adds or removes, `push` applies them, and once applied nothing differs — what
//! GetPipeline answers for the CloudFormation and approval actions reads as the declaration.

use serde_json::Value;

use crate::support::Project;
use crate::support::sandbox::{Sandbox, Scenario};

const PIPELINE: &str = "demo-app-pipeline";

const STAGING: &str = r##"
[[deploy]]
name = "Staging"
account = "333333333333"
stack = "demo-app-staging"
template = "packaged.yaml"
execution-policies = ["arn:aws:iam::aws:policy/AmazonSSMFullAccess"]
outputs-file = "outputs.json"
[deploy.parameters]
Commit = "#{SourceVariables.CommitId}"
Stage = "staging"
"##;

const DEV: &str = r#"
[[deploy]]
name = "Dev"
account = "333333333333"
stack = "demo-app-dev"
template = "packaged.yaml"
template-configuration = "dev.json"
mode = "direct"
execution-policies = ["arn:aws:iam::aws:policy/AmazonSSMFullAccess"]
"#;

const PROD: &str = r#"
[[deploy]]
name = "Prod"
account = "444444444444"
stack = "demo-app-prod"
template = "packaged.yaml"
execution-policies = ["arn:aws:iam::aws:policy/AmazonSSMFullAccess"]
[deploy.approval]
comment = "Check staging first"
timeout-minutes = 60
"#;

fn declare(p: &Project, s: &Scenario, deploys: &[&str], message: &str) {
    p.write(
        "xpipeline.toml",
        &format!("{}{}", s.config(PIPELINE), deploys.concat()),
    );
    p.commit_all(message);
}

fn plan(p: &Project, sandbox: &Sandbox) -> crate::support::Output {
    p.cmd().arg("plan").envs(sandbox.env()).run().success()
}

fn plan_json(p: &Project, sandbox: &Sandbox) -> Value {
    let out = p
        .cmd()
        .args(["plan", "--output", "json"])
        .envs(sandbox.env())
        .run()
        .success();
    serde_json::from_str(&out.stdout).expect("one JSON document")
}

fn push(p: &Project, sandbox: &Sandbox) -> crate::support::Output {
    p.cmd()
        .args(["push", "--no-watch"])
        .envs(sandbox.env())
        .run()
}

fn updates(sandbox: &Sandbox) -> usize {
    sandbox.count("UpdatePipeline")
}

#[test]
fn deploy_stages_are_named_when_added_or_removed_and_an_applied_declaration_is_no_change() {
    let sandbox = Sandbox::start();
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    declare(&p, &s, &[], "the pipeline, no deploys yet");
    push(&p, &sandbox).success();

    // Three deploy stages declared: named first, with the stack and the account.
    declare(&p, &s, &[DEV, STAGING, PROD], "deploy stages");
    let out = plan(&p, &sandbox)
        .stdout_has(&format!("pipeline {PIPELINE} (version 1): 3 changes\n"))
        .stdout_has(
            "\n  + stage Dev (deploy demo-app-dev to 333333333333)\
             \n  + stage Staging (deploy demo-app-staging to 333333333333)\
             \n  + stage Prod (deploy demo-app-prod to 444444444444)\n",
        );
    assert!(!out.stdout.contains("stage added"), "{}", out.stdout);
    let json = plan_json(&p, &sandbox);
    assert_eq!(
        json["stagesAdded"][2],
        serde_json::json!({"name": "Prod", "stack": "demo-app-prod", "account": "444444444444"})
    );
    assert_eq!(json["stagesRemoved"], serde_json::json!([]));

    let before = updates(&sandbox);
    push(&p, &sandbox)
        .success()
        .stderr_has("  + stage Staging (deploy demo-app-staging to 333333333333)")
        .stderr_has(&format!("updated pipeline {PIPELINE} (version 2)"));
    assert_eq!(updates(&sandbox), before + 1);

    // What the sandbox answers for the applied stages is the declaration: no change, and a
    // second push of the same declaration makes no UpdatePipeline.
    plan(&p, &sandbox).stdout_has(&format!("pipeline {PIPELINE} (version 2): no changes"));
    p.write("NOTES.md", "another commit, same declaration\n");
    p.commit_all("notes");
    push(&p, &sandbox)
        .success()
        .stderr_has(&format!("pipeline {PIPELINE} matches"));
    assert_eq!(updates(&sandbox), before + 1, "no write when nothing differs");

    // A stage taken out of the file is named as removed, with what it deployed where; a
    // changed parameter names the parameter.
    let staging = STAGING.replace("Stage = \"staging\"", "Stage = \"stage-2\"");
    declare(&p, &s, &[DEV, &staging], "no prod");
    plan(&p, &sandbox)
        .stdout_has(": 2 changes\n  - stage Prod (deploy demo-app-prod to 444444444444)\n")
        .stdout_has(
            "stages[Staging].actions[CreateChangeSet].configuration.ParameterOverrides.Stage: \"staging\" -> \"stage-2\"",
        );
    assert_eq!(
        plan_json(&p, &sandbox)["stagesRemoved"],
        serde_json::json!([{"name": "Prod", "stack": "demo-app-prod", "account": "444444444444"}])
    );
}
