"""The CodeCommit git smart-HTTP endpoint: auth as CodeCommit does it."""

import base64
import datetime as dt
import os
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest

from conftest import add_commit, make_commit

from xpsandbox import sigv4


def _get(sb, repo, header=None, path="/info/refs?service=git-upload-pack"):
    req = urllib.request.Request(sb.url(repo) + path)
    if header:
        k, v = header.split(": ", 1)
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_push_with_assumed_role_credentials_lands_in_the_source_account(sandbox, scenario):
    d, sha = make_commit("first")
    creds = sandbox.assume(scenario["source_role_arn"])
    assert creds["AccessKeyId"].startswith("ASIA")
    repo = scenario["repository"]
    sandbox.git(d, "push", sandbox.url(repo), "main", header=sandbox.git_auth_header(creds, repo))
    head = sandbox.ctl(f"branch-head?account=222222222222&repository={repo}&branch=main")
    assert head == {"commit": sha}
    # the bare repository is under the data dir, keyed by account/region/repositoryId
    path = sandbox.ctl(f"repo-dir?account=222222222222&repository={repo}")["path"]
    assert path.startswith(sandbox.data_dir)
    assert f"/222222222222/eu-west-1/{scenario['repository_id']}.git" in path
    out = subprocess.run(["git", "-C", path, "rev-parse", "refs/heads/main"], capture_output=True, text=True)
    assert out.stdout.strip() == sha
    # the pipeline account has no such repository
    assert sandbox.ctl(f"branch-head?account=123456789012&repository={repo}&branch=main") == {"commit": None}
    # and the push was one GitPush call in the source account
    pushes = [c for c in sandbox.calls() if c["action"] == "GitPush"]
    assert pushes == [{"service": "codecommit", "action": "GitPush", "account": "222222222222", "status": 200}]


