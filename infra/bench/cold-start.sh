#!/usr/bin/env bash
# Cold starts: every function's release binary, and two peers built here in the same run (a
# Node.js handler with @aws-sdk/client-dynamodb under aws-lambda-ric, a Python handler with
# boto3 under awslambdaric), each started MIZAN_COLD_START_RUNS times (15) against a Runtime API
# of our own and the emulators (DynamoDB Local, moto). Prints median and p90 of process start →
# first poll of the Runtime API (init) and → first response (first invocation).
#
#   bash infra/bench/cold-start.sh
#
# Builds the release binaries (x86_64 here: the arm64 ones do not run on this machine), installs
# the peers into infra/.tools/peers/ (Node's runtime client compiles native code: it needs a C++
# compiler, autoconf, automake and libtool; cmake comes from PyPI), then runs the bench
# (infra/test-support/benches/cold_start.rs) through infra/test.sh, which starts the emulators.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)
PEERS="$ROOT/infra/.tools/peers"
LOGS="$ROOT/infra/.tools/logs"
mkdir -p "$PEERS/node" "$PEERS/python" "$LOGS"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'infra/bench/cold-start.sh: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH: $2"; }
need node "the Node.js peer runs on Node.js 20+"
need python3 "the Python peer runs on Python 3"

step "cargo build --release --bins"
cargo build --release --bins

cp infra/bench/peers/python/* "$PEERS/python/"
if [ ! -x "$PEERS/python/venv/bin/python" ] || ! "$PEERS/python/venv/bin/python" -c 'import boto3, awslambdaric' 2>/dev/null; then
  step "installing the Python peer (boto3, awslambdaric) into infra/.tools/peers/python"
  python3 -m venv "$PEERS/python/venv"
  "$PEERS/python/venv/bin/pip" install -q -r "$PEERS/python/requirements.txt" cmake \
    >"$LOGS/peers-pip.log" 2>&1 || { tail -n 30 "$LOGS/peers-pip.log" >&2; die "pip install failed"; }
fi

cp infra/bench/peers/node/* "$PEERS/node/"
if [ ! -d "$PEERS/node/node_modules/aws-lambda-ric" ] || [ ! -d "$PEERS/node/node_modules/@aws-sdk/client-dynamodb" ]; then
  need autoreconf "aws-lambda-ric builds libcurl: apt-get install -y autoconf automake libtool"
  need g++ "aws-lambda-ric compiles a native module"
  step "installing the Node.js peer (@aws-sdk/client-dynamodb, aws-lambda-ric) into infra/.tools/peers/node"
  PATH="$PEERS/python/venv/bin:$PATH" npm install --prefix "$PEERS/node" --no-audit --no-fund \
    >"$LOGS/peers-npm.log" 2>&1 || { tail -n 30 "$LOGS/peers-npm.log" >&2; die "npm install failed"; }
fi

step "cold starts (the bench profile: the harness optimised, the functions' release binaries)"
MIZAN_SKIP_LINT=1 \
MIZAN_COLD_START_PEERS="$PEERS" \
MIZAN_COLD_START_BIN_DIR="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release" \
  bash infra/test.sh -p mizan-test-support --profile bench --bench cold_start
