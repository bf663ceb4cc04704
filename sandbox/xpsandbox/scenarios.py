"""Scenarios and checks for `cargo xpipeline bootstrap` (owned by the bootstrap work).

    POST /_sandbox/empty-accounts   [{"region", "source_account", "target_accounts", "admin_role_name", "existing"}]
        -> {"pipeline_account", "source_account", "target_accounts", "region", "admin_role_arn",
            "target_admin_role_arns", ["existing"]}
    POST /_sandbox/policies         {["key"], ["bucket"]}  (pipeline account)
        -> {"key_policy": TEXT | null, "bucket_policy": TEXT | null}

With "existing": {"bucket", "repository", "foreign_account"}, the pipeline account also holds
a KMS key and that bucket, each with a policy holding a statement of someone else's (Sid
"TheirAudit", naming the root of foreign_account), and the source account that repository
with one commit on main; "existing" in the answer gives "key_arn", the two policies as
written and "commit".

Empty accounts, as a team starts: the pipeline account (the access key "testing") holds
nothing; the source account and each deploy target account (staging 333333333333 and prod
444444444444 unless "target_accounts" names others; [] for none) hold only the administrator
role AWS Organizations creates in a member account (OrganizationAccountAccessRole, trusting the
pipeline account), through which bootstrap reaches them. Everything is forgotten first (as POST /_sandbox/reset).

It also turns on, until the next reset, a refusal AWS makes and moto skips: a trust, key or
bucket policy that names a role or user that does not exist is refused as an invalid
principal (IAM MalformedPolicyDocument "Invalid principal in policy", KMS
MalformedPolicyDocumentException "Policy contains a statement with one or more invalid
principals.", S3 MalformedPolicy "Invalid principal in policy"), so that a bootstrap writing
a policy before the role it names exists fails here as it fails on AWS. And it corrects
three places where moto is not AWS: GetBucketVersioning of a bucket never versioned,
CreateProject with a CODEPIPELINE source without a location, and CodeCommit's dates (see
_install_checks).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .state import DEFAULT_REGION

PIPELINE_ACCOUNT = "123456789012"
SOURCE_ACCOUNT = "222222222222"
TARGET_ACCOUNTS = ["333333333333", "444444444444"]  # staging, prod
ADMIN_ROLE = "OrganizationAccountAccessRole"

# The scenario's admin role, (account, name): the refusal of invalid principals is on while it
# exists, so a reset (which forgets every role) turns it off.
_STRICT: dict[str, tuple[str, str] | None] = {"admin": None}
_PRINCIPAL = re.compile(r"^arn:[^:]+:iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)$")


def _principals(policy: Any) -> list[str]:
    """Every AWS principal ARN a policy document names."""
    try:
        doc = json.loads(policy) if isinstance(policy, (str, bytes)) else policy
    except ValueError:
        return []
    statements = doc.get("Statement", []) if isinstance(doc, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    out: list[str] = []
    for s in statements:
        p = s.get("Principal") if isinstance(s, dict) else None
        aws = p.get("AWS") if isinstance(p, dict) else None
        if isinstance(aws, str):
            out.append(aws)
        elif isinstance(aws, list):
            out.extend(a for a in aws if isinstance(a, str))
    return out


def _missing_principal(policy: Any) -> str | None:
    """The first role or user a policy names that does not exist (None when all do)."""
    from moto.iam.models import iam_backends

    admin = _STRICT["admin"]
    if admin is None or admin[1] not in {r.name for r in iam_backends[admin[0]]["aws"].roles.values()}:
        return None

    for arn in _principals(policy):
        m = _PRINCIPAL.match(arn)
        if not m:
            continue
        account, kind, name = m.groups()
        backend = iam_backends[account]["aws"]
        names = {r.name for r in backend.roles.values()} if kind == "role" else set(backend.users)
        if name not in names:
            return arn
    return None


_AWS_POLICIES: dict[str, Any] = {}


def _aws_managed_policy(backend: Any, arn: str) -> Any:
    """AWS's managed policy of `arn` in moto's copy of AWS's list, or None."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy

    if not _AWS_POLICIES:
        _AWS_POLICIES.update(json.loads(aws_managed_policies_data))
    name = arn.rsplit("/", 1)[-1]
    data = _AWS_POLICIES.get(name)
    if data is None:
        return None
    policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
    return policy if policy.arn == arn else None


