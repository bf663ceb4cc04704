"""What the actions of an execution need, judged by the evaluator (iam_eval.py) as AWS would.

Source (CodeCommit), in the order the service works:
  1. CodePipeline assumes the pipeline's service role (its trust must allow
     codepipeline.amazonaws.com);
  2. the service role assumes the action's roleArn, with no external id and no MFA
     (the service role's sts:AssumeRole, and the action role's trust policy);
  3. the action role calls codecommit:GetBranch, GetCommit, UploadArchive,
     GetUploadArchiveStatus on the repository;
  4. it puts the artifact into the bucket: s3:PutObject (and, across accounts, s3:PutObjectAcl
     with bucket-owner-full-control), allowed by its identity policy and, across accounts, by
     the bucket policy;
  5. S3 asks KMS for a data key on its behalf: kms:GenerateDataKey on the artifact key (its
     identity policy and the key policy; kms:ViaService s3.<region>.amazonaws.com).
Build (CodeBuild):
  1. the service role calls codebuild:StartBuild on the project;
  2. CodeBuild assumes the project's service role (trust: codebuild.amazonaws.com);
  3. DOWNLOAD_SOURCE: s3:GetObject of the input artifact and kms:Decrypt on the pipeline's key;
  4. UPLOAD_ARTIFACTS: s3:PutObject of the output artifact and kms:GenerateDataKey on the
     project's encryption key (the AWS managed aws/s3 key when the project names none).

A refusal fails the action with the text CodePipeline or CodeBuild gives for it. Call with
STATE.lock held.
"""

from __future__ import annotations

import base64
import os
import random
import string
import time
import uuid
from typing import Any

from . import iam_eval, iam_store
from .state import PARTITION, account_of_arn

INSUFFICIENT = (
    "Insufficient permissions The service role or action role doesn\u2019t have the permissions "
    "required to access the {what} named {name}. Update the IAM role permissions, and then try again. "
    "Error: {error}"
)


def _failed(message: str) -> dict[str, str]:
    return {"code": "JobFailed", "message": message}


def _request_id() -> str:
    return "".join(random.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def _host_id() -> str:
    return base64.b64encode(os.urandom(54)).decode()


def _s3_access_denied() -> str:
    return (
        "Amazon S3:AccessDenied:Access Denied (Service: Amazon S3; Status Code: 403; Error Code: "
        f"AccessDenied; Request ID: {_request_id()}; S3 Extended Request ID: {_host_id()}; Proxy: null)"
    )


def artifact_key(pipeline: str, artifact: str) -> str:
    """Where CodePipeline puts an artifact: <pipeline name, 20 chars>/<artifact name, 10>/<id>."""
    rand = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(7))
    return f"{pipeline[:20]}/{artifact[:10]}/{rand}"


def aws_managed_s3_key_policy(account: str, region: str) -> dict[str, Any]:
    """The key policy AWS gives the AWS managed key aws/s3: usable by the account's principals
    through S3 only, hence never across accounts."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Allow access through S3 for all principals in the account that are authorized to use S3",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account, "kms:ViaService": f"s3.{region}.amazonaws.com"}
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{PARTITION}:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                "Resource": "*",
            },
        ],
    }


def _context(actor: iam_eval.Principal, region: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "aws:PrincipalArn": actor.principal_arn,
        "aws:PrincipalAccount": actor.account,
        "aws:PrincipalType": actor.principal_type,
        "aws:SecureTransport": "true",
        "aws:RequestedRegion": region,
        "aws:MultiFactorAuthPresent": "false",
        "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "aws:EpochTime": str(int(time.time())),
    }
    ctx.update(extra or {})
    return ctx


class Denied(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _session_name() -> str:
    return str(int(time.time() * 1000))


def _service_session(pipeline_account: str, region: str, pipeline: dict[str, Any]) -> iam_eval.Principal:
    """CodePipeline assumes the pipeline's service role; its session."""
    role_arn = pipeline.get("roleArn") or ""
    role = iam_store.role_by_arn(role_arn)
    msg = f"CodePipeline is not authorized to perform AssumeRole on role {role_arn}"
    if role is None:
        raise Denied(msg)
    svc = iam_store.service_principal("codepipeline.amazonaws.com")
    pipeline_arn = f"arn:{PARTITION}:codepipeline:{region}:{pipeline_account}:{pipeline.get('name', '')}"
    req = iam_eval.Request(
        svc,
        "sts:AssumeRole",
        role_arn,
        {"aws:SourceAccount": pipeline_account, "aws:SourceArn": pipeline_arn, "aws:SecureTransport": "true"},
    )
    if not iam_eval.authorize(req, role.assume_role_policy_document, required_resource_policy=True).allowed:
        raise Denied(msg)
    return iam_store.session_principal(role, _session_name())


