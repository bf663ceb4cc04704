"""CodeBuild builds behind a pipeline's CodeBuild actions, and their CloudWatch logs.

When an execution starts a CodeBuild action (executions.py calls ``start_for_action``),
a build record is made: id ``<project>:<uuid>``, phases that advance over the action's
time (SUBMITTED .. FINALIZING, then COMPLETED), the log group and stream its project
configures (default ``/aws/codebuild/<project>`` and the id's uuid), and log events written
into moto's CloudWatch Logs backend as their time comes, the way CodeBuild's agent writes
them. A build can be scripted (control route ``build-script``): its own log lines, the
phase they are printed in, and the phase it fails in with its context message.

Answered from here, as AWS answers them: CodeBuild ``BatchGetBuilds`` (``phases`` with
``contexts``, ``currentPhase``, ``buildStatus``, ``logs``, ``buildsNotFound``) and CloudWatch
Logs ``GetLogEvents`` (moto's index tokens; a page holds at most ``STATE.log_page`` events,
since AWS says a page may be partially full). Kept apart from executions.py on purpose.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .state import STATE

PHASES = [
    "SUBMITTED",
    "QUEUED",
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
]
# A command failing in these phases sends the build straight to FINALIZING.
_EARLY = {"PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD"}
# Where the agent (and so the log stream) exists: from PROVISIONING on.
_LOGGED_FROM = "PROVISIONING"


@dataclass
class Script:
    lines: list[str] = field(default_factory=list)
    phase: str = "BUILD"  # where the lines are printed
    fail: str | None = None  # the phase that fails
    message: str | None = None  # its context message
    code: str = "COMMAND_EXECUTION_ERROR"


@dataclass
class Build:
    id: str
    account: str
    region: str
    project: str
    pipeline: str
    source_version: str | None
    start: float
    seconds: float
    script: Script
    group: str | None
    stream: str | None
    number: int
    sequence: list[str] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    written: int = 0
    stream_made: bool = False

    def slot(self) -> float:
        return self.seconds / len(self.sequence)

    def phase_start(self, i: int) -> float:
        return self.start + i * self.slot()

    def end(self) -> float:
        return self.start + self.seconds

    def failed(self) -> bool:
        return self.script.fail is not None


def script_from(body: dict[str, Any]) -> Script:
    """A build script from the control API's JSON; ValueError names the bad field."""
    lines = body.get("lines") or []
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise ValueError("lines must be a list of strings")
    phase = body.get("phase") or "BUILD"
    fail = body.get("fail")
    for name, value in (("phase", phase), ("fail", fail)):
        if value is not None and value not in PHASES[2:]:
            raise ValueError(f"{name} must be one of {', '.join(PHASES[2:])}, not {value!r}")
    return Script(
        lines=list(lines),
        phase=phase,
        fail=fail,
        message=body.get("message"),
        code=body.get("code") or "COMMAND_EXECUTION_ERROR",
    )


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y/%m/%d %H:%M:%S.") + f"{int(t * 1000) % 1000:03d}"


def _sequence(fail: str | None) -> list[str]:
    if fail is None:
        return list(PHASES)
    k = PHASES.index(fail)
    if fail in _EARLY:
        return PHASES[: k + 1] + ["FINALIZING"]
    return list(PHASES)


def _context_message(b: Build) -> str:
    return b.script.message or "Error while executing command: cargo build --release. Reason: exit status 101"


def _plan_events(b: Build) -> list[tuple[float, str]]:
    """Every log event of the build, in time order (CodeBuild's agent lines around the
    script's own)."""
    out: list[tuple[float, str]] = []
    first = b.sequence.index(_LOGGED_FROM)
    for i, phase in enumerate(b.sequence):
        if i < first:
            continue
        t0, t1 = b.phase_start(i), b.phase_start(i + 1)
        if phase == _LOGGED_FROM:
            out.append((t0, f"[Container] {_clock(t0)} Running on CodeBuild On-demand\n"))
            out.append((t0, f"[Container] {_clock(t0)} Waiting for agent ping\n"))
        else:
            t_in = t0 + min(0.001, (t1 - t0) / 4)
            out.append((t_in, f"[Container] {_clock(t_in)} Entering phase {phase}\n"))
        if phase == b.script.phase and b.script.lines:
            n = len(b.script.lines)
            for j, line in enumerate(b.script.lines):
                t = t0 + (t1 - t0) * (j + 1) / (n + 2)
                out.append((t, line if line.endswith("\n") else line + "\n"))
        t_end = t1 - min(0.001, (t1 - t0) / 4)
        if phase == b.script.fail:
            out.append((t_end, f"[Container] {_clock(t_end)} Command did not exit successfully cargo build --release exit status 101\n"))
            out.append((t_end, f"[Container] {_clock(t_end)} Phase complete: {phase} State: FAILED\n"))
            out.append((t_end, f"[Container] {_clock(t_end)} Phase context status code: {b.script.code} Message: {_context_message(b)}\n"))
        elif phase != _LOGGED_FROM:
            out.append((t_end, f"[Container] {_clock(t_end)} Phase complete: {phase} State: SUCCEEDED\n"))
            out.append((t_end, f"[Container] {_clock(t_end)} Phase context status code:  Message: \n"))
    out.sort(key=lambda e: e[0])
    return out


