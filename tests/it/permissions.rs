//! The sandbox judges policies as AWS does (issue 10): what a user sees when a document is
//! wrong. Each test breaks one document of the seeded scenario through the sandbox's control
//! route (`/_sandbox/policy`) and runs the real `push`.

use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, Scenario};
use crate::support::{Output, Project};

const PIPELINE: &str = "perm-pipeline";

fn project(sc: &Scenario, extra: &str) -> Project {
    let p = Project::new("perm-app", "main");
    p.write("xpipeline.toml", &format!("{}{extra}", sc.config(PIPELINE)));
    p.commit_all("declare the pipeline");
    p
}

fn push(p: &Project, sb: &Sandbox, args: &[&str]) -> Output {
    p.cmd().arg("push").args(args).envs(sb.env()).run()
}

fn document(sb: &Sandbox, arn: &str, kind: Option<&str>) -> Value {
    let kind = kind.map(|k| format!("&kind={k}")).unwrap_or_default();
    sb.control("GET", &format!("policy?arn={arn}{kind}"), None)["document"].clone()
}

fn set_document(sb: &Sandbox, arn: &str, kind: Option<&str>, doc: &Value) {
    let mut body = json!({ "arn": arn, "document": doc });
    if let Some(k) = kind {
        body["kind"] = json!(k);
    }
    sb.control("POST", "policy", Some(&body));
}

fn without_sid(doc: &Value, sid: &str) -> Value {
    let mut d = doc.clone();
    d["Statement"]
        .as_array_mut()
        .expect("statements")
        .retain(|s| s["Sid"] != sid);
    d
}

fn pushed_head(sb: &Sandbox, sc: &Scenario, branch: &str) -> Option<String> {
    sb.branch_head(&sc.source_account, &sc.repository, branch)
}

#[test]
fn the_key_policy_without_the_source_role_statement_fails_the_source_action() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let key = document(&sb, &sc.kms_key_arn, None);
    set_document(
        &sb,
        &sc.kms_key_arn,
        None,
        &without_sid(&key, "SourceAccountRoleUsesTheKey"),
    );
    let p = project(&sc, "");
    let out = push(&p, &sb, &[])
        .code(3)
        .stderr_has("Source")
        .stderr_has(&format!(
            "permissions required to access the AWS KMS key named {}",
            sc.kms_key_arn
        ))
        .stderr_has("kms:GenerateDataKey")
        // The missing grant named, and the command that adds it.
        .stderr_has(&format!(
            "hint: the Source action's role may not use the key {}: run `cargo xpipeline bootstrap`, which adds SourceAccountRoleUsesTheKey to the key policy",
            sc.kms_key_arn
        ));
    // The push itself went through: the commit is there, the pipeline could not take it.
    assert!(pushed_head(&sb, &sc, "main").is_some(), "{}", out.stderr);
}

#[test]
fn an_external_id_on_the_service_role_statement_keeps_the_source_action_out() {
    let sb = Sandbox::start();
    // push assumes the role with the external id: that statement is right.
    let sc = sb.seed_with(json!({ "external_id": "ext-123" }));
    let p = project(&sc, "");
    let toml = p.read("xpipeline.toml").replace(
        "branch = \"main\"\n",
        "branch = \"main\"\nexternal-id = \"ext-123\"\n",
    );
    p.write("xpipeline.toml", &toml);
    p.commit_all("with an external id");
    push(&p, &sb, &["-q"]).success();

    // The mistake the issue names: the same condition on the statement trusting the service
    // role. CodePipeline sends no external id when it assumes an action role.
    let mut trust = document(&sb, &sc.source_role_arn, Some("trust"));
    for s in trust["Statement"].as_array_mut().unwrap() {
        s["Condition"] = json!({ "StringEquals": { "sts:ExternalId": "ext-123" } });
    }
    set_document(&sb, &sc.source_role_arn, Some("trust"), &trust);
    p.write("src/lib.rs", "pub fn two() -> u8 { 2 }\n");
    p.commit_all("second commit");
    let out = push(&p, &sb, &[])
        .code(3)
        .stderr_has(&format!(
            "{} is not authorized to perform AssumeRole on role {}",
            sc.service_role_arn, sc.source_role_arn
        ))
        .stderr_has(&format!(
            "hint: {} may not assume {} (CodePipeline sends no external id or MFA): run `cargo xpipeline bootstrap`, which adds ThePipelineAssumesThisRole, without condition, to the trust policy of {}",
            sc.service_role_arn, sc.source_role_arn, sc.source_role_arn
        ));
    assert!(!out.stderr.contains("Build/Build"), "{}", out.stderr);
    // (A pipeline created anew with that trust is refused by CreatePipeline with
    // InvalidStructureException, as AWS does: sandbox/test_permissions.py. `push` retries that
    // error for IAM_PROPAGATION, two minutes, too long for this suite.)
}

