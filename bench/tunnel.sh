#!/usr/bin/env bash
# Throughput of ikego's dataplane against wireguard-go and the bare link, on
# this machine, through real TUN devices and a veth pair between two network
# namespaces:
#
#   ns A: veth 198.51.100.1/24, tunnel 198.18.2.1/24,  route 203.0.113.0/26
#   ns B: veth 198.51.100.2/24, tunnel 203.0.113.1/26, route 198.18.2.0/24
#
# Configurations (CONFIGS, run in this order in every round, so that each
# is compared with its neighbours in time on a noisy machine):
#   ikego-128      examples/static, AES-128-GCM, ESP in UDP 4500 (RFC 3948),
#                  as strongSwan peers use behind NAT
#   wireguard      wireguard-go from the module in go.mod, UDP 51820
#   ikego-256      as ikego-128 with AES-256-GCM
#   bare           the veth itself, no tunnel (MTU 1500): the ceiling
#   ikego-128-esp  as ikego-128 over raw ESP (IP protocol 50)
# Each runs iperf3 TCP from A to B with 1 and 4 streams (STREAMS).
#
# Measured per run:
#   Gbit/s       iperf3's receiver-side rate (-J, end.sum_received), with
#                the first OMIT seconds left out
#   µs CPU/pkt   utime+stime of both daemons (/proc/PID/stat, before and
#                after) divided by the inner packets: the TCP segments that
#                crossed the tunnel, the sum of OutSegs in /proc/net/snmp of
#                both namespaces (data from A, ACKs from B). Both tunnels
#                use TUN offloads, so one TUN read or write can be a 64 KiB
#                super-packet, and the TUN's packet counters (and InSegs,
#                after GRO) count those; OutSegs counts MSS-sized segments
#                whatever the batching (1360 octets of payload with TUN_MTU
#                1400). The TUN counters of A are printed per run as "dev
#                pkts" to show how much each tunnel batches.
# The table gives medians over the rounds; the ratios are medians of the
# per-round ratios to the wireguard run of the same round and stream count
# (throughput: higher is better; CPU per packet: lower is better).
#
# It is a measurement: it exits 0 when it ran, whatever the numbers, and
# non-zero only when the rig could not be set up or a tunnel carried no
# traffic. Needs root, go, iproute2, iperf3, wireguard-tools (wg), jq,
# iputils-ping and coreutils' timeout.
#
#   bash bench/tunnel.sh            # 3 rounds of 10 s per run (~6 minutes)
#   bash bench/tunnel.sh --quick    # 1 round of 3 s: a smoke run
#   DURATION=20 ROUNDS=5 CONFIGS="ikego-128 wireguard" bash bench/tunnel.sh
#
# Environment: DURATION (s, default 10), ROUNDS (3), STREAMS ("1 4"),
# OMIT (s, 1), TUN_MTU (1400), CONFIGS (all five above), RESULTS (a file
# to keep the per-run lines in; default a temporary file), KEEP_LOGS=1
# (keep the temporary directory with the daemons' logs).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
STREAMS=${STREAMS:-"1 4"}
OMIT=${OMIT:-1}
TUN_MTU=${TUN_MTU:-1400}
CONFIGS=${CONFIGS:-"ikego-128 wireguard ikego-256 bare ikego-128-esp"}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case $1 in
    --quick) ROUNDS=1 DURATION=3 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "tunnel.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "tunnel.sh: $*" >&2; exit 1; }
log() { echo "tunnel.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN devices)"
for tool in go ip ss iperf3 wg jq ping timeout awk getconf; do
  command -v "$tool" >/dev/null || die "needs $tool (apt: iproute2 iperf3 wireguard-tools jq iputils-ping coreutils)"
done
[ -c /dev/net/tun ] || die "/dev/net/tun is missing: load the tun module"
for n in "$DURATION" "$ROUNDS" "$OMIT" "$TUN_MTU"; do
  [[ $n =~ ^[0-9]+$ ]] || die "DURATION, ROUNDS, OMIT and TUN_MTU must be whole numbers"
done
[ "$OMIT" -lt "$DURATION" ] || OMIT=0
for c in $CONFIGS; do
  case $c in ikego-128 | ikego-256 | ikego-128-esp | wireguard | bare) ;; *) die "unknown configuration $c" ;; esac
done

# Names unique to this run; interface names stay within 15 octets.
id=$$
nsA=ikbench-a-$id nsB=ikbench-b-$id
vethA=ikbva$id vethB=ikbvb$id
tunA=ikbta$id tunB=ikbtb$id
wgA=ikbwa$id wgB=ikbwb$id
tmp=$(mktemp -d /tmp/ikego-tunnel.XXXXXX)
results=${RESULTS:-$tmp/results}
: >"$results"
hz=$(getconf CLK_TCK)
pids=()

