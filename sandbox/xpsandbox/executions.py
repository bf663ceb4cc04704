"""CodePipeline executions, attached to moto's CodePipelineResponse.

moto dispatches an API action to the method of the response class named after
it (``StartPipelineExecution`` -> ``start_pipeline_execution``), so adding
functions to the class is enough; moto itself is not modified.

Executions advance lazily from the wall clock: every request that reads or
changes them first replays the events (an action group ending) that happened
up to now, in time order, across the executions of the pipeline. Each stage
takes ``STATE.stage_seconds`` split evenly over its runOrder groups.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.codepipeline.exceptions import PipelineNotFoundException
from moto.codepipeline.models import codepipeline_backends
from moto.codepipeline.responses import CodePipelineResponse
from moto.core.exceptions import JsonRESTError

from . import action_permissions, approvals, builds, deploy
from .state import STATE, account_of_arn, branch_head, git_out, repo_path, repository_record

TERMINAL = {"Succeeded", "Failed", "Stopped", "Cancelled", "Superseded"}


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("ValidationException", message)


class PipelineExecutionNotFoundException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("PipelineExecutionNotFoundException", message)


class PipelineExecutionNotStoppableException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("PipelineExecutionNotStoppableException", message)


class DuplicatedStopRequestException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("DuplicatedStopRequestException", message)


@dataclass
class SourceResult:
    ok: bool
    commit: str | None = None
    message: str | None = None
    error: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    artifact: str | None = None


@dataclass
class ActionRun:
    stage: str
    action: dict[str, Any]
    start: float
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "InProgress"
    end: float | None = None
    updated: float = 0.0
    summary: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    error: dict[str, str] | None = None  # planned (at start) or actual error
    # a Build action refused by the IAM evaluator: (phase, code, context message), which its
    # build record fails with (builds.py)
    build_failure: tuple[str, str, str] | None = None
    output_variables: dict[str, str] = field(default_factory=dict)
    input_artifacts: list[str] = field(default_factory=list)
    output_artifacts: list[str] = field(default_factory=list)
    # the configuration with its variables resolved (deploy.py)
    resolved_configuration: dict[str, Any] | None = None
    # a manual approval (approvals.py): its token, deadline, answer and who gave it
    token: str | None = None
    deadline: float = 0.0
    answered: str | None = None
    updated_by: str | None = None

    @property
    def name(self) -> str:
        return self.action["name"]


@dataclass
class Execution:
    id: str
    account: str
    region: str
    pipeline_name: str
    pipeline: dict[str, Any]  # declaration snapshot at start
    version: int
    pipeline_type: str
    mode: str
    trigger: dict[str, str]
    start: float
    sources: dict[str, SourceResult]
    variables: list[dict[str, str]]
    status: str = "InProgress"
    status_summary: str | None = None
    updated: float = 0.0
    stage_idx: int = 0
    group_idx: int = 0
    phase: str = "new"  # new | running | waiting | done
    group_start: float = 0.0
    held_until: float = 0.0
    wait_since: float = 0.0
    stopping: bool = False
    stop_reason: str | None = None
    stage_status: dict[str, str] = field(default_factory=dict)
    stage_entered: dict[str, float] = field(default_factory=dict)
    runs: list[ActionRun] = field(default_factory=list)

    @property
    def stages(self) -> list[dict[str, Any]]:
        return self.pipeline["stages"]

    def groups(self, stage_idx: int) -> list[list[dict[str, Any]]]:
        actions = self.stages[stage_idx]["actions"]
        orders = sorted({int(a.get("runOrder", 1)) for a in actions})
        return [[a for a in actions if int(a.get("runOrder", 1)) == o] for o in orders]

    def current_runs(self) -> list[ActionRun]:
        names = {a["name"] for a in self.groups(self.stage_idx)[self.group_idx]}
        stage = self.stages[self.stage_idx]["name"]
        return [r for r in self.runs if r.stage == stage and r.name in names and r.end is None]

    def in_progress(self) -> bool:
        return self.status in ("InProgress", "Stopping")


# ---------------------------------------------------------------- helpers


def _now() -> float:
    return time.time()


def _key(account: str, region: str, name: str) -> tuple[str, str, str]:
    return (account, region, name)


def _group_seconds(e: Execution) -> float:
    return STATE.stage_seconds / max(1, len(e.groups(e.stage_idx)))


def _caller_arn(access_key: str, account: str, region: str) -> str:
    try:
        from moto.sts.models import sts_backends

        return sts_backends[account]["aws"].get_caller_identity(access_key, region)[1]
    except Exception:  # pragma: no cover - best effort
        return f"arn:aws:iam::{account}:root"


def _is_codecommit_source(action: dict[str, Any]) -> bool:
    t = action.get("actionTypeId", {})
    return t.get("category") == "Source" and t.get("provider") == "CodeCommit"


def _console_commit_url(region: str, repo: str, commit: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/codesuite/codecommit/repositories/"
        f"{repo}/commit/{commit}?region={region}"
    )


def resolve_source(
    pipeline_account: str, region: str, action: dict[str, Any], override: str | None
) -> SourceResult:
    """Read the revision a CodeCommit Source action would fetch, from the bare repo."""
    conf = action.get("configuration", {}) or {}
    repo = conf.get("RepositoryName", "")
    branch = conf.get("BranchName", "")
    account = account_of_arn(action.get("roleArn")) or pipeline_account
    region = action.get("region") or region
    outs = [a["name"] for a in action.get("outputArtifacts", [])]
    artifact = outs[0] if outs else None
    rec = repository_record(account, region, repo)
    if rec is None:
        return SourceResult(
            ok=False,
            artifact=artifact,
            error=(
                f"The action failed because the AWS CodeCommit repository {repo} was not "
                f"found in account {account} in {region}. Make sure you are using the "
                "correct repository name, and then try again."
            ),
        )
    path = repo_path(account, region, rec["repositoryId"])
    if override:
        ok = (
            re.fullmatch(r"[0-9a-fA-F]{4,40}", override) is not None
            and git_out(path, "cat-file", "-e", f"{override}^{{commit}}") is not None
        )
        full = (git_out(path, "rev-parse", f"{override}^{{commit}}") or "").strip()
        if not ok or not full:
            return SourceResult(
                ok=False,
                artifact=artifact,
                error=(
                    f"The action failed because commit {override} was not found in the "
                    f"selected AWS CodeCommit repository {repo}. Make sure you are using "
                    "the correct commit ID, and then try again."
                ),
            )
        commit = full
    else:
        commit = branch_head(account, region, repo, branch)
        if commit is None:
            return SourceResult(
                ok=False,
                artifact=artifact,
                error=(
                    f"The action failed because no branch named {branch} was found in the "
                    f"selected AWS CodeCommit repository {repo}. Make sure you are using "
                    "the correct branch name, and then try again. Error: null"
                ),
            )
    fmt = git_out(path, "show", "-s", "--format=%B%x00%aI%x00%cI", commit) or "\x00\x00"
    message, author_date, committer_date = (fmt.split("\x00") + ["", ""])[:3]
    message = message.strip()
    return SourceResult(
        ok=True,
        commit=commit,
        message=message,
        artifact=artifact,
        url=_console_commit_url(region, repo, commit),
        variables={
            "CommitId": commit,
            "CommitMessage": message,
            "AuthorDate": author_date.strip(),
            "CommitterDate": committer_date.strip(),
            "RepositoryName": repo,
            "BranchName": branch,
        },
    )


# ------------------------------------------------------------ simulation


def _start_group(e: Execution, t: float) -> None:
    e.phase = "running"
    e.group_start = t
    e.held_until = 0.0
    e.updated = t
    stage = e.stages[e.stage_idx]["name"]
    for action in e.groups(e.stage_idx)[e.group_idx]:
        run = ActionRun(stage=stage, action=action, start=t, updated=t)
        run.input_artifacts = [a["name"] for a in action.get("inputArtifacts", [])]
        run.output_artifacts = [a["name"] for a in action.get("outputArtifacts", [])]
        t_id = action.get("actionTypeId", {})
        if _is_codecommit_source(action):
            src = e.sources.get(action["name"])
            if src is not None and src.ok:
                run.external_id = src.commit
                run.summary = src.message
                run.external_url = src.url
                run.output_variables = dict(src.variables)
            elif src is not None:
                run.error = {"code": "JobFailed", "message": src.error or "failed"}
        action_permissions.apply(e, action, run)  # IAM, trust, bucket and key policies
        injected = STATE.failures.get((e.pipeline_name, action["name"]))
        if injected:
            f = injected.pop(0)
            if not injected:
                del STATE.failures[(e.pipeline_name, action["name"])]
            run.error = {"code": f.get("code") or "JobFailed", "message": f["message"]}
        if t_id.get("provider") == "CodeBuild":
            # A real build record with phases and logs (builds.py).
            builds.start_for_action(e, run, action, t, _group_seconds(e))
        approvals.start(run, t)  # a manual approval waits for its answer
        e.runs.append(run)


def _start_stage(e: Execution, k: int, t: float) -> None:
    e.stage_idx = k
    e.group_idx = 0
    name = e.stages[k]["name"]
    e.stage_status[name] = "Stopping" if e.stopping else "InProgress"
    e.stage_entered[name] = t
    _start_group(e, t)


def _occupant(execs: list[Execution], k: int, me: Execution) -> Execution | None:
    for o in execs:
        if o is not me and o.in_progress() and o.phase == "running" and o.stage_idx == k:
            return o
    return None


def _enter_stage(execs: list[Execution], e: Execution, k: int, t: float) -> None:
    if e.mode != "PARALLEL" and _occupant(execs, k, e) is not None:
        if e.mode == "SUPERSEDED":
            for w in execs:
                if w is not e and w.in_progress() and w.phase == "waiting" and w.stage_idx == k:
                    _finish(w, "Superseded", t)
                    w.status_summary = f"Superseded by execution {e.id}"
        e.stage_idx = k
        e.phase = "waiting"
        e.wait_since = t
        e.updated = t
        return
    _start_stage(e, k, t)


def _release(execs: list[Execution], k: int, t: float) -> None:
    if _occupant(execs, k, None) is not None:  # type: ignore[arg-type]
        return
    waiters = [w for w in execs if w.in_progress() and w.phase == "waiting" and w.stage_idx == k]
    if waiters:
        w = min(waiters, key=lambda x: (x.wait_since, x.start))
        if w.stopping:
            _finish(w, "Stopped", t)
            _release(execs, k, t)
        else:
            _start_stage(w, k, t)


def _finish(e: Execution, status: str, t: float) -> None:
    e.status = status
    e.phase = "done"
    e.updated = t


def _held(e: Execution, now: float) -> bool:
    return any(
        (e.pipeline_name, r.name) in STATE.holds or approvals.pending(r, now) for r in e.current_runs()
    )


def _finish_group(execs: list[Execution], e: Execution, t: float) -> None:
    runs = e.current_runs()
    failed = None
    for r in runs:
        deploy.finish(e, r)  # a CloudFormation action does its work as it ends
    for r in runs:
        r.end = t
        r.updated = t
        if r.error:
            r.status = "Failed"
            failed = failed or r
        else:
            r.status = "Succeeded"
    e.updated = t
    k = e.stage_idx
    stage = e.stages[k]["name"]
    if failed is not None:
        e.stage_status[stage] = "Failed"
        _finish(e, "Failed", t)
        e.status_summary = failed.error["message"] if failed.error else None
        _release(execs, k, t)
        return
    if e.stopping:
        e.stage_status[stage] = "Stopped"
        _finish(e, "Stopped", t)
        _release(execs, k, t)
        return
    if e.group_idx + 1 < len(e.groups(k)):
        e.group_idx += 1
        _start_group(e, t)
        return
    e.stage_status[stage] = "Succeeded"
    if k + 1 >= len(e.stages):
        _finish(e, "Succeeded", t)
        _release(execs, k, t)
        return
    e.phase = "moving"
    _release(execs, k, t)
    _enter_stage(execs, e, k + 1, t)


def advance(key: tuple[str, str, str], now: float | None = None) -> None:
    """Replay every event of this pipeline's executions up to ``now``."""
    now = _now() if now is None else now
    execs = STATE.executions.get(key, [])
    for _ in range(100000):
        best: tuple[float, Execution] | None = None
        for e in execs:
            if not e.in_progress() or e.phase != "running":
                continue
            if _held(e, now):
                e.held_until = max(e.held_until, now)
                continue
            t_end = max(e.group_start + _group_seconds(e), e.held_until)
            if t_end <= now and (best is None or t_end < best[0]):
                best = (t_end, e)
        if best is None:
            return
        _finish_group(execs, best[1], best[0])


