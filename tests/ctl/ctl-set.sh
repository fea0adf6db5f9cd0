#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-set.sh - `hugepool-ctl set` really changes the kernel pool and reads
# it back: absolute, relative and memory counts, one node, overcommit,
# --dry-run (nothing changes), an unchanged count, and a short allocation
# (far more pages than memory) that exits 1 saying how many pages it got.
# Every setting is written back at exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

begin_2m
NR=$P/nr_hugepages
OVER=$P/nr_overcommit_hugepages
base=$(cat "$NR")
[ "$(cat "$P/surplus_hugepages")" = 0 ] || skip "2M surplus pages in use: counts would move under us"

# grow only (a few pages): other programs may be using the current pool
# absolute
ctl set 2M $((base + 4))
expect_ok
expect_eq "absolute" "$(cat "$NR")" $((base + 4))
expect_out "^2M: nr_hugepages $base -> $((base + 4))$"

# relative
ctl set 2M -2
expect_ok
expect_eq "relative -2" "$(cat "$NR")" $((base + 2))
ctl set 2M +3
expect_ok
expect_eq "relative +3" "$(cat "$NR")" $((base + 5))

# memory: absolute and relative
ctl set 2M "$(((base + 2) * 2))M"
expect_ok
expect_eq "memory" "$(cat "$NR")" $((base + 2))
ctl set 2M +8M
expect_ok
expect_eq "memory +8M" "$(cat "$NR")" $((base + 6))
ctl set 2M -4MiB
expect_ok
expect_eq "memory -4MiB" "$(cat "$NR")" $((base + 4))

# nothing to do
ctl set 2M $((base + 4))
expect_ok
expect_out "already $((base + 4))"

# one node: the node and the total move together
N0=$NODES/node0/hugepages/hugepages-2048kB/nr_hugepages
if [ -f "$N0" ]; then
	n0=$(cat "$N0")
	tot=$(cat "$NR")
	ctl set 2M +2 --node 0
	expect_ok
	expect_eq "node 0" "$(cat "$N0")" $((n0 + 2))
	expect_eq "total after node 0" "$(cat "$NR")" $((tot + 2))
	expect_out "^2M node 0: nr_hugepages $n0 -> $((n0 + 2))$"
	ctl set 2M $n0 -n 0
	expect_ok
	expect_eq "node 0 back" "$(cat "$N0")" "$n0"
else
	skip "no node0 directory for 2M pages"
fi

# overcommit: alone, relative, with a count
ov=$(cat "$OVER")
ctl set 2M --overcommit $((ov + 4))
expect_ok
expect_eq "overcommit" "$(cat "$OVER")" $((ov + 4))
ctl set 2M --overcommit -2
expect_ok
expect_eq "overcommit -2" "$(cat "$OVER")" $((ov + 2))
ctl set 2M $((base + 2)) -o "$ov"
expect_ok
expect_eq "count with overcommit" "$(cat "$NR")" $((base + 2))
expect_eq "overcommit with count" "$(cat "$OVER")" "$ov"

# show agrees: maximum = minimum + overcommit
ctl show --json --size 2M
expect_eq "maximum" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; s=json.load(sys.stdin)["page_sizes"][0]; print(s["maximum"]-s["minimum"])')" "$ov"

# --dry-run changes nothing and says what it would write
before=$(settings)
ctl set 2M +6 --dry-run
expect_ok
expect_out "would write $((base + 8)) to $NR"
ctl set 2M 1G --dry-run --node 0
expect_ok
expect_out "would write 512 to .*node0.*nr_hugepages"
ctl set 2M --overcommit +5 -d
expect_ok
expect_out "would write $((ov + 5)) to $OVER"
expect_eq "dry-run changed nothing" "$(settings)" "$before"

# --retry with a count the kernel can give returns at once
ctl set 2M +1 --retry 5
expect_ok
expect_eq "retry" "$(cat "$NR")" $((base + 3))
ctl set 2M "$base"
expect_ok

# short: far more pages than the machine has memory. The kernel takes what
# it can; the tool must say so and fail. Written back at once.
mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
want=$((mem_kb / 2048 * 4 + base))
ctl set 2M "$want"
got=$(cat "$NR")
echo "$base" >"$NR"
expect_fail 1 "asked for $want pages, the kernel gave $got \($((want - got)) short: that is more than the .* of memory this machine has\); nr_hugepages is now $got$"
if [ "$got" -lt "$want" ]; then ok; else fail "kernel gave all $want pages?"; fi
expect_eq "restored after short" "$(cat "$NR")" "$base"

ctl set 2M --help
expect_ok
expect_out "^Usage: hugepool-ctl set SIZE"

# --retry on a short pool, on a fake tree where 2 pages always stay surplus
# (so the persistent pool reads back short): it keeps trying until the
# deadline, shows progress on a terminal, then fails saying so
F=$(mktemp -d)
on_exit "rm -rf '$F'"
fd=$F/sys/kernel/mm/hugepages/hugepages-2048kB
mkdir -p "$fd" "$F/proc"
for f in nr_hugepages free_hugepages resv_hugepages nr_overcommit_hugepages; do
	echo 0 >"$fd/$f"
done
echo 2 >"$fd/surplus_hugepages"
printf 'MemTotal: 8388608 kB\nHugepagesize: 2048 kB\n' >"$F/proc/meminfo"
start=$(date +%s)
HUGEPOOL_CTL_ROOT=$F run "$CTL" set 2M 10 --retry 2
took=$(($(date +%s) - start))
expect_fail 1 "asked for 10 pages, the kernel gave 8 \(2 short: not enough free contiguous memory, even after retrying\)"
if [ "$took" -ge 2 ] && [ "$took" -le 5 ]; then ok; else fail "--retry 2 took ${took}s"; fi
if command -v script >/dev/null; then
	# the same on a terminal: a progress line before the error
	out=$(HUGEPOOL_CTL_ROOT=$F script -qec "$CTL set 2M 10 --retry 2" /dev/null || true)
	if printf '%s' "$out" | grep -q "2M: 8 of 10 pages, retrying for [0-9]s"; then
		ok
	else
		fail "no progress on a terminal: $out"
	fi
fi
