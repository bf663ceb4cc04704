#!/usr/bin/env python3
"""The one way to start the local AWS sandbox, for people and for every caller: the Rust test
fixture (tests/it/support/sandbox.rs), the pytest conftest, scripts/demo and the benchmarks.

    python sandbox/launch.py [--data-dir DIR] [--stage-seconds S] [--seed [JSON]]
                             [--format json|shell] [--quiet] [--host HOST] [--port PORT]

It binds a free port (unless --port is given), seeds the default scenario when asked (--seed,
optionally with overrides as POST /_sandbox/seed takes them), then prints ONE line on stdout
and serves. Once the line is out, the port accepts connections:

    json (default)  {"endpoint": "http://127.0.0.1:PORT", "port": PORT, "pid": PID,
                     "data_dir": DIR, "stage_seconds": S, "seed": {...}}   (seed only with --seed)
    shell           endpoint=... port=... pid=... data_dir=... stage_seconds=... seed_KEY=...
                    (one line of shell-quoted assignments, for `eval`)

Nothing else goes to stdout; request logs and errors go to stderr. The sandbox stops on
SIGTERM or SIGINT, and by itself when the process that started it ends (its parent process
changes), so a killed test run or script leaves no server behind. Without --data-dir it
works in a temp dir that it removes when it stops.

Python callers use `start()` below rather than spawning this file by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = os.path.join(HERE, "requirements.txt")

HINT = (
    "xpsandbox: missing Python package {name!r} for the local AWS sandbox.\n"
    "Install the sandbox requirements: run `scripts/sandbox-env` (or `scripts/test`), or\n"
    "  python3 -m venv .venv && .venv/bin/pip install -r sandbox/requirements.txt\n"
    "and point XPIPELINE_SANDBOX_PYTHON at that interpreter (the tests use .venv/bin/python when it exists).\n"
)


# -- the launcher itself (the server process) -------------------------------------------------


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sandbox/launch.py", description="Start the local AWS sandbox.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="default 0: a free port")
    p.add_argument("--data-dir", help="bare repositories and state (default: a temp dir, removed on exit)")
    p.add_argument("--stage-seconds", type=float, default=1.0, help="time each pipeline stage takes")
    p.add_argument(
        "--seed",
        nargs="?",
        const="{}",
        metavar="JSON",
        help="seed the default scenario (JSON: overrides) and print it in the ready line",
    )
    p.add_argument("--format", choices=("json", "shell"), default="json", help="of the ready line")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines on stderr")
    return p.parse_args(argv)


def _missing_package() -> str | None:
    for mod, name in (("moto", "moto"), ("flask", "flask"), ("flask_cors", "flask-cors"),
                      ("werkzeug", "werkzeug"), ("boto3", "boto3")):
        try:
            __import__(mod)
        except ImportError:
            return name
    return None


def _die_with_parent() -> None:
    """SIGTERM ourselves once the process that started us is gone (we get re-parented)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def ready_line(info: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(info)
    flat = {k: v for k, v in info.items() if k != "seed"}
    flat.update({f"seed_{k}": v for k, v in (info.get("seed") or {}).items()})
    return " ".join(f"{k}={shlex.quote(str(v))}" for k, v in flat.items())


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    missing = _missing_package()
    if missing:
        sys.stderr.write(HINT.format(name=missing))
        return 3
    seed_overrides = json.loads(args.seed) if args.seed is not None else None
    _die_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    sys.path.insert(0, HERE)
    from xpsandbox import control
    from xpsandbox.server import make_server

    with tempfile.TemporaryDirectory(prefix="xpsandbox-") as tmp:
        data_dir = os.path.abspath(args.data_dir or os.path.join(tmp, "data"))
        server = make_server(args.host, args.port, data_dir, args.stage_seconds, args.quiet)
        try:
            port = server.server_address[1]
            info: dict[str, Any] = {
                "endpoint": f"http://{args.host}:{port}",
                "port": port,
                "pid": os.getpid(),
                "data_dir": data_dir,
                "stage_seconds": args.stage_seconds,
            }
            if seed_overrides is not None:
                info["seed"] = control.seed(seed_overrides)
            print(ready_line(info, args.format), flush=True)
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


# -- for Python callers (the pytest conftest, the benchmarks) ---------------------------------


class Launched:
    """A sandbox started by `start()`: its ready line as `info`, and `stop()`."""

    def __init__(self, proc: subprocess.Popen, info: dict[str, Any]):
        self.proc = proc
        self.info = info
        self.endpoint: str = info["endpoint"]
        self.port: int = info["port"]
        self.data_dir: str = info["data_dir"]
        self.seed: dict[str, Any] | None = info.get("seed")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def start(
    *,
    python: str | None = None,
    data_dir: str | None = None,
    stage_seconds: float = 1.0,
    seed: dict[str, Any] | None = None,
    quiet: bool = False,
    log: str | None = None,
    timeout: float = 60.0,
) -> Launched:
    """Run this launcher with `python` (default: this interpreter), wait for its ready line
    (at most `timeout` s) and return it. stderr goes to `log` (a file) or is inherited. Raises
    RuntimeError, with the end of the log, when the sandbox does not start."""
    cmd = [python or sys.executable, os.path.abspath(__file__), "--stage-seconds", str(stage_seconds)]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    if seed is not None:
        cmd += ["--seed", json.dumps(seed)]
    if quiet:
        cmd.append("--quiet")
    err = open(log, "w") if log else None
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True)
    finally:
        if err:
            err.close()
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    reader.join(timeout)
    text = line[0] if line else ""
    try:
        return Launched(proc, json.loads(text))
    except ValueError:
        proc.kill()
        proc.wait()
        tail = ""
        if log and os.path.exists(log):
            with open(log) as f:
                tail = "".join(f.readlines()[-40:])
        why = f"printed {text!r}" if text else f"printed nothing within {timeout:.0f} s"
        raise RuntimeError(f"the sandbox ({' '.join(cmd)}) {why}; exit status {proc.returncode}\n{tail}") from None


if __name__ == "__main__":
    sys.exit(main())
