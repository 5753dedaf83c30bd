#!/usr/bin/env bash
# setup.sh - installs every Debian 12 package that eim's build, tests and
# interop peers need. Idempotent: silent when everything is already present.
# The only place in the project that installs anything (README, .ci/run and
# the other scripts call it).
#
#   scripts/setup.sh            install what is missing (needs root)
#   scripts/setup.sh --check    only report what is missing (exit 1 if any)
set -euo pipefail

packages=(
	# build
	gcc pkg-config meson ninja-build git
	libwolfssl-dev libsqlite3-dev libcjson-dev check
	# test tools: valgrind, sanitizer/fuzzer runtime, formatting, CLI helpers
	valgrind clang libclang-rt-14-dev clang-format sqlite3 xxd procps
	# independent peers for interop tests (see tests/interop/README.md)
	openssl libcoap3-bin gnutls-bin tshark libmbedtls-dev
)

# An interop peer from npm (tests/dtls/node_dtls_client.js), installed
# globally with the npm that comes with Node.js where there is one; its
# tests are skipped where it is absent.
npm_peer=node-dtls-client@2.0.3
npm_peers() { # [--check]
	local root
	command -v npm >/dev/null 2>&1 || return 0
	root=$(npm root -g 2>/dev/null) || return 0
	[ -f "$root/${npm_peer%@*}/package.json" ] && return 0
	if [ "${1:-}" = "--check" ]; then
		echo "setup: missing npm package: $npm_peer" >&2
		return 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: run as root, or: npm install -g $npm_peer" >&2
		return 1
	fi
	echo "setup: installing $npm_peer (npm)"
	npm install -g --no-audit --no-fund "$npm_peer" >/dev/null 2>&1
}

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	npm_peers "${1:-}"
	exit $?
fi
if [ "${1:-}" = "--check" ]; then
	echo "setup: missing packages: ${missing[*]}" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "setup: these packages are missing and installing them needs root: ${missing[*]}" >&2
	echo "setup: run 'sudo scripts/setup.sh' or: apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is fine.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_peers
echo "setup: done"
