"""The policy documents of the seeded scenario (control.py's seed): the corrected set that
`cargo xpipeline policies` prints (issue 10), so that a strict sandbox runs the demo green.

- the source role's trust: the pipeline's service role WITHOUT an external id (CodePipeline
  sends none when it assumes an action role); the pipeline account's identities (push) with
  the external id and MFA conditions when given;
- the CodeBuild role: the artifact objects and the key;
- the key policy: the account's IAM delegation statement (without it no identity policy of the
  pipeline account can use the key) plus the source role's statement;
- the bucket policy: the source role may put (and read) artifacts; plain HTTP is refused.
"""

from __future__ import annotations

from typing import Any

KMS_USE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def service_trust(service: str) -> dict[str, Any]:
    return policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def service_role_permissions(
    source_role_arn: str, bucket: str, key_arn: str, project_arn: str
) -> dict[str, Any]:
    return policy(
        {"Sid": "AssumeTheSourceRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": source_role_arn},
        {
            "Sid": "Artifacts",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject*",
                "s3:PutObject",
                "s3:PutObjectAcl",
                "s3:GetBucketVersioning",
                "s3:GetBucketLocation",
                "s3:ListBucket",
            ],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        },
        {"Sid": "ArtifactKey", "Effect": "Allow", "Action": KMS_USE, "Resource": key_arn},
        {
            "Sid": "Build",
            "Effect": "Allow",
            "Action": [
                "codebuild:StartBuild",
                "codebuild:BatchGetBuilds",
                "codebuild:StopBuild",
                "codebuild:StartBuildBatch",
                "codebuild:BatchGetBuildBatches",
            ],
            "Resource": project_arn,
        },
    )


def build_role_permissions(bucket: str, key_arn: str, region: str, account: str, project: str) -> dict[str, Any]:
    return policy(
        {
            "Sid": "Artifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject*", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
        {
            "Sid": "ArtifactKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": key_arn,
        },
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/{project}*",
        },
    )


def key_policy(pipeline_account: str, source_role_arn: str) -> dict[str, Any]:
    return policy(
        {
            # What AWS writes as a key's default policy: identity policies of the account count.
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{pipeline_account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "SourceAccountRoleUsesTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": source_role_arn},
            "Action": KMS_USE,
            "Resource": "*",
        },
    )


def bucket_policy(bucket: str, source_role_arn: str) -> dict[str, Any]:
    objects = f"arn:aws:s3:::{bucket}/*"
    return policy(
        {
            "Sid": "SourceAccountRoleWritesArtifacts",
            "Effect": "Allow",
            "Principal": {"AWS": source_role_arn},
            "Action": ["s3:GetObject*", "s3:PutObject", "s3:PutObjectAcl"],
            "Resource": objects,
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", objects],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


def developer_condition(external_id: str | None, mfa: bool) -> dict[str, Any] | None:
    c: dict[str, Any] = {}
    if external_id:
        c["StringEquals"] = {"sts:ExternalId": external_id}
    if mfa:
        c["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    return c or None


def source_role_trust(
    pipeline_account: str, service_role_arn: str, external_id: str | None = None, mfa: bool = False
) -> dict[str, Any]:
    developers: dict[str, Any] = {
        "Sid": "DevelopersPush",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{pipeline_account}:root"},
        "Action": "sts:AssumeRole",
    }
    cond = developer_condition(external_id, mfa)
    if cond:
        developers["Condition"] = cond
    return policy(
        {
            "Sid": "ThePipelineAssumesThisRole",
            "Effect": "Allow",
            "Principal": {"AWS": service_role_arn},
            "Action": "sts:AssumeRole",
        },
        developers,
    )


def source_role_permissions(repo_arn: str, bucket: str, key_arn: str, branch: str) -> dict[str, Any]:
    return policy(
        {
            "Sid": "SourceAction",
            "Effect": "Allow",
            "Action": [
                "codecommit:GetBranch",
                "codecommit:GetCommit",
                "codecommit:GetRepository",
                "codecommit:UploadArchive",
                "codecommit:GetUploadArchiveStatus",
                "codecommit:CancelUploadArchive",
            ],
            "Resource": repo_arn,
        },
        {
            "Sid": "WriteArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject*", "s3:PutObject", "s3:PutObjectAcl"],
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
        {"Sid": "ArtifactKey", "Effect": "Allow", "Action": KMS_USE, "Resource": key_arn},
        {
            "Sid": "PushTheConfiguredBranch",
            "Effect": "Allow",
            "Action": ["codecommit:GitPush"],
            "Resource": repo_arn,
            "Condition": {"StringEqualsIfExists": {"codecommit:References": [f"refs/heads/{branch}"]}},
        },
        {
            "Sid": "ReadTheRepository",
            "Effect": "Allow",
            "Action": ["codecommit:GitPull", "codecommit:GetRepository"],
            "Resource": repo_arn,
        },
    )


def developer_trust(pipeline_account: str) -> dict[str, Any]:
    return policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{pipeline_account}:root"},
            "Action": "sts:AssumeRole",
        }
    )


def developer_permissions(region: str, pipeline_account: str, service_role_arn: str, source_role_arn: str) -> dict[str, Any]:
    """What `cargo xpipeline push` needs in the pipeline account (any pipeline of the account)."""
    return policy(
        {
            "Sid": "ReconcileAndFollowThePipeline",
            "Effect": "Allow",
            "Action": [
                "codepipeline:CreatePipeline",
                "codepipeline:GetPipeline",
                "codepipeline:UpdatePipeline",
                "codepipeline:TagResource",
                "codepipeline:ListTagsForResource",
                "codepipeline:StartPipelineExecution",
                "codepipeline:GetPipelineExecution",
                "codepipeline:GetPipelineState",
                "codepipeline:ListPipelineExecutions",
                "codepipeline:ListActionExecutions",
            ],
            "Resource": f"arn:aws:codepipeline:{region}:{pipeline_account}:*",
        },
        {
            "Sid": "PassTheServiceRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": service_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "codepipeline.amazonaws.com"}},
        },
        {"Sid": "AssumeThePushRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": source_role_arn},
    )
