"""What a CloudFormation deploy action reads and how it is judged (deploy.py runs it).

The action's configuration with its #{Namespace.Variable} references resolved; its files
(`ARTIFACT::path`) from the build artifact: the tree of the execution's source commit plus
what `/_sandbox/artifact-files` adds; the IAM decisions (the deploy role's own calls, the
artifact's bucket and key policies, iam:PassRole, CloudFormation assuming the execution role,
the execution role's calls for the resources it creates) and the capabilities a template
needs, each refusal a `Failed` carrying AWS's wording. Call with STATE.lock held.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from . import action_permissions as ap
from . import iam_eval, iam_store
from .state import PARTITION, STATE, account_of_arn, git_out, repo_path, repository_record

VAR = re.compile(r"#\{([A-Za-z0-9@_-]+)\.([A-Za-z0-9@_.-]+)\}")
IAM_NAMES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}
# SAM resources whose expansion creates an IAM role unless they name one with Role
SAM_ROLES = {"AWS::Serverless::Function", "AWS::Serverless::StateMachine"}
IAM_TYPES = set(IAM_NAMES) | {"AWS::IAM::Policy", "AWS::IAM::AccessKey", "AWS::IAM::UserToGroupAddition"}


class Failed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def is_deploy(action: dict[str, Any]) -> bool:
    t = action.get("actionTypeId") or {}
    return t.get("category") == "Deploy" and t.get("owner") == "AWS" and t.get("provider") == "CloudFormation"


# ------------------------------------------------------------------ variables, artifacts


def variables(e: Any) -> dict[str, dict[str, str]]:
    """The variables an action of execution `e` may refer to, by namespace."""
    out: dict[str, dict[str, str]] = {"codepipeline": {"PipelineExecutionId": e.id}}
    out["variables"] = {v["name"]: v.get("resolvedValue", "") for v in e.variables}
    for r in e.runs:
        ns = r.action.get("namespace")
        if ns and r.output_variables and not r.error:
            out[ns] = dict(r.output_variables)
    return out


def resolve(e: Any, conf: dict[str, Any]) -> dict[str, Any]:
    """The configuration with its #{Namespace.Variable} references replaced (an unknown one
    is left as written)."""
    known = variables(e)

    def one(m: re.Match[str]) -> str:
        return known.get(m.group(1), {}).get(m.group(2), m.group(0))

    return {k: VAR.sub(one, v) if isinstance(v, str) else v for k, v in conf.items()}


def _source_tree(e: Any) -> tuple[str, str] | None:
    """(bare repository, commit) of the execution's first resolved source."""
    for stage in e.stages:
        for action in stage["actions"]:
            src = e.sources.get(action["name"])
            if src is None or not src.ok:
                continue
            conf = action.get("configuration") or {}
            account = account_of_arn(action.get("roleArn")) or e.account
            region = action.get("region") or e.region
            rec = repository_record(account, region, conf.get("RepositoryName", ""))
            if rec is not None:
                return repo_path(account, region, rec["repositoryId"]), src.commit
    return None


def read_artifact_file(e: Any, action: dict[str, Any], spec: str) -> str:
    """The text of `ARTIFACT::path` from the action's input artifact."""
    artifact, _, path = spec.partition("::")
    inputs = [a["name"] for a in action.get("inputArtifacts", [])]
    if artifact not in inputs or not path:
        raise Failed(f"File [{path or spec}] does not exist in artifact [{artifact}]")
    extra = STATE.artifact_files.get((e.pipeline_name, artifact), {})
    if path in extra:
        return extra[path]
    tree = _source_tree(e)
    text = git_out(tree[0], "show", f"{tree[1]}:{path}") if tree else None
    if text is None:
        raise Failed(f"File [{path}] does not exist in artifact [{artifact}]")
    return text


def parse_template(text: str) -> dict[str, Any]:
    from moto.cloudformation.models import Stack

    try:
        doc = Stack.parse_template(text)
    except Exception as exc:  # yaml or json
        raise Failed(f"Template format error: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}")
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict) or not doc["Resources"]:
        raise Failed("Template format error: At least one Resources member must be defined.")
    return doc


# ------------------------------------------------------------------ judging


