//! `plan` and the pipeline reconcile of `push` against the local sandbox: creation equal to the
//! declaration, no write when nothing differs, changes shown before they are applied, drift
//! from out-of-band edits, refusal of a pipeline this tool did not create, IAM propagation.

use serde_json::Value;

use crate::support::Project;
use crate::support::sandbox::{Sandbox, Scenario};

const PIPELINE: &str = "demo-app-pipeline";

fn config(s: &Scenario, service_role_arn: &str, project: &str) -> String {
    let text = s
        .config(PIPELINE)
        .replace(&s.service_role_arn, service_role_arn)
        .replace(
            &format!("project = \"{}\"", s.build_project),
            &format!("project = \"{project}\""),
        );
    format!("{text}\n[build.env]\nRUST_LOG = \"info\"\n\n[tags]\nteam = \"platform\"\n")
}

/// A project whose xpipeline.toml declares the seeded scenario, committed.
fn project(sandbox: &Sandbox) -> (Project, Scenario) {
    let s = sandbox.seed();
    let p = Project::new("demo-app", "main");
    p.write(
        "xpipeline.toml",
        &config(&s, &s.service_role_arn, &s.build_project),
    );
    p.commit_all("declare the pipeline");
    (p, s)
}

fn plan_json(p: &Project, sandbox: &Sandbox) -> Value {
    let out = p
        .cmd()
        .args(["plan", "--output", "json"])
        .envs(sandbox.env())
        .run()
        .success();
    serde_json::from_str(&out.stdout).expect("plan --output json prints one JSON document")
}

fn push(p: &Project, sandbox: &Sandbox, extra: &[&str]) -> crate::support::Output {
    p.cmd()
        .args(["push", "--no-watch"])
        .args(extra)
        .envs(sandbox.env())
        .run()
}