def advance_all(now: float | None = None) -> None:
    for key in list(STATE.executions):
        advance(key, now)


def start_execution(
    account: str,
    region: str,
    name: str,
    trigger: dict[str, str],
    overrides: list[dict[str, str]] | None = None,
    variables: list[dict[str, str]] | None = None,
    now: float | None = None,
) -> Execution:
    now = _now() if now is None else now
    backend = codepipeline_backends[account][region]
    cp = backend.pipelines.get(name)
    if cp is None:
        raise PipelineNotFoundException(
            f"Account '{account}' does not have a pipeline with name '{name}'"
        )
    key = _key(account, region, name)
    advance(key, now)
    pipeline = copy.deepcopy(cp.pipeline)
    ptype = pipeline.get("pipelineType") or "V1"
    mode = pipeline.get("executionMode") or "SUPERSEDED"
    by_action: dict[str, str] = {}
    for o in overrides or []:
        if o.get("revisionType") == "COMMIT_ID":
            by_action[o.get("actionName", "")] = o.get("revisionValue", "")
    sources: dict[str, SourceResult] = {}
    for stage in pipeline["stages"]:
        for action in stage["actions"]:
            if _is_codecommit_source(action):
                sources[action["name"]] = resolve_source(
                    account, region, action, by_action.get(action["name"])
                )
    e = Execution(
        id=str(uuid.uuid4()),
        account=account,
        region=region,
        pipeline_name=name,
        pipeline=pipeline,
        version=int(pipeline.get("version", 1)),
        pipeline_type=ptype,
        mode=mode,
        trigger=trigger,
        start=now,
        updated=now,
        sources=sources,
        variables=[
            {"name": v.get("name", ""), "resolvedValue": v.get("value", "")}
            for v in (variables or [])
        ],
    )
    execs = STATE.executions.setdefault(key, [])
    execs.append(e)
    _enter_stage(execs, e, 0, now)
    return e


