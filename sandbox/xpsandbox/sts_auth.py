"""Two checks AWS makes and moto does not, applied before a request reaches moto.

1. A request signed with a temporary key (one moto's STS issued) after its
   expiration: 403 ExpiredToken, "The security token included in the request is
   expired" -- whatever the service.
2. sts:AssumeRole of a role that does not exist in its account: 403
   AccessDenied, "User: <caller> is not authorized to perform: sts:AssumeRole on
   resource: <role>". (Trust policies are not evaluated: the sandbox's own tests
   assume service roles to get keys of the pipeline account.)

Both are answered in the protocol of the request: XML for query (form) requests
such as STS, JSON for the JSON protocols.
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
        role_arn = (params.get("RoleArn") or [""])[0]
        if role_arn and not _role_exists(role_arn):
            return (
                "AccessDenied",
                f"User: {_caller_arn(akid)} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            )
    return None


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


def _caller(akid: str) -> tuple[str, str]:
    from moto.iam.models import get_account_id_from

    role = _assumed(akid)
    if role is not None:
        return role.account_id, role.arn
    account = get_account_id_from(akid)
    return account, f"arn:aws:sts::{account}:user/moto"


def _caller_arn(akid: str) -> str:
    return _caller(akid)[1]


def _role_exists(role_arn: str) -> bool:
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return False
    account, name = parts[4], parts[5].split("/")[-1]
    if account not in iam_backends.keys() or PARTITION not in iam_backends[account].keys():
        return False
    try:
        iam_backends[account][PARTITION].get_role(name)
    except NotFoundException:
        return False
    return True
