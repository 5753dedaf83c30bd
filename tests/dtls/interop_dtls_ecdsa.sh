#!/bin/sh
# Interop: independent DTLS 1.2 clients (OpenSSL, GnuTLS) complete an
# ECDHE-ECDSA handshake with our server (tests/dtls/dtls_echo_server) on a
# P-256 certificate chain they verify against a test CA, and get their data
# echoed. A client that trusts another CA must fail and leave no session.
# The PKI is generated afresh in a temporary directory by the openssl CLI
# (no key material is kept in the repository).
#
# usage: interop_dtls_ecdsa.sh ECHO_SERVER OPENSSL CLIENT_PROGRAM CASE
#                              [DUMPCAP TSHARK]
#   CASE: openssl-ccm8 | openssl-gcm | openssl-chacha | gnutls-ccm8 |
#         gnutls-gcm | gnutls-chacha | openssl-untrusted | gnutls-untrusted |
#         openssl-ccm8-mtu300 | gnutls-ccm8-mtu300
# The -mtu300 cases make the server split its certificate flight into
# handshake fragments of datagrams of at most 300 bytes. The case
# openssl-ccm8-keylog captures the exchange and has tshark decrypt it with
# the NSS key log our server wrote (checks the key log and, independently,
# the ECDHE key schedule); it exits 77 where capturing is not allowed.
set -u
server=$1 openssl=$2 client=$3 case=$4
dumpcap=${5:-} tshark=${6:-}
tmp=$(mktemp -d) || exit 1
spid= dpid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkca() { # name
	"$openssl" ecparam -name prime256v1 -genkey -noout -out "$tmp/$1.key" &&
	"$openssl" req -x509 -new -key "$tmp/$1.key" -subj "/CN=eim $1" \
		-days 2 -out "$tmp/$1.pem"
}
{
	mkca ca && mkca other-ca &&
	"$openssl" ecparam -name prime256v1 -genkey -noout -out "$tmp/srv.key" &&
	"$openssl" req -new -key "$tmp/srv.key" -subj /CN=127.0.0.1 \
		-out "$tmp/srv.csr" &&
	printf 'subjectAltName=IP:127.0.0.1\n' >"$tmp/ext.cnf" &&
	"$openssl" x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" \
		-CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
		-extfile "$tmp/ext.cnf" -out "$tmp/srv.pem" &&
	cat "$tmp/srv.pem" "$tmp/ca.pem" >"$tmp/chain.pem"
} >"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; fail "PKI generation"; }

mtu=1280
case $case in
*-mtu300) mtu=300 ;;
esac
keylog=
case $case in
*-keylog) keylog=$tmp/keylog.txt ;;
esac
EIM_DTLS_CERT=$tmp/chain.pem EIM_DTLS_KEY=$tmp/srv.key EIM_DTLS_MTU=$mtu \
	EIM_DTLS_KEYLOG=$keylog \
	"$server" 0 unused-id 00 30 >"$tmp/server.out" 2>&1 &
spid=$!
i=0
while ! grep -q READY "$tmp/server.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && { cat "$tmp/server.out"; fail "server did not start"; }
	sleep 0.1
done
port=$(awk '/READY/ {print $2}' "$tmp/server.out")
msg="eim-ecdsa-$case-$$"
if [ -n "$keylog" ]; then
	"$dumpcap" -q -i lo -f "udp port $port" -w "$tmp/cap.pcapng" \
		>"$tmp/dumpcap.out" 2>&1 &
	dpid=$!
	i=0
	while [ ! -s "$tmp/cap.pcapng" ]; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 "$dpid" 2>/dev/null; then
			echo "cannot capture on lo here"; exit 77
		fi
		sleep 0.1
	done
	sleep 0.5
fi
ca=$tmp/ca.pem
case $case in
*untrusted) ca=$tmp/other-ca.pem ;;
esac

case $case in
openssl-*)
	cipher=ECDHE-ECDSA-AES128-CCM8 suite=c0ae
	[ "$case" = openssl-gcm ] && cipher=ECDHE-ECDSA-AES128-GCM-SHA256 suite=c02b
	[ "$case" = openssl-chacha ] && cipher=ECDHE-ECDSA-CHACHA20-POLY1305 suite=cca9
	(printf '%s' "$msg"; sleep 2) | timeout 5 "$client" s_client \
		-dtls1_2 -connect "127.0.0.1:$port" -cipher "$cipher" \
		-CAfile "$ca" -verify_return_error -quiet \
		>"$tmp/client.out" 2>&1
	;;
gnutls-*)
	cipher=AES-128-CCM-8 suite=c0ae
	[ "$case" = gnutls-gcm ] && cipher=AES-128-GCM suite=c02b
	[ "$case" = gnutls-chacha ] && cipher=CHACHA20-POLY1305 suite=cca9
	(echo "$msg"; sleep 2) | timeout 10 "$client" --udp --port "$port" \
		127.0.0.1 --x509cafile "$ca" \
		--priority "NONE:+VERS-DTLS1.2:+ECDHE-ECDSA:+$cipher:+AEAD:+SIGN-ALL:+COMP-NULL:+GROUP-ALL" \
		>"$tmp/client.out" 2>&1
	;;
*)
	fail "unknown case $case" ;;
esac
kill "$spid"
wait "$spid"
spid=
if [ -n "$dpid" ]; then
	kill -INT "$dpid"; wait "$dpid"; dpid=
fi
echo "--- client"; cat "$tmp/client.out"
echo "--- server"; cat "$tmp/server.out"

case $case in
*untrusted)
	grep -q "$msg" "$tmp/client.out" && fail "data went to an untrusted server"
	grep -q "^established" "$tmp/server.out" &&
		fail "handshake completed with an untrusting client"
	grep -q "^stat sessions 0$" "$tmp/server.out" || fail "a session was left"
	;;
*)
	grep -q "$msg" "$tmp/client.out" || fail "no echo of $msg"
	grep -q "^established identity= suite=$suite$" "$tmp/server.out" ||
		fail "suite $suite not negotiated"
	;;
esac
if [ -n "$keylog" ]; then
	grep -c '^CLIENT_RANDOM [0-9a-f]\{64\} [0-9a-f]\{96\}$' "$keylog" |
		grep -qx 1 || fail "key log line missing or malformed"
	"$tshark" -r "$tmp/cap.pcapng" -o "tls.keylog_file:$keylog" \
		-d "udp.port==$port,dtls" -T fields -e data.data \
		>"$tmp/fields.txt" 2>/dev/null || fail "tshark failed"
	hex=$(printf '%s' "$msg" | od -An -tx1 | tr -d ' \n')
	n=$(grep -c "$hex" "$tmp/fields.txt")
	[ "$n" -eq 2 ] || fail "tshark decrypted the message $n times, want 2"
fi
echo "PASS $case"
