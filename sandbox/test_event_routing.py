"""CodeCommit events through EventBridge (event_routing.py): a branch update in the source
account starts the pipeline only through the whole cross-account wiring, and each missing
part stops it silently, with the reason in /_sandbox/deliveries."""

import json

from conftest import add_commit, pipeline_decl, push_to_source

PA = "123456789012"
REGION = "eu-west-1"
BUS = f"arn:aws:events:{REGION}:{PA}:event-bus/default"
TRUST_EVENTS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _policy(action: str, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})


def _role(iam, name: str, action: str, resource: str) -> str:
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_EVENTS))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="cargo-xpipeline", PolicyDocument=_policy(action, resource))
    return arn


def _pattern(sc, branch="main") -> str:
    return json.dumps(
        {
            "source": ["aws.codecommit"],
            "detail-type": ["CodeCommit Repository State Change"],
            "resources": [sc["repository_arn"]],
            "detail": {"event": ["referenceCreated", "referenceUpdated"], "referenceType": ["branch"], "referenceName": [branch]},
        }
    )


def wire(sandbox, sc, name="demo", permission=True, forward_action="events:PutEvents", start_action="codepipeline:StartPipelineExecution"):
    """What bootstrap sets up for trigger = "events"; returns the pipeline rule's ARN."""
    sa = sc["source_account"]
    src = sandbox.assume(sc["source_role_arn"])  # the sandbox allows other calls in the key's own account
    pipeline_arn = f"arn:aws:codepipeline:{REGION}:{PA}:{name}"
    events, iam = sandbox.client("events"), sandbox.client("iam")
    if permission:
        events.put_permission(EventBusName="default", Action="events:PutEvents", Principal=sa, StatementId=f"SourceAccount{sa}SendsEvents")
    start_role = _role(iam, f"{name}-events-start", start_action, pipeline_arn)
    rule = events.put_rule(Name=f"{name}-events-start", EventPattern=_pattern(sc))["RuleArn"]
    events.put_targets(Rule=f"{name}-events-start", Targets=[{"Id": "cargo-xpipeline", "Arn": pipeline_arn, "RoleArn": start_role}])
    s_events, s_iam = sandbox.client("events", src), sandbox.client("iam", src)
    forward_role = _role(s_iam, f"{name}-events-forward", forward_action, BUS)
    s_events.put_rule(Name=f"{name}-events-forward", EventPattern=_pattern(sc))
    s_events.put_targets(Rule=f"{name}-events-forward", Targets=[{"Id": "cargo-xpipeline", "Arn": BUS, "RoleArn": forward_role}])
    return rule


def _pipeline(sandbox, sc, name="demo"):
    cp = sandbox.client("codepipeline")
    cp.create_pipeline(pipeline=pipeline_decl(sc, name=name, poll=False))
    return cp


def _runs(cp, name="demo"):
    return cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]


def _git_push(sandbox, sc, d):
    creds = sandbox.assume(sc["source_role_arn"])
    sandbox.git(d, "push", sandbox.url(sc["repository"]), "main", header=sandbox.git_auth_header(creds, sc["repository"]))


def test_a_git_push_starts_the_pipeline_through_the_forwarded_event(sandbox, scenario):
    d, _ = push_to_source(sandbox, scenario)
    cp = _pipeline(sandbox, scenario)
    rule = wire(sandbox, scenario)
    sandbox.ctl("deliveries", method="DELETE")
    moved = add_commit(d, "event")
    _git_push(sandbox, scenario, d)
    latest = _runs(cp)[0]
    assert latest["trigger"] == {"triggerType": "CloudWatchEvent", "triggerDetail": rule}
    assert latest["sourceRevisions"][0]["revisionId"] == moved
    steps = [(x["account"], x["step"], x["outcome"]) for x in sandbox.ctl("deliveries")]
    assert steps == [
        (scenario["source_account"], "emit", "sent"),
        (scenario["source_account"], "forward", "delivered"),
        (PA, "start", "started"),
    ]
    # no StartPipelineExecution call: EventBridge started it
    assert sandbox.count("StartPipelineExecution") == 0


