"""CodePipeline executions: start, follow, fail, stop, supersede, poll."""

import time

import pytest
from botocore.exceptions import ClientError
from conftest import add_commit, pipeline_decl, push_to_source, wait_execution


def _create(sandbox, sc, **kw):
    cp = sandbox.client("codepipeline")
    decl = pipeline_decl(sc, **kw)
    cp.create_pipeline(pipeline=decl)
    return cp, decl["name"]


def test_commit_id_override_is_the_revision_and_succeeds(sandbox, scenario):
    d, first = push_to_source(sandbox, scenario, "first commit")
    second = add_commit(d, "second commit")
    creds = sandbox.assume(scenario["source_role_arn"])
    sandbox.git(d, "push", sandbox.url(scenario["repository"]), "main", header=sandbox.git_auth_header(creds, scenario["repository"]))
    cp, name = _create(sandbox, scenario)
    eid = cp.start_pipeline_execution(
        name=name,
        clientRequestToken="tok-1",
        sourceRevisions=[{"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": first}],
    )["pipelineExecutionId"]
    e = wait_execution(cp, name, eid)
    assert e["status"] == "Succeeded"
    assert e["trigger"]["triggerType"] == "StartPipelineExecution"
    assert [(r["name"], r["revisionId"], r["revisionSummary"]) for r in e["artifactRevisions"]] == [
        ("SourceArtifact", first, "first commit")
    ]
    summaries = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    mine = next(s for s in summaries if s["pipelineExecutionId"] == eid)
    assert mine["sourceRevisions"] == [
        {"actionName": "Source", "revisionId": first, "revisionSummary": "first commit", "revisionUrl": mine["sourceRevisions"][0]["revisionUrl"]}
    ]
    assert mine["status"] == "Succeeded"
    assert mine["startTime"] <= mine["lastUpdateTime"]
    # the CreatePipeline execution took the branch head
    created = [s for s in summaries if s["trigger"]["triggerType"] == "CreatePipeline"]
    assert len(created) == 1 and created[0]["sourceRevisions"][0]["revisionId"] == second
    state = cp.get_pipeline_state(name=name)
    src = state["stageStates"][0]["actionStates"][0]["latestExecution"]
    assert state["stageStates"][1]["latestExecution"] == {"pipelineExecutionId": eid, "status": "Succeeded"}
    assert src["status"] == "Succeeded" and src["externalExecutionId"] == first and src["summary"] == "first commit"
    acts = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
    assert {a["actionName"] for a in acts} == {"Source", "Build"}
    assert all(a["pipelineExecutionId"] == eid and a["status"] == "Succeeded" for a in acts)
    source = next(a for a in acts if a["actionName"] == "Source")
    assert source["output"]["outputVariables"]["CommitId"] == first
    assert source["input"]["roleArn"] == scenario["source_role_arn"]


def test_execution_is_in_progress_then_advances_with_time(sandbox, scenario):
    push_to_source(sandbox, scenario)
    sandbox.ctl("stage-seconds", {"seconds": 1.0})
    cp, name = _create(sandbox, scenario, mode="PARALLEL")
    eid = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    e = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=eid)["pipelineExecution"]
    assert e["status"] == "InProgress"
    st = cp.get_pipeline_state(name=name)["stageStates"]
    assert st[0]["actionStates"][0]["latestExecution"]["status"] == "InProgress"
    time.sleep(1.2)
    st = cp.get_pipeline_state(name=name)["stageStates"]
    assert st[0]["latestExecution"]["status"] == "Succeeded"
    assert st[1]["latestExecution"]["status"] == "InProgress"
    assert wait_execution(cp, name, eid)["status"] == "Succeeded"


def test_injected_failure_ends_failed_with_its_message(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario)
    sandbox.ctl("failures", {"pipeline": name, "action": "Build", "message": "cargo test: 3 tests failed"})
    # the CreatePipeline execution is the next one to run Build: it takes the failure
    first = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    e = wait_execution(cp, name, first)
    assert e["status"] == "Failed"
    state = cp.get_pipeline_state(name=name)
    build = state["stageStates"][1]
    assert build["latestExecution"] == {"pipelineExecutionId": first, "status": "Failed"}
    latest = build["actionStates"][0]["latestExecution"]
    assert latest["status"] == "Failed"
    assert latest["errorDetails"] == {"code": "JobFailed", "message": "cargo test: 3 tests failed"}
    assert latest["externalExecutionId"].startswith(scenario["build_project"] + ":")
    # the failure was consumed: the next execution succeeds
    eid = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(cp, name, eid)["status"] == "Succeeded"


def test_repeated_client_request_token_returns_the_same_execution(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario)
    a = cp.start_pipeline_execution(name=name, clientRequestToken="same-token-123")["pipelineExecutionId"]
    b = cp.start_pipeline_execution(name=name, clientRequestToken="same-token-123")["pipelineExecutionId"]
    c = cp.start_pipeline_execution(name=name, clientRequestToken="other-token-456")["pipelineExecutionId"]
    assert a == b != c
    assert len(cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]) == 3  # + CreatePipeline's