def stop_execution(
    e: Execution, abandon: bool, reason: str | None, now: float | None = None
) -> None:
    now = _now() if now is None else now
    key = _key(e.account, e.region, e.pipeline_name)
    advance(key, now)
    execs = STATE.executions.get(key, [])
    if e.status == "Stopping" and not abandon:
        raise DuplicatedStopRequestException(
            "A stop request for this pipeline execution has already been made"
        )
    if not e.in_progress():
        raise PipelineExecutionNotStoppableException(
            f"Unable to stop pipeline execution {e.id} because it is not in progress"
        )
    e.stop_reason = reason
    if e.phase == "waiting":
        _finish(e, "Stopped", now)
        return
    if abandon:
        for r in e.current_runs():
            r.status = "Abandoned"
            r.end = now
            r.updated = now
        e.stage_status[e.stages[e.stage_idx]["name"]] = "Stopped"
        _finish(e, "Stopped", now)
        _release(execs, e.stage_idx, now)
        return
    e.stopping = True
    e.status = "Stopping"
    e.stage_status[e.stages[e.stage_idx]["name"]] = "Stopping"
    e.updated = now


# ----------------------------------------------------------------- polling


def poll_for_source_changes(force: bool = False) -> None:
    """Start executions of pipelines whose Source action polls (PollForSourceChanges=true,
    trigger PollForSourceChanges) when their branch moved. Checked at most every 0.25 s on
    requests, and right after every git push. Pipelines started by EventBridge are started by
    the events a branch update sends (event_routing.py), not here.
    """
    now = _now()
    if not force and now - STATE.last_poll < 0.25:
        return
    STATE.last_poll = now
    for account, region, backend in list(codepipeline_backends.iter_backends()):
        for name, cp in list(backend.pipelines.items()):
            if (account, name) in STATE.polling_disabled:
                continue  # AWS stopped polling it: a branch update starts nothing
            for stage in cp.pipeline.get("stages", []):
                for action in stage.get("actions", []):
                    if not _is_codecommit_source(action):
                        continue
                    conf = action.get("configuration") or {}
                    if str(conf.get("PollForSourceChanges", "true")).lower() != "true":
                        continue
                    src_account = account_of_arn(action.get("roleArn")) or account
                    src_region = action.get("region") or region
                    head = branch_head(
                        src_account, src_region, conf.get("RepositoryName", ""), conf.get("BranchName", "")
                    )
                    k = (account, region, name, action["name"])
                    if k not in STATE.poll_seen:
                        STATE.poll_seen[k] = head
                        continue
                    if head is not None and head != STATE.poll_seen[k]:
                        STATE.poll_seen[k] = head
                        trigger = {"triggerType": "PollForSourceChanges", "triggerDetail": action["name"]}
                        start_execution(account, region, name, trigger, now=now)
                    else:
                        STATE.poll_seen[k] = head