def _install_checks() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.iam.exceptions import MalformedPolicyDocument
    from moto.iam.models import IAMBackend
    from moto.kms.models import KmsBackend
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend

    if getattr(IAMBackend, "_xp_principals", False):
        return

    def iam_check(doc: Any) -> None:
        bad = _missing_principal(doc)
        if bad:
            raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{bad}"')

    def kms_check(doc: Any) -> None:
        if doc and _missing_principal(doc):
            raise JsonRESTError(
                "MalformedPolicyDocumentException",
                "Policy contains a statement with one or more invalid principals.",
            )

    create_role = IAMBackend.create_role
    update_trust = IAMBackend.update_assume_role_policy
    create_key = KmsBackend.create_key
    put_key_policy = KmsBackend.put_key_policy
    put_bucket_policy = S3Backend.put_bucket_policy

    def _create_role(self: Any, role_name: str, assume_role_policy_document: str, *a: Any, **k: Any) -> Any:
        iam_check(assume_role_policy_document)
        return create_role(self, role_name, assume_role_policy_document, *a, **k)

    def _update_trust(self: Any, role_name: str, policy_document: str) -> Any:
        iam_check(policy_document)
        return update_trust(self, role_name, policy_document)

    def _create_key(self: Any, policy: Any, *a: Any, **k: Any) -> Any:
        kms_check(policy)
        return create_key(self, policy, *a, **k)

    def _put_key_policy(self: Any, key_id: str, policy: str) -> Any:
        kms_check(policy)
        return put_key_policy(self, key_id, policy)

    def _put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> Any:
        if _missing_principal(policy):
            raise S3ClientError("MalformedPolicy", "Invalid principal in policy")
        return put_bucket_policy(self, bucket_name, policy)

    # moto leaves out AWS's managed policies (loading all of them into every account is slow):
    # AttachRolePolicy of one, e.g. arn:aws:iam::aws:policy/AmazonSSMFullAccess, fails with
    # NoSuchEntity where AWS attaches it. Each is made on first use from moto's copy of AWS's
    # list; a name not on that list is still refused, as AWS refuses it.
    attach_role_policy = IAMBackend.attach_role_policy

    def _attach_role_policy(self: Any, policy_arn: str, role_name: str) -> Any:
        if policy_arn not in self.managed_policies and ":iam::aws:policy/" in policy_arn:
            managed = _aws_managed_policy(self, policy_arn)
            if managed is not None:
                self.managed_policies[policy_arn] = managed
        return attach_role_policy(self, policy_arn, role_name)

    IAMBackend.attach_role_policy = _attach_role_policy  # type: ignore[method-assign]
    IAMBackend.create_role = _create_role  # type: ignore[method-assign]
    IAMBackend.update_assume_role_policy = _update_trust  # type: ignore[method-assign]
    KmsBackend.create_key = _create_key  # type: ignore[method-assign]
    KmsBackend.put_key_policy = _put_key_policy  # type: ignore[method-assign]
    S3Backend.put_bucket_policy = _put_bucket_policy  # type: ignore[method-assign]
    IAMBackend._xp_principals = True  # type: ignore[attr-defined]

    # moto 5.2.1 answers GetBucketVersioning with a <GetBucketVersioningResponse> root, which
    # SDKs refuse to parse; S3 answers <VersioningConfiguration> (empty when never versioned).
    from moto.s3.responses import S3Response

    def _get_versioning(self: Any) -> Any:
        status = self.backend.get_bucket_versioning(self.bucket_name)
        inner = f"<Status>{status}</Status>" if status else ""
        return 200, {}, (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</VersioningConfiguration>'
        )

    S3Response.get_bucket_versioning = _get_versioning  # type: ignore[method-assign]

    # moto requires a location for a CODEPIPELINE source and artifacts; CodeBuild does not
    # (the pipeline's actions give them: "don't specify this property").
    import moto.codebuild.responses as cb

    validate_source = cb._validate_required_params_source
    validate_artifacts = cb._validate_required_params_artifacts

    def _source(source: dict[str, Any]) -> None:
        if source.get("type") != "CODEPIPELINE":
            validate_source(source)

    def _artifacts(artifacts: dict[str, Any]) -> None:
        if artifacts.get("type") != "CODEPIPELINE":
            validate_artifacts(artifacts)

    cb._validate_required_params_source = _source
    cb._validate_required_params_artifacts = _artifacts

    # moto's CodeCommit sends its dates as ISO strings; AWS's JSON protocol sends epoch
    # seconds, and SDKs refuse anything else.
    from datetime import datetime

    from moto.codecommit.models import CodeCommit

    init_repo = CodeCommit.__init__

    def _init_repo(self: Any, *a: Any, **k: Any) -> None:
        init_repo(self, *a, **k)
        for field in ("creationDate", "lastModifiedDate"):
            value = self.repository_metadata.get(field)
            if isinstance(value, str):
                self.repository_metadata[field] = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()

    CodeCommit.__init__ = _init_repo  # type: ignore[method-assign]


