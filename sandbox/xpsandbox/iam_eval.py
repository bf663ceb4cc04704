"""An IAM policy evaluator: one request against identity and resource policies, as AWS decides.

Pure: documents and a request in, a `Decision` out; reading what moto stores is `iam_store.py`,
and the enforcement points are `sts_auth.py` (AssumeRole), `git_http.py` (GitPush/GitPull),
`action_permissions.py` (the Source and Build actions of an execution), `cfn_checks.py` (its
CloudFormation deploy actions) and `event_routing.py` (EventBridge's delivery of CodeCommit
events across accounts).

What it follows (IAM User Guide, "Policy evaluation logic", "Cross-account policy evaluation
logic", "Condition operators"; KMS Developer Guide, "Key policies"):

- A statement applies when its Action/NotAction, Resource/NotResource, Principal/NotPrincipal
  (resource policies only) and every Condition match. Action names are matched without regard
  to case, resources and condition values with it; `*` and `?` are wildcards in actions,
  resources, StringLike and ArnLike.
- An explicit Deny in any policy wins. Without an Allow the request is implicitly denied.
- A session policy or a permissions boundary, when present, must also allow (intersection).
- Same account: the identity policy OR a resource policy statement naming the principal allows.
  A resource statement naming the account (`"AWS": "123456789012"` or `arn:...:root`) only
  delegates to the account's identity policies.
- Cross-account: the identity policy AND the resource policy (naming the principal or its
  account) must both allow.
- Role trust policies and KMS key policies (`required_resource_policy`): the resource policy must
  allow even in the same account; a statement naming the principal is enough in the same
  account, one naming the account (the key policy's IAM delegation) needs the identity policy.
- Conditions: a key absent from the request makes a positive operator false and a negated one
  (StringNotEquals, ArnNotLike, ...) true; `...IfExists` is true when the key is absent; `Null`
  tests presence; `ForAnyValue:` is false and `ForAllValues:` true for an absent key; a plain
  operator on a multi-valued key matches when any value matches. Keys are case-insensitive.
- An operator the evaluator does not know never grants: an Allow statement using it does not
  apply and a Deny statement using it does (fail closed), and it is reported on stderr.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

ContextValue = str | list[str]


@dataclass
class Principal:
    """Who makes a request."""

    account: str
    # As AWS names it in messages: arn:aws:sts::A:assumed-role/R/S, arn:aws:iam::A:user/U,
    # arn:aws:iam::A:root, or the service's name for a service principal.
    arn: str
    kind: str  # "root" | "user" | "role" (an assumed-role session) | "service"
    # The IAM ARN of the role, for a session (arn:aws:iam::A:role/path/name).
    role_arn: str | None = None
    service: str | None = None
    identity_policies: list[Any] = field(default_factory=list)
    session_policy: Any = None
    boundary: Any = None

    @property
    def principal_arn(self) -> str:
        """aws:PrincipalArn: the role's ARN for a session, else the principal's."""
        return self.role_arn or self.arn

    @property
    def principal_type(self) -> str:
        return {"root": "Account", "user": "User", "role": "AssumedRole"}.get(self.kind, "Service")


@dataclass
class Request:
    principal: Principal
    action: str  # "service:Operation"
    resource: str  # an ARN, or "*"
    context: dict[str, ContextValue] = field(default_factory=dict)


@dataclass
class Decision:
    allowed: bool
    # Why not, in AWS's words: "explicit deny in an identity-based policy",
    # "no identity-based policy allows", "explicit deny in a resource-based policy",
    # "no resource-based policy allows", "no session policy allows",
    # "no permissions boundary allows", or "" when allowed.
    reason: str = ""
    same_account: bool = True

    def message(self, req: Request, *, with_reason: bool | None = None) -> str:
        """AWS's AccessDenied message. The reason ("because no identity-based policy allows
        the ... action") is added only within one account: AWS gives that context for
        same-account requests, not cross-account ones."""
        base = f"User: {req.principal.arn} is not authorized to perform: {req.action} on resource: {req.resource}"
        add = self.same_account if with_reason is None else with_reason
        if not add or not self.reason:
            return base
        if self.reason.startswith("explicit deny"):
            return f"{base} with an {self.reason}"
        return f"{base} because {self.reason} the {req.action} action"


# ------------------------------------------------------------------ documents


class PolicyError(ValueError):
    pass


def statements(doc: Any) -> list[dict[str, Any]]:
    """The statements of a policy document (a JSON string, bytes or a dict)."""
    import json

    if doc is None:
        return []
    if isinstance(doc, bytes):
        doc = doc.decode("utf-8")
    if isinstance(doc, str):
        if not doc.strip():
            return []
        doc = json.loads(doc)
    if not isinstance(doc, dict):
        raise PolicyError("a policy document is a JSON object")
    st = doc.get("Statement", [])
    if isinstance(st, dict):
        st = [st]
    return [s for s in st if isinstance(s, dict)]


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rx, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    if pattern == "*":
        return True
    return glob_match(pattern, action, ignore_case=True)


def resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    return arn_like(pattern, resource)


def arn_like(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals: the six colon-separated parts matched one by one (the resource part
    may hold colons), each with wildcards."""
    if pattern == "*":
        return True
    p = pattern.split(":", 5)
    a = arn.split(":", 5)
    if len(p) != 6 or len(a) != 6:
        return glob_match(pattern, arn)
    return all(glob_match(x, y) for x, y in zip(p, a))


