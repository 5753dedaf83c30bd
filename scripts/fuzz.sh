#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets (clang) and runs each one.
#
#   scripts/fuzz.sh                   every target for 60 s
#   scripts/fuzz.sh -t 1800           every target for 30 minutes
#   scripts/fuzz.sh -t 300 fuzz_der   one target
#   scripts/fuzz.sh --corpus-only     replay the seed corpora only (CI)
#
# A target's seed corpus is tests/<module>/corpus/<target>/ (committed); new
# inputs found while fuzzing go to fuzz-out/<target>/corpus (not committed),
# crashes to fuzz-out/<target>/. A crash fails the run: turn it into a unit
# test, fix it, and add the input to the seed corpus.
# At the end a table prints executions, exec/s, coverage and crashes per target.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

secs=60
corpus_only=false
targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	-t) secs=$2; shift 2 ;;
	--corpus-only) corpus_only=true; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	-*) echo "fuzz: unknown option '$1'" >&2; exit 2 ;;
	*) targets+=("$1"); shift ;;
	esac
done

build=${EIM_FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Db_lundef=false \
		-Db_sanitize=address,undefined -Dbenchmarks=false >/dev/null || { echo "fuzz: meson setup failed" >&2; exit 1; }
fi
ninja -C "$build" >/dev/null || { ninja -C "$build"; exit 1; }

if [ ${#targets[@]} -eq 0 ]; then
	mapfile -t targets < <(find "$build/tests" -type f -executable -name 'fuzz_*' -printf '%f\n' | sort)
fi
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets built" >&2
	exit 1
fi

rc=0
summary=()
for t in "${targets[@]}"; do
	bin=$(find "$build/tests" -type f -executable -name "$t" | head -n1)
	[ -n "$bin" ] || { echo "fuzz: no target named $t" >&2; rc=1; continue; }
	seed=$(find tests -type d -path "*/corpus/$t" | head -n1)
	out="fuzz-out/$t"
	mkdir -p "$out/corpus"
	log="$out/last.log"
	dirs=("$out/corpus")
	[ -n "$seed" ] && dirs+=("$seed")
	if $corpus_only; then
		# Replays every seed input once; fails on any crash or leak.
		if [ -n "$seed" ]; then
			"$bin" -runs=0 "$seed" >"$log" 2>&1
		else
			"$bin" -runs=1000 >"$log" 2>&1
		fi
	else
		nice "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="$out/" -print_final_stats=1 \
			"${dirs[@]}" >"$log" 2>&1
	fi
	status=$?
	execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
	rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
	crashes=$(find "$out" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' -o -maxdepth 1 -name 'timeout-*' | wc -l)
	if [ $status -ne 0 ]; then
		rc=1
		echo "fuzz: $t FAILED (exit $status); see $log" >&2
		grep -m5 -E 'ERROR|SUMMARY' "$log" >&2
	fi
	summary+=("$(printf '%-28s %12s %10s %8s %8s %s' "$t" "${execs:--}" "${rate:--}" "${cov:--}" "$crashes" "$([ $status -eq 0 ] && echo ok || echo FAIL)")")
done

printf '\n%-28s %12s %10s %8s %8s %s\n' target executions exec/s cov artifacts result
printf '%s\n' "${summary[@]}"
exit $rc
