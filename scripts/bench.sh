#!/usr/bin/env bash
# bench.sh - issue 9's benchmarks in one command: `eim serve` and libcoap's
# coap-server-openssl under the same load from the same generator
# (tests/bench/eim_loadgen.c), server pinned to CPU 0, generator to CPU 1
# (when the machine has two), and a table of the figures.
#
#   scripts/bench.sh            release build in ./build-release, full runs
#   scripts/bench.sh --short    about a second per figure, for CI: checks
#                               that every step works, judges no timing,
#                               reuses ${EIM_BUILD_DIR:-build}
# Options: --sessions-mem N (idle sessions for the memory figure, default
# 10000; 100000 needs about 20 min of `eim device add`), --json (the raw
# generator lines as well), --keep (leave the work directory).
#
# The headline is the server's CPU time per request (from /proc, over the
# measured window), since the generator shares a small machine: requests/s
# alone would measure whoever else is running.
set -euo pipefail
cd "$(dirname "$0")/.."

short=false
mem_sessions=10000
show_json=false
keep=false
while [ $# -gt 0 ]; do
	case "$1" in
	--short) short=true ;;
	--sessions-mem) mem_sessions=$2; shift ;;
	--json) show_json=true ;;
	--keep) keep=true ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "bench: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

if $short; then
	build=${EIM_BUILD_DIR:-build}
	dur=1; warm=0.2; mem_sessions=200; open_timeout=20
	setup_opts=()
else
	build=${EIM_BUILD_DIR:-build-release}
	dur=5; warm=1; open_timeout=180
	setup_opts=(--buildtype=release)
fi
poll_sessions=64   # sessions polling at full speed, 2 requests in flight each
hs_sessions=32     # sessions handshaking in a loop

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "${setup_opts[@]}" -Dbenchmarks=true \
		-Dinterop=disabled >/dev/null
fi
meson configure "$build" -Dbenchmarks=true >/dev/null
ninja -C "$build" >/dev/null
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
eim="$build/eim/eim"
gen="$build/tests/bench/eim_loadgen"
pingpong="$build/tests/bench/eim_udp_pingpong"
ceiling="$build/tests/bench/eim_crypto_ceiling"
libcoap=$(command -v coap-server-openssl || true)

# Pinning: server on CPU 0, generator on CPU 1.
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	on_server=(taskset -c 0)
	on_gen=(taskset -c 1)
else
	on_server=()
	on_gen=()
fi

work=$(mktemp -d /tmp/eim-bench-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	$keep && echo "bench: work directory $work" || rm -rf "$work"
}
trap cleanup EXIT
export EIM_DB="$work/eim.db"
log() { printf 'bench: %s\n' "$*" >&2; }

# One field of the generator's JSON line.
val() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }

# eim serve on a free port, pinned; sets srv_pid and srv_port.
start_eim() {
	"${on_server[@]}" "$eim" serve --listen 127.0.0.1:0 --log-level error \
		>"$work/serve.out" 2>"$work/serve.err" &
	srv_pid=$!
	pids+=("$srv_pid")
	for _ in $(seq 100); do
		srv_port=$(sed -n 's/.*coaps.* on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
			"$work/serve.out")
		[ -n "$srv_port" ] && return 0
		sleep 0.05
	done
	cat "$work/serve.err" >&2
	echo "bench: eim serve did not start" >&2
	exit 1
}
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

run_gen() { # name, then generator arguments; prints the JSON line
	local name=$1 out
	shift
	out=$("${on_gen[@]}" "$gen" --json --duration "$dur" --warmup "$warm" "$@") || {
		echo "bench: generator failed: $name" >&2
		exit 1
	}
	$show_json && echo "$name $out" >&2
	echo "$out"
}
# The same for the reference server: a failure costs its column, not the run.
run_ref() {
	local name=$1 out
	shift
	out=$("${on_gen[@]}" "$gen" --json --duration "$dur" --warmup "$warm" \
		--open-timeout "$open_timeout" "$@") || {
		echo "bench: generator failed against libcoap: $name (column left empty)" >&2
		return 0
	}
	$show_json && echo "$name $out" >&2
	echo "$out"
}

# ---- devices -------------------------------------------------------------
"$eim" init --eim-id bench.eim.example >/dev/null
total=$((poll_sessions + hs_sessions + mem_sessions))
log "registering $total devices with 'eim device add'"
t0=$(date +%s.%N)
"$gen" --print-devices "$total" >"$work/devices.txt"
while read -r eid ident psk; do
	"$eim" device add "$eid" --psk-identity "$ident" --psk "$psk" >/dev/null