def _assume_action_role(service: iam_eval.Principal, role_arn: str, region: str) -> iam_eval.Principal:
    """The service role assumes an action role: no external id, no MFA."""
    msg = f"{service.role_arn} is not authorized to perform AssumeRole on role {role_arn}"
    role = iam_store.role_by_arn(role_arn)
    if role is None:
        raise Denied(msg)
    ctx = _context(service, region, {"sts:RoleSessionName": _session_name()})
    req = iam_eval.Request(service, "sts:AssumeRole", role_arn, ctx)
    if not iam_eval.authorize(req, role.assume_role_policy_document, required_resource_policy=True).allowed:
        raise Denied(msg)
    return iam_store.session_principal(role, _session_name())


def _key(key_id: str | None, account: str, region: str) -> tuple[str, Any, str, bool]:
    """(key ARN to name, its policy, its account, exists) for an encryption key id; the AWS
    managed aws/s3 key when there is none."""
    if not key_id or key_id.endswith(":alias/aws/s3") or key_id == "alias/aws/s3":
        arn = f"arn:{PARTITION}:kms:{region}:{account}:alias/aws/s3"
        return arn, aws_managed_s3_key_policy(account, region), account, True
    k = iam_store.kms_key(key_id, account, region)
    if k is None:
        return key_id, None, account_of_arn(key_id) or account, False
    return k.arn, k.policy, k.account_id, True


def _kms(actor: iam_eval.Principal, action: str, key_id: str | None, account: str, region: str, s3_arn: str) -> str | None:
    """kms:<action> on the key, through S3. The refusal's text, or None."""
    arn, policy, key_account, exists = _key(key_id, account, region)
    if not exists:
        return f"Key '{arn}' does not exist"
    ctx = _context(
        actor,
        region,
        {
            "kms:ViaService": f"s3.{region}.amazonaws.com",
            "kms:CallerAccount": actor.account,
            "kms:EncryptionContext:aws:s3:arn": s3_arn,
        },
    )
    req = iam_eval.Request(actor, f"kms:{action}", arn, ctx)
    d = iam_eval.authorize(req, policy, resource_account=key_account, required_resource_policy=True)
    return None if d.allowed else d.message(req)


def _s3(actor: iam_eval.Principal, action: str, bucket: str, key: str, region: str, extra: dict[str, Any]) -> bool:
    b, owner = iam_store.bucket(bucket)
    policy = iam_store.bucket_policy(b) if b is not None else None
    ctx = _context(actor, region, dict(extra))
    ctx["aws:ResourceAccount"] = owner or actor.account
    req = iam_eval.Request(actor, f"s3:{action}", f"arn:{PARTITION}:s3:::{bucket}/{key}", ctx)
    return iam_eval.authorize(req, policy, resource_account=owner or actor.account).allowed


def _store(e: Any, action: dict[str, Any]) -> tuple[str, str | None]:
    """The artifact bucket and key id for the action's region."""
    region = action.get("region") or e.region
    stores = e.pipeline.get("artifactStores") or {}
    store = stores.get(region) or e.pipeline.get("artifactStore") or {}
    enc = store.get("encryptionKey") or {}
    return store.get("location", ""), enc.get("id")


def check_source(e: Any, action: dict[str, Any], source_ok: bool) -> dict[str, str] | None:
    region = action.get("region") or e.region
    conf = action.get("configuration") or {}
    repo = conf.get("RepositoryName", "")
    try:
        service = _service_session(e.account, e.region, e.pipeline)
        actor = _assume_action_role(service, action["roleArn"], region) if action.get("roleArn") else service
    except Denied as d:
        return _failed(d.message)
    repo_account = account_of_arn(action.get("roleArn")) or e.account
    repo_arn = f"arn:{PARTITION}:codecommit:{region}:{repo_account}:{repo}"
    ops = ["GetBranch"] + (["GetCommit", "UploadArchive", "GetUploadArchiveStatus"] if source_ok else [])
    for op in ops:
        req = iam_eval.Request(actor, f"codecommit:{op}", repo_arn, _context(actor, region))
        d = iam_eval.authorize(req)
        if not d.allowed:
            return _failed(INSUFFICIENT.format(what="AWS CodeCommit repository", name=repo, error=d.message(req)))
    if not source_ok:
        return None  # the branch or commit is missing: the source's own error stands
    bucket, key_id = _store(e, action)
    artifact = (action.get("outputArtifacts") or [{"name": "SourceArtifact"}])[0]["name"]
    obj = artifact_key(e.pipeline_name, artifact)
    _, owner = iam_store.bucket(bucket)
    cross = (owner or e.account) != actor.account
    kms_arn, _, _, _ = _key(key_id, e.account, e.region)
    put_ctx = {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": kms_arn,
    }
    if cross:
        put_ctx["s3:x-amz-acl"] = "bucket-owner-full-control"
    for op in ["PutObject"] + (["PutObjectAcl"] if cross else []):
        if not _s3(actor, op, bucket, obj, region, put_ctx):
            return _failed(INSUFFICIENT.format(what="Amazon S3 bucket", name=bucket, error=_s3_access_denied()))
    refused = _kms(actor, "GenerateDataKey", key_id, e.account, e.region, f"arn:{PARTITION}:s3:::{bucket}/{obj}")
    if refused:
        return _failed(INSUFFICIENT.format(what="AWS KMS key", name=kms_arn, error=refused))
    return None


