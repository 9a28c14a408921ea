#!/usr/bin/env bash
# The IKE_SA_INIT flood proof: TestFloodEngagesCookies (in-process, manual
# clock: cookies engage at CookieThreshold, spoofed requests keep no state,
# the half-open and per-source limits hold, a legitimate client gets in,
# everything half-open times out), then ike's BenchmarkFlood (a started
# responder flooded through HandleDatagram while a legitimate client with
# real timers connects through the same queue), summarised per case.
# It fails when the client does not get in within 30 s or memory is not
# bounded by the half-open limit.
#   bash bench/ike-flood.sh
#   BENCHTIME=2s CASES='max|pps=200k' bash bench/ike-flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCHTIME=${BENCHTIME:-5s}
CASES=${CASES:-.}
go test -count=1 -run '^TestFloodEngagesCookies$' ./ike/
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
go test -run '^$' -bench "^BenchmarkFlood\$/$CASES" -benchmem -benchtime "$BENCHTIME" ./ike/ >"$out" 2>&1 || status=$?
grep -E 'FAIL|flood_bench_test' "$out" || true
awk '
/^BenchmarkFlood\// {
  name = $1; sub(/^BenchmarkFlood\//, "", name); sub(/-[0-9]+$/, "", name)
  delete v
  for (i = 3; i <= NF; i++) v[$(i)] = $(i - 1)
  printf "%-14s %9s answered/s  drop %6s  cookie %5s  half-open %5s  %6s B/SA  heap max %6s MB  client %8s ms, %s sent, %s answered\n",
    name, v["answered/s"], v["drop-frac"], v["cookie-frac"], v["half-open"], v["B/half-open"], v["heap-max-MB"],
    v["legit-ms"], v["legit-tx"], v["legit-rx"]
}' "$out"
exit "$status"
