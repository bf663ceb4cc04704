"""pytest fixtures: one sandbox server per session, state reset for each test."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import launch  # noqa: E402
from xpsandbox import sigv4  # noqa: E402

REGION = "eu-west-1"


class Sandbox:
    def __init__(self, endpoint: str, data_dir: str):
        self.endpoint = endpoint
        self.data_dir = data_dir
        self.host = endpoint.split("//", 1)[1]

    # -- control API
    def ctl(self, path: str, body: Any = None, method: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.endpoint}/_sandbox/{path}",
            data=data,
            method=method or ("POST" if body is not None else "GET"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def calls(self) -> list[dict[str, Any]]:
        return self.ctl("calls")

    def count(self, action: str) -> int:
        return sum(1 for c in self.calls() if c["action"] == action)

    # -- AWS clients
    def client(self, service: str, creds: dict[str, str] | None = None, region: str = REGION) -> Any:
        import boto3
        from botocore.config import Config

        kw: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "region_name": region,
            "config": Config(retries={"max_attempts": 1, "mode": "standard"}),
        }
        if creds:
            kw.update(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds.get("SessionToken"),
            )
        else:
            kw.update(aws_access_key_id="testing", aws_secret_access_key="testing")
        return boto3.client(service, **kw)

    def assume(self, role_arn: str) -> dict[str, str]:
        return self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="pytest-session")[
            "Credentials"
        ]

    # -- git
    def git_auth_header(
        self, creds: dict[str, str], repo: str, host: str | None = None, when: Any = None, region: str = REGION
    ) -> str:
        user = sigv4.username(creds["AccessKeyId"], creds.get("SessionToken"))
        pw = sigv4.password(creds["SecretAccessKey"], region, f"/v1/repos/{repo}", host or self.host, when)
        return "Authorization: Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()

    def git(self, cwd: str, *args: str, header: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["git"]
        if header:
            cmd += ["-c", f"http.extraHeader={header}"]
        cmd += list(args)
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/false")
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd[:1] + list(args)} failed: {r.stderr}")
        return r

    def url(self, repo: str) -> str:
        return f"{self.endpoint}/v1/repos/{repo}"


def make_commit(message: str = "initial commit", files: dict[str, str] | None = None) -> tuple[str, str]:
    """A fresh work tree with one commit on main; returns (dir, sha)."""
    d = tempfile.mkdtemp(prefix="xpsandbox-wt-")
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
    )
    subprocess.run(["git", "init", "-q", "-b", "main", d], check=True, env=env)
    for name, text in (files or {"README.md": "hello\n"}).items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    subprocess.run(["git", "add", "-A"], cwd=d, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=d, check=True, env=env)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=d, check=True, env=env, capture_output=True, text=True).stdout.strip()
    return d, sha


def add_commit(d: str, message: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
    )
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message], cwd=d, check=True, env=env)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=d, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="session")
def server():
    data_dir = tempfile.mkdtemp(prefix="xpsandbox-data-")
    launched = launch.start(
        python=sys.executable,
        data_dir=data_dir,
        stage_seconds=0.3,
        log=os.path.join(data_dir, "server.log"),
    )
    try:
        yield Sandbox(launched.endpoint, data_dir)
    finally:
        launched.stop()


@pytest.fixture
def sandbox(server: Sandbox) -> Sandbox:
    server.ctl("reset", {})
    server.ctl("stage-seconds", {"seconds": 0.3})
    return server


@pytest.fixture
def scenario(sandbox: Sandbox) -> dict[str, str]:
    return sandbox.ctl("seed", {})


def pipeline_decl(sc: dict[str, str], name: str = "demo", ptype: str = "V2", mode: str = "SUPERSEDED", poll: bool = False, branch: str = "main") -> dict[str, Any]:
    decl: dict[str, Any] = {
        "name": name,
        "roleArn": sc["service_role_arn"],
        "pipelineType": ptype,
        "artifactStore": {
            "type": "S3",
            "location": sc["bucket"],
            "encryptionKey": {"id": sc["kms_key_arn"], "type": "KMS"},
        },
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Source",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                        "roleArn": sc["source_role_arn"],
                        "configuration": {
                            "RepositoryName": sc["repository"],
                            "BranchName": branch,
                            "PollForSourceChanges": "true" if poll else "false",
                        },
                        "outputArtifacts": [{"name": "SourceArtifact"}],
                    }
                ],
            },
            {
                "name": "Build",
                "actions": [
                    {
                        "name": "Build",
                        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                        "configuration": {"ProjectName": sc["build_project"]},
                        "inputArtifacts": [{"name": "SourceArtifact"}],
                        "outputArtifacts": [{"name": "BuildArtifact"}],
                        "namespace": "BuildVariables",
                    }
                ],
            },
        ],
    }
    if ptype == "V2":
        decl["executionMode"] = mode
    return decl


def wait_execution(cp: Any, name: str, exec_id: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        e = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=exec_id)["pipelineExecution"]
        if e["status"] not in ("InProgress", "Stopping") or time.time() > deadline:
            return e
        time.sleep(0.1)


def push_to_source(sb: Sandbox, sc: dict[str, str], message: str = "initial commit") -> tuple[str, str]:
    """Push a new commit to the seeded repository with assumed-role credentials."""
    d, sha = make_commit(message)
    creds = sb.assume(sc["source_role_arn"])
    sb.git(d, "push", sb.url(sc["repository"]), "main", header=sb.git_auth_header(creds, sc["repository"]))
    return d, sha
