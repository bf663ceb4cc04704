"""Where the sandbox judges policies: AssumeRole, git push and fetch, the Source and Build
actions. Each refusal is set up through the control route /_sandbox/policy."""

import copy
import os
import subprocess

import pytest
from botocore.exceptions import ClientError
from conftest import make_commit, pipeline_decl, push_to_source, wait_execution


def doc(sandbox, arn, kind=None):
    q = f"policy?arn={arn}" + (f"&kind={kind}" if kind else "")
    return sandbox.ctl(q)["document"]


def put(sandbox, arn, document, kind=None):
    body = {"arn": arn, "document": document}
    if kind:
        body["kind"] = kind
    return sandbox.ctl("policy", body)


def without_sid(document, sid):
    d = copy.deepcopy(document)
    d["Statement"] = [s for s in d["Statement"] if s.get("Sid") != sid]
    return d


def create(sandbox, sc, name="perm"):
    sandbox.client("codepipeline").create_pipeline(pipeline=pipeline_decl(sc, name=name))


def run(sandbox, sc, name="perm", create_it=True):
    cp = sandbox.client("codepipeline")
    if create_it:
        cp.create_pipeline(pipeline=pipeline_decl(sc, name=name))
    eid = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    e = wait_execution(cp, name, eid)
    acts = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
    return e, {a["actionName"]: a for a in acts}


# ------------------------------------------------------------------ AssumeRole


def test_the_seeded_documents_run_an_execution_green(sandbox, scenario):
    push_to_source(sandbox, scenario)
    e, acts = run(sandbox, scenario)
    assert e["status"] == "Succeeded", e
    assert acts["Source"]["status"] == acts["Build"]["status"] == "Succeeded"


def test_assume_role_checks_the_external_id_of_the_trust(sandbox):
    sc = sandbox.ctl("seed", {"external_id": "the-right-one"})
    sts = sandbox.client("sts")
    for kw in ({}, {"ExternalId": "a-wrong-one"}):
        with pytest.raises(ClientError) as err:
            sts.assume_role(RoleArn=sc["source_role_arn"], RoleSessionName="sess", **kw)
        assert err.value.response["Error"]["Code"] == "AccessDenied"
        assert err.value.response["Error"]["Message"] == (
            "User: arn:aws:sts::123456789012:user/moto is not authorized to perform: sts:AssumeRole "
            f"on resource: {sc['source_role_arn']}"
        )
    sts.assume_role(RoleArn=sc["source_role_arn"], RoleSessionName="sess", ExternalId="the-right-one")


def test_assume_role_with_mfa_condition(sandbox):
    sc = sandbox.ctl("seed", {"mfa": True})
    sts = sandbox.client("sts")
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=sc["source_role_arn"], RoleSessionName="sess")
    sts.assume_role(
        RoleArn=sc["source_role_arn"],
        RoleSessionName="sess",
        SerialNumber="arn:aws:iam::123456789012:mfa/alice",
        TokenCode="123456",
    )


def test_assume_role_needs_the_callers_identity_grant(sandbox, scenario):
    # The developer role of the pipeline account may assume the source role; without its grant
    # (the trust names the account only) it may not, and the message says why.
    dev = sandbox.assume(scenario["developer_role_arn"])
    sts = sandbox.client("sts", creds=dev)
    sts.assume_role(RoleArn=scenario["source_role_arn"], RoleSessionName="ok")
    perms = doc(sandbox, scenario["developer_role_arn"], "permissions")
    put(sandbox, scenario["developer_role_arn"], without_sid(perms, "AssumeThePushRole"), "permissions")
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=scenario["source_role_arn"], RoleSessionName="no")
    assert err.value.response["Error"]["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/xpipeline-demo-developer/pytest-session is not "
        f"authorized to perform: sts:AssumeRole on resource: {scenario['source_role_arn']}"
    )
    # a role trusting only a service cannot be assumed by anyone else
    with pytest.raises(ClientError):
        sandbox.assume(scenario["service_role_arn"])


def test_an_explicit_deny_in_the_trust_wins(sandbox, scenario):
    trust = doc(sandbox, scenario["source_role_arn"], "trust")
    trust["Statement"].append(
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
    )
    put(sandbox, scenario["source_role_arn"], trust, "trust")
    with pytest.raises(ClientError):
        sandbox.assume(scenario["source_role_arn"])


# ------------------------------------------------------------------ git


def _git_push(sandbox, sc, creds, d, refspec):
    return sandbox.git(d, "push", sandbox.url(sc["repository"]), refspec, header=sandbox.git_auth_header(creds, sc["repository"]), check=False)