# stop ends the processes this script started, gently and then not.
stop() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then stop "${pids[@]}"; fi
  ip netns del "$nsA" 2>/dev/null || true
  ip netns del "$nsB" 2>/dev/null || true
  rm -f "/var/run/wireguard/$wgA.sock" "/var/run/wireguard/$wgB.sock"
  if [ "${KEEP_LOGS:-}" = 1 ] || [ "$rc" != 0 ]; then
    log "logs kept in $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# showlog prints the end of a daemon's log after a failure.
showlog() { local f; for f in "$@"; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; return 0; }

# waitfor waits up to $1 seconds for the command after it to succeed.
waitfor() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

log "building examples/static and wireguard-go into $tmp"
go build -o "$tmp/static" ./examples/static || die "go build ./examples/static failed"
go build -o "$tmp/wireguard-go" golang.zx2c4.com/wireguard || die "go build golang.zx2c4.com/wireguard failed"

log "namespaces $nsA and $nsB, veth $vethA <-> $vethB"
ip netns add "$nsA" || die "cannot create namespace $nsA"
ip netns add "$nsB" || die "cannot create namespace $nsB"
ip -n "$nsA" link set lo up
ip -n "$nsB" link set lo up
ip link add "$vethA" netns "$nsA" type veth peer name "$vethB" netns "$nsB" || die "cannot create veth pair"
ip -n "$nsA" addr add 198.51.100.1/24 dev "$vethA"
ip -n "$nsB" addr add 198.51.100.2/24 dev "$vethB"
ip -n "$nsA" link set "$vethA" up
ip -n "$nsB" link set "$vethB" up
waitfor 10 ip netns exec "$nsA" ping -c 1 -W 1 198.51.100.2 || die "the veth pair carries no ping"

# Static keys (salt included): A to B and B to A.
key128ab=000102030405060708090a0b0c0d0e0f10111213
key128ba=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3
key256ab=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223
key256ba=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3

# ikego_conf SIDE ENC KEYAB KEYBA ENCAP writes examples/static's
# configuration for side a or b.
ikego_conf() {
  local side=$1 enc=$2 kab=$3 kba=$4 encap=$5 listen="" port=":4500"
  if [ "$encap" = esp ]; then listen=" raw-esp" port=""; fi
  if [ "$side" = a ]; then
    cat <<EOF
tun name $tunA mtu $TUN_MTU address 198.18.2.1/24
route 203.0.113.0/26
listen address 198.51.100.1$listen
policy 1 local 198.18.2.0/24 remote 203.0.113.0/26
sa out policy 1 spi 0x1001 enc $enc key 0x$kab local 198.51.100.1 remote 198.51.100.2$port
sa in policy 1 spi 0x2001 enc $enc key 0x$kba local 198.51.100.1 remote 198.51.100.2$port replay 1024
EOF
  else
    cat <<EOF
tun name $tunB mtu $TUN_MTU address 203.0.113.1/26
route 198.18.2.0/24
listen address 198.51.100.2$listen
policy 1 local 203.0.113.0/26 remote 198.18.2.0/24
sa out policy 1 spi 0x2001 enc $enc key 0x$kba local 198.51.100.2 remote 198.51.100.1$port
sa in policy 1 spi 0x1001 enc $enc key 0x$kab local 198.51.100.2 remote 198.51.100.1$port replay 1024
EOF
  fi
}

# The daemons of the running configuration, their devices and logs.
dpids=() devA="" logs=()

start_ikego() {
  local enc=$1 kab=$2 kba=$3 encap=$4 side ns
  for side in a b; do
    ns=$nsA; [ "$side" = b ] && ns=$nsB
    ikego_conf "$side" "$enc" "$kab" "$kba" "$encap" >"$tmp/$side.conf"
    : >"$tmp/$side.out"
    ip netns exec "$ns" "$tmp/static" -config "$tmp/$side.conf" >"$tmp/$side.out" 2>"$tmp/$side.log" &
    pids+=($!) dpids+=($!)
    logs+=("$tmp/$side.log")
  done
  for side in a b; do
    waitfor 20 grep -qx ready "$tmp/$side.out" || { showlog "${logs[@]}"; die "ikego gateway $side did not print \"ready\" within 20 s"; }
  done
  devA=$tunA
}