# ----------------------------------------------------------------- principals

ACCOUNT_RE = re.compile(r"^\d{12}$")
ROOT_RE = re.compile(r"^arn:[^:]+:iam::(\d{12}):root$")
ROLE_RE = re.compile(r"^arn:([^:]+):iam::(\d{12}):role/(?:.*/)?([^/]+)$")


def principal_match(value: Any, p: Principal) -> str | None:
    """How a statement's Principal names `p`: "principal" (named, or "*"), "account" (its
    account: a delegation to the account's identity policies), or None."""
    if value == "*":
        return "principal"
    if not isinstance(value, dict):
        return None
    best: str | None = None
    for kind, entries in value.items():
        for e in _as_list(entries):
            if not isinstance(e, str):
                continue
            m = _one_principal(kind, e, p)
            if m == "principal":
                return m
            best = best or m
    return best


def _one_principal(kind: str, e: str, p: Principal) -> str | None:
    if kind == "Service":
        return "principal" if p.kind == "service" and p.service == e else None
    if kind != "AWS" or p.kind == "service":
        return None  # Federated, CanonicalUser: no such principals here
    if e == "*":
        return "principal"
    if ACCOUNT_RE.match(e):
        return "account" if e == p.account else None
    m = ROOT_RE.match(e)
    if m:
        return "account" if m.group(1) == p.account else None
    if p.kind == "role" and p.role_arn is not None:
        # A role ARN names every session of the role; a session ARN names that session.
        if e == p.role_arn or e == p.arn:
            return "principal"
        return None
    return "principal" if e == p.arn else None


# ----------------------------------------------------------------- conditions

STRING_OPS = {
    "StringEquals": (lambda pv, v: pv == v, False),
    "StringNotEquals": (lambda pv, v: pv == v, True),
    "StringEqualsIgnoreCase": (lambda pv, v: pv.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda pv, v: pv.lower() == v.lower(), True),
    "StringLike": (lambda pv, v: glob_match(pv, v), False),
    "StringNotLike": (lambda pv, v: glob_match(pv, v), True),
    "ArnEquals": (lambda pv, v: arn_like(pv, v), False),
    "ArnLike": (lambda pv, v: arn_like(pv, v), False),
    "ArnNotEquals": (lambda pv, v: arn_like(pv, v), True),
    "ArnNotLike": (lambda pv, v: arn_like(pv, v), True),
    "Bool": (lambda pv, v: pv.lower() == v.lower(), False),
    "IpAddress": (lambda pv, v: _ip_in(pv, v), False),
    "NotIpAddress": (lambda pv, v: _ip_in(pv, v), True),
}


def _num(s: str) -> float:
    return float(s)


