#!/bin/sh
# Interop: an independent DTLS 1.2 client (GnuTLS or OpenSSL) completes a PSK
# handshake with our server (tests/dtls/dtls_echo_server) and gets its
# application data echoed back; a wrong PSK must fail with an alert and
# leave no session behind.
#
# usage: interop_dtls_psk.sh ECHO_SERVER CLIENT_PROGRAM CASE
#   CASE: gnutls-ccm8 | gnutls-gcm | openssl-ccm8 | openssl-gcm |
#         openssl-wrong-psk | gnutls-wrong-psk
set -u
server=$1 client=$2 case=$3
id=interop-dev
key=000102030405060708090a0b0c0d0e0f
tmp=$(mktemp -d) || exit 1
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

"$server" 0 "$id" "$key" 30 >"$tmp/server.out" 2>&1 &
spid=$!
i=0
while ! grep -q READY "$tmp/server.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && { echo "server did not start"; exit 1; }
	sleep 0.1
done
port=$(awk '/READY/ {print $2}' "$tmp/server.out")
msg="eim-interop-$case-$$"
usekey=$key
case $case in
*wrong-psk) usekey=ff0102030405060708090a0b0c0d0e0f ;;
esac

case $case in
gnutls-*)
	cipher=AES-128-CCM-8
	[ "$case" = gnutls-gcm ] && cipher=AES-128-GCM
	(echo "$msg"; sleep 2) | timeout 10 "$client" --udp --port "$port" \
		127.0.0.1 --pskusername "$id" --pskkey "$usekey" \
		--priority "NONE:+VERS-DTLS1.2:+PSK:+$cipher:+AEAD:+SIGN-ALL:+COMP-NULL:+GROUP-ALL" \
		>"$tmp/client.out" 2>&1
	;;
openssl-*)
	cipher=PSK-AES128-CCM8
	[ "$case" = openssl-gcm ] && cipher=PSK-AES128-GCM-SHA256
	(printf "%s" "$msg"; sleep 2) | timeout 5 "$client" s_client \
		-dtls1_2 -connect "127.0.0.1:$port" -psk "$usekey" \
		-psk_identity "$id" -cipher "$cipher" -quiet \
		>"$tmp/client.out" 2>&1
	;;
*)
	echo "unknown case $case"; exit 1 ;;
esac
kill "$spid"
wait "$spid"
spid=
echo "--- client"; cat "$tmp/client.out"
echo "--- server"; cat "$tmp/server.out"

fail() { echo "FAIL: $*"; exit 1; }
case $case in
*wrong-psk)
	grep -q "$msg" "$tmp/client.out" && fail "data echoed with a wrong PSK"
	grep -qi "bad.record.mac" \
		"$tmp/client.out" || fail "client saw no alert"
	grep -q "^stat sessions 0$" "$tmp/server.out" || fail "a session was left"
	grep -q "^stat handshakes_failed 1$" "$tmp/server.out" ||
		fail "failure not counted"
	;;
*)
	grep -q "$msg" "$tmp/client.out" || fail "no echo of $msg"
	grep -q "^established identity=$id" "$tmp/server.out" ||
		fail "server did not report the identity"
	grep -q "^stat handshakes_completed 1$" "$tmp/server.out" ||
		fail "handshake not counted"
	;;
esac
echo "PASS $case"