def _record_poll_heads(account: str, region: str, pipeline: dict[str, Any]) -> None:
    for stage in pipeline.get("stages", []):
        for action in stage.get("actions", []):
            if _is_codecommit_source(action):
                conf = action.get("configuration") or {}
                src_account = account_of_arn(action.get("roleArn")) or account
                src_region = action.get("region") or region
                STATE.poll_seen[(account, region, pipeline["name"], action["name"])] = branch_head(
                    src_account, src_region, conf.get("RepositoryName", ""), conf.get("BranchName", "")
                )


# --------------------------------------------------------------- rendering


def _ts(t: float | None) -> float | None:
    return None if t is None else round(t, 3)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _source_revisions(e: Execution) -> list[dict[str, Any]]:
    out = []
    for action_name, src in e.sources.items():
        if src.ok:
            out.append(
                _drop_none(
                    {
                        "actionName": action_name,
                        "revisionId": src.commit,
                        "revisionSummary": src.message,
                        "revisionUrl": src.url,
                    }
                )
            )
    return out


def _artifact_revisions(e: Execution) -> list[dict[str, Any]]:
    out = []
    for src in e.sources.values():
        if src.ok:
            out.append(
                _drop_none(
                    {
                        "name": src.artifact,
                        "revisionId": src.commit,
                        "revisionChangeIdentifier": src.commit,
                        "revisionSummary": src.message,
                        "revisionUrl": src.url,
                        "created": _ts(e.start),
                    }
                )
            )
    return out


