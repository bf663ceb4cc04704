"""Shared by the benchmarks: start the local AWS sandbox, seeded (through sandbox/launch.py),
put a commit in its CodeCommit repository and create the demo pipeline with the AWS CLI (so
that the benchmarks measure `status` and the watch, not the reconcile)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = "bench-pipeline"

sys.path.insert(0, str(ROOT / "sandbox"))
import launch  # noqa: E402  (sandbox/launch.py: the one way to start the sandbox)


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return os.environ.get("XPIPELINE_SANDBOX_PYTHON") or (str(venv) if venv.exists() else sys.executable)


def binary() -> str:
    if os.environ.get("XPIPELINE_BIN"):
        return os.environ["XPIPELINE_BIN"]
    b = ROOT / "target" / "debug" / "cargo-xpipeline"
    if not b.exists():
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
    return str(b)


class Sandbox:
    def __init__(self, stage_seconds: float):
        self.tmp = tempfile.TemporaryDirectory(prefix="xpipeline-bench-")
        self.launched = launch.start(
            python=python(), data_dir=os.path.join(self.tmp.name, "data"),
            stage_seconds=stage_seconds, seed={}, quiet=True,
        )
        self.url = self.launched.endpoint
        self.seed = self.launched.seed

    def control(self, method: str, route: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_sandbox/{route}", data=data, method=method)
        with urllib.request.urlopen(req) as r:
            return json.load(r)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XPIPELINE_"))}
        env.update(
            AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=self.seed["region"], AWS_REGION=self.seed["region"],
            AWS_ENDPOINT_URL=self.url, AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.path.join(self.tmp.name, "no-config"),
            AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.tmp.name, "no-credentials"),
            NO_COLOR="1",
        )
        return env

    def project(self) -> Path:
        """A cargo project with xpipeline.toml and a commit, pushed to the sandbox repo."""
        s = self.seed
        d = Path(self.tmp.name) / "project"
        d.mkdir()
        (d / "src").mkdir()
        (d / "src" / "main.rs").write_text('fn main() {\n    println!("hello");\n}\n')
        (d / "Cargo.toml").write_text('[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n')
        (d / "xpipeline.toml").write_text(f'''[pipeline]
name = "{PIPELINE}"
account = "{s["pipeline_account"]}"
region = "{s["region"]}"
service-role-arn = "{s["service_role_arn"]}"

[artifacts]
bucket = "{s["bucket"]}"
kms-key-arn = "{s["kms_key_arn"]}"

[source]
account = "{s["source_account"]}"
repository = "{s["repository"]}"
branch = "main"
role-arn = "{s["source_role_arn"]}"

[build]
project = "{s["build_project"]}"
''')
        git = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"]
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=d, check=True)
        subprocess.run(git + ["add", "-A"], cwd=d, check=True)
        subprocess.run(git + ["commit", "-q", "-m", "Benchmark commit"], cwd=d, check=True)
        repo = self.control("GET", f"repo-dir?account={s['source_account']}&repository={s['repository']}")["path"]
        subprocess.run(["git", "push", "-q", repo, "HEAD:main"], cwd=d, check=True)
        return d

    def create_pipeline(self) -> None:
        s = self.seed
        decl = {
            "name": PIPELINE, "roleArn": s["service_role_arn"], "pipelineType": "V2",
            "executionMode": "SUPERSEDED",
            "artifactStore": {"type": "S3", "location": s["bucket"],
                              "encryptionKey": {"id": s["kms_key_arn"], "type": "KMS"}},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                    "roleArn": s["source_role_arn"],
                    "configuration": {"RepositoryName": s["repository"], "BranchName": "main",
                                      "PollForSourceChanges": "false"},
                    "outputArtifacts": [{"name": "SourceArtifact"}]}]},
                {"name": "Build", "actions": [{
                    "name": "Build",
                    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": s["build_project"]},
                    "inputArtifacts": [{"name": "SourceArtifact"}],
                    "outputArtifacts": [{"name": "BuildArtifact"}]}]},
            ],
        }
        self.aws("codepipeline", "create-pipeline", "--pipeline", json.dumps(decl))

    def aws(self, *args: str) -> dict:
        out = subprocess.run(["aws", *args, "--output", "json"], env=self.env(), check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out) if out.strip() else {}

    def close(self) -> None:
        self.launched.stop()
        self.tmp.cleanup()
