#!/bin/sh
# Interop: independent DTLS 1.2 clients authenticate to our server
# (tests/dtls/dtls_echo_server) on the ECDHE_ECDSA suites with an X.509
# client certificate (checked against a client CA, or pinned by the SHA-256
# of its DER) or with a raw public key (RFC 7250, pinned by the SHA-256 of
# its SubjectPublicKeyInfo). The server must report exactly the fingerprint
# that openssl computes independently. A certificate from another CA, an
# unknown pinned certificate and an untrusted raw key must each fail the
# handshake with an alert and leave no session. The PKI is generated in a
# temporary directory by the openssl CLI (no key material in the repo).
#
# usage: interop_dtls_clientauth.sh ECHO_SERVER OPENSSL CLIENT_PROGRAM CASE
#   CASE: openssl-cert | openssl-cert-untrusted | gnutls-cert |
#         gnutls-cert-pinned | gnutls-cert-unknown | gnutls-rpk |
#         gnutls-rpk-untrusted | gnutls-rpk-server | coap-gnutls-rpk |
#         coap-gnutls-rpk-untrusted | coap-openssl-cert | coap-gnutls-cert
# The coap-* cases run libcoap's coap-client; our lab server echoes the
# CoAP request instead of answering it, so there the handshake and the
# identity the server reports are checked.
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
issue() { # name ca [extfile]
	key "$1" &&
	"$openssl" req -new -key "$tmp/$1.key" -subj "/CN=$1" \
		-out "$tmp/$1.csr" &&
	"$openssl" x509 -req -in "$tmp/$1.csr" -CA "$tmp/$2.pem" \
		-CAkey "$tmp/$2.key" -CAcreateserial -days 2 ${3:+-extfile "$3"} \
		-out "$tmp/$1.pem"
}
{
	mkca ca && mkca other-ca &&
	printf 'subjectAltName=IP:127.0.0.1\n' >"$tmp/ext.cnf" &&
	issue 127.0.0.1 ca "$tmp/ext.cnf" &&
	cp "$tmp/127.0.0.1.pem" "$tmp/srv.pem" &&
	cp "$tmp/127.0.0.1.key" "$tmp/srv.key" &&
	issue device ca && issue stranger other-ca &&
	"$openssl" pkey -in "$tmp/device.key" -pubout -out "$tmp/device.pub" &&
	"$openssl" pkey -in "$tmp/stranger.key" -pubout -out "$tmp/stranger.pub"
} >"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; fail "PKI generation"; }
sha() { # DER on stdin
	"$openssl" dgst -sha256 -r | cut -c1-64
}
cert_fp=$("$openssl" x509 -in "$tmp/device.pem" -outform DER | sha)
rpk_fp=$("$openssl" pkey -pubin -in "$tmp/device.pub" -outform DER | sha)
stranger_fp=$("$openssl" x509 -in "$tmp/stranger.pem" -outform DER | sha)

# What the server trusts, and with which client credential we come.
ca= pins= srvcert=$tmp/srv.pem ccert=$tmp/device.pem ckey=$tmp/device.key
want=
case $case in
openssl-cert | gnutls-cert | coap-*-cert)
	ca=$tmp/ca.pem want="cert=$cert_fp" ;;
openssl-cert-untrusted)
	ca=$tmp/ca.pem ccert=$tmp/stranger.pem ckey=$tmp/stranger.key ;;
gnutls-cert-pinned) pins=$cert_fp want="cert=$cert_fp" ;;
gnutls-cert-unknown) pins=$stranger_fp ;;
gnutls-rpk | coap-gnutls-rpk) pins=$rpk_fp want="rpk=$rpk_fp" ;;
gnutls-rpk-server) pins=$rpk_fp want="rpk=$rpk_fp" srvcert= ;;
*rpk-untrusted) pins=$stranger_fp ;;
*) fail "unknown case $case" ;;
esac

EIM_DTLS_CERT=$srvcert EIM_DTLS_KEY=$tmp/srv.key EIM_DTLS_CLIENT_CA=$ca \
	EIM_DTLS_PINS=$pins \
	"$server" 0 unused-id 00 30 >"$tmp/server.out" 2>&1 &
