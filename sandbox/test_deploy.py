"""Deploy stages (issue #15): CloudFormation actions in target accounts and manual approvals."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import make_commit, pipeline_decl, wait_execution

STAGING = "333333333333"
PROD = "444444444444"

TEMPLATE = """\
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
Outputs:
  MarkerName:
    Value: !Ref Marker
"""

NAMED_ROLE = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: demo-named
      AssumeRolePolicyDocument: {"Version": "2012-10-17", "Statement": []}
"""


def lambda_template(bucket: str) -> str:
    return f"""\
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: arn:aws:iam::{STAGING}:role/whatever
      Code:
        S3Bucket: {bucket}
        S3Key: xpipeline-demo/packages/abc123
"""


@pytest.fixture
def sc(sandbox: Any) -> dict[str, Any]:
    return sandbox.ctl("seed", {"targets": [STAGING, PROD]})


def push(sb: Any, sc: dict[str, Any], files: dict[str, str], message: str = "deploy me") -> str:
    d, sha = make_commit(message, files)
    creds = sb.assume(sc["source_role_arn"])
    sb.git(d, "push", "-f", sb.url(sc["repository"]), "main", header=sb.git_auth_header(creds, sc["repository"]))
    return sha


def deploy_stage(
    sc: dict[str, Any],
    account: str,
    name: str,
    stack: str,
    *,
    mode: str = "change-set",
    approval: bool = False,
    capabilities: str = "CAPABILITY_NAMED_IAM,CAPABILITY_AUTO_EXPAND",
    execution_role: str | None = None,
    parameters: dict[str, str] | None = None,
    outputs_file: str | None = "outputs.json",
) -> dict[str, Any]:
    """The stage the Rust side renders for one [[deploy]] entry (issue #15's contract)."""
    deploy_role = sc["targets"][account]["deploy_role_arn"]
    exec_role = execution_role or sc["targets"][account]["execution_role_arn"]
    params = json.dumps(parameters if parameters is not None else {"CommitId": "#{SourceVariables.CommitId}"}, separators=(",", ":"))
    cfn = {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"}
    common = {"StackName": stack, "TemplatePath": "BuildArtifact::template.yaml", "Capabilities": capabilities, "RoleArn": exec_role, "ParameterOverrides": params}
    outputs: dict[str, Any] = {}
    if outputs_file:
        outputs = {"outputArtifacts": [{"name": f"{name}Outputs"}]}
    if mode == "direct":
        conf = {"ActionMode": "CREATE_UPDATE", **common}
        if outputs_file:
            conf["OutputFileName"] = outputs_file
        actions = [{"name": "Deploy", "actionTypeId": cfn, "runOrder": 1, "roleArn": deploy_role, "configuration": conf, "inputArtifacts": [{"name": "BuildArtifact"}], **outputs}]
        return {"name": name, "actions": actions}
    cs = f"xpipeline-{stack}"
    actions = [
        {
            "name": "CreateChangeSet",
            "actionTypeId": cfn,
            "runOrder": 1,
            "roleArn": deploy_role,
            "configuration": {"ActionMode": "CHANGE_SET_REPLACE", "ChangeSetName": cs, **common},
            "inputArtifacts": [{"name": "BuildArtifact"}],
        }
    ]
    if approval:
        actions.append(
            {
                "name": "Approve",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                "runOrder": 2,
                "configuration": {"CustomData": "prod, please", "ExternalEntityLink": "https://example.com/review"},
            }
        )
    conf = {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": stack, "ChangeSetName": cs}
    if outputs_file:
        conf["OutputFileName"] = outputs_file
    actions.append({"name": "ExecuteChangeSet", "actionTypeId": cfn, "runOrder": 3 if approval else 2, "roleArn": deploy_role, "configuration": conf, **outputs})
    return {"name": name, "actions": actions}


def pipeline(sc: dict[str, Any], *stages: dict[str, Any]) -> dict[str, Any]:
    decl = pipeline_decl(sc)
    decl["stages"][0]["actions"][0]["namespace"] = "SourceVariables"
    decl["stages"].extend(stages)
    return decl


def run(sb: Any, sc: dict[str, Any], decl: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
    cp = sb.client("codepipeline")
    if any(p["name"] == decl["name"] for p in cp.list_pipelines()["pipelines"]):
        cp.update_pipeline(pipeline=decl)
        eid = cp.start_pipeline_execution(name=decl["name"])["pipelineExecutionId"]
    else:
        cp.create_pipeline(pipeline=decl)
        eid = cp.list_pipeline_executions(pipelineName=decl["name"])["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    return wait_execution(cp, decl["name"], eid, timeout)


def action_state(sb: Any, name: str, stage: str, action: str) -> dict[str, Any]:
    state = sb.client("codepipeline").get_pipeline_state(name=name)
    s = next(s for s in state["stageStates"] if s["stageName"] == stage)
    return next(a for a in s["actionStates"] if a["actionName"] == action).get("latestExecution", {})


def error_of(sb: Any, name: str, stage: str, action: str) -> str:
    latest = action_state(sb, name, stage, action)
    assert latest["status"] == "Failed", latest
    return latest["errorDetails"]["message"]


def in_account(sb: Any, sc: dict[str, Any], account: str, service: str) -> Any:
    return sb.client(service, sb.assume(sc["targets"][account]["admin_role_arn"]))


def parameter(sb: Any, sc: dict[str, Any], account: str, name: str) -> str | None:
    ssm = in_account(sb, sc, account, "ssm") if account != sc["pipeline_account"] else sb.client("ssm")
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ParameterNotFound"
        return None


def wait_for_token(sb: Any, name: str, stage: str, action: str, timeout: float = 15.0) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        latest = action_state(sb, name, stage, action)
        if latest.get("status") == "InProgress" and latest.get("token"):
            return latest["token"]
        time.sleep(0.1)
    raise AssertionError(f"no pending approval at {stage}.{action}")


# ------------------------------------------------------------------ change sets, outputs


def test_change_set_deploys_into_the_target_account_only(sandbox: Any, sc: dict[str, Any]) -> None:
    sha = push(sandbox, sc, {"template.yaml": TEMPLATE})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging"))
    e = run(sandbox, sc, decl)
    assert e["status"] == "Succeeded", e
    name = f"/xpipeline-demo/{sha}"
    assert parameter(sandbox, sc, STAGING, name) == sha
    assert parameter(sandbox, sc, PROD, name) is None
    assert parameter(sandbox, sc, sc["pipeline_account"], name) is None
    cfn = in_account(sandbox, sc, STAGING, "cloudformation")
    stack = cfn.describe_stacks(StackName="xpipeline-demo-staging")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"] == [{"OutputKey": "MarkerName", "OutputValue": name}]
    cs = cfn.describe_change_set(StackName="xpipeline-demo-staging", ChangeSetName="xpipeline-xpipeline-demo-staging")
    assert cs["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert [c["ResourceChange"]["LogicalResourceId"] for c in cs["Changes"]] == ["Marker"]
    statuses = [ev["ResourceStatus"] for ev in cfn.describe_stack_events(StackName="xpipeline-demo-staging")["StackEvents"]]
    assert "CREATE_COMPLETE" in statuses
    # the pipeline account's own credentials see no such stack
    with pytest.raises(ClientError) as err:
        sandbox.client("cloudformation").describe_stacks(StackName="xpipeline-demo-staging")
    assert err.value.response["Error"]["Code"] == "ValidationError"
    outputs = sandbox.ctl("deploy-outputs?pipeline=demo")
    assert [(o["stage"], o["action"], o["artifact"], o["file"], o["account"]) for o in outputs] == [
        ("Staging", "ExecuteChangeSet", "StagingOutputs", "outputs.json", STAGING)
    ]
    assert json.loads(outputs[0]["content"]) == {"MarkerName": name}
    details = sandbox.client("codepipeline").list_action_executions(pipelineName="demo")["actionExecutionDetails"]
    create = next(d for d in details if d["actionName"] == "CreateChangeSet")
    assert json.loads(create["input"]["resolvedConfiguration"]["ParameterOverrides"]) == {"CommitId": sha}
    assert create["input"]["configuration"]["ParameterOverrides"] == '{"CommitId":"#{SourceVariables.CommitId}"}'
    assert create["output"]["executionResult"]["externalExecutionId"].startswith(f"arn:aws:cloudformation:eu-west-1:{STAGING}:changeSet/")


def test_a_second_commit_updates_the_stack(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging"))
    assert run(sandbox, sc, decl)["status"] == "Succeeded"
    sha2 = push(sandbox, sc, {"template.yaml": TEMPLATE}, "second")
    assert run(sandbox, sc, decl)["status"] == "Succeeded"
    stack = in_account(sandbox, sc, STAGING, "cloudformation").describe_stacks(StackName="xpipeline-demo-staging")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert parameter(sandbox, sc, STAGING, f"/xpipeline-demo/{sha2}") == sha2


def test_direct_mode_creates_then_updates(sandbox: Any, sc: dict[str, Any]) -> None:
    sha = push(sandbox, sc, {"template.yaml": TEMPLATE})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging", mode="direct"))
    assert run(sandbox, sc, decl)["status"] == "Succeeded"
    assert parameter(sandbox, sc, STAGING, f"/xpipeline-demo/{sha}") == sha
    outputs = sandbox.ctl("deploy-outputs?pipeline=demo")
    assert json.loads(outputs[-1]["content"]) == {"MarkerName": f"/xpipeline-demo/{sha}"}
    sha2 = push(sandbox, sc, {"template.yaml": TEMPLATE}, "second")
    assert run(sandbox, sc, decl)["status"] == "Succeeded"
    assert parameter(sandbox, sc, STAGING, f"/xpipeline-demo/{sha2}") == sha2


def test_artifact_files_add_to_the_build_artifact(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"README.md": "no template here\n"})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging"))
    e = run(sandbox, sc, decl)
    assert e["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "CreateChangeSet") == "File [template.yaml] does not exist in artifact [BuildArtifact]"
    sandbox.ctl("artifact-files", {"pipeline": "demo", "files": {"template.yaml": TEMPLATE}})
    assert run(sandbox, sc, decl)["status"] == "Succeeded"


# ------------------------------------------------------------------ approvals


def test_approval_waits_for_its_answer(sandbox: Any, sc: dict[str, Any]) -> None:
    sha = push(sandbox, sc, {"template.yaml": TEMPLATE})
    decl = pipeline(
        sc,
        deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging"),
        deploy_stage(sc, PROD, "Prod", "xpipeline-demo-prod", approval=True),
    )
    cp = sandbox.client("codepipeline")
    cp.create_pipeline(pipeline=decl)
    eid = cp.list_pipeline_executions(pipelineName="demo")["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    token = wait_for_token(sandbox, "demo", "Prod", "Approve")
    time.sleep(1.0)  # several stage times: it still waits
    assert cp.get_pipeline_execution(pipelineName="demo", pipelineExecutionId=eid)["pipelineExecution"]["status"] == "InProgress"
    latest = action_state(sandbox, "demo", "Prod", "Approve")
    assert latest["status"] == "InProgress" and latest["token"] == token
    assert latest["externalExecutionUrl"] == "https://example.com/review"
    assert parameter(sandbox, sc, STAGING, f"/xpipeline-demo/{sha}") == sha
    assert parameter(sandbox, sc, PROD, f"/xpipeline-demo/{sha}") is None
    # the change set awaits review in prod
    cs = in_account(sandbox, sc, PROD, "cloudformation").describe_change_set(
        StackName="xpipeline-demo-prod", ChangeSetName="xpipeline-xpipeline-demo-prod"
    )
    assert cs["Status"] == "CREATE_COMPLETE" and cs["ExecutionStatus"] == "AVAILABLE"

    def refused(**kw: Any) -> str:
        args = {"pipelineName": "demo", "stageName": "Prod", "actionName": "Approve", "result": {"summary": "ok", "status": "Approved"}, "token": token}
        args.update(kw)
        with pytest.raises(ClientError) as err:
            cp.put_approval_result(**args)
        return err.value.response["Error"]["Code"]

    assert refused(token="00000000-0000-0000-0000-000000000000") == "InvalidApprovalTokenException"
    assert refused(actionName="CreateChangeSet") == "ActionNotFoundException"
    assert refused(stageName="Nowhere") == "StageNotFoundException"
    assert refused(pipelineName="nope") == "PipelineNotFoundException"
    answered = cp.put_approval_result(
        pipelineName="demo", stageName="Prod", actionName="Approve", result={"summary": "looks right", "status": "Approved"}, token=token
    )
    assert answered["approvedAt"]
    assert refused() == "ApprovalAlreadyCompletedException"
    e = wait_execution(cp, "demo", eid)
    assert e["status"] == "Succeeded", e
    latest = action_state(sandbox, "demo", "Prod", "Approve")
    assert latest["status"] == "Succeeded" and latest["summary"] == "looks right" and "token" not in latest
    assert latest["lastUpdatedBy"].startswith("arn:aws:sts::123456789012:")
    assert parameter(sandbox, sc, PROD, f"/xpipeline-demo/{sha}") == sha


def test_rejected_approval_fails_the_execution(sandbox: Any, sc: dict[str, Any]) -> None:
    sha = push(sandbox, sc, {"template.yaml": TEMPLATE})
    decl = pipeline(sc, deploy_stage(sc, PROD, "Prod", "xpipeline-demo-prod", approval=True))
    cp = sandbox.client("codepipeline")
    cp.create_pipeline(pipeline=decl)
    eid = cp.list_pipeline_executions(pipelineName="demo")["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    token = wait_for_token(sandbox, "demo", "Prod", "Approve")
    cp.put_approval_result(pipelineName="demo", stageName="Prod", actionName="Approve", result={"summary": "not today", "status": "Rejected"}, token=token)
    e = wait_execution(cp, "demo", eid)
    assert e["status"] == "Failed"
    latest = action_state(sandbox, "demo", "Prod", "Approve")
    assert latest["status"] == "Failed" and latest["summary"] == "not today"
    assert action_state(sandbox, "demo", "Prod", "ExecuteChangeSet") == {}
    assert parameter(sandbox, sc, PROD, f"/xpipeline-demo/{sha}") is None
    stack = in_account(sandbox, sc, PROD, "cloudformation").describe_stacks(StackName="xpipeline-demo-prod")["Stacks"][0]
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"


def test_approval_times_out(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    decl = pipeline(sc, deploy_stage(sc, PROD, "Prod", "xpipeline-demo-prod", approval=True))
    cp = sandbox.client("codepipeline")
    cp.create_pipeline(pipeline=decl)
    eid = cp.list_pipeline_executions(pipelineName="demo")["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    token = wait_for_token(sandbox, "demo", "Prod", "Approve")
    assert sandbox.ctl("approval-timeout", {"pipeline": "demo", "action": "Approve"}) == {"expired": 1}
    assert wait_execution(cp, "demo", eid)["status"] == "Failed"
    assert action_state(sandbox, "demo", "Prod", "Approve")["status"] == "Failed"
    with pytest.raises(ClientError) as err:
        cp.put_approval_result(pipelineName="demo", stageName="Prod", actionName="Approve", result={"summary": "late", "status": "Approved"}, token=token)
    assert err.value.response["Error"]["Code"] == "InvalidApprovalTokenException"


# ------------------------------------------------------------------ refusals


def test_cross_account_execution_role_is_refused(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    prod_exec = sc["targets"][PROD]["execution_role_arn"]
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging", execution_role=prod_exec))
    assert run(sandbox, sc, decl)["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "CreateChangeSet") == "Cross-account pass role is not allowed."


def test_deploy_role_trust_is_judged_at_save_and_at_run(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    deploy_role = sc["targets"][STAGING]["deploy_role_arn"]
    trust = sandbox.ctl(f"policy?arn={deploy_role}&kind=trust")["document"]
    other = dict(trust)
    other["Statement"] = [dict(trust["Statement"][0], Condition={"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/someone-else"}})]
    sandbox.ctl("policy", {"arn": deploy_role, "kind": "trust", "document": other})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging"))
    with pytest.raises(ClientError) as err:
        sandbox.client("codepipeline").create_pipeline(pipeline=decl)
    assert err.value.response["Error"]["Code"] == "InvalidStructureException"
    assert err.value.response["Error"]["Message"] == f"{sc['service_role_arn']} is not authorized to perform AssumeRole on role {deploy_role}"
    sandbox.ctl("policy", {"arn": deploy_role, "kind": "trust", "document": trust})
    sandbox.client("codepipeline").create_pipeline(pipeline=decl)
    sandbox.ctl("hold", {"pipeline": "demo", "action": "Source"})
    sandbox.ctl("policy", {"arn": deploy_role, "kind": "trust", "document": other})
    sandbox.ctl("release", {"pipeline": "demo", "action": "Source"})
    eid = sandbox.client("codepipeline").list_pipeline_executions(pipelineName="demo")["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    assert wait_execution(sandbox.client("codepipeline"), "demo", eid)["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "CreateChangeSet") == f"{sc['service_role_arn']} is not authorized to perform AssumeRole on role {deploy_role}"


def test_deploy_role_needs_pass_role(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    deploy_role = sc["targets"][STAGING]["deploy_role_arn"]
    doc = sandbox.ctl(f"policy?arn={deploy_role}&kind=permissions")["document"]
    doc["Statement"] = [s for s in doc["Statement"] if s["Sid"] != "PassTheExecutionRole"]
    sandbox.ctl("policy", {"arn": deploy_role, "kind": "permissions", "document": doc})
    assert run(sandbox, sc, pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging")))["status"] == "Failed"
    msg = error_of(sandbox, "demo", "Staging", "CreateChangeSet")
    assert msg.startswith(
        f"User: arn:aws:sts::{STAGING}:assumed-role/xpipeline-demo-deploy/"
    ) and f"is not authorized to perform: iam:PassRole on resource: {sc['targets'][STAGING]['execution_role_arn']}" in msg


def test_deploy_role_must_read_the_artifact(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    bucket_arn = f"arn:aws:s3:::{sc['bucket']}"
    doc = sandbox.ctl(f"policy?arn={bucket_arn}")["document"]
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != "DeployTargetsReadArtifacts"]
    sandbox.ctl("policy", {"arn": bucket_arn, "document": doc})
    assert run(sandbox, sc, pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging")))["status"] == "Failed"
    msg = error_of(sandbox, "demo", "Staging", "CreateChangeSet")
    assert msg.startswith(
        "Insufficient permissions The service role or action role doesn\u2019t have the permissions required to access the "
        f"Amazon S3 bucket named {sc['bucket']}."
    )


def test_execution_role_must_read_what_the_template_names(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": lambda_template(sc["bucket"])})
    exec_role = sc["targets"][STAGING]["execution_role_arn"]
    key = sandbox.ctl(f"policy?arn={sc['kms_key_arn']}")["document"]
    grant = next(s for s in key["Statement"] if s.get("Sid") == "DeployTargetsUseTheKey")
    grant["Condition"]["ArnEquals"]["aws:PrincipalArn"] = [a for a in grant["Condition"]["ArnEquals"]["aws:PrincipalArn"] if a != exec_role]
    sandbox.ctl("policy", {"arn": sc["kms_key_arn"], "document": key})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging", parameters={}))
    assert run(sandbox, sc, decl)["status"] == "Failed"
    msg = error_of(sandbox, "demo", "Staging", "ExecuteChangeSet")
    assert msg.startswith("Failed to execute change set.\nCurrent stack status: ROLLBACK_COMPLETE.\nResource Fn (AWS::Lambda::Function): ")
    assert sc["kms_key_arn"] in msg
    events = in_account(sandbox, sc, STAGING, "cloudformation").describe_stack_events(StackName="xpipeline-demo-staging")["StackEvents"]
    failed = [ev for ev in events if ev["ResourceStatus"] == "CREATE_FAILED"]
    assert [ev["LogicalResourceId"] for ev in failed] == ["Fn"]
    assert sc["kms_key_arn"] in failed[0]["ResourceStatusReason"]
    # without the bucket grant, the bucket is named
    bucket_arn = f"arn:aws:s3:::{sc['bucket']}"
    doc = sandbox.ctl(f"policy?arn={bucket_arn}")["document"]
    st = next(s for s in doc["Statement"] if s.get("Sid") == "DeployTargetsReadArtifacts")
    st["Condition"]["ArnEquals"]["aws:PrincipalArn"] = [a for a in st["Condition"]["ArnEquals"]["aws:PrincipalArn"] if a != exec_role]
    sandbox.ctl("policy", {"arn": bucket_arn, "document": doc})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging2", parameters={}))
    assert run(sandbox, sc, decl)["status"] == "Failed"
    msg = error_of(sandbox, "demo", "Staging", "ExecuteChangeSet")
    assert f"permission to GetObject for {sc['bucket']}/xpipeline-demo/packages/abc123" in msg


def test_execution_role_permissions_are_judged_per_resource(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    exec_role = sc["targets"][STAGING]["execution_role_arn"]
    doc = sandbox.ctl(f"policy?arn={exec_role}&kind=permissions")["document"]
    doc["Statement"] = [s for s in doc["Statement"] if s["Sid"] != "Parameters"]
    sandbox.ctl("policy", {"arn": exec_role, "kind": "permissions", "document": doc})
    assert run(sandbox, sc, pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging")))["status"] == "Failed"
    msg = error_of(sandbox, "demo", "Staging", "ExecuteChangeSet")
    assert "is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:eu-west-1:333333333333:parameter/xpipeline-demo/" in msg
    assert "HandlerErrorCode: AccessDenied" in msg


def test_execution_role_trust_must_allow_cloudformation(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    exec_role = sc["targets"][STAGING]["execution_role_arn"]
    trust = sandbox.ctl(f"policy?arn={exec_role}&kind=trust")["document"]
    trust["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": PROD}}
    sandbox.ctl("policy", {"arn": exec_role, "kind": "trust", "document": trust})
    assert run(sandbox, sc, pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging")))["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "CreateChangeSet") == f"Role {exec_role} is invalid or cannot be assumed"


def test_capabilities_must_cover_the_template(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": NAMED_ROLE})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging", capabilities="CAPABILITY_IAM", parameters={}))
    assert run(sandbox, sc, decl)["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "CreateChangeSet") == "Requires capabilities : [CAPABILITY_NAMED_IAM]"
    sam = "Transform: AWS::Serverless-2016-10-31\n" + TEMPLATE
    push(sandbox, sc, {"template.yaml": sam}, "sam")
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging", mode="direct", capabilities="CAPABILITY_NAMED_IAM"))
    assert run(sandbox, sc, decl)["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "Deploy") == "Requires capabilities : [CAPABILITY_AUTO_EXPAND]"


def test_a_failed_first_create_leaves_rollback_complete(sandbox: Any, sc: dict[str, Any]) -> None:
    sha = push(sandbox, sc, {"template.yaml": TEMPLATE})
    sandbox.ctl("stack-failure", {"account": STAGING, "stack": "xpipeline-demo-staging", "reason": "Marker: the sandbox said no"})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging"))
    assert run(sandbox, sc, decl)["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "ExecuteChangeSet") == (
        "Failed to execute change set.\nCurrent stack status: ROLLBACK_COMPLETE.\n"
        "Resource Marker (AWS::SSM::Parameter): Marker: the sandbox said no"
    )
    cfn = in_account(sandbox, sc, STAGING, "cloudformation")
    stack = cfn.describe_stacks(StackName="xpipeline-demo-staging")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="xpipeline-demo-staging")["StackEvents"]
    assert any(ev["ResourceStatus"] == "CREATE_FAILED" and ev["ResourceStatusReason"] == "Marker: the sandbox said no" for ev in events)
    assert parameter(sandbox, sc, STAGING, f"/xpipeline-demo/{sha}") is None
    refusal = f"Stack:{stack['StackId']} is in ROLLBACK_COMPLETE state and can not be updated."
    assert run(sandbox, sc, decl)["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "CreateChangeSet") == refusal
    direct = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging", mode="direct"))
    assert run(sandbox, sc, direct)["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "Deploy") == refusal


def test_a_failed_update_rolls_back(sandbox: Any, sc: dict[str, Any]) -> None:
    sha = push(sandbox, sc, {"template.yaml": TEMPLATE})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging", mode="direct"))
    assert run(sandbox, sc, decl)["status"] == "Succeeded"
    sandbox.ctl("stack-failure", {"account": STAGING, "stack": "xpipeline-demo-staging", "reason": "nope"})
    sha2 = push(sandbox, sc, {"template.yaml": TEMPLATE}, "second")
    assert run(sandbox, sc, decl)["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "Deploy").startswith("Failed to update stack.\nCurrent stack status: UPDATE_ROLLBACK_COMPLETE.")
    stack = in_account(sandbox, sc, STAGING, "cloudformation").describe_stacks(StackName="xpipeline-demo-staging")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert parameter(sandbox, sc, STAGING, f"/xpipeline-demo/{sha2}") is None
    assert parameter(sandbox, sc, STAGING, f"/xpipeline-demo/{sha}") == sha
    # an UPDATE_ROLLBACK_COMPLETE stack can be updated again
    assert run(sandbox, sc, decl)["status"] == "Succeeded"
    assert parameter(sandbox, sc, STAGING, f"/xpipeline-demo/{sha2}") == sha2


def test_the_deploy_role_without_describe_stack_events_gets_no_reason(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    deploy_role = sc["targets"][STAGING]["deploy_role_arn"]
    doc = sandbox.ctl(f"policy?arn={deploy_role}&kind=permissions")["document"]
    doc["Statement"][0]["Action"].remove("cloudformation:DescribeStackEvents")
    sandbox.ctl("policy", {"arn": deploy_role, "kind": "permissions", "document": doc})
    sandbox.ctl("stack-failure", {"account": STAGING, "stack": "xpipeline-demo-staging", "reason": "hidden"})
    assert run(sandbox, sc, pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging")))["status"] == "Failed"
    assert error_of(sandbox, "demo", "Staging", "ExecuteChangeSet") == (
        "Failed to execute change set.\nCurrent stack status: ROLLBACK_COMPLETE.\n"
        "Status reason is not available because IAM role associated with the action does not have "
        "CloudFormation DescribeStackEvents permission"
    )


# ------------------------------------------------------------------ target accounts


def test_target_accounts_answer_their_own_credentials(sandbox: Any, sc: dict[str, Any]) -> None:
    ssm = in_account(sandbox, sc, PROD, "ssm")
    ssm.put_parameter(Name="/xpipeline/demo/bootstrap", Type="String", Value='{"version": 1}')
    assert ssm.get_parameter(Name="/xpipeline/demo/bootstrap")["Parameter"]["Value"] == '{"version": 1}'
    assert parameter(sandbox, sc, STAGING, "/xpipeline/demo/bootstrap") is None
    assert parameter(sandbox, sc, sc["pipeline_account"], "/xpipeline/demo/bootstrap") is None
    calls = [c for c in sandbox.calls() if c["action"] in ("PutParameter", "GetParameter")]
    assert {c["account"] for c in calls} == {PROD, STAGING, sc["pipeline_account"]}


def test_empty_accounts_hold_the_target_admin_roles(sandbox: Any) -> None:
    answer = sandbox.ctl("empty-accounts", {})
    assert answer["target_accounts"] == [STAGING, PROD]
    assert answer["target_admin_role_arns"] == [f"arn:aws:iam::{a}:role/OrganizationAccountAccessRole" for a in (STAGING, PROD)]
    for arn in answer["target_admin_role_arns"]:
        creds = sandbox.assume(arn)
        ident = sandbox.client("sts", creds).get_caller_identity()
        assert ident["Account"] == arn.split(":")[4]
        roles = [r["RoleName"] for r in sandbox.client("iam", creds).list_roles()["Roles"]]
        assert roles == ["OrganizationAccountAccessRole"]
    assert sandbox.ctl("empty-accounts", {"target_accounts": []})["target_admin_role_arns"] == []


# ------------------------------------------------------------------ the capability rule itself


def test_capability_rule() -> None:
    from xpsandbox.deploy import Failed, check_capabilities, parse_template

    sam = parse_template(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: s3://b/k, Handler: bootstrap, Runtime: provided.al2023}\n"
    )
    with pytest.raises(Failed) as err:
        check_capabilities(sam, "CAPABILITY_AUTO_EXPAND", direct=False)
    assert err.value.message == "Requires capabilities : [CAPABILITY_IAM]"  # SAM adds a role
    check_capabilities(sam, "CAPABILITY_NAMED_IAM", direct=False)  # a change set shows the expansion
    with pytest.raises(Failed) as err:
        check_capabilities(sam, "CAPABILITY_NAMED_IAM", direct=True)
    assert err.value.message == "Requires capabilities : [CAPABILITY_AUTO_EXPAND]"
    check_capabilities(sam, "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND", direct=True)
    unnamed = parse_template("Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n")
    check_capabilities(unnamed, "CAPABILITY_IAM", direct=True)
    with pytest.raises(Failed) as err:
        check_capabilities(unnamed, "", direct=True)
    assert err.value.message == "Requires capabilities : [CAPABILITY_IAM]"


def test_the_service_role_needs_its_own_grant_to_assume_the_deploy_role(sandbox: Any, sc: dict[str, Any]) -> None:
    push(sandbox, sc, {"template.yaml": TEMPLATE})
    service_role = sc["service_role_arn"]
    assert sandbox.ctl(f"policy?arn={service_role}&kind=permissions&name=xpipeline-deploy")["document"] is not None
    sandbox.ctl("policy", {"arn": service_role, "kind": "permissions", "name": "xpipeline-deploy", "document": None})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging"))
    with pytest.raises(ClientError) as err:
        sandbox.client("codepipeline").create_pipeline(pipeline=decl)
    assert err.value.response["Error"]["Message"] == (
        f"{service_role} is not authorized to perform AssumeRole on role {sc['targets'][STAGING]['deploy_role_arn']}"
    )


def test_running_the_same_commit_again_changes_nothing(sandbox: Any, sc: dict[str, Any]) -> None:
    sha = push(sandbox, sc, {"template.yaml": TEMPLATE})
    decl = pipeline(sc, deploy_stage(sc, STAGING, "Staging", "xpipeline-demo-staging"))
    assert run(sandbox, sc, decl)["status"] == "Succeeded"
    assert run(sandbox, sc, decl)["status"] == "Succeeded"
    cfn = in_account(sandbox, sc, STAGING, "cloudformation")
    assert cfn.describe_stacks(StackName="xpipeline-demo-staging")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    cs = cfn.describe_change_set(StackName="xpipeline-demo-staging", ChangeSetName="xpipeline-xpipeline-demo-staging")
    assert cs["Status"] == "FAILED" and "didn't contain changes" in cs["StatusReason"]
    outputs = sandbox.ctl("deploy-outputs?pipeline=demo")
    assert [json.loads(o["content"]) for o in outputs] == [{"MarkerName": f"/xpipeline-demo/{sha}"}] * 2
