"""Process-wide sandbox state shared by the middleware, executions and control API."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any

DEFAULT_REGION = "eu-west-1"
PARTITION = "aws"


@dataclass
class State:
    data_dir: str = ""
    default_stage_seconds: float = 1.0
    stage_seconds: float = 1.0
    # One lock serialises moto calls, execution advancement and control calls.
    lock: threading.RLock = field(default_factory=threading.RLock)
    calls: list[dict[str, Any]] = field(default_factory=list)
    # (account, region, pipeline) -> [Execution] in start order
    executions: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    # (account, region, pipeline, clientRequestToken) -> execution id
    tokens: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    # pipeline -> action -> [messages]; consumed by the next run of that action
    failures: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    # {(pipeline, action)} held in progress until released
    holds: set[tuple[str, str]] = field(default_factory=set)
    # pipelines whose next UpdatePipeline is preceded by another writer's update
    interfere: set[str] = field(default_factory=set)
    # (account, region, pipeline, action) -> last branch head seen by polling
    poll_seen: dict[tuple[str, str, str, str], str | None] = field(default_factory=dict)
    last_poll: float = 0.0
    # (account, pipeline) -> epoch seconds: AWS turned polling off (pollingDisabledAt)
    polling_disabled: dict[tuple[str, str], float] = field(default_factory=dict)
    # access key id of an STS session -> {"mfa": bool}: how AssumeRole issued it (iam_store.py)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # CodeBuild builds of pipeline actions (builds.py): build id -> Build
    builds: dict[str, Any] = field(default_factory=dict)
    # (account, region, project) -> [builds.Script]; consumed by that project's next build
    build_scripts: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    # most events one GetLogEvents page holds (AWS: "a page might only be partially full")
    log_page: int = 100
    # what became of each CodeCommit event on its way through EventBridge (event_routing.py)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    # (account, stack) -> [{"resource", "reason"}]: the next deploys of that stack fail (deploy.py)
    stack_failures: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    # the OutputFileName files deploy actions wrote (deploy.py), oldest first
    deploy_outputs: list[dict[str, Any]] = field(default_factory=list)
    # (pipeline, artifact) -> {path: text}: files a build adds to its output artifact (deploy.py)
    artifact_files: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # pipeline -> how many of its next StartPipelineExecution calls answer ConflictException
    conflicts: dict[str, int] = field(default_factory=dict)
    # pipeline -> how many of its next CreatePipeline calls answer LimitExceededException
    refuse_create: dict[str, int] = field(default_factory=dict)
    # every StartPipelineExecution received: {"pipeline", "clientRequestToken", "outcome"}
    start_requests: list[dict[str, Any]] = field(default_factory=list)
    # the next git requests answered as throttled: [[status, count]] (control route git-throttle)
    git_throttle: list[list[int]] = field(default_factory=list)
    # every git request served by git http-backend: its size both ways (control route git-requests)
    git_requests: list[dict[str, Any]] = field(default_factory=list)

    def repos_root(self) -> str:
        return os.path.join(self.data_dir, "repos")

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.executions.clear()
            self.tokens.clear()
            self.failures.clear()
            self.holds.clear()
            self.interfere.clear()
            self.poll_seen.clear()
            self.sessions.clear()
            self.polling_disabled.clear()
            self.builds.clear()
            self.build_scripts.clear()
            self.log_page = 100
            self.deliveries.clear()
            self.stack_failures.clear()
            self.deploy_outputs.clear()
            self.artifact_files.clear()
            self.conflicts.clear()
            self.refuse_create.clear()
            self.start_requests.clear()
            self.git_throttle.clear()
            self.git_requests.clear()
            self.stage_seconds = self.default_stage_seconds
            shutil.rmtree(self.repos_root(), ignore_errors=True)


STATE = State()


def account_of_arn(arn: str | None) -> str | None:
    if not arn:
        return None
    m = re.match(r"^arn:[^:]+:[^:]*:[^:]*:(\d{12}):", arn)
    return m.group(1) if m else None


def repository_record(account: str, region: str, name: str) -> dict[str, str] | None:
    """moto's CodeCommit repository metadata, or None (without creating backends needlessly)."""
    from moto.codecommit.models import codecommit_backends

    if account not in codecommit_backends or region not in codecommit_backends[account].keys():
        return None
    repo = codecommit_backends[account][region].repositories.get(name)
    return repo.repository_metadata if repo else None


def repo_path(account: str, region: str, repository_id: str) -> str:
    return os.path.join(STATE.repos_root(), account, region, f"{repository_id}.git")


def ensure_bare_repo(account: str, region: str, name: str) -> str | None:
    """Path of the bare repository behind CodeCommit repository ``name``; created on first use."""
    rec = repository_record(account, region, name)
    if rec is None:
        return None
    path = repo_path(account, region, rec["repositoryId"])
    if not os.path.isdir(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run(
            ["git", "init", "--bare", "--quiet", "-b", "main", path],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # CodeCommit accepts pushes as any authenticated user.
        subprocess.run(
            ["git", "-C", path, "config", "http.receivepack", "true"], check=True
        )
    return path


def git_out(path: str, *args: str) -> str | None:
    r = subprocess.run(
        ["git", "-C", path, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return r.stdout if r.returncode == 0 else None


def branch_head(account: str, region: str, name: str, branch: str) -> str | None:
    rec = repository_record(account, region, name)
    if rec is None:
        return None
    path = repo_path(account, region, rec["repositoryId"])
    if not os.path.isdir(path):
        return None
    out = git_out(path, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    return out.strip() if out else None
