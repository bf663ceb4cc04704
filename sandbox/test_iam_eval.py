"""The IAM policy evaluator on its own: documents in, decisions out (no server)."""

from xpsandbox.iam_eval import Principal, Request, authorize, conditions_hold

PA = "111111111111"
SA = "222222222222"
ROLE = f"arn:aws:iam::{SA}:role/path/cross"
REPO = f"arn:aws:codecommit:eu-west-1:{SA}:repo"
KEY = f"arn:aws:kms:eu-west-1:{PA}:key/1234"


def pol(*stmts):
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def allow(action, resource="*", **kw):
    return dict({"Effect": "Allow", "Action": action, "Resource": resource}, **kw)


def deny(action, resource="*", **kw):
    return dict({"Effect": "Deny", "Action": action, "Resource": resource}, **kw)


def session(account=SA, role="cross", path="/path/", policies=(), **kw):
    return Principal(
        account=account,
        arn=f"arn:aws:sts::{account}:assumed-role/{role}/s1",
        kind="role",
        role_arn=f"arn:aws:iam::{account}:role{path}{role}",
        identity_policies=list(policies),
        **kw,
    )


def user(account=PA, name="alice", policies=()):
    return Principal(account=account, arn=f"arn:aws:iam::{account}:user/{name}", kind="user", identity_policies=list(policies))


def decide(principal, action, resource, ctx=None, resource_policy=None, **kw):
    return authorize(Request(principal, action, resource, ctx or {}), resource_policy, **kw)


# ------------------------------------------------------------------ Action / Resource


def test_action_wildcards_and_case():
    p = session(policies=[pol(allow("CodeCommit:Git*", REPO))])
    assert decide(p, "codecommit:GitPush", REPO).allowed
    assert decide(p, "codecommit:GitPull", REPO).allowed
    assert not decide(p, "codecommit:GetBranch", REPO).allowed
    p = session(policies=[pol(allow("codecommit:Get?ranch", REPO))])
    assert decide(p, "codecommit:GetBranch", REPO).allowed
    assert not decide(p, "codecommit:GetBranches", REPO).allowed


def test_not_action():
    p = session(policies=[pol({"Effect": "Allow", "NotAction": "codecommit:GitPush", "Resource": REPO})])
    assert decide(p, "codecommit:GitPull", REPO).allowed
    assert not decide(p, "codecommit:GitPush", REPO).allowed