def empty_accounts(body: dict[str, Any]) -> dict[str, Any]:
    from moto.iam.models import iam_backends

    from .control import reset

    reset()
    _install_checks()
    region = body.get("region") or DEFAULT_REGION
    sa = body.get("source_account") or SOURCE_ACCOUNT
    name = body.get("admin_role_name") or ADMIN_ROLE
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PIPELINE_ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    targets = body.get("target_accounts")
    targets = list(TARGET_ACCOUNTS) if targets is None else [str(t) for t in targets]
    arns = []
    for account in [sa, *targets]:
        iam = iam_backends[account]["aws"]
        role = iam.create_role(name, json.dumps(trust), "/", None, "AWS Organizations' member account role (sandbox)", [], None)
        iam.put_role_policy(
            name,
            "AdministratorAccess",
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        )
        arns.append(role.arn)
    _STRICT["admin"] = (sa, name)
    answer: dict[str, Any] = {
        "pipeline_account": PIPELINE_ACCOUNT,
        "source_account": sa,
        "target_accounts": targets,
        "region": region,
        "admin_role_arn": arns[0],
        "target_admin_role_arns": arns[1:],
    }
    if body.get("existing"):
        answer["existing"] = _existing(body["existing"], region, sa)
    return answer


def _foreign_policy(account: str, resource: str, action: str) -> str:
    # Written as a person would: spacing and key order of their own.
    return (
        '{"Version": "2012-10-17", "Id": "theirs", "Statement": [\n'
        f'  {{ "Sid" : "TheirAudit", "Effect": "Allow", "Principal": {{ "AWS": "arn:aws:iam::{account}:root" }}, '
        f'"Action": "{action}", "Resource": "{resource}" }}\n]}}'
    )


def _existing(spec: dict[str, Any], region: str, sa: str) -> dict[str, Any]:
    import os
    import subprocess
    import tempfile

    from moto.codecommit.models import codecommit_backends
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends

    from .state import ensure_bare_repo

    foreign = spec.get("foreign_account") or "333333333333"
    key_policy = _foreign_policy(foreign, "*", "kms:DescribeKey")
    key = kms_backends[PIPELINE_ACCOUNT][region].create_key(
        key_policy, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "an existing key", None
    )
    bucket = spec["bucket"]
    s3 = s3_backends[PIPELINE_ACCOUNT]["aws"]
    s3.create_bucket(bucket, region)
    bucket_policy = _foreign_policy(foreign, f"arn:aws:s3:::{bucket}/*", "s3:GetObject")
    s3.put_bucket_policy(bucket, bucket_policy.encode())
    repository = spec["repository"]
    codecommit_backends[sa][region].create_repository(repository, "an existing repository")
    bare = ensure_bare_repo(sa, region, repository)
    with tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x")
        for args in (["init", "-q", "-b", "main", work], ["-C", work, "commit", "-q", "--allow-empty", "-m", "their history"], ["-C", work, "push", "-q", str(bare), "main"]):
            subprocess.run(["git", *args], check=True, env=env, stdout=subprocess.DEVNULL)
        commit = subprocess.run(["git", "-C", work, "rev-parse", "HEAD"], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return {"key_arn": key.arn, "key_policy": key_policy, "bucket_policy": bucket_policy, "commit": commit}


def policies(body: dict[str, Any]) -> dict[str, Any]:
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends

    region = body.get("region") or DEFAULT_REGION
    out: dict[str, Any] = {"key_policy": None, "bucket_policy": None}
    if body.get("key"):
        out["key_policy"] = kms_backends[PIPELINE_ACCOUNT][region].get_key_policy(body["key"])
    if body.get("bucket"):
        policy = s3_backends[PIPELINE_ACCOUNT]["aws"].get_bucket_policy(body["bucket"])
        out["bucket_policy"] = policy.decode() if isinstance(policy, bytes) else policy
    return out


def dispatch(method: str, route: str, body: dict[str, Any]) -> Any:
    """The routes of this module; None when the route is not one of them."""
    if route == "empty-accounts" and method == "POST":
        return empty_accounts(body)
    if route == "policies" and method == "POST":
        return policies(body)
    return None