NUMERIC_OPS = {
    "NumericEquals": (lambda pv, v: _num(v) == _num(pv), False),
    "NumericNotEquals": (lambda pv, v: _num(v) == _num(pv), True),
    "NumericLessThan": (lambda pv, v: _num(v) < _num(pv), False),
    "NumericLessThanEquals": (lambda pv, v: _num(v) <= _num(pv), False),
    "NumericGreaterThan": (lambda pv, v: _num(v) > _num(pv), False),
    "NumericGreaterThanEquals": (lambda pv, v: _num(v) >= _num(pv), False),
}


def _ip_in(cidr: str, ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


class UnsupportedCondition(Exception):
    pass


def _lookup(ctx: dict[str, ContextValue], key: str) -> list[str] | None:
    lk = key.lower()
    for k, v in ctx.items():
        if k.lower() == lk:
            return [str(x) for x in _as_list(v)]
    return None


def _policy_values(v: Any) -> list[str]:
    out = []
    for x in _as_list(v):
        if isinstance(x, bool):
            out.append("true" if x else "false")
        else:
            out.append(str(x))
    return out


def condition_holds(op: str, block: Any, ctx: dict[str, ContextValue]) -> bool:
    """One operator block (`{"StringEquals": {key: values, ...}}`): every key must hold."""
    if not isinstance(block, dict):
        raise UnsupportedCondition(f"{op}: not an object")
    qualifier = None
    name = op
    if ":" in op:
        qualifier, name = op.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise UnsupportedCondition(op)
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name[: -len("IfExists")] if if_exists else name
    for key, raw in block.items():
        values = _lookup(ctx, key)
        pvs = _policy_values(raw)
        if base == "Null":
            if qualifier or if_exists:
                raise UnsupportedCondition(op)
            want_absent = any(pv.lower() == "true" for pv in pvs)
            if (values is None) != want_absent:
                return False
            continue
        if base in STRING_OPS:
            test, negated = STRING_OPS[base]
        elif base in NUMERIC_OPS:
            test, negated = NUMERIC_OPS[base]
        else:
            raise UnsupportedCondition(op)

        def one(v: str) -> bool:
            try:
                hit = any(test(pv, v) for pv in pvs)
            except ValueError:
                hit = False
            return not hit if negated else hit

        if values is None or (qualifier and not values):
            if if_exists:
                continue
            if qualifier == "ForAllValues":
                continue
            if qualifier == "ForAnyValue":
                return False
            if negated:
                continue
            return False
        if qualifier == "ForAllValues":
            ok = all(one(v) for v in values)
        elif qualifier == "ForAnyValue":
            ok = any(one(v) for v in values)
        elif negated:
            # not (any value matches any policy value)
            ok = all(one(v) for v in values)
        else:
            ok = any(one(v) for v in values)
        if not ok:
            return False
    return True


def conditions_hold(cond: Any, ctx: dict[str, ContextValue]) -> bool:
    if not cond:
        return True
    if not isinstance(cond, dict):
        raise UnsupportedCondition("Condition is not an object")
    return all(condition_holds(op, block, ctx) for op, block in cond.items())


# ----------------------------------------------------------------- statements


def statement_applies(stmt: dict[str, Any], req: Request, *, resource_policy: bool) -> str | None:
    """None if the statement does not apply to the request; else how it names the principal:
    "principal" or "account" for a resource policy, "identity" for an identity policy."""
    if "Action" in stmt:
        if not any(action_matches(a, req.action) for a in _as_list(stmt["Action"]) if isinstance(a, str)):
            return None
    elif "NotAction" in stmt:
        if any(action_matches(a, req.action) for a in _as_list(stmt["NotAction"]) if isinstance(a, str)):
            return None
    else:
        return None
    if "Resource" in stmt:
        if not any(resource_matches(r, req.resource) for r in _as_list(stmt["Resource"]) if isinstance(r, str)):
            return None
    elif "NotResource" in stmt:
        if any(resource_matches(r, req.resource) for r in _as_list(stmt["NotResource"]) if isinstance(r, str)):
            return None
    elif not resource_policy:
        return None  # an identity statement without Resource is invalid
    how = "identity"
    if resource_policy:
        if "Principal" in stmt:
            m = principal_match(stmt["Principal"], req.principal)
            if m is None:
                return None
            how = m
        elif "NotPrincipal" in stmt:
            if principal_match(stmt["NotPrincipal"], req.principal) is not None:
                return None
            how = "principal"
        else:
            return None
    effect = stmt.get("Effect")
    try:
        if not conditions_hold(stmt.get("Condition"), req.context):
            return None
    except UnsupportedCondition as e:
        print(
            f"xpsandbox iam: condition {e} is not supported by the sandbox's evaluator; "
            f"the statement {stmt.get('Sid') or ''!r} is taken to {'deny' if effect == 'Deny' else 'not allow'}",
            file=sys.stderr,
            flush=True,
        )
        return how if effect == "Deny" else None
    return how


@dataclass
class PolicyResult:
    denied: bool = False
    allowed_by: set[str] = field(default_factory=set)  # {"identity"} or {"principal", "account"}

    @property
    def allows(self) -> bool:
        return bool(self.allowed_by) and not self.denied


def evaluate_policies(docs: Iterable[Any], req: Request, *, resource_policy: bool) -> PolicyResult:
    out = PolicyResult()
    for doc in docs:
        for stmt in statements(doc):
            how = statement_applies(stmt, req, resource_policy=resource_policy)
            if how is None:
                continue
            if stmt.get("Effect") == "Deny":
                out.denied = True
            elif stmt.get("Effect") == "Allow":
                out.allowed_by.add(how)
    return out


def resource_account_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    if len(parts) == 6 and ACCOUNT_RE.match(parts[4]):
        return parts[4]
    return None


def authorize(
    req: Request,
    resource_policy: Any = None,
    *,
    resource_account: str | None = None,
    required_resource_policy: bool = False,
) -> Decision:
    """Decide `req` against the principal's policies and the resource's policy (if any).

    `resource_account`: the account owning the resource (default: the one in its ARN; S3 ARNs
    have none, so pass it). `required_resource_policy`: role trust and KMS key policies, which
    must allow even within the account."""
    p = req.principal
    owner = resource_account or resource_account_of(req.resource) or p.account
    same = owner == p.account
    res_docs = [resource_policy] if resource_policy is not None else []
    res = evaluate_policies(res_docs, req, resource_policy=True)

    if p.kind == "service":
        # A service principal has no identity policies: the resource policy decides.
        if res.denied:
            return Decision(False, "explicit deny in a resource-based policy", False)
        if res.allowed_by:
            return Decision(True, "", False)
        return Decision(False, "no resource-based policy allows", False)

    ident = evaluate_policies(p.identity_policies, req, resource_policy=False)
    if ident.denied:
        return Decision(False, "explicit deny in an identity-based policy", same)
    if res.denied:
        return Decision(False, "explicit deny in a resource-based policy", same)
    extra = []
    if p.session_policy is not None:
        extra.append((evaluate_policies([p.session_policy], req, resource_policy=False), "session policy"))
    if p.boundary is not None:
        extra.append((evaluate_policies([p.boundary], req, resource_policy=False), "permissions boundary"))
    for r, what in extra:
        if r.denied:
            return Decision(False, f"explicit deny in a {what}", same)
    ident_ok = bool(ident.allowed_by) and all(r.allows for r, _ in extra)
    ident_reason = "no identity-based policy allows"
    for r, what in extra:
        if bool(ident.allowed_by) and not r.allows:
            ident_reason = f"no {what} allows"
    named = "principal" in res.allowed_by
    delegated = "account" in res.allowed_by

    if same:
        if required_resource_policy:
            if named:
                return Decision(True, "", True)
            if delegated:
                return Decision(ident_ok, "" if ident_ok else ident_reason, True)
            return Decision(False, "no resource-based policy allows", True)
        # A resource policy naming the principal grants by itself within the account (the
        # session/boundary limits apply to identity grants only in this simplified model).
        if ident_ok or named:
            return Decision(True, "", True)
        return Decision(False, ident_reason, True)
    # Cross-account: both sides.
    if not ident_ok:
        return Decision(False, ident_reason, False)
    if named or delegated:
        return Decision(True, "", False)
    return Decision(False, "no resource-based policy allows", False)
