#!/bin/sh
# A second, independent strongSwan INITIATOR in the left namespace, standing in for ikego as the
# client/initiator. Start it with
#
#   peer.sh test <scen> --swan-side right --peer-wait 20 \
#       --peer-cmd 'exec sh /work/main/ike/testdata/interop/strongswan-initiator.sh'
#
# (like $IKEGO_INTEROP_HOME/examples/strongswan-responder.sh, which is the responder counterpart).
# It reads left.conf of the scenario, takes certificates from $IKEGO_INTEROP_DIR/pki (the same
# files peer.sh would use), writes only to $IKEGO_INTEROP_PEER_DIR, initiates every CHILD= of the
# scenario's meta and stays in the foreground until the rig ends its process group.
set -eu
: "${IKEGO_INTEROP_SCENARIO_DIR:?start me with peer.sh test ... --peer-cmd}"
side=${IKEGO_INTEROP_SIDE:-left}
w=${IKEGO_INTEROP_PEER_DIR:?}
pki=$IKEGO_INTEROP_DIR/pki
sd=$IKEGO_INTEROP_SCENARIO_DIR
mkdir -p "$w/varrun" "$w/swanctl/x509" "$w/swanctl/x509ca" "$w/swanctl/private"
cat > "$w/strongswan.conf" <<EOC
charon {
	load = random nonce openssl aes sha1 sha2 md5 hmac gcm kdf gmp curve25519 pem pkcs1 pkcs8 x509 revocation constraints pubkey attr kernel-libipsec kernel-netlink socket-default vici eap-identity eap-mschapv2 xauth-generic unity
	install_routes = yes
	install_virtual_ip = yes
	routing_table = 220
	routing_table_prio = 220
	retransmit_tries = 3
	retransmit_timeout = 2.0
	filelog {
		peer {
			path = $w/charon.log
			default = 1
			ike = 2
		}
	}
	plugins {
		vici {
			socket = unix://$w/charon.vici
		}
	}
	$(cat "$sd/strongswan.extra" "$sd/strongswan.$side.extra" 2>/dev/null | sed "s#@SIDE_DIR@#$w#g")
}
EOC
cp "$sd/$side.conf" "$w/swanctl/swanctl.conf"
if [ -f "$pki/ca.cert.pem" ]; then
	cp "$pki/ca.cert.pem" "$w/swanctl/x509ca/"
	for c in server client1 client2; do [ -f "$pki/$c.cert.pem" ] && cp "$pki/$c.cert.pem" "$w/swanctl/x509/"; done
	for k in $(sed -n "s/^KEYS_$side=//p" "$sd/meta"); do cp "$pki/$k.key.pem" "$w/swanctl/private/"; done
fi
# charon's pidfile is /var/run/charon.pid: use a private /run (ip netns exec gave us a private
# mount namespace)
mount --bind "$w/varrun" /run
STRONGSWAN_CONF=$w/strongswan.conf /usr/lib/ipsec/charon &
pid=$!
trap 'kill $pid 2>/dev/null' TERM INT
i=0
while [ ! -S "$w/charon.vici" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
SWANCTL_DIR=$w/swanctl swanctl --load-all --uri "unix://$w/charon.vici" --file "$w/swanctl/swanctl.conf"
ike=$(sed -n 's/^IKE=//p' "$sd/meta" | head -1)
for c in $(sed -n 's/^CHILD=//p' "$sd/meta" | head -1); do
	swanctl --initiate --uri "unix://$w/charon.vici" --ike "$ike" --child "$c" --timeout 30 || echo "strongswan-initiator: initiate $c failed"
done
echo "strongswan-initiator: charon pid $pid, scenario $IKEGO_INTEROP_SCENARIO, log $w/charon.log"
wait $pid
