#!/usr/bin/env bash
# Prints ESP's throughput as a fraction of the bare cipher's, for each
# suite, operation and size, from esp's BenchmarkRatio: it runs ESP and the
# bare cipher (crypto/cipher AES-GCM, x/crypto ChaCha20-Poly1305, AES-CBC +
# HMAC-SHA-256) alternately in slices of 64 iterations, so that both see the
# same (shared, noisy) machine at the same moments. Medians over COUNT runs.
#   bash bench/esp-ratio.sh
#   COUNT=10 BENCHTIME=2s bash bench/esp-ratio.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
go test -run '^$' -bench '^BenchmarkRatio$' -benchtime "$BENCHTIME" -count "$COUNT" ./esp/ |
  awk '
function median(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^BenchmarkRatio\// {
  name = $1; sub(/^BenchmarkRatio\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i <= NF; i++) {
    if ($(i) == "esp-ns/op") esp[name] = esp[name] " " $(i - 1)
    if ($(i) == "bare-ns/op") bare[name] = bare[name] " " $(i - 1)
    if ($(i) == "ratio") ratio[name] = ratio[name] " " $(i - 1)
    if ($(i) == "allocs/op") allocs[name] = $(i - 1)
  }
  keys[name] = 1
}
END {
  printf "%-32s %10s %10s %7s %7s\n", "op/suite/size", "esp ns", "bare ns", "ratio", "allocs"
  for (k in keys) printf "%-32s %10.1f %10.1f %7.3f %7s\n", k, median(esp[k]), median(bare[k]), median(ratio[k]), allocs[k]
}' | sort