def test_missing_branch_and_missing_commit_fail_like_aws(sandbox, scenario):
    cp, name = _create(sandbox, scenario)  # nothing pushed yet
    first = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    assert first["trigger"]["triggerType"] == "CreatePipeline"
    assert wait_execution(cp, name, first["pipelineExecutionId"])["status"] == "Failed"
    err = cp.get_pipeline_state(name=name)["stageStates"][0]["actionStates"][0]["latestExecution"]["errorDetails"]
    assert "no branch named main" in err["message"] and scenario["repository"] in err["message"]
    push_to_source(sandbox, scenario)
    eid = cp.start_pipeline_execution(
        name=name, sourceRevisions=[{"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": "0" * 40}]
    )["pipelineExecutionId"]
    assert wait_execution(cp, name, eid)["status"] == "Failed"
    acts = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
    assert [a["actionName"] for a in acts] == ["Source"]
    assert "0" * 40 in acts[0]["output"]["executionResult"]["errorDetails"]["message"]


def test_v1_pipelines_refuse_source_revisions(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario, ptype="V1")
    with pytest.raises(ClientError) as ei:
        cp.start_pipeline_execution(
            name=name, sourceRevisions=[{"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": "abc"}]
        )
    assert ei.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as ei:
        cp.start_pipeline_execution(name="absent")
    assert ei.value.response["Error"]["Code"] == "PipelineNotFoundException"
    with pytest.raises(ClientError) as ei:
        cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId="00000000-0000-0000-0000-000000000000")
    assert ei.value.response["Error"]["Code"] == "PipelineExecutionNotFoundException"


def test_hold_and_release(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario, mode="PARALLEL")
    sandbox.ctl("hold", {"pipeline": name, "action": "Build"})
    eid = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    time.sleep(1.0)  # far more than the two 0.3 s stages
    e = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=eid)["pipelineExecution"]
    assert e["status"] == "InProgress"
    build = cp.get_pipeline_state(name=name)["stageStates"][1]
    assert build["actionStates"][0]["latestExecution"]["status"] == "InProgress"
    sandbox.ctl("release", {"pipeline": name, "action": "Build"})
    assert wait_execution(cp, name, eid)["status"] == "Succeeded"


def test_stop_and_abandon(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario, mode="PARALLEL")
    sandbox.ctl("hold", {"pipeline": name, "action": "Build"})
    a = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    b = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    time.sleep(0.7)
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=a, abandon=True, reason="enough")
    e = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=a)["pipelineExecution"]
    assert e["status"] == "Stopped"
    acts = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": a})["actionExecutionDetails"]
    assert next(x for x in acts if x["actionName"] == "Build")["status"] == "Abandoned"
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=b, reason="later")
    assert cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=b)["pipelineExecution"]["status"] == "Stopping"
    sandbox.ctl("release", {"pipeline": name, "action": "Build"})
    assert wait_execution(cp, name, b)["status"] == "Stopped"
    summary = next(s for s in cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"] if s["pipelineExecutionId"] == b)
    assert summary["stopTrigger"] == {"reason": "later"}
    with pytest.raises(ClientError) as ei:
        cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=a)
    assert ei.value.response["Error"]["Code"] == "PipelineExecutionNotStoppableException"


def test_superseded_mode_lets_a_newer_execution_overtake(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario, mode="SUPERSEDED")
    sandbox.ctl("hold", {"pipeline": name, "action": "Build"})
    created = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    b = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    time.sleep(0.8)  # created holds Build; b waits before Build
    c = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    time.sleep(0.8)  # c reaches Build's door too: b is superseded
    status = lambda x: cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=x)["pipelineExecution"]["status"]
    assert status(b) == "Superseded"
    assert status(created) == "InProgress" and status(c) == "InProgress"
    build = cp.get_pipeline_state(name=name)["stageStates"][1]
    assert build["inboundExecution"]["pipelineExecutionId"] == c
    sandbox.ctl("release", {"pipeline": name, "action": "Build"})
    assert wait_execution(cp, name, created)["status"] == "Succeeded"
    assert wait_execution(cp, name, c)["status"] == "Succeeded"


