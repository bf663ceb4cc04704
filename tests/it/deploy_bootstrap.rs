//! `bootstrap` of the `[[deploy]]` target accounts and `push`'s check of them, against the
//! sandbox from empty accounts (pipeline, source, staging 333333333333, prod 444444444444; each
//! non-pipeline account holding only OrganizationAccountAccessRole): the roles land in their
//! target accounts and nowhere else, a second run writes nothing, a push to a target never
//! bootstrapped stops before the git push, naming the command that fixes it, and what bootstrap
//! created lets the pipeline deploy a stack into staging.

use serde_json::{Value, json};

use crate::support::Project;
use crate::support::sandbox::{Call, Sandbox};

const PA: &str = "123456789012";
const SA: &str = "222222222222";
const STAGING: &str = "333333333333";
const PROD: &str = "444444444444";

fn is_write(c: &Call) -> bool {
    [
        "Create", "Put", "Update", "Tag", "Delete", "Attach", "GitPush",
    ]
    .iter()
    .any(|w| c.action.starts_with(w))
}

fn writes(sb: &Sandbox) -> Vec<String> {
    sb.calls()
        .iter()
        .filter(|c| is_write(c))
        .map(|c| format!("{}:{} ({})", c.service, c.action, c.account))
        .collect()
}

/// How many calls of `action` were made in `account`.
fn count(sb: &Sandbox, action: &str, account: &str) -> usize {
    sb.calls()
        .iter()
        .filter(|c| c.action == action && c.account == account)
        .count()
}

fn entry(name: &str, account: &str) -> String {
    format!(
        "\n[[deploy]]\nname = \"{name}\"\naccount = \"{account}\"\nstack = \"hello-{}\"\ntemplate = \"packaged.yaml\"\nexecution-policies = [\"arn:aws:iam::aws:policy/AmazonSSMFullAccess\"]\n",
        name.to_lowercase()
    )
}

/// The file `init` writes for the empty accounts, with `entries` appended, committed.
fn project(sb: &Sandbox, entries: &[(&str, &str)]) -> Project {
    sb.control("POST", "empty-accounts", Some(&json!({})));
    let p = Project::new("hello", "main");
    p.cmd()
        .args(["init", "--pipeline-account", PA, "--source-account", SA])
        .args(["--region", "eu-west-1"])
        .envs(sb.env())
        .run()
        .success();
    add(&p, entries);
    p
}

fn add(p: &Project, entries: &[(&str, &str)]) {
    let mut text = p.read("xpipeline.toml");
    for (name, account) in entries {
        text.push_str(&entry(name, account));
    }
    p.write("xpipeline.toml", &text);
    p.commit_all("declare the deploy stages");
}

fn trust(sb: &Sandbox, role: &str) -> Value {
    let v = sb.control(
        "GET",
        &format!("policy?arn={role}&kind=trust"),
        None::<&Value>,
    );
    let doc = v.get("document").cloned().unwrap_or(v);
    match doc {
        Value::String(s) => serde_json::from_str(&s).unwrap(),
        other => other,
    }
}

