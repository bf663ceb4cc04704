"""AWS refusals moto skips, applied before a request reaches moto.

1. A request signed with a temporary key (one moto's STS issued) after its
   expiration: 403 ExpiredToken, "The security token included in the request is
   expired" -- whatever the service.
2. sts:AssumeRole, judged as AWS does (iam_eval.py): the role must exist, its trust
   policy must allow the caller (with the request's sts:ExternalId,
   aws:MultiFactorAuthPresent, sts:RoleSessionName, aws:PrincipalArn, ...), and,
   across accounts or when the trust names only the caller's account, the caller's
   identity policies must allow sts:AssumeRole on the role. Refused: 403 AccessDenied,
   "User: <caller> is not authorized to perform: sts:AssumeRole on resource: <role>"
   (with AWS's "because no identity-based policy allows ..." when the caller's own
   policies refuse within one account).

Refusals are answered in the protocol of the request: XML for query (form) requests
such as STS, JSON for the JSON protocols. `record_session` remembers how a session
was issued (with MFA or not) for the requests it signs later.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any
from urllib.parse import parse_qs

from .state import PARTITION


def refusal(environ: dict[str, Any], body: bytes, akid: str | None, action: str) -> tuple[str, str] | None:
    """(code, message) when AWS would refuse the request; call with STATE.lock held."""
    if not akid:
        return None
    expired = _expired(akid)
    if expired:
        return "ExpiredToken", "The security token included in the request is expired"
    if action == "AssumeRole":
        params = parse_qs(body.decode("utf-8", "replace"))
        return _assume_role_refusal(environ, akid, {k: v[0] for k, v in params.items()})
    return None


def _assume_role_refusal(environ: dict[str, Any], akid: str, params: dict[str, str]) -> tuple[str, str] | None:
    from . import iam_eval, iam_store

    role_arn = params.get("RoleArn") or ""
    if not role_arn:
        return None  # moto answers the missing parameter
    caller = iam_store.principal_of_key(akid)
    denied = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    role = iam_store.role_by_arn(role_arn)
    if role is None:
        return "AccessDenied", denied
    ctx = request_context(environ, caller, akid)
    if params.get("SerialNumber") and params.get("TokenCode"):
        ctx["aws:MultiFactorAuthPresent"] = "true"
        ctx["aws:MultiFactorAuthAge"] = "0"
    if params.get("ExternalId") is not None:
        ctx["sts:ExternalId"] = params["ExternalId"]
    if params.get("RoleSessionName"):
        ctx["sts:RoleSessionName"] = params["RoleSessionName"]
    req = iam_eval.Request(caller, "sts:AssumeRole", role_arn, ctx)
    d = iam_eval.authorize(req, role.assume_role_policy_document, required_resource_policy=True)
    if d.allowed:
        return None
    # A refusal by the trust policy names no reason; one by the caller's own policies does
    # (within one account), as AWS's messages do.
    return "AccessDenied", d.message(req, with_reason=d.same_account and "resource-based" not in d.reason)


def request_context(environ: dict[str, Any] | None, caller: Any, akid: str | None) -> dict[str, Any]:
    """The global condition keys of a request signed by `akid` (iam_eval.py's context)."""
    import time

    from . import iam_store

    ctx: dict[str, Any] = {
        "aws:PrincipalArn": caller.principal_arn,
        "aws:PrincipalAccount": caller.account,
        "aws:PrincipalType": caller.principal_type,
        # The sandbox's plain HTTP stands in for AWS's HTTPS endpoints.
        "aws:SecureTransport": "true",
        "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "aws:EpochTime": str(int(time.time())),
    }
    if caller.kind == "user" and ":user/" in caller.arn:
        ctx["aws:username"] = caller.arn.rsplit("/", 1)[-1]
    if akid:
        mfa = iam_store.session_mfa(akid)
        if mfa is not None:
            ctx["aws:MultiFactorAuthPresent"] = "true" if mfa else "false"
    if environ is not None:
        import re

        m = re.search(r"Credential=[^/,\s]+/\d{8}/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if m:
            ctx["aws:RequestedRegion"] = m.group(1)
    return ctx


def record_session(action: str, body: bytes, status: int, response: bytes) -> None:
    """After moto answered an AssumeRole: remember whether the new session was issued with MFA
    (aws:MultiFactorAuthPresent of the requests it signs). Call with STATE.lock held."""
    import re

    from .state import STATE

    if action != "AssumeRole" or status != 200:
        return
    m = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", response)
    if not m:
        return
    params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    STATE.sessions[m.group(1).decode()] = {
        "mfa": bool(params.get("SerialNumber") and params.get("TokenCode")),
    }


def respond(environ: dict[str, Any], start_response: Any, code: str, message: str) -> list[bytes]:
    ctype = environ.get("CONTENT_TYPE", "")
    if ctype.startswith("application/x-www-form-urlencoded") or "Action=" in environ.get("QUERY_STRING", ""):
        data = (
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        ).encode("utf-8")
        headers = [("Content-Type", "text/xml")]
    else:
        data = json.dumps({"__type": code, "message": message}).encode("utf-8")
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    headers.append(("Content-Length", str(len(data))))
    start_response("403 Forbidden", headers)
    return [data]


def _xml(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _assumed(akid: str) -> Any:
    from moto.sts.models import sts_backends

    for account in list(sts_backends.keys()):
        backends = sts_backends[account]
        if PARTITION in backends.keys():
            role = backends[PARTITION].get_assumed_role_from_access_key(akid)
            if role is not None:
                return role
    return None


def _expired(akid: str) -> bool:
    role = _assumed(akid)
    if role is None:
        return False
    exp = role.expiration
    if exp.tzinfo is None:
        exp = exp.replace(tzinfo=_dt.timezone.utc)
    return exp <= _dt.datetime.now(_dt.timezone.utc)
