#!/usr/bin/env bash
# test.sh - builds eim and runs every test suite (unit, integration, interop),
# then prints each Check summary line and a closing "N passed, N failed" line.
#
#   scripts/test.sh                 all suites, build dir ./build
#   scripts/test.sh --suite unit    one suite (any meson test argument works)
#   EIM_BUILD_DIR=dir scripts/test.sh
# In CI (CI=true) warnings are errors and interop tests are required.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

build=${EIM_BUILD_DIR:-build}
opts=()
if [ "${CI:-}" = "true" ]; then
	opts+=(--werror -Dinterop=enabled)
fi

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "${opts[@]}" >"$build.setup.log" 2>&1 || {
		cat "$build.setup.log"
		echo "test: meson setup failed" >&2
		exit 1
	}
	rm -f "$build.setup.log"
elif [ ${#opts[@]} -gt 0 ]; then
	meson configure "$build" "${opts[@]}" >/dev/null || exit 1
fi

ninja -C "$build" || { echo "test: build failed" >&2; exit 1; }

meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
rc=$?

log="$build/meson-logs/testlog.txt"
echo
echo "== Check summaries =="
grep -hE '^[0-9]+%: Checks: [0-9]+' "$log" || echo "(no Check summary found)"
checks=$(grep -hoE '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" |
	awk -F'[:,]' '{c+=$3; f+=$5+$7} END {printf "%d %d", c-f, f}')
read -r passed failed <<<"${checks:-0 0}"
echo "$passed passed, $failed failed"
exit $rc
