"""scenarios.py: two empty accounts for bootstrap, and the invalid-principal refusals."""

import json

import pytest
from botocore.exceptions import ClientError

PA = "123456789012"
SA = "222222222222"


def trust(principal):
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}
    )


def test_empty_accounts_hold_only_the_admin_role(sandbox):
    sc = sandbox.ctl("empty-accounts", {})
    assert sc["admin_role_arn"] == f"arn:aws:iam::{SA}:role/OrganizationAccountAccessRole"
    assert sandbox.client("iam").list_roles()["Roles"] == []
    assert sandbox.client("kms").list_keys()["Keys"] == []
    assert sandbox.client("s3").list_buckets()["Buckets"] == []
    admin = sandbox.assume(sc["admin_role_arn"])
    roles = [r["RoleName"] for r in sandbox.client("iam", admin).list_roles()["Roles"]]
    assert roles == ["OrganizationAccountAccessRole"]
    cc = sandbox.client("codecommit", admin)
    with pytest.raises(ClientError) as e:  # moto has no ListRepositories
        cc.get_repository(repositoryName="hello")
    assert e.value.response["Error"]["Code"] == "RepositoryDoesNotExistException"


def test_a_policy_naming_a_role_that_does_not_exist_is_refused_as_aws_does(sandbox):
    sandbox.ctl("empty-accounts", {})
    iam = sandbox.client("iam")
    missing = f"arn:aws:iam::{PA}:role/not-yet"
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": missing}))
    assert e.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert "Invalid principal in policy" in e.value.response["Error"]["Message"]
    kms = sandbox.client("kms")
    with pytest.raises(ClientError) as e:
        kms.create_key(Policy=trust({"AWS": missing}).replace("sts:AssumeRole", "kms:Decrypt"))
    assert e.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="b-1", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": missing}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b-1/*"}]}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket="b-1", Policy=json.dumps(policy))
    assert e.value.response["Error"]["Code"] == "MalformedPolicy"
    # Once the role exists, the same documents are accepted; roots and services always are.
    iam.create_role(RoleName="not-yet", AssumeRolePolicyDocument=trust({"Service": "codebuild.amazonaws.com"}))
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": missing}))
    s3.put_bucket_policy(Bucket="b-1", Policy=json.dumps(policy))
    iam.create_role(RoleName="r2", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{SA}:root"}))


def test_a_reset_turns_the_refusal_off(sandbox):
    sandbox.ctl("empty-accounts", {})
    sandbox.ctl("reset", {})
    sandbox.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{PA}:role/x"}))


def test_where_moto_is_not_aws(sandbox):
    sandbox.ctl("empty-accounts", {})
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="b-2", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert "Status" not in s3.get_bucket_versioning(Bucket="b-2")
    s3.put_bucket_versioning(Bucket="b-2", VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket="b-2")["Status"] == "Enabled"
    iam = sandbox.client("iam")
    role = iam.create_role(RoleName="b", AssumeRolePolicyDocument=trust({"Service": "codebuild.amazonaws.com"}))["Role"]["Arn"]
    sandbox.client("codebuild").create_project(
        name="pp",
        source={"type": "CODEPIPELINE"},
        artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0", "computeType": "BUILD_GENERAL1_MEDIUM"},
        serviceRole=role,
    )
    admin = sandbox.assume(f"arn:aws:iam::{SA}:role/OrganizationAccountAccessRole")
    meta = sandbox.client("codecommit", admin).create_repository(repositoryName="r")["repositoryMetadata"]
    assert meta["creationDate"].year >= 2024


def test_aws_managed_policies_attach_as_on_aws_and_unknown_ones_are_refused(sandbox):
    sc = sandbox.ctl("empty-accounts", {})
    admin = sandbox.assume(sc["target_admin_role_arns"][0])
    iam = sandbox.client("iam", admin)
    iam.create_role(RoleName="exec", AssumeRolePolicyDocument=trust({"Service": "cloudformation.amazonaws.com"}))
    iam.attach_role_policy(RoleName="exec", PolicyArn="arn:aws:iam::aws:policy/AmazonSSMFullAccess")
    iam.attach_role_policy(
        RoleName="exec", PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    )
    attached = iam.list_attached_role_policies(RoleName="exec")["AttachedPolicies"]
    assert sorted(p["PolicyName"] for p in attached) == ["AWSLambdaBasicExecutionRole", "AmazonSSMFullAccess"]
    for wrong in ["arn:aws:iam::aws:policy/NoSuchPolicy", "arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole"]:
        with pytest.raises(ClientError) as e:
            iam.attach_role_policy(RoleName="exec", PolicyArn=wrong)
        assert e.value.response["Error"]["Code"] == "NoSuchEntity"
        assert e.value.response["Error"]["Message"] == f"Policy {wrong} does not exist or is not attachable."
