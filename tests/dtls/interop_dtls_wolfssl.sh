#!/bin/sh
# Interop: wolfSSL 5.5.4's own example client (built from the Debian
# package's examples/client.c) completes DTLS 1.2 handshakes with our
# server (tests/dtls/dtls_echo_server) and gets its "hello wolfssl!"
# echoed: ECDHE-ECDSA-AES128-CCM-8 with a client certificate (and refused
# without one), and ECDHE-PSK-CHACHA20-POLY1305 with the example's fixed
# PSK identity and key (Debian's wolfSSL has no static-PSK AES suites).
#
# usage: interop_dtls_wolfssl.sh ECHO_SERVER OPENSSL WOLFSSL_CLIENT CASE
#   CASE: ecdsa-ccm8-clientcert | ecdsa-ccm8-nocert | ecdhe-psk-chacha
set -u
server=$1 openssl=$2 client=$3 case=$4
# the client runs in another directory: make its path absolute
client=$(cd "$(dirname "$client")" && pwd)/$(basename "$client")
tmp=$(mktemp -d) || exit 1
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

key() { "$openssl" ecparam -name prime256v1 -genkey -noout -out "$tmp/$1.key"; }
issue() { # name ca
	key "$1" &&
	"$openssl" req -new -key "$tmp/$1.key" -subj "/CN=$1" \
		-out "$tmp/$1.csr" &&
	"$openssl" x509 -req -in "$tmp/$1.csr" -CA "$tmp/$2.pem" \
		-CAkey "$tmp/$2.key" -CAcreateserial -days 2 -out "$tmp/$1.pem"
}
{
	key ca && "$openssl" req -x509 -new -key "$tmp/ca.key" \
		-subj "/CN=eim ca" -days 2 -out "$tmp/ca.pem" &&
	issue srv ca && issue device ca
} >"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; fail "PKI generation"; }
cert_fp=$("$openssl" x509 -in "$tmp/device.pem" -outform DER |
	"$openssl" dgst -sha256 -r | cut -c1-64)
# the example client looks for its source tree by this file; it runs here
mkdir -p "$tmp/run/certs" && : >"$tmp/run/certs/dh2048.pem"

# the example's built-in PSK: identity Client_identity, key 1a2b3c4d
EIM_DTLS_CERT=$tmp/srv.pem EIM_DTLS_KEY=$tmp/srv.key \
	EIM_DTLS_CLIENT_CA=$tmp/ca.pem \
	"$server" 0 Client_identity 1a2b3c4d 30 >"$tmp/server.out" 2>&1 &
spid=$!
i=0
while ! grep -q READY "$tmp/server.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && { cat "$tmp/server.out"; fail "server did not start"; }
	sleep 0.1
done
port=$(awk '/READY/ {print $2}' "$tmp/server.out")

case $case in
ecdsa-ccm8-clientcert)
	set -- -l ECDHE-ECDSA-AES128-CCM-8 -A "$tmp/ca.pem" \
		-c "$tmp/device.pem" -k "$tmp/device.key"
	want="cert=$cert_fp suite=c0ae" ;;
ecdsa-ccm8-nocert)
	set -- -l ECDHE-ECDSA-AES128-CCM-8 -A "$tmp/ca.pem" -x
	want= ;;
ecdhe-psk-chacha)
	set -- -s -l ECDHE-PSK-CHACHA20-POLY1305
	want="identity=Client_identity suite=ccac" ;;
*) fail "unknown case $case" ;;
esac
(cd "$tmp/run" && timeout 20 "$client" -u -v 3 -p "$port" -C "$@") \
	>"$tmp/client.out" 2>&1
kill "$spid"
wait "$spid"
spid=
echo "--- client"; cat "$tmp/client.out"
echo "--- server"; cat "$tmp/server.out"

if [ -z "$want" ]; then
	grep -q "^hello wolfssl!$" "$tmp/client.out" &&
		fail "data echoed without a client certificate"
	grep -qi "alert" "$tmp/client.out" || fail "client saw no alert"
	grep -q "^established" "$tmp/server.out" && fail "handshake completed"
	grep -q "^stat sessions 0$" "$tmp/server.out" || fail "a session was left"
	grep -q "^stat client_auth_failed 1$" "$tmp/server.out" ||
		fail "refusal not counted"
else
	grep -q "^hello wolfssl!$" "$tmp/client.out" || fail "no echo"
	grep -q "^established $want$" "$tmp/server.out" ||
		fail "server did not report $want"
fi
echo "PASS $case"
