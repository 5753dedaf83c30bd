#!/usr/bin/env bash
# format.sh - formats the C sources with clang-format (.clang-format).
#   scripts/format.sh          rewrite files in place
#   scripts/format.sh --check  exit 1 and list files that are not formatted
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' '*.h.in')
if [ "${1:-}" = "--check" ]; then
	bad=0
	for f in "${files[@]}"; do
		if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
			echo "not formatted: $f"
			bad=1
		fi
	done
	exit $bad
fi
clang-format -i "${files[@]}"
