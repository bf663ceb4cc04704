"""The control API: seed, reset, call log."""

import urllib.error

import pytest
from botocore.exceptions import ClientError
from conftest import pipeline_decl


def test_seed_returns_every_name_and_arn(sandbox):
    sc = sandbox.ctl("seed", {})
    assert sc["pipeline_account"] == "123456789012"
    assert sc["source_account"] == "222222222222"
    assert sc["region"] == "eu-west-1"
    assert sc["service_role_arn"] == "arn:aws:iam::123456789012:role/xpipeline-demo-codepipeline"
    assert sc["kms_key_arn"].startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    assert sc["bucket"] == "xpipeline-demo-artifacts-123456789012"
    assert sc["repository"] == "xpipeline-demo"
    assert sc["source_role_arn"] == "arn:aws:iam::222222222222:role/xpipeline-demo-cross-account"
    assert sc["build_project"] == "xpipeline-demo-build"
    assert sandbox.ctl("seed", {}) == sc  # idempotent
    # the resources are really there, in the right accounts
    iam = sandbox.client("iam")
    role = iam.get_role(RoleName="xpipeline-demo-codepipeline")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "codepipeline.amazonaws.com"}
    assert sandbox.client("kms").describe_key(KeyId=sc["kms_key_arn"])["KeyMetadata"]["Enabled"]
    sandbox.client("s3").head_bucket(Bucket=sc["bucket"])
    assert sandbox.client("codebuild").batch_get_projects(names=[sc["build_project"]])["projects"]
    source = sandbox.assume(sc["source_role_arn"])
    repo = sandbox.client("codecommit", source).get_repository(repositoryName="xpipeline-demo")["repositoryMetadata"]
    assert repo["accountId"] == "222222222222"
    with pytest.raises(ClientError):
        sandbox.client("codecommit").get_repository(repositoryName="xpipeline-demo")  # not in the pipeline account
    assert sandbox.client("iam", source).get_role(RoleName="xpipeline-demo-cross-account")["Role"]["Arn"] == sc["source_role_arn"]


def test_seed_overrides(sandbox):
    sc = sandbox.ctl("seed", {"region": "us-west-2", "repository": "other", "bucket": "b-1", "build_project": "bp"})
    assert (sc["region"], sc["repository"], sc["bucket"], sc["build_project"]) == ("us-west-2", "other", "b-1", "bp")
    assert ":us-west-2:" in sc["kms_key_arn"]


def test_call_log_counts_what_was_called(sandbox, scenario):
    sandbox.ctl("calls", method="DELETE")
    cp = sandbox.client("codepipeline")
    cp.create_pipeline(pipeline=pipeline_decl(scenario))
    for _ in range(3):
        cp.get_pipeline(name="demo")
    decl = pipeline_decl(scenario)
    decl["stages"][1]["actions"][0]["configuration"]["ProjectName"] = "changed"
    cp.update_pipeline(pipeline=decl)
    sandbox.client("sts").get_caller_identity()
    sandbox.client("s3").list_objects_v2(Bucket=scenario["bucket"])
    sandbox.client("kms").describe_key(KeyId=scenario["kms_key_arn"])
    source = sandbox.assume(scenario["source_role_arn"])
    sandbox.client("codecommit", source).get_repository(repositoryName=scenario["repository"])
    assert sandbox.count("CreatePipeline") == 1
    assert sandbox.count("GetPipeline") == 3
    assert sandbox.count("UpdatePipeline") == 1
    assert sandbox.count("GetPipelineExecution") == 0
    calls = sandbox.calls()
    assert {"service": "sts", "action": "GetCallerIdentity", "account": "123456789012", "status": 200} in calls
    assert {"service": "s3", "action": "ListObjectsV2", "account": "123456789012", "status": 200} in calls
    assert {"service": "kms", "action": "DescribeKey", "account": "123456789012", "status": 200} in calls
    assert {"service": "codecommit", "action": "GetRepository", "account": "222222222222", "status": 200} in calls
    assert [c["service"] for c in calls if c["action"] == "AssumeRole"] == ["sts"]


def test_unimplemented_operations_answer_500_and_are_logged(sandbox, scenario):
    cp = sandbox.client("codepipeline")
    with pytest.raises(ClientError) as ei:
        cp.disable_stage_transition(pipelineName="x", stageName="Build", transitionType="Inbound", reason="r")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert sandbox.calls()[-1]["action"] == "DisableStageTransition"
    assert sandbox.calls()[-1]["status"] == 500


def test_reset_forgets_everything(sandbox, scenario):
    cp = sandbox.client("codepipeline")
    cp.create_pipeline(pipeline=pipeline_decl(scenario))
    sandbox.ctl("reset", {})
    assert sandbox.calls() == []
    assert cp.list_pipelines()["pipelines"] == []
    assert sandbox.ctl("repo-dir?account=222222222222&repository=xpipeline-demo") == {"path": None}


def test_bad_control_requests(sandbox):
    with pytest.raises(urllib.error.HTTPError) as ei:
        sandbox.ctl("failures", {"pipeline": "p"})
    assert ei.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as ei:
        sandbox.ctl("nope")
    assert ei.value.code == 404
    assert sandbox.ctl("stage-seconds", {"seconds": 2.5}) == {"seconds": 2.5}
    assert sandbox.ctl("health")["stage_seconds"] == 2.5


def test_interfere_lets_another_writer_update_first(sandbox, scenario):
    cp = sandbox.client("codepipeline")
    cp.create_pipeline(pipeline=pipeline_decl(scenario))
    sandbox.ctl("interfere", {"pipeline": "demo"})
    decl = pipeline_decl(scenario)
    assert cp.update_pipeline(pipeline=decl)["pipeline"]["version"] == 3  # 1, theirs 2, ours 3
    assert cp.update_pipeline(pipeline=decl)["pipeline"]["version"] == 4  # once only
