//! Issue #15's whole path against the sandbox, from empty accounts (pipeline, source, staging,
//! prod; each non-pipeline account holding only its admin role): `init`, `bootstrap`, then
//! `push` deploys into staging and stops at prod's approval (`--no-wait-approval`, exit 0),
//! `approve` lets it deploy into prod, `status --watch` follows it to the end; the stacks'
//! resources are in their accounts and nowhere else; a second `bootstrap` and a second `push`
//! of the same declaration write nothing.

use serde_json::{Value, json};

use crate::status::fixture;
use crate::support::Project;
use crate::support::sandbox::Sandbox;

const PA: &str = "123456789012";
const SA: &str = "222222222222";
const STAGING: &str = "333333333333";
const PROD: &str = "444444444444";

/// A template whose SSM parameter's name carries the built commit.
const TEMPLATE: &str = "Parameters:\n  CommitId:\n    Type: String\nResources:\n  Marker:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: !Sub /hello/${CommitId}\n      Type: String\n      Value: !Ref CommitId\nOutputs:\n  Commit:\n    Value: !Ref CommitId\n";

fn entry(name: &str, account: &str, approval: bool) -> String {
    let mut e = format!(
        "\n[[deploy]]\nname = \"{name}\"\naccount = \"{account}\"\nstack = \"hello-{}\"\ntemplate = \"template.yaml\"\nexecution-policies = [\"arn:aws:iam::aws:policy/AmazonSSMFullAccess\"]\n[deploy.parameters]\nCommitId = \"#{{SourceVariables.CommitId}}\"\n",
        name.to_lowercase()
    );
    if approval {
        e.push_str("[deploy.approval]\ncomment = \"staging looks right?\"\n");
    }
    e
}

/// The value of SSM parameter `name` in `account` (read through its admin role), or "absent".
fn parameter(sb: &Sandbox, account: &str, name: &str) -> String {
    let read = format!(
        "ssm = boto3.client('ssm', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name=os.environ['AWS_REGION']{})\n\
         try:\n    print(ssm.get_parameter(Name='{name}')['Parameter']['Value'])\n\
         except ssm.exceptions.ParameterNotFound:\n    print('absent')",
        if account == PA {
            String::new()
        } else {
            ", aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken']".to_owned()
        }
    );
    let assume = if account == PA {
        String::new()
    } else {
        format!(
            "sts = boto3.client('sts', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name=os.environ['AWS_REGION'])\n\
             c = sts.assume_role(RoleArn='arn:aws:iam::{account}:role/OrganizationAccountAccessRole', RoleSessionName='test')['Credentials']\n"
        )
    };
    fixture::boto3(sb, &format!("{assume}{read}"))
}

/// The calls that change something in IAM, KMS, S3 policies, SSM or the pipeline.
fn writes(sb: &Sandbox) -> Vec<String> {
    sb.calls()
        .iter()
        .filter(|c| {
            ["iam", "kms", "s3", "ssm", "codepipeline"].contains(&c.service.as_str())
                && ["Create", "Put", "Update", "Tag", "Delete", "Attach"]
                    .iter()
                    .any(|w| c.action.starts_with(w))
        })
        .map(|c| format!("{}:{} ({})", c.service, c.action, c.account))
        .collect()
}

