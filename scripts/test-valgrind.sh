#!/usr/bin/env bash
# test-valgrind.sh - runs the unit suite under valgrind memcheck: any invalid
# read or write, use of uninitialised memory, or definitely/indirectly lost
# block fails the run (the 'valgrind' test setup in tests/meson.build;
# CK_FORK=no keeps each Check case in the process valgrind watches).
#
#   scripts/test-valgrind.sh              build dir ./build-valgrind
#   scripts/test-valgrind.sh test_der     only the tests named
#   EIM_BUILD_DIR=dir scripts/test-valgrind.sh
#
# The unit suite takes 2.5 to 4.5 minutes on 2 cores (SECURITY.md,
# "Measured"), plus the build. The build is a plain debugoptimized one:
# valgrind cannot run under AddressSanitizer.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
command -v valgrind >/dev/null || {
	echo "test-valgrind: valgrind is not installed (scripts/setup.sh)" >&2
	exit 1
}
build=${EIM_BUILD_DIR:-build-valgrind}
werror=()
[ "${CI:-}" = "true" ] && werror=(--werror)
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Dbenchmarks=false -Dinterop=disabled \
		"${werror[@]}" >/dev/null || exit 1
fi
ninja -C "$build" >/dev/null || { ninja -C "$build"; exit 1; }
start=$(date +%s)
rc=0
meson test -C "$build" --setup valgrind --suite unit --print-errorlogs \
	--num-processes 2 "$@" || rc=1
log="$build/meson-logs/testlog-valgrind.txt"
# valgrind's own lines (==PID==) appear in the log only when it found
# something; show them even when an exit code was missed.
if grep -qE '^==[0-9]+== ' "$log"; then
	grep -E '^==[0-9]+== ' "$log" | head -50
	rc=1
fi
echo "test-valgrind: $(($(date +%s) - start)) s, $([ $rc = 0 ] && echo clean || echo FAILED)"
exit $rc
