"""EventBridge delivery of CodeCommit's reference events, on the path AWS takes.

A ref that moves in a CodeCommit repository (a git push through git_http.py, or the control
route POST /_sandbox/commit) makes a "CodeCommit Repository State Change" event in the
repository's account (referenceCreated / referenceUpdated / referenceDeleted, the detail
CodeCommit sends). Then, as EventBridge does:

1. the event goes to the default bus of the repository's account; every ENABLED rule there
   whose event pattern matches it (moto's pattern matcher) sends it to each of its targets;
2. a target that is another account's event bus: EventBridge assumes the target's RoleArn
   (its trust must allow events.amazonaws.com) and that session must be allowed
   events:PutEvents on the bus by its identity policy AND by the bus's resource policy
   (cross-account: both sides, judged by iam_eval); without a RoleArn the sending account
   itself must be allowed by the bus policy. An event received from another account is not
   sent on to a third bus (AWS allows one hop);
3. on the receiving bus, the rules are matched again; a target that is a pipeline of the
   rule's account is started (trigger CloudWatchEvent, the rule's ARN) when EventBridge may
   assume the target's RoleArn and that session may codepipeline:StartPipelineExecution on
   the pipeline.

Anything missing means nothing happens, silently, as on AWS. Each step is recorded in
STATE.deliveries (GET /_sandbox/deliveries) and told on stderr, for debugging. Call with
STATE.lock held.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import Any

from . import iam_eval, iam_store
from .state import PARTITION, STATE, branch_head, ensure_bare_repo, git_out, repository_record

ZERO = "0" * 40
DETAIL_TYPE = "CodeCommit Repository State Change"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _record(event: dict[str, Any], account: str, step: str, outcome: str, **extra: Any) -> None:
    entry = {"eventId": event["id"], "account": account, "step": step, "outcome": outcome, **extra}
    STATE.deliveries.append(entry)
    print(f"xpsandbox events: {json.dumps(entry)}", file=sys.stderr, flush=True)


def codecommit_event(
    account: str, region: str, repository: str, ref: str, old: str | None, new: str | None, caller: str
) -> dict[str, Any] | None:
    """The event CodeCommit sends when `ref` goes from `old` to `new` (None: absent)."""
    rec = repository_record(account, region, repository)
    if rec is None:
        return None
    if ref.startswith("refs/heads/"):
        ref_type, short = "branch", ref[len("refs/heads/") :]
    elif ref.startswith("refs/tags/"):
        ref_type, short = "tag", ref[len("refs/tags/") :]
    else:
        return None
    old = None if old in (None, ZERO) else old
    new = None if new in (None, ZERO) else new
    if old == new:
        return None
    kind = "referenceCreated" if old is None else "referenceDeleted" if new is None else "referenceUpdated"
    detail: dict[str, Any] = {"callerUserArn": caller, "event": kind}
    if new is not None:
        detail["commitId"] = new
    if old is not None:
        detail["oldCommitId"] = old
    detail.update(
        {
            "referenceFullName": ref,
            "referenceName": short,
            "referenceType": ref_type,
            "repositoryId": rec["repositoryId"],
            "repositoryName": repository,
        }
    )
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.codecommit",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:{PARTITION}:codecommit:{region}:{account}:{repository}"],
        "detail": detail,
    }


def reference_changed(
    account: str, region: str, repository: str, ref: str, old: str | None, new: str | None, caller: str
) -> None:
    event = codecommit_event(account, region, repository, ref, old, new, caller)
    if event is not None:
        _record(event, account, "emit", "sent", kind=event["detail"]["event"], ref=ref)
        deliver(account, region, event, forwarded=False)


def _bus(account: str, region: str, name: str = "default") -> Any:
    from moto.events.models import events_backends

    if account not in events_backends or region not in events_backends[account].keys():
        return None
    return events_backends[account][region].event_buses.get(name)


def deliver(account: str, region: str, event: dict[str, Any], forwarded: bool) -> None:
    """The event on the default bus of `account`: matched against its rules, sent to targets."""
    bus = _bus(account, region)
    rules = list(bus.rules.values()) if bus is not None else []
    matching = [r for r in rules if r.event_pattern.matches_event(event)]
    for r in matching:
        if r.state != "ENABLED":
            _record(event, account, "match", "skipped", rule=r.arn, reason="the rule is disabled")
    enabled = [r for r in matching if r.state == "ENABLED"]
    if not enabled:
        _record(event, account, "match", "dropped", reason=f"no enabled rule of the default bus of account {account} matches the event")
    for r in enabled:
        if not r.targets:
            _record(event, account, "match", "dropped", rule=r.arn, reason="the rule has no target")
        for target in list(r.targets):
            _send(r, target, event, forwarded)


def _eventbridge_session(rule: Any, target: dict[str, Any], event: dict[str, Any], step: str) -> Any:
    """EventBridge assumes the target's role: the session, or None (recorded)."""
    role_arn = target.get("RoleArn") or ""
    role = iam_store.role_by_arn(role_arn)
    svc = iam_store.service_principal("events.amazonaws.com")
    ctx = {"aws:SourceAccount": rule.account_id, "aws:SourceArn": rule.arn, "aws:SecureTransport": "true"}
    req = iam_eval.Request(svc, "sts:AssumeRole", role_arn, ctx)
    if role is None or not iam_eval.authorize(req, role.assume_role_policy_document, required_resource_policy=True).allowed:
        _record(event, rule.account_id, step, "refused", rule=rule.arn, target=target["Arn"],
                reason=f"events.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
        return None
    return iam_store.session_principal(role, f"events-{uuid.uuid4().hex[:12]}")


def _context(actor: iam_eval.Principal, region: str) -> dict[str, Any]:
    return {
        "aws:PrincipalArn": actor.principal_arn,
        "aws:PrincipalAccount": actor.account,
        "aws:PrincipalType": actor.principal_type,
        "aws:SecureTransport": "true",
        "aws:RequestedRegion": region,
    }


def _send(rule: Any, target: dict[str, Any], event: dict[str, Any], forwarded: bool) -> None:
    arn = target.get("Arn", "")
    parts = arn.split(":", 5)
    if len(parts) != 6:
        _record(event, rule.account_id, "send", "dropped", rule=rule.arn, target=arn, reason="not an ARN")
        return
    service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
    if service == "events" and resource.startswith("event-bus/"):
        _forward(rule, target, event, forwarded, account, region, resource[len("event-bus/") :])
    elif service == "codepipeline":
        _start(rule, target, event, account, region, resource)
    else:
        _record(event, rule.account_id, "send", "dropped", rule=rule.arn, target=arn,
                reason="the sandbox delivers only to event buses and pipelines")


def _forward(rule: Any, target: dict[str, Any], event: dict[str, Any], forwarded: bool,
             account: str, region: str, bus_name: str) -> None:
    arn = target["Arn"]
    if forwarded:
        _record(event, rule.account_id, "forward", "dropped", rule=rule.arn, target=arn,
                reason="an event received from another account is not sent on to another bus")
        return
    bus = _bus(account, region, bus_name)
    if bus is None:
        _record(event, rule.account_id, "forward", "dropped", rule=rule.arn, target=arn, reason=f"no event bus {arn}")
        return
    if target.get("RoleArn"):
        actor = _eventbridge_session(rule, target, event, "forward")
        if actor is None:
            return
    else:  # the sending account itself
        actor = iam_eval.Principal(
            account=rule.account_id,
            arn=f"arn:{PARTITION}:iam::{rule.account_id}:root",
            kind="root",
            identity_policies=[ADMIN],
        )
    req = iam_eval.Request(actor, "events:PutEvents", arn, _context(actor, region))
    d = iam_eval.authorize(req, bus.policy, resource_account=account)
    if not d.allowed:
        _record(event, rule.account_id, "forward", "refused", rule=rule.arn, target=arn, reason=d.message(req))
        return
    _record(event, rule.account_id, "forward", "delivered", rule=rule.arn, target=arn)
    deliver(account, region, event, forwarded=account != rule.account_id)


def _start(rule: Any, target: dict[str, Any], event: dict[str, Any], account: str, region: str, name: str) -> None:
    from moto.codepipeline.models import codepipeline_backends

    from .executions import start_execution

    arn = target["Arn"]
    if account != rule.account_id:
        _record(event, rule.account_id, "start", "dropped", rule=rule.arn, target=arn,
                reason="EventBridge does not start a pipeline of another account")
        return
    if not target.get("RoleArn"):
        _record(event, rule.account_id, "start", "dropped", rule=rule.arn, target=arn,
                reason="a CodePipeline target needs a RoleArn")
        return
    actor = _eventbridge_session(rule, target, event, "start")
    if actor is None:
        return
    req = iam_eval.Request(actor, "codepipeline:StartPipelineExecution", arn, _context(actor, region))
    d = iam_eval.authorize(req)
    if not d.allowed:
        _record(event, rule.account_id, "start", "refused", rule=rule.arn, target=arn, reason=d.message(req))
        return
    if account not in codepipeline_backends or name not in codepipeline_backends[account][region].pipelines:
        _record(event, rule.account_id, "start", "dropped", rule=rule.arn, target=arn, reason=f"no pipeline {name}")
        return
    e = start_execution(account, region, name, {"triggerType": "CloudWatchEvent", "triggerDetail": rule.arn})
    _record(event, rule.account_id, "start", "started", rule=rule.arn, target=arn, execution=e.id)


# ------------------------------------------------------------------ control routes


def commit(body: dict[str, Any]) -> dict[str, Any]:
    """POST /_sandbox/commit {"account", "repository", "branch", ["message", "region"]}: a new
    commit (the branch's tree, or an empty one) on top of the branch, as a commit made in the
    CodeCommit console would be; the branch moves and CodeCommit's event is sent."""
    from .control import ControlError, _need

    account, repository, branch = _need(body, "account", "repository", "branch")
    region = body.get("region") or "eu-west-1"
    path = ensure_bare_repo(account, region, repository)
    if path is None:
        raise ControlError("404 Not Found", f"no repository {repository} in account {account} ({region})")
    old = branch_head(account, region, repository, branch)
    if old:
        tree = (git_out(path, "rev-parse", f"{old}^{{tree}}") or "").strip()
    else:
        tree = (git_out(path, "hash-object", "-t", "tree", "/dev/null") or "").strip()
    message = body.get("message") or "a commit made in the sandbox"
    cmd = ["git", "-c", "user.name=sandbox", "-c", "user.email=sandbox@example.com", "-C", path]
    cmd += ["commit-tree", tree, *(["-p", old] if old else []), "-m", message]
    new = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         text=True, check=True).stdout.strip()
    subprocess.run(["git", "-C", path, "update-ref", f"refs/heads/{branch}", new], check=True)
    reference_changed(account, region, repository, f"refs/heads/{branch}", old, new, f"arn:{PARTITION}:iam::{account}:root")
    return {"commit": new, "previous": old}


def set_bus_policy(account: str, region: str, name: str, doc: Any, write: bool) -> Any:
    """GET/POST /_sandbox/policy for arn:aws:events:REGION:ACCOUNT:event-bus/NAME: its resource
    policy; a null document removes every statement."""
    from .control import ControlError

    bus = _bus(account, region, name)
    if bus is None:
        from moto.events.models import events_backends

        bus = events_backends[account][region].event_buses.get(name) if name == "default" else None
    if bus is None:
        raise ControlError("404 Not Found", f"no event bus {name} in account {account} ({region})")
    if write:
        bus.remove_statements()
        if doc is not None:
            bus.add_policy(doc)
    return bus.policy


def dispatch(method: str, route: str, q: dict[str, str], body: dict[str, Any]) -> Any | None:
    if route == "commit" and method == "POST":
        return commit(body)
    if route == "deliveries":
        if method == "DELETE":
            STATE.deliveries.clear()
            return {"ok": True}
        return list(STATE.deliveries)
    return None
