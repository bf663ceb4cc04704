"""What AWS refuses and moto alone would not: expired temporary keys, and
AssumeRole of a role that does not exist or does not trust the caller."""

import time

import pytest
from botocore.exceptions import ClientError


def test_assume_role_of_a_missing_role_is_access_denied(sandbox, scenario):
    with pytest.raises(ClientError) as e:
        sandbox.assume(f"arn:aws:iam::{scenario['source_account']}:role/does-not-exist")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert "is not authorized to perform: sts:AssumeRole" in e.value.response["Error"]["Message"]


def test_an_expired_temporary_key_is_refused_with_expired_token(sandbox, scenario):
    import boto3
    from botocore.config import Config

    # botocore refuses DurationSeconds below 900 client-side; the parameter check is off.
    sts = boto3.client(
        "sts",
        endpoint_url=sandbox.endpoint,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )
    creds = sts.assume_role(
        RoleArn=scenario["source_role_arn"], RoleSessionName="short", DurationSeconds=1
    )["Credentials"]
    assert sandbox.client("sts", creds).get_caller_identity()["Account"] == scenario["source_account"]
    time.sleep(1.5)
    with pytest.raises(ClientError) as e:
        sandbox.client("sts", creds).get_caller_identity()
    assert e.value.response["Error"]["Code"] == "ExpiredToken"
