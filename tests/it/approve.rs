//! Deploy stages followed against the sandbox: a pipeline with a change-set stage and a
//! manual approval (created with boto3 as issue #15's contract renders it), the watch that
//! stops at the gate with --no-wait-approval, `approve` (the change set shown, the stage goes
//! on), `approve --reject` (the execution ends Failed, the watch exits 3), `approve` with
//! nothing waiting, and deploy failures named with their fix.

use serde_json::{Value, json};

use crate::status::fixture::{self, Sandbox, Scenario};
use crate::support::{Output, Project};

const PIPELINE: &str = "xpipeline-demo-deploys";
const STAGING: &str = "333333333333";
const PROD: &str = "444444444444";
const STACK: &str = "xpipeline-demo-prod";

const TEMPLATE: &str = "\
Parameters:
  CommitId:
    Type: String
Resources:
  Marker:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub /xpipeline-demo/${CommitId}
      Type: String
      Value: !Ref CommitId
";

fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

/// The seeded scenario with deploy targets staging and prod; their roles by account.
fn seed(sandbox: &Sandbox) -> (Scenario, Value) {
    let v = sandbox.control("POST", "seed", Some(&json!({"targets": [STAGING, PROD]})));
    let s = Scenario {
        pipeline_account: text(&v, "pipeline_account"),
        source_account: text(&v, "source_account"),
        region: text(&v, "region"),
        service_role_arn: text(&v, "service_role_arn"),
        kms_key_arn: text(&v, "kms_key_arn"),
        bucket: text(&v, "bucket"),
        repository: text(&v, "repository"),
        source_role_arn: text(&v, "source_role_arn"),
        build_project: text(&v, "build_project"),
    };
    (s, v["targets"].clone())
}

