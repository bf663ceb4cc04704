"""CodeCommit's git smart-HTTP endpoint: /v1/repos/<name>, via `git http-backend`.

Authentication as CodeCommit does it (see sigv4.py). The repository is looked
up in the account of the signing key; the bare repository lives under the
data dir, keyed by account, region and repositoryId.
"""

from __future__ import annotations

import base64
import datetime as _dt
import os
import re
import subprocess
import sys
from typing import Any, Callable, Iterable

from werkzeug.wsgi import get_input_stream

from . import sigv4
from .state import DEFAULT_REGION, PARTITION, STATE, ensure_bare_repo, git_out, repo_path, repository_record

PATH_RE = re.compile(r"^/v1/repos/([A-Za-z0-9._-]{1,100})(/.*)?$")
HOST_REGION_RE = re.compile(r"git-codecommit(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com")


def _respond(
    start_response: Callable[..., Any],
    status: str,
    body: str,
    extra: list[tuple[str, str]] | None = None,
) -> Iterable[bytes]:
    data = body.encode("utf-8")
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    headers.extend(extra or [])
    start_response(status, headers)
    return [data]


def host_variants(host: str) -> list[str]:
    """The host as sent and without its port (the AWS CLI helper signs it without)."""
    out = [host]
    m = re.match(r"^(\[[^\]]+\]|[^:]+):(\d+)$", host)
    if m:
        out.append(m.group(1))
    return out