def render_execution(e: Execution) -> dict[str, Any]:
    return _drop_none(
        {
            "pipelineName": e.pipeline_name,
            "pipelineVersion": e.version,
            "pipelineExecutionId": e.id,
            "status": e.status,
            "statusSummary": e.status_summary,
            "artifactRevisions": _artifact_revisions(e),
            "variables": e.variables or None,
            "trigger": e.trigger,
            "executionMode": e.mode,
            "executionType": "STANDARD",
        }
    )


def render_summary(e: Execution) -> dict[str, Any]:
    return _drop_none(
        {
            "pipelineExecutionId": e.id,
            "status": e.status,
            "statusSummary": e.status_summary,
            "startTime": _ts(e.start),
            "lastUpdateTime": _ts(e.updated),
            "sourceRevisions": _source_revisions(e),
            "trigger": e.trigger,
            "stopTrigger": {"reason": e.stop_reason} if e.stop_reason is not None else None,
            "executionMode": e.mode,
            "executionType": "STANDARD",
        }
    )


def _render_run_state(r: ActionRun) -> dict[str, Any]:
    return _drop_none(
        {
            "actionExecutionId": r.id,
            "status": r.status,
            "summary": r.summary,
            "lastStatusChange": _ts(r.updated),
            "externalExecutionId": r.external_id,
            "externalExecutionUrl": r.external_url,
            "errorDetails": r.error if r.status == "Failed" else None,
            "token": r.token if r.status == "InProgress" else None,
            "lastUpdatedBy": r.updated_by,
        }
    )