def _log_location(account: str, region: str, project: str, build_uuid: str) -> tuple[str | None, str | None]:
    """The group and stream CodeBuild writes to: the project's logsConfig.cloudWatchLogs
    (groupName, streamName as a prefix), else /aws/codebuild/<project> and the uuid."""
    group, prefix = f"/aws/codebuild/{project}", None
    try:
        from moto.codebuild.models import codebuild_backends

        p = codebuild_backends[account][region].codebuild_projects.get(project)
        cw = ((p.project_metadata.get("logsConfig") or {}).get("cloudWatchLogs") or {}) if p else {}
    except Exception:  # pragma: no cover - no project: the defaults
        cw = {}
    if cw.get("status") == "DISABLED":
        return None, None
    group = cw.get("groupName") or group
    prefix = cw.get("streamName")
    return group, f"{prefix}/{build_uuid}" if prefix else build_uuid


def start_for_action(e: Any, run: Any, action: dict[str, Any], t: float, seconds: float) -> None:
    """Start the build of a CodeBuild action run: set its external id and link, and, when the
    build is scripted to fail (or the action has an injected failure), its error."""
    project = (action.get("configuration") or {}).get("ProjectName", "build")
    region = action.get("region") or e.region
    build_uuid = str(uuid.uuid4())
    build_id = f"{project}:{build_uuid}"
    queued = STATE.build_scripts.get((e.account, region, project))
    script = queued.pop(0) if queued else Script()
    if queued is not None and not queued:
        del STATE.build_scripts[(e.account, region, project)]
    if run.build_failure and script.fail is None:
        # A refusal of the IAM evaluator (action_permissions.py), in the phase it names.
        script.fail, script.code, script.message = run.build_failure
    elif run.error and script.fail is None:
        # A failure injected with /_sandbox/failures fails the build in BUILD.
        script.fail, script.message = "BUILD", run.error.get("message")
    group, stream = _log_location(e.account, region, project, build_uuid)
    source = next((s.commit for s in e.sources.values() if s.ok), None)
    b = Build(
        id=build_id,
        account=e.account,
        region=region,
        project=project,
        pipeline=e.pipeline_name,
        source_version=source,
        start=t,
        seconds=max(seconds, 0.001),
        script=script,
        group=group,
        stream=stream,
        number=1 + sum(1 for x in STATE.builds.values() if x.project == project),
    )
    b.sequence = _sequence(script.fail)
    b.events = _plan_events(b) if group else []
    STATE.builds[build_id] = b
    run.external_id = build_id
    run.external_url = (
        f"https://console.aws.amazon.com/codebuild/home?region={region}#/builds/{build_id}/view/new"
    )
    if script.fail and not run.error:
        run.error = {
            "code": "JobFailed",
            "message": (
                f"Build terminated with state: FAILED. Phase: {script.fail}, "
                f"Code: {script.code}, Message: {_context_message(b)}"
            ),
        }


# ----------------------------------------------------------- logs over time


def catch_up(now: float | None = None) -> None:
    """Write every log event whose time has come into moto's CloudWatch Logs backend."""
    from moto.logs.models import logs_backends

    now = time.time() if now is None else now
    for b in list(STATE.builds.values()):
        if b.group is None or b.written >= len(b.events):
            continue
        if now < b.phase_start(b.sequence.index(_LOGGED_FROM)):
            continue
        backend = logs_backends[b.account][b.region]
        if not b.stream_made:
            if b.group not in backend.groups:
                backend.create_log_group(b.group, {})
            if b.stream not in backend.groups[b.group].streams:
                backend.groups[b.group].create_log_stream(b.stream)
            b.stream_made = True
        due = [ev for ev in b.events[b.written :] if ev[0] <= now]
        if due:
            backend.groups[b.group].put_log_events(
                b.stream, [{"timestamp": int(t * 1000), "message": m} for t, m in due]
            )
            b.written += len(due)


# ------------------------------------------------------------------ render


def _r(t: float) -> float:
    return round(t, 3)


