#!/bin/sh
# Interop: an independent DTLS 1.2 client (GnuTLS or OpenSSL) completes a PSK
# handshake with our server (tests/dtls/dtls_echo_server) and gets its
# application data echoed back; a wrong PSK must fail with an alert and
# leave no session behind.
#
# usage: interop_dtls_psk.sh ECHO_SERVER CLIENT_PROGRAM CASE
#   CASE: gnutls-ccm8 | gnutls-gcm | openssl-ccm8 | openssl-gcm |
#         openssl-chacha | openssl-wrong-psk | gnutls-wrong-psk |
#         coap-openssl | coap-gnutls | coap-openssl-chacha | coap-gnutls-chacha |
#         openssl-renegotiate
# openssl-renegotiate has s_client ask for a renegotiation ('R') inside
# the session: our server answers with a no_renegotiation alert and never
# starts a second handshake.
# The coap-* cases run libcoap's coap-client with its own suite list (the
# *-chacha ones against a server that only allows
# ECDHE-PSK-CHACHA20-POLY1305); our lab server echoes the CoAP request
# instead of answering it, so only the handshake is checked there.
# (gnutls-cli 3.7.9 itself is not used for ECDHE-PSK: after completing the
# handshake it crashes in gnutls_psk_server_get_username() while printing
# the session, against gnutls-serv as well.)
set -u
server=$1 client=$2 case=$3
id=interop-dev
ascii_key=interop-psk-key1 # libcoap takes the key as text
key=$(printf '%s' "$ascii_key" | od -An -tx1 | tr -d ' \n')
tmp=$(mktemp -d) || exit 1
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

suites=
case $case in
coap-*-chacha) suites=ccac ;;
esac
# shellcheck disable=SC2086 # $suites is empty or one word
"$server" 0 "$id" "$key" 30 $suites >"$tmp/server.out" 2>&1 &
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
*wrong-psk) usekey=ff$(echo "$key" | cut -c3-) ;;
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
openssl-renegotiate)
	(sleep 0.5; printf 'R\n'; sleep 1) | timeout 5 "$client" s_client \
		-dtls1_2 -connect "127.0.0.1:$port" -psk "$usekey" \
		-psk_identity "$id" -cipher PSK-AES128-CCM8 \
		>"$tmp/client.out" 2>&1
	;;
openssl-*)
	cipher=PSK-AES128-CCM8
	[ "$case" = openssl-gcm ] && cipher=PSK-AES128-GCM-SHA256
	[ "$case" = openssl-chacha ] && cipher=ECDHE-PSK-CHACHA20-POLY1305
	(printf "%s" "$msg"; sleep 2) | timeout 5 "$client" s_client \
		-dtls1_2 -connect "127.0.0.1:$port" -psk "$usekey" \
		-psk_identity "$id" -cipher "$cipher" -quiet \
		>"$tmp/client.out" 2>&1
	;;
coap-*)
	timeout 10 "$client" -u "$id" -k "$ascii_key" -m get -B 3 \
		"coaps://127.0.0.1:$port/echo" >"$tmp/client.out" 2>&1
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
coap-*)
	;;
openssl-renegotiate)
	grep -q "RENEGOTIATING" "$tmp/client.out" || fail "client did not ask"
	grep -qi "no renegotiation" "$tmp/client.out" ||
		fail "client did not get no_renegotiation"
	grep -q "^stat handshakes_completed 1$" "$tmp/server.out" ||
		fail "a second handshake ran"
	;;
*)
	grep -q "$msg" "$tmp/client.out" || fail "no echo of $msg"
	grep -q "^established identity=$id" "$tmp/server.out" ||
		fail "server did not report the identity"
	grep -q "^stat handshakes_completed 1$" "$tmp/server.out" ||
		fail "handshake not counted"
	;;
esac
case $case in
*-chacha) grep -q "^established .* suite=ccac$" "$tmp/server.out" ||
	fail "ECDHE-PSK-CHACHA20-POLY1305 not negotiated" ;;
*gcm) grep -q "^established .* suite=00a8$" "$tmp/server.out" ||
	fail "PSK-AES128-GCM-SHA256 not negotiated" ;;
*ccm8|coap-openssl|coap-gnutls) grep -q "^established .* suite=c0a8$" "$tmp/server.out" ||
	fail "PSK-AES128-CCM8 not negotiated (RFC 7925 suite preferred)" ;;
esac
echo "PASS $case"