#[test]
fn bootstrap_creates_the_target_roles_in_their_accounts_and_a_second_run_writes_nothing() {
    let sb = Sandbox::start();
    let p = project(&sb, &[("Staging", STAGING), ("Prod", PROD)]);

    // A target admin role that does not exist: refused naming the flags, nothing written.
    sb.clear_calls();
    p.cmd()
        .args(["bootstrap", "--target-admin-role-arn", "NotThere"])
        .envs(sb.env())
        .run()
        .code(1)
        .stderr_has("cannot assume the admin role arn:aws:iam::333333333333:role/NotThere of target account 333333333333")
        .stderr_has("--target-profile 333333333333=PROFILE");
    // Every account is reached before anything is written.
    assert_eq!(writes(&sb), Vec::<String>::new());

    // A dry run reaches the targets, lists their roles and markers, and writes nothing.
    sb.clear_calls();
    let dry = p
        .cmd()
        .args(["bootstrap", "--dry-run"])
        .envs(sb.env())
        .run()
        .success();
    assert_eq!(writes(&sb), Vec::<String>::new(), "{}", dry.stderr);
    for line in [
        "role arn:aws:iam::444444444444:role/hello-pipeline-cfn-execution: managed policy arn:aws:iam::aws:policy/AmazonSSMFullAccess attached (account 444444444444, target)",
        "parameter /xpipeline/hello-pipeline/targets/444444444444: created",
    ] {
        assert!(dry.stdout.contains(line), "lacks {line:?}:\n{}", dry.stdout);
    }

    sb.clear_calls();
    let out = p.cmd().arg("bootstrap").envs(sb.env()).run().success();
    for account in [STAGING, PROD] {
        assert!(
            out.stderr.contains(&format!(
                "assuming arn:aws:iam::{account}:role/OrganizationAccountAccessRole in the target account {account}"
            )),
            "{}",
            out.stderr
        );
        for line in [
            format!(
                "role arn:aws:iam::{account}:role/hello-pipeline-deploy: created, with its trust policy (account {account}, target)"
            ),
            format!(
                "role arn:aws:iam::{account}:role/hello-pipeline-deploy: policy cargo-xpipeline attached (account {account}, target)"
            ),
            format!(
                "role arn:aws:iam::{account}:role/hello-pipeline-cfn-execution: managed policy arn:aws:iam::aws:policy/AmazonSSMFullAccess attached (account {account}, target)"
            ),
            format!(
                "parameter /xpipeline/hello-pipeline/bootstrap: created: bootstrap of target account {account} at version 1 (account {account}, target)"
            ),
            format!(
                "parameter /xpipeline/hello-pipeline/targets/{account}: created: bootstrap of target account {account} at version 1 (account {PA}, pipeline)"
            ),
        ] {
            assert!(
                out.stdout.contains(&line),
                "lacks {line:?}:\n{}",
                out.stdout
            );
        }
        // Two roles in each target, created by its admin; the markers where they belong.
        assert_eq!(count(&sb, "CreateRole", account), 2, "{account}");
        assert_eq!(count(&sb, "AttachRolePolicy", account), 1, "{account}");
        assert_eq!(count(&sb, "PutParameter", account), 1, "{account}");
        let deploy = trust(
            &sb,
            &format!("arn:aws:iam::{account}:role/hello-pipeline-deploy"),
        );
        assert_eq!(
            deploy["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"],
            "arn:aws:iam::123456789012:role/hello-codepipeline",
            "{deploy}"
        );
        let exec = trust(
            &sb,
            &format!("arn:aws:iam::{account}:role/hello-pipeline-cfn-execution"),
        );
        assert_eq!(
            exec["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"], account,
            "{exec}"
        );
    }
    assert!(
        out.stdout.contains(&format!(
            "source account {SA}, target accounts {STAGING}, {PROD})"
        )),
        "{}",
        out.stdout
    );
    // Nothing of the targets elsewhere: the pipeline account has its two roles, the source one.
    assert_eq!(count(&sb, "CreateRole", PA), 2);
    assert_eq!(count(&sb, "CreateRole", SA), 1);
    assert_eq!(count(&sb, "PutParameter", PA), 2, "the two mirrors");
    // The pipeline account's grants: the key and bucket policies name the targets by condition.
    let toml = p.read("xpipeline.toml");
    let key = toml
        .lines()
        .find_map(|l| l.strip_prefix("kms-key-arn = \""))
        .map(|l| l.trim_end_matches('"').to_owned())
        .expect("bootstrap wrote the key");
    let live = sb.control(
        "POST",
        "policies",
        Some(&json!({"key": key, "bucket": "hello-artifacts-123456789012"})),
    );
    for (name, sid) in [
        ("key_policy", "DeployTargetsUseTheKey"),
        ("bucket_policy", "DeployTargetsReadArtifacts"),
    ] {
        let doc: Value = serde_json::from_str(live[name].as_str().unwrap()).unwrap();
        let s = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("{sid} in {doc}"));
        assert_eq!(
            s["Principal"]["AWS"],
            json!([
                "arn:aws:iam::333333333333:root",
                "arn:aws:iam::444444444444:root"
            ]),
            "{s}"
        );
    }

    // A second run: nothing to change, no write call in any account.
    p.commit_all("the key bootstrap created");
    sb.clear_calls();
    let again = p.cmd().arg("bootstrap").envs(sb.env()).run().success();
    assert!(
        again.stdout.starts_with("nothing to change"),
        "{}",
        again.stdout
    );
    assert_eq!(writes(&sb), Vec::<String>::new(), "{}", again.stderr);

    // push reads the mirrors (one call) and goes on.
    sb.clear_calls();
    p.cmd()
        .args(["push", "--dry-run"])
        .envs(sb.env())
        .run()
        .success();
    assert_eq!(count(&sb, "GetParameters", PA), 1);
}

