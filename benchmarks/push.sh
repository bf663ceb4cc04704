#!/usr/bin/env bash
# Benchmark: `cargo xpipeline push --no-watch` against `git push` with the AWS-documented
# `aws codecommit credential-helper`, on the local sandbox, pushing the same repository
# (FILES files, COMMITS commits) with credentials of the same assumed source-account role.
# Each full run pushes everything: the branches are deleted from the sandbox's bare
# repositories (untimed) between runs. Then RUNS incremental pushes of INCREMENT new commits.
#
#   benchmarks/push.sh                      # 2,000 files, 200 commits, 5 runs
#   RUNS=3 FILES=500 COMMITS=50 INCREMENT=5 benchmarks/push.sh
#   XPIPELINE_BIN=target/release/cargo-xpipeline benchmarks/push.sh
#
# Needs git, curl, python3 and the AWS CLI (`aws`). Prints one line per run and the medians:
# seconds, and the bytes each client sent in its git-receive-pack POST (counted by the
# sandbox: GET /_sandbox/git-requests).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
RUNS=${RUNS:-5}
FILES=${FILES:-2000}
COMMITS=${COMMITS:-200}
bin=${XPIPELINE_BIN:-target/debug/cargo-xpipeline}
command -v aws >/dev/null || { echo "push.sh: the AWS CLI (aws) is needed for the comparison" >&2; exit 2; }
[ -x "$bin" ] || cargo build --quiet
scripts/sandbox-env
py=${XPIPELINE_SANDBOX_PYTHON:-$root/.venv/bin/python}

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The sandbox (sandbox/launch.py: a free port, seeded with the repository bench-xpipeline; it
# stops by itself if this script dies), and a second repository for the git CLI.
coproc sandbox { exec "$py" sandbox/launch.py --data-dir "$work/data" --quiet --seed '{"repository": "bench-xpipeline"}' 2>"$work/server.err"; }
pid=$sandbox_PID
IFS= read -r -t 60 ready <&"${sandbox[0]}" || ready=
[ -n "$ready" ] || { echo "push.sh: the sandbox did not start:" >&2; cat "$work/server.err" >&2; exit 1; }
field() { "$py" -c "import json,sys; v=json.load(sys.stdin)$1; print(json.dumps(v) if isinstance(v, dict) else v)"; }
endpoint=$(echo "$ready" | field "['endpoint']")
scenario=$(echo "$ready" | field "['seed']")
# Its own roles (prefix): the source role's policy names its one repository.
git_scenario=$(curl -sf -X POST "$endpoint/_sandbox/seed" -H 'Content-Type: application/json' -d '{"repository": "bench-git", "prefix": "bench-git"}')
git_role=$(echo "$git_scenario" | field "['source_role_arn']")
source_role=$(echo "$scenario" | field "['source_role_arn']")
source_account=$(echo "$scenario" | field "['source_account']")

# The repository: FILES files of ~2 KiB in 40 directories, then COMMITS-1 commits of 10 files each.
src=$work/src
mkdir -p "$src"
git -C "$src" init -q -b main
"$py" - "$src" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(4)
words = [f"w{i}" for i in range(5000)]
for i in range(n):
    d = os.path.join(root, "src", f"m{i % 40:02}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:04}.rs"), "w") as f:
        for _ in range(40):
            f.write("// " + " ".join(rng.choice(words) for _ in range(8)) + "\n")
PY
gitc() { git -C "$src" -c user.name=Bench -c user.email=bench@example.com -c commit.gpgsign=false "$@"; }
gitc add -A
gitc commit -q -m "commit 1"
for c in $(seq 2 "$COMMITS"); do
  for k in $(seq 0 9); do
    i=$(( (c * 10 + k) % FILES ))
    echo "// change $c" >>"$src/src/m$(printf %02d $((i % 40)))/f$(printf %04d $i).rs"
  done
  gitc commit -q -a -m "commit $c"