/// A change-set stage into `account` (issue #15's rendering), with an approval when asked.
fn deploy_stage(
    targets: &Value,
    account: &str,
    name: &str,
    approval: bool,
    exec_role: Option<&str>,
) -> Value {
    let deploy_role = &targets[account]["deploy_role_arn"];
    let exec_role = exec_role.map_or_else(
        || targets[account]["execution_role_arn"].clone(),
        |r| json!(r),
    );
    let cfn =
        json!({"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"});
    let stack = format!("xpipeline-demo-{}", name.to_lowercase());
    let change_set = format!("xpipeline-{stack}");
    let mut actions = vec![json!({
        "name": "CreateChangeSet", "actionTypeId": cfn, "runOrder": 1, "roleArn": deploy_role,
        "configuration": {
            "ActionMode": "CHANGE_SET_REPLACE", "StackName": stack, "ChangeSetName": change_set,
            "TemplatePath": "BuildArtifact::template.yaml",
            "Capabilities": "CAPABILITY_NAMED_IAM,CAPABILITY_AUTO_EXPAND", "RoleArn": exec_role,
            "ParameterOverrides": "{\"CommitId\":\"#{SourceVariables.CommitId}\"}"
        },
        "inputArtifacts": [{"name": "BuildArtifact"}]
    })];
    if approval {
        actions.push(json!({
            "name": "Approve",
            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
            "runOrder": 2,
            "configuration": {"CustomData": "prod, please", "ExternalEntityLink": "https://example.com/review"}
        }));
    }
    actions.push(json!({
        "name": "ExecuteChangeSet", "actionTypeId": cfn, "runOrder": if approval { 3 } else { 2 },
        "roleArn": deploy_role,
        "configuration": {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": stack, "ChangeSetName": change_set}
    }));
    json!({"name": name, "actions": actions})
}

/// The project (its commit holds template.yaml) pushed to the source repository, and the
/// pipeline with `stages` after Build created (AWS starts an execution of that commit).
fn pipeline(
    sandbox: &Sandbox,
    stages: impl Fn(&Value) -> Vec<Value>,
) -> (Project, Scenario, Value) {
    pipeline_of(sandbox, TEMPLATE, stages)
}

/// As `pipeline`, with this template.yaml.
fn pipeline_of(
    sandbox: &Sandbox,
    template: &str,
    stages: impl Fn(&Value) -> Vec<Value>,
) -> (Project, Scenario, Value) {
    let (s, targets) = seed(sandbox);
    let p = Project::new("demo-app", "main");
    p.write("xpipeline.toml", &s.config(PIPELINE));
    p.write("template.yaml", template);
    p.commit_all("Add the pipeline and its template");
    let repo = sandbox.repo_dir(&s.source_account, &s.repository);
    p.git(&["push", "-q", repo.to_str().unwrap(), "HEAD:main"]);
    let mut all = vec![
        json!({"name": "Source", "actions": [{
            "name": "Source", "namespace": "SourceVariables",
            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
            "roleArn": s.source_role_arn,
            "configuration": {"RepositoryName": s.repository, "BranchName": "main", "PollForSourceChanges": "false"},
            "outputArtifacts": [{"name": "SourceArtifact"}]}]}),
        json!({"name": "Build", "actions": [{
            "name": "Build",
            "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "configuration": {"ProjectName": s.build_project},
            "inputArtifacts": [{"name": "SourceArtifact"}],
            "outputArtifacts": [{"name": "BuildArtifact"}]}]}),
    ];
    all.extend(stages(&targets));
    let decl = json!({
        "name": PIPELINE, "roleArn": s.service_role_arn, "pipelineType": "V2",
        "executionMode": "SUPERSEDED",
        "artifactStore": {"type": "S3", "location": s.bucket,
                          "encryptionKey": {"id": s.kms_key_arn, "type": "KMS"}},
        "stages": all
    });
    fixture::boto3(
        sandbox,
        &format!(
            "cp.create_pipeline(pipeline=json.loads({:?}))",
            decl.to_string()
        ),
    );
    (p, s, targets)
}

fn run(p: &Project, sandbox: &Sandbox, args: &[&str]) -> Output {
    p.cmd().args(args).envs(sandbox.env()).run()
}

/// Follow the execution until it waits at the approval: exit 0, the gate told once.
fn until_the_gate(p: &Project, sandbox: &Sandbox) -> Output {
    run(p, sandbox, &["status", "--watch", "--no-wait-approval"])
        .success()
        .stderr_has("Prod/Approve waits for approval: prod, please")
        .stderr_has("review: https://example.com/review")
        .stderr_has("change set xpipeline-xpipeline-demo-prod of stack xpipeline-demo-prod in account 444444444444")
        .stderr_has("`cargo xpipeline approve --stage Prod` (or `cargo xpipeline approve --stage Prod --reject`)")
        .stderr_has(&format!(
            "codepipeline:PutApprovalResult on arn:aws:codepipeline:eu-west-1:{}:{PIPELINE}/Prod/Approve",
            "123456789012"
        ))
        .stderr_has("stopped following at the approval (--no-wait-approval)")
}

fn ssm_parameter(sandbox: &Sandbox, targets: &Value, account: &str, name: &str) -> String {
    let admin = text(&targets[account], "admin_role_arn");
    fixture::boto3(
        sandbox,
        &format!(
            "sts = boto3.client('sts', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name=os.environ['AWS_REGION'])\n\
             c = sts.assume_role(RoleArn='{admin}', RoleSessionName='test')['Credentials']\n\
             ssm = boto3.client('ssm', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name=os.environ['AWS_REGION'], \
             aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])\n\
             try:\n    print(ssm.get_parameter(Name='{name}')['Parameter']['Value'])\n\
             except ssm.exceptions.ParameterNotFound:\n    print('absent')"
        ),
    )
}

#[test]
fn approve_shows_the_change_set_and_the_stage_goes_on() {
    let sandbox = Sandbox::start();
    let (p, _, targets) = pipeline(&sandbox, |t| {
        vec![deploy_stage(t, PROD, "Prod", true, None)]
    });
    until_the_gate(&p, &sandbox);
    // `status` shows the approval waiting, in text and in JSON.
    run(&p, &sandbox, &["status"])
        .success()
        .stdout_has("Waiting for approval\n  Prod/Approve waits for approval: prod, please");
    let out = run(&p, &sandbox, &["--output", "json", "status"]).success();
    let v: Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(v["approvals"][0]["stage"], "Prod", "{v}");
    assert_eq!(v["approvals"][0]["changeSet"]["stack"], STACK, "{v}");
    let commit = p.git(&["rev-parse", "HEAD"]);
    let marker = format!("/xpipeline-demo/{commit}");
    assert_eq!(ssm_parameter(&sandbox, &targets, PROD, &marker), "absent");

    let out = run(&p, &sandbox, &["--output", "json", "approve", "--comment", "reviewed"])
        .success()
        .stderr_has("approving Prod/Approve of execution ")
        .stderr_has("change set xpipeline-xpipeline-demo-prod of stack xpipeline-demo-prod (account 444444444444): 1 added, 0 modified, 0 removed")
        .stderr_has("+ Marker (AWS::SSM::Parameter)");
    let v: Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(v["result"], "Approved", "{v}");
    assert_eq!(v["summary"], "reviewed", "{v}");
    assert_eq!(v["approval"]["stage"], "Prod", "{v}");
    assert_eq!(v["changeSet"]["added"][0]["logicalId"], "Marker", "{v}");
    assert!(!out.stdout.contains("token"), "{}", out.stdout);

    // The stage went on: the watch follows it to the end, and the stack is in prod.
    run(&p, &sandbox, &["status", "--watch"])
        .success()
        .stderr_has("Prod/ExecuteChangeSet Succeeded");
    assert_eq!(ssm_parameter(&sandbox, &targets, PROD, &marker), commit);
    assert_eq!(
        ssm_parameter(&sandbox, &targets, STAGING, &marker),
        "absent"
    );

    // Nothing waits any more: a clear refusal, exit 1.
    run(&p, &sandbox, &["approve"]).code(1).stderr_has(&format!(
        "no approval of pipeline {PIPELINE} is waiting for an answer"
    ));
}

#[test]
fn a_rejection_ends_the_execution_failed_and_the_watch_exits_3() {
    let sandbox = Sandbox::start();
    let (p, _, _) = pipeline(&sandbox, |t| {
        vec![deploy_stage(t, PROD, "Prod", true, None)]
    });
    until_the_gate(&p, &sandbox);
    // Without target access the change set cannot be read: said in one line, still answered.
    let out = run(
        &p,
        &sandbox,
        &[
            "approve",
            "--reject",
            "--comment",
            "not today",
            "--target-admin-role-arn",
            "arn:aws:iam::444444444444:role/NoSuchRole",
        ],
    )
    .success()
    .stderr_has("cannot read change set xpipeline-xpipeline-demo-prod of stack xpipeline-demo-prod in account 444444444444: cannot assume the admin role arn:aws:iam::444444444444:role/NoSuchRole of target account 444444444444: AccessDenied")
    .stderr_has("answering without it");
    assert!(
        out.stdout.starts_with(&format!(
            "rejected Prod/Approve of pipeline {PIPELINE}, execution "
        )),
        "{}",
        out.stdout
    );
    run(&p, &sandbox, &["status", "--watch"])
        .code(3)
        .stderr_has("action Prod/Approve failed")
        .stderr_has("not today");
}

#[test]
fn approve_refuses_when_nothing_waits_or_the_stage_is_unclear() {
    let sandbox = Sandbox::start();
    let (p, _, _) = pipeline(&sandbox, |t| {
        vec![
            deploy_stage(t, STAGING, "Staging", true, None),
            deploy_stage(t, PROD, "Prod", true, None),
        ]
    });
    run(&p, &sandbox, &["approve", "--stage", "Prod"])
        .code(1)
        .stderr_has(&format!(
            "no approval of pipeline {PIPELINE} is waiting for an answer in stage Prod"
        ))
        .stderr_has("cargo xpipeline status");
    run(&p, &sandbox, &["approve", "--stage", " "])
        .code(2)
        .stderr_has("--stage is empty");
    run(&p, &sandbox, &["approve", "--target-profile", "prod-admin"])
        .code(2)
        .stderr_has("--target-profile takes ACCOUNT=PROFILE");
}

#[test]
fn a_cross_account_pass_role_names_the_key_that_fixes_it() {
    let sandbox = Sandbox::start();
    // The staging stage passes prod's execution role: AWS refuses a cross-account pass role.
    let (p, _, _) = pipeline(&sandbox, |t| {
        let prod_exec = text(&t[PROD], "execution_role_arn");
        vec![deploy_stage(t, STAGING, "Staging", false, Some(&prod_exec))]
    });
    run(&p, &sandbox, &["status", "--watch"])
        .code(3)
        .stderr_has("action Staging/CreateChangeSet failed")
        .stderr_has("Cross-account pass role is not allowed")
        .stderr_has("hint: CloudFormation's execution role must be in the deploy role's account (333333333333): set `execution-role-arn`");
}

#[test]
fn a_failed_first_create_names_the_resource_then_the_delete_command() {
    let sandbox = Sandbox::start();
    sandbox.control(
        "POST",
        "stack-failure",
        Some(
            &json!({"account": PROD, "stack": STACK, "resource": "Marker",
                     "reason": "Parameter limit exceeded"}),
        ),
    );
    let (p, _, _) = pipeline(&sandbox, |t| {
        vec![deploy_stage(t, PROD, "Prod", false, None)]
    });
    // The failing resource and its reason, read from the stack's events in prod.
    run(&p, &sandbox, &["status", "--watch"])
        .code(3)
        .stderr_has("action Prod/ExecuteChangeSet failed")
        .stderr_has("the stack's latest operation failed at Marker (AWS::SSM::Parameter), stack xpipeline-demo-prod in account 444444444444: Parameter limit exceeded");
    // The stack is left in ROLLBACK_COMPLETE: the next run names the command that deletes it.
    fixture::start_execution(&sandbox, PIPELINE);
    run(&p, &sandbox, &["status", "--watch"])
        .code(3)
        .stderr_has("ROLLBACK_COMPLETE")
        .stderr_has("`aws cloudformation delete-stack --stack-name xpipeline-demo-prod --region eu-west-1 --profile <a profile of account 444444444444>`");
}

#[test]
fn a_missing_capability_names_the_key_with_aws_wording() {
    let sandbox = Sandbox::start();
    let named_role = "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: demo-named\n      AssumeRolePolicyDocument: {\"Version\": \"2012-10-17\", \"Statement\": []}\n";
    let (p, _, _) = pipeline_of(&sandbox, named_role, |t| {
        let mut stage = deploy_stage(t, STAGING, "Staging", false, None);
        let conf = &mut stage["actions"][0]["configuration"];
        conf["Capabilities"] = json!("CAPABILITY_AUTO_EXPAND");
        conf.as_object_mut().unwrap().remove("ParameterOverrides");
        vec![stage]
    });
    run(&p, &sandbox, &["status", "--watch"])
        .code(3)
        .stderr_has("action Staging/CreateChangeSet failed")
        .stderr_has("Requires capabilities : [CAPABILITY_NAMED_IAM]")
        .stderr_has("add it to `capabilities` of this [[deploy]]");
}

#[test]
fn a_target_without_the_bucket_grant_names_the_bucket_and_the_fix() {
    let sandbox = Sandbox::start();
    let (p, s, _) = pipeline(&sandbox, |t| {
        vec![deploy_stage(t, STAGING, "Staging", false, None)]
    });
    // The bucket policy loses the targets' read grant (as before bootstrap added it).
    fixture::boto3(
        &sandbox,
        &format!(
            "s3 = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name=os.environ['AWS_REGION'])\n\
             doc = json.loads(s3.get_bucket_policy(Bucket='{b}')['Policy'])\n\
             doc['Statement'] = [x for x in doc['Statement'] if x.get('Sid') != 'DeployTargetsReadArtifacts']\n\
             s3.put_bucket_policy(Bucket='{b}', Policy=json.dumps(doc))",
            b = s.bucket
        ),
    );
    run(&p, &sandbox, &["status", "--watch"])
        .code(3)
        .stderr_has("action Staging/CreateChangeSet failed")
        .stderr_has(&format!("Amazon S3 bucket named {}", s.bucket))
        .stderr_has("hint: the artifact bucket's policy must let the deploy and execution roles of account 333333333333 read");
}