start_wireguard() {
  local side ns dev
  mkdir -p /var/run/wireguard
  for side in a b; do
    ns=$nsA dev=$wgA; [ "$side" = b ] && ns=$nsB dev=$wgB
    ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error \
      "$tmp/wireguard-go" -f "$dev" >"$tmp/wg-$side.log" 2>&1 &
    pids+=($!) dpids+=($!)
    logs+=("$tmp/wg-$side.log")
  done
  for side in a b; do
    ns=$nsA dev=$wgA; [ "$side" = b ] && ns=$nsB dev=$wgB
    waitfor 10 test -S "/var/run/wireguard/$dev.sock" || { showlog "${logs[@]}"; die "wireguard-go did not create $dev in $ns within 10 s"; }
    waitfor 10 ip -n "$ns" link show "$dev" || { showlog "${logs[@]}"; die "wireguard-go did not create $dev in $ns within 10 s"; }
  done
  (umask 077 && wg genkey >"$tmp/wg-a.key" && wg genkey >"$tmp/wg-b.key")
  wg pubkey <"$tmp/wg-a.key" >"$tmp/wg-a.pub"
  wg pubkey <"$tmp/wg-b.key" >"$tmp/wg-b.pub"
  ip netns exec "$nsA" wg set "$wgA" private-key "$tmp/wg-a.key" listen-port 51820 \
    peer "$(cat "$tmp/wg-b.pub")" allowed-ips 203.0.113.0/26 endpoint 198.51.100.2:51820 || die "wg set $wgA failed"
  ip netns exec "$nsB" wg set "$wgB" private-key "$tmp/wg-b.key" listen-port 51820 \
    peer "$(cat "$tmp/wg-a.pub")" allowed-ips 198.18.2.0/24 endpoint 198.51.100.1:51820 || die "wg set $wgB failed"
  ip -n "$nsA" addr add 198.18.2.1/24 dev "$wgA"
  ip -n "$nsB" addr add 203.0.113.1/26 dev "$wgB"
  ip -n "$nsA" link set "$wgA" mtu "$TUN_MTU" up
  ip -n "$nsB" link set "$wgB" mtu "$TUN_MTU" up
  ip -n "$nsA" route add 203.0.113.0/26 dev "$wgA"
  ip -n "$nsB" route add 198.18.2.0/24 dev "$wgB"
  devA=$wgA
}

# start CONFIG starts the daemons of a configuration and checks that the
# tunnel carries a ping; it sets dst, the address iperf3 connects to.
start() {
  dpids=() logs=() devA=$vethA dst=203.0.113.1
  case $1 in
    ikego-128) start_ikego aes128gcm16 "$key128ab" "$key128ba" udp ;;
    ikego-256) start_ikego aes256gcm16 "$key256ab" "$key256ba" udp ;;
    ikego-128-esp) start_ikego aes128gcm16 "$key128ab" "$key128ba" esp ;;
    wireguard) start_wireguard ;;
    bare) dst=198.51.100.2 ;;
  esac
  waitfor 15 ip netns exec "$nsA" ping -c 1 -W 1 "$dst" || { showlog "${logs[@]}"; die "$1: no ping through the tunnel to $dst within 15 s"; }
}

# forget removes PIDs that have ended from the list cleanup stops.
forget() {
  local p keep=()
  for p in "${pids[@]}"; do
    [[ " $* " == *" $p "* ]] || keep+=("$p")
  done
  pids=("${keep[@]}")
}