spid=$!
i=0
while ! grep -q READY "$tmp/server.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && { cat "$tmp/server.out"; fail "server did not start"; }
	sleep 0.1
done
port=$(awk '/READY/ {print $2}' "$tmp/server.out")
msg="eim-clientauth-$case-$$"
gprio="NONE:+VERS-DTLS1.2:+ECDHE-ECDSA:+AES-128-CCM-8:+AEAD:+SIGN-ALL:+COMP-NULL:+GROUP-ALL"

case $case in
openssl-*)
	(printf '%s' "$msg"; sleep 2) | timeout 5 "$client" s_client \
		-dtls1_2 -connect "127.0.0.1:$port" \
		-cipher ECDHE-ECDSA-AES128-CCM8 -CAfile "$tmp/ca.pem" \
		-verify_return_error -cert "$ccert" -key "$ckey" -quiet \
		>"$tmp/client.out" 2>&1
	;;
gnutls-cert*)
	(echo "$msg"; sleep 2) | timeout 10 "$client" --udp --port "$port" \
		127.0.0.1 --x509cafile "$tmp/ca.pem" --priority "$gprio" \
		--x509certfile "$ccert" --x509keyfile "$ckey" \
		>"$tmp/client.out" 2>&1
	;;
gnutls-rpk*)
	pub=$tmp/device.pub k=$tmp/device.key
	if [ "$case" = gnutls-rpk-untrusted ]; then
		pub=$tmp/stranger.pub k=$tmp/stranger.key
	fi
	# -server: our server has only a raw key; gnutls-cli pins nothing,
	# so it is told not to verify (what it checks is the protocol)
	extra="--x509cafile $tmp/ca.pem" ctype=:+CTYPE-CLI-RAWPK
	if [ "$case" = gnutls-rpk-server ]; then
		extra=--insecure ctype=:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK
	fi
	# shellcheck disable=SC2086 # $extra is one or two words
	(echo "$msg"; sleep 2) | timeout 10 "$client" --udp --port "$port" \
		127.0.0.1 $extra --priority "$gprio$ctype" \
		--rawpkfile "$pub" --rawpkkeyfile "$k" \
		>"$tmp/client.out" 2>&1
	;;
coap-gnutls-rpk*)
	k=$tmp/device.key
	[ "$case" = coap-gnutls-rpk-untrusted ] && k=$tmp/stranger.key
	timeout 10 "$client" -M "$k" -m get -B 3 \
		"coaps://127.0.0.1:$port/echo" >"$tmp/client.out" 2>&1
	;;
coap-*-cert)
	timeout 10 "$client" -c "$ccert" -j "$ckey" -C "$tmp/ca.pem" -m get \
		-B 3 "coaps://127.0.0.1:$port/echo" >"$tmp/client.out" 2>&1
	;;
esac
kill "$spid"
wait "$spid"
spid=
echo "--- client"; cat "$tmp/client.out"
echo "--- server"; cat "$tmp/server.out"

if [ -z "$want" ]; then
	grep -q "$msg" "$tmp/client.out" && fail "data echoed to an untrusted client"
	grep -q "^established" "$tmp/server.out" &&
		fail "handshake completed with an untrusted client"
	grep -q "^stat sessions 0$" "$tmp/server.out" || fail "a session was left"
	grep -q "^stat client_auth_failed 1$" "$tmp/server.out" ||
		fail "refusal not counted"
	case $case in
	coap-*) ;; # libcoap logs alerts only at higher verbosity
	*) grep -qi "alert\|certificate" "$tmp/client.out" ||
		fail "client saw no alert" ;;
	esac
else
	grep -q "^established $want suite=c0ae$" "$tmp/server.out" ||
		fail "server did not report $want on ECDHE-ECDSA-AES128-CCM8"
	case $case in
	coap-*) ;;
	*) grep -q "$msg" "$tmp/client.out" || fail "no echo of $msg" ;;
	esac
fi
echo "PASS $case"