#[test]
fn from_empty_accounts_push_deploys_to_staging_waits_for_approval_then_deploys_to_prod() {
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
    text.push_str(&entry("Staging", STAGING, false));
    text.push_str(&entry("Prod", PROD, true));
    p.write("xpipeline.toml", &text);
    p.write("template.yaml", TEMPLATE);
    p.commit_all("a stack in staging and prod");

    p.cmd().arg("bootstrap").envs(sb.env()).run().success();
    let commit = p.commit_all("the key bootstrap created");
    let marker = format!("/hello/{commit}");

    // Staging deploys; the push stops following at prod's gate, exit 0, saying how to go on.
    p.cmd()
        .args(["push", "--no-wait-approval"])
        .envs(sb.env())
        .run()
        .success()
        .stderr_has("Prod/Approve")
        .stderr_has("cargo xpipeline approve");
    assert_eq!(parameter(&sb, STAGING, &marker), commit);
    assert_eq!(parameter(&sb, PROD, &marker), "absent");

    // The approver sees the change set that prod will get, and answers.
    p.cmd()
        .args(["approve", "--comment", "ship it"])
        .envs(sb.env())
        .run()
        .success()
        .stderr_has(&format!("(account {PROD}): 1 added, 0 modified, 0 removed"))
        .stderr_has("+ Marker (AWS::SSM::Parameter)");
    p.cmd()
        .args(["status", "--watch"])
        .envs(sb.env())
        .run()
        .success()
        .stderr_has("Prod/ExecuteChangeSet Succeeded");
    assert_eq!(parameter(&sb, PROD, &marker), commit);
    // Nowhere else.
    assert_eq!(parameter(&sb, PA, &marker), "absent");
    assert_eq!(parameter(&sb, SA, &marker), "absent");
    let stacks = fixture::boto3(
        &sb,
        "cf = boto3.client('cloudformation', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name=os.environ['AWS_REGION'])\n\
         print(json.dumps([s['StackName'] for s in cf.describe_stacks()['Stacks']]))",
    );
    assert_eq!(stacks, "[]", "no stack in the pipeline account");

    // The same declaration again: bootstrap and push write nothing, and start nothing.
    sb.clear_calls();
    p.cmd()
        .arg("bootstrap")
        .envs(sb.env())
        .run()
        .success()
        .stdout_has("nothing to change");
    assert_eq!(writes(&sb), Vec::<String>::new());
    let out = p
        .cmd()
        .args(["--output", "json", "push"])
        .envs(sb.env())
        .run()
        .success();
    let doc: Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(doc["execution"]["status"], "Succeeded", "{}", out.stderr);
    assert_eq!(writes(&sb), Vec::<String>::new());
    assert_eq!(sb.count("StartPipelineExecution"), 0);
}

#[test]
fn a_first_create_that_fails_leaves_rollback_complete_and_the_next_push_names_the_fix() {
    let sb = Sandbox::start_with_stage_seconds(0.2);
    sb.control("POST", "empty-accounts", Some(&json!({})));
    sb.control(
        "POST",
        "stack-failure",
        Some(
            &json!({"account": STAGING, "stack": "hello-staging", "resource": "Marker",
                     "reason": "Parameter limit exceeded"}),
        ),
    );
    let p = Project::new("hello", "main");
    p.cmd()
        .args(["init", "--pipeline-account", PA, "--source-account", SA])
        .args(["--region", "eu-west-1"])
        .envs(sb.env())
        .run()
        .success();
    let mut text = p.read("xpipeline.toml");
    text.push_str(&entry("Staging", STAGING, false));
    p.write("xpipeline.toml", &text);
    p.write("template.yaml", TEMPLATE);
    p.commit_all("a stack in staging");
    p.cmd().arg("bootstrap").envs(sb.env()).run().success();
    p.commit_all("the key bootstrap created");

    // The first create fails: the failing resource and its reason, exit 3.
    p.cmd()
        .arg("push")
        .envs(sb.env())
        .run()
        .code(3)
        .stderr_has("Marker (AWS::SSM::Parameter)")
        .stderr_has("Parameter limit exceeded");
    // The next push cannot update a stack in ROLLBACK_COMPLETE: it says so, with the command
    // that deletes the stack in the target account.
    p.write("NEXT", "next\n");
    p.commit_all("try again");
    p.cmd()
        .arg("push")
        .envs(sb.env())
        .run()
        .code(3)
        .stderr_has("ROLLBACK_COMPLETE")
        .stderr_has(
            "aws cloudformation delete-stack --stack-name hello-staging --region eu-west-1",
        );
}
