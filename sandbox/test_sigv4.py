"""The CodeCommit git password scheme, with fixed vectors and a fixed clock."""

import datetime as dt

import pytest

from xpsandbox import sigv4

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOST = "git-codecommit.us-east-1.amazonaws.com"
EXPECTED = "20240102T030405Z9b2df9927db1175928ac1b36007e035fc326ba00f6b14ca1893cd3b269cdc38b"
FIXED_NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def test_password_matches_the_fixed_vector():
    assert sigv4.password(SECRET, "us-east-1", "/v1/repos/my-repo", HOST, "20240102T030405") == EXPECTED
    assert sigv4.password(SECRET, "us-east-1", "/v1/repos/my-repo", HOST, FIXED_NOW) == EXPECTED


def test_verifier_accepts_the_fixed_vector_with_a_fixed_clock():
    region = sigv4.verify(EXPECTED, SECRET, "/v1/repos/my-repo", [HOST], ["eu-west-1", "us-east-1"], now=FIXED_NOW)
    assert region == "us-east-1"


def test_verifier_allows_a_15_minute_window_either_way():
    for minutes in (-14, 14):
        now = FIXED_NOW + dt.timedelta(minutes=minutes)
        assert sigv4.verify(EXPECTED, SECRET, "/v1/repos/my-repo", [HOST], ["us-east-1"], now=now)
    for minutes in (-16, 16):
        now = FIXED_NOW + dt.timedelta(minutes=minutes)
        with pytest.raises(sigv4.VerifyError, match="15 minute"):
            sigv4.verify(EXPECTED, SECRET, "/v1/repos/my-repo", [HOST], ["us-east-1"], now=now)


@pytest.mark.parametrize(
    "password,secret,path,host,region",
    [
        (EXPECTED[:-1] + "0", SECRET, "/v1/repos/my-repo", HOST, "us-east-1"),  # tampered
        (EXPECTED, SECRET + "x", "/v1/repos/my-repo", HOST, "us-east-1"),  # other secret
        (EXPECTED, SECRET, "/v1/repos/other-repo", HOST, "us-east-1"),  # other repository
        (EXPECTED, SECRET, "/v1/repos/my-repo", "git-codecommit.eu-west-1.amazonaws.com", "us-east-1"),
        (EXPECTED, SECRET, "/v1/repos/my-repo", HOST, "eu-west-1"),  # other region
    ],
)
def test_verifier_rejects_anything_else(password, secret, path, host, region):
    with pytest.raises(sigv4.VerifyError):
        sigv4.verify(password, secret, path, [host], [region], now=FIXED_NOW)


@pytest.mark.parametrize("bad", ["", "20240102T030405", "20240102T030405Zxyz", "2024-01-02Z" + "0" * 64])
def test_malformed_passwords_are_rejected(bad):
    with pytest.raises(sigv4.VerifyError):
        sigv4.verify(bad, SECRET, "/v1/repos/my-repo", [HOST], ["us-east-1"], now=FIXED_NOW)


def test_username_carries_the_session_token():
    assert sigv4.username(AKID) == AKID
    assert sigv4.username(AKID, "tok/en+=") == f"{AKID}%tok/en+="
    assert sigv4.split_username(f"{AKID}%tok%en") == (AKID, "tok%en")
    assert sigv4.split_username(AKID) == (AKID, None)
