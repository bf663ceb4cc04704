#!/usr/bin/env python3
"""Benchmark: following one execution with `cargo xpipeline status --watch --execution ID`.

Measures, against the local sandbox, while a two-stage execution runs for 2 x STAGE seconds:
  - CodePipeline API calls per minute (overall and in the busiest 60-second window), and
    the most calls made in one tick (goal: at most 40 a minute, never more than 2 a tick);
  - the delay from each state change (an action starting or ending, as AWS records it) to the
    line that reports it on stderr, against the tick interval in force (goal: within a tick).

    .venv/bin/python benchmarks/follow.py [STAGE_SECONDS]     # default 150: a 5-minute execution
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from _sandbox import PIPELINE, Sandbox, binary


def main() -> int:
    stage = float(sys.argv[1]) if len(sys.argv) > 1 else 150.0
    sb = Sandbox(stage)
    try:
        return run(sb, stage)
    finally:
        sb.close()


def run(sb: Sandbox, stage: float) -> int:
    proj = sb.project()
    sb.create_pipeline()  # AWS (and the sandbox) start an execution on creation
    listed = sb.aws("codepipeline", "list-pipeline-executions", "--pipeline-name", PIPELINE)
    eid = listed["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    sb.control("DELETE", "calls")

    began = time.time()
    proc = subprocess.Popen(
        [binary(), "xpipeline", "status", "--watch", "--execution", eid],
        cwd=proj, env=sb.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append((time.time(), line.rstrip("\n")))

    reader = threading.Thread(target=read)
    reader.start()
    # Sample the sandbox's call log to timestamp every call (to within the sampling period).
    samples: list[tuple[float, int, int]] = []  # (time, codepipeline calls, GetPipelineExecution calls)
    while proc.poll() is None:
        calls = [c for c in sb.control("GET", "calls") if c["service"] == "codepipeline"]
        ticks = sum(1 for c in calls if c["action"] == "GetPipelineExecution")
        samples.append((time.time(), len(calls), ticks))
        time.sleep(0.2)
    reader.join()
    stdout = proc.stdout.read() if proc.stdout else ""
    ended = time.time()
    calls = [c for c in sb.control("GET", "calls") if c["service"] == "codepipeline"]

    # Calls: overall, busiest minute, per tick.
    minutes = (ended - began) / 60
    by_action: dict[str, int] = {}
    for c in calls:
        by_action[c["action"]] = by_action.get(c["action"], 0) + 1
    busiest = 0
    for t0, n0, _ in samples:
        later = [n for t, n, _ in samples if t <= t0 + 60]
        busiest = max(busiest, later[-1] - n0)
    if ended - began < 60:
        busiest = len(calls)
    per_tick, cur = [], -1
    for c in calls:
        if c["action"] == "GetPipelineExecution":
            if cur >= 0:
                per_tick.append(cur)
            cur = 1
        elif cur >= 0:
            cur += 1
    if cur >= 0:
        per_tick.append(cur)

    # Tick times: when the count of GetPipelineExecution calls went up.
    tick_times, last = [], 0
    for t, _, n in samples:
        if n > last:
            tick_times.extend([t] * (n - last))
            last = n

    # State changes as the sandbox recorded them, and the line that reported each.
    details = sb.aws(
        "codepipeline", "list-action-executions", "--pipeline-name", PIPELINE,
        "--filter", f"pipelineExecutionId={eid}",
    )["actionExecutionDetails"]
    changes = []
    for d in details:
        name = f'{d["stageName"]}/{d["actionName"]}'
        changes.append((f"{name} InProgress", float(d["startTime"])))
        changes.append((f'{name} {d["status"]}', float(d["lastUpdateTime"])))
    delays = []
    for text, at in sorted(changes, key=lambda c: c[1]):
        if at < began:
            delays.append({"change": text, "before_the_watch_began": True})
            continue
        seen = next((t for t, line in lines if text in line), None)
        if seen is None:
            delays.append({"change": text, "reported": False})
            continue
        before = max((t for t in tick_times if t <= at), default=began)
        after = min((t for t in tick_times if t >= at), default=ended)
        delays.append({
            "change": text,
            "delay_seconds": round(seen - at, 2),
            "tick_interval_seconds": round(after - before, 2),
            "within_one_tick": seen - at <= (after - before) + 0.5,
        })

    result = {
        "execution_seconds": round(2 * stage, 1),
        "watch_seconds": round(ended - began, 1),
        "exit_code": proc.returncode,
        "calls": len(calls),
        "calls_by_action": by_action,
        "calls_per_minute": round(len(calls) / minutes, 1),
        "busiest_minute_calls": busiest,
        "ticks": len(per_tick),
        "max_calls_per_tick": max(per_tick, default=0),
        "state_changes": delays,
        "final_result": stdout.strip().splitlines()[0] if stdout.strip() else "",
    }
    print(json.dumps(result, indent=2))
    if proc.returncode != 0:
        print("\n".join(line for _, line in lines), file=sys.stderr)
    ok = (
        proc.returncode == 0
        and busiest <= 40
        and max(per_tick, default=0) <= 2
        and all(d.get("within_one_tick", d.get("before_the_watch_began")) for d in delays)
    )
    print("goals met" if ok else "GOALS NOT MET", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
