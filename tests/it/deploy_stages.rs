//! Deploy stages in the pipeline against the local sandbox: `plan` names the stages a
//! declaration adds or removes, and once they are in the pipeline nothing differs — what
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

/// The sandbox's Python (it has boto3): run `script` with `cp`, a CodePipeline client of the
/// pipeline account, `json` and `sys` imported, `stdin` given on its standard input.
fn python_aws(sandbox: &Sandbox, script: &str, stdin: &str) -> String {
    use std::io::Write;
    let exe = std::env::var("XPIPELINE_SANDBOX_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").to_owned());
    let mut child = std::process::Command::new(exe)
        .arg("-c")
        .arg(format!(
            "import boto3, json, os, sys\n\
             cp = boto3.client('codepipeline', endpoint_url=os.environ['AWS_ENDPOINT_URL'], \
             region_name=os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'eu-west-1')\n{script}"
        ))
        .envs(sandbox.env())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the sandbox python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The stages `plan --output json` says the declaration adds, as it declares them (the JSON
/// strings of the configuration, ParameterOverrides, shown parsed).
fn added_stages(plan: &Value) -> Vec<Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["old"].is_null() && c["path"].as_str().unwrap().ends_with(']'))
        .filter(|c| !c["path"].as_str().unwrap().contains("]."))
        .map(|c| c["new"].clone())
        .collect()
}

/// The entries with the roles the sandbox seeded in each target account.
fn with_roles(entry: &str, targets: &Value, account: &str) -> String {
    format!(
        "{entry}role-arn = \"{}\"\nexecution-role-arn = \"{}\"\n",
        targets[account]["deploy_role_arn"].as_str().unwrap(),
        targets[account]["execution_role_arn"].as_str().unwrap()
    )
}

#[test]
fn deploy_stages_are_named_when_added_or_removed_and_the_applied_stages_read_back_unchanged() {
    let sandbox = Sandbox::start();
    // What bootstrap leaves in staging and prod: the deploy and execution roles (the sandbox
    // refuses a pipeline whose service role may not assume an action's role).
    let seeded = sandbox.control(
        "POST",
        "seed",
        Some(&serde_json::json!({
            "targets": ["333333333333", "444444444444"],
            "stacks": ["demo-app-*"],
        })),
    );
    let targets = &seeded["targets"];
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    declare(&p, &s, &[], "the pipeline, no deploys yet");
    push(&p, &sandbox).success();

    // Params after the roles: [deploy.parameters] must come last in its entry.
    let (staging_head, staging_params) = STAGING.split_once("[deploy.parameters]").unwrap();
    let staging = format!(
        "{}[deploy.parameters]{staging_params}",
        with_roles(staging_head, targets, "333333333333")
    );
    let dev = with_roles(DEV, targets, "333333333333");
    let (prod_head, prod_approval) = PROD.split_once("[deploy.approval]").unwrap();
    let prod = format!(
        "{}[deploy.approval]{prod_approval}",
        with_roles(prod_head, targets, "444444444444")
    );

    // Three deploy stages declared: named first, with the stack and the account.
    declare(&p, &s, &[&dev, &staging, &prod], "deploy stages");
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

    // The declared stages written into the pipeline (UpdatePipeline, judged by the sandbox:
    // the service role may assume each deploy role); GetPipeline's answer for them then reads
    // as the declaration: no change.
    let stages = added_stages(&json);
    assert_eq!(stages.len(), 3);
    python_aws(
        &sandbox,
        &format!(
            "p = cp.get_pipeline(name='{PIPELINE}')['pipeline']\n\
             stages = json.load(sys.stdin)\n\
             for a in (a for st in stages for a in st['actions']):\n\
             \x20   c = a.get('configuration', {{}})\n\
             \x20   for k, v in c.items():\n\
             \x20       c[k] = v if isinstance(v, str) else json.dumps(v, separators=(',', ':'))\n\
             p['stages'].extend(stages)\n\
             cp.update_pipeline(pipeline=p)"
        ),
        &Value::Array(stages).to_string(),
    );
    plan(&p, &sandbox).stdout_has(&format!("pipeline {PIPELINE} (version 2): no changes"));
    let live = python_aws(
        &sandbox,
        &format!("print(json.dumps(cp.get_pipeline(name='{PIPELINE}')['pipeline']['stages'][4]))"),
        "",
    );
    let prod_stage: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(prod_stage["actions"][1]["timeoutInMinutes"], 60);
    assert_eq!(
        prod_stage["actions"][2]["configuration"]["ActionMode"],
        "CHANGE_SET_EXECUTE"
    );

    // A stage taken out of the file is named as removed, with what it deployed where; a
    // changed parameter names the parameter.
    let staging2 = staging.replace("Stage = \"staging\"", "Stage = \"stage-2\"");
    declare(&p, &s, &[&dev, &staging2], "no prod");
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

#[test]
fn plan_of_a_pipeline_to_create_lists_its_deploy_stages() {
    let sandbox = Sandbox::start();
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    declare(&p, &s, &[STAGING, PROD], "deploy stages from the start");
    plan(&p, &sandbox)
        .stdout_has(&format!("pipeline {PIPELINE} does not exist: push would create it"))
        .stdout_has(
            "\n  stage Staging   CloudFormation stack demo-app-staging in account 333333333333 (change set, executed) as arn:aws:iam::333333333333:role/demo-app-pipeline-deploy\
             \n  stage Prod      CloudFormation stack demo-app-prod in account 444444444444 (change set, approval, executed) as arn:aws:iam::444444444444:role/demo-app-pipeline-deploy\n",
        );
    let json = plan_json(&p, &sandbox);
    let names: Vec<&str> = json["stagesAdded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Source", "Build", "Staging", "Prod"]);
}
