#!/bin/bash
# Runs every scenario of this folder strongSwan <-> strongSwan with the rig
# (../../../../shared/interop/peer.sh, or $IKEGO_INTEROP_HOME/peer.sh), seeding the certificate
# scenarios' PKI first (seed-pki.sh), and compares each RESULT with EXPECT= in meta (default PASS).
#
#   IKEGO_INTEROP_PREFIX=iks$$ IKEGO_INTEROP_DIR=/tmp/iks-scratch bash run-all.sh [--oneside] [--nat]
#
#   --oneside  also run each scenario with a second, independent charon standing in for ikego
#              (left scenarios: --swan-side right + strongswan-initiator.sh; the others:
#              --swan-side left + the rig's examples/strongswan-responder.sh)
#   --nat      also run every scenario with NAT=1
#   PKI_TOOL=strongswan|ikego   which CA seeds the certificate scenarios (default ikego)
# Output: <scratch>/results-testdata/<label>.txt and summary.txt. Exit 0 if all matched.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
RIG="${IKEGO_INTEROP_HOME:-$(cd "$HERE/../../../../shared/interop" 2>/dev/null && pwd)}"
P="$RIG/peer.sh"
[ -x "$P" ] || [ -f "$P" ] || { echo "peer.sh not found (set IKEGO_INTEROP_HOME)" >&2; exit 2; }
RUN="${IKEGO_INTEROP_DIR:-${TMPDIR:-/tmp}/ikego-interop}"
R="$RUN/results-testdata"; mkdir -p "$R"; : > "$R/summary.txt"
oneside=0 nat=0
for a in "$@"; do case $a in --oneside) oneside=1;; --nat) nat=1;; *) echo "unknown option $a" >&2; exit 2;; esac; done
bad=0
if [ "${PKI_TOOL:-ikego}" = ikego ] && [ -z "${IKEGO_PKI:-}" ]; then
	# build ikego's pki CLI once instead of once per seeding
	mkdir -p "$RUN" && ( cd "$HERE/../../.." && go build -o "$RUN/ikego-pki" ./examples/pki ) || { echo "go build ./examples/pki failed" >&2; exit 1; }
	export IKEGO_PKI="$RUN/ikego-pki"
fi
seed() { # scenario -> seeds the PKI for the certificate scenarios
	case $1 in
	ikev2-cert-rsa-fqdn) bash "$HERE/seed-pki.sh" rsa "${PKI_TOOL:-ikego}" > /dev/null;;
	ikev2-cert-ecdsa-dn) bash "$HERE/seed-pki.sh" ecdsa "${PKI_TOOL:-ikego}" > /dev/null;;
	esac
}
one() { # label scenario natflag peer.sh-test-args...
	local label=$1 s=$2 n=$3; shift 3
	seed "$s" || { echo "seeding the PKI for $s failed" >&2; bad=1; return; }
	local t0 t1 res got exp
	t0=$(date +%s.%N)
	NAT=$n bash "$P" test "$HERE/$s" "$@" > "$R/$label.txt" 2>&1
	t1=$(date +%s.%N)
	res=$(grep '^RESULT ' "$R/$label.txt" | tail -1)
	got=$(echo "$res" | awk '{print $3}')
	exp=$(sed -n 's/^EXPECT=//p' "$HERE/$s/meta" | awk '{print $1}')
	[ "$got" = "${exp:-PASS}" ] || bad=1
	printf '%-40s %-5s (expect %-4s) %5.1fs  %s\n' "$label" "${got:-?}" "${exp:-PASS}" "$(echo "$t1 - $t0" | bc)" "$res" | tee -a "$R/summary.txt"
}
for d in "$HERE"/*/; do
	s=$(basename "$d"); [ -f "$d/meta" ] || continue
	one "$s" "$s" 0
	[ $nat = 1 ] && one "nat-$s" "$s" 1
	if [ $oneside = 1 ]; then
		if [ "$s" = ikev2-net2net ]; then
			one "oneside-$s" "$s" 0 --swan-side right --peer-wait 20 --peer-cmd "exec sh '$HERE/strongswan-initiator.sh'"
		else
			one "oneside-$s" "$s" 0 --swan-side left --peer-wait 20 --peer-cmd 'exec "$IKEGO_INTEROP_HOME/examples/strongswan-responder.sh"'
		fi
	fi
done
bash "$P" down > /dev/null 2>&1
echo "results: $R/summary.txt"
exit $bad
