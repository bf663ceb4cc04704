#!/usr/bin/env python3
"""Benchmark: following one execution with `status --watch --logs`, its build printing LINES
log lines over its BUILD phase.

Measures, against the local sandbox, while a two-stage execution runs for 2 x STAGE seconds:
  - API calls (CodePipeline, CodeBuild, CloudWatch Logs) per minute, in the busiest 60-second
    window, and per tick (goal: at most 4 a tick while the build runs; the last tick may read
    more pages to drain the log);
  - the delay from a log line's arrival in the sandbox (its CloudWatch timestamp) to its
    appearance on stderr, against the tick interval (goal: within one tick);
  - that every line appears exactly once, in order.

    .venv/bin/python benchmarks/follow_logs.py [STAGE_SECONDS] [LINES] [PAGE]   # default 60, 300, 10000

PAGE is the most events the sandbox puts in one GetLogEvents page: 10000 is AWS's own
ceiling (with 1 MB); a small one (the sandbox's default, 100) shows what a backlog of more
lines than a page costs: one page a tick while the build runs.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time

from _sandbox import PIPELINE, Sandbox, binary


def main() -> int:
    stage = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    page = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    sb = Sandbox(stage)
    try:
        sb.control("POST", "log-page", {"events": page})
        return run(sb, stage, count)
    finally:
        sb.close()


def run(sb: Sandbox, stage: float, count: int) -> int:
    proj = sb.project()
    sent = [f"bench line {i:05d}" for i in range(count)]
    sb.control("POST", "build-script", {"project": sb.seed["build_project"], "lines": sent})
    sb.create_pipeline()
    listed = sb.aws("codepipeline", "list-pipeline-executions", "--pipeline-name", PIPELINE)
    eid = listed["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    sb.control("DELETE", "calls")
    began = time.time()
    proc = subprocess.Popen(
        [binary(), "xpipeline", "status", "--watch", "--logs", "--execution", eid],
        cwd=proj, env=sb.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append((time.time(), line.rstrip("\n")))

    reader = threading.Thread(target=read)
    reader.start()
    tick_times: list[float] = []
    seen_ticks = 0
    while proc.poll() is None:
        calls = sb.control("GET", "calls")
        n = sum(1 for c in calls if c["action"] == "GetPipelineExecution")
        tick_times.extend([time.time()] * (n - seen_ticks))
        seen_ticks = n
        time.sleep(0.1)
    reader.join()
    ended = time.time()
    calls = [c for c in sb.control("GET", "calls") if c["service"] in ("codepipeline", "codebuild", "logs")]

    by_action: dict[str, int] = {}
    for c in calls:
        by_action[c["action"]] = by_action.get(c["action"], 0) + 1
    per_tick, cur = [], -1
    for c in calls:
        if c["action"] == "GetPipelineExecution":
            if cur >= 0:
                per_tick.append(cur)
            cur = 1
        elif cur >= 0:
            cur += 1
    last_tick = cur
    minutes = (ended - began) / 60

    # Each line's CloudWatch time, from the stream itself.
    build = sb.control("GET", "builds")[0]
    group, stream = build["logs"]["groupName"], build["logs"]["streamName"]
    events, token = [], None
    while True:
        args = ["logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head"]
        if token:
            args += ["--next-token", token]
        page = sb.aws(*args)
        events += page["events"]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    at = {e["message"].rstrip("\n"): e["timestamp"] / 1000 for e in events}
    shown = [(t, line.split("Build│ ", 1)[1]) for t, line in lines if "Build│ bench line " in line]
    delays = []
    for t, text in shown:
        arrived = at.get(text)
        if arrived is None:
            continue
        before = max((x for x in tick_times if x <= arrived), default=began)
        after = min((x for x in tick_times if x >= arrived), default=ended)
        delays.append((t - arrived, after - before))
    within = sum(1 for d, interval in delays if d <= interval + 0.5)
    result = {
        "execution_seconds": round(2 * stage, 1),
        "watch_seconds": round(ended - began, 1),
        "exit_code": proc.returncode,
        "lines_sent": count,
        "lines_shown": len(shown),
        "every_line_once_in_order": [s for _, s in shown] == sent,
        "calls": len(calls),
        "calls_by_action": by_action,
        "calls_per_minute": round(len(calls) / minutes, 1),
        "ticks": len(per_tick) + 1,
        "max_calls_per_tick_before_the_last": max(per_tick, default=0),
        "calls_in_the_last_tick": last_tick,
        "line_delay_seconds": {
            "median": round(statistics.median(d for d, _ in delays), 2) if delays else None,
            "max": round(max(d for d, _ in delays), 2) if delays else None,
        },
        "lines_within_one_tick": f"{within}/{len(delays)}",
    }
    print(json.dumps(result, indent=2))
    ok = (
        proc.returncode == 0
        and result["every_line_once_in_order"]
        and result["max_calls_per_tick_before_the_last"] <= 4
        and within == len(delays)
    )
    print("goals met" if ok else "GOALS NOT MET", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
