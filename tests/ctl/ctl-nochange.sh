#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-nochange.sh - the broken promises of issue 17: a command that fails
# changes nothing, and its --dry-run fails the same way.
#  - set 1G N --overcommit 1 (and the config line pool 1G count=N
#    overcommit=1): the kernel refuses overcommit for gigantic pages; that
#    is found before nr_hugepages is raised; --dry-run exits 1 too;
#  - apply of a pool change plus a mount with min_size larger than the
#    pool can give: refused before the pool changes or the directory is
#    made, in the dry run as in the real one;
#  - mount --min-size 100G --mkdir, and mount --mkdir as non-root: no
#    directory left behind;
#  - a failure only mount(2) knows (a fake tree whose page size the kernel
#    lacks): apply puts back, newest first, the directory it made, the
#    overcommit and the pool size it changed;
#  - set 2M 1.5G is 768 pages.
# Every kernel setting is written back at exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

need_root
need_size hugepages-2048kB
take_snapshot

P2=$HP/hugepages-2048kB
D=$(mktemp -d)
on_exit "rm -rf '$D'"
C=$D/conf

# same_as_real ARGS...: the dry run fails with the real run's status and line
same_as_real() {
	local rc err
	ctl "$@"
	rc=$RC err=$ERR
	ctl "$@" --dry-run
	expect_eq "--dry-run status of $*" "$RC" "$rc"
	expect_eq "--dry-run message of $*" "$ERR" "$err"
}

# --- 1G overcommit -----------------------------------------------------------
if [ -d "$HP/hugepages-1048576kB" ]; then
	P1=$HP/hugepages-1048576kB
	n1=$(cat "$P1/nr_hugepages")
	ctl set 1G $((n1 + 1)) --overcommit 1
	expect_fail 1 "1G: the kernel refuses overcommit for 1G pages"
	unchanged "set 1G +1 --overcommit 1"
	expect_eq "1G pool after refused overcommit" "$(cat "$P1/nr_hugepages")" "$n1"
	same_as_real set 1G $((n1 + 1)) --overcommit 1
	unchanged "set 1G --overcommit --dry-run"

	printf 'pool 2M count=%s\npool 1G count=%s overcommit=1\n' \
		$(($(cat "$P2/nr_hugepages") + 2)) $((n1 + 1)) >"$C"
	ctl apply "$C"
	expect_fail 1 "$C:2: 1G: the kernel refuses overcommit for 1G pages"
	unchanged "apply pool 1G overcommit=1"
	same_as_real apply "$C"
	unchanged "apply pool 1G overcommit=1 --dry-run"
elif [ "${HUGEPOOL_TEST_REQUIRE:-0}" = 1 ]; then
	fail "no 1G pages in this kernel (HUGEPOOL_TEST_REQUIRE=1)"
fi

# --- apply: pool plus a mount whose min_size cannot be had ----------------
n2=$(cat "$P2/nr_hugepages")
printf 'pool 2M count=%s overcommit=0\nmount %s pagesize=2M min_size=100G mkdir=yes\n' \
	$((n2 + 4)) "$D/q" >"$C"
ctl apply "$C" --dry-run
expect_fail 1 "$C:2: mount $D/q: min_size=107374182400 \(51200 pages\) cannot be reserved: [0-9]+ 2M pages would be free and unreserved"
unchanged "apply min_size --dry-run"
same_as_real apply "$C"
unchanged "apply min_size"
[ ! -e "$D/q" ] && ok || fail "apply left $D/q behind"

# a min_size that only the pool line makes possible: the dry run counts
# the planned pages (it does not check again against today's pool)
avail=$(($(cat "$P2/free_hugepages") - $(cat "$P2/resv_hugepages")))
printf 'pool 2M count=%s overcommit=0\nmount %s pagesize=2M min_size=%sM mkdir=yes\n' \
	$((n2 + 4)) "$D/p" $(((avail + 2) * 2)) >"$C"
ctl apply "$C" --dry-run
expect_ok
expect_out "would create $D/p and mount hugetlbfs there"
unchanged "apply --dry-run with planned pages"

# two mounts that fit one by one but not together
avail=$(($(cat "$P2/free_hugepages") - $(cat "$P2/resv_hugepages")))
if [ "$avail" -ge 4 ]; then
	half=$(((avail / 2 + 1) * 2))M
	printf 'mount %s pagesize=2M min_size=%s mkdir=yes\nmount %s pagesize=2M min_size=%s mkdir=yes\n' \
		"$D/m1" "$half" "$D/m2" "$half" >"$C"
	ctl apply "$C" --dry-run
	expect_fail 1 "$C:2: mount $D/m2: min_size=.* \(less what mounts before this one reserve\)"
	[ ! -e "$D/m1" ] && [ ! -e "$D/m2" ] && ok || fail "dry run made a directory"