def _build_failed(phase: str, message: str) -> dict[str, str]:
    failed = _failed(f"Build terminated with state: FAILED. Phase: {phase}, Code: CLIENT_ERROR, Message: {message}")
    # Not part of errorDetails: `apply` hands them to the build record (builds.py).
    failed["_phase"], failed["_context"] = phase, message
    return failed


def check_build(e: Any, action: dict[str, Any]) -> dict[str, str] | None:
    from moto.codebuild.models import codebuild_backends

    region = action.get("region") or e.region
    name = (action.get("configuration") or {}).get("ProjectName", "")
    try:
        service = _service_session(e.account, e.region, e.pipeline)
        actor = _assume_action_role(service, action["roleArn"], region) if action.get("roleArn") else service
    except Denied as d:
        return _failed(d.message)
    project_account = account_of_arn(action.get("roleArn")) or e.account
    project_arn = f"arn:{PARTITION}:codebuild:{region}:{project_account}:project/{name}"
    req = iam_eval.Request(actor, "codebuild:StartBuild", project_arn, _context(actor, region))
    d = iam_eval.authorize(req)
    if not d.allowed:
        return _failed(INSUFFICIENT.format(what="AWS CodeBuild project", name=name, error=d.message(req)))
    backend = codebuild_backends[project_account][region] if project_account in codebuild_backends.keys() else None
    project = backend.codebuild_projects.get(name) if backend is not None else None
    if project is None:
        return None  # not this module's concern
    meta = project.project_metadata
    role_arn = meta.get("serviceRole") or ""
    role = iam_store.role_by_arn(role_arn)
    cb = iam_store.service_principal("codebuild.amazonaws.com")
    trust_req = iam_eval.Request(
        cb, "sts:AssumeRole", role_arn, {"aws:SourceAccount": project_account, "aws:SourceArn": project_arn}
    )
    if role is None or not iam_eval.authorize(
        trust_req, role.assume_role_policy_document, required_resource_policy=True
    ).allowed:
        return _failed(f"CodeBuild is not authorized to perform: sts:AssumeRole on {role_arn}")
    builder = iam_store.session_principal(role, f"AWSCodeBuild-{uuid.uuid4()}")
    bucket, key_id = _store(e, action)
    inputs = [a["name"] for a in action.get("inputArtifacts", [])]
    for artifact in inputs:
        obj = artifact_key(e.pipeline_name, artifact)
        where = f"for primary source and source version arn:{PARTITION}:s3:::{bucket}/{obj}"
        if not _s3(builder, "GetObject", bucket, obj, region, {}):
            return _build_failed(
                "DOWNLOAD_SOURCE",
                f"AccessDenied: Access Denied status code: 403, request id: {_request_id()}, host id: {_host_id()} {where}",
            )
        if _kms(builder, "Decrypt", key_id, e.account, e.region, f"arn:{PARTITION}:s3:::{bucket}/{obj}"):
            return _build_failed(
                "DOWNLOAD_SOURCE",
                "AccessDenied: The ciphertext refers to a customer master key that does not exist, does not "
                "exist in this region, or you are not allowed to access. status code: 403, request id: "
                f"{_request_id()}, host id: {_host_id()} {where}",
            )
    for artifact in [a["name"] for a in action.get("outputArtifacts", [])]:
        obj = artifact_key(e.pipeline_name, artifact)
        out_key = meta.get("encryptionKey")
        kms_arn, _, _, _ = _key(out_key, project_account, region)
        ctx = {"s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": kms_arn}
        if not _s3(builder, "PutObject", bucket, obj, region, ctx):
            return _build_failed(
                "UPLOAD_ARTIFACTS",
                f"Error in UPLOAD_ARTIFACTS phase: AccessDenied: Access Denied status code: 403, request id: "
                f"{_request_id()}, host id: {_host_id()}",
            )
        refused = _kms(builder, "GenerateDataKey", out_key, project_account, region, f"arn:{PARTITION}:s3:::{bucket}/{obj}")
        if refused:
            return _build_failed(
                "UPLOAD_ARTIFACTS",
                f"Error in UPLOAD_ARTIFACTS phase: AccessDeniedException: {refused} status code: 400, "
                f"request id: {uuid.uuid4()}",
            )
    return None