def render_action_detail(e: Execution, r: ActionRun) -> dict[str, Any]:
    a = r.action
    result = _drop_none(
        {
            "externalExecutionId": r.external_id,
            "externalExecutionSummary": r.summary,
            "externalExecutionUrl": r.external_url,
            "errorDetails": r.error if r.status == "Failed" else None,
        }
    )
    return _drop_none(
        {
            "pipelineExecutionId": e.id,
            "actionExecutionId": r.id,
            "pipelineVersion": e.version,
            "stageName": r.stage,
            "actionName": r.name,
            "startTime": _ts(r.start),
            "lastUpdateTime": _ts(r.updated),
            "status": r.status,
            "input": _drop_none(
                {
                    "actionTypeId": a.get("actionTypeId"),
                    "configuration": a.get("configuration") or {},
                    "resolvedConfiguration": r.resolved_configuration or a.get("configuration") or {},
                    "roleArn": a.get("roleArn"),
                    "region": a.get("region") or e.region,
                    "inputArtifacts": [{"name": n} for n in r.input_artifacts],
                    "namespace": a.get("namespace"),
                }
            ),
            "output": _drop_none(
                {
                    "outputArtifacts": [{"name": n} for n in r.output_artifacts],
                    "executionResult": result or None,
                    "outputVariables": r.output_variables if r.status == "Succeeded" else None,
                }
            ),
        }
    )


def render_state(account: str, region: str, name: str) -> dict[str, Any]:
    backend = codepipeline_backends[account][region]
    cp = backend.pipelines[name]
    execs = STATE.executions.get(_key(account, region, name), [])
    stages = []
    for stage in cp.pipeline["stages"]:
        sname = stage["name"]
        entered = [e for e in execs if sname in e.stage_entered]
        latest = max(entered, key=lambda e: e.stage_entered[sname], default=None)
        waiting = [
            e
            for e in execs
            if e.in_progress() and e.phase == "waiting" and e.stages[e.stage_idx]["name"] == sname
        ]
        action_states = []
        for action in stage["actions"]:
            runs = [(e, r) for e in execs for r in e.runs if r.stage == sname and r.name == action["name"]]
            st: dict[str, Any] = {"actionName": action["name"]}
            if runs:
                e, r = max(runs, key=lambda x: x[1].start)
                st["latestExecution"] = _render_run_state(r)
                if _is_codecommit_source(action) and r.external_id:
                    st["currentRevision"] = {"revisionId": r.external_id}
                    st["revisionUrl"] = r.external_url
            conf = action.get("configuration") or {}
            if _is_codecommit_source(action):
                reg = action.get("region") or region
                st["entityUrl"] = (
                    f"https://{reg}.console.aws.amazon.com/codesuite/codecommit/repositories/"
                    f"{conf.get('RepositoryName', '')}/browse?region={reg}"
                )
            elif action.get("actionTypeId", {}).get("provider") == "CodeBuild":
                reg = action.get("region") or region
                st["entityUrl"] = (
                    f"https://console.aws.amazon.com/codebuild/home?region={reg}"
                    f"#/projects/{conf.get('ProjectName', '')}/view"
                )
            action_states.append(st)
        s: dict[str, Any] = {
            "stageName": sname,
            "inboundTransitionState": {"enabled": True},
            "actionStates": action_states,
        }
        if latest is not None:
            s["latestExecution"] = {
                "pipelineExecutionId": latest.id,
                "status": latest.stage_status.get(sname, "InProgress"),
            }
        if waiting:
            s["inboundExecution"] = {"pipelineExecutionId": waiting[-1].id, "status": "InProgress"}
            s["inboundExecutions"] = [
                {"pipelineExecutionId": w.id, "status": "InProgress"} for w in waiting
            ]
        stages.append(s)
    return {
        "pipelineName": name,
        "pipelineVersion": cp.pipeline.get("version", 1),
        "stageStates": stages,
        "created": _epoch(cp._created),
        "updated": _epoch(cp._updated),
    }


# ------------------------------------------------- moto response functions


def _body(self: CodePipelineResponse) -> dict[str, Any]:
    try:
        return json.loads(self.body or "{}") or {}
    except ValueError:
        return {}


def _pipeline_or_raise(self: CodePipelineResponse, name: str) -> Any:
    backend = codepipeline_backends[self.current_account][self.region]
    cp = backend.pipelines.get(name)
    if cp is None:
        raise PipelineNotFoundException(
            f"Account '{self.current_account}' does not have a pipeline with name '{name}'"
        )
    return cp


def _find_execution(self: CodePipelineResponse, name: str, exec_id: str) -> Execution:
    for e in STATE.executions.get(_key(self.current_account, self.region, name), []):
        if e.id == exec_id:
            return e
    raise PipelineExecutionNotFoundException(
        f"Pipeline execution with id {exec_id} does not exist in pipeline with name {name} "
        f"in account {self.current_account}"
    )