def test_polling_pipeline_starts_when_the_branch_moves(sandbox, scenario):
    d, first = push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario, poll=True)
    second = add_commit(d, "moved")
    creds = sandbox.assume(scenario["source_role_arn"])
    sandbox.git(d, "push", sandbox.url(scenario["repository"]), "main", header=sandbox.git_auth_header(creds, scenario["repository"]))
    summaries = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    assert [s["trigger"]["triggerType"] for s in summaries] == ["PollForSourceChanges", "CreatePipeline"]
    assert summaries[0]["sourceRevisions"][0]["revisionId"] == second
    assert summaries[1]["sourceRevisions"][0]["revisionId"] == first
    # a pipeline that does not poll is not started by a push
    cp.create_pipeline(pipeline=pipeline_decl(scenario, name="quiet", poll=False))
    add_commit(d, "again")
    sandbox.git(d, "push", sandbox.url(scenario["repository"]), "main", header=sandbox.git_auth_header(creds, scenario["repository"]))
    assert len(cp.list_pipeline_executions(pipelineName="quiet")["pipelineExecutionSummaries"]) == 1
    assert len(cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]) == 3


def test_commit_id_overrides_take_commit_ids_not_refs(sandbox, scenario):
    _, sha = push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario, mode="PARALLEL")
    short = cp.start_pipeline_execution(
        name=name, sourceRevisions=[{"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": sha[:10]}]
    )["pipelineExecutionId"]
    ref = cp.start_pipeline_execution(
        name=name, sourceRevisions=[{"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": "main"}]
    )["pipelineExecutionId"]
    e = wait_execution(cp, name, short)
    assert e["status"] == "Succeeded" and e["artifactRevisions"][0]["revisionId"] == sha
    assert wait_execution(cp, name, ref)["status"] == "Failed"
    ok = cp.list_pipeline_executions(pipelineName=name, filter={"succeededInStage": {"stageName": "Build"}})
    ids = [s["pipelineExecutionId"] for s in ok["pipelineExecutionSummaries"]]
    assert short in ids and ref not in ids and len(ids) == 2  # with CreatePipeline's
    page = cp.list_pipeline_executions(pipelineName=name, maxResults=1)
    assert len(page["pipelineExecutionSummaries"]) == 1 and page["nextToken"]


def test_polling_disabled_by_aws_shows_in_get_pipeline_and_stops_polling(sandbox, scenario):
    d, _ = push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario, poll=True)
    assert "pollingDisabledAt" not in cp.get_pipeline(name=name)["metadata"]
    sandbox.ctl("polling-disabled", {"pipeline": name, "at": 1767323045})
    meta = cp.get_pipeline(name=name)["metadata"]
    assert meta["pollingDisabledAt"].timestamp() == 1767323045
    # As on AWS, a branch update no longer starts the pipeline.
    add_commit(d, "moved")
    creds = sandbox.assume(scenario["source_role_arn"])
    sandbox.git(d, "push", sandbox.url(scenario["repository"]), "main", header=sandbox.git_auth_header(creds, scenario["repository"]))
    summaries = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    assert [s["trigger"]["triggerType"] for s in summaries] == ["CreatePipeline"]


def test_a_busy_pipeline_answers_conflict_and_records_the_tokens(sandbox, scenario):
    push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario)
    sandbox.ctl("conflict", {"pipeline": name, "count": 2})
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            cp.start_pipeline_execution(name=name, clientRequestToken="tok-1")
        assert e.value.response["Error"]["Code"] == "ConflictException"
        assert "the pipeline is busy" in e.value.response["Error"]["Message"]
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Nothing was started by the refused calls: the token is still unused.
    before = len(cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"])
    a = cp.start_pipeline_execution(name=name, clientRequestToken="tok-1")["pipelineExecutionId"]
    b = cp.start_pipeline_execution(name=name, clientRequestToken="tok-1")["pipelineExecutionId"]
    assert a == b
    assert len(cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]) == before + 1
    got = sandbox.ctl("start-requests")
    assert [r["clientRequestToken"] for r in got] == ["tok-1"] * 4
    assert [r["outcome"] for r in got][:3] == ["ConflictException", "ConflictException", "started"]
    with pytest.raises(Exception):
        sandbox.ctl("conflict", {"pipeline": name, "count": -1})


def test_a_pipeline_created_after_its_branch_builds_the_branch_head(sandbox, scenario):
    _, commit = push_to_source(sandbox, scenario)
    cp, name = _create(sandbox, scenario)
    first = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    assert first["trigger"]["triggerType"] == "CreatePipeline"
    assert wait_execution(cp, name, first["pipelineExecutionId"])["status"] == "Succeeded"
    again = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    assert again["sourceRevisions"][0]["revisionId"] == commit


def test_refuse_create_answers_the_pipeline_quota_once(sandbox, scenario):
    cp = sandbox.client("codepipeline")
    decl = pipeline_decl(scenario, name="quota")
    # Twice: botocore retries LimitExceededException once, as throttling.
    sandbox.ctl("refuse-create", {"pipeline": "quota", "count": 2})
    with pytest.raises(ClientError) as e:
        cp.create_pipeline(pipeline=decl)
    assert e.value.response["Error"]["Code"] == "LimitExceededException"
    assert cp.list_pipelines()["pipelines"] == []
    cp.create_pipeline(pipeline=decl)
    assert [p["name"] for p in cp.list_pipelines()["pipelines"]] == ["quota"]