def test_push_outside_the_references_condition_is_refused_and_nothing_lands(sandbox, scenario):
    d, sha = make_commit()
    creds = sandbox.assume(scenario["source_role_arn"])
    r = _git_push(sandbox, scenario, creds, d, "main:refs/heads/other")
    assert r.returncode != 0 and "403" in r.stderr, r.stderr
    head = sandbox.ctl(f"branch-head?account=222222222222&repository={scenario['repository']}&branch=other")
    assert head["commit"] is None
    refused = [c for c in sandbox.calls() if c["action"] == "GitPush" and c["status"] == 403]
    assert refused, sandbox.calls()
    r = _git_push(sandbox, scenario, creds, d, "main")
    assert r.returncode == 0, r.stderr


def test_fetch_needs_git_pull(sandbox, scenario):
    d, sha = push_to_source(sandbox, scenario)
    perms = doc(sandbox, scenario["source_role_arn"], "permissions")
    put(sandbox, scenario["source_role_arn"], without_sid(perms, "ReadTheRepository"), "permissions")
    creds = sandbox.assume(scenario["source_role_arn"])
    r = sandbox.git(d, "fetch", sandbox.url(scenario["repository"]), "main", header=sandbox.git_auth_header(creds, scenario["repository"]), check=False)
    assert r.returncode != 0 and "403" in r.stderr, r.stderr
    assert any(c["action"] == "GitPull" and c["status"] == 403 for c in sandbox.calls())


def test_an_identity_deny_on_git_push_wins(sandbox, scenario):
    perms = doc(sandbox, scenario["source_role_arn"], "permissions")
    perms["Statement"].append({"Effect": "Deny", "Action": "codecommit:GitPush", "Resource": "*"})
    put(sandbox, scenario["source_role_arn"], perms, "permissions")
    d, _ = make_commit()
    r = _git_push(sandbox, scenario, sandbox.assume(scenario["source_role_arn"]), d, "main")
    assert r.returncode != 0 and "403" in r.stderr


# ------------------------------------------------------------------ the Source action


def test_source_fails_with_the_kms_wording_without_the_key_statement(sandbox, scenario):
    push_to_source(sandbox, scenario)
    key = doc(sandbox, scenario["kms_key_arn"])
    put(sandbox, scenario["kms_key_arn"], without_sid(key, "SourceAccountRoleUsesTheKey"))
    e, acts = run(sandbox, scenario)
    assert e["status"] == "Failed"
    err = acts["Source"]["output"]["executionResult"]["errorDetails"]
    assert err["code"] == "JobFailed"
    assert err["message"].startswith(
        "Insufficient permissions The service role or action role doesn\u2019t have the permissions required "
        f"to access the AWS KMS key named {scenario['kms_key_arn']}. Update the IAM role permissions, and then try again. "
        "Error: User: arn:aws:sts::222222222222:assumed-role/xpipeline-demo-cross-account/"
    ), err
    assert err["message"].endswith(f"is not authorized to perform: kms:GenerateDataKey on resource: {scenario['kms_key_arn']}")
    assert "Build" not in acts
    assert e.get("artifactRevisions", []) == []


def test_source_fails_on_s3_without_the_bucket_statement(sandbox, scenario):
    push_to_source(sandbox, scenario)
    bucket_arn = f"arn:aws:s3:::{scenario['bucket']}"
    put(sandbox, bucket_arn, without_sid(doc(sandbox, bucket_arn), "SourceAccountRoleWritesArtifacts"))
    e, acts = run(sandbox, scenario)
    msg = acts["Source"]["output"]["executionResult"]["errorDetails"]["message"]
    assert msg.startswith(
        "Insufficient permissions The service role or action role doesn\u2019t have the permissions required to "
        f"access the Amazon S3 bucket named {scenario['bucket']}. Update the IAM role permissions, and then try again. "
        "Error: Amazon S3:AccessDenied:Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied;"
    ), msg


def _external_id_on_every_trust_statement(sandbox, sc):
    trust = doc(sandbox, sc["source_role_arn"], "trust")
    for s in trust["Statement"]:
        s["Condition"] = {"StringEquals": {"sts:ExternalId": "ext"}}
    put(sandbox, sc["source_role_arn"], trust, "trust")


def test_source_cannot_assume_the_action_role_with_an_external_id_on_its_statement(sandbox, scenario):
    push_to_source(sandbox, scenario)
    create(sandbox, scenario)  # while the trust is right
    _external_id_on_every_trust_statement(sandbox, scenario)
    e, acts = run(sandbox, scenario, create_it=False)
    assert e["status"] == "Failed"
    assert acts["Source"]["output"]["executionResult"]["errorDetails"]["message"] == (
        f"{scenario['service_role_arn']} is not authorized to perform AssumeRole on role {scenario['source_role_arn']}"
    )