done
objects=$(git -C "$src" rev-list --objects --all | wc -l)

# xpipeline.toml for the seeded scenario (outside the repository: --config).
cat >"$work/xpipeline.toml" <<TOML
[pipeline]
name = "bench-pipeline"
account = "$(echo "$scenario" | field "['pipeline_account']")"
region = "$(echo "$scenario" | field "['region']")"
service-role-arn = "$(echo "$scenario" | field "['service_role_arn']")"

[artifacts]
bucket = "$(echo "$scenario" | field "['bucket']")"
kms-key-arn = "$(echo "$scenario" | field "['kms_key_arn']")"

[source]
account = "$(echo "$scenario" | field "['source_account']")"
repository = "bench-xpipeline"
branch = "main"
role-arn = "$source_role"

[build]
project = "$(echo "$scenario" | field "['build_project']")"
TOML

# Base credentials of the pipeline account (moto maps the key "testing" to it).
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=eu-west-1 AWS_REGION=eu-west-1
export AWS_CONFIG_FILE=$work/no-config AWS_SHARED_CREDENTIALS_FILE=$work/no-credentials AWS_EC2_METADATA_DISABLED=true
export AWS_MAX_ATTEMPTS=1 NO_COLOR=1 GIT_TERMINAL_PROMPT=0

# The git CLI side: the same role, assumed once with the AWS CLI (untimed), and the credential
# helper as the CodeCommit user guide configures it (--ignore-host-check: the sandbox is not
# an amazonaws.com host).
creds=$(aws --endpoint-url "$endpoint" sts assume-role --role-arn "$git_role" \
  --role-session-name bench-git-cli --query Credentials --output json)
git_env=(
  "AWS_ACCESS_KEY_ID=$(echo "$creds" | field "['AccessKeyId']")"
  "AWS_SECRET_ACCESS_KEY=$(echo "$creds" | field "['SecretAccessKey']")"
  "AWS_SESSION_TOKEN=$(echo "$creds" | field "['SessionToken']")"
)
helper='!f() { if [ "$1" = get ]; then aws codecommit credential-helper get --ignore-host-check; fi; }; f'
git_cli() {
  env "${git_env[@]}" git -C "$src" -c credential.helper= -c "credential.helper=$helper" \
    -c credential.UseHttpPath=true "$@"
}
xpipeline() { (cd "$src" && "$root/$bin" xpipeline --config "$work/xpipeline.toml" --endpoint-url "$endpoint" "$@"); }
now() { date +%s.%N; }
# Bytes sent in git-receive-pack POSTs to repository $1 since the last `forget_bytes`.
sent_bytes() {
  curl -sf "$endpoint/_sandbox/git-requests" | "$py" -c "import json,sys; print(sum(r['requestBytes'] for r in json.load(sys.stdin) if r['repository'] == '$1' and r['method'] == 'POST' and r['path'] == '/git-receive-pack'))"
}
forget_bytes() { curl -sf -X DELETE "$endpoint/_sandbox/git-requests" >/dev/null; }
repo_dir() {
  curl -sf "$endpoint/_sandbox/repo-dir?account=$source_account&repository=$1&region=$AWS_REGION" | field "['path']"
}

# Warm-up (untimed): creates the pipeline, so that the timed runs reconcile with one GetPipeline.
xpipeline push --no-watch -q >/dev/null
git_cli push -q "$endpoint/v1/repos/bench-git" main:main

