#!/bin/sh
# Interop (independent check of the RFC 9146 record format): our client
# (tests/dtls/dtls_cid_client) talks to our server (dtls_echo_server) with a
# Connection ID in both directions, changes source port and then source
# address mid-session, while dumpcap captures loopback. tshark, which
# implements RFC 9146 on its own, must then decrypt every tls12_cid record
# with the PSK (so our AEAD nonce and additional data are right), see the
# expected CIDs, the three echoed messages in both directions, and a single
# handshake for all three addresses.
#
# usage: interop_dtls_cid_tshark.sh ECHO_SERVER CID_CLIENT DUMPCAP TSHARK
# Exit 77 (skipped) when this machine does not allow capturing on lo.
set -u
server=$1 client=$2 dumpcap=$3 tshark=$4
id=cid-sensor
key=8899aabbccddeeff0011223344556677
tmp=$(mktemp -d) || exit 1
spid= dpid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$server" 0 "$id" "$key" 30 >"$tmp/server.out" 2>&1 &
spid=$!
i=0
while ! grep -q READY "$tmp/server.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "server did not start"
	sleep 0.1
done
port=$(awk '/READY/ {print $2}' "$tmp/server.out")

"$dumpcap" -q -i lo -f "udp port $port" -w "$tmp/cap.pcapng" \
	>"$tmp/dumpcap.out" 2>&1 &
dpid=$!
i=0
while [ ! -s "$tmp/cap.pcapng" ]; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 "$dpid" 2>/dev/null; then
		echo "cannot capture on lo here:"; cat "$tmp/dumpcap.out"
		exit 77
	fi
	sleep 0.1
done
sleep 0.5

"$client" "$port" "$id" "$key" 4 >"$tmp/client.out" 2>&1
crc=$?
sleep 0.5
kill -INT "$dpid"; wait "$dpid"; dpid=
kill "$spid"; wait "$spid"; spid=
echo "--- client"; cat "$tmp/client.out"
echo "--- server"; cat "$tmp/server.out"
[ $crc -eq 0 ] || fail "client exited $crc"
cid=$(awk '/^peer-cid/ {print $2}' "$tmp/client.out")
[ -n "$cid" ] || fail "no CID reported"

"$tshark" -r "$tmp/cap.pcapng" -o "dtls.psk:$key" -d "udp.port==$port,dtls" \
	-T fields -E separator=';' -e ip.src -e udp.srcport -e udp.dstport \
	-e dtls.record.special_type -e dtls.record.connection_id \
	-e dtls.record.content_type -e dtls.handshake.type -e data.data \
	>"$tmp/fields.txt" 2>/dev/null || fail "tshark failed"
echo "--- tshark"; cat "$tmp/fields.txt"

to_srv=$(awk -F';' -v p="$port" '$3 == p' "$tmp/fields.txt")
to_cli=$(awk -F';' -v p="$port" '$2 == p' "$tmp/fields.txt")
# client -> server: Finished, 3 requests, close_notify in type-25 records
n=$(echo "$to_srv" | awk -F';' -v c="$cid" '$4 ~ /25/ && $5 == c' | wc -l)
[ "$n" -ge 5 ] || fail "expected >= 5 tls12_cid datagrams with CID $cid, got $n"
# server -> client: the client's own 4-byte CID
n=$(echo "$to_cli" | awk -F';' '$4 ~ /25/ && length($5) == 8' | wc -l)
[ "$n" -ge 4 ] || fail "server did not use the client's CID ($n)"
# every message decrypted by tshark, request and echo
for k in 1 2 3; do
	hex=$(printf 'cid-echo-%s-from-' "$k" | od -An -tx1 | tr -d ' \n')
	n=$(grep -c "$hex" "$tmp/fields.txt")
	[ "$n" -eq 2 ] || fail "message $k decrypted $n times, want 2"
done
# the three requests came from three bindings, one of them 127.0.0.2
srcs=$(echo "$to_srv" | awk -F';' '$8 != "" {print $1 ":" $2}' | sort -u | wc -l)
[ "$srcs" -eq 3 ] || fail "requests came from $srcs bindings, want 3"
echo "$to_srv" | grep -q '^127\.0\.0\.2;' || fail "nothing from 127.0.0.2"
# one handshake only: a single ClientKeyExchange, one completed handshake
n=$(awk -F';' '$7 ~ /(^|,)16(,|$)/' "$tmp/fields.txt" | wc -l)
[ "$n" -eq 1 ] || fail "$n ClientKeyExchange messages, want 1"
grep -q '^stat handshakes_completed 1$' "$tmp/server.out" ||
	fail "server counted another handshake"
echo "PASS cid-tshark"
