#!/usr/bin/env python3
"""Benchmark: `cargo xpipeline status` against `aws codepipeline get-pipeline-state`, on the
same sandbox pipeline (three finished executions), as wall-clock time per run.

`status` answers more (the pipeline, its stages and the recent executions: GetPipeline,
GetPipelineState and ListPipelineExecutions, made in parallel) than the CLI's one call.
Goals: status at least 15x faster; the offline commands (`policies`, `--help`) under 10 ms.

    .venv/bin/python benchmarks/status_vs_cli.py [RUNS]     # default 20 runs of each
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from _sandbox import PIPELINE, Sandbox, binary


def timed(cmd: list[str], cwd, env) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    sb = Sandbox(0.2)
    try:
        proj = sb.project()
        sb.create_pipeline()
        for _ in range(2):
            sb.aws("codepipeline", "start-pipeline-execution", "--name", PIPELINE)
        time.sleep(1.0)  # let them finish (two stages of 0.2 s)
        env = sb.env()
        commands = {
            "cargo xpipeline status": [binary(), "xpipeline", "status"],
            "cargo xpipeline status --config xpipeline.toml": [binary(), "xpipeline", "--config", "xpipeline.toml", "status"],
            "aws codepipeline get-pipeline-state": ["aws", "codepipeline", "get-pipeline-state", "--name", PIPELINE],
            # Offline: no network call, start-up cost only.
            "cargo xpipeline policies": [binary(), "xpipeline", "policies"],
            "cargo xpipeline --help": [binary(), "xpipeline", "--help"],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        for name, cmd in commands.items():  # warm-up: page cache, Python bytecode
            timed(cmd, proj, env)
        for _ in range(runs):
            for name, cmd in commands.items():
                times[name].append(timed(cmd, proj, env))
        cli = statistics.median(times["aws codepipeline get-pipeline-state"])
        result = {
            "runs": runs,
            "binary": binary(),
            "median_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in times.items()},
            "min_ms": {k: round(min(v) * 1000, 1) for k, v in times.items()},
            "speedup_vs_cli": {
                k: round(cli / statistics.median(v), 1)
                for k, v in times.items() if k.startswith("cargo xpipeline status")
            },
        }
        print(json.dumps(result, indent=2))
        return 0
    finally:
        sb.close()


if __name__ == "__main__":
    sys.exit(main())
