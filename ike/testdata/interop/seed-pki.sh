#!/bin/bash
# Seeds the rig's PKI directory ($IKEGO_INTEROP_DIR/pki) with a PKI that is NOT the rig's own, in
# the file names peer.sh copies into each charon's swanctl dirs, and marks it done (.done) so that
# peer.sh never regenerates it. This is what the Go test does with package pki; the script is the
# shell equivalent, used to validate the procedure strongSwan <-> strongSwan (README.md).
#
#   seed-pki.sh rsa   [strongswan|ikego]   for ikev2-cert-rsa-fqdn
#   seed-pki.sh ecdsa [strongswan|ikego]   for ikev2-cert-ecdsa-dn
#
#   strongswan: strongSwan's `pki` tool (default)
#   ikego:      ikego's own CA (package pki) through its CLI examples/pki; set IKEGO_PKI to a
#               built binary, or it is built from this repository with `go build`
#
# Run it BEFORE any peer.sh command that needs the PKI (test, start, info) in that scratch dir,
# or at least before `peer.sh start left`. It replaces an existing <scratch>/pki.
set -euo pipefail
kind=${1:?usage: seed-pki.sh rsa|ecdsa [strongswan|ikego]}
tool=${2:-strongswan}
RUN="${IKEGO_INTEROP_DIR:-${TMPDIR:-/tmp}/ikego-interop}"
PKI=$RUN/pki
HERE="$(cd "$(dirname "$0")" && pwd)"
case $kind in
rsa)   ca_t=rsa3072;  srv_t=rsa3072;  c1_t=ecdsa256; c2_t=rsa2048;;
ecdsa) ca_t=ecdsa384; srv_t=ecdsa256; c1_t=ecdsa256; c2_t=rsa2048;;
*) echo "usage: seed-pki.sh rsa|ecdsa [strongswan|ikego]" >&2; exit 2;;
esac
CA_DN="C=US, O=ikego-interop, CN=ikego Test CA $kind $tool"
SRV_DN="C=US, O=ikego-interop, CN=vpn.example.com"
C1_DN="C=US, O=ikego-interop, CN=client1"
C2_DN="C=US, O=ikego-interop, CN=client2.example.com"
rm -rf "$PKI"; mkdir -p "$PKI"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

swan_gen() { # type(rsa3072|ecdsa256|...) out
	local t=${1%%[0-9]*} s=${1##*[a-z]}
	pki --gen --type "$t" --size "$s" --outform pem > "$2"
}
swan_type() { echo "${1%%[0-9]*}"; }

case $tool in
strongswan)
	# strongSwan's pki warns about plugins it cannot load (tpm): keep only real errors
	pki() { command pki "$@" 2> >(grep -v -e "^plugin '" -e '^TPM 2.0' >&2); }
	cd "$PKI"
	swan_gen $ca_t ca.key.pem
	pki --self --ca --lifetime 30 --in ca.key.pem --type "$(swan_type $ca_t)" --dn "$CA_DN" --outform pem > ca.cert.pem
	issue() { # name type dn flag san...
		local n=$1 t=$2 dn=$3 flag=$4; shift 4
		local sans=(); for s in "$@"; do sans+=(--san "$s"); done
		swan_gen "$t" $n.key.pem
		pki --pub --in $n.key.pem --type "$(swan_type "$t")" | pki --issue --lifetime 30 \
			--cacert ca.cert.pem --cakey ca.key.pem --dn "$dn" "${sans[@]}" $flag --outform pem > $n.cert.pem
	}
	issue server  $srv_t "$SRV_DN" "--flag serverAuth --flag ikeIntermediate" vpn.example.com 198.51.100.2
	issue client1 $c1_t  "$C1_DN"  "--flag clientAuth" client1@example.com
	issue client2 $c2_t  "$C2_DN"  "--flag clientAuth" client2.example.com
	;;
ikego)
	bin=${IKEGO_PKI:-}
	if [ -z "$bin" ]; then
		bin=$tmp/ikego-pki
		( cd "$HERE/../../.." && go build -o "$bin" ./examples/pki )
	fi
	s=$tmp/store
	"$bin" init-ca -dir "$s" -dn "$CA_DN" -type $ca_t -days 30 > /dev/null
	"$bin" issue -dir "$s" -name server  -profile server -dn "$SRV_DN" -san vpn.example.com -san 198.51.100.2 -type $srv_t -days 30 > /dev/null
	"$bin" issue -dir "$s" -name client1 -profile client -dn "$C1_DN" -san client1@example.com -type $c1_t -days 30 > /dev/null
	"$bin" issue -dir "$s" -name client2 -profile client -dn "$C2_DN" -san client2.example.com -type $c2_t -days 30 > /dev/null
	cp "$s/ca/ca.cert.pem" "$s/ca/ca.key.pem" "$PKI/"
	for n in server client1 client2; do cp "$s/certs/$n.cert.pem" "$s/private/$n.key.pem" "$PKI/"; done
	;;
*) echo "unknown tool $tool" >&2; exit 2;;
esac
chmod 0600 "$PKI"/*.key.pem
touch "$PKI/.done"     # peer.sh's marker: "PKI exists, do not generate"
echo "seeded $PKI ($kind, $tool): $(cd "$PKI" && ls | tr '\n' ' ')"
