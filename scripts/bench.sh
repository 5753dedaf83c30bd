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
# Options: --sessions-mem "N..." (idle-session counts for the memory
# figure, default "10000 100000"), --campaign N (devices of the `eim
# submit --devices` figure, default 100000), --fleet N (simulated devices
# of the end-to-end campaign, default 10000), --json (the raw generator
# lines as well), --keep (leave the work directory), --no-build (use the
# build directory as it is).
#
# The headline is the server's CPU time per request (from /proc, over the
# measured window), since the generator shares a small machine: requests/s
# alone would measure whoever else is running.
set -euo pipefail
cd "$(dirname "$0")/.."

short=false
mem_list="10000 100000"
campaign_n=100000
fleet_n=10000
show_json=false
keep=false
build_it=true
while [ $# -gt 0 ]; do
	case "$1" in
	--short) short=true ;;
	--sessions-mem) mem_list=$2; shift ;;
	--campaign) campaign_n=$2; shift ;;
	--fleet) fleet_n=$2; shift ;;
	--json) show_json=true ;;
	--keep) keep=true ;;
	--no-build) build_it=false ;;
	-h|--help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "bench: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

if $short; then
	build=${EIM_BUILD_DIR:-build}
	dur=1; warm=0.2; mem_list=200; campaign_n=500; fleet_n=20
	open_timeout=20
	setup_opts=()
else
	build=${EIM_BUILD_DIR:-build-release}
	dur=5; warm=1; open_timeout=180
	setup_opts=(--buildtype=release)
fi
poll_sessions=64   # sessions polling at full speed ...
# ... with 4 requests in flight each: with 2, the generator (which does the
# same DTLS and CoAP work as the server, per request) was at 99 % of its
# core and the server at ~10 requests per wakeup; 4 lets each side batch.
poll_inflight=4
hs_sessions=32     # sessions handshaking in a loop

if $build_it; then
	if [ ! -f "$build/build.ninja" ]; then
		meson setup "$build" "${setup_opts[@]}" -Dbenchmarks=true \
			-Dinterop=disabled >/dev/null
	fi
	meson configure "$build" -Dbenchmarks=true >/dev/null
	ninja -C "$build" >/dev/null
fi
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
eim="$build/eim/eim"
device="$build/examples/eim-device"
gen="$build/tests/bench/eim_loadgen"
pingpong="$build/tests/bench/eim_udp_pingpong"
ceiling="$build/tests/bench/eim_crypto_ceiling"
libcoap=$(command -v coap-server-openssl || true)

# One UDP socket per simulated device: allow the largest fleet.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

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
shm_fleet=
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$shm_fleet" ] && rm -rf "$shm_fleet"
	$keep && echo "bench: work directory $work" || rm -rf "$work"
}
trap cleanup EXIT
export EIM_DB="$work/eim.db"
log() { printf 'bench: %s\n' "$*" >&2; }
# The machine is shared: its load goes beside the figures.
load_start=$(uptime | sed 's/.*load average: //')

# One field of the generator's JSON line.
val() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }

# eim serve on a free port, pinned; sets srv_pid and srv_port.
start_eim() { # extra eim serve options
	"${on_server[@]}" "$eim" serve --listen 127.0.0.1:0 --log-level error "$@" \
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

# Runs a command and leaves "wall user sys" seconds in $tm.
timed() {
	local f="$work/time.$$"
	{ TIMEFORMAT='%R %U %S'; time "$@" >/dev/null; } 2>"$f" || {
		cat "$f" >&2
		echo "bench: failed: $*" >&2
		exit 1
	}
	tm=$(tail -n 1 "$f")
}
rate() { awk -v n="$1" -v t="$2" 'BEGIN{ if (t > 0) printf "%.0f", n / t; else print "-" }'; }
cpu_us() { # n, "wall user sys" -> us of CPU (user+sys) per item
	awk -v n="$1" -v t="$2" 'BEGIN{ split(t, a, " "); if (n > 0) printf "%.1f", (a[2] + a[3]) * 1e6 / n }'
}

# ---- devices: one `eim device import` per 8,000 (the file limit is 1 MiB) -
"$eim" init --eim-id bench.eim.example >/dev/null
mem_max=0
for m in $mem_list; do [ "$m" -gt "$mem_max" ] && mem_max=$m; done
reg_n=$mem_max
[ "$campaign_n" -gt "$reg_n" ] && reg_n=$campaign_n
total=$((poll_sessions + hs_sessions + reg_n))
log "registering $total devices with 'eim device import'"
"$gen" --print-devices "$total" >"$work/devices.txt"
awk '{print $1 "," $2 "," $3}' "$work/devices.txt" | split -l 8000 - "$work/import."
t0=$(date +%s.%N)
for f in "$work"/import.*; do
	"$eim" device import "$f" >/dev/null
done
t1=$(date +%s.%N)
rm -f "$work"/import.*
add_rate=$(awk -v n="$total" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n/(b-a)}')

# ---- eim serve: polls, empty queue, then with a package waiting ----------
start_eim
log "eim serve: polls over CID sessions, empty queue"
e_poll=$(run_gen eim-poll --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$poll_sessions" --inflight "$poll_inflight")
e_rps=$(val "$e_poll" requests_per_s)
half=$((e_rps / 2))
[ "$half" -gt 0 ] || half=1
log "eim serve: latency at half of that rate ($half/s)"
e_half=$(run_gen eim-half --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$poll_sessions" --inflight "$poll_inflight" --rate "$half")
log "eim serve: polls with NAT rebinding every 10 polls"
e_rebind=$(run_gen eim-rebind --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$poll_sessions" --rebind-every 10)

head -n "$poll_sessions" "$work/devices.txt" | cut -d' ' -f1 >"$work/poll-eids.txt"
"$eim" submit --devices "$work/poll-eids.txt" list-profiles >/dev/null
log "eim serve: polls with a package waiting (the same bytes each time)"
e_pkg=$(run_gen eim-pkg --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$poll_sessions" --inflight "$poll_inflight")

log "eim serve: PSK handshakes"
e_hs=$(run_gen eim-hs --server "127.0.0.1:$srv_port" --server-pid "$srv_pid" \
	--sessions "$hs_sessions" --first "$poll_sessions" --mode handshakes)
stop "$srv_pid"

# ---- eim serve: ECDHE-ECDSA handshakes (certificates both ways) ------------
# The test PKI of tests/dtls/fixtures: the server presents its chain, every
# simulated device the same client certificate, registered by fingerprint
# for one more device (eim serve refuses devices without a credential).
fx=tests/dtls/fixtures
e_ecdsa=
if command -v openssl >/dev/null && [ -f "$fx/test-pki-client.cert.pem" ]; then
	read -r cert_eid _ < <("$gen" --print-devices 1 --first "$total")
	cert_fp=$(openssl x509 -in "$fx/test-pki-client.cert.pem" -outform DER |
		sha256sum | cut -d' ' -f1)
	"$eim" device add "$cert_eid" --cert-fingerprint "$cert_fp" >/dev/null
	start_eim --dtls-cert "$fx/test-pki-server.chain.pem" \
		--dtls-key "$fx/test-pki-server.key.pem" \
		--dtls-client-ca "$fx/test-pki-root.cert.pem"
	log "eim serve: ECDHE-ECDSA handshakes (mutual certificates)"
	e_ecdsa=$(run_gen eim-ecdsa --server "127.0.0.1:$srv_port" \
		--server-pid "$srv_pid" --sessions "$hs_sessions" \
		--mode handshakes --no-psk --ca "$fx/test-pki-root.cert.pem" \
		--cert "$fx/test-pki-client.chain.pem" \
		--key "$fx/test-pki-client.key.pem" \
		--open-timeout "$open_timeout") ||
		log "ECDHE-ECDSA handshakes failed: figure left empty"
	stop "$srv_pid"
fi

# ---- memory per idle session (fresh server for each count) ---------------
declare -A e_mem
for m in $mem_list; do
	start_eim
	sleep 0.2
	log "eim serve: $m idle sessions"
	e_mem[$m]=$(run_gen "eim-mem-$m" --server "127.0.0.1:$srv_port" \
		--server-pid "$srv_pid" --sessions "$m" \
		--first $((poll_sessions + hs_sessions)) --mode idle \
		--parallel-hs 128 --open-timeout "$open_timeout" \
		--source-ips 8 --release) ||
		log "the generator could not hold $m idle sessions: figure left empty"
	stop "$srv_pid"
done

# ---- campaign: packages signed and queued per second ---------------------
# Every core signs (--jobs = nproc): the figure is the whole machine's.
jobs=$(nproc)
tail -n "$campaign_n" "$work/devices.txt" | cut -d' ' -f1 >"$work/campaign-eids.txt"
log "eim submit --devices: $campaign_n packages, --jobs $jobs"
timed "$eim" submit --devices "$work/campaign-eids.txt" --jobs "$jobs" list-profiles
queue_time=$tm
queue_rate=$(rate "$campaign_n" "${tm%% *}")
queue_cpu=$(cpu_us "$campaign_n" "$tm")
# The same on one thread, on a fifth of the devices, for the ratio.
one_n=$((campaign_n / 5))
[ "$one_n" -gt 0 ] || one_n=1
head -n "$one_n" "$work/campaign-eids.txt" >"$work/campaign1-eids.txt"
log "eim submit --devices: $one_n packages, --jobs 1"
timed "$eim" submit --devices "$work/campaign1-eids.txt" --jobs 1 list-profiles
queue1_rate=$(rate "$one_n" "${tm%% *}")
queue1_cpu=$(cpu_us "$one_n" "$tm")

# ---- campaign end to end: a simulated fleet fetches and reports ----------
# Its own database: an eIM, a test PKI, $fleet_n simulated eUICCs
# (eim-device fleet) bootstrapped with the eIM, one signed package each;
# eim serve (pinned, CI-validated results) against `eim-device run`
# (pinned), every device waking once within the first second, which is
# what a campaign to a fleet that wakes on its own schedule compresses.
campaign_e2e() {
	local d="$work/e2e" port pid fl
	mkdir -p "$d"
	# The simulated eUICCs save their state with fsync after every wake:
	# on a disk that is ~60 ms each, and the simulator, not eim, would
	# set the pace (measured: ~17 devices/s). Their files go to a RAM
	# file system when there is one; eim's database stays on disk.
	fl="$d/fleet"
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then
		fl=$(mktemp -d /dev/shm/eim-bench-fleet-XXXXXX)/fleet
		shm_fleet=${fl%/fleet}
	fi
	(
		cd "$d"
		export EIM_DB="$d/eim.db"
		"$eim" init --eim-id campaign.eim.example >/dev/null
		"$eim" export-initial-eim --identity campaign.eim.example \
			--out air.der >/dev/null
		"$device" pki --out pki >/dev/null
		log "eim-device fleet: $fleet_n simulated devices"
		"$device" fleet --dir "$fl" --count "$fleet_n" --pki pki \
			--air air.der --profile 89440012345678901234:conn-a \
			>/dev/null
		grep -v '^#' "$fl/devices.csv" | split -l 4000 - import.
		for f in import.*; do "$eim" device import "$f" >/dev/null; done
		grep -v '^#' "$fl/devices.csv" | cut -d, -f1 >eids.txt
		"$eim" submit --devices eids.txt list-profiles >/dev/null
	)
	EIM_DB="$d/eim.db" "${on_server[@]}" "$eim" serve --listen 127.0.0.1:0 \
		--ci-root "$d/pki/ci.pem" --log-level error \
		>"$d/serve.out" 2>"$d/serve.err" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		port=$(sed -n 's/.*coaps.* on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$d/serve.out")
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || { cat "$d/serve.err" >&2; echo "bench: eim serve (e2e) did not start" >&2; exit 1; }
	# Every device wakes within the first $iv ms and again every ~$iv ms
	# (5 wakes at most): a device whose wake failed (the server too
	# busy) tries again, as a real one would. The figure is the time
	# until every package is done (result stored), read from the queue.
	local iv=$((fleet_n * 2)) c0 c1 t0 t1 run_pid n_done=0
	[ "$iv" -ge 1000 ] || iv=1000
	log "eim-device run: $fleet_n devices fetch and report"
	c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	t0=$(date +%s.%N)
	(cd "$d" && exec "${on_gen[@]}" "$device" run --fleet "$fl" \
		--server "127.0.0.1:$port" --wakes 5 --interval "$iv" \
		--report "$d/run.json" >"$d/run.out" 2>&1) &
	run_pid=$!
	pids+=("$run_pid")
	while kill -0 "$run_pid" 2>/dev/null; do
		n_done=$(EIM_DB="$d/eim.db" "$eim" queue --state done | wc -l)
		[ "$n_done" -ge "$fleet_n" ] && break
		awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{exit !(b - a > 600)}' && break
		sleep 0.5
	done
	t1=$(date +%s.%N)
	c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	stop "$run_pid"
	stop "$pid"
	e2e_time=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')
	e2e_fail=$(grep -c 'FAILED' "$d/run.out" || true)
	e2e_srv_cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" \
		'BEGIN{printf "%.2f", (b - a) / hz}')
	e2e_srv_ms=$(awk -v c="$e2e_srv_cpu" -v n="$fleet_n" 'BEGIN{printf "%.2f", c * 1000 / n}')
	# (one line per result / package in the text listings; column 5 of
	# a result says whether its eUICC signature verified)
	EIM_DB="$d/eim.db" "$eim" results >"$d/results.txt"
	e2e_results=$(wc -l <"$d/results.txt")
	e2e_verified=$(awk '$5 == "verified"' "$d/results.txt" | wc -l)
	e2e_done=$(EIM_DB="$d/eim.db" "$eim" queue --state done | wc -l)
}
campaign_e2e

# ---- libcoap coap-server-openssl: same generator, PSK, no CID ------------
l_poll= l_hs= l_mem= lc_mem_n=
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
		--sessions "$poll_sessions" --inflight "$poll_inflight" --path /example_data --method put)
	log "libcoap: PSK handshakes"
	l_hs=$(run_ref lc-hs "${lc[@]}" --server-pid "$lc_pid" \
		--sessions "$hs_sessions" --mode handshakes)
	stop "$lc_pid"
	# the smallest count only: libcoap holds ~42 KB per session
	lc_mem_n=$(tr ' ' '\n' <<<"$mem_list" | sort -n | head -n 1)
	if ! $short || [ "$lc_mem_n" -le 1000 ]; then
		start_libcoap
		log "libcoap: $lc_mem_n idle sessions"
		# at most 64 handshakes at once: libcoap drops ClientHellos
		# beyond its 100 handshakes in progress
		l_mem=$(run_ref lc-mem "${lc[@]}" --server-pid "$lc_pid" \
			--sessions "$lc_mem_n" --mode idle --parallel-hs 64 \
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
# With a client certificate the server also verifies two signatures of the
# client's chain (leaf and intermediate) and its CertificateVerify.
ecdsa_mutual=$(awk '/key generation/ {k = $4} /P-256 sign/ {s = $4}
	/P-256 verify/ {v = $4} /shared secret/ {e = $5}
	END { if (k && s && v && e) printf "%.0f", 1 / (1/k + 1/s + 1/e + 3/v) }' <<<"$crypto")


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
echo "server on CPU ${on_server[*]:-any}, generator on CPU ${on_gen[*]:-any}; $poll_sessions polling sessions x $poll_inflight in flight"
echo "load average (1, 5, 15 min) at the start: $load_start; at the end: $(uptime | sed 's/.*load average: //')"
echo
row "figure" "eim serve" "libcoap" "ratio"
row "polls, empty queue: rate, server CPU use" "$(fmt_poll "$e_poll")" "$(fmt_poll "$l_poll")" ""
row "  server CPU per request (us)" "$(us "$e_poll")" "$(us "$l_poll")" "$(ratio "$(us "$e_poll")" "$(us "$l_poll")")"
gen_util() { # json -> the generator's CPU use over the window
	[ -n "$1" ] || { echo "-"; return; }
	awk -v c="$(val "$1" generator_cpu_s)" -v s="$(val "$1" seconds)" 'BEGIN{ if (s > 0) printf "%.0f%%", 100 * c / s; else print "-" }'
}
row "  generator CPU use (its own core)" "$(gen_util "$e_poll")" "$(gen_util "$l_poll")" ""
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
ecdsa_us=$(us "$e_ecdsa")
ecdsa_rate=$(awk -v u="$ecdsa_us" 'BEGIN{ if (u > 0) printf "%.0f", 1e6 / u; else print "-" }')
pct_of() { awk -v r="$1" -v c="$2" 'BEGIN{ if (r > 0 && c > 0) printf "%.0f%%", 100 * r / c; else print "-" }'; }
row "ECDHE-ECDSA handshakes (mutual): rate, CPU use" "$( [ -n "$e_ecdsa" ] && echo "$(val "$e_ecdsa" handshakes_per_s)/s $(awk -v u="$(val "$e_ecdsa" server_cpu_util)" 'BEGIN{printf "%.0f", u*100}')%" || echo -)" "" ""
row "  server CPU per handshake (us)" "$ecdsa_us" "" ""
row "  per server CPU-second" "$ecdsa_rate/s" "" ""
# (every simulated device presents the same certificate: a server that
# caches chain checks needs fewer verifications than the mutual ceiling)
row "  wolfCrypt ceiling, mutual (+3 verify)/s" "$ecdsa_mutual ($(pct_of "$ecdsa_rate" "$ecdsa_mutual"))" "" ""
row "  wolfCrypt ceiling, server auth only/s" "$ecdsa_ceiling ($(pct_of "$ecdsa_rate" "$ecdsa_ceiling"))" "" ""
row "  wolfCrypt ECDSA P-256 signs/s" "$ecdsa_sign" "" ""
for m in $mem_list; do
	em=${e_mem[$m]}
	if [ "$m" = "$lc_mem_n" ] && [ -n "$l_mem" ]; then
		row "memory per idle session ($m sessions)" "$(val "$em" server_bytes_per_session) B" \
			"$(val "$l_mem" server_bytes_per_session) B" \
			"$(ratio "$(val "$em" server_bytes_per_session)" "$(val "$l_mem" server_bytes_per_session)")"
	else
		row "memory per idle session ($m sessions)" "$(val "$em" server_bytes_per_session) B" "" ""
	fi
	row "  of which heap and tables (anonymous)" "$(val "$em" server_anon_bytes_per_session) B" "" ""
	if [ -n "$em" ]; then
		row "  opened in (s), errors" "$(val "$em" open_s) $(val "$em" errors)" "" ""
	fi
done
row "eim device import (devices/s, 8,000 per run)" "$add_rate" "" ""
row "campaign: eim submit --devices, --jobs $jobs" "$queue_rate/s" "" ""
row "  ($campaign_n packages: wall user sys s)" "$queue_time" "" ""
row "  CPU per package (user+sys, us)" "$queue_cpu" "" ""
row "  the same with --jobs 1 ($one_n packages)" "$queue1_rate/s $queue1_cpu us" "" ""
row "campaign end to end: $fleet_n devices, all done in" "$e2e_time s" "" ""
row "  packages done / results / verified (CI)" "$e2e_done / $e2e_results / $e2e_verified" "" ""
row "  wakes that failed (and were retried)" "$e2e_fail" "" ""
row "  eim serve CPU until then: s, ms per device" "$e2e_srv_cpu $e2e_srv_ms" "" ""
row "loopback UDP echo (round trips/s)" "$udp_rt" "" ""
row "  eim polls as a share of it" "$(awk -v a="$e_rps" -v b="$udp_rt" 'BEGIN{ if (b > 0) printf "%.0f%%", 100*a/b }')" "" ""
echo
echo "ratio = libcoap's figure / eim's (above 1: eim uses less CPU or memory)."