def test_create_and_update_pipeline_refuse_an_action_role_the_service_role_cannot_assume(sandbox, scenario):
    cp = sandbox.client("codepipeline")
    decl = pipeline_decl(scenario, name="perm")
    cp.create_pipeline(pipeline=decl)
    _external_id_on_every_trust_statement(sandbox, scenario)
    want = f"{scenario['service_role_arn']} is not authorized to perform AssumeRole on role {scenario['source_role_arn']}"
    with pytest.raises(ClientError) as err:
        cp.create_pipeline(pipeline=pipeline_decl(scenario, name="other"))
    assert err.value.response["Error"]["Code"] == "InvalidStructureException"
    assert err.value.response["Error"]["Message"] == want
    with pytest.raises(ClientError) as err:
        cp.update_pipeline(pipeline=cp.get_pipeline(name="perm")["pipeline"])
    assert err.value.response["Error"]["Message"] == want


def test_source_needs_the_codecommit_actions_of_the_action_role(sandbox, scenario):
    push_to_source(sandbox, scenario)
    perms = doc(sandbox, scenario["source_role_arn"], "permissions")
    put(sandbox, scenario["source_role_arn"], without_sid(perms, "SourceAction"), "permissions")
    e, acts = run(sandbox, scenario)
    msg = acts["Source"]["output"]["executionResult"]["errorDetails"]["message"]
    assert "to access the AWS CodeCommit repository named xpipeline-demo." in msg
    assert "is not authorized to perform: codecommit:GetBranch on resource: arn:aws:codecommit:eu-west-1:222222222222:xpipeline-demo" in msg
    assert msg.endswith("because no identity-based policy allows the codecommit:GetBranch action")


def test_the_service_role_needs_sts_assume_role_on_the_action_role(sandbox, scenario):
    push_to_source(sandbox, scenario)
    create(sandbox, scenario)
    perms = doc(sandbox, scenario["service_role_arn"], "permissions")
    put(sandbox, scenario["service_role_arn"], without_sid(perms, "AssumeTheSourceRole"), "permissions")
    e, acts = run(sandbox, scenario, create_it=False)
    assert "is not authorized to perform AssumeRole on role" in acts["Source"]["output"]["executionResult"]["errorDetails"]["message"]


# ------------------------------------------------------------------ the Build action


def test_build_fails_without_kms_decrypt_on_the_build_role(sandbox, scenario):
    push_to_source(sandbox, scenario)
    role = scenario["build_role_arn"]
    perms = doc(sandbox, role, "permissions")
    for s in perms["Statement"]:
        if s.get("Sid") == "ArtifactKey":
            s["Action"] = [a for a in s["Action"] if a != "kms:Decrypt"]
    put(sandbox, role, perms, "permissions")
    e, acts = run(sandbox, scenario)
    assert acts["Source"]["status"] == "Succeeded"
    msg = acts["Build"]["output"]["executionResult"]["errorDetails"]["message"]
    assert msg.startswith(
        "Build terminated with state: FAILED. Phase: DOWNLOAD_SOURCE, Code: CLIENT_ERROR, Message: AccessDenied: "
        "The ciphertext refers to a customer master key that does not exist"
    ), msg
    assert f"for primary source and source version arn:aws:s3:::{scenario['bucket']}/perm/SourceArti/" in msg


def test_build_identity_grants_need_the_key_policy_delegation(sandbox, scenario):
    push_to_source(sandbox, scenario)
    key = doc(sandbox, scenario["kms_key_arn"])
    put(sandbox, scenario["kms_key_arn"], without_sid(key, "Enable IAM User Permissions"))
    e, acts = run(sandbox, scenario)
    # the source role is named by the key policy: Source still works
    assert acts["Source"]["status"] == "Succeeded"
    assert "Phase: DOWNLOAD_SOURCE" in acts["Build"]["output"]["executionResult"]["errorDetails"]["message"]


def test_build_fails_when_codebuild_cannot_assume_the_project_role(sandbox, scenario):
    push_to_source(sandbox, scenario)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    put(sandbox, scenario["build_role_arn"], trust, "trust")
    e, acts = run(sandbox, scenario)
    assert acts["Build"]["output"]["executionResult"]["errorDetails"]["message"] == (
        f"CodeBuild is not authorized to perform: sts:AssumeRole on {scenario['build_role_arn']}"
    )


