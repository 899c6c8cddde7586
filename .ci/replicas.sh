#!/usr/bin/env bash
# Runs Charlize as several real processes on one real Redis, behind the
# in-repo EC2 simulator and a fake Slack (both in the test process), and
# prints what they did: 1,000 identical clicks spread over three replicas,
# two users on two replicas, a replica killed with kill -9 mid-wait and
# taken over, an approval asked on one replica and approved on another, an
# approval expiring once, a token refreshed once; and a single process on
# the embedded store killed mid-wait and restarted.
# Needs Go and redis-server (Debian: apt-get install redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."
CHARLIZE_REQUIRE_REDIS=1 go test ./cmd/charlize -count=1 -v \
  -run 'TestThreeReplicas|TestThreeReplicasRefreshOnce|TestKillDuringWaitThenRestart' "$@" |
  grep -E '^(=== RUN|--- |ok|FAIL|PASS)|figure:|want'