def _request_id() -> str:
    return str(uuid.uuid4())


def cfn_denied(msg: str) -> str:
    return f"{msg} (Service: AmazonCloudFormation; Status Code: 403; Error Code: AccessDenied; Request ID: {_request_id()}; Proxy: null)"


def allow(actor: iam_eval.Principal, action: str, resource: str, region: str, extra: dict[str, Any] | None = None) -> str | None:
    """The refusal of `actor`'s own policies for one call, or None."""
    req = iam_eval.Request(actor, action, resource, ap._context(actor, region, extra))
    d = iam_eval.authorize(req)
    return None if d.allowed else d.message(req)


def read_artifact(actor: iam_eval.Principal, e: Any, action: dict[str, Any], artifact: str) -> tuple[str, str, str] | None:
    """(what, name, error) of the bucket or key that refuses `actor` the artifact object."""
    bucket, key_id = ap._store(e, action)
    obj = ap.artifact_key(e.pipeline_name, artifact)
    return _read_object(actor, e, bucket, obj, key_id)


def _read_object(actor: iam_eval.Principal, e: Any, bucket: str, obj: str, key_id: str | None) -> tuple[str, str, str] | None:
    """s3:GetObject (bucket policy across accounts), then kms:Decrypt through S3 (key policy)."""
    if not ap._s3(actor, "GetObject", bucket, obj, e.region, {}):
        return "Amazon S3 bucket", bucket, ap._s3_access_denied()
    arn, _, _, _ = ap._key(key_id, e.account, e.region)
    refused = ap._kms(actor, "Decrypt", key_id, e.account, e.region, f"arn:{PARTITION}:s3:::{bucket}/{obj}")
    if refused:
        return "AWS KMS key", arn, refused
    return None


def pass_role(actor: iam_eval.Principal, exec_arn: str, region: str) -> None:
    if account_of_arn(exec_arn) != actor.account:
        raise Failed("Cross-account pass role is not allowed.")
    refused = allow(actor, "iam:PassRole", exec_arn, region, {"iam:PassedToService": "cloudformation.amazonaws.com"})
    if refused:
        raise Failed(cfn_denied(refused))


def execution_session(exec_arn: str, account: str, region: str, stack_arn: str) -> iam_eval.Principal:
    """CloudFormation assumes the execution role."""
    invalid = f"Role {exec_arn} is invalid or cannot be assumed"
    role = iam_store.role_by_arn(exec_arn)
    if role is None:
        raise Failed(invalid)
    cfn = iam_store.service_principal("cloudformation.amazonaws.com")
    req = iam_eval.Request(cfn, "sts:AssumeRole", exec_arn, {"aws:SourceAccount": account, "aws:SourceArn": stack_arn})
    if not iam_eval.authorize(req, role.assume_role_policy_document, required_resource_policy=True).allowed:
        raise Failed(invalid)
    return iam_store.session_principal(role, "AWSCloudFormation")


def required_iam(doc: dict[str, Any]) -> str | None:
    """The IAM capability a template needs: CAPABILITY_NAMED_IAM for a named IAM resource,
    CAPABILITY_IAM for an unnamed one, None without IAM resources."""
    need = None
    for res in doc.get("Resources", {}).values():
        t = res.get("Type") if isinstance(res, dict) else None
        if t in SAM_ROLES and "Role" not in (res.get("Properties") or {}):
            need = "CAPABILITY_IAM"  # SAM's transform adds an unnamed role for it
        if t in IAM_TYPES:
            if IAM_NAMES.get(t) in (res.get("Properties") or {}):
                return "CAPABILITY_NAMED_IAM"
            need = "CAPABILITY_IAM"
    return need


def check_capabilities(doc: dict[str, Any], capabilities: str, direct: bool) -> None:
    """InsufficientCapabilitiesException's refusal. A transform (macro) needs
    CAPABILITY_AUTO_EXPAND only when the stack is created or updated directly: a change set
    shows the processed template for review (CreateChangeSet's documentation)."""
    caps = {c.strip() for c in capabilities.split(",") if c.strip()}
    iam = required_iam(doc)
    if iam == "CAPABILITY_IAM" and caps & {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}:
        iam = None
    if iam and iam not in caps:
        raise Failed(f"Requires capabilities : [{iam}]")
    if direct and doc.get("Transform") and "CAPABILITY_AUTO_EXPAND" not in caps:
        raise Failed("Requires capabilities : [CAPABILITY_AUTO_EXPAND]")


