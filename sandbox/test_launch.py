"""The launcher (launch.py): its ready line in both formats, seeding, and that it stops by
itself when the process that started it dies."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request

import launch


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def _alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_start_waits_for_the_ready_line_and_seeds():
    with tempfile.TemporaryDirectory() as tmp:
        sb = launch.start(data_dir=os.path.join(tmp, "data"), stage_seconds=0.5, seed={"repository": "launched"},
                          log=os.path.join(tmp, "log"))
        try:
            assert sb.endpoint == f"http://127.0.0.1:{sb.port}"
            assert sb.info["pid"] == sb.proc.pid
            assert sb.data_dir == os.path.join(tmp, "data")
            assert sb.seed is not None and sb.seed["repository"] == "launched"
            assert sb.seed["pipeline_account"] == "123456789012"
            assert _get(f"{sb.endpoint}/_sandbox/health") == {"ok": True, "stage_seconds": 0.5}
        finally:
            sb.stop()
        assert sb.proc.returncode == 0


def test_shell_format_is_one_line_of_assignments():
    info = {"endpoint": "http://127.0.0.1:1", "port": 1, "seed": {"region": "eu-west-1", "x": "a b'c"}}
    line = launch.ready_line(info, "shell")
    assert "\n" not in line
    pairs = dict(word.split("=", 1) for word in shlex.split(line))
    assert pairs == {"endpoint": "http://127.0.0.1:1", "port": "1", "seed_region": "eu-west-1", "seed_x": "a b'c"}


def test_it_stops_when_its_parent_dies():
    # A shell starts the launcher in the background, reports its ready line, then is killed.
    script = f'{shlex.quote(sys.executable)} {shlex.quote(launch.__file__)} --quiet & read -r line; kill -9 $$'
    parent = subprocess.Popen(["bash", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert parent.stdout is not None and parent.stdin is not None
    info = json.loads(parent.stdout.readline())
    assert _get(f"{info['endpoint']}/_sandbox/health")["ok"]
    parent.stdin.write("go\n")
    parent.stdin.flush()
    parent.wait(timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline:
        if not _alive(info["pid"]):
            break
        time.sleep(0.1)
    else:
        os.kill(info["pid"], 9)
        raise AssertionError("the sandbox outlived its parent")
    assert not os.path.exists(info["data_dir"]), "its temp dir is removed"