#[test]
fn a_build_role_without_kms_decrypt_fails_the_build_action() {
    let sb = Sandbox::start();
    let seeded = sb.control("POST", "seed", Some(&json!({})));
    let sc = sb.seed();
    let build_role = seeded["build_role_arn"].as_str().unwrap().to_owned();
    let mut perms = document(&sb, &build_role, Some("permissions"));
    for s in perms["Statement"].as_array_mut().unwrap() {
        if s["Sid"] == "ArtifactKey" {
            s["Action"]
                .as_array_mut()
                .unwrap()
                .retain(|a| a != "kms:Decrypt");
        }
    }
    set_document(&sb, &build_role, Some("permissions"), &perms);
    let p = project(&sc, "");
    push(&p, &sb, &[])
        .code(3)
        .stderr_has("Build")
        .stderr_has(
            "Build terminated with state: FAILED. Phase: DOWNLOAD_SOURCE, Code: CLIENT_ERROR",
        )
        .stderr_has("customer master key")
        .stderr_has("hint: the build role may not decrypt the source artifact with the artifact key (artifacts.kms-key-arn): run `cargo xpipeline bootstrap`, which adds ArtifactKey (kms:Decrypt) to the build role's policy");
}

#[test]
fn an_assume_role_with_a_wrong_external_id_is_refused_before_any_push() {
    let sb = Sandbox::start();
    let sc = sb.seed_with(json!({ "external_id": "the-right-one" }));
    let p = project(&sc, "");
    let toml = p.read("xpipeline.toml").replace(
        "branch = \"main\"\n",
        "branch = \"main\"\nexternal-id = \"a-wrong-one\"\n",
    );
    p.write("xpipeline.toml", &toml);
    p.commit_all("the wrong external id");
    push(&p, &sb, &[]).code(1).stderr_has(&format!(
        "is not authorized to perform: sts:AssumeRole on resource: {}",
        sc.source_role_arn
    ));
    assert_eq!(sb.count("GitPush"), 0);
    assert_eq!(pushed_head(&sb, &sc, "main"), None);
}

#[test]
fn a_push_outside_the_references_condition_is_refused_and_nothing_is_pushed() {
    let sb = Sandbox::start();
    // The source role may push refs/heads/main only (codecommit:References).
    let sc = sb.seed();
    let p = Project::new("perm-app", "release");
    p.write(
        "xpipeline.toml",
        &sc.config(PIPELINE)
            .replace("branch = \"main\"", "branch = \"release\""),
    );
    p.commit_all("declare the pipeline");
    let out = push(&p, &sb, &["--no-watch"]).code(1);
    assert_eq!(pushed_head(&sb, &sc, "release"), None, "{}", out.stderr);
    let refused: Vec<_> = sb
        .calls()
        .into_iter()
        .filter(|c| c.action == "GitPush")
        .map(|c| c.status)
        .collect();
    assert_eq!(refused, vec![403], "{}", out.stderr);
    assert!(
        out.stderr.contains("lacks codecommit:GitPush"),
        "{}",
        out.stderr
    );
}
