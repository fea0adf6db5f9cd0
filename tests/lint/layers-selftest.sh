#!/bin/bash
# SPDX-License-Identifier: MIT
# layers-selftest.sh - scripts/check-layers.py must fail, and say why, on
# a new upward call, on an object in no layer and on a stale allow line;
# and pass on a correct allow-list.
# Usage: layers-selftest.sh CHECK BAD.a UNPLACED.a
set -u
check=$1 bad=$2 unplaced=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

expect() { # expect RC PATTERN -- ARGS...: the check exits RC, prints PATTERN
	local rc=$1 pat=$2 out got
	shift 3
	out=$("$check" "$@" 2>&1); got=$?
	if [ "$got" -ne "$rc" ] || ! grep -qF -- "$pat" <<<"$out"; then
		echo "FAIL: check-layers $*: exit $got (want $rc), output:"
		echo "$out"
		echo "  (wanted a line with: $pat)"
		fail=1
	else
		echo "ok: exit $rc: $pat"
	fi
}

# sys.o calling the pool layer is a violation
expect 1 "sys.o (kernel) calls hp_pool_grow of pool.o (pool)" -- "$bad"
# pool.o calling down into sys.o is not
out=$("$check" "$bad" 2>&1)
if grep -q "pool.o (pool) calls" <<<"$out"; then echo "FAIL: a downward call reported: $out"; fail=1; fi
# listed with a reason, it passes
printf '# self-test: a known upward call\nsys.o hp_pool_grow\n' >"$tmp/allow"
expect 0 "1 allowed upward call(s)" -- --allow "$tmp/allow" "$bad"
# listed without a reason, it does not
printf 'sys.o hp_pool_grow\n' >"$tmp/nowhy"
expect 1 "no comment says why" -- --allow "$tmp/nowhy" "$bad"
# a listed call that does not happen is stale
printf 'pool.o hp_sys_bad # downward, never upward\nsys.o hp_pool_grow # known\n' >"$tmp/stale"
expect 1 "pool.o hp_sys_bad is no longer an upward call" -- --allow "$tmp/stale" "$bad"
# a file in no layer must be placed
expect 1 "mystery.o: not in the layer table" -- "$unplaced"
exit $fail