/// The sandbox's Python (it has boto3): XPIPELINE_SANDBOX_PYTHON, else the repository's .venv.
fn python(env: &[(String, String)], script: &str) -> String {
    let exe = std::env::var("XPIPELINE_SANDBOX_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").to_owned());
    let out = std::process::Command::new(exe)
        .arg("-c")
        .arg(script)
        .envs(env.iter().cloned())
        .output()
        .expect("the sandbox python runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run `script` with `cp`, a boto3 CodePipeline client of the pipeline account on the sandbox:
/// how a test edits the pipeline "out of band".
fn python_aws(sandbox: &Sandbox, script: &str) -> String {
    python(
        &sandbox.env(),
        &format!(
            "import boto3, os\n\
             cp = boto3.client('codepipeline', endpoint_url=os.environ['AWS_ENDPOINT_URL'], \
             region_name=os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'eu-west-1')\n{script}"
        ),
    )
}

fn writes(sandbox: &Sandbox) -> (usize, usize) {
    (
        sandbox.count("CreatePipeline"),
        sandbox.count("UpdatePipeline"),
    )
}

/// GetPipeline through boto3, as the pipeline account: (pipeline, metadata).
fn get_pipeline(sandbox: &Sandbox) -> Value {
    let out = python_aws(
        sandbox,
        &format!(
            "import json; r = cp.get_pipeline(name='{PIPELINE}'); \
         print(json.dumps({{'pipeline': r['pipeline'], 'arn': r['metadata']['pipelineArn']}}))"
        ),
    );
    serde_json::from_str(&out).unwrap()
}

fn tags(sandbox: &Sandbox, arn: &str) -> Value {
    let out = python_aws(
        sandbox,
        &format!(
            "import json; print(json.dumps({{t['key']: t['value'] for t in \
         cp.list_tags_for_resource(resourceArn='{arn}')['tags']}}))"
        ),
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn plan_on_a_missing_pipeline_says_it_would_be_created_and_writes_nothing() {
    let sandbox = Sandbox::start();
    let (p, s) = project(&sandbox);
    let out = p
        .cmd()
        .arg("plan")
        .envs(sandbox.env())
        .run()
        .success()
        .stdout_has(&format!(
            "pipeline {PIPELINE} does not exist: push would create it"
        ))
        .stdout_has(&s.service_role_arn)
        .stdout_has(&s.kms_key_arn)
        .stdout_has("CodeBuild ")
        .stdout_has("managed-by=cargo-xpipeline, team=platform");
    assert!(out.stdout.contains(&s.build_project), "{}", out.stdout);
    let json = plan_json(&p, &sandbox);
    assert_eq!(json["pipeline"], PIPELINE);
    assert_eq!(json["exists"], false);
    let paths: Vec<&str> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"stages[Source]"), "{paths:?}");
    assert!(paths.contains(&"stages[Build]"), "{paths:?}");
    assert_eq!(writes(&sandbox), (0, 0));
    assert_eq!(sandbox.count("TagResource"), 0);
}

#[test]
fn first_push_creates_the_declared_pipeline_and_the_second_writes_nothing() {
    let sandbox = Sandbox::start();
    let (p, s) = project(&sandbox);

    push(&p, &sandbox, &[])
        .success()
        .stderr_has(&format!("created pipeline {PIPELINE} (version 1)"));
    assert_eq!(writes(&sandbox), (1, 0));

    let got = get_pipeline(&sandbox);
    let live = &got["pipeline"];
    assert_eq!(live["roleArn"], s.service_role_arn.as_str());
    assert_eq!(live["pipelineType"], "V2");
    assert_eq!(live["artifactStore"]["type"], "S3");
    assert_eq!(live["artifactStore"]["location"], s.bucket.as_str());
    assert_eq!(
        live["artifactStore"]["encryptionKey"],
        serde_json::json!({"id": s.kms_key_arn, "type": "KMS"})
    );
    let source = &live["stages"][0];
    assert_eq!(source["name"], "Source");
    let action = &source["actions"][0];
    assert_eq!(action["actionTypeId"]["provider"], "CodeCommit");
    assert_eq!(action["roleArn"], s.source_role_arn.as_str());
    assert_eq!(
        action["configuration"]["RepositoryName"],
        s.repository.as_str()
    );
    assert_eq!(action["configuration"]["BranchName"], "main");
    assert_eq!(action["configuration"]["PollForSourceChanges"], "false");
    assert_eq!(action["outputArtifacts"][0]["name"], "SourceArtifact");
    let build = &live["stages"][1]["actions"][0];
    assert_eq!(live["stages"][1]["name"], "Build");
    assert_eq!(build["actionTypeId"]["provider"], "CodeBuild");
    assert_eq!(
        build["configuration"]["ProjectName"],
        s.build_project.as_str()
    );
    assert_eq!(
        build["configuration"]["EnvironmentVariables"],
        r#"[{"name":"RUST_LOG","type":"PLAINTEXT","value":"info"}]"#
    );
    assert_eq!(build["inputArtifacts"][0]["name"], "SourceArtifact");
    assert_eq!(build["namespace"], "BuildVariables");
    let arn = got["arn"].as_str().unwrap();
    let head = p.git(&["rev-parse", "HEAD"]);
    assert_eq!(
        tags(&sandbox, arn),
        serde_json::json!({"managed-by": "cargo-xpipeline", "team": "platform", "xpipeline-declared-by": head})
    );

    // Nothing differs: no write of any kind.
    push(&p, &sandbox, &[]).success().stderr_has(&format!(
        "matches xpipeline.toml@{} (version 1)",
        &head[..12]
    ));
    assert_eq!(writes(&sandbox), (1, 0));
    assert_eq!(sandbox.count("TagResource"), 0);
    p.cmd()
        .arg("plan")
        .envs(sandbox.env())
        .run()
        .success()
        .stdout_has(&format!("pipeline {PIPELINE} (version 1): no changes"));
}

#[test]
fn dry_run_push_creates_nothing() {
    let sandbox = Sandbox::start();
    let (p, _) = project(&sandbox);
    push(&p, &sandbox, &["--dry-run"])
        .success()
        .stderr_has("does not exist: creating it (dry run: not applied)");
    assert_eq!(writes(&sandbox), (0, 0));
}

#[test]
fn a_changed_build_project_shows_in_plan_then_push_applies_it_as_one_version() {
    let sandbox = Sandbox::start();
    let (p, s) = project(&sandbox);
    push(&p, &sandbox, &[]).success();

    p.write(
        "xpipeline.toml",
        &config(&s, &s.service_role_arn, "demo-app-build-v2").replace("\"info\"", "\"debug\""),
    );
    p.commit_all("build with v2");
    let out = p
        .cmd()
        .arg("plan")
        .envs(sandbox.env())
        .run()
        .success()
        .stdout_has(&format!("pipeline {PIPELINE} (version 1): 2 changes"))
        .stdout_has(&format!(
            "stages[Build].actions[Build].configuration.ProjectName: \"{}\" -> \"demo-app-build-v2\"",
            s.build_project
        ))
        .stdout_has(
            "stages[Build].actions[Build].configuration.EnvironmentVariables.RUST_LOG: \"info\" -> \"debug\"",
        );
    assert!(!out.stdout.contains("adopt"), "{}", out.stdout);
    let json = plan_json(&p, &sandbox);
    assert_eq!(json["exists"], true);
    assert_eq!(json["changes"].as_array().unwrap().len(), 2);
    assert_eq!(
        json["changes"][1],
        serde_json::json!({
            "path": "stages[Build].actions[Build].configuration.ProjectName",
            "old": s.build_project,
            "new": "demo-app-build-v2",
        })
    );
    assert_eq!(writes(&sandbox), (1, 0), "plan never writes");

    push(&p, &sandbox, &[])
        .success()
        .stderr_has("ProjectName")
        .stderr_has(&format!("updated pipeline {PIPELINE} (version 2)"));
    assert_eq!(writes(&sandbox), (1, 1));
    let live = get_pipeline(&sandbox)["pipeline"].clone();
    assert_eq!(live["version"], 2);
    assert_eq!(
        live["stages"][1]["actions"][0]["configuration"]["ProjectName"],
        "demo-app-build-v2"
    );
    assert_eq!(plan_json(&p, &sandbox)["changes"], serde_json::json!([]));
}

#[test]
fn a_concurrent_update_is_reported_and_nothing_is_pushed() {
    let sandbox = Sandbox::start();
    let (p, s) = project(&sandbox);
    push(&p, &sandbox, &[]).success();
    let head = sandbox.branch_head(&s.source_account, &s.repository, "main");
    p.write(
        "xpipeline.toml",
        &config(&s, &s.service_role_arn, "demo-app-build-v2"),
    );
    p.commit_all("build with v2");

    // Another writer's update lands between our GetPipeline and our UpdatePipeline.
    sandbox.interfere(PIPELINE);
    push(&p, &sandbox, &[])
        .code(1)
        .stderr_has(&format!(
            "pipeline {PIPELINE} was changed by someone else meanwhile: UpdatePipeline made it version 3, not 2 (it was 1 when read)"
        ))
        .stderr_has("cargo xpipeline plan");
    assert_eq!(
        sandbox.branch_head(&s.source_account, &s.repository, "main"),
        head,
        "no commit lands when the reconcile stops"
    );
    assert_eq!(
        sandbox.count("StartPipelineExecution"),
        1,
        "no new execution"
    );
}

#[test]
fn an_out_of_band_edit_shows_as_drift_and_the_next_push_restores_it() {
    let sandbox = Sandbox::start();
    let (p, s) = project(&sandbox);
    push(&p, &sandbox, &[]).success();

    // Someone edits the pipeline in the console (here: boto3 against the sandbox).
    python_aws(
        &sandbox,
        &format!(
            "p = cp.get_pipeline(name='{PIPELINE}')['pipeline']\n\
         p['stages'][0]['actions'][0]['configuration']['PollForSourceChanges'] = 'true'\n\
         p['stages'][1]['actions'][0]['configuration']['ProjectName'] = 'hand-edited'\n\
         p['stages'].append({{'name': 'Deploy', 'actions': [{{'name': 'Approve', \
         'actionTypeId': {{'category': 'Approval', 'owner': 'AWS', 'provider': 'Manual', 'version': '1'}}}}]}})\n\
         cp.update_pipeline(pipeline=p)"
        ),
    );
    let before = writes(&sandbox);
    p.cmd()
        .arg("plan")
        .envs(sandbox.env())
        .run()
        .success()
        .stdout_has(&format!("pipeline {PIPELINE} (version 2): 3 changes"))
        .stdout_has(
            "stages[Source].actions[Source].configuration.PollForSourceChanges: \"true\" -> \"false\"",
        )
        .stdout_has(&format!(
            "stages[Build].actions[Build].configuration.ProjectName: \"hand-edited\" -> \"{}\"",
            s.build_project
        ))
        // A whole stage is named first, then the field changes.
        .stdout_has(": 3 changes\n  - stage Deploy\n  stages[");
    assert_eq!(
        plan_json(&p, &sandbox)["stagesRemoved"],
        serde_json::json!([{"name": "Deploy"}])
    );
    assert_eq!(writes(&sandbox), before, "plan never writes");

    push(&p, &sandbox, &[])
        .success()
        .stderr_has(&format!("updated pipeline {PIPELINE} (version 3)"));
    let live = get_pipeline(&sandbox)["pipeline"].clone();
    assert_eq!(
        live["stages"][1]["actions"][0]["configuration"]["ProjectName"],
        s.build_project.as_str()
    );
    assert_eq!(
        live["stages"][0]["actions"][0]["configuration"]["PollForSourceChanges"],
        "false"
    );
    assert_eq!(live["stages"].as_array().unwrap().len(), 2);
    p.cmd()
        .arg("plan")
        .envs(sandbox.env())
        .run()
        .success()
        .stdout_has("no changes");
}

#[test]
fn a_pipeline_without_the_managed_by_tag_is_refused_unless_adopted() {
    let sandbox = Sandbox::start();
    let (p, s) = project(&sandbox);
    // Made by hand: same name, no tags, another build project.
    python_aws(
        &sandbox,
        &format!(
            "cp.create_pipeline(pipeline={{'name': '{PIPELINE}', 'roleArn': '{role}', \
         'artifactStore': {{'type': 'S3', 'location': '{bucket}'}}, 'stages': [\
         {{'name': 'Source', 'actions': [{{'name': 'Source', 'actionTypeId': {{'category': 'Source', \
         'owner': 'AWS', 'provider': 'CodeCommit', 'version': '1'}}, 'roleArn': '{src}', \
         'configuration': {{'RepositoryName': '{repo}', 'BranchName': 'main'}}, \
         'outputArtifacts': [{{'name': 'SourceArtifact'}}]}}]}}, \
         {{'name': 'Build', 'actions': [{{'name': 'Build', 'actionTypeId': {{'category': 'Build', \
         'owner': 'AWS', 'provider': 'CodeBuild', 'version': '1'}}, \
         'configuration': {{'ProjectName': 'by-hand'}}, 'inputArtifacts': [{{'name': 'SourceArtifact'}}]}}]}}]}})",
            role = s.service_role_arn,
            bucket = s.bucket,
            src = s.source_role_arn,
            repo = s.repository,
        ),
    );
    let before = writes(&sandbox);

    p.cmd()
        .arg("plan")
        .envs(sandbox.env())
        .run()
        .success()
        .stdout_has("tags.managed-by: (absent) -> \"cargo-xpipeline\"")
        .stdout_has("\"by-hand\" ->")
        .stdout_has("unless given --adopt");

    let refused = push(&p, &sandbox, &[])
        .code(1)
        .stderr_has("was not created by cargo-xpipeline")
        .stderr_has("\"by-hand\" ->")
        .stderr_has("--adopt");
    assert!(
        !refused.stderr.contains("pushing main"),
        "no commit lands when the pipeline is refused:\n{}",
        refused.stderr
    );
    assert_eq!(writes(&sandbox), before);
    assert_eq!(sandbox.count("TagResource"), 0);

    push(&p, &sandbox, &["--adopt"])
        .success()
        .stderr_has(&format!("updated pipeline {PIPELINE} (version 2)"));
    assert_eq!(sandbox.count("UpdatePipeline"), before.1 + 1);
    let got = get_pipeline(&sandbox);
    assert_eq!(
        tags(&sandbox, got["arn"].as_str().unwrap())["managed-by"],
        "cargo-xpipeline"
    );
    // Adopted: the next push needs no --adopt and writes nothing.
    push(&p, &sandbox, &[])
        .success()
        .stderr_has("matches xpipeline.toml");
    assert_eq!(sandbox.count("UpdatePipeline"), before.1 + 1);
}

#[test]
fn a_fresh_service_role_is_retried_until_codepipeline_can_use_it() {
    let sandbox = Sandbox::start();
    let (p, s) = project(&sandbox);
    let late = format!("arn:aws:iam::{}:role/late-codepipeline", s.pipeline_account);
    p.write("xpipeline.toml", &config(&s, &late, &s.build_project));
    p.commit_all("a role that does not exist yet");
    // The role appears a few seconds after push starts (seeding creates it, trusting
    // codepipeline.amazonaws.com), as a role just created by bootstrap would.
    let out = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(std::time::Duration::from_secs(3));
            sandbox.seed_with(serde_json::json!({"service_role_name": "late-codepipeline"}));
        });
        push(&p, &sandbox, &[])
    });
    out.success()
        .stderr_has("CodePipeline cannot use the service role yet")
        .stderr_has(&format!("created pipeline {PIPELINE} (version 1)"));
    assert!(
        sandbox.count("CreatePipeline") >= 2,
        "CreatePipeline was retried"
    );
}
