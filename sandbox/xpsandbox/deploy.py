"""CloudFormation deploy actions (Deploy / AWS / CloudFormation) of an execution.

An action runs, when its runOrder group ends (executions.py calls ``finish``), in the target
account (the account of its ``roleArn``) through moto's CloudFormation backend of that account
and the pipeline's region:

    CHANGE_SET_REPLACE  the change set is (re)created: type CREATE when the stack does not exist
                        (or is only REVIEW_IN_PROGRESS), UPDATE otherwise
    CHANGE_SET_EXECUTE  the change set is executed
    CREATE_UPDATE       the stack is created or updated directly

The template (``TemplatePath``) and the template configuration are read from the action's
input artifact: the files of the execution's source commit (the bare repository), plus what
``/_sandbox/artifact-files`` adds to it (what a buildspec writes, e.g. ``packaged.yaml``).
``#{Namespace.Variable}`` references in the configuration are resolved first.

Judged as AWS does, in its order, each refusal failing the action with AWS's wording:

1. CodePipeline assumes the service role; the service role assumes the deploy role (its
   identity policy across accounts, and the deploy role's trust, aws:PrincipalArn included);
2. the deploy role calls CloudFormation on the stack (its identity policy);
3. it reads the template from the artifact: s3:GetObject (bucket policy across accounts) and
   kms:Decrypt through S3 (key policy);
4. it passes the execution role (``RoleArn``): another account's role is refused
   ("Cross-account pass role is not allowed."), else iam:PassRole with iam:PassedToService;
5. CloudFormation assumes the execution role (trust: cloudformation.amazonaws.com,
   aws:SourceAccount the target account);
6. capabilities: IAM resources need CAPABILITY_IAM (CAPABILITY_NAMED_IAM when named), a
   transform needs CAPABILITY_AUTO_EXPAND when the stack is created or updated directly;
7. a stack in ROLLBACK_COMPLETE cannot be updated in either mode;
8. on execution, the execution role creates the resources: ssm:PutParameter,
   s3:CreateBucket, iam:CreateRole, and s3:GetObject/kms:Decrypt of any artifact object the
   template names; a refusal (or a failure queued with ``/_sandbox/stack-failure``) fails
   that resource, and the stack rolls back (ROLLBACK_COMPLETE after a first create,
   UPDATE_ROLLBACK_COMPLETE after an update), as DescribeStackEvents shows.

Call with STATE.lock held.
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


def _cfn_denied(msg: str) -> str:
    return f"{msg} (Service: AmazonCloudFormation; Status Code: 403; Error Code: AccessDenied; Request ID: {_request_id()}; Proxy: null)"


def _allow(actor: iam_eval.Principal, action: str, resource: str, region: str, extra: dict[str, Any] | None = None) -> str | None:
    """The refusal of `actor`'s own policies for one call, or None."""
    req = iam_eval.Request(actor, action, resource, ap._context(actor, region, extra))
    d = iam_eval.authorize(req)
    return None if d.allowed else d.message(req)


def _read_artifact(actor: iam_eval.Principal, e: Any, action: dict[str, Any], artifact: str) -> tuple[str, str, str] | None:
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


def _pass_role(actor: iam_eval.Principal, exec_arn: str, region: str) -> None:
    if account_of_arn(exec_arn) != actor.account:
        raise Failed("Cross-account pass role is not allowed.")
    refused = _allow(actor, "iam:PassRole", exec_arn, region, {"iam:PassedToService": "cloudformation.amazonaws.com"})
    if refused:
        raise Failed(_cfn_denied(refused))


def _execution_session(exec_arn: str, account: str, region: str, stack_arn: str) -> iam_eval.Principal:
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


