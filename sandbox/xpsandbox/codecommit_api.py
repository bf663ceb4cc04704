"""CodeCommit's GetRepository and GetBranch as AWS answers them, before moto.

moto implements GetRepository but judges no permission, and does not implement GetBranch. Here:

- both are authorized first, as AWS does, by the sandbox's IAM evaluator (iam_eval.py) on the
  signer's identity policies (CodeCommit has no resource policies), the way git_http.py judges
  GitPush and GitPull; a refusal is AccessDeniedException (HTTP 400) with AWS's message
  "User: <caller> is not authorized to perform: codecommit:<Action> on resource: <repo arn>"
  (with "because no identity-based policy allows ..." within one account);
- GetBranch is answered from the bare repository the git endpoint serves (state.py):
  {"branch": {"branchName", "commitId"}}, or BranchDoesNotExistException;
- a repository that does not exist is RepositoryDoesNotExistException "<name> does not exist"
  (moto's wording, also AWS's); GetRepository of an existing one goes on to moto.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from .state import PARTITION, branch_head, repository_record

ACTIONS = {"GetRepository", "GetBranch"}


def answer(akid: str | None, region: str, action: str, body: bytes) -> tuple[int, dict[str, Any]] | None:
    """(HTTP status, JSON body) when this module answers the request, None to pass it on to
    moto. Call with STATE.lock held."""
    if action not in ACTIONS or not akid:
        return None
    from . import iam_eval, iam_store, sts_auth

    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return None  # moto answers a body it cannot read
    name = params.get("repositoryName") or ""
    if not name:
        return _error("RepositoryNameRequiredException", "Repository name is required")
    caller = iam_store.principal_of_key(akid)
    account = caller.account
    ctx = sts_auth.request_context(None, caller, akid)
    ctx["aws:RequestedRegion"] = region
    repo_arn = f"arn:{PARTITION}:codecommit:{region}:{account}:{name}"
    req = iam_eval.Request(caller, f"codecommit:{action}", repo_arn, ctx)
    d = iam_eval.authorize(req)
    if not d.allowed:
        return _error("AccessDeniedException", d.message(req))
    if repository_record(account, region, name) is None:
        return _error("RepositoryDoesNotExistException", f"{name} does not exist")
    if action == "GetRepository":
        return None
    branch = params.get("branchName") or ""
    if not branch:
        return _error("BranchNameRequiredException", "Branch name is required")
    commit = branch_head(account, region, name, branch)
    if commit is None:
        return _error("BranchDoesNotExistException", f"{branch} does not exist")
    return 200, {"branch": {"branchName": branch, "commitId": commit}}


def _error(code: str, message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"__type": code, "message": message}


def respond(start_response: Any, status: int, obj: dict[str, Any]) -> list[bytes]:
    data = json.dumps(obj).encode("utf-8")
    headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Content-Length", str(len(data))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    if "__type" in obj:
        headers.append(("x-amzn-ErrorType", obj["__type"]))
    start_response("200 OK" if status == 200 else "400 Bad Request", headers)
    return [data]