done <"$work/devices.txt"
t1=$(date +%s.%N)
add_rate=$(awk -v n="$total" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n/(b-a)}')

# ---- eim serve: polls, empty queue, then with a package waiting ----------
start_eim
log "eim serve: polls over CID sessions, empty queue"
e_poll=$(run_gen eim-poll --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$poll_sessions" --inflight 2)
e_rps=$(val "$e_poll" requests_per_s)
half=$((e_rps / 2))
[ "$half" -gt 0 ] || half=1
log "eim serve: latency at half of that rate ($half/s)"
e_half=$(run_gen eim-half --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$poll_sessions" --rate "$half")
log "eim serve: polls with NAT rebinding every 10 polls"
e_rebind=$(run_gen eim-rebind --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$poll_sessions" --rebind-every 10)

head -n "$poll_sessions" "$work/devices.txt" | cut -d' ' -f1 >"$work/poll-eids.txt"
"$eim" submit --devices "$work/poll-eids.txt" list-profiles >/dev/null
log "eim serve: polls with a package waiting (the same bytes each time)"
e_pkg=$(run_gen eim-pkg --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$poll_sessions" --inflight 2)

log "eim serve: PSK handshakes"
e_hs=$(run_gen eim-hs --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$hs_sessions" --first "$poll_sessions" --mode handshakes)
stop "$srv_pid"

# ---- campaign: packages signed and queued per second ---------------------
tail -n "$mem_sessions" "$work/devices.txt" | cut -d' ' -f1 >"$work/fleet-eids.txt"
log "eim submit --devices: $mem_sessions packages"
t0=$(date +%s.%N)
"$eim" submit --devices "$work/fleet-eids.txt" list-profiles >/dev/null
t1=$(date +%s.%N)
queue_rate=$(awk -v n="$mem_sessions" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n/(b-a)}')

# ---- memory per idle session (fresh server) --------------------------------
start_eim
sleep 0.2
log "eim serve: $mem_sessions idle sessions"
e_mem=$(run_gen eim-mem --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$mem_sessions" --first $((poll_sessions + hs_sessions)) \
	--mode idle --parallel-hs 128)
stop "$srv_pid"

# ---- libcoap coap-server-openssl: same generator, PSK, no CID ------------
l_poll= l_hs= l_mem=
if [ -n "$libcoap" ]; then
	lport=$((20000 + RANDOM % 20000))
	start_libcoap() {
		"${on_server[@]}" "$libcoap" -A 127.0.0.1 -p "$lport" -k bench-psk-0123 \
			-v 0 >"$work/libcoap.log" 2>&1 &
		lc_pid=$!
		pids+=("$lc_pid")
		sleep 0.3
	}
	lc=(--server "127.0.0.1:$((lport + 1))" --psk-text bench-psk-0123 --no-cid)
	start_libcoap
	# PUT /example_data with the same GetEimPackage body: libcoap stores
	# it and answers 2.04, the closest to our lookup-and-answer.
	log "libcoap: polls (PUT /example_data, same body)"
	l_poll=$(run_ref lc-poll "${lc[@]}" --server-pid "$lc_pid" \
		--sessions "$poll_sessions" --inflight 2 --path /example_data --method put)
	log "libcoap: PSK handshakes"
	l_hs=$(run_ref lc-hs "${lc[@]}" --server-pid "$lc_pid" \
		--sessions "$hs_sessions" --mode handshakes)
	stop "$lc_pid"
	if ! $short || [ "$mem_sessions" -le 1000 ]; then
		start_libcoap
		log "libcoap: $mem_sessions idle sessions"
		# at most 64 handshakes at once: libcoap drops ClientHellos
		# beyond its 100 handshakes in progress
		l_mem=$(run_ref lc-mem "${lc[@]}" --server-pid "$lc_pid" \
			--sessions "$mem_sessions" --mode idle --parallel-hs 64 \
			--path /example_data --method put)
		stop "$lc_pid"
	fi
else
	log "coap-server-openssl not installed: no libcoap column"
fi

# ---- loopback UDP ceiling ---------------------------------------------------
pport=$((20000 + RANDOM % 20000))
"${on_server[@]}" "$pingpong" server "$pport" &
pp_pid=$!
pids+=("$pp_pid")
sleep 0.2
udp_rt=$("${on_gen[@]}" "$pingpong" client "$pport" "$dur" | awk '{print $2}')
stop "$pp_pid"

# ---- wolfCrypt's own ceiling for ECDHE-ECDSA server handshakes ----------
crypto=$("${on_server[@]}" "$ceiling" "$($short && echo 0.2 || echo 2)")
$show_json && echo "$crypto" >&2
ecdsa_ceiling=$(awk '/server_handshake_ceiling_per_s/ {print $2}' <<<"$crypto")
ecdsa_sign=$(awk '/ECDSA P-256 sign/ {print $4}' <<<"$crypto")

# ---- table ------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a > 0 && b > 0) printf "%.2fx", b / a; else print "-" }'; }
row() { printf '%-46s %14s %14s %8s\n' "$@"; }
fmt_poll() { # json -> "rps/s @ util%, us/req"
	[ -n "$1" ] || { echo "-"; return; }
	printf '%s/s %s%%' "$(val "$1" requests_per_s)" \
		"$(awk -v u="$(val "$1" server_cpu_util)" 'BEGIN{printf "%.0f", u*100}')"
}
us() { [ -n "$1" ] && val "$1" server_us_per_op || echo "-"; }

echo
echo "eim benchmarks ($($short && echo 'short mode: timings not meaningful' || echo full)), $(nproc) CPUs, $(uname -r)"
echo "server on CPU ${on_server[*]:-any}, generator on CPU ${on_gen[*]:-any}; $poll_sessions polling sessions x 2 in flight"
echo
row "figure" "eim serve" "libcoap" "ratio"
row "polls, empty queue: rate, server CPU use" "$(fmt_poll "$e_poll")" "$(fmt_poll "$l_poll")" ""
row "  server CPU per request (us)" "$(us "$e_poll")" "$(us "$l_poll")" "$(ratio "$(us "$e_poll")" "$(us "$l_poll")")"
row "  p50 / p99 latency (us)" "$(val "$e_poll" p50_us) / $(val "$e_poll" p99_us)" \
	"$( [ -n "$l_poll" ] && echo "$(val "$l_poll" p50_us) / $(val "$l_poll" p99_us)" || echo -)" ""
row "  errors / retransmissions" "$(val "$e_poll" errors) / $(val "$e_poll" retransmissions)" \
	"$( [ -n "$l_poll" ] && echo "$(val "$l_poll" errors) / $(val "$l_poll" retransmissions)" || echo -)" ""
row "polls at half rate: p50 / p99 latency (us)" "$(val "$e_half" p50_us) / $(val "$e_half" p99_us)" "" ""
row "polls, rebinding every 10: rate, us/req" "$(val "$e_rebind" requests_per_s)/s $(us "$e_rebind")" "" ""
row "polls, package waiting: rate, us/req" "$(val "$e_pkg" requests_per_s)/s $(us "$e_pkg")" "" ""
row "PSK handshakes: rate, server CPU use" "$(val "$e_hs" handshakes_per_s)/s $(awk -v u="$(val "$e_hs" server_cpu_util)" 'BEGIN{printf "%.0f", u*100}')%" \
	"$( [ -n "$l_hs" ] && echo "$(val "$l_hs" handshakes_per_s)/s $(awk -v u="$(val "$l_hs" server_cpu_util)" 'BEGIN{printf "%.0f", u*100}')%" || echo -)" ""
row "  server CPU per handshake (us)" "$(us "$e_hs")" "$(us "$l_hs")" "$(ratio "$(us "$e_hs")" "$(us "$l_hs")")"
row "ECDHE-ECDSA handshakes" "not offered" "" ""
row "  wolfCrypt ceiling (keygen+sign+ECDH)/s" "$ecdsa_ceiling" "" ""
row "  wolfCrypt ECDSA P-256 signs/s" "$ecdsa_sign" "" ""
row "memory per idle session ($mem_sessions sessions)" "$(val "$e_mem" server_bytes_per_session) B" \
	"$( [ -n "$l_mem" ] && echo "$(val "$l_mem" server_bytes_per_session) B" || echo -)" \
	"$( [ -n "$l_mem" ] && ratio "$(val "$e_mem" server_bytes_per_session)" "$(val "$l_mem" server_bytes_per_session)" || echo)"
row "eim device add (devices/s, one process each)" "$add_rate" "" ""
row "eim submit --devices (packages queued/s)" "$queue_rate" "" ""
row "loopback UDP echo (round trips/s)" "$udp_rt" "" ""
row "  eim polls as a share of it" "$(awk -v a="$e_rps" -v b="$udp_rt" 'BEGIN{ if (b > 0) printf "%.0f%%", 100*a/b }')" "" ""
echo
echo "ratio = libcoap's figure / eim's (above 1: eim uses less CPU or memory)."
