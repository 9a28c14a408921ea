#!/usr/bin/env bash
# Runs the esp benchmarks and prints, for each suite and size, ESP's
# throughput as a fraction of the bare cipher's measured in the same run
# (BenchmarkSeal/X/N against BenchmarkBareSeal/X/N, likewise Open), and the
# allocations per operation. The pairs run interleaved, -count times, and the
# median of each is compared, so that a noisy machine moves both sides.
#   bash bench/esp-ratio.sh            # 5 rounds
#   COUNT=10 BENCHTIME=1s bash bench/esp-ratio.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-100000x}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$COUNT"); do
  go test -run '^$' -bench '^Benchmark(Bare)?(Seal|Open)$' -benchmem -benchtime "$BENCHTIME" ./esp/ |
    grep '^Benchmark' >>"$out"
done
awk '
function median(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
  name = $1; sub(/-[0-9]+$/, "", name)
  split(name, p, "/"); op = p[1]; sub(/^Benchmark/, "", op)
  key = p[2] "/" p[3]
  ns[op, key] = ns[op, key] " " $3
  for (i = 4; i <= NF; i++) if ($(i) == "allocs/op") allocs[op, key] = $(i - 1)
  keys[key] = 1
}
END {
  printf "%-24s %-5s %10s %10s %7s %7s\n", "suite/size", "op", "esp ns", "bare ns", "ratio", "allocs"
  for (k in keys) for (o = 1; o <= 2; o++) {
    op = (o == 1) ? "Seal" : "Open"
    e = median(ns[op, k]); r = median(ns["Bare" op, k])
    printf "%-24s %-5s %10.1f %10.1f %7.3f %7s\n", k, op, e, r, r / e, allocs[op, k]
  }
}' "$out" | sort
