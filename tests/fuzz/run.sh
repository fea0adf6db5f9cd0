#!/bin/bash
# SPDX-License-Identifier: MIT
# run.sh - run each libFuzzer harness for a bounded time on its seed corpus
# and say how many inputs it ran and whether any crashed.
#
#   tests/fuzz/run.sh BUILDDIR [SECONDS] [HARNESS...]
#
# BUILDDIR is a build made with CC=clang and -Dfuzzing=true (and, for the
# sanitizers' checks, -Db_sanitize=address,undefined). SECONDS per harness
# (default 60). Harnesses run two at a time (FUZZ_JOBS); new corpus units
# go to a scratch directory, never into the committed seeds. A crash (or a
# leak, or undefined behaviour) keeps the input in BUILDDIR/fuzz-artifacts
# and makes the script exit 1. Prints one line per harness and a total.
set -uo pipefail

src=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILDDIR [SECONDS] [HARNESS...]}
secs=${2:-60}
shift $(( $# >= 2 ? 2 : $# ))
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
	harnesses=(resv size node options ctl-config ctl-args)
fi
jobs=${FUZZ_JOBS:-2}
work=$(mktemp -d /tmp/hugepool-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1

run_one() {
	local h=$1 bin="$build/tests/fuzz/fuzz-$1" dir="$work/$1" dict=()
	mkdir -p "$dir/corpus"
	[ -f "$src/$h.dict" ] && dict=(-dict="$src/$h.dict")
	"$bin" -max_total_time="$secs" -print_final_stats=1 -close_fd_mask=3 \
		-timeout=25 -rss_limit_mb=2048 -artifact_prefix="$dir/" "${dict[@]}" \
		"$dir/corpus" "$src/corpus/$h" >"$dir/log" 2>&1
	echo $? >"$dir/rc"
}

total=0
crashes=0
for ((i = 0; i < ${#harnesses[@]}; i += jobs)); do
	pids=()
	for h in "${harnesses[@]:i:jobs}"; do
		if [ ! -x "$build/tests/fuzz/fuzz-$h" ]; then
			echo "fuzz: no harness $build/tests/fuzz/fuzz-$h (build with CC=clang -Dfuzzing=true)" >&2
			exit 1
		fi
		run_one "$h" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for h in "${harnesses[@]:i:jobs}"; do
		dir="$work/$h"
		rc=$(cat "$dir/rc")
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
		execs=${execs:-0}
		seeds=$(find "$src/corpus/$h" -type f | wc -l)
		units=$(find "$dir/corpus" -type f | wc -l)
		n=0
		for a in "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-*; do
			[ -e "$a" ] || continue
			n=$((n + 1))
			cp "$a" "$build/fuzz-artifacts/$h-$(basename "$a")"
		done
		if [ "$rc" != 0 ] && [ "$n" = 0 ]; then
			n=1	# it died without saving an input: still a failure
		fi
		total=$((total + execs))
		crashes=$((crashes + n))
		printf 'fuzz: %-10s %10s execs in %ss (%s/s), %d crashes; corpus %d seeds + %d new units\n' \
			"$h" "$execs" "$secs" "$((execs / secs))" "$n" "$seeds" "$((units))"
		if [ "$n" != 0 ]; then
			grep -E '^fuzz-|ERROR|SUMMARY|runtime error' "$dir/log" | head -20 | sed 's/^/    /'
			echo "    inputs kept in $build/fuzz-artifacts/"
		fi
	done
done
printf 'fuzz: %d harnesses x %ss: %d executions, %d crashes\n' "${#harnesses[@]}" "$secs" \
	"$total" "$crashes"
[ "$crashes" = 0 ]