#[test]
fn push_stops_before_the_git_push_when_a_target_was_never_bootstrapped() {
    let sb = Sandbox::start();
    let p = project(&sb, &[("Staging", STAGING)]);
    p.cmd().arg("bootstrap").envs(sb.env()).run().success();
    p.commit_all("the key bootstrap created");
    add(&p, &[("Prod", PROD)]);

    sb.clear_calls();
    p.cmd()
        .arg("push")
        .envs(sb.env())
        .run()
        .code(1)
        .stderr_has("the deploy stages of pipeline hello-pipeline need a bootstrap of target account 444444444444 first; nothing was pushed")
        .stderr_has("target account 444444444444: never bootstrapped (no parameter /xpipeline/hello-pipeline/targets/444444444444 in the pipeline account)")
        .stderr_has("run `cargo xpipeline bootstrap`")
        .stderr_has("--target-profile 444444444444=PROFILE");
    // Nothing written: no pipeline, no commit on the remote branch.
    assert_eq!(writes(&sb), Vec::<String>::new());
    assert_eq!(sb.branch_head(SA, "hello", "main"), None);

    // bootstrap adds prod, and only prod.
    let out = p.cmd().arg("bootstrap").envs(sb.env()).run().success();
    assert!(
        out.stdout.contains(&format!(
            "role arn:aws:iam::{PROD}:role/hello-pipeline-deploy: created"
        )),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout
            .contains(&format!("role arn:aws:iam::{STAGING}:role")),
        "{}",
        out.stdout
    );
    p.cmd()
        .args(["push", "--dry-run"])
        .envs(sb.env())
        .run()
        .success();
}

/// What bootstrap created is enough: the pipeline's deploy stage, judged by the sandbox as AWS
/// judges it (the service role assumes the deploy role, which reads the artifact through the
/// bucket and key policies and passes the execution role, whose managed policy creates the
/// parameter), deploys into staging.
#[test]
fn after_bootstrap_push_deploys_the_stack_into_its_target_account() {
    let sb = Sandbox::start_with_stage_seconds(0.2);
    sb.control("POST", "empty-accounts", Some(&json!({})));
    let p = Project::new("hello", "main");
    p.cmd()
        .args(["init", "--pipeline-account", PA, "--source-account", SA])
        .args(["--region", "eu-west-1"])
        .envs(sb.env())
        .run()
        .success();
    let mut text = p.read("xpipeline.toml");
    text.push_str(&format!(
        "\n[[deploy]]\nname = \"Staging\"\naccount = \"{STAGING}\"\nstack = \"hello-staging\"\ntemplate = \"template.yaml\"\noutputs-file = \"outputs.json\"\nexecution-policies = [\"arn:aws:iam::aws:policy/AmazonSSMFullAccess\"]\n[deploy.parameters]\nCommitId = \"#{{SourceVariables.CommitId}}\"\n"
    ));
    p.write("xpipeline.toml", &text);
    p.write(
        "template.yaml",
        "Parameters:\n  CommitId:\n    Type: String\nResources:\n  Commit:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: /hello/commit\n      Type: String\n      Value: !Ref CommitId\nOutputs:\n  Commit:\n    Value: !Ref CommitId\n",
    );
    p.commit_all("a stack in staging");
    p.cmd().arg("bootstrap").envs(sb.env()).run().success();
    let commit = p.commit_all("the key bootstrap created");

    let push = p
        .cmd()
        .args(["push", "--output", "json"])
        .envs(sb.env())
        .run()
        .success();
    let doc: Value = serde_json::from_str(&push.stdout).unwrap();
    assert_eq!(doc["execution"]["status"], "Succeeded", "{}", push.stderr);
    let outputs = sb.control("GET", "deploy-outputs?pipeline=hello-pipeline", None);
    let outputs = outputs.as_array().unwrap();
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert_eq!(outputs[0]["account"], STAGING);
    assert_eq!(outputs[0]["stack"], "hello-staging");
    let content: Value = serde_json::from_str(outputs[0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["Commit"], commit.as_str());
}

#[test]
fn bootstrap_v_shows_every_call_with_the_account_that_signed_it() {
    let sb = Sandbox::start();
    let p = project(&sb, &[("Staging", STAGING)]);
    sb.clear_calls();
    let out = p
        .cmd()
        .args(["-v", "bootstrap"])
        .envs(sb.env())
        .run()
        .success();
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("aws: "))
        .collect();
    // One line per AWS call the sandbox received (git is not involved in bootstrap).
    let calls: Vec<_> = sb.calls();
    assert_eq!(
        lines.len(),
        calls.len(),
        "lines:\n{}\ncalls: {calls:#?}",
        lines.join("\n")
    );
    // The target's and the source's calls are named with their own account.
    for (account, operation) in [
        (STAGING, "CreateRole"),
        (SA, "CreateRepository"),
        (PA, "CreateKey"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!(" {operation} account {account} "))),
            "{operation} in {account}:\n{}",
            lines.join("\n")
        );
    }
}