def test_build_output_needs_s3_put_object(sandbox, scenario):
    push_to_source(sandbox, scenario)
    role = scenario["build_role_arn"]
    perms = doc(sandbox, role, "permissions")
    for s in perms["Statement"]:
        if s.get("Sid") == "Artifacts":
            s["Action"] = ["s3:GetObject*"]
    put(sandbox, role, perms, "permissions")
    e, acts = run(sandbox, scenario)
    assert "Phase: UPLOAD_ARTIFACTS, Code: CLIENT_ERROR, Message: Error in UPLOAD_ARTIFACTS phase: AccessDenied: Access Denied" in (
        acts["Build"]["output"]["executionResult"]["errorDetails"]["message"]
    )


def test_policy_route_round_trips_and_refuses_unknown_targets(sandbox, scenario):
    t = doc(sandbox, scenario["source_role_arn"], "trust")
    assert [s["Sid"] for s in t["Statement"]] == ["ThePipelineAssumesThisRole", "DevelopersPush"]
    assert "Condition" not in t["Statement"][0]
    key = doc(sandbox, scenario["kms_key_arn"])
    assert key["Statement"][0]["Sid"] == "Enable IAM User Permissions"
    import urllib.error

    with pytest.raises(urllib.error.HTTPError):
        sandbox.ctl("policy?arn=arn:aws:iam::222222222222:role/nope&kind=trust")


def test_direct_object_calls_honour_the_tls_only_statement_as_over_https(sandbox, scenario):
    # The sandbox's HTTP stands in for HTTPS: the seeded DenyInsecureTransport statement does
    # not refuse; a Deny for everyone without condition does.
    s3 = sandbox.client("s3")
    s3.put_object(Bucket=scenario["bucket"], Key="k", Body=b"1")
    assert s3.get_object(Bucket=scenario["bucket"], Key="k")["Body"].read() == b"1"
    arn = f"arn:aws:s3:::{scenario['bucket']}"
    policy = doc(sandbox, arn)
    policy["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"{arn}/*"})
    put(sandbox, arn, policy)
    with pytest.raises(ClientError):
        s3.put_object(Bucket=scenario["bucket"], Key="k2", Body=b"2")


# ------------------------------------------------------------------ CodeCommit's API


def test_get_branch_is_answered_from_the_bare_repository(sandbox, scenario):
    cc = sandbox.client("codecommit", sandbox.assume(scenario["source_role_arn"]))
    repo = scenario["repository"]
    with pytest.raises(ClientError) as err:
        cc.get_branch(repositoryName=repo, branchName="main")
    assert err.value.response["Error"]["Code"] == "BranchDoesNotExistException"
    _, sha = push_to_source(sandbox, scenario)
    got = cc.get_branch(repositoryName=repo, branchName="main")["branch"]
    assert got == {"branchName": "main", "commitId": sha}
    assert cc.get_repository(repositoryName=repo)["repositoryMetadata"]["repositoryName"] == repo
    # The role may read only its repository: ask as the account's administrator.
    admin = sandbox.client("codecommit")
    for call in (
        lambda: admin.get_repository(repositoryName="nope"),
        lambda: admin.get_branch(repositoryName="nope", branchName="main"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "RepositoryDoesNotExistException"
        assert err.value.response["Error"]["Message"] == "nope does not exist"


def test_get_repository_and_get_branch_are_judged_by_the_role_policies(sandbox, scenario):
    role = scenario["source_role_arn"]
    perms = doc(sandbox, role, "permissions")
    put(sandbox, role, without_sid(without_sid(perms, "SourceAction"), "ReadTheRepository"), "permissions")
    cc = sandbox.client("codecommit", sandbox.assume(role))
    repo = scenario["repository"]
    arn = f"arn:aws:codecommit:eu-west-1:222222222222:{repo}"
    for action, resource, call in (
        ("GetRepository", arn, lambda: cc.get_repository(repositoryName=repo)),
        ("GetBranch", arn, lambda: cc.get_branch(repositoryName=repo, branchName="main")),
        # AWS authorizes before it looks: a missing repository is denied just the same.
        ("GetRepository", arn[: -len(repo)] + "nope", lambda: cc.get_repository(repositoryName="nope")),
    ):
        with pytest.raises(ClientError) as err:
            call()
        e = err.value.response["Error"]
        assert e["Code"] == "AccessDeniedException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert f":assumed-role/{role.split('/')[-1]}/" in e["Message"]
        assert f"is not authorized to perform: codecommit:{action} on resource: {resource} " in e["Message"]
        assert e["Message"].endswith(f"because no identity-based policy allows the codecommit:{action} action")
