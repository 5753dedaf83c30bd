#!/usr/bin/env bash
# test-sanitize.sh - builds with AddressSanitizer + UndefinedBehaviorSanitizer
# and runs the unit, integration and interop suites (interop when its peers
# are installed; required in CI); any sanitizer report fails the run.
# Third-party programs the interop tests drive (gnutls-cli, wolfSSL's
# example client) are not instrumented.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
build=${EIM_BUILD_DIR:-build-asan}
werror=()
[ "${CI:-}" = "true" ] && werror=(--werror -Dinterop=enabled)
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbenchmarks=false "${werror[@]}" >/dev/null || exit 1
fi
ninja -C "$build" >/dev/null || { ninja -C "$build"; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
suites=(--suite unit --suite integration)
# (grep without -q: it must read the whole list, or pipefail sees SIGPIPE)
if meson test -C "$build" --list --suite interop 2>/dev/null |
	grep interop >/dev/null; then
	suites+=(--suite interop)
elif [ "${CI:-}" = "true" ]; then
	echo "test-sanitize: no interop tests in $build (CI requires them)" >&2
	exit 1
fi
rc=0
meson test -C "$build" "${suites[@]}" --print-errorlogs \
	--num-processes 2 --timeout-multiplier 3 || rc=1
log="$build/meson-logs/testlog.txt"
grep -hE '^[0-9]+%: Checks: [0-9]+' "$log" || true
exit $rc
