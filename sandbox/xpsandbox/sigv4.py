"""The SigV4 "GIT" password scheme CodeCommit uses for git over HTTPS.

Username: ``AccessKeyId`` or ``AccessKeyId%SessionToken``.
Password: ``<YYYYMMDDTHHMMSS>Z<hex signature>`` where the signature is SigV4
(service ``codecommit``) over the canonical request
``GIT\\n/v1/repos/<name>\\n\\nhost:<host>\\n\\nhost\\n``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re

SERVICE = "codecommit"
CLOCK_SKEW = _dt.timedelta(minutes=15)
_PASSWORD_RE = re.compile(r"^(\d{8}T\d{6})Z([0-9a-f]{64})$")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def canonical_request(path: str, host: str) -> str:
    return f"GIT\n{path}\n\nhost:{host}\n\nhost\n"


def signature(secret: str, region: str, path: str, host: str, timestamp: str) -> str:
    """Hex signature for ``timestamp`` (``YYYYMMDDTHHMMSS``, no ``Z``)."""
    date = timestamp[:8]
    scope = f"{date}/{region}/{SERVICE}/aws4_request"
    creq = canonical_request(path, host)
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            timestamp,
            scope,
            hashlib.sha256(creq.encode("utf-8")).hexdigest(),
        ]
    )
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, SERVICE)
    key = _hmac(key, "aws4_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def password(
    secret: str,
    region: str,
    path: str,
    host: str,
    when: _dt.datetime | str | None = None,
) -> str:
    """The git password for ``path`` (``/v1/repos/<name>``) on ``host``."""
    if when is None:
        when = _dt.datetime.now(_dt.timezone.utc)
    if isinstance(when, _dt.datetime):
        when = when.strftime("%Y%m%dT%H%M%S")
    return f"{when}Z{signature(secret, region, path, host, when)}"


def username(access_key_id: str, session_token: str | None = None) -> str:
    return f"{access_key_id}%{session_token}" if session_token else access_key_id


def split_username(user: str) -> tuple[str, str | None]:
    if "%" in user:
        akid, token = user.split("%", 1)
        return akid, token
    return user, None


class VerifyError(Exception):
    """The password does not verify; ``reason`` says why (for logs, not clients)."""


def parse_password(pw: str) -> tuple[str, str]:
    m = _PASSWORD_RE.match(pw)
    if not m:
        raise VerifyError("password is not <YYYYMMDDTHHMMSS>Z<hex signature>")
    return m.group(1), m.group(2)


def verify(
    pw: str,
    secret: str,
    path: str,
    hosts: list[str],
    regions: list[str],
    now: _dt.datetime | None = None,
) -> str:
    """Check ``pw``; return the region it was signed for, or raise VerifyError.

    ``hosts`` are the host spellings accepted (with and without port),
    ``regions`` the candidate signing regions. The timestamp must be within
    15 minutes of ``now``.
    """
    timestamp, sig = parse_password(pw)
    try:
        signed_at = _dt.datetime.strptime(timestamp, "%Y%m%dT%H%M%S").replace(
            tzinfo=_dt.timezone.utc
        )
    except ValueError as e:
        raise VerifyError(f"bad timestamp {timestamp}") from e
    if now is None:
        now = _dt.datetime.now(_dt.timezone.utc)
    if abs(now - signed_at) > CLOCK_SKEW:
        raise VerifyError(f"timestamp {timestamp} outside the 15 minute window")
    for region in regions:
        for host in hosts:
            expected = signature(secret, region, path, host, timestamp)
            if hmac.compare_digest(expected, sig):
                return region
    raise VerifyError("signature does not match")
