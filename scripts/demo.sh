#!/usr/bin/env bash
# demo.sh - README's first command: builds eim and runs its main job on a
# throw-away SQLite database, live:
#   - an eIM identity, a test PKI (CI -> EUM -> eUICC) and a fleet of
#     simulated IoT devices (eUICC model + IPA) bootstrapped from the eIM's
#     AddInitialEimRequest, registered with `eim device import`;
#   - an operator queues signed packages (profile switches with rollback,
#     listings, eIM configuration, eUICC data);
#   - `eim serve` answers over CoAP on DTLS 1.2 with Connection ID, and the
#     devices wake three times, each time from a new UDP port (a NAT
#     rebinding): the DTLS session continues without a new handshake;
#   - a summary that matches what `eim queue` and `eim results` say.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${EIM_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" >/dev/null
fi
ninja -C "$build" >/dev/null
eim="$build/eim/eim"
device="$build/examples/eim-device"
devices=${EIM_DEMO_DEVICES:-8}
work=$(mktemp -d /tmp/eim-demo-XXXXXX)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
export EIM_DB="$work/eim.db"
cd "$work"

# Shows a command as an operator would type it, then runs it.
step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	case "$1" in
	eim) shift; "$eim" "$@" ;;
	eim-device) shift; "$device" "$@" ;;
	*) "$@" ;;
	esac
}
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }

echo "eim demo in $work (database eim.db)"
say "the eIM: a database, an identity and its signing key"
step eim init --eim-id eim.example.com
step eim export-initial-eim --identity eim.example.com --out air.der

say "a device lab: a test PKI and $devices simulated devices bootstrapped with that eIM"
step eim-device pki --out pki
step eim-device fleet --dir fleet --count "$devices" --pki pki --air air.der \
	--profile 89440012345678901234:connectivity-a \
	--profile 89440012345678901242:connectivity-b \
	--fallback-profile 89440012345678901259:fallback
step eim device import fleet/devices.csv
grep -v '^#' fleet/devices.csv | cut -d, -f1 >eids.txt
mapfile -t eids <eids.txt

say "the operator queues signed packages"
step eim submit --devices eids.txt enable --iccid 89440012345678901234
step eim submit --devices eids.txt list-profiles
step eim submit "${eids[0]}" disable --iccid 89440012345678901234 \
	+ enable --iccid 89440012345678901242 --rollback
step eim submit "${eids[1]}" set-fallback --iccid 89440012345678901259
step eim submit "${eids[2]}" list-eim
step eim submit "${eids[3]}" get-euicc-data --tags euicc-certificate,eum-certificate
step eim queue --state queued --limit 5

say "the eIM listens: coaps (DTLS 1.2 + Connection ID), results checked against the test CI"
printf '\033[1m$ eim serve --listen 127.0.0.1:0 --ci-root pki/ci.pem &\033[0m\n'
"$eim" serve --listen 127.0.0.1:0 --ci-root pki/ci.pem >serve.out 2>serve.log &
server=$!
for _ in $(seq 50); do
	[ -s serve.out ] && break
	sleep 0.1
done
cat serve.out
port=$(sed -nE 's/.*127\.0\.0\.1:([0-9]+),.*/\1/p' serve.out)

say "the devices sleep and wake 3 times, each wake from a new UDP port (NAT rebinding)"
step eim-device run --fleet fleet --server "127.0.0.1:$port" --wakes 3 \
	--interval 1500 --live --report run.json

say "what the eIM recorded"
step eim queue --state 'done' --limit 5
step eim results "${eids[0]}"
step eim device show "${eids[2]}"
# The summary comes from the eIM's own listings (one line per package or
# result), then is checked against what the devices say they ran.
state_count() { "$eim" queue --state "$1" | wc -l; }
done_=$(state_count done)
queued=$(state_count queued)
sent=$(state_count sent)
results=$("$eim" results | wc -l)
verified=$("$eim" results | awk '$5 == "verified"' | wc -l)
run_field() { sed -nE "s/.*\"$1\":([0-9]+).*/\1/p" run.json; }
printf '\n\033[1mSummary\033[0m\n'
echo "  packages delivered and answered: $done_ (still queued: $queued, in flight: $sent)"
echo "  results: $results received, $verified with a verified eUICC signature"
echo "           (the eUICC data answer is not signed by the eUICC)"
echo "  devices: $(run_field devices), wakes: $(run_field wakes), DTLS handshakes: $(run_field handshakes),"
echo "           handshakes saved by Connection ID: $(run_field resumed_by_cid) (each wake came from a new UDP port)"
if [ "$(run_field packages)" != "$done_" ] || [ "$results" != "$done_" ] ||
	[ "$queued" != 0 ] || [ "$sent" != 0 ] || [ "$(run_field failures)" != 0 ]; then
	echo "  MISMATCH: the devices ran $(run_field packages) package(s), the eIM has $done_ done and $results result(s)" >&2
	exit 1
fi
echo "  consistent: the devices ran exactly the $done_ packages the eIM marks done, each with its result"
echo "  server log: $(wc -l <serve.log) lines, e.g.:"
grep -m3 'getEimPackageRequest: package' serve.log | sed 's/^/    /'
cat <<MSG

Explore further:
  eim help                     all commands
  eim submit --help            every operation (PSMOs, eCOs, download, data)
  eim-device help              the simulator (pki, fleet, run, init, load, ...)
  eim serve --help             the server and its config file
  scripts/test.sh              every test suite
MSG
