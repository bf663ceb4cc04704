"""Manual approval actions (Approval / AWS / Manual) and PutApprovalResult.

An approval action starts InProgress with a token (a UUID) that GetPipelineState shows in its
``latestExecution``; its runOrder group does not end until PutApprovalResult answers it with
that token (Approved: the action Succeeded and the stage goes on; Rejected: the action Failed
with the summary, and so the execution) or until its timeout passes (``timeoutInMinutes``,
default 7 days; ``POST /_sandbox/approval-timeout`` makes it pass now): the action Failed.

PutApprovalResult is refused as AWS refuses it: PipelineNotFoundException,
StageNotFoundException, ActionNotFoundException (no such action in the stage, or not an
approval), ValidationException (status other than Approved/Rejected, a summary over 512
characters), InvalidApprovalTokenException (a token of no pending request: never issued, or
the request expired or stopped) and ApprovalAlreadyCompletedException (the token's request was
already answered). Call with STATE.lock held.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from moto.core.exceptions import JsonRESTError

from .state import STATE

DEFAULT_TIMEOUT_MINUTES = 7 * 24 * 60


class _Error(JsonRESTError):
    code = 400

    def __init__(self, kind: str, message: str):
        super().__init__(kind, message)


def is_approval(action: dict[str, Any]) -> bool:
    t = action.get("actionTypeId") or {}
    return t.get("category") == "Approval" and t.get("owner") == "AWS" and t.get("provider") == "Manual"


def start(run: Any, t: float) -> None:
    """An approval action run starts: its token and its deadline."""
    if not is_approval(run.action):
        return
    run.token = str(uuid.uuid4())
    minutes = int(run.action.get("timeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES)
    run.deadline = t + minutes * 60
    link = (run.action.get("configuration") or {}).get("ExternalEntityLink")
    if link:
        run.external_url = link


def pending(run: Any, now: float) -> bool:
    """Whether an approval run still waits for its answer; past its deadline it fails."""
    if not is_approval(run.action) or run.end is not None or run.answered or run.error:
        return False
    if now >= run.deadline:
        run.error = {"code": "JobFailed", "message": "Approval action timed out"}
        run.summary = "Approval action timed out"
        return False
    return True


def expire(pipeline: str, action: str) -> int:
    """Control route: the pending approvals of that action time out now."""
    from .executions import advance_all

    advance_all()
    n = 0
    for execs in STATE.executions.values():
        for e in execs:
            if e.pipeline_name != pipeline:
                continue
            for r in e.runs:
                if r.name == action and is_approval(r.action) and r.end is None and not r.answered:
                    r.deadline = time.time()
                    n += 1
    return n


def _caller_arn(self: Any) -> str:
    from . import iam_store

    return iam_store.principal_of_key(self.access_key or "").arn


def put_approval_result(self: Any) -> str:
    from .executions import _key, _pipeline_or_raise, advance

    with STATE.lock:
        try:
            body = json.loads(self.body or "{}") or {}
        except ValueError:
            body = {}
        name = body.get("pipelineName", "")
        cp = _pipeline_or_raise(self, name)
        stage_name, action_name = body.get("stageName", ""), body.get("actionName", "")
        stage = next((s for s in cp.pipeline["stages"] if s["name"] == stage_name), None)
        if stage is None:
            raise _Error("StageNotFoundException", "The stage was specified in an invalid format or cannot be found.")
        action = next((a for a in stage["actions"] if a["name"] == action_name), None)
        if action is None or not is_approval(action):
            raise _Error("ActionNotFoundException", "The specified action cannot be found.")
        result = body.get("result") or {}
        status, summary = result.get("status"), result.get("summary")
        if status not in ("Approved", "Rejected"):
            raise _Error(
                "ValidationException",
                f"1 validation error detected: Value '{status}' at 'result.status' failed to satisfy constraint: "
                "Member must satisfy enum value set: [Approved, Rejected]",
            )
        if summary is None or len(summary) > 512:
            raise _Error(
                "ValidationException",
                "1 validation error detected: Value at 'result.summary' failed to satisfy constraint: "
                "Member must have length less than or equal to 512",
            )
        now = time.time()
        advance(_key(self.current_account, self.region, name), now)
        token = body.get("token", "")
        run = None
        for e in STATE.executions.get(_key(self.current_account, self.region, name), []):
            for r in e.runs:
                if r.stage == stage_name and r.name == action_name and getattr(r, "token", None) == token:
                    run = r
        if run is not None and run.answered:
            raise _Error("ApprovalAlreadyCompletedException", "The approval action has already been approved or rejected.")
        if run is None or run.end is not None or run.error:
            raise _Error("InvalidApprovalTokenException", "The approval request already received a response or has expired.")
        run.answered = status
        run.summary = summary
        run.updated_by = _caller_arn(self)
        run.updated = now
        if status == "Rejected":
            run.error = {"code": "JobFailed", "message": summary or "Rejected"}
        advance(_key(self.current_account, self.region, name), now)
        return json.dumps({"approvedAt": round(now, 3)})


def install() -> None:
    from moto.codepipeline.responses import CodePipelineResponse

    CodePipelineResponse.put_approval_result = put_approval_result  # type: ignore[attr-defined]


def dispatch(method: str, route: str, body: dict[str, Any]) -> Any:
    from .control import ControlError

    if route == "approval-timeout" and method == "POST":
        if not body.get("pipeline") or not body.get("action"):
            raise ControlError("400 Bad Request", "missing pipeline or action")
        return {"expired": expire(str(body["pipeline"]), str(body["action"]))}
    return None
