#!/bin/sh
# Interop: a small Mbed TLS 2.28 client (tests/dtls/mbedtls_client.c)
# completes DTLS 1.2 handshakes with our server (tests/dtls/dtls_echo_server)
# on one forced suite each and gets its message echoed: the RFC 7925 PSK
# and ECDHE-ECDSA CCM-8 suites, GCM, ECDHE-PSK ChaCha20, and ECDHE-ECDSA
# with an X.509 client certificate (accepted from the right CA, refused
# with an alert and no session from another). The PKI is generated in a
# temporary directory by the openssl CLI.
#
# usage: interop_dtls_mbedtls.sh ECHO_SERVER OPENSSL MBEDTLS_CLIENT CASE
#   CASE: psk-ccm8 | psk-gcm | ecdhe-psk-chacha | ecdsa-ccm8 | ecdsa-gcm |
#         ecdsa-ccm8-clientcert | ecdsa-clientcert-untrusted
set -u
server=$1 openssl=$2 client=$3 case=$4
tmp=$(mktemp -d) || exit 1
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

key() { "$openssl" ecparam -name prime256v1 -genkey -noout -out "$tmp/$1.key"; }
mkca() { key "$1" && "$openssl" req -x509 -new -key "$tmp/$1.key" \
	-subj "/CN=eim $1" -days 2 -out "$tmp/$1.pem"; }
issue() { # name ca
	key "$1" &&
	"$openssl" req -new -key "$tmp/$1.key" -subj "/CN=$1" \
		-out "$tmp/$1.csr" &&
	"$openssl" x509 -req -in "$tmp/$1.csr" -CA "$tmp/$2.pem" \
		-CAkey "$tmp/$2.key" -CAcreateserial -days 2 -out "$tmp/$1.pem"
}
{
	mkca ca && mkca other-ca && issue srv ca && issue device ca &&
	issue stranger other-ca
} >"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; fail "PKI generation"; }
cert_fp=$("$openssl" x509 -in "$tmp/device.pem" -outform DER |
	"$openssl" dgst -sha256 -r | cut -c1-64)

id=mbed-dev
key=6d6265642d70736b6579 # "mbed-pskkey"
ca=
case $case in
*clientcert*) ca=$tmp/ca.pem ;;
esac
EIM_DTLS_CERT=$tmp/srv.pem EIM_DTLS_KEY=$tmp/srv.key EIM_DTLS_CLIENT_CA=$ca \
	"$server" 0 "$id" "$key" 30 >"$tmp/server.out" 2>&1 &
spid=$!
i=0
while ! grep -q READY "$tmp/server.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && { cat "$tmp/server.out"; fail "server did not start"; }
	sleep 0.1
done
port=$(awk '/READY/ {print $2}' "$tmp/server.out")
msg="eim-mbedtls-$case-$$"

case $case in
psk-ccm8) s=TLS-PSK-WITH-AES-128-CCM-8 hex=c0a8 ;;
psk-gcm) s=TLS-PSK-WITH-AES-128-GCM-SHA256 hex=00a8 ;;
ecdhe-psk-chacha) s=TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256 hex=ccac ;;
ecdsa-ccm8 | ecdsa-ccm8-clientcert | ecdsa-clientcert-untrusted)
	s=TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8 hex=c0ae ;;
ecdsa-gcm) s=TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 hex=c02b ;;
*) fail "unknown case $case" ;;
esac
case $case in
psk-* | ecdhe-psk-*) set -- psk "$id" "$key" ;;
ecdsa-ccm8-clientcert) set -- cert "$tmp/ca.pem" "$tmp/device.pem" \
	"$tmp/device.key" ;;
ecdsa-clientcert-untrusted) set -- cert "$tmp/ca.pem" "$tmp/stranger.pem" \
	"$tmp/stranger.key" ;;
*) set -- cert "$tmp/ca.pem" ;;
esac
timeout 20 "$client" "$port" "$s" "$msg" "$@" >"$tmp/client.out" 2>&1
crc=$?
kill "$spid"
wait "$spid"
spid=
echo "--- client (exit $crc)"; cat "$tmp/client.out"
echo "--- server"; cat "$tmp/server.out"

case $case in
*untrusted)
	[ $crc -ne 0 ] || fail "client succeeded with an untrusted certificate"
	grep -q "$msg" "$tmp/client.out" && fail "data echoed to an untrusted client"
	grep -qi "alert" "$tmp/client.out" || fail "client saw no alert"
	grep -q "^established" "$tmp/server.out" && fail "handshake completed"
	grep -q "^stat sessions 0$" "$tmp/server.out" || fail "a session was left"
	;;
*)
	[ $crc -eq 0 ] || fail "client failed"
	grep -q "^echo $msg$" "$tmp/client.out" || fail "no echo of $msg"
	want="identity= "
	case $case in
	psk-* | ecdhe-psk-*) want="identity=$id " ;;
	*clientcert) want="cert=$cert_fp " ;;
	esac
	grep -q "^established ${want}suite=$hex$" "$tmp/server.out" ||
		fail "server did not report ${want}suite=$hex"
	;;
esac
echo "PASS $case"