def check_action(e: Any, action: dict[str, Any]) -> dict[str, str] | None:
    """The refusal (errorDetails) of an action about to run, or None. Only CodeCommit Source and
    CodeBuild actions are judged."""
    t = action.get("actionTypeId") or {}
    if t.get("category") == "Source" and t.get("provider") == "CodeCommit":
        src = e.sources.get(action["name"])
        return check_source(e, action, bool(src is not None and src.ok))
    if t.get("provider") == "CodeBuild":
        return check_build(e, action)
    return None


def apply(e: Any, action: dict[str, Any], run: Any) -> None:
    """Judge `action` as it starts in execution `e`: a refusal fails `run` (and a refused
    Source action yields no revision)."""
    denied = check_action(e, action)
    if denied is None:
        return
    phase, context = denied.pop("_phase", None), denied.pop("_context", None)
    if phase is not None:
        run.build_failure = (phase, "CLIENT_ERROR", context or "")
    run.error = denied
    t = action.get("actionTypeId") or {}
    if t.get("category") == "Source":
        run.external_id = None
        run.summary = None
        run.external_url = None
        run.output_variables = {}
        src = e.sources.get(action["name"])
        if src is not None:
            src.ok = False
            src.error = denied["message"]


# ------------------------------------------------- CreatePipeline / UpdatePipeline


def validate_declaration(account: str, region: str, pipeline: dict[str, Any]) -> None:
    """What CodePipeline checks when a pipeline is created or updated: its service role may
    assume every action's roleArn (InvalidStructureException, "<service role> is not
    authorized to perform AssumeRole on role <action role>"). The service role's own trust is
    moto's check."""
    from moto.codepipeline.exceptions import InvalidStructureException

    role = iam_store.role_by_arn(pipeline.get("roleArn") or "")
    if role is None:
        return
    service = iam_store.session_principal(role, _session_name())
    for stage in pipeline.get("stages") or []:
        for action in stage.get("actions") or []:
            if action.get("roleArn"):
                try:
                    _assume_action_role(service, action["roleArn"], action.get("region") or region)
                except Denied as d:
                    raise InvalidStructureException(d.message)


def bucket_deny_for_everyone(policy: Any, action: str, resource: str) -> bool:
    """Whether a bucket policy denies `action` on `resource` to everyone (a Deny statement with
    Principal "*" whose conditions hold for a request over HTTPS): what moto's own S3 check
    looks for, judged with conditions (moto denies on any statement whose conditions it cannot
    read, so a TLS-only statement would refuse every object write)."""
    anyone = iam_eval.Principal(account="", arn="*", kind="user")
    req = iam_eval.Request(anyone, action, resource, {"aws:SecureTransport": "true"})
    for stmt in iam_eval.statements(policy):
        if stmt.get("Effect") != "Deny" or stmt.get("Principal") not in ("*", {"AWS": "*"}):
            continue
        if iam_eval.statement_applies(stmt, req, resource_policy=True):
            return True
    return False


def install() -> None:
    """Wrap CodePipeline's CreatePipeline and UpdatePipeline (after executions.install()), and
    moto's bucket-policy check of direct S3 object calls."""
    import json

    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        policy = iam_store.bucket_policy(self)
        if policy is not None and bucket_deny_for_everyone(policy, action, resource):
            return PermissionResult.DENIED
        return PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission

    from moto.codepipeline.responses import CodePipelineResponse

    from .state import STATE

    for name in ("create_pipeline", "update_pipeline"):
        original = getattr(CodePipelineResponse, name)

        def wrapped(self: Any, _original: Any = original) -> Any:
            try:
                decl = (json.loads(self.body or "{}") or {}).get("pipeline") or {}
            except ValueError:
                decl = {}
            with STATE.lock:
                validate_declaration(self.current_account, self.region, decl)
            return _original(self)

        wrapped.__name__ = name
        setattr(CodePipelineResponse, name, wrapped)
