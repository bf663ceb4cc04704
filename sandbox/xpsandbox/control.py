"""The control API under /_sandbox/ (JSON in, JSON out).

    GET  /_sandbox/health                       {"ok": true, "stage_seconds": S}
    POST /_sandbox/reset                        {"ok": true}
    POST /_sandbox/seed        [{overrides}]    {"pipeline_account", "source_account", "region",
                                                 "service_role_arn", "kms_key_arn", "bucket",
                                                 "repository", "source_role_arn", "build_project", ...}
    POST /_sandbox/failures    {"pipeline", "action", "message", ["code"]}       {"ok": true}
    POST /_sandbox/hold        {"pipeline", "action"}                            {"ok": true}
    POST /_sandbox/release     {"pipeline", "action"}                            {"ok": true}
    GET  /_sandbox/stage-seconds                {"seconds": S}
    POST /_sandbox/stage-seconds {"seconds": S} {"seconds": S}
    GET  /_sandbox/calls                        [{"service", "action", "account", "status"}, ...]
    DELETE /_sandbox/calls                      {"ok": true}  (forget the calls so far)
    GET  /_sandbox/branch-head?account=&repository=&branch=[&region=]   {"commit": SHA | null}
    GET  /_sandbox/repo-dir?account=&repository=[&region=]              {"path": DIR | null}
    GET  /_sandbox/executions?pipeline=[&account=&region=]              [{execution...}]
    GET  /_sandbox/policy?arn=[&kind=trust|permissions&name=]           {"document": {...} | null}
    POST /_sandbox/policy      {"arn", ["kind", "name"], "document"}    {"document": {...} | null}
    POST /_sandbox/build-script {"project", ["lines", "phase", "fail", "message", "code"]}
                                                the next build of that project (builds.py)
    GET  /_sandbox/builds[?project=]            [{build as BatchGetBuilds renders it, "logEventsWritten"}]
    GET/POST /_sandbox/log-page {"events": N}   the most events one GetLogEvents page holds
    POST /_sandbox/commit      {"account", "repository", "branch", ["message", "region"]}
                                                {"commit", "previous"} (event_routing.py)
    GET  /_sandbox/deliveries                   [{"eventId", "account", "step", "outcome", ...}]
    POST /_sandbox/stack-failure {"account", "stack", ["resource", "reason"]}   (deploy.py)
    GET  /_sandbox/deploy-outputs[?pipeline=]   [{"pipeline", "stage", "action", "file", "content", ...}]
    POST /_sandbox/artifact-files {"pipeline", "files", ["artifact"]}          (deploy.py)
    POST /_sandbox/approval-timeout {"pipeline", "action"}  {"expired": N}     (approvals.py)
    POST /_sandbox/conflict    {"pipeline", "count"}  the next COUNT StartPipelineExecution calls of
                                                that pipeline answer ConflictException  {"ok": true}
    POST /_sandbox/refuse-create {"pipeline", "count"}  its next COUNT CreatePipeline calls answer
                                                LimitExceededException (the account's quota)
    GET  /_sandbox/start-requests               [{"pipeline", "clientRequestToken", "outcome"}, ...]
                                                every StartPipelineExecution received, in order
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from werkzeug.wsgi import get_input_stream

from .state import DEFAULT_REGION, STATE, branch_head, ensure_bare_repo, repository_record

PIPELINE_ACCOUNT = "123456789012"  # where moto puts the unknown access key "testing"
SOURCE_ACCOUNT = "222222222222"


class ControlError(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def _json(start_response: Callable[..., Any], status: str, obj: Any) -> Iterable[bytes]:
    data = json.dumps(obj).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _role(iam: Any, name: str, trust: dict[str, Any], policy: dict[str, Any] | None = None) -> str:
    from moto.iam.exceptions import NotFoundException

    try:
        role = iam.get_role(name)
    except NotFoundException:
        role = iam.create_role(name, json.dumps(trust), "/", None, "created by the xpipeline sandbox", [], None)
        if policy is not None:
            iam.put_role_policy(name, "xpipeline", json.dumps(policy))
    return role.arn


def seed(overrides: dict[str, Any]) -> dict[str, Any]:
    """Create the demo scenario (idempotent) straight in moto's backends, with the documents of
    documents.py: what `cargo xpipeline policies` prints, judged by the sandbox's evaluator."""
    from moto.codebuild.models import codebuild_backends
    from moto.codecommit.models import codecommit_backends
    from moto.iam.models import iam_backends
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends

    from . import documents as docs

    region = overrides.get("region") or DEFAULT_REGION
    pa = PIPELINE_ACCOUNT
    sa = overrides.get("source_account") or SOURCE_ACCOUNT
    prefix = overrides.get("prefix") or "xpipeline-demo"
    service_role = overrides.get("service_role_name") or f"{prefix}-codepipeline"
    build_role = overrides.get("build_role_name") or f"{prefix}-codebuild"
    source_role = overrides.get("source_role_name") or f"{prefix}-cross-account"
    developer_role = overrides.get("developer_role_name") or f"{prefix}-developer"
    bucket = overrides.get("bucket") or f"{prefix}-artifacts-{pa}"
    repository = overrides.get("repository") or prefix
    project = overrides.get("build_project") or f"{prefix}-build"
    branch = overrides.get("branch") or "main"
    external_id = overrides.get("external_id") or None
    mfa = bool(overrides.get("mfa"))

    iam_p = iam_backends[pa]["aws"]
    iam_s = iam_backends[sa]["aws"]
    source_role_arn = f"arn:aws:iam::{sa}:role/{source_role}"
    service_role_arn = f"arn:aws:iam::{pa}:role/{service_role}"
    repo_arn = f"arn:aws:codecommit:{region}:{sa}:{repository}"
    project_arn = f"arn:aws:codebuild:{region}:{pa}:project/{project}"

    kms = kms_backends[pa][region]
    key = None
    for k in kms.keys.values():
        if k.description == f"{prefix} artifacts" and k.key_state == "Enabled":
            key = k
            break
    if key is None:
        key = kms.create_key(
            json.dumps(docs.key_policy(pa, source_role_arn)),
            "ENCRYPT_DECRYPT",
            "SYMMETRIC_DEFAULT",
            f"{prefix} artifacts",
            None,
        )

    _role(
        iam_p,
        service_role,
        docs.service_trust("codepipeline.amazonaws.com"),
        docs.service_role_permissions(source_role_arn, bucket, key.arn, project_arn),
    )
    build_role_arn = _role(
        iam_p,
        build_role,
        docs.service_trust("codebuild.amazonaws.com"),
        docs.build_role_permissions(bucket, key.arn, region, pa, project),
    )
    _role(
        iam_s,
        source_role,
        docs.source_role_trust(pa, service_role_arn, external_id, mfa),
        docs.source_role_permissions(repo_arn, bucket, key.arn, branch),
    )
    developer_role_arn = _role(
        iam_p,
        developer_role,
        docs.developer_trust(pa),
        docs.developer_permissions(region, pa, service_role_arn, source_role_arn),
    )

    s3 = s3_backends[pa]["aws"]
    if bucket not in s3.buckets:
        s3.create_bucket(bucket, region)
        s3.put_bucket_policy(bucket, json.dumps(docs.bucket_policy(bucket, source_role_arn)).encode("utf-8"))

    cb = codebuild_backends[pa][region]
    if project not in cb.codebuild_projects:
        cb.create_project(
            project,
            "built by cargo-xpipeline's pipeline",
            {"type": "CODEPIPELINE"},
            {"type": "CODEPIPELINE"},
            {
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            build_role_arn,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        # Artifacts encrypted with the pipeline's key (moto's CreateProject always writes aws/s3).
        cb.codebuild_projects[project].project_metadata["encryptionKey"] = key.arn

    cc = codecommit_backends[sa][region]
    if repository not in cc.repositories:
        cc.create_repository(repository, "created by the xpipeline sandbox")
    ensure_bare_repo(sa, region, repository)
    meta = cc.repositories[repository].repository_metadata
    targets = [str(t) for t in overrides.get("targets") or []]
    if targets:
        from .targets import seed_targets

        stacks = [str(s) for s in overrides.get("stacks") or [f"{prefix}-*"]]
        seeded_targets = seed_targets(targets, stacks, prefix, pa, region, service_role, bucket, key)
    return {
        **({"targets": seeded_targets} if targets else {}),
        "pipeline_account": pa,
        "source_account": sa,
        "region": region,
        "service_role_arn": service_role_arn,
        "kms_key_arn": key.arn,
        "bucket": bucket,
        "repository": repository,
        "repository_id": meta["repositoryId"],
        "repository_arn": meta["Arn"],
        "source_role_arn": source_role_arn,
        "build_project": project,
        "build_role_arn": build_role_arn,
        "developer_role_arn": developer_role_arn,
    }


def reset() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    STATE.reset()


def _need(d: dict[str, Any], *names: str) -> list[str]:
    missing = [n for n in names if not d.get(n)]
    if missing:
        raise ControlError("400 Bad Request", f"missing {', '.join(missing)}")
    return [str(d[n]) for n in names]


def _count(body: dict[str, Any]) -> int:
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ControlError("400 Bad Request", "count must be a whole number >= 0")
    return count


def dispatch(method: str, route: str, q: dict[str, str], body: dict[str, Any]) -> tuple[str, Any]:
    from .executions import advance_all, render_execution

    if route == "health":
        return "200 OK", {"ok": True, "stage_seconds": STATE.stage_seconds}
    if route == "reset" and method == "POST":
        reset()
        return "200 OK", {"ok": True}
    if route == "seed" and method == "POST":
        return "200 OK", seed(body)
    if route == "failures" and method == "POST":
        pipeline, action, message = _need(body, "pipeline", "action", "message")
        STATE.failures.setdefault((pipeline, action), []).append(
            {"message": message, "code": body.get("code") or "JobFailed"}
        )
        return "200 OK", {"ok": True}
    if route == "hold" and method == "POST":
        pipeline, action = _need(body, "pipeline", "action")
        advance_all()
        STATE.holds.add((pipeline, action))
        return "200 OK", {"ok": True}
    if route == "release" and method == "POST":
        pipeline, action = _need(body, "pipeline", "action")
        advance_all()  # records until when the held actions were held
        STATE.holds.discard((pipeline, action))
        return "200 OK", {"ok": True}
    if route == "interfere" and method == "POST":
        (pipeline,) = _need(body, "pipeline")
        STATE.interfere.add(pipeline)
        return "200 OK", {"ok": True}
    if route == "stage-seconds":
        if method == "POST":
            if "seconds" not in body:
                raise ControlError("400 Bad Request", "missing seconds")
            advance_all()
            STATE.stage_seconds = max(0.0, float(body["seconds"]))
        return "200 OK", {"seconds": STATE.stage_seconds}
    if route == "calls":
        if method == "DELETE":
            STATE.calls.clear()
            return "200 OK", {"ok": True}
        return "200 OK", list(STATE.calls)
    if route == "branch-head":
        account, repository, branch = _need(q, "account", "repository", "branch")
        region = q.get("region") or DEFAULT_REGION
        return "200 OK", {"commit": branch_head(account, region, repository, branch)}
    if route == "repo-dir":
        account, repository = _need(q, "account", "repository")
        region = q.get("region") or DEFAULT_REGION
        if repository_record(account, region, repository) is None:
            return "200 OK", {"path": None}
        return "200 OK", {"path": ensure_bare_repo(account, region, repository)}
    if route == "git-hook" and method == "POST":
        return "200 OK", git_hook(body)
    if route == "git-requests":
        with STATE.lock:
            if method == "DELETE":
                STATE.git_requests.clear()
                return "200 OK", {"ok": True}
            return "200 OK", list(STATE.git_requests)
    if route == "git-throttle" and method == "POST":
        times = body.get("times")
        status = body.get("status", 429)
        if not isinstance(times, int) or not 0 <= times <= 100 or status not in (429, 503):
            raise ControlError("400 Bad Request", "times must be 0..100 and status 429 or 503")
        with STATE.lock:
            STATE.git_throttle[:] = [[status, times]] if times else []
        return "200 OK", {"status": status, "times": times}
    if route == "build-script" and method == "POST":
        from .builds import script_from

        (project,) = _need(body, "project")
        try:
            script = script_from(body)
        except ValueError as e:
            raise ControlError("400 Bad Request", str(e))
        key = (body.get("account") or PIPELINE_ACCOUNT, body.get("region") or DEFAULT_REGION, project)
        STATE.build_scripts.setdefault(key, []).append(script)
        return "200 OK", {"ok": True}
    if route == "builds":
        from .builds import catch_up, render

        advance_all()
        catch_up()
        now = time.time()
        return "200 OK", [
            dict(render(b, now), logEventsWritten=b.written) for b in STATE.builds.values()
            if not q.get("project") or b.project == q["project"]
        ]
    if route == "log-page":
        if method == "POST":
            if not isinstance(body.get("events"), int) or not 1 <= body["events"] <= 10000:
                raise ControlError("400 Bad Request", "events must be a whole number from 1 to 10000")
            STATE.log_page = body["events"]
        return "200 OK", {"events": STATE.log_page}
    if route == "executions":
        (pipeline,) = _need(q, "pipeline")
        key = (q.get("account") or PIPELINE_ACCOUNT, q.get("region") or DEFAULT_REGION, pipeline)
        advance_all()
        return "200 OK", [render_execution(e) for e in STATE.executions.get(key, [])]
    if route == "polling-disabled" and method == "POST":
        # What AWS does to a polling pipeline inactive for 30 days (pollingDisabledAt).
        account = body.get("account") or PIPELINE_ACCOUNT
        with STATE.lock:
            STATE.polling_disabled[(account, body["pipeline"])] = float(body.get("at") or time.time())
        return "200 OK", {"pipeline": body["pipeline"], "account": account}
    if route == "conflict" and method == "POST":
        (pipeline,) = _need(body, "pipeline")
        with STATE.lock:
            STATE.conflicts[pipeline] = _count(body)
        return "200 OK", {"ok": True}
    if route == "refuse-create" and method == "POST":
        (pipeline,) = _need(body, "pipeline")
        with STATE.lock:
            STATE.refuse_create[pipeline] = _count(body)
        return "200 OK", {"ok": True}
    if route == "start-requests":
        with STATE.lock:
            return "200 OK", list(STATE.start_requests)
    if route == "policy":
        return "200 OK", policy_route(method, q, body)
    from .event_routing import dispatch as event_routes  # CodeCommit events: event_routing.py
    from .scenarios import dispatch as scenarios  # bootstrap's scenarios: scenarios.py

    from .approvals import dispatch as approval_routes  # manual approvals: approvals.py
    from .deploy import dispatch as deploy_routes  # CloudFormation deploy actions: deploy.py

    if (answer := deploy_routes(method, route, q, body)) is not None:
        return "200 OK", answer
    if (answer := approval_routes(method, route, body)) is not None:
        return "200 OK", answer
    if (answer := scenarios(method, route, body)) is not None:
        return "200 OK", answer
    if (answer := event_routes(method, route, q, body)) is not None:
        return "200 OK", answer
    raise ControlError("404 Not Found", f"no control route {method} /_sandbox/{route}")


HOOKS = ("update", "pre-receive")


def git_hook(body: dict[str, Any]) -> dict[str, Any]:
    """Install (or with "message": null, remove) a server-side hook on a repository's bare
    repository that refuses every push with the message, as a repository's own hook would
    (CodeCommit has none of its own: this stands for any server-side refusal that comes back
    as `ng <ref> hook declined` with the hook's text on the side band)."""
    account, repository = _need(body, "account", "repository")
    region = body.get("region") or DEFAULT_REGION
    hook = body.get("hook", "update")
    if hook not in HOOKS:
        raise ControlError("400 Bad Request", f"hook must be one of {', '.join(HOOKS)}")
    with STATE.lock:
        if repository_record(account, region, repository) is None:
            raise ControlError("404 Not Found", f"no repository {repository} in {account} ({region})")
        path = ensure_bare_repo(account, region, repository)
    script = os.path.join(path, "hooks", hook)
    message = body.get("message")
    if message is None:
        for f in (script, script + ".message"):
            if os.path.exists(f):
                os.remove(f)
        return {"hook": hook, "installed": False}
    os.makedirs(os.path.dirname(script), exist_ok=True)
    with open(script + ".message", "wb") as f:
        f.write(str(message).encode("utf-8"))
    with open(script, "w") as f:
        f.write('#!/bin/sh\ncat "$0.message" >&2\necho >&2\nexit 1\n')
    os.chmod(script, 0o755)
    return {"hook": hook, "installed": True, "path": script}


def policy_route(method: str, q: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """GET ?arn=&kind= the document; POST {"arn", "kind", "document"} replaces it (straight in
    moto, no call logged). `arn`: a role (kind "trust", or "permissions" for its inline policy
    `name`, default "xpipeline"), a KMS key (its key policy), arn:aws:s3:::BUCKET (its bucket
    policy; a null document deletes it) or an event bus (its resource policy; null removes it)."""
    from . import iam_store

    src = body if method == "POST" else q
    (arn,) = _need(src, "arn")
    kind = src.get("kind") or ""
    name = src.get("name") or "xpipeline"
    parts = arn.split(":", 5)
    if len(parts) != 6:
        raise ControlError("400 Bad Request", f"not an ARN: {arn}")
    service, resource = parts[2], parts[5]
    doc = body.get("document") if method == "POST" else None
    text = json.dumps(doc) if doc is not None else None
    if service == "iam" and resource.startswith("role/"):
        role = iam_store.role_by_arn(arn)
        if role is None:
            raise ControlError("404 Not Found", f"no role {arn}")
        if kind == "trust":
            if method == "POST":
                role.assume_role_policy_document = text or ""
            current: Any = role.assume_role_policy_document
        elif kind == "permissions":
            if method == "POST":
                if text is None:
                    role.policies.pop(name, None)
                else:
                    role.policies[name] = text
            current = role.policies.get(name)
        else:
            raise ControlError("400 Bad Request", 'kind must be "trust" or "permissions" for a role')
    elif service == "kms":
        key = iam_store.kms_key(arn, parts[4], parts[3])
        if key is None:
            raise ControlError("404 Not Found", f"no key {arn}")
        if method == "POST":
            key.policy = text or key.generate_default_policy()
        current = key.policy
    elif service == "s3":
        bucket, _ = iam_store.bucket(resource)
        if bucket is None:
            raise ControlError("404 Not Found", f"no bucket {resource}")
        if method == "POST":
            bucket.policy = text.encode("utf-8") if text is not None else None
        current = iam_store.bucket_policy(bucket)
    elif service == "events" and resource.startswith("event-bus/"):
        from .event_routing import set_bus_policy

        current = set_bus_policy(parts[4], parts[3], resource[len("event-bus/") :], doc, method == "POST")
    else:
        raise ControlError("400 Bad Request", f"no policy to set on {arn}")
    return {"document": json.loads(current) if current else None}


def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    route = environ.get("PATH_INFO", "")[len("/_sandbox/") :].strip("/")
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    raw = get_input_stream(environ).read()
    try:
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ControlError("400 Bad Request", "body must be a JSON object")
        with STATE.lock:
            status, obj = dispatch(method, route, q, body)
        return _json(start_response, status, obj)
    except ControlError as e:
        return _json(start_response, e.status, {"error": str(e)})
    except ValueError as e:
        return _json(start_response, "400 Bad Request", {"error": f"bad JSON: {e}"})
    except Exception as e:  # report, keep serving
        traceback.print_exc(file=sys.stderr)
        return _json(start_response, "500 Internal Server Error", {"error": repr(e)})
