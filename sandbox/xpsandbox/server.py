"""The sandbox server: moto's app wrapped in a WSGI middleware.

    /_sandbox/...      control API (control.py)
    /v1/repos/<name>   CodeCommit git smart HTTP (git_http.py)
    anything else      moto, after recording the call (service, action, account); CodeCommit's
                       GetRepository/GetBranch judged and answered first (codecommit_api.py)
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import traceback
from functools import lru_cache
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from werkzeug.wsgi import get_input_stream

from . import sts_auth
from .state import STATE

CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


@lru_cache(maxsize=None)
def _service_model(service: str) -> Any:
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(service)
    except Exception:
        return None


@lru_cache(maxsize=None)
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], list[str], str]]:
    """(method, path regex, required query keys, operation) for REST protocols."""
    model = _service_model(service)
    routes = []
    if model is None:
        return routes
    for name in model.operation_names:
        op = model.operation_model(name)
        uri = op.http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        parts = []
        for seg in path.split("/"):
            m = re.fullmatch(r"\{([^}]+?)(\+?)\}", seg)
            if m:
                parts.append(".+" if m.group(2) else "[^/]+")
            else:
                parts.append(re.escape(seg))
        rx = re.compile("^" + "/".join(parts) + "/?$")
        keys = [kv.split("=")[0] for kv in query.split("&") if kv]
        routes.append((op.http.get("method", "GET"), rx, keys, name))
    # most specific first: more required query keys, then longer patterns
    routes.sort(key=lambda r: (len(r[2]), len(r[1].pattern)), reverse=True)
    return routes


def resolve_action(environ: dict[str, Any], service: str, body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    ctype = environ.get("CONTENT_TYPE", "")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "Action" in query:
        return query["Action"][0]
    if ctype.startswith("application/x-www-form-urlencoded") and body:
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if "Action" in form:
            return form["Action"][0]
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    for m, rx, keys, name in _rest_routes(service):
        if m == method and rx.match(path) and all(k in query for k in keys):
            return name
    return f"{method} {path}"


def _account_of_key(akid: str | None) -> str:
    from moto.iam.models import get_account_id_from

    return get_account_id_from(akid or "")


class SandboxApp:
    def __init__(self, moto_app: Callable[..., Any]):
        self.moto_app = moto_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox/"):
            from . import control

            return control.handle(environ, start_response)
        if path.startswith("/v1/repos/"):
            from . import git_http

            return git_http.handle(environ, start_response)
        # Buffer the body (bounded by Content-Length or the chunked stream) so
        # that both we and moto can read it; raw wsgi.input blocks on GET.
        body = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        m = CREDENTIAL_RE.search(auth)
        service = m.group(4) if m else "unknown"
        akid = m.group(1) if m else None
        from .executions import poll_for_source_changes

        with STATE.lock:
            call = {
                "service": service,
                "action": resolve_action(environ, service, body),
                "account": _account_of_key(akid),
            }
            STATE.calls.append(call)
            refused = sts_auth.refusal(environ, body, akid, call["action"])
            if refused:
                call["status"] = 403
                return sts_auth.respond(environ, start_response, *refused)
            if service == "codecommit":
                from . import codecommit_api

                answered = codecommit_api.answer(akid, m.group(3) if m else "", call["action"], body)
                if answered is not None:
                    call["status"] = answered[0]
                    return codecommit_api.respond(start_response, *answered)
            try:
                poll_for_source_changes()
            except Exception as e:
                print(f"xpsandbox: polling failed: {e!r}", file=sys.stderr, flush=True)

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            try:
                call["status"] = int(status.split()[0])
            except ValueError:
                pass
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        with STATE.lock:
            try:
                result = self.moto_app(environ, recording_start_response)
                # materialise inside the lock: moto is not thread-safe
                data = b"".join(result)
                sts_auth.record_session(call["action"], body, call.get("status", 0), data)
                return [data]
            except Exception as e:
                # moto raises NotImplementedError for operations it lacks; AWS
                # SDKs see a 500 and retry (tests lower max attempts).
                traceback.print_exc(file=sys.stderr)
                call["status"] = 500
                data = json.dumps(
                    {"__type": "InternalFailure", "message": f"xpsandbox: {type(e).__name__}: {e}"}
                ).encode("utf-8")
                start_response(
                    "500 Internal Server Error",
                    [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))],
                )
                return [data]


def build_app(data_dir: str, stage_seconds: float) -> SandboxApp:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import action_permissions, executions

    STATE.data_dir = os.path.abspath(data_dir)
    STATE.default_stage_seconds = stage_seconds
    STATE.stage_seconds = stage_seconds
    os.makedirs(STATE.repos_root(), exist_ok=True)
    executions.install()
    action_permissions.install()
    return SandboxApp(DomainDispatcherApplication(create_backend_app))


def make_server(host: str, port: int, data_dir: str, stage_seconds: float, quiet: bool) -> Any:
    """The sandbox's HTTP server, bound (port 0: a free one) but not yet serving; the launcher
    (sandbox/launch.py) seeds, announces and serves it."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        # It pins every request to one account: cross-account would not exist.
        del os.environ["MOTO_ACCOUNT_ID"]
    from werkzeug.serving import WSGIRequestHandler
    from werkzeug.serving import make_server as werkzeug_server

    app = build_app(data_dir, stage_seconds)

    class Handler(WSGIRequestHandler):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            if not quiet:
                super().log_request(code, size)

    return werkzeug_server(host, port, app, threaded=True, request_handler=Handler)