def _value(v: Any, params: dict[str, str], pseudo: dict[str, str]) -> str | None:
    """A property's value as far as the sandbox can tell (Ref, Fn::Sub, Fn::Join), or None."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and len(v) == 1:
        (fn, arg), = v.items()
        if fn == "Ref" and isinstance(arg, str):
            return params.get(arg, pseudo.get(arg))
        if fn == "Fn::Sub" and isinstance(arg, str):
            out = re.sub(r"\$\{([^}!]+)\}", lambda m: params.get(m.group(1), pseudo.get(m.group(1), "\0")), arg)
            return None if "\0" in out else out
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            parts = [_value(p, params, pseudo) for p in arg[1]]
            return None if any(p is None for p in parts) else str(arg[0]).join(parts)  # type: ignore[arg-type]
    return None


def _artifact_refs(node: Any, bucket: str) -> list[str]:
    """Object keys of the artifact bucket a template names (S3Bucket/S3Key pairs, s3:// URIs)."""
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("S3Bucket") == bucket and isinstance(node.get("S3Key"), str):
            out.append(node["S3Key"])
        if node.get("Bucket") == bucket and isinstance(node.get("Key"), str):
            out.append(node["Key"])
        for v in node.values():
            out.extend(_artifact_refs(v, bucket))
    elif isinstance(node, list):
        for v in node:
            out.extend(_artifact_refs(v, bucket))
    elif isinstance(node, str) and node.startswith(f"s3://{bucket}/"):
        out.append(node[len(f"s3://{bucket}/") :])
    return out


def resource_refusal(
    cfn: iam_eval.Principal, e: Any, action: dict[str, Any], logical: str, res: dict[str, Any], params: dict[str, str], pseudo: dict[str, str]
) -> str | None:
    """Why the execution role cannot create one resource, in CloudFormation's words."""
    region, account = pseudo["AWS::Region"], pseudo["AWS::AccountId"]
    props = res.get("Properties") or {}
    t = res.get("Type")
    calls: list[tuple[str, str, str]] = []
    if t == "AWS::SSM::Parameter":
        name = _value(props.get("Name"), params, pseudo) or f"CFN-{logical}-*"
        calls.append(("Ssm", "ssm:PutParameter", f"arn:{PARTITION}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"))
    elif t == "AWS::S3::Bucket":
        name = _value(props.get("BucketName"), params, pseudo) or f"{pseudo['AWS::StackName'].lower()}-{logical.lower()}-*"
        calls.append(("S3", "s3:CreateBucket", f"arn:{PARTITION}:s3:::{name}"))
    elif t == "AWS::IAM::Role":
        name = _value(props.get("RoleName"), params, pseudo) or f"{pseudo['AWS::StackName']}-{logical}-*"
        calls.append(("Iam", "iam:CreateRole", f"arn:{PARTITION}:iam::{account}:role/{name}"))
    for service, op, arn in calls:
        refused = allow(cfn, op, arn, region)
        if refused:
            return (
                f'Resource handler returned message: "{refused} (Service: {service}, Status Code: 400, '
                f'Request ID: {_request_id()})" (RequestToken: {_request_id()}, HandlerErrorCode: AccessDenied)'
            )
    bucket, key_id = ap._store(e, action)
    for obj in _artifact_refs(props, bucket) if bucket else []:
        refused_by = _read_object(cfn, e, bucket, obj, key_id)
        if refused_by and refused_by[0].startswith("Amazon S3"):
            return (
                "Your access has been denied by S3, please make sure your request credentials have permission "
                f"to GetObject for {bucket}/{obj}. S3 Error Code: AccessDenied. S3 Error Message: Access Denied"
            )
        if refused_by:
            return (
                f"Your access has been denied by KMS, please make sure your request credentials have permission "
                f"to use the key {refused_by[1]} for {bucket}/{obj}. KMS Error Code: AccessDeniedException"
            )
    return None
