#!/bin/sh
# Interop matrix against the real `eim serve` (not the lab echo server):
# an independent DTLS 1.2 peer completes a handshake with one forced suite
# and authentication, sends a real ESipa GetEimPackageRequest in a CoAP
# POST /gsma/rsp2/asn1 (made by esipa_coap, independently of our CoAP
# code), and the CoAP answer it prints is checked: 2.04, and a payload
# that `eim decode` decodes as a getEimPackageResponse whose package is
# for the peer's own EID and whose eimSignature verifies with the eIM key
# (or noEimPackageAvailable where the device has nothing queued). The
# server's own log must show the request from that device.
# Negative cases: a wrong PSK, a certificate from an unknown CA, one from
# the right CA that no device is bound to, no certificate at all and an
# untrusted raw key fail the handshake with an alert the peer reports;
# the server runs with room for ONE session and ONE handshake, so a
# follow-up device getting its package proves nothing was left behind,
# and its stop line must count exactly that one request.
#
# usage: interop_serve.sh EIM ESIPA_COAP OPENSSL CASE PEER [SHIM]
#   CASE            PEER
#   gnutls-psk-ccm8 | gnutls-psk-gcm | gnutls-ecdhe-psk-chacha |
#   gnutls-ecdsa-ccm8 | gnutls-ecdsa-gcm | gnutls-ecdsa-chacha |
#   gnutls-rpk-ccm8 | gnutls-rpk-server | gnutls-wrong-psk | gnutls-cert-unknown |
#   gnutls-cert-unregistered | gnutls-ecdsa-nocert |
#   gnutls-rpk-untrusted                          gnutls-cli
#   mbedtls-psk-ccm8 | mbedtls-ecdsa-ccm8         tests/dtls/mbedtls_client
#   wolfssl-api-ecdsa-ccm8 | wolfssl-api-ecdhe-psk-chacha   wolfssl_client
#   node-psk-ccm8 | node-psk-gcm                  node (+ node-dtls-client)
#   coap-openssl-psk | coap-openssl-cert |
#   coap-gnutls-psk | coap-gnutls-cert | coap-gnutls-rpk   coap-client-*
#   wolfssl-ecdsa-ccm8                            wolfssl_example_client
#   SHIM: gnutls_cli_shim.so, for gnutls-ecdhe-psk-chacha only.
# The PKI is generated in a temporary directory by the openssl CLI.
set -u
eim=$1 coap=$2 openssl=$3 case=$4 peer=$5 shim=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
dtls_dir=$here/../dtls
case $peer in
/*) ;;
*/*) peer=$(pwd)/$peer ;;
esac
case $coap in /*) ;; *) coap=$(pwd)/$coap ;; esac
case $shim in /* | "") ;; *) shim=$(pwd)/$shim ;; esac
case $eim in /*) ;; *) eim=$(pwd)/$eim ;; esac
tmp=$(mktemp -d) || exit 1
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in client.out server.out server.err follow.out; do
		[ -f "$tmp/$f" ] && { echo "--- $f"; cat "$tmp/$f"; }
	done
	exit 1
}
cd "$tmp" || exit 1
export EIM_DB="$tmp/eim.db"

key() { "$openssl" ecparam -name prime256v1 -genkey -noout -out "$1.key"; }
mkca() { key "$1" && "$openssl" req -x509 -new -key "$1.key" \
	-subj "/CN=eim $1" -days 2 -out "$1.pem"; }
issue() { # name ca [extfile]
	key "$1" &&
	"$openssl" req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" &&
	"$openssl" x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
		-CAcreateserial -days 2 ${3:+-extfile "$3"} -out "$1.pem"
}
{
	mkca ca && mkca other-ca &&
	printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf &&
	issue srv ca ext.cnf && cat srv.pem ca.pem >chain.pem &&
	issue device ca && issue stranger other-ca && issue unregistered ca &&
	key rpk && "$openssl" pkey -in rpk.key -pubout -out rpk.pub &&
	key rpk-stranger &&
	"$openssl" pkey -in rpk-stranger.key -pubout -out rpk-stranger.pub
} >pki.log 2>&1 || { cat pki.log; fail "PKI generation"; }
cert_fp=$("$openssl" x509 -in device.pem -outform DER |
	"$openssl" dgst -sha256 -r | cut -c1-64)

# Devices, one per way of authenticating; the PSK ones take their key as
# text in libcoap and node, hex everywhere else.
EID_PSK=89049032123451234512345678901235
EID_CERT=89033023426200000000000000000028
EID_RPK=89044045116727494800000000000003
EID_IDLE=89044045116727494800000004479366
psk_text=interop-psk-key1 idle_text=interop-idle-k01
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
psk=$(hex "$psk_text")
{
	"$eim" init --eim-id eim-interop &&
	"$eim" device add $EID_PSK --psk-identity psk-dev --psk "$psk" &&
	"$eim" device add $EID_IDLE --psk-identity idle-dev \
		--psk "$(hex "$idle_text")" &&
	"$eim" device add $EID_CERT --cert-fingerprint "$cert_fp" &&
	"$eim" device add $EID_RPK --rpk rpk.key &&
	for e in $EID_PSK $EID_CERT $EID_RPK; do
		"$eim" submit "$e" enable --iccid 89440012345678901234 || exit 1
	done
} >setup.log 2>&1 || { cat setup.log; fail "eim setup"; }
eim_key=$tmp/eim-interop.key.pem
[ -f "$eim_key" ] || fail "eim init wrote no key at $eim_key"

limits=
case $case in
*wrong-psk | *unknown | *unregistered | *nocert | *untrusted)
	limits=', "max_sessions": 1, "max_handshakes": 1' ;;
esac
certificate="\"certificate\": \"$tmp/chain.pem\", "
# a private key alone: eim serve presents its raw public key (RFC 7250)
[ "$case" = gnutls-rpk-server ] && certificate=
# dtls.suites: the server's preference, against the client's
suites=
[ "$case" = gnutls-suites-order ] &&
	suites=', "suites": ["TLS_PSK_WITH_AES_128_GCM_SHA256", "TLS_PSK_WITH_AES_128_CCM_8"]'
cat >eim.json <<EOF
{"dtls": {$certificate"private_key": "$tmp/srv.key",
  "client_ca": "$tmp/ca.pem"$limits$suites}}
EOF
"$eim" serve --config eim.json --listen 127.0.0.1:0 --log-level debug \
	>server.out 2>server.err &
spid=$!
i=0
while ! grep -q 'coaps.*127\.0\.0\.1:' server.out 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "eim serve did not start"
	sleep 0.1
done
port=$(sed -n 's/.* on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' server.out)
[ -n "$port" ] || fail "no port in: $(cat server.out)"

# gnutls-cli: the CoAP datagram goes through stdin (binary, one read, one
# record), the answer comes back raw on stdout after its text lines. Its
# stdin stays open until the answer or a fatal error is there (at most
# 5 s): at EOF it says goodbye and stops reading.
gprio() { # KX CIPHER [extra]
	echo "NONE:+VERS-DTLS1.2:+$1:+$2:+AEAD:+SIGN-ALL:+COMP-NULL:+GROUP-SECP256R1${3:-}"
}
gnutls() { # EID PRIORITY ARGS...
	e=$1 prio=$2
	shift 2
	: >client.out
	# shellcheck disable=SC2094 # watching what gnutls-cli writes is the point
	(
		"$coap" request "$e"
		i=0
		while [ $i -lt 50 ] && ! grep -q '^\*\*\* ' client.out &&
			! "$coap" response client.out /dev/null >/dev/null; do
			i=$((i + 1))
			sleep 0.1
		done
	) | env ${preload:+LD_PRELOAD="$preload"} timeout 15 "$peer" --udp \
		--port "$port" 127.0.0.1 --x509cafile ca.pem --priority "$prio" \
		"$@" >client.out 2>&1
}

eid=$EID_PSK want_desc='' hexout='' neg='' preload=
case $case in
gnutls-psk-ccm8)
	want_desc='-(PSK)-(AES-128-CCM-8)'
	gnutls $eid "$(gprio PSK AES-128-CCM-8)" --pskusername psk-dev \
		--pskkey "$psk" ;;
gnutls-psk-gcm)
	want_desc='-(PSK)-(AES-128-GCM)'
	gnutls $eid "$(gprio PSK AES-128-GCM)" --pskusername psk-dev \
		--pskkey "$psk" ;;
gnutls-suites-order)
	# the client prefers CCM-8, eim serve's dtls.suites puts GCM first:
	# the server's order decides
	want_desc='-(PSK)-(AES-128-GCM)'
	gnutls $eid "$(gprio PSK AES-128-CCM-8 :+AES-128-GCM)" \
		--pskusername psk-dev --pskkey "$psk" ;;
gnutls-ecdhe-psk-chacha)
	# (gnutls-cli names it like ECDHE-ECDSA; PSK is checked below)
	want_desc='-(ECDHE-SECP256R1)-(CHACHA20-POLY1305)'
	[ -n "$shim" ] || fail "this case needs the shim"
	# (preloaded into gnutls-cli only: our helpers may be ASan builds)
	preload=$shim
	gnutls $eid "$(gprio ECDHE-PSK CHACHA20-POLY1305)" \
		--pskusername psk-dev --pskkey "$psk"
	preload=
	grep -q '^- PSK authentication' client.out || fail "not a PSK suite" ;;
gnutls-ecdsa-nocert)
	# devices must authenticate: no certificate, no handshake
	neg=1 eid=$EID_CERT
	gnutls $eid "$(gprio ECDHE-ECDSA AES-128-CCM-8)" ;;
gnutls-ecdsa-*)
	eid=$EID_CERT
	c=AES-128-CCM-8
	[ "$case" = gnutls-ecdsa-gcm ] && c=AES-128-GCM
	[ "$case" = gnutls-ecdsa-chacha ] && c=CHACHA20-POLY1305
	want_desc="-(ECDHE-SECP256R1)-(ECDSA-SHA256)-($c)"
	gnutls $eid "$(gprio ECDHE-ECDSA $c)" --x509certfile device.pem \
		--x509keyfile device.key ;;
gnutls-rpk-ccm8)
	eid=$EID_RPK
	want_desc='-(ECDHE-SECP256R1)-(ECDSA-SHA256)-(AES-128-CCM-8)'
	gnutls $eid "$(gprio ECDHE-ECDSA AES-128-CCM-8 :+CTYPE-CLI-RAWPK)" \
		--rawpkfile rpk.pub --rawpkkeyfile rpk.key ;;
gnutls-rpk-server)
	# raw keys both ways; gnutls-cli cannot pin the server's key, so it
	# is told not to verify it (what is checked is the protocol)
	eid=$EID_RPK
	want_desc='-(ECDHE-SECP256R1)-(ECDSA-SHA256)-(AES-128-CCM-8)'
	gnutls $eid "$(gprio ECDHE-ECDSA AES-128-CCM-8 \
		:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK)" --insecure \
		--rawpkfile rpk.pub --rawpkkeyfile rpk.key
	grep -q 'Certificate type: Raw Public Key' client.out ||
		fail "the server did not present a raw public key" ;;
gnutls-wrong-psk)
	neg=1
	gnutls $eid "$(gprio PSK AES-128-CCM-8)" --pskusername psk-dev \
		--pskkey "ff$(echo "$psk" | cut -c3-)" ;;
gnutls-cert-unknown)
	neg=1 eid=$EID_CERT
	gnutls $eid "$(gprio ECDHE-ECDSA AES-128-CCM-8)" \
		--x509certfile stranger.pem --x509keyfile stranger.key ;;
gnutls-cert-unregistered)
	# issued by the trusted CA, but bound to no device in the store
	neg=1 eid=$EID_CERT
	gnutls $eid "$(gprio ECDHE-ECDSA AES-128-CCM-8)" \
		--x509certfile unregistered.pem --x509keyfile unregistered.key ;;
gnutls-rpk-untrusted)
	neg=1 eid=$EID_RPK
	gnutls $eid "$(gprio ECDHE-ECDSA AES-128-CCM-8 :+CTYPE-CLI-RAWPK)" \
		--rawpkfile rpk-stranger.pub --rawpkkeyfile rpk-stranger.key ;;
mbedtls-psk-ccm8)
	hexout=1 want_desc='suite TLS-PSK-WITH-AES-128-CCM-8'
	timeout 20 "$peer" "$port" TLS-PSK-WITH-AES-128-CCM-8 \
		"hex:$("$coap" request-hex $eid)" psk psk-dev "$psk" \
		>client.out 2>&1 ;;
mbedtls-ecdsa-ccm8)
	hexout=1 eid=$EID_CERT
	want_desc='suite TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8'
	timeout 20 "$peer" "$port" TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8 \
		"hex:$("$coap" request-hex $eid)" cert ca.pem device.pem \
		device.key >client.out 2>&1 ;;
wolfssl-api-ecdsa-ccm8)
	hexout=1 eid=$EID_CERT want_desc='suite ECDHE-ECDSA-AES128-CCM-8'
	timeout 20 "$peer" "$port" ECDHE-ECDSA-AES128-CCM-8 \
		"hex:$("$coap" request-hex $eid)" cert ca.pem device.pem \
		device.key >client.out 2>&1 ;;
wolfssl-api-ecdhe-psk-chacha)
	hexout=1 want_desc='suite ECDHE-PSK-CHACHA20-POLY1305'
	timeout 20 "$peer" "$port" ECDHE-PSK-CHACHA20-POLY1305 \
		"hex:$("$coap" request-hex $eid)" psk psk-dev "$psk" \
		>client.out 2>&1 ;;
node-psk-ccm8 | node-psk-gcm)
	if [ -z "${NODE_PATH:-}" ] && command -v npm >/dev/null 2>&1; then
		NODE_PATH=$(npm root -g 2>/dev/null)
		export NODE_PATH
	fi
	"$peer" -e 'require("node-dtls-client")' 2>/dev/null || {
		echo "node-dtls-client is not installed (scripts/setup.sh)"
		exit 77
	}
	hexout=1 suite=TLS_PSK_WITH_AES_128_CCM_8 id=psk-dev text=$psk_text
	if [ "$case" = node-psk-gcm ]; then
		# a device with nothing queued: noEimPackageAvailable
		suite=TLS_PSK_WITH_AES_128_GCM_SHA256 eid=$EID_IDLE
		id=idle-dev text=$idle_text
	fi
	timeout 20 "$peer" "$dtls_dir/node_dtls_client.js" "$port" "$id" \
		"$text" "$suite" "hex:$("$coap" request-hex $eid)" \
		>client.out 2>&1 ;;
coap-*)
	# libcoap picks its own suites and builds its own CoAP message: it
	# gets only the ESipa body and writes the answer's payload
	case $case in
	*-cert) eid=$EID_CERT
		set -- -c device.pem -j device.key -C ca.pem ;;
	*-rpk) eid=$EID_RPK
		set -- -M rpk.key ;;
	*-psk) set -- -u psk-dev -k "$psk_text" ;;
	esac
	"$coap" request $eid >req.dgram
	tail -c 21 req.dgram >req.bin
	timeout 20 "$peer" "$@" -m post -f req.bin -o body.bin -B 10 \
		"coaps://127.0.0.1:$port/gsma/rsp2/asn1" >client.out 2>&1 ;;
wolfssl-ecdsa-ccm8)
	# The example sends its fixed "hello wolfssl!", which is no CoAP
	# request, and then waits for an answer that never comes: checked
	# are the handshake and that eim serve decrypted those 14 bytes.
	eid=$EID_CERT
	mkdir -p run/certs && : >run/certs/dh2048.pem
	(cd run && timeout 6 stdbuf -oL "$peer" -u -v 3 -p "$port" -C \
		-l ECDHE-ECDSA-AES128-CCM-8 -A ../ca.pem -c ../device.pem \
		-k ../device.key) >client.out 2>&1 ;;
*) fail "unknown case $case" ;;
esac
crc=$?

# (a negative case must have run as one: patterns above overlap)
[ -n "$limits" ] && [ -z "$neg" ] && fail "$case ran as a positive case"
# Negative cases: an alert at the peer, then a follow-up device.
if [ -n "$neg" ]; then
	cp client.out refused.out
	echo "--- refused peer"; cat refused.out
	grep -q '^- Handshake was completed' refused.out &&
		fail "the handshake completed"
	grep -qi 'alert' refused.out || fail "the peer reported no alert"
	"$coap" response refused.out body.bin >/dev/null &&
		fail "a CoAP answer reached the refused peer"
	# the alert eim serve sent: bad_record_mac for a wrong PSK (the
	# client's encrypted Finished does not authenticate under the keys
	# eim serve derived), a certificate alert (bad_certificate,
	# certificate_unknown, unknown_ca...) otherwise
	case $case in
	*wrong-psk) alerts='20' ;;
	*nocert) alerts='40' ;; # handshake_failure
	*) alerts='4[2-8]' ;;
	esac
	grep -q "dtls: handshake failed, alert \($alerts\)\$" server.err ||
		fail "the server logged no failed handshake with alert $alerts"
	gnutls $EID_PSK "$(gprio PSK AES-128-CCM-8)" --pskusername psk-dev \
		--pskkey "$psk"
	cp client.out follow.out
	"$coap" response follow.out body.bin >coap.out ||
		fail "the follow-up device got no answer (a session was left?)"
	eid=$EID_PSK
fi

ok_body() { # EID WANT: package | none
	"$eim" decode --json --eim-key "$eim_key" body.bin >decode.out 2>&1 ||
		{ cat decode.out; fail "eim decode refused the answer"; }
	if [ "$2" = none ]; then
		grep -q '"noEimPackageAvailable"\|noEimPackage' decode.out ||
			{ cat decode.out; fail "not noEimPackageAvailable"; }
	else
		grep -q "\"eidValue\":[[:space:]]*\"$1\"" decode.out ||
			{ cat decode.out; fail "the package is not for $1"; }
		grep -q '"verified":[[:space:]]*true' decode.out ||
			{ cat decode.out; fail "eimSignature not verified"; }
	fi
}

if [ -z "$neg" ]; then
	case $case in
	coap-*)
		[ -s body.bin ] || fail "libcoap wrote no body" ;;
	wolfssl-ecdsa-ccm8)
		grep -q 'SSL cipher suite is ECDHE-ECDSA-AES128-CCM-8' \
			client.out || fail "wolfSSL did not complete the handshake"
		# "hello wolfssl!" parsed as CoAP: type 2 (0x68), MID "ll"
		grep -q 'coap: 14-byte message (type 2, MID 0x6c6c)' server.err ||
			fail "eim serve did not decrypt the example's message"
		;;
	*)
		[ -z "$hexout" ] || [ $crc -eq 0 ] || fail "peer exited $crc"
		grep -qF -- "$want_desc" client.out ||
			fail "the peer did not report $want_desc"
		if [ -n "$hexout" ]; then
			"$coap" response --hex client.out body.bin >coap.out
		else
			"$coap" response client.out body.bin >coap.out
		fi || { cat coap.out; fail "no CoAP answer"; }
		grep -qx 'code 2.04' coap.out || { cat coap.out; fail "not 2.04"; }
		;;
	esac
fi
case $case in
wolfssl-ecdsa-ccm8) ;;
node-psk-gcm) ok_body $eid none ;;
*) ok_body $eid package ;;
esac

kill -TERM "$spid"
wait "$spid"
spid=
case $case in
wolfssl-ecdsa-ccm8)
	# no ESipa request reached the service; the session was a device's
	grep -q "0 requests" server.err || fail "the service saw a request"
	;;
*)
	grep -q "eid=$eid getEimPackageRequest: " server.err ||
		fail "the server did not log the request for $eid"
	grep -q ' 1 requests, ' server.err ||
		fail "the service did not count exactly one request"
	;;
esac
echo "--- client"; tr -c '[:print:]\n' '.' <client.out
echo "--- server"; cat server.out server.err
echo "PASS $case"
