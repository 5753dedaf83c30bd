#!/bin/sh
# Interop, Connection ID against the real `eim serve`: our DTLS client
# (serve_cid_client, PSK-AES128-CCM8) asks for a CID, fetches its package
# with ESipa GetEimPackageRequests while moving to a new source port and
# then to 127.0.0.2, has an old record replayed from 127.0.0.3 and sends a
# fresh but older record from there (see serve_cid_client.c); dumpcap
# captures it all. tshark, which implements RFC 9146 on its own and is
# given only the PSK (-o dtls.psk), must then decrypt every tls12_cid
# (content type 25) record: the CID the server issued on the requests,
# the client's CID on the answers, CoAP POSTs to gsma/rsp2/asn1 whose
# payload is the GetEimPackageRequest for our EID and answers that start
# with getEimPackageResponse (BF4F). One handshake in the whole capture
# (one HelloVerifyRequest, one ClientKeyExchange), requests from four
# bindings, nothing sent by the server to 127.0.0.3; eim serve's log shows
# request 4 with the session still at the 127.0.0.2 address.
#
# usage: interop_serve_cid.sh EIM CID_CLIENT DUMPCAP TSHARK
# Exit 77 (skipped) when this machine does not allow capturing on lo.
set -u
eim=$1 client=$2 dumpcap=$3 tshark=$4
case $eim in /*) ;; *) eim=$(pwd)/$eim ;; esac
case $client in /*) ;; *) client=$(pwd)/$client ;; esac
tmp=$(mktemp -d) || exit 1
spid='' dpid=''
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in client.out server.err fields.txt; do
		[ -f "$tmp/$f" ] && { echo "--- $f"; cat "$tmp/$f"; }
	done
	exit 1
}
cd "$tmp" || exit 1
export EIM_DB="$tmp/eim.db"
EID=89049032123451234512345678901235
key=6369642d696e7465726f702d6b657931 # "cid-interop-key1"
{
	"$eim" init --eim-id eim-cid &&
	"$eim" device add $EID --psk-identity cid-dev --psk $key &&
	"$eim" submit $EID enable --iccid 89440012345678901234
} >setup.log 2>&1 || { cat setup.log; fail "eim setup"; }

"$eim" serve --listen 127.0.0.1:0 --log-level debug >server.out \
	2>server.err &
spid=$!
i=0
while ! grep -q 'coaps.*127\.0\.0\.1:' server.out 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "eim serve did not start"
	sleep 0.1
done
port=$(sed -n 's/.* on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' server.out)

"$dumpcap" -q -i lo -f "udp port $port" -w cap.pcapng >dumpcap.out 2>&1 &
dpid=$!
i=0
while [ ! -s cap.pcapng ]; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 "$dpid" 2>/dev/null; then
		echo "cannot capture on lo here:"; cat dumpcap.out
		exit 77
	fi
	sleep 0.1
done
sleep 0.5

timeout 30 "$client" "$port" cid-dev $key $EID "$tmp" >client.out 2>&1
crc=$?
sleep 0.5
kill -INT "$dpid"; wait "$dpid"; dpid=
kill -TERM "$spid"; wait "$spid"; spid=
echo "--- client"; cat client.out
[ $crc -eq 0 ] || fail "client exited $crc"
cid=$(awk '/^peer-cid/ {print $2}' client.out)
[ ${#cid} -eq 16 ] || fail "no 8-byte CID from eim serve (got '$cid')"
for n in 1 2 3 4 5; do
	"$eim" decode --json answer-$n.bin >decode.out 2>&1 ||
		{ cat decode.out; fail "answer $n does not decode"; }
	grep -q "\"eidValue\":[[:space:]]*\"$EID\"" decode.out ||
		fail "answer $n is not a package for $EID"
done

# dtls.port: what the decrypted application data is (CoAP)
"$tshark" -r cap.pcapng -o "dtls.psk:$key" -d "udp.port==$port,dtls" \
	-d "dtls.port==$port,coap" \
	-T fields -E separator=';' -e ip.src -e udp.srcport -e ip.dst \
	-e dtls.record.special_type -e dtls.record.connection_id \
	-e dtls.handshake.type -e coap.code -e coap.opt.uri_path \
	-e coap.mid -e data.data -e dtls.record.content_type \
	-e dtls.handshake.ciphersuite >fields.txt 2>tshark.err ||
	{ cat tshark.err; fail "tshark failed"; }
echo "--- tshark"; cat fields.txt

to_srv=$(awk -F';' -v p="$port" '$2 != p' fields.txt)
to_cli=$(awk -F';' -v p="$port" '$2 == p' fields.txt)
req_hex=bf4f125a10$EID
# requests: CoAP POST (code 2) to gsma,rsp2,asn1 in type-25 records with
# the server's CID, carrying our GetEimPackageRequest
# (special_type: the outer type 25; content_type: the inner type, 23)
reqs=$(echo "$to_srv" | awk -F';' -v c="$cid" -v r="$req_hex" \
	'$4 == "25" && $11 == "23" && $5 == c && $7 == "2" &&
	 $8 == "gsma,rsp2,asn1" && $10 == r')
n=$(echo "$reqs" | grep -c .)
# 1..5 and the replay of 1
[ "$n" -eq 6 ] || fail "$n decrypted requests with CID $cid, want 6"
# answers: 2.04 (code 68) in type-25 records with the client's 4-byte CID
answers=$(echo "$to_cli" | awk -F';' '$4 == "25" && $11 == "23" &&
	length($5) == 8 && $7 == "68" && $10 ~ /^bf4f/')
n=$(echo "$answers" | grep -c .)
[ "$n" -eq 5 ] || fail "$n decrypted 2.04 answers with the client CID, want 5"
# the requests came from four bindings: two ports on .1, then .2 and .3
srcs=$(echo "$reqs" | awk -F';' '{print $1 ":" $2}' | sort -u | wc -l)
[ "$srcs" -eq 4 ] || fail "requests from $srcs bindings, want 4"
echo "$reqs" | grep -q '^127\.0\.0\.2;' || fail "nothing from 127.0.0.2"
echo "$reqs" | grep -q '^127\.0\.0\.3;' || fail "nothing from 127.0.0.3"
echo "$to_cli" | awk -F';' '$3 == "127.0.0.3"' | grep -q . &&
	fail "the server sent to 127.0.0.3"
# the server chose TLS_PSK_WITH_AES_128_CCM_8 (RFC 7925) in its ServerHello
echo "$to_cli" | awk -F';' '$6 ~ /^2(,|$)/ {print $12}' | grep -qx 0xc0a8 ||
	fail "ServerHello did not choose PSK-AES128-CCM8 (0xc0a8)"
# one handshake: HelloVerifyRequest (3) and ClientKeyExchange (16) once
n=$(awk -F';' '$6 ~ /(^|,)16(,|$)/' fields.txt | wc -l)
[ "$n" -eq 1 ] || fail "$n ClientKeyExchange messages, want 1"
n=$(awk -F';' '$6 ~ /(^|,)3(,|$)/' fields.txt | wc -l)
[ "$n" -eq 1 ] || fail "$n HelloVerifyRequests, want 1"
# eim serve: five requests; the fourth (from .3) still at the .2 address
n=$(grep -c "eid=$EID getEimPackageRequest: " server.err)
[ "$n" -eq 5 ] || fail "eim serve logged $n requests, want 5"
at2=$(awk '/^local 2 / {print $3}' client.out)
grep "eid=$EID getEimPackageRequest: " server.err | sed -n 4p |
	grep -q " $at2 eid=" || fail "request 4 not logged at $at2"
grep -q '127\.0\.0\.3:.* eid=' server.err && fail "a request logged at .3"
echo "PASS cid"