def _resource_refusal(
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
        refused = _allow(cfn, op, arn, region)
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


# ------------------------------------------------------------------ running


def _backend(account: str, region: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account][region]


def _live_stack(cf: Any, name: str) -> Any:
    return next((s for s in cf.stacks.values() if s.name == name), None)


def _cfn(actor: iam_eval.Principal, op: str, stack_arn: str, region: str) -> None:
    refused = _allow(actor, f"cloudformation:{op}", stack_arn, region)
    if refused:
        raise Failed(_cfn_denied(refused))


def _json_map(text: str, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise Failed(f"{what} is not a valid JSON object")
    return doc


def _parameters(e: Any, action: dict[str, Any], conf: dict[str, Any], doc: dict[str, Any]) -> dict[str, str]:
    """TemplateConfiguration's Parameters, then ParameterOverrides, checked against the
    template as CloudFormation checks them."""
    params: dict[str, str] = {}
    if conf.get("TemplateConfiguration"):
        tc = _json_map(read_artifact_file(e, action, conf["TemplateConfiguration"]), "The template configuration file")
        params.update({k: str(v) for k, v in (tc.get("Parameters") or {}).items()})
    if conf.get("ParameterOverrides"):
        params.update({k: str(v) for k, v in _json_map(conf["ParameterOverrides"], "ParameterOverrides").items()})
    declared = doc.get("Parameters") or {}
    unknown = [k for k in params if k not in declared]
    if unknown:
        raise Failed(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    missing = [k for k, v in declared.items() if k not in params and (not isinstance(v, dict) or "Default" not in v)]
    if missing:
        raise Failed(f"Parameters: [{', '.join(missing)}] must have values")
    return params


def _prepare(
    e: Any, run: Any, actor: iam_eval.Principal, conf: dict[str, Any], stack: Any, stack_arn: str, account: str, region: str, direct: bool
) -> tuple[str, dict[str, Any], dict[str, str], str | None]:
    """What CreateChangeSet/CreateStack/UpdateStack check before anything is created."""
    action = run.action
    if stack is not None and stack.status == "ROLLBACK_COMPLETE":
        raise Failed(f"Stack:{stack.stack_id} is in ROLLBACK_COMPLETE state and can not be updated.")
    spec = str(conf.get("TemplatePath") or "")
    refused = _read_artifact(actor, e, action, spec.partition("::")[0])
    if refused:
        what, name, error = refused
        raise Failed(ap.INSUFFICIENT.format(what=what, name=name, error=error))
    text = read_artifact_file(e, action, spec)
    doc = parse_template(text)
    params = _parameters(e, action, conf, doc)
    exec_arn = conf.get("RoleArn") or None
    if exec_arn:
        _pass_role(actor, exec_arn, region)
        _execution_session(exec_arn, account, region, stack_arn)
    check_capabilities(doc, str(conf.get("Capabilities") or ""), direct)
    return text, doc, params, exec_arn


def _pseudo(stack_name: str, stack_id: str, account: str, region: str) -> dict[str, str]:
    return {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::StackName": stack_name,
        "AWS::StackId": stack_id,
        "AWS::Partition": PARTITION,
        "AWS::URLSuffix": "amazonaws.com",
    }


def _execution_failure(
    e: Any, action: dict[str, Any], actor: iam_eval.Principal, exec_arn: str | None, doc: dict[str, Any], params: dict[str, str], name: str, stack_id: str, account: str, region: str
) -> tuple[str, str, str] | None:
    """(logical id, type, reason) of the resource that fails, or None."""
    queued = STATE.stack_failures.get((account, name))
    if queued:
        f = queued.pop(0)
        if not queued:
            del STATE.stack_failures[(account, name)]
        resources = doc.get("Resources") or {}
        logical = f.get("resource") or next(iter(resources), name)
        rtype = (resources.get(logical) or {}).get("Type", "AWS::CloudFormation::CustomResource")
        return logical, rtype, f.get("reason") or "Resource creation cancelled"
    cfn = _execution_session(exec_arn, account, region, stack_id) if exec_arn else actor
    declared = {k: str(v.get("Default")) for k, v in (doc.get("Parameters") or {}).items() if isinstance(v, dict) and "Default" in v}
    values = {**declared, **params}
    pseudo = _pseudo(name, stack_id, account, region)
    for logical, res in (doc.get("Resources") or {}).items():
        if not isinstance(res, dict):
            continue
        reason = _resource_refusal(cfn, e, action, logical, res, values, pseudo)
        if reason:
            return logical, str(res.get("Type")), reason
    return None


def _event(stack: Any, logical: str, physical: str, rtype: str, status: str, reason: str | None = None) -> None:
    from moto.cloudformation.models import Event

    stack.events.append(Event(stack.stack_id, stack.name, logical, physical, rtype, status, reason, None))


def roll_back(stack: Any, create: bool, failure: tuple[str, str, str]) -> None:
    """The events and status of a failed create (ROLLBACK_COMPLETE) or update
    (UPDATE_ROLLBACK_COMPLETE); the failed resource is not created, nothing changes."""
    logical, rtype, reason = failure
    me = (stack.name, stack.stack_id, "AWS::CloudFormation::Stack")
    if create:
        _event(stack, *me, "CREATE_IN_PROGRESS", "User Initiated")
        _event(stack, logical, "", rtype, "CREATE_IN_PROGRESS")
        _event(stack, logical, "", rtype, "CREATE_FAILED", reason)
        _event(stack, *me, "ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to create: [{logical}]. Rollback requested by user.")
        _event(stack, logical, "", rtype, "DELETE_COMPLETE")
        _event(stack, *me, "ROLLBACK_COMPLETE")
        stack.status = "ROLLBACK_COMPLETE"
        return
    existing = logical in (stack.template_dict.get("Resources") or {})
    verb = "UPDATE" if existing else "CREATE"
    _event(stack, *me, "UPDATE_IN_PROGRESS", "User Initiated")
    _event(stack, logical, "", rtype, f"{verb}_IN_PROGRESS")
    _event(stack, logical, "", rtype, f"{verb}_FAILED", reason)
    failed = "update" if existing else "create"
    _event(stack, *me, "UPDATE_ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to {failed}: [{logical}]. ")
    _event(stack, *me, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    _event(stack, *me, "UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


def _failed_message(head: str, actor: iam_eval.Principal, stack: Any, failure: tuple[str, str, str], region: str) -> str:
    lines = [head, f"Current stack status: {stack.status}."]
    if _allow(actor, "cloudformation:DescribeStackEvents", stack.stack_id, region):
        lines.append(
            "Status reason is not available because IAM role associated with the action does not have "
            "CloudFormation DescribeStackEvents permission"
        )
    else:
        lines.append(f"Resource {failure[0]} ({failure[1]}): {failure[2]}")
    return "\n".join(lines)


def _fix_outputs(stack: Any) -> None:
    """moto keeps the outputs of the template a change set created the stack with ({})."""
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    stack.description = stack.template_dict.get("Description")


def _write_outputs(e: Any, run: Any, stack: Any, conf: dict[str, Any], account: str) -> None:
    name = conf.get("OutputFileName")
    if not name:
        return
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (stack.outputs or [])}
    STATE.deploy_outputs.append(
        {
            "pipeline": e.pipeline_name,
            "executionId": e.id,
            "stage": run.stage,
            "action": run.name,
            "artifact": run.output_artifacts[0] if run.output_artifacts else None,
            "file": name,
            "account": account,
            "stack": stack.name,
            "content": json.dumps(outputs),
        }
    )


def _console_url(region: str, stack_id: str, change_set_id: str | None = None) -> str:
    from urllib.parse import quote

    base = f"https://console.aws.amazon.com/cloudformation/home?region={region}#/stacks/"
    if change_set_id:
        return f"{base}changesets/changes?stackId={quote(stack_id, safe='')}&changeSetId={quote(change_set_id, safe='')}"
    return f"{base}stackinfo?stackId={quote(stack_id, safe='')}"


def _replace(e: Any, run: Any, actor: iam_eval.Principal, conf: dict[str, Any], cf: Any, stack: Any, stack_arn: str, account: str, region: str) -> None:
    name, cs_name = conf.get("StackName", ""), conf.get("ChangeSetName", "")
    _cfn(actor, "DescribeStacks", stack_arn, region)
    _cfn(actor, "CreateChangeSet", stack_arn, region)
    if stack is not None and stack.status not in ("REVIEW_IN_PROGRESS",) and stack.status.endswith("_IN_PROGRESS"):
        raise Failed(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
    text, _doc, params, exec_arn = _prepare(e, run, actor, conf, stack, stack_arn, account, region, direct=False)
    for cid, cs in list(cf.change_sets.items()):
        if cs.change_set_name == cs_name and cs.stack_name == name:
            _cfn(actor, "DeleteChangeSet", stack_arn, region)
            del cf.change_sets[cid]
    review = stack if stack is not None and stack.status == "REVIEW_IN_PROGRESS" else None
    ctype = "CREATE" if stack is None or review is not None else "UPDATE"
    cs_id, stack_id = cf.create_change_set(name, cs_name, text, params, "", ctype, role_arn=exec_arn)
    if review is not None:  # moto made a second stack: the change set belongs to the first
        cf.stacks.pop(stack_id, None)
        cs = cf.change_sets[cs_id]
        cs.stack, cs.stack_id, stack_id = review, review.stack_id, review.stack_id
    run.external_id = cs_id
    run.external_url = _console_url(region, stack_id, cs_id)


def _execute(e: Any, run: Any, actor: iam_eval.Principal, conf: dict[str, Any], cf: Any, stack: Any, stack_arn: str, account: str, region: str) -> None:
    name, cs_name = conf.get("StackName", ""), conf.get("ChangeSetName", "")
    _cfn(actor, "DescribeChangeSet", stack_arn, region)
    _cfn(actor, "ExecuteChangeSet", stack_arn, region)
    cs = next((c for c in cf.change_sets.values() if c.change_set_name == cs_name and c.stack_name == name), None)
    if cs is None or stack is None:
        raise Failed(f"ChangeSet [{cs_name}] does not exist")
    run.external_id = cs.change_set_id
    run.external_url = _console_url(region, stack.stack_id, cs.change_set_id)
    if cs.status == "FAILED" and "didn't contain changes" in (cs.status_reason or ""):
        _write_outputs(e, run, stack, conf, account)  # nothing to execute: the stack stands
        return
    if cs.execution_status != "AVAILABLE":
        raise Failed(f"ChangeSet [{cs.change_set_id}] cannot be executed in its current execution status of [{cs.execution_status}]")
    failure = _execution_failure(e, run.action, actor, cs.role_arn, cs.template_dict, cs.parameters, name, stack.stack_id, account, region)
    if failure is not None:
        roll_back(stack, cs.change_set_type == "CREATE", failure)
        cs.execution_status = "EXECUTE_FAILED"
        raise Failed(_failed_message("Failed to execute change set.", actor, stack, failure, region))
    cf.execute_change_set(cs.change_set_id, name)
    _fix_outputs(stack)
    _write_outputs(e, run, stack, conf, account)


def _create_update(e: Any, run: Any, actor: iam_eval.Principal, conf: dict[str, Any], cf: Any, stack: Any, stack_arn: str, account: str, region: str) -> None:
    from moto.cloudformation.models import Stack
    from moto.cloudformation.utils import generate_stack_id

    name = conf.get("StackName", "")
    _cfn(actor, "DescribeStacks", stack_arn, region)
    _cfn(actor, "CreateStack" if stack is None else "UpdateStack", stack_arn, region)
    if stack is not None and stack.status.endswith("_IN_PROGRESS"):
        raise Failed(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
    text, doc, params, exec_arn = _prepare(e, run, actor, conf, stack, stack_arn, account, region, direct=True)
    if stack is None:
        stack_id = generate_stack_id(name, region, account)
        failure = _execution_failure(e, run.action, actor, exec_arn, doc, params, name, stack_id, account, region)
        if failure is not None:
            stack = Stack(stack_id, name, {}, params, account, region, role_arn=exec_arn)
            cf.stacks[stack_id] = stack
            roll_back(stack, True, failure)
            raise Failed(_failed_message("Failed to create stack.", actor, stack, failure, region))
        stack = cf.create_stack(name, text, params, role_arn=exec_arn)
    elif not (stack.has_template(text) and stack.has_parameters(params)):  # else "No updates are to be performed."
        failure = _execution_failure(e, run.action, actor, exec_arn, doc, params, name, stack.stack_id, account, region)
        if failure is not None:
            roll_back(stack, False, failure)
            raise Failed(_failed_message("Failed to update stack.", actor, stack, failure, region))
        cf.update_stack(name, text, exec_arn, [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()], None)
    run.external_id = stack.stack_id
    run.external_url = _console_url(region, stack.stack_id)
    _write_outputs(e, run, stack, conf, account)


def _run(e: Any, run: Any) -> None:
    action = run.action
    conf = resolve(e, action.get("configuration") or {})
    run.resolved_configuration = conf
    region = action.get("region") or e.region
    try:
        service = ap._service_session(e.account, e.region, e.pipeline)
        actor = ap._assume_action_role(service, action["roleArn"], region) if action.get("roleArn") else service
    except ap.Denied as d:
        raise Failed(d.message)
    account = account_of_arn(action.get("roleArn")) or e.account
    cf = _backend(account, region)
    name = str(conf.get("StackName") or "")
    stack = _live_stack(cf, name)
    stack_arn = stack.stack_id if stack is not None else f"arn:{PARTITION}:cloudformation:{region}:{account}:stack/{name}/*"
    modes = {"CHANGE_SET_REPLACE": _replace, "CHANGE_SET_EXECUTE": _execute, "CREATE_UPDATE": _create_update}
    mode = conf.get("ActionMode", "")
    if mode not in modes:
        raise Failed(f"xpsandbox: ActionMode {mode} is not run by the sandbox (only {', '.join(modes)})")
    modes[mode](e, run, actor, conf, cf, stack, stack_arn, account, region)


def finish(e: Any, run: Any) -> None:
    """Run a CloudFormation action as its group ends; a failure becomes the run's error."""
    if not is_deploy(run.action) or run.error:
        return
    try:
        _run(e, run)
    except Failed as f:
        run.error = {"code": "JobFailed", "message": f.message}
    except Exception as exc:  # moto refusing something: the action fails with what it said
        import sys
        import traceback

        traceback.print_exc(file=sys.stderr)
        run.error = {"code": "JobFailed", "message": getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------ control routes


def dispatch(method: str, route: str, q: dict[str, str], body: dict[str, Any]) -> Any:
    """stack-failure, deploy-outputs, artifact-files; None for another route."""
    from .control import PIPELINE_ACCOUNT, ControlError

    if route == "stack-failure" and method == "POST":
        if not body.get("stack") or not body.get("account"):
            raise ControlError("400 Bad Request", "missing stack or account")
        entry = {"resource": body.get("resource"), "reason": body.get("reason") or "Resource creation cancelled"}
        STATE.stack_failures.setdefault((str(body["account"]), str(body["stack"])), []).append(entry)
        return {"ok": True}
    if route == "deploy-outputs" and method == "GET":
        return [o for o in STATE.deploy_outputs if not q.get("pipeline") or o["pipeline"] == q["pipeline"]]
    if route == "artifact-files" and method == "POST":
        files = body.get("files")
        if not body.get("pipeline") or not isinstance(files, dict):
            raise ControlError("400 Bad Request", 'missing pipeline or files ({"path": "text"})')
        key = (str(body["pipeline"]), str(body.get("artifact") or "BuildArtifact"))
        STATE.artifact_files.setdefault(key, {}).update({str(k): str(v) for k, v in files.items()})
        return {"ok": True, "account": PIPELINE_ACCOUNT}
    return None
