#!/usr/bin/env bash
# Measures Charlize beside a minimal Bolt for JS app and a bare Go server
# with ../shared/bench/compare.sh, in one run on this machine: the built
# binary, the bench's fake Slack Web API (views.open and response_url posts
# stay on loopback) and the in-repo EC2 simulator with the demo accounts.
#
#   .ci/compare.sh                        # embedded store, compare.sh's default rotation
#   REDIS_URL=redis://127.0.0.1:6379/0 .ci/compare.sh
#   LOADGEN_TEXTS=help .ci/compare.sh     # one code path alone
#
# compare.sh's own knobs (DURATION, CONCURRENCIES, ROUNDS, PIN, KIND,
# OUTDIR) pass through; CHARLIZE_BIN measures another build. Needs Go, Node.js >= 20 and npm (for the Bolt
# peer). Only loopback addresses are used.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench_src=${BENCH_DIR:-$repo/../shared/bench}
work=$(mktemp -d /tmp/charlize-compare.XXXXXX)
cp -r "$bench_src" "$work/bench"
chmod -R u+w "$work/bench"
mkdir -p "$work/bench/bin" "$work/data"
if [[ -n "${CHARLIZE_BIN:-}" ]]; then
  cp "$CHARLIZE_BIN" "$work/charlize"   # another build, for before/after figures
else
  go build -C "$repo" -o "$work/charlize" ./cmd/charlize
fi
go -C "$work/bench/fakeslack" build -o ../bin/fakeslack .

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
"$work/bench/bin/fakeslack" -addr 127.0.0.1:3199 >"$work/fakeslack.log" 2>&1 & pids+=($!)
"$work/charlize" simulate --addr 127.0.0.1:4566 >"$work/simulate.log" 2>&1 & pids+=($!)

cat >"$work/start-charlize.sh" <<START
exec env CHARLIZE_ADDR=127.0.0.1:3103 SLACK_BOT_TOKEN=xoxb-bench-not-a-real-token \
  SLACK_API_URL=http://127.0.0.1:3199/api/ CHARLIZE_DATA_DIR=$work/data REDIS_URL=${REDIS_URL:-} \
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 \
  CHARLIZE_ACCOUNTS_FILE=$repo/ec2ops/ec2sim/testdata/accounts.yaml $work/charlize
START
echo "compare: load $(cut -d' ' -f1-3 /proc/loadavg) before the run; results in ${OUTDIR:-a /tmp/slackbench.* folder}"
cd "$work/bench"
LOADGEN_RESPONSE_BASE=http://127.0.0.1:3199 ./compare.sh http://127.0.0.1:3103/slack/commands \
  "exec bash $work/start-charlize.sh" charlize
