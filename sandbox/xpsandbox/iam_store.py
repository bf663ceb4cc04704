"""The policies moto stores, for the evaluator (iam_eval.py): who an access key is, the
identity policies of users and roles (inline and attached managed, a user's groups too),
permissions boundaries, role trust policies, KMS key policies and S3 bucket policies.

Call with STATE.lock held (moto is not thread-safe).
"""

from __future__ import annotations

import json
from typing import Any

from .iam_eval import Principal
from .state import PARTITION, STATE

# What an unknown access key (`testing`, the default of every test) is: moto answers
# GetCallerIdentity with arn:aws:sts::ACCOUNT:user/moto for it. The sandbox takes it as an
# administrator of its account (an IAM principal allowed everything there, but not outside it),
# so the set-up calls tests make with it need no policy of their own.
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _iam(account: str) -> Any:
    from moto.iam.models import iam_backends

    if account not in iam_backends.keys() or PARTITION not in iam_backends[account].keys():
        return None
    return iam_backends[account][PARTITION]


def _managed_document(policy: Any) -> Any:
    for v in getattr(policy, "versions", []):
        if getattr(v, "is_default", False) or getattr(v, "is_default_version", False):
            return v.document
    versions = getattr(policy, "versions", [])
    return versions[-1].document if versions else None


def _managed_by_arn(account: str, arn: str) -> Any:
    iam = _iam(account)
    if iam is None:
        return None
    p = iam.managed_policies.get(arn)
    if p is None and ":aws:policy/" in arn:
        p = iam.aws_managed_policies.get(arn) if hasattr(iam, "aws_managed_policies") else None
    return _managed_document(p) if p is not None else None


def _entity_policies(entity: Any) -> list[Any]:
    docs: list[Any] = list(getattr(entity, "policies", {}).values())
    for mp in getattr(entity, "managed_policies", {}).values():
        d = _managed_document(mp)
        if d is not None:
            docs.append(d)
    return docs


def role(account: str, name: str) -> Any:
    from moto.iam.exceptions import NotFoundException

    iam = _iam(account)
    if iam is None:
        return None
    try:
        return iam.get_role(name)
    except NotFoundException:
        return None


def role_by_arn(arn: str) -> Any:
    parts = arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("role/"):
        return None
    r = role(parts[4], parts[5].split("/")[-1])
    if r is None or r.arn != arn:
        return None  # the path is part of the ARN
    return r


def role_policies(r: Any) -> list[Any]:
    return _entity_policies(r)


def role_boundary(r: Any) -> Any:
    arn = getattr(r, "permissions_boundary_arn", None)
    return _managed_by_arn(r.account_id, arn) if arn else None


def session_principal(role_obj: Any, session_name: str, session_policy: Any = None) -> Principal:
    """A session of `role_obj` (what AssumeRole hands out)."""
    account = role_obj.account_id
    return Principal(
        account=account,
        arn=f"arn:{PARTITION}:sts::{account}:assumed-role/{role_obj.name}/{session_name}",
        kind="role",
        role_arn=role_obj.arn,
        identity_policies=role_policies(role_obj),
        session_policy=session_policy,
        boundary=role_boundary(role_obj),
    )


def service_principal(service: str) -> Principal:
    return Principal(account="", arn=service, kind="service", service=service)


def principal_of_key(akid: str) -> Principal:
    """The principal behind an access key: an STS session, an IAM user, or the account's
    administrator for a key the sandbox does not know."""
    from moto.iam.models import get_account_id_from
    from moto.sts.models import sts_backends

    for account in list(sts_backends.keys()):
        backends = sts_backends[account]
        if PARTITION not in backends.keys():
            continue
        s = backends[PARTITION].get_assumed_role_from_access_key(akid)
        if s is None:
            continue
        info = STATE.sessions.get(akid, {})
        r = role_by_arn(s.role_arn)
        policy = json.loads(s.policy) if s.policy else None
        if r is not None:
            return session_principal(r, s.session_name, policy)
        # The role was deleted after the session was issued: it keeps no permission.
        name = s.role_arn.split("/")[-1]
        return Principal(
            account=s.account_id,
            arn=f"arn:{PARTITION}:sts::{s.account_id}:assumed-role/{name}/{s.session_name}",
            kind="role",
            role_arn=s.role_arn,
            session_policy=policy or info.get("policy"),
        )
    account = get_account_id_from(akid)
    iam = _iam(account)
    if iam is not None:
        user = iam.get_user_from_access_key_id(akid)
        if user is not None:
            docs = _entity_policies(user)
            for g in iam.get_groups_for_user(user.name):
                docs.extend(_entity_policies(g))
            boundary_arn = getattr(user, "permissions_boundary_arn", None) or getattr(
                user, "permissions_boundary", None
            )
            boundary = _managed_by_arn(account, boundary_arn) if isinstance(boundary_arn, str) else None
            return Principal(account=account, arn=user.arn, kind="user", identity_policies=docs, boundary=boundary)
    return Principal(
        account=account,
        arn=f"arn:{PARTITION}:sts::{account}:user/moto",
        kind="user",
        identity_policies=[ADMIN_POLICY],
    )


def session_mfa(akid: str) -> bool | None:
    """Whether the session behind a temporary key was obtained with MFA; None for long-term
    keys (AWS leaves aws:MultiFactorAuthPresent out of their requests)."""
    info = STATE.sessions.get(akid)
    if info is None:
        return None
    return bool(info.get("mfa"))


# ------------------------------------------------------------- resource policies


def kms_key(arn_or_id: str, account: str, region: str) -> Any:
    """moto's key for an ARN, key id, alias name or alias ARN; None if absent."""
    from moto.kms.models import kms_backends

    parts = arn_or_id.split(":", 5)
    if len(parts) == 6:
        account, region = parts[4], parts[3]
        ident = parts[5]
    else:
        ident = arn_or_id
    if account not in kms_backends.keys() or region not in kms_backends[account].keys():
        return None
    kms = kms_backends[account][region]
    if ident.startswith("key/"):
        ident = ident[4:]
    if ident.startswith("alias/"):
        ident = kms.get_key_id_from_alias(ident) or ""
    return kms.keys.get(ident)


def bucket(name: str) -> tuple[Any, str | None]:
    """(moto's bucket, owning account) or (None, None)."""
    from moto.s3.models import s3_backends

    for account in list(s3_backends.keys()):
        backends = s3_backends[account]
        if PARTITION not in backends.keys():
            continue
        b = backends[PARTITION].buckets.get(name)
        if b is not None:
            return b, account
    return None, None


def bucket_policy(b: Any) -> Any:
    pol = getattr(b, "policy", None)
    if not pol:
        return None
    return pol.decode("utf-8") if isinstance(pol, bytes) else pol
