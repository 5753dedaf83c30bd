#!/usr/bin/env bash
# demo.sh - README's first command: builds eim and runs its main job on a
# throw-away SQLite database: an operator queues signed packages, `eim serve`
# answers over CoAP on loopback, and devices poll for their packages.
#
# Until the device simulator lands (examples/, eim-device), the "devices" are
# libcoap's coap-client-openssl sending real GetEimPackage requests over DTLS
# 1.2 with their PSKs: an independent CoAP/DTLS implementation talking to ours.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${EIM_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" >/dev/null
fi
ninja -C "$build" >/dev/null
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
eim="$build/eim/eim"
work=$(mktemp -d /tmp/eim-demo-XXXXXX)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
export EIM_DB="$work/eim.db"
# Shows a command as an operator would type it, then runs it.
step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	if [ "$1" = eim ]; then shift; "$eim" "$@"; else "$@"; fi
}

echo "eim demo: database $EIM_DB"
step eim init --eim-id eim.example.com
eids=(89049032123451234512345678901235 89044045116727494800000004479366 89044045116727494800000000000003)
psk=demo-psk-0123456 # libcoap's -k takes the key as text
psk_hex=$(printf '%s' "$psk" | xxd -p)
for i in 0 1 2; do
	step eim device add "${eids[$i]}" --psk-identity "sensor-$i" --psk "$psk_hex"
done
step eim submit "${eids[0]}" disable --iccid 89440012345678901234 \
	+ enable --iccid 8944001234567890123 --rollback
step eim submit "${eids[1]}" list-profiles
step eim submit "${eids[2]}" get-euicc-data --tags euicc-certificate,eum-certificate
step eim queue

printf '\n\033[1m$ eim serve --listen 127.0.0.1:0 &\033[0m\n'
"$eim" serve --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.log" &
server=$!
for _ in $(seq 50); do
	[ -s "$work/serve.out" ] && break
	sleep 0.1
done
cat "$work/serve.out"
port=$(sed -nE 's/.*127\.0\.0\.1:([0-9]+),.*/\1/p' "$work/serve.out")

for i in 0 1 2; do
	printf '\n\033[1m# device %s wakes up, opens DTLS as sensor-%s and polls (GetEimPackage)\033[0m\n' "${eids[$i]}" "$i"
	printf 'bf4f125a10%s' "${eids[$i]}" | xxd -r -p >"$work/req.bin"
	coap-client-openssl -u "sensor-$i" -k "$psk" -m post -f "$work/req.bin" \
		-o "$work/resp.bin" -B 10 "coaps://127.0.0.1:$port/gsma/rsp2/asn1" 2>/dev/null
	"$eim" decode "$work/resp.bin" | head -n 14
done

printf '\n\033[1m# sensor-1 asks for sensor-0'"'"'s package: refused\033[0m\n'
printf 'bf4f125a10%s' "${eids[0]}" | xxd -r -p >"$work/req.bin"
coap-client-openssl -u sensor-1 -k "$psk" -m post -f "$work/req.bin" -B 10 \
	"coaps://127.0.0.1:$port/gsma/rsp2/asn1" 2>&1 | grep -v WARN || true

printf '\n\033[1m# the server log: one line per request\033[0m\n'
cat "$work/serve.log"
step eim queue
cat <<MSG

Every package was delivered (state 'sent'): each device now runs it on its
eUICC and reports a signed result with provideEimPackageResult.
Explore further:
  eim help                     all commands
  eim submit --help            every operation (PSMOs, eCOs, download, data)
  eim serve --help             the server and its config file
  scripts/test.sh              every test suite
MSG