def render(b: Build, now: float) -> dict[str, Any]:
    """The build as BatchGetBuilds describes it at ``now``."""
    done = now >= b.end()
    phases: list[dict[str, Any]] = []
    current = b.sequence[0]
    for i, phase in enumerate(b.sequence):
        t0, t1 = b.phase_start(i), b.phase_start(i + 1)
        if t0 > now:
            break
        p: dict[str, Any] = {"phaseType": phase, "startTime": _r(t0)}
        current = phase
        if t1 <= now:
            p["endTime"] = _r(t1)
            p["durationInSeconds"] = int(t1 - t0)
            if phase == b.script.fail:
                p["phaseStatus"] = "FAILED"
                p["contexts"] = [{"statusCode": b.script.code, "message": _context_message(b)}]
            else:
                p["phaseStatus"] = "SUCCEEDED"
                if i > 0:
                    p["contexts"] = [{"statusCode": "", "message": ""}]
        phases.append(p)
    if done:
        phases.append({"phaseType": "COMPLETED", "startTime": _r(b.end())})
        current = "COMPLETED"
    logged = b.group is not None and now >= b.phase_start(b.sequence.index(_LOGGED_FROM))
    arn_prefix = f"arn:aws:logs:{b.region}:{b.account}:log-group:"
    logs: dict[str, Any] = {"s3Logs": {"status": "DISABLED", "encryptionDisabled": False}}
    if b.group is None:
        logs["cloudWatchLogs"] = {"status": "DISABLED"}
    else:
        logs["cloudWatchLogs"] = {"status": "ENABLED"}
        if logged:
            logs.update(
                {
                    "groupName": b.group,
                    "streamName": b.stream,
                    "deepLink": (
                        f"https://console.aws.amazon.com/cloudwatch/home?region={b.region}"
                        f"#logsV2:log-groups/log-group/{b.group}/log-events/{b.stream}"
                    ),
                    "cloudWatchLogsArn": f"{arn_prefix}{b.group}:log-stream:{b.stream}",
                }
            )
    status = "IN_PROGRESS"
    if done:
        status = "FAILED" if b.failed() else "SUCCEEDED"
    out: dict[str, Any] = {
        "id": b.id,
        "arn": f"arn:aws:codebuild:{b.region}:{b.account}:build/{b.id}",
        "buildNumber": b.number,
        "startTime": _r(b.start),
        "currentPhase": current,
        "buildStatus": status,
        "projectName": b.project,
        "phases": phases,
        "source": {"type": "CODEPIPELINE", "insecureSsl": False},
        "artifacts": {"location": ""},
        "logs": logs,
        "timeoutInMinutes": 60,
        "queuedTimeoutInMinutes": 480,
        "buildComplete": done,
        "initiator": f"codepipeline/{b.pipeline}",
    }
    if b.source_version:
        out["sourceVersion"] = b.source_version
        out["resolvedSourceVersion"] = b.source_version
    if done:
        out["endTime"] = _r(b.end())
    return out


# ----------------------------------------------------- moto response functions


def batch_get_builds(self: Any) -> str:
    from moto.codebuild.exceptions import InvalidInputException

    with STATE.lock:
        ids = self._get_param("ids") or []
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise InvalidInputException("ids must hold between 1 and 100 build ids")
        for build_id in ids:
            if ":" not in build_id:
                raise InvalidInputException("Invalid build ID provided")
        now = time.time()
        catch_up(now)
        found: list[dict[str, Any]] = []
        missing: list[str] = []
        theirs = {b["id"]: b for b in self.codebuild_backend.batch_get_builds(
            [i for i in ids if i not in STATE.builds]
        )}
        for build_id in ids:
            b = STATE.builds.get(build_id)
            if b is not None and (b.account, b.region) == (self.current_account, self.region):
                found.append(render(b, now))
            elif build_id in theirs:
                found.append(theirs[build_id])
            else:
                missing.append(build_id)
        return json.dumps({"builds": found, "buildsNotFound": missing})


def get_log_events(self: Any) -> str:
    from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException

    with STATE.lock:
        catch_up()
        limit = self._get_param("limit")
        if limit is not None and not 1 <= int(limit) <= 10000:
            raise InvalidParameterException(
                constraint="Member must have value between 1 and 10000", parameter="limit", value=limit
            )
        group = self._get_param("logGroupName")
        stream = self._get_param("logStreamName")
        backend = self.logs_backend
        if group is not None and group not in backend.groups:
            raise ResourceNotFoundException("The specified log group does not exist.")
        if group is not None and stream not in backend.groups[group].streams:
            raise ResourceNotFoundException("The specified log stream does not exist.")
        page = min(int(limit or 10000), STATE.log_page)
        events, back, fwd = backend.get_log_events(
            log_group_name=group,
            log_group_id=self._get_param("logGroupIdentifier"),
            log_stream_name=stream,
            start_time=self._get_param("startTime"),
            # AWS leaves out events at endTime; moto keeps them.
            end_time=(lambda e: None if e is None else int(e) - 1)(self._get_param("endTime")),
            limit=page,
            next_token=self._get_param("nextToken"),
            start_from_head=self._get_param("startFromHead", False),
        )
        return json.dumps({"events": events, "nextBackwardToken": back, "nextForwardToken": fwd})


def install() -> None:
    """Attach BatchGetBuilds and GetLogEvents to moto's response classes."""
    from moto.codebuild.responses import CodeBuildResponse
    from moto.logs.responses import LogsResponse

    CodeBuildResponse.batch_get_builds = batch_get_builds
    LogsResponse.get_log_events = get_log_events
