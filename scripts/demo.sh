#!/usr/bin/env bash
# demo.sh - README's first command: builds eim and shows what it can do.
# (It grows into the live demo - server plus sleeping simulated devices - as
# the service and the simulator land.)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${EIM_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" >/dev/null
fi
ninja -C "$build" >/dev/null
eim="$build/eim/eim"
echo "\$ eim --version"
"$eim" --version
echo
echo "\$ eim help"
"$eim" help