# finish stops the running configuration's daemons.
finish() {
  if [ ${#dpids[@]} -gt 0 ]; then
    stop "${dpids[@]}"
    forget "${dpids[@]}"
  fi
  dpids=()
}

# listening tells whether a TCP socket listens on port $1 in namespace B.
listening() { [ -n "$(ip netns exec "$nsB" ss -Hltn "sport = :$1")" ]; }

# cpu_ticks prints the utime+stime, in clock ticks, of the running daemons.
cpu_ticks() {
  local total=0 pid stat f
  for pid in "${dpids[@]}"; do
    stat=$(cat "/proc/$pid/stat") || die "daemon $pid is gone"
    read -r -a f <<<"${stat##*) }" # fields from 3 (state) on
    total=$((total + f[11] + f[12]))  # fields 14 and 15: utime, stime
  done
  echo "$total"
}

# tcp_segs prints the TCP segments sent in both namespaces: OutSegs counts
# each MSS-sized segment of a GSO packet (tcp_skb_pcount), InSegs would
# count GRO packets.
tcp_segs() {
  local ns
  for ns in "$nsA" "$nsB"; do
    # shellcheck disable=SC2016 # awk's own $ fields
    ip netns exec "$ns" awk '$1 == "Tcp:" {
      if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $(c["OutSegs"]) }' /proc/net/snmp
  done | awk '{ s += $1 } END { print s }'
}

# dev_pkts prints rx+tx packets of device $devA in namespace A.
dev_pkts() {
  ip netns exec "$nsA" cat "/sys/class/net/$devA/statistics/rx_packets" "/sys/class/net/$devA/statistics/tx_packets" |
    awk '{ s += $1 } END { print s }'
}

# run ROUND CONFIG STREAMS runs iperf3 once and appends a result line.
run() {
  local round=$1 cfg=$2 streams=$3 port srv c0 c1 s0 s1 d0 d1 gbps
  port=$((5201 + round % 100))
  ip netns exec "$nsB" timeout $((DURATION + 30)) iperf3 -s -1 -p "$port" >"$tmp/iperf-server.log" 2>&1 &
  srv=$!
  pids+=("$srv")
  waitfor 10 listening "$port" || { cat "$tmp/iperf-server.log" >&2; die "iperf3 server did not start in $nsB"; }
  c0=0 c1=0
  if [ ${#dpids[@]} -gt 0 ]; then c0=$(cpu_ticks); fi
  s0=$(tcp_segs) d0=$(dev_pkts)
  if ! ip netns exec "$nsA" timeout $((DURATION + 20)) iperf3 -c "$dst" -p "$port" -t "$DURATION" -O "$OMIT" \
    -P "$streams" -J --connect-timeout 5000 >"$tmp/iperf.json" 2>"$tmp/iperf.err"; then
    cat "$tmp/iperf.err" >&2
    jq -r '.error // empty' "$tmp/iperf.json" >&2 2>/dev/null || true
    showlog "${logs[@]}"
    die "$cfg: iperf3 with $streams stream(s) to $dst failed"
  fi
  if [ ${#dpids[@]} -gt 0 ]; then c1=$(cpu_ticks); fi
  s1=$(tcp_segs) d1=$(dev_pkts)
  stop "$srv"
  forget "$srv"
  gbps=$(jq -r '.end.sum_received.bits_per_second / 1e9' "$tmp/iperf.json")
  # round config streams Gbit/s cpu-seconds segments dev-packets
  awk -v r="$round" -v c="$cfg" -v p="$streams" -v g="$gbps" -v cpu=$((c1 - c0)) -v hz="$hz" \
    -v segs=$((s1 - s0)) -v dev=$((d1 - d0)) 'BEGIN {
      us = (cpu > 0 && segs > 0) ? sprintf("%.3f", cpu / hz / segs * 1e6) : "-"
      printf "%s %s %s %.3f %s %.2f %d %d\n", r, c, p, g, us, cpu / hz, segs, dev
    }' | tee -a "$results" | awk '{
      printf "tunnel.sh: round %s %-14s P%-2s %7.3f Gbit/s  %6s µs CPU/pkt  (%s s CPU, %d segments, %d dev pkts)\n",
        $1, $2, $3, $4, $5, $6, $7, $8 }' >&2
}

log "$ROUNDS round(s) of: $CONFIGS; streams: $STREAMS; ${DURATION} s each (first $OMIT s omitted)"
for round in $(seq "$ROUNDS"); do
  for cfg in $CONFIGS; do
    start "$cfg"
    for p in $STREAMS; do run "$round" "$cfg" "$p"; done
    finish
  done
done

echo
echo "ikego tunnel benchmark: $(nproc) cores, $(uname -r), TUN MTU $TUN_MTU, ${DURATION} s x $ROUNDS round(s), medians"
awk -v order="$CONFIGS" -v streams="$STREAMS" '
function median(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  if (n == 0) return ""
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(v, f) { return v == "" ? "-" : sprintf(f, v) }
{
  r = $1; c = $2; p = $3
  g[r, c, p] = $4; u[r, c, p] = $5; rounds[r] = 1
  G[c, p] = G[c, p] " " $4
  if ($5 != "-") U[c, p] = U[c, p] " " $5
}
END {
  printf "%-14s %7s %8s %10s %11s %12s\n", "config", "streams", "Gbit/s", "µs CPU/pkt", "Gbit/s ÷ wg", "CPU/pkt ÷ wg"
  nc = split(order, cs, " "); np = split(streams, ps, " ")
  for (i = 1; i <= nc; i++) for (k = 1; k <= np; k++) {
    c = cs[i]; p = ps[k]; rg = ""; ru = ""
    for (r in rounds) {
      if (((r, "wireguard", p) in g) && g[r, "wireguard", p] > 0) rg = rg " " g[r, c, p] / g[r, "wireguard", p]
      if (((r, "wireguard", p) in u) && u[r, c, p] != "-" && u[r, "wireguard", p] != "-" && u[r, "wireguard", p] > 0)
        ru = ru " " u[r, c, p] / u[r, "wireguard", p]
    }
    printf "%-14s %7s %8s %10s %11s %12s\n", c, p, fmt(median(G[c, p]), "%.3f"), fmt(median(U[c, p]), "%.2f"),
      fmt(median(rg), "%.2f"), fmt(median(ru), "%.2f")
  }
}' "$results"