def test_resource_wildcards_are_case_sensitive_and_not_resource():
    p = session(policies=[pol(allow("s3:PutObject", "arn:aws:s3:::bucket/*"))])
    assert decide(p, "s3:PutObject", "arn:aws:s3:::bucket/a/b.zip", resource_account=SA).allowed
    assert not decide(p, "s3:PutObject", "arn:aws:s3:::Bucket/a", resource_account=SA).allowed
    assert not decide(p, "s3:PutObject", "arn:aws:s3:::bucket", resource_account=SA).allowed
    p = session(policies=[pol({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"})])
    assert decide(p, "s3:GetObject", "arn:aws:s3:::bucket/x", resource_account=SA).allowed
    assert not decide(p, "s3:GetObject", "arn:aws:s3:::secret/x", resource_account=SA).allowed


def test_implicit_deny_names_the_missing_identity_grant():
    p = session(policies=[pol(allow("codecommit:GitPull", REPO))])
    req = Request(p, "codecommit:GitPush", REPO, {})
    d = authorize(req)
    assert not d.allowed
    assert d.message(req) == (
        f"User: arn:aws:sts::{SA}:assumed-role/cross/s1 is not authorized to perform: codecommit:GitPush "
        f"on resource: {REPO} because no identity-based policy allows the codecommit:GitPush action"
    )


def test_explicit_deny_wins_over_any_allow():
    p = session(policies=[pol(allow("*")), pol(deny("codecommit:GitPush", REPO))])
    req = Request(p, "codecommit:GitPush", REPO, {})
    d = authorize(req)
    assert not d.allowed
    assert d.message(req).endswith("with an explicit deny in an identity-based policy")
    # a Deny in the resource policy wins over an identity Allow too
    bucket_policy = pol(deny("s3:*", "arn:aws:s3:::b/*", Principal="*"))
    d = decide(session(policies=[pol(allow("s3:*"))]), "s3:GetObject", "arn:aws:s3:::b/k", resource_policy=bucket_policy, resource_account=SA)
    assert not d.allowed and d.reason == "explicit deny in a resource-based policy"


def test_session_policy_and_boundary_intersect():
    full = pol(allow("*"))
    p = session(policies=[full], session_policy=pol(allow("codecommit:GitPull")))
    assert decide(p, "codecommit:GitPull", REPO).allowed
    d = decide(p, "codecommit:GitPush", REPO)
    assert not d.allowed and d.reason == "no session policy allows"
    p = session(policies=[full], boundary=pol(allow("s3:*")))
    d = decide(p, "codecommit:GitPull", REPO)
    assert not d.allowed and d.reason == "no permissions boundary allows"


# ------------------------------------------------------------------ Principal forms


def trust(principal, **kw):
    return pol(dict({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}, **kw))


def assume(p, trust_doc):
    return decide(p, "sts:AssumeRole", ROLE, resource_policy=trust_doc, required_resource_policy=True)


def test_principal_role_arn_names_its_sessions_and_needs_the_identity_grant_across_accounts():
    svc_role = session(account=PA, role="svc", path="/", policies=[pol(allow("sts:AssumeRole", ROLE))])
    t = trust({"AWS": f"arn:aws:iam::{PA}:role/svc"})
    assert assume(svc_role, t).allowed
    # cross-account: the trust alone is not enough
    no_grant = session(account=PA, role="svc", path="/")
    d = assume(no_grant, t)
    assert not d.allowed and d.reason == "no identity-based policy allows"
    # another role of the same account is not named
    assert not assume(session(account=PA, role="other", path="/", policies=[pol(allow("*"))]), t).allowed
    # a session ARN names that session only
    assert assume(svc_role, trust({"AWS": f"arn:aws:sts::{PA}:assumed-role/svc/s1"})).allowed


def test_principal_account_forms_delegate_to_identity_policies():
    granted = user(policies=[pol(allow("sts:AssumeRole", ROLE))])
    for form in (f"arn:aws:iam::{PA}:root", PA):
        assert assume(granted, trust({"AWS": form})).allowed, form
        assert not assume(user(), trust({"AWS": form})).allowed, form
    assert not assume(granted, trust({"AWS": "333333333333"})).allowed
    assert assume(granted, trust("*")).allowed
    assert assume(granted, trust({"AWS": "*"})).allowed


def test_same_account_trust_naming_the_principal_needs_no_identity_grant():
    same = session(account=SA, role="dev", path="/")
    assert assume(same, trust({"AWS": f"arn:aws:iam::{SA}:role/dev"})).allowed
    # naming the account delegates: then the identity policy must allow
    d = assume(same, trust({"AWS": f"arn:aws:iam::{SA}:root"}))
    assert not d.allowed and d.reason == "no identity-based policy allows"


def test_service_principal():
    svc = Principal(account="", arn="codepipeline.amazonaws.com", kind="service", service="codepipeline.amazonaws.com")
    assert assume(svc, trust({"Service": "codepipeline.amazonaws.com"})).allowed
    assert assume(svc, trust({"Service": ["codebuild.amazonaws.com", "codepipeline.amazonaws.com"]})).allowed
    assert not assume(svc, trust({"Service": "codebuild.amazonaws.com"})).allowed
    assert not assume(svc, trust({"AWS": f"arn:aws:iam::{PA}:root"})).allowed


def test_not_principal():
    granted = user(policies=[pol(allow("sts:AssumeRole", ROLE))])
    t = pol({"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{PA}:user/alice"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": PA}, "Action": "sts:AssumeRole"})
    assert assume(granted, t).allowed
    bob = user(name="bob", policies=[pol(allow("sts:AssumeRole", ROLE))])
    assert not assume(bob, t).allowed


# ------------------------------------------------------------------ cross-account resources


def test_cross_account_needs_both_identity_and_resource_policy():
    role = session(account=SA, policies=[pol(allow("s3:PutObject", "arn:aws:s3:::b/*"))])
    bucket = pol(dict(allow("s3:PutObject", "arn:aws:s3:::b/*"), Principal={"AWS": ROLE}))
    assert decide(role, "s3:PutObject", "arn:aws:s3:::b/k", resource_policy=bucket, resource_account=PA).allowed
    d = decide(role, "s3:PutObject", "arn:aws:s3:::b/k", resource_policy=None, resource_account=PA)
    assert not d.allowed and d.reason == "no resource-based policy allows"
    d = decide(session(account=SA), "s3:PutObject", "arn:aws:s3:::b/k", resource_policy=bucket, resource_account=PA)
    assert not d.allowed and d.reason == "no identity-based policy allows"
    # cross-account refusals carry no reason (AWS gives it within an account only)
    req = Request(session(account=SA), "s3:PutObject", "arn:aws:s3:::b/k", {})
    assert "because" not in d.message(req)


def test_same_account_either_side_allows_except_when_the_resource_policy_only_names_the_account():
    builder = session(account=PA, role="build", path="/")
    bucket = pol(dict(allow("s3:GetObject", "arn:aws:s3:::b/*"), Principal={"AWS": f"arn:aws:iam::{PA}:role/build"}))
    assert decide(builder, "s3:GetObject", "arn:aws:s3:::b/k", resource_policy=bucket, resource_account=PA).allowed
    by_account = pol(dict(allow("s3:GetObject", "arn:aws:s3:::b/*"), Principal={"AWS": PA}))
    assert not decide(builder, "s3:GetObject", "arn:aws:s3:::b/k", resource_policy=by_account, resource_account=PA).allowed


# ------------------------------------------------------------------ KMS key policies


DELEGATION = {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PA}:root"}, "Action": "kms:*", "Resource": "*"}


def test_key_policy_root_delegation_lets_identity_policies_count():
    granted = session(account=PA, role="build", path="/", policies=[pol(allow("kms:Decrypt", KEY))])
    assert decide(granted, "kms:Decrypt", KEY, resource_policy=pol(DELEGATION), required_resource_policy=True).allowed
    # without the delegation statement, the identity policy has no effect in the same account
    source_only = pol(dict(allow("kms:*"), Principal={"AWS": ROLE}))
    d = decide(granted, "kms:Decrypt", KEY, resource_policy=source_only, required_resource_policy=True)
    assert not d.allowed and d.reason == "no resource-based policy allows"
    # the delegation without an identity grant is not enough either
    d = decide(session(account=PA, role="build", path="/"), "kms:Decrypt", KEY, resource_policy=pol(DELEGATION), required_resource_policy=True)
    assert not d.allowed and d.reason == "no identity-based policy allows"


def test_key_policy_naming_a_foreign_role_still_needs_its_identity_grant():
    key_policy = pol(DELEGATION, dict(allow("kms:GenerateDataKey*"), Principal={"AWS": ROLE}))
    role = session(account=SA, policies=[pol(allow("kms:GenerateDataKey*", KEY))])
    assert decide(role, "kms:GenerateDataKey", KEY, resource_policy=key_policy, required_resource_policy=True).allowed
    assert not decide(session(account=SA), "kms:GenerateDataKey", KEY, resource_policy=key_policy, required_resource_policy=True).allowed
    d = decide(role, "kms:GenerateDataKey", KEY, resource_policy=pol(DELEGATION), required_resource_policy=True)
    assert not d.allowed
    req = Request(role, "kms:GenerateDataKey", KEY, {})
    assert d.message(req) == f"User: {role.arn} is not authorized to perform: kms:GenerateDataKey on resource: {KEY}"


# ------------------------------------------------------------------ conditions


def test_string_equals_and_its_if_exists_form():
    c = {"StringEquals": {"sts:ExternalId": "ext-1"}}
    assert conditions_hold(c, {"sts:ExternalId": "ext-1"})
    assert not conditions_hold(c, {"sts:ExternalId": "ext-2"})
    assert not conditions_hold(c, {})  # absent key: false
    c = {"StringEqualsIfExists": {"codecommit:References": ["refs/heads/main"]}}
    assert conditions_hold(c, {})
    assert conditions_hold(c, {"codecommit:References": ["refs/heads/main"]})
    assert not conditions_hold(c, {"codecommit:References": ["refs/heads/other"]})


def test_negated_operators_hold_for_an_absent_key():
    assert conditions_hold({"StringNotEquals": {"aws:PrincipalAccount": PA}}, {})
    assert not conditions_hold({"StringNotEquals": {"aws:PrincipalAccount": PA}}, {"aws:PrincipalAccount": PA})
    assert conditions_hold({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}}, {})


def test_string_like_and_keys_are_case_insensitive():
    c = {"StringLike": {"codecommit:references": "refs/heads/feature/*"}}
    assert conditions_hold(c, {"codecommit:References": ["refs/heads/feature/a"]})
    assert not conditions_hold(c, {"codecommit:References": ["refs/heads/main"]})
    assert conditions_hold({"StringLikeIfExists": c["StringLike"]}, {})


def test_bool_and_its_if_exists_form():
    c = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert conditions_hold(c, {"aws:MultiFactorAuthPresent": "true"})
    assert not conditions_hold(c, {"aws:MultiFactorAuthPresent": "false"})
    assert not conditions_hold(c, {})
    assert conditions_hold({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"})
    # the recommended Deny: no MFA, or unknown
    deny_no_mfa = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert conditions_hold(deny_no_mfa, {})
    assert conditions_hold(deny_no_mfa, {"aws:MultiFactorAuthPresent": "false"})
    assert not conditions_hold(deny_no_mfa, {"aws:MultiFactorAuthPresent": "true"})


def test_arn_like_matches_part_by_part():
    c = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/xpipeline-*"}}
    assert conditions_hold(c, {"aws:PrincipalArn": f"arn:aws:iam::{PA}:role/xpipeline-ci"})
    assert not conditions_hold(c, {"aws:PrincipalArn": f"arn:aws:iam::{PA}:user/xpipeline-ci"})
    assert conditions_hold({"ArnEqualsIfExists": c["ArnLike"]}, {})
    assert not conditions_hold({"ArnLike": {"aws:SourceArn": "arn:aws:codepipeline:*:*:p"}}, {"aws:SourceArn": "arn:aws:codepipeline:eu-west-1:1:q"})


def test_set_operators_and_multi_valued_keys():
    refs = {"codecommit:References": ["refs/heads/main", "refs/heads/dev"]}
    both = ["refs/heads/main", "refs/heads/dev", "refs/heads/x"]
    assert conditions_hold({"ForAllValues:StringEquals": {"codecommit:References": both}}, refs)
    assert not conditions_hold({"ForAllValues:StringEquals": {"codecommit:References": ["refs/heads/main"]}}, refs)
    assert conditions_hold({"ForAnyValue:StringEquals": {"codecommit:References": ["refs/heads/dev"]}}, refs)
    assert conditions_hold({"ForAllValues:StringEquals": {"codecommit:References": ["x"]}}, {})
    assert not conditions_hold({"ForAnyValue:StringEquals": {"codecommit:References": ["x"]}}, {})
    # a plain operator on a multi-valued key: any value
    assert conditions_hold({"StringEquals": {"codecommit:References": "refs/heads/dev"}}, refs)
    assert not conditions_hold({"StringNotEquals": {"codecommit:References": "refs/heads/dev"}}, refs)


def test_null_and_every_operator_must_hold():
    assert conditions_hold({"Null": {"codecommit:References": "false"}}, {"codecommit:References": ["refs/heads/main"]})
    assert not conditions_hold({"Null": {"codecommit:References": "false"}}, {})
    assert conditions_hold({"Null": {"sts:ExternalId": "true"}}, {})
    both = {"StringEquals": {"sts:ExternalId": "e"}, "Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert not conditions_hold(both, {"sts:ExternalId": "e"})
    assert conditions_hold(both, {"sts:ExternalId": "e", "aws:MultiFactorAuthPresent": "true"})


def test_a_condition_on_the_trust_statement_decides_the_assume_role():
    granted = session(account=PA, role="svc", path="/", policies=[pol(allow("sts:AssumeRole", ROLE))])
    t = trust({"AWS": f"arn:aws:iam::{PA}:role/svc"}, Condition={"StringEquals": {"sts:ExternalId": "ext"}})
    assert not assume(granted, t).allowed  # CodePipeline sends no external id
    req = Request(granted, "sts:AssumeRole", ROLE, {"sts:ExternalId": "ext"})
    assert authorize(req, t, required_resource_policy=True).allowed


def test_unsupported_operators_fail_closed():
    p = session(policies=[pol(allow("*", Condition={"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}))])
    assert not decide(p, "codecommit:GitPull", REPO).allowed
    p = session(policies=[pol(allow("*")), pol(deny("*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}))])
    assert not decide(p, "codecommit:GitPull", REPO).allowed