fi

# --- mount --mkdir that fails leaves no directory ----------------------------
ctl mount "$D/zz/sub" --pagesize 2M --min-size 100G --mkdir
expect_fail 1 "mount $D/zz/sub: min_size=107374182400 \(51200 pages\) cannot be reserved"
[ ! -e "$D/zz" ] && ok || fail "mount left $D/zz behind"
same_as_real mount "$D/zz/sub" --pagesize 2M --min-size 100G --mkdir
[ ! -e "$D/zz" ] && ok || fail "mount --dry-run left $D/zz behind"

nobody_ctl
W=$(mktemp -d)
chmod 1777 "$W"
on_exit "rm -rf '$W'"
as_nobody mount "$W/hpm" --pagesize 2M --mkdir
expect_fail 1 "mount $W/hpm: Operation not permitted \(this needs root: CAP_SYS_ADMIN\)"
[ ! -e "$W/hpm" ] && ok || fail "non-root mount --mkdir left $W/hpm behind"
as_nobody mount "$W/hpm" --pagesize 2M --mkdir --dry-run
expect_fail 1 "needs root: CAP_SYS_ADMIN"
grep -q " $W/hpm " /proc/mounts && fail "mounted as nobody?" || ok

# --- what only mount(2) knows: apply puts everything back ---------------
# A fake tree with a 32M size the real kernel does not have: the pool
# writes go to the fake files, mount(2) refuses pagesize=32M.
F=$D/fake
for s in 2048 32768; do
	fd=$F/sys/kernel/mm/hugepages/hugepages-${s}kB
	mkdir -p "$fd"
	for f in free_hugepages resv_hugepages surplus_hugepages nr_overcommit_hugepages; do
		echo 0 >"$fd/$f"
	done
	echo 4 >"$fd/nr_hugepages"
	echo 4 >"$fd/free_hugepages"
done
mkdir -p "$F/proc"
: >"$F/proc/mounts"
printf 'MemTotal: 8388608 kB\nHugepagesize: 2048 kB\n' >"$F/proc/meminfo"
printf 'pool 2M count=6\npool 32M count=5 overcommit=3\nmount %s pagesize=32M mkdir=yes\n' \
	"$D/x/y" >"$C"
HUGEPOOL_CTL_ROOT=$F run "$CTL" apply "$C"
expect_fail 1 "$C:3: mount $D/x/y with pagesize=32M: Invalid argument"
expect_out "^$C:1: 2M: nr_hugepages 4 -> 6$"
expect_out "^undone: removed $D/x/y$"
expect_out "^undone: removed $D/x$"
expect_out "^undone: 32M: nr_overcommit_hugepages back to 0$"
expect_out "^undone: 32M: nr_hugepages back to 4$"
expect_out "^undone: 2M: nr_hugepages back to 4$"
# newest first: the directories, then overcommit, then the pool
first=$(printf '%s\n' "$OUT" | grep -n '^undone: removed' | head -1 | cut -d: -f1)
last=$(printf '%s\n' "$OUT" | grep -n '^undone: 2M' | cut -d: -f1)
[ -n "$first" ] && [ -n "$last" ] && [ "$first" -lt "$last" ] && ok || fail "undo order: $OUT"
expect_eq "fake 2M pool put back" "$(cat "$F/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")" 4
expect_eq "fake 32M overcommit put back" \
	"$(cat "$F/sys/kernel/mm/hugepages/hugepages-32768kB/nr_overcommit_hugepages")" 0
[ ! -e "$D/x" ] && ok || fail "apply left $D/x behind"
# the dry run cannot know what mount(2) will say: it passes
HUGEPOOL_CTL_ROOT=$F run "$CTL" apply "$C" --dry-run
expect_ok
expect_out "would create $D/x/y and mount hugetlbfs there with pagesize=32M"

# --- decimal sizes ----------------------------------------------------------
ctl set 2M 1.5G --dry-run
expect_ok
expect_out "would write 768 to $P2/nr_hugepages"
ctl set 2M 1.3G --dry-run
expect_fail 2 "COUNT '1.3G' is not"
ctl set 2M 1.5 --dry-run
expect_fail 2 "COUNT '1.5' is not a number of pages"
unchanged "end"