_orig_get_pipeline = CodePipelineResponse.get_pipeline
_orig_list_pipelines = CodePipelineResponse.list_pipelines


def _epoch_times(obj: dict[str, Any]) -> None:
    """moto writes created/updated as ISO strings; the JSON protocol sends epoch seconds
    (botocore accepts both, the Rust SDK only the latter)."""
    from datetime import datetime

    for k in ("created", "updated"):
        v = obj.get(k)
        if isinstance(v, str):
            obj[k] = _ts(datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp())


def get_pipeline(self: CodePipelineResponse) -> str:
    with STATE.lock:
        out = json.loads(_orig_get_pipeline(self))
        meta = out.get("metadata") or {}
        _epoch_times(meta)
        disabled = STATE.polling_disabled.get((self.current_account, (out.get("pipeline") or {}).get("name")))
        if disabled is not None:
            # AWS sets it on a polling pipeline inactive for 30 days; /_sandbox/polling-disabled
            # stands in for the 30 days.
            meta["pollingDisabledAt"] = _ts(disabled)
        return json.dumps(out)


def list_pipelines(self: CodePipelineResponse) -> str:
    with STATE.lock:
        out = json.loads(_orig_list_pipelines(self))
        for p in out.get("pipelines") or []:
            _epoch_times(p)
        return json.dumps(out)


_orig_create_pipeline = CodePipelineResponse.create_pipeline
_orig_update_pipeline = CodePipelineResponse.update_pipeline
_orig_delete_pipeline = CodePipelineResponse.delete_pipeline


def create_pipeline(self: CodePipelineResponse) -> str:
    with STATE.lock:
        out = _orig_create_pipeline(self)
        name = (_body(self).get("pipeline") or {}).get("name")
        cp = codepipeline_backends[self.current_account][self.region].pipelines.get(name)
        if cp is not None:
            _record_poll_heads(self.current_account, self.region, cp.pipeline)
            start_execution(
                self.current_account,
                self.region,
                name,
                {
                    "triggerType": "CreatePipeline",
                    "triggerDetail": _caller_arn(self.access_key, self.current_account, self.region),
                },
            )
        return out


def update_pipeline(self: CodePipelineResponse) -> str:
    with STATE.lock:
        name = (_body(self).get("pipeline") or {}).get("name")
        cp = codepipeline_backends[self.current_account][self.region].pipelines.get(name)
        if cp is not None and name in STATE.interfere:
            # Another writer's UpdatePipeline lands first (control API "interfere").
            STATE.interfere.discard(name)
            cp.pipeline["version"] += 1
        out = _orig_update_pipeline(self)
        if cp is not None:
            _record_poll_heads(self.current_account, self.region, cp.pipeline)
        return out


def delete_pipeline(self: CodePipelineResponse) -> str:
    with STATE.lock:
        name = _body(self).get("name")
        out = _orig_delete_pipeline(self)
        STATE.executions.pop(_key(self.current_account, self.region, name), None)
        return out


def _epoch(dt_value: Any) -> float:
    import datetime as _dt

    if dt_value.tzinfo is None:
        dt_value = dt_value.replace(tzinfo=_dt.timezone.utc)
    return round(dt_value.timestamp(), 3)


def start_pipeline_execution(self: CodePipelineResponse) -> str:
    with STATE.lock:
        body = _body(self)
        name = body.get("name", "")
        cp = _pipeline_or_raise(self, name)
        key = _key(self.current_account, self.region, name)
        token = body.get("clientRequestToken")
        if token:
            existing = STATE.tokens.get((*key, token))
            if existing:
                return json.dumps({"pipelineExecutionId": existing})
        overrides = body.get("sourceRevisions") or []
        if overrides:
            if (cp.pipeline.get("pipelineType") or "V1") != "V2":
                raise ValidationException(
                    "Source revision overrides are only supported for pipelines of type V2"
                )
            source_names = {
                a["name"]
                for s in cp.pipeline["stages"]
                for a in s["actions"]
                if a.get("actionTypeId", {}).get("category") == "Source"
            }
            for o in overrides:
                if o.get("actionName") not in source_names:
                    raise ValidationException(
                        f"The source action {o.get('actionName')} specified in source revisions "
                        f"does not exist in pipeline {name}"
                    )
                if not o.get("revisionValue"):
                    raise ValidationException("revisionValue must not be empty")
        variables = body.get("variables") or []
        if variables and (cp.pipeline.get("pipelineType") or "V1") != "V2":
            raise ValidationException("Pipeline variables are only supported for pipelines of type V2")
        e = start_execution(
            self.current_account,
            self.region,
            name,
            {
                "triggerType": "StartPipelineExecution",
                "triggerDetail": _caller_arn(self.access_key, self.current_account, self.region),
            },
            overrides=overrides,
            variables=variables,
        )
        if token:
            STATE.tokens[(*key, token)] = e.id
        return json.dumps({"pipelineExecutionId": e.id})