class AuthFailure(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def authenticate(
    environ: dict[str, Any], repo_name: str, now: _dt.datetime | None = None
) -> tuple[str, str, str]:
    """Return (access key id, account, region) or raise AuthFailure."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    auth = environ.get("HTTP_AUTHORIZATION", "")
    if not auth.lower().startswith("basic "):
        raise AuthFailure(401, "authentication required")
    try:
        user, _, pw = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
    except Exception as e:
        raise AuthFailure(403, f"malformed basic credentials: {e}")
    akid, token = sigv4.split_username(user)
    with STATE.lock:
        account = None
        key = None
        for acct, acct_backends in list(iam_backends.items()):
            if PARTITION in acct_backends.keys():
                k = acct_backends[PARTITION].access_keys.get(akid)
                if k is not None:
                    account, key = acct, k
                    break
        if key is None:
            raise AuthFailure(403, f"unknown access key {akid}")
        if getattr(key, "status", "Active") != "Active":
            raise AuthFailure(403, f"access key {akid} is not active")
        assumed = sts_backends[account][PARTITION].get_assumed_role_from_access_key(akid)
        now = now or _dt.datetime.now(_dt.timezone.utc)
        if assumed is not None:
            if token != assumed.session_token:
                raise AuthFailure(403, "the security token included in the request is invalid")
            exp = assumed.expiration
            if exp.tzinfo is None:
                exp = exp.replace(tzinfo=_dt.timezone.utc)
            if exp <= now:
                raise AuthFailure(403, "the security token included in the request is expired")
        elif token:
            raise AuthFailure(403, "the security token included in the request is invalid")
        # Candidate signing regions: the host's, the regions where the account
        # has this repository, then the default.
        regions: list[str] = []
        host = environ.get("HTTP_HOST", "")
        m = HOST_REGION_RE.search(host)
        if m:
            regions.append(m.group(1))
        from moto.codecommit.models import codecommit_backends

        if account in codecommit_backends:
            for region, backend in list(codecommit_backends[account].items()):
                if repo_name in backend.repositories and region not in regions:
                    regions.append(region)
        if DEFAULT_REGION not in regions:
            regions.append(DEFAULT_REGION)
        secret = key.secret_access_key
    try:
        region = sigv4.verify(
            pw, secret, f"/v1/repos/{repo_name}", host_variants(host), regions, now=now
        )
    except sigv4.VerifyError as e:
        raise AuthFailure(403, str(e))
    return akid, account, region


def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    m = PATH_RE.match(path)
    if not m:
        return _respond(start_response, "404 Not Found", "repository not found\n")
    name, rest = m.group(1), m.group(2) or "/"
    query = environ.get("QUERY_STRING", "")
    if rest == "/info/refs":
        svc = "GitPush" if "service=git-receive-pack" in query else "GitPull"
    elif rest == "/git-receive-pack":
        svc = "GitPush"
    else:
        svc = "GitPull"
    with STATE.lock:
        throttle = STATE.git_throttle[0] if STATE.git_throttle else None
        if throttle:
            throttle[1] -= 1
            if throttle[1] <= 0:
                STATE.git_throttle.clear()
    if throttle:
        status = "429 Too Many Requests" if throttle[0] == 429 else "503 Service Unavailable"
        return _respond(start_response, status, "Rate exceeded\n")
    try:
        akid, account, region = authenticate(environ, name)
    except AuthFailure as f:
        if f.status != 401:  # git's first, credential-less probe is not a call
            _log_call(svc, None, f.status, environ)
        print(f"xpsandbox git: {f.status} for {path}: {f.message}", file=sys.stderr, flush=True)
        if f.status == 401:
            return _respond(
                start_response,
                "401 Unauthorized",
                "authentication required\n",
                [("WWW-Authenticate", 'Basic realm="AWS CodeCommit"')],
            )
        return _respond(start_response, "403 Forbidden", f"access denied: {f.message}\n")
    with STATE.lock:
        repo = ensure_bare_repo(account, region, name)
    if repo is None:
        _log_call(svc, account, 404, environ)
        return _respond(
            start_response,
            "404 Not Found",
            f"repository '{name}' not found in account {account} ({region})\n",
        )
    body = get_input_stream(environ).read()
    with STATE.lock:
        refused = authorize_git(environ, akid, account, region, name, svc, rest, body)
    if refused:
        _log_call(svc, account, 403, environ)
        print(f"xpsandbox git: 403 for {path}: {refused}", file=sys.stderr, flush=True)
        return _respond(start_response, "403 Forbidden", refused + "\n")
    env = {
        "PATH": environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": os.path.dirname(repo),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": "/" + os.path.basename(repo) + rest,
        "REQUEST_METHOD": environ.get("REQUEST_METHOD", "GET"),
        "QUERY_STRING": query,
        "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": akid,
        "REMOTE_ADDR": environ.get("REMOTE_ADDR", "127.0.0.1"),
        "SERVER_PROTOCOL": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        "GATEWAY_INTERFACE": "CGI/1.1",
    }
    for h in ("HTTP_CONTENT_ENCODING", "HTTP_GIT_PROTOCOL", "HTTP_ACCEPT"):
        if h in environ:
            env[h] = environ[h]
    home = os.environ.get("HOME")
    if home:
        env["HOME"] = home
    proc = subprocess.run(
        ["git", "http-backend"], input=body, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if proc.stderr:
        sys.stderr.write(proc.stderr.decode("utf-8", "replace"))
    out = proc.stdout
    sep = out.find(b"\r\n\r\n")
    sep_len = 4
    if sep < 0:
        sep = out.find(b"\n\n")
        sep_len = 2
    if sep < 0:
        _log_call(svc, account, 500, environ)
        return _respond(start_response, "500 Internal Server Error", "git http-backend failed\n")
    head, payload = out[:sep].decode("latin-1"), out[sep + sep_len :]
    status = "200 OK"
    headers: list[tuple[str, str]] = []
    for line in head.splitlines():
        if not line.strip():
            continue
        k, _, v = line.partition(":")
        if k.lower() == "status":
            status = v.strip()
        else:
            headers.append((k.strip(), v.strip()))
    headers.append(("Content-Length", str(len(payload))))
    _log_call(svc, account, int(status.split()[0]), environ)
    with STATE.lock:
        STATE.git_requests.append(
            {
                "repository": name,
                "method": environ.get("REQUEST_METHOD", "GET"),
                "path": rest,
                "status": int(status.split()[0]),
                "requestBytes": len(body),
                "responseBytes": len(payload),
            }
        )
    start_response(status, headers)
    if svc == "GitPush" and rest == "/git-receive-pack":
        from .executions import poll_for_source_changes

        with STATE.lock:
            try:
                _send_reference_events(account, region, name, akid, body, environ)
            except Exception as e:  # never break the push over an event problem
                print(f"xpsandbox: events after push failed: {e!r}", file=sys.stderr, flush=True)
            try:
                poll_for_source_changes(force=True)
            except Exception as e:  # never break the push over a poll problem
                print(f"xpsandbox: poll after push failed: {e!r}", file=sys.stderr, flush=True)
    return [payload]


def _send_reference_events(
    account: str, region: str, name: str, akid: str, body: bytes, environ: dict[str, Any]
) -> None:
    """CodeCommit's event for each ref the push moved (a refused update moves nothing)."""
    from . import event_routing, iam_store

    path = repo_path(account, region, (repository_record(account, region, name) or {}).get("repositoryId", ""))
    caller = iam_store.principal_of_key(akid).arn
    for old, new, ref in pushed_commands(body, environ.get("HTTP_CONTENT_ENCODING", "")):
        now = (git_out(path, "rev-parse", "--verify", "--quiet", ref) or "").strip() or event_routing.ZERO
        if now == new:
            event_routing.reference_changed(account, region, name, ref, old, new, caller)


def pushed_refs(body: bytes, encoding: str = "") -> list[str]:
    """The refs a git-receive-pack request updates."""
    return [ref for _, _, ref in pushed_commands(body, encoding)]


def pushed_commands(body: bytes, encoding: str = "") -> list[tuple[str, str, str]]:
    """(old, new, ref) for each ref a git-receive-pack request updates (its command list:
    pkt-lines "<old> <new> <ref>[\\0<capabilities>]" up to the first flush-pkt)."""
    if encoding.lower() in ("gzip", "x-gzip"):
        import gzip

        try:
            body = gzip.decompress(body)
        except OSError:
            return []
    refs: list[tuple[str, str, str]] = []
    i = 0
    while i + 4 <= len(body):
        try:
            n = int(body[i : i + 4], 16)
        except ValueError:
            break
        if n == 0:
            break
        if n < 4:
            break
        line = body[i + 4 : i + n].split(b"\0", 1)[0].rstrip(b"\n")
        i += n
        parts = line.split(b" ")
        if len(parts) == 3 and len(parts[0]) in (40, 64):
            old, new, ref = (p.decode("utf-8", "replace") for p in parts)
            refs.append((old, new, ref))
    return refs


def authorize_git(
    environ: dict[str, Any], akid: str, account: str, region: str, name: str, svc: str, rest: str, body: bytes
) -> str | None:
    """codecommit:GitPull / codecommit:GitPush on the repository, by the signer's identity
    policies (CodeCommit has no resource policies). A push names the refs it updates in
    codecommit:References; the ref advertisement that precedes it carries none. The refusal
    text, or None. Call with STATE.lock held."""
    from . import iam_eval, iam_store, sts_auth

    caller = iam_store.principal_of_key(akid)
    ctx = sts_auth.request_context(None, caller, akid)
    ctx["aws:RequestedRegion"] = region
    if svc == "GitPush" and rest == "/git-receive-pack":
        refs = pushed_refs(body, environ.get("HTTP_CONTENT_ENCODING", ""))
        if refs:
            ctx["codecommit:References"] = refs
    repo_arn = f"arn:{PARTITION}:codecommit:{region}:{account}:{name}"
    req = iam_eval.Request(caller, f"codecommit:{svc}", repo_arn, ctx)
    d = iam_eval.authorize(req)
    return None if d.allowed else d.message(req)


def _log_call(action: str, account: str | None, status: int, environ: dict[str, Any]) -> None:
    # Only the request that does the work counts (not the ref advertisement):
    # one GitPush per push, one GitPull per fetch, plus every refused request.
    rest = environ.get("PATH_INFO", "")
    if status < 400 and "/info/refs" in rest:
        return
    with STATE.lock:
        STATE.calls.append(
            {"service": "codecommit", "action": action, "account": account, "status": status}
        )
