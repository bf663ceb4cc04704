"""Deploy target accounts for the seeded scenario (``POST /_sandbox/seed`` with ``targets``).

What bootstrap leaves in a target account and in the pipeline account, per issue #15's
contract, written straight into moto (no call logged), so that the deploy actions
(deploy.py) have something correct to be judged against and tests can break one piece:

- in each target account: ``OrganizationAccountAccessRole`` (trusting the pipeline account,
  an administrator), the deploy role ``<prefix>-deploy`` (trust: the pipeline account root
  with ``ArnEquals aws:PrincipalArn`` = the service role; CloudFormation on
  ``stack/<stack>/*`` for the declared stacks, ``iam:PassRole`` of the execution role to
  CloudFormation only, the artifact objects and the key) and the execution role
  ``<prefix>-cfn-execution`` (trust: ``cloudformation.amazonaws.com`` with
  ``aws:SourceAccount`` = the target account; inline policy ``xpipeline``: SSM parameters,
  S3 buckets, the artifact objects and the key, standing in for the declared
  execution-policies);
- in the pipeline account: the service role may assume each deploy role (inline policy
  ``xpipeline-deploy``), and the key and bucket policies grant the two roles of every target
  read, by ``aws:PrincipalArn`` (statements ``DeployTargetsUseTheKey``,
  ``DeployTargetsReadArtifacts``).
"""

from __future__ import annotations

import json
from typing import Any

ADMIN_ROLE = "OrganizationAccountAccessRole"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def deploy_trust(pipeline_account: str, service_role_arn: str) -> dict[str, Any]:
    return _policy(
        {
            "Sid": "PipelineServiceRole",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{pipeline_account}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": service_role_arn}},
        }
    )


def deploy_permissions(account: str, region: str, stacks: list[str], exec_arn: str, bucket: str, key_arn: str) -> dict[str, Any]:
    return _policy(
        {
            "Sid": "ChangeSets",
            "Effect": "Allow",
            "Action": [
                "cloudformation:CreateChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:CreateStack",
                "cloudformation:UpdateStack",
            ],
            "Resource": [f"arn:aws:cloudformation:{region}:{account}:stack/{s}/*" for s in stacks],
        },
        {
            "Sid": "PassTheExecutionRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": exec_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        },
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "ArtifactKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": key_arn},
    )


def execution_trust(account: str) -> dict[str, Any]:
    return _policy(
        {
            "Sid": "CloudFormation",
            "Effect": "Allow",
            "Principal": {"Service": "cloudformation.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }
    )


def execution_permissions(account: str, region: str, bucket: str, key_arn: str) -> dict[str, Any]:
    return _policy(
        {
            "Sid": "Parameters",
            "Effect": "Allow",
            "Action": ["ssm:PutParameter", "ssm:GetParameter*", "ssm:DeleteParameter", "ssm:AddTagsToResource"],
            "Resource": f"arn:aws:ssm:{region}:{account}:parameter/*",
        },
        {"Sid": "Buckets", "Effect": "Allow", "Action": ["s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucket*"], "Resource": "*"},
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "ArtifactKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn},
    )


def _merge(doc: Any, statement: dict[str, Any]) -> str:
    """`doc` (JSON text or None) with `statement` in place of the one of the same Sid."""
    current = json.loads(doc) if doc else _policy()
    current["Statement"] = [s for s in current.get("Statement", []) if s.get("Sid") != statement["Sid"]] + [statement]
    return json.dumps(current)


def seed_targets(
    targets: list[str], stacks: list[str], prefix: str, pipeline_account: str, region: str, service_role: str, bucket: str, key: Any
) -> dict[str, Any]:
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends

    service_role_arn = f"arn:aws:iam::{pipeline_account}:role/{service_role}"
    admin_trust = _policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{pipeline_account}:root"}, "Action": "sts:AssumeRole"}
    )
    everything = _policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    out: dict[str, Any] = {}
    readers: list[str] = []
    for account in targets:
        iam = iam_backends[account]["aws"]
        deploy_arn = f"arn:aws:iam::{account}:role/{prefix}-deploy"
        exec_arn = f"arn:aws:iam::{account}:role/{prefix}-cfn-execution"
        roles = [
            (ADMIN_ROLE, admin_trust, "AdministratorAccess", everything),
            (f"{prefix}-deploy", deploy_trust(pipeline_account, service_role_arn), "xpipeline",
             deploy_permissions(account, region, stacks, exec_arn, bucket, key.arn)),
            (f"{prefix}-cfn-execution", execution_trust(account), "xpipeline",
             execution_permissions(account, region, bucket, key.arn)),
        ]
        for name, trust, policy_name, permissions in roles:
            try:
                iam.get_role(name)
            except NotFoundException:
                iam.create_role(name, json.dumps(trust), "/", None, "created by the xpipeline sandbox", [], None)
                iam.put_role_policy(name, policy_name, json.dumps(permissions))
        out[account] = {
            "admin_role_arn": f"arn:aws:iam::{account}:role/{ADMIN_ROLE}",
            "deploy_role_arn": deploy_arn,
            "execution_role_arn": exec_arn,
        }
        readers += [deploy_arn, exec_arn]
    if not targets:
        return out
    roots = [f"arn:aws:iam::{a}:root" for a in targets]
    condition = {"ArnEquals": {"aws:PrincipalArn": readers}}
    key.policy = _merge(
        key.policy,
        {"Sid": "DeployTargetsUseTheKey", "Effect": "Allow", "Principal": {"AWS": roots},
         "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*", "Condition": condition},
    )
    b = s3_backends[pipeline_account]["aws"].buckets[bucket]
    current = b.policy.decode() if isinstance(b.policy, bytes) else b.policy
    b.policy = _merge(
        current,
        {"Sid": "DeployTargetsReadArtifacts", "Effect": "Allow", "Principal": {"AWS": roots},
         "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": condition},
    ).encode()
    iam_p = iam_backends[pipeline_account]["aws"]
    iam_p.put_role_policy(
        service_role,
        "xpipeline-deploy",
        json.dumps(_policy({"Sid": "AssumeTheDeployRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
                            "Resource": [out[a]["deploy_role_arn"] for a in targets]})),
    )
    return out
