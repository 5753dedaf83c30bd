#!/bin/sh
# Interop: node-dtls-client 2.0.3 (TypeScript, npm), whose ClientHello has
# no extensions at all, completes PSK handshakes with our server
# (tests/dtls/dtls_echo_server) with one forced suite and gets its message
# echoed; a wrong PSK fails with an alert and leaves no session.
# Skipped (77) when the npm package is not installed (scripts/setup.sh).
#
# usage: interop_dtls_node.sh ECHO_SERVER NODE CASE
#   CASE: psk-ccm8 | psk-gcm | wrong-psk
set -u
server=$1 node=$2 case=$3
here=$(dirname "$0")
if [ -z "${NODE_PATH:-}" ] && command -v npm >/dev/null 2>&1; then
	NODE_PATH=$(npm root -g 2>/dev/null)
	export NODE_PATH
fi
"$node" -e 'require("node-dtls-client")' 2>/dev/null || {
	echo "node-dtls-client is not installed (scripts/setup.sh)"; exit 77; }
tmp=$(mktemp -d) || exit 1
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

id=node-dev text=node-psk-key1 # the client takes the key as text
hex=$(printf '%s' "$text" | od -An -tx1 | tr -d ' \n')
"$server" 0 "$id" "$hex" 30 >"$tmp/server.out" 2>&1 &
spid=$!
i=0
while ! grep -q READY "$tmp/server.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && { cat "$tmp/server.out"; fail "server did not start"; }
	sleep 0.1
done
port=$(awk '/READY/ {print $2}' "$tmp/server.out")
msg="eim-node-$case-$$"
suite=TLS_PSK_WITH_AES_128_CCM_8 want=c0a8 key=$text
case $case in
psk-ccm8) ;;
psk-gcm) suite=TLS_PSK_WITH_AES_128_GCM_SHA256 want=00a8 ;;
wrong-psk) key=wrong-psk-key ;;
*) fail "unknown case $case" ;;
esac
timeout 20 "$node" "$here/node_dtls_client.js" "$port" "$id" "$key" "$suite" \
	"$msg" >"$tmp/client.out" 2>&1
crc=$?
kill "$spid"
wait "$spid"
spid=
echo "--- client (exit $crc)"; cat "$tmp/client.out"
echo "--- server"; cat "$tmp/server.out"

if [ "$case" = wrong-psk ]; then
	[ $crc -ne 0 ] || fail "client succeeded with a wrong PSK"
	grep -q "bad_record_mac" "$tmp/client.out" || fail "client saw no alert"
	grep -q "^stat sessions 0$" "$tmp/server.out" || fail "a session was left"
	grep -q "^established" "$tmp/server.out" && fail "handshake completed"
else
	[ $crc -eq 0 ] || fail "client failed"
	grep -q "^echo $msg$" "$tmp/client.out" || fail "no echo of $msg"
	grep -q "^established identity=$id suite=$want$" "$tmp/server.out" ||
		fail "server did not report identity=$id suite=$want"
fi
echo "PASS $case"