def test_the_commit_control_route_moves_the_branch_and_sends_the_event(sandbox, scenario):
    _, first = push_to_source(sandbox, scenario)
    cp = _pipeline(sandbox, scenario)
    wire(sandbox, scenario)
    out = sandbox.ctl("commit", {"account": scenario["source_account"], "repository": scenario["repository"], "branch": "main"})
    assert out["previous"] == first and out["commit"] != first
    head = sandbox.ctl(f"branch-head?account={scenario['source_account']}&repository={scenario['repository']}&branch=main")
    assert head["commit"] == out["commit"]
    assert _runs(cp)[0]["sourceRevisions"][0]["revisionId"] == out["commit"]


def _moves_start_nothing(sandbox, scenario, cp, reason_part, step):
    before = len(_runs(cp))
    sandbox.ctl("deliveries", method="DELETE")
    sandbox.ctl("commit", {"account": scenario["source_account"], "repository": scenario["repository"], "branch": "main"})
    assert len(_runs(cp)) == before
    last = sandbox.ctl("deliveries")[-1]
    assert last["step"] == step and last["outcome"] in ("refused", "dropped"), last
    assert reason_part in last["reason"], last


def test_without_the_bus_permission_nothing_starts(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp = _pipeline(sandbox, scenario)
    wire(sandbox, scenario, permission=False)
    _moves_start_nothing(sandbox, scenario, cp, "not authorized to perform: events:PutEvents on resource: " + BUS, "forward")
    # the permission given (as bootstrap does), the same update starts it; removed again, not
    sandbox.client("events").put_permission(
        EventBusName="default", Action="events:PutEvents", Principal=scenario["source_account"], StatementId="S"
    )
    n = len(_runs(cp))
    sandbox.ctl("commit", {"account": scenario["source_account"], "repository": scenario["repository"], "branch": "main"})
    assert len(_runs(cp)) == n + 1
    assert sandbox.ctl("policy", {"arn": BUS, "document": None}) == {"document": None}
    _moves_start_nothing(sandbox, scenario, cp, "events:PutEvents", "forward")


def test_a_forwarding_role_without_put_events_forwards_nothing(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp = _pipeline(sandbox, scenario)
    wire(sandbox, scenario, forward_action="events:DescribeRule")
    _moves_start_nothing(sandbox, scenario, cp, "events:PutEvents", "forward")


def test_a_start_role_without_start_pipeline_execution_starts_nothing(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp = _pipeline(sandbox, scenario)
    wire(sandbox, scenario, start_action="codepipeline:GetPipeline")
    _moves_start_nothing(sandbox, scenario, cp, "codepipeline:StartPipelineExecution", "start")


def test_a_role_eventbridge_may_not_assume_is_not_used(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp = _pipeline(sandbox, scenario)
    wire(sandbox, scenario)
    src = sandbox.assume(scenario["source_role_arn"])
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    sandbox.client("iam", src).update_assume_role_policy(RoleName="demo-events-forward", PolicyDocument=json.dumps(trust))
    _moves_start_nothing(sandbox, scenario, cp, "events.amazonaws.com is not authorized to perform: sts:AssumeRole", "forward")


def test_another_branch_or_a_rule_only_in_the_pipeline_account_starts_nothing(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp = _pipeline(sandbox, scenario)
    wire(sandbox, scenario)
    before = len(_runs(cp))
    sandbox.ctl("commit", {"account": scenario["source_account"], "repository": scenario["repository"], "branch": "feature"})
    assert len(_runs(cp)) == before
    assert sandbox.ctl("deliveries")[-1]["reason"].startswith("no enabled rule of the default bus of account " + scenario["source_account"])
    # the source account's rule gone: the pipeline account's rule alone never sees the event
    src = sandbox.assume(scenario["source_role_arn"])
    s_events = sandbox.client("events", src)
    s_events.remove_targets(Rule="demo-events-forward", Ids=["cargo-xpipeline"])
    s_events.delete_rule(Name="demo-events-forward")
    _moves_start_nothing(sandbox, scenario, cp, "no enabled rule", "match")