def get_pipeline_execution(self: CodePipelineResponse) -> str:
    with STATE.lock:
        body = _body(self)
        name = body.get("pipelineName", "")
        _pipeline_or_raise(self, name)
        advance(_key(self.current_account, self.region, name))
        e = _find_execution(self, name, body.get("pipelineExecutionId", ""))
        return json.dumps({"pipelineExecution": render_execution(e)})


def _paginate(items: list[Any], body: dict[str, Any], default: int) -> tuple[list[Any], str | None]:
    try:
        start = int(body.get("nextToken") or 0)
    except ValueError:
        raise ValidationException("Invalid nextToken")
    size = int(body.get("maxResults") or default)
    page = items[start : start + size]
    nxt = str(start + size) if start + size < len(items) else None
    return page, nxt


def list_pipeline_executions(self: CodePipelineResponse) -> str:
    with STATE.lock:
        body = _body(self)
        name = body.get("pipelineName", "")
        _pipeline_or_raise(self, name)
        key = _key(self.current_account, self.region, name)
        advance(key)
        execs = list(reversed(STATE.executions.get(key, [])))
        stage = ((body.get("filter") or {}).get("succeededInStage") or {}).get("stageName")
        if stage:
            execs = [e for e in execs if e.stage_status.get(stage) == "Succeeded"]
        page, nxt = _paginate(execs, body, 100)
        out: dict[str, Any] = {"pipelineExecutionSummaries": [render_summary(e) for e in page]}
        if nxt:
            out["nextToken"] = nxt
        return json.dumps(out)


def get_pipeline_state(self: CodePipelineResponse) -> str:
    with STATE.lock:
        body = _body(self)
        name = body.get("name", "")
        _pipeline_or_raise(self, name)
        advance(_key(self.current_account, self.region, name))
        return json.dumps(render_state(self.current_account, self.region, name))


def list_action_executions(self: CodePipelineResponse) -> str:
    with STATE.lock:
        body = _body(self)
        name = body.get("pipelineName", "")
        _pipeline_or_raise(self, name)
        key = _key(self.current_account, self.region, name)
        advance(key)
        flt = body.get("filter") or {}
        want = flt.get("pipelineExecutionId")
        if want:
            _find_execution(self, name, want)
        details = []
        for e in reversed(STATE.executions.get(key, [])):
            if want and e.id != want:
                continue
            for r in sorted(e.runs, key=lambda r: r.start, reverse=True):
                details.append(render_action_detail(e, r))
        page, nxt = _paginate(details, body, 100)
        out: dict[str, Any] = {"actionExecutionDetails": page}
        if nxt:
            out["nextToken"] = nxt
        return json.dumps(out)


def stop_pipeline_execution(self: CodePipelineResponse) -> str:
    with STATE.lock:
        body = _body(self)
        name = body.get("pipelineName", "")
        _pipeline_or_raise(self, name)
        e = _find_execution(self, name, body.get("pipelineExecutionId", ""))
        stop_execution(e, bool(body.get("abandon")), body.get("reason"))
        return json.dumps({"pipelineExecutionId": e.id})


def install() -> None:
    """Attach the execution API to moto's CodePipeline response class."""
    for fn in (
        get_pipeline,
        list_pipelines,
        create_pipeline,
        update_pipeline,
        delete_pipeline,
        start_pipeline_execution,
        get_pipeline_execution,
        list_pipeline_executions,
        get_pipeline_state,
        list_action_executions,
        stop_pipeline_execution,
    ):
        setattr(CodePipelineResponse, fn.__name__, fn)
    builds.install()
    approvals.install()