def test_clone_and_second_push(sandbox, scenario):
    d, first = make_commit("first")
    creds = sandbox.assume(scenario["source_role_arn"])
    repo = scenario["repository"]
    hdr = sandbox.git_auth_header(creds, repo)
    sandbox.git(d, "push", sandbox.url(repo), "main", header=hdr)
    second = add_commit(d, "second")
    sandbox.git(d, "push", sandbox.url(repo), "main", header=hdr)
    clone = tempfile.mkdtemp(prefix="xpsandbox-clone-")
    sandbox.git(clone, "clone", "-q", sandbox.url(repo), "c", header=hdr)
    got = subprocess.run(["git", "-C", os.path.join(clone, "c"), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert got.stdout.strip() == second != first


def test_git_askpass_flow_gets_401_first_then_pushes(sandbox, scenario):
    """Plain git: no credentials -> 401 + WWW-Authenticate -> asks GIT_ASKPASS -> pushes."""
    d, sha = make_commit("askpass")
    creds = sandbox.assume(scenario["source_role_arn"])
    repo = scenario["repository"]
    pw = sigv4.password(creds["SecretAccessKey"], "eu-west-1", f"/v1/repos/{repo}", sandbox.host)
    helper_dir = tempfile.mkdtemp(prefix="xpsandbox-askpass-")
    helper = os.path.join(helper_dir, "askpass.sh")
    with open(helper, "w") as f:  # the script holds no secret: it reads the environment
        f.write('#!/bin/sh\ncase "$1" in Username*) printf %s "$XP_USER";; *) printf %s "$XP_PASS";; esac\n')
    os.chmod(helper, 0o700)
    env = dict(
        os.environ,
        GIT_ASKPASS=helper,
        GIT_TERMINAL_PROMPT="0",
        XP_USER=sigv4.username(creds["AccessKeyId"], creds["SessionToken"]),
        XP_PASS=pw,
    )
    r = subprocess.run(
        ["git", "-c", "credential.helper=", "push", sandbox.url(repo), "main"], cwd=d, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert sandbox.ctl(f"branch-head?account=222222222222&repository={repo}&branch=main")["commit"] == sha


def test_no_credentials_is_401_with_www_authenticate(sandbox, scenario):
    status, headers, _ = _get(sandbox, scenario["repository"])
    assert status == 401
    assert headers.get("WWW-Authenticate", "").startswith("Basic")


def test_tampered_signature_is_403(sandbox, scenario):
    creds = sandbox.assume(scenario["source_role_arn"])
    repo = scenario["repository"]
    user = sigv4.username(creds["AccessKeyId"], creds["SessionToken"])
    pw = sigv4.password(creds["SecretAccessKey"], "eu-west-1", f"/v1/repos/{repo}", sandbox.host)
    tampered = pw[:-1] + ("0" if pw[-1] != "0" else "1")
    hdr = "Authorization: Basic " + base64.b64encode(f"{user}:{tampered}".encode()).decode()
    assert _get(sandbox, repo, hdr)[0] == 403
    # the untampered one works, on the same repository
    assert _get(sandbox, repo, sandbox.git_auth_header(creds, repo))[0] == 200
    # a signature for another repository name does not open this one
    other = "Authorization: Basic " + base64.b64encode(
        f"{user}:{sigv4.password(creds['SecretAccessKey'], 'eu-west-1', '/v1/repos/other', sandbox.host)}".encode()
    ).decode()
    assert _get(sandbox, repo, other)[0] == 403


def test_wrong_or_missing_session_token_is_403(sandbox, scenario):
    creds = sandbox.assume(scenario["source_role_arn"])
    repo = scenario["repository"]
    wrong = dict(creds, SessionToken=creds["SessionToken"][:-4] + "AAAA")
    assert _get(sandbox, repo, sandbox.git_auth_header(wrong, repo))[0] == 403
    missing = dict(creds)
    missing.pop("SessionToken")
    assert _get(sandbox, repo, sandbox.git_auth_header(missing, repo))[0] == 403
    # a push signed that way is refused too
    d, _ = make_commit("nope")
    r = sandbox.git(d, "push", sandbox.url(repo), "main", header=sandbox.git_auth_header(wrong, repo), check=False)
    assert r.returncode != 0 and "403" in r.stderr
    assert sandbox.ctl(f"branch-head?account=222222222222&repository={repo}&branch=main")["commit"] is None


def test_stale_timestamp_is_403(sandbox, scenario):
    creds = sandbox.assume(scenario["source_role_arn"])
    repo = scenario["repository"]
    now = dt.datetime.now(dt.timezone.utc)
    stale = sandbox.git_auth_header(creds, repo, when=now - dt.timedelta(minutes=16))
    future = sandbox.git_auth_header(creds, repo, when=now + dt.timedelta(minutes=16))
    recent = sandbox.git_auth_header(creds, repo, when=now - dt.timedelta(minutes=14))
    assert _get(sandbox, repo, stale)[0] == 403
    assert _get(sandbox, repo, future)[0] == 403
    assert _get(sandbox, repo, recent)[0] == 200


def test_host_signed_without_port_is_accepted(sandbox, scenario):
    creds = sandbox.assume(scenario["source_role_arn"])
    repo = scenario["repository"]
    hostname = sandbox.host.rsplit(":", 1)[0]
    assert _get(sandbox, repo, sandbox.git_auth_header(creds, repo, host=hostname))[0] == 200
    assert _get(sandbox, repo, sandbox.git_auth_header(creds, repo, host="other.example:1"))[0] == 403


def test_expired_session_is_403_in_process():
    """Expiry, checked in-process against moto's STS backend with a moved clock."""
    from moto.codecommit.models import codecommit_backends
    from moto.sts.models import sts_backends

    from xpsandbox import git_http

    sts_backends["123456789012"]["aws"].assume_role(
        region_name="eu-west-1",
        role_session_name="short",
        role_arn="arn:aws:iam::210987654321:role/x",
        policy="",
        duration=900,
        external_id="",
    )
    role = sts_backends["210987654321"]["aws"].assumed_roles[-1]
    codecommit_backends["210987654321"]["eu-west-1"].create_repository("r", "")
    exp = role.expiration.replace(tzinfo=dt.timezone.utc)

    def environ(when):
        pw = sigv4.password(role.secret_access_key, "eu-west-1", "/v1/repos/r", "h:1", when)
        user = sigv4.username(role.access_key_id, role.session_token)
        return {"HTTP_HOST": "h:1", "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}

    before = exp - dt.timedelta(minutes=1)
    assert git_http.authenticate(environ(before), "r", now=before)[1:] == ("210987654321", "eu-west-1")
    after = exp + dt.timedelta(minutes=1)
    try:
        git_http.authenticate(environ(after), "r", now=after)
        raise AssertionError("expired credentials accepted")
    except git_http.AuthFailure as f:
        assert f.status == 403 and "expired" in f.message


def test_unknown_key_is_403_and_other_account_is_404(sandbox, scenario):
    repo = scenario["repository"]
    fake = {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "x" * 40}
    assert _get(sandbox, repo, sandbox.git_auth_header(fake, repo))[0] == 403
    # a key of the pipeline account: the repository is looked up in that account
    pipeline_creds = sandbox.assume(scenario["developer_role_arn"])
    status, _, body = _get(sandbox, repo, sandbox.git_auth_header(pipeline_creds, repo))
    assert status == 404, body
    # and a repository that exists nowhere
    creds = sandbox.assume(scenario["source_role_arn"])
    assert _get(sandbox, "nope", sandbox.git_auth_header(creds, "nope"))[0] == 404


def test_large_push_with_chunked_request_body(sandbox, scenario):
    """Packs over http.postBuffer go as chunked requests, as libgit2's pushes do."""
    d, _ = make_commit("big", files={"blob.bin": os.urandom(3 * 1024 * 1024).hex()})
    creds = sandbox.assume(scenario["source_role_arn"])
    repo = scenario["repository"]
    hdr = sandbox.git_auth_header(creds, repo)
    sandbox.git(d, "-c", "http.postBuffer=65536", "push", sandbox.url(repo), "main", header=hdr)
    sha = subprocess.run(["git", "-C", d, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert sandbox.ctl(f"branch-head?account=222222222222&repository={repo}&branch=main")["commit"] == sha


def test_an_update_hook_refuses_the_push_with_its_message(sandbox, scenario):
    d, sha = make_commit("first")
    repo = scenario["repository"]
    hdr = sandbox.git_auth_header(sandbox.assume(scenario["source_role_arn"]), repo)
    r = sandbox.ctl(
        "git-hook",
        {"account": scenario["source_account"], "repository": repo, "message": "no direct pushes to main"},
    )
    assert r["installed"] is True
    out = sandbox.git(d, "push", sandbox.url(repo), "main", header=hdr, check=False)
    assert out.returncode != 0
    assert "remote: no direct pushes to main" in out.stderr
    assert "hook declined" in out.stderr
    assert sandbox.ctl(f"branch-head?account={scenario['source_account']}&repository={repo}&branch=main") == {"commit": None}
    # removed, the same push lands
    assert sandbox.ctl("git-hook", {"account": scenario["source_account"], "repository": repo, "message": None}) == {
        "hook": "update",
        "installed": False,
    }
    sandbox.git(d, "push", sandbox.url(repo), "main", header=hdr)
    assert sandbox.ctl(f"branch-head?account={scenario['source_account']}&repository={repo}&branch=main") == {"commit": sha}


def test_git_hook_route_refuses_unknown_hooks_and_repositories(sandbox, scenario):
    with pytest.raises(urllib.error.HTTPError) as e:
        sandbox.ctl("git-hook", {"account": scenario["source_account"], "repository": "nope", "message": "x"})
    assert e.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as e:
        sandbox.ctl(
            "git-hook",
            {"account": scenario["source_account"], "repository": scenario["repository"], "message": "x", "hook": "post-receive"},
        )
    assert e.value.code == 400


def test_git_throttle_answers_the_next_requests_429_rate_exceeded(sandbox, scenario):
    repo = scenario["repository"]
    assert sandbox.ctl("git-throttle", {"times": 2}) == {"status": 429, "times": 2}
    for _ in range(2):
        status, _, body = _get(sandbox, repo)
        assert status == 429 and b"Rate exceeded" in body
    status, _, _ = _get(sandbox, repo)
    assert status == 401  # throttling over: the usual credential-less answer
    sandbox.ctl("git-throttle", {"times": 1, "status": 503})
    assert _get(sandbox, repo)[0] == 503


def test_git_requests_are_counted_both_ways(sandbox, scenario):
    d, sha = make_commit("first")
    repo = scenario["repository"]
    sandbox.ctl("git-requests", method="DELETE")
    sandbox.git(d, "push", sandbox.url(repo), "main", header=sandbox.git_auth_header(sandbox.assume(scenario["source_role_arn"]), repo))
    posts = [r for r in sandbox.ctl("git-requests") if r["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["path"] == "/git-receive-pack" and posts[0]["repository"] == repo
    # the pack is in the request: a commit, a tree and a blob are more than the command line
    assert posts[0]["requestBytes"] > 150 and posts[0]["status"] == 200
    sandbox.ctl("git-requests", method="DELETE")
    assert sandbox.ctl("git-requests") == []
