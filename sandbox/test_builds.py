"""CodeBuild build records of pipeline Build actions, and their CloudWatch log events."""

import time

import pytest
from botocore.exceptions import ClientError
from conftest import pipeline_decl, push_to_source, wait_execution


def _run(sandbox, sc, script=None, seconds=1.0):
    push_to_source(sandbox, sc)
    sandbox.ctl("stage-seconds", {"seconds": seconds})
    if script is not None:
        sandbox.ctl("build-script", dict(script, project=sc["build_project"]))
    cp = sandbox.client("codepipeline")
    decl = pipeline_decl(sc, mode="PARALLEL")
    cp.create_pipeline(pipeline=decl)
    # The CreatePipeline execution consumed nothing yet: the script goes to the first build.
    eid = cp.list_pipeline_executions(pipelineName=decl["name"])["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    return cp, decl["name"], eid


def _build_id(cp, name, eid):
    acts = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
    build = next(a for a in acts if a["actionName"] == "Build")
    return build, build["output"]["executionResult"]["externalExecutionId"]


def _all_events(logs, group, stream):
    """Forward from the head until the token comes back unchanged (AWS's end of stream)."""
    out, token, pages = [], None, 0
    while True:
        kw = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        r = logs.get_log_events(**kw)
        pages += 1
        out += r["events"]
        if r["nextForwardToken"] == token:
            return out, pages
        token = r["nextForwardToken"]


def test_a_build_action_has_a_build_record_whose_phases_advance(sandbox, scenario):
    cp, name, eid = _run(sandbox, scenario, seconds=3.0)
    cb = sandbox.client("codebuild")
    seen = []
    deadline = time.time() + 15
    while time.time() < deadline:
        acts = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
        build = next((a for a in acts if a["actionName"] == "Build"), None)
        if build and "executionResult" in build.get("output", {}):
            b = cb.batch_get_builds(ids=[build["output"]["executionResult"]["externalExecutionId"]])["builds"][0]
            if not seen or seen[-1] != b["currentPhase"]:
                seen.append(b["currentPhase"])
            if b["buildComplete"]:
                break
        time.sleep(0.05)
    assert seen[-1] == "COMPLETED"
    order = ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD",
             "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]
    assert [order.index(p) for p in seen] == sorted(order.index(p) for p in seen), seen
    assert len(seen) >= 4, seen
    assert b["buildStatus"] == "SUCCEEDED"
    assert b["id"].startswith(scenario["build_project"] + ":")
    assert [p["phaseType"] for p in b["phases"]] == order
    assert all(p["phaseStatus"] == "SUCCEEDED" for p in b["phases"][:-1])
    assert "phaseStatus" not in b["phases"][-1] and "endTime" not in b["phases"][-1]
    assert b["logs"]["groupName"] == f"/aws/codebuild/{scenario['build_project']}"
    assert b["logs"]["streamName"] == b["id"].split(":", 1)[1]
    assert b["initiator"] == f"codepipeline/{name}"


def test_a_scripted_failure_fails_its_phase_the_build_and_the_action(sandbox, scenario):
    lines = ["   Compiling demo v0.1.0", "error[E0425]: cannot find value `x` in this scope", " --> src/main.rs:2:5"]
    cp, name, eid = _run(
        sandbox,
        scenario,
        {"lines": lines, "fail": "BUILD", "message": "Error while executing command: cargo build. Reason: exit status 101"},
    )
    e = wait_execution(cp, name, eid)
    assert e["status"] == "Failed"
    action, build_id = _build_id(cp, name, eid)
    assert action["status"] == "Failed"
    assert action["output"]["executionResult"]["errorDetails"]["message"] == (
        "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, "
        "Message: Error while executing command: cargo build. Reason: exit status 101"
    )
    b = sandbox.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
    assert b["buildStatus"] == "FAILED" and b["currentPhase"] == "COMPLETED"
    failed = [p for p in b["phases"] if p.get("phaseStatus") == "FAILED"]
    assert [p["phaseType"] for p in failed] == ["BUILD"]
    assert failed[0]["contexts"] == [
        {"statusCode": "COMMAND_EXECUTION_ERROR", "message": "Error while executing command: cargo build. Reason: exit status 101"}
    ]
    # POST_BUILD still runs after a failed BUILD, as in CodeBuild.
    assert "POST_BUILD" in [p["phaseType"] for p in b["phases"]]
    events, _ = _all_events(sandbox.client("logs"), b["logs"]["groupName"], b["logs"]["streamName"])
    messages = [ev["message"] for ev in events]
    assert all(m.endswith("\n") for m in messages)
    at = messages.index("error[E0425]: cannot find value `x` in this scope\n")
    assert messages[at - 1] == "   Compiling demo v0.1.0\n"
    assert any("Phase complete: BUILD State: FAILED" in m for m in messages[at:])
    assert [ev["timestamp"] for ev in events] == sorted(ev["timestamp"] for ev in events)


def test_an_early_failure_skips_to_finalizing(sandbox, scenario):
    cp, name, eid = _run(sandbox, scenario, {"fail": "INSTALL", "message": "apt-get failed"})
    assert wait_execution(cp, name, eid)["status"] == "Failed"
    _, build_id = _build_id(cp, name, eid)
    b = sandbox.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
    assert [p["phaseType"] for p in b["phases"]] == [
        "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "FINALIZING", "COMPLETED"
    ]
    assert b["phases"][4]["phaseStatus"] == "FAILED" and b["phases"][5]["phaseStatus"] == "SUCCEEDED"


def test_log_pages_are_partial_and_the_forward_token_ends_where_it_was(sandbox, scenario):
    lines = [f"line {i}" for i in range(250)]
    cp, name, eid = _run(sandbox, scenario, {"lines": lines})
    assert wait_execution(cp, name, eid)["status"] == "Succeeded"
    _, build_id = _build_id(cp, name, eid)
    b = sandbox.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
    logs = sandbox.client("logs")
    events, pages = _all_events(logs, b["logs"]["groupName"], b["logs"]["streamName"])
    mine = [ev["message"] for ev in events if ev["message"].startswith("line ")]
    assert mine == [f"line {i}\n" for i in range(250)]
    assert pages >= 3  # 100 events a page at most
    # The tail: without startFromHead, the newest `limit` events.
    tail = logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"], limit=5)
    assert [ev["message"] for ev in tail["events"]] == [ev["message"] for ev in events[-5:]]
    with pytest.raises(ClientError) as err:
        logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName="nope", startFromHead=True)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_unknown_builds_are_reported_not_found_and_bad_ids_refused(sandbox, scenario):
    cb = sandbox.client("codebuild")
    out = cb.batch_get_builds(ids=["demo:00000000-0000-0000-0000-000000000000"])
    assert out["builds"] == [] and out["buildsNotFound"] == ["demo:00000000-0000-0000-0000-000000000000"]
    with pytest.raises(ClientError) as err:
        cb.batch_get_builds(ids=["no-colon"])
    assert err.value.response["Error"]["Code"] == "InvalidInputException"


def test_a_build_script_with_a_bad_phase_is_refused(sandbox, scenario):
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as err:
        sandbox.ctl("build-script", {"project": "p", "fail": "COMPILE"})
    assert err.value.code == 400
