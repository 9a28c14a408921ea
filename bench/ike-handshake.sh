#!/usr/bin/env bash
# Prints IKEv2 handshakes per second beside the crypto-bound ceiling, for
# PSK with ECP-256 and with Curve25519, from ike's BenchmarkHandshakeRatio:
# it runs complete handshakes (IKE_SA_INIT + IKE_AUTH with a CHILD_SA, both
# Managers in-process) and the ceiling (the same DH and PRF operations
# alone) alternately in slices of 2, so that both see the same (shared,
# noisy) machine at the same moments. ratio = ceiling time / handshake time;
# the target is 0.7 or more. Medians over COUNT runs.
#   bash bench/ike-handshake.sh
#   COUNT=10 BENCHTIME=2s bash bench/ike-handshake.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
go test -run '^$' -bench '^BenchmarkHandshakeRatio$' -benchtime "$BENCHTIME" -count "$COUNT" ./ike/ |
  awk '
function median(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^BenchmarkHandshakeRatio\// {
  name = $1; sub(/^BenchmarkHandshakeRatio\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i <= NF; i++) {
    if ($(i) == "hs-ns/op") hs[name] = hs[name] " " $(i - 1)
    if ($(i) == "ceiling-ns/op") ceil[name] = ceil[name] " " $(i - 1)
    if ($(i) == "handshakes/s") rate[name] = rate[name] " " $(i - 1)
    if ($(i) == "ratio") ratio[name] = ratio[name] " " $(i - 1)
  }
  keys[name] = 1
}
END {
  printf "%-8s %12s %12s %12s %7s\n", "group", "handshake ns", "ceiling ns", "handshakes/s", "ratio"
  for (k in keys) printf "%-8s %12.0f %12.0f %12.0f %7.3f\n", k, median(hs[k]), median(ceil[k]), median(rate[k]), median(ratio[k])
}' | { IFS= read -r header; echo "$header"; sort; }