echo "repository: $FILES files, $COMMITS commits, $objects objects; $RUNS runs; $bin"
xs=() gs=() xg=() xb=() gb=()
for run in $(seq "$RUNS"); do
  # Delete both remote branches so that each push sends every object again.
  for repo in bench-xpipeline bench-git; do
    git -C "$(repo_dir "$repo")" update-ref -d refs/heads/main
  done
  forget_bytes

  t0=$(now)
  xpipeline push --no-watch >"$work/x.out" 2>"$work/x.err" || { cat "$work/x.err" >&2; exit 1; }
  t1=$(now)
  git_cli push -q "$endpoint/v1/repos/bench-git" main:main
  t2=$(now)

  x=$(echo "$t1 - $t0" | bc -l)
  g=$(echo "$t2 - $t1" | bc -l)
  # The git part of xpipeline's run, from its summary line "sent N objects (X) in Ys".
  part=$(sed -n 's/^sent .* in \([0-9.]*\)s$/\1/p' "$work/x.err")
  bx=$(sent_bytes bench-xpipeline) bg=$(sent_bytes bench-git)
  printf 'run %d: cargo xpipeline push %.2fs (git transfer %.2fs, %d bytes)   git push + credential-helper %.2fs (%d bytes)   ratio %.2f, bytes %.2f\n' \
    "$run" "$x" "${part:-0}" "$bx" "$g" "$bg" "$(echo "$x / $g" | bc -l)" "$(echo "$bx / $bg" | bc -l)"
  xs+=("$x") gs+=("$g") xg+=("${part:-0}") xb+=("$bx") gb+=("$bg")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mx=$(median "${xs[@]}") mg=$(median "${gs[@]}") mp=$(median "${xg[@]}")
mbx=$(median "${xb[@]}") mbg=$(median "${gb[@]}")
printf 'median, full push: cargo xpipeline push %.2fs (git transfer %.2fs), git push + credential-helper %.2fs, ratio %.2f (below 1: faster than the git CLI)\n' \
  "$mx" "$mp" "$mg" "$(echo "$mx / $mg" | bc -l)"
printf 'median, full push bytes: cargo xpipeline push %d, git push %d, ratio %.2f (at most 1: no more bytes than git)\n' \
  "$mbx" "$mbg" "$(echo "$mbx / $mbg" | bc -l)"

# Incremental: INCREMENT new commits (10 files each) on top of what both remotes already have.
INCREMENT=${INCREMENT:-5}
xs=() gs=() xb=() gb=()
for run in $(seq "$RUNS"); do
  forget_bytes
  for c in $(seq "$INCREMENT"); do
    for k in $(seq 0 9); do
      i=$(( (run * 997 + c * 10 + k) % FILES ))
      echo "// increment $run.$c" >>"$src/src/m$(printf %02d $((i % 40)))/f$(printf %04d $i).rs"
    done
    gitc commit -q -a -m "increment $run.$c"
  done
  t0=$(now)
  xpipeline push --no-watch >"$work/x.out" 2>"$work/x.err" || { cat "$work/x.err" >&2; exit 1; }
  t1=$(now)
  git_cli push -q "$endpoint/v1/repos/bench-git" main:main
  t2=$(now)
  x=$(echo "$t1 - $t0" | bc -l)
  g=$(echo "$t2 - $t1" | bc -l)
  bx=$(sent_bytes bench-xpipeline) bg=$(sent_bytes bench-git)
  printf 'increment %d (%d commits): cargo xpipeline push %.2fs (%d bytes)   git push + credential-helper %.2fs (%d bytes)   ratio %.2f, bytes %.2f\n' \
    "$run" "$INCREMENT" "$x" "$bx" "$g" "$bg" "$(echo "$x / $g" | bc -l)" "$(echo "$bx / $bg" | bc -l)"
  xs+=("$x") gs+=("$g") xb+=("$bx") gb+=("$bg")
done
mx=$(median "${xs[@]}") mg=$(median "${gs[@]}")
mbx=$(median "${xb[@]}") mbg=$(median "${gb[@]}")
printf 'median, incremental push of %d commits: cargo xpipeline push %.2fs, git push + credential-helper %.2fs, ratio %.2f\n' \
  "$INCREMENT" "$mx" "$mg" "$(echo "$mx / $mg" | bc -l)"
printf 'median, incremental push bytes: cargo xpipeline push %d, git push %d, ratio %.2f\n' \
  "$mbx" "$mbg" "$(echo "$mbx / $mbg" | bc -l)"
