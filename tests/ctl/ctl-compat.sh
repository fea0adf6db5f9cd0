#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-compat.sh - libhugetlbfs's tools as hugepool-ctl subcommands (issue
# 16), against the real kernel, every setting written back at exit:
#  - pagesize [-a|-H]: the base size, the sysfs sizes;
#  - hugeadm --pool-list: hugeadm's table from sysfs (Minimum = nr -
#    surplus, Maximum = Minimum + overcommit, the default starred);
#  - hugeadm --pool-pages-min/--pool-pages-max: persistent pages and
#    overcommit as hugeadm sets them (relative, memory, DEFAULT); --dry-run
#    changes nothing; a bad SIZE:COUNT or a refused option is one line,
#    exit 2, nothing changed;
#  - hugeadm --create-global-mounts: /var/lib/hugetlbfs/global/pagesize-2MB,
#    mode 1777, idempotent; --list-all-mounts shows it;
#  - hugectl --heap --text --bss --shm -- PROG: run's environment
#    (HUGEPOOL_THRESHOLD=1, HUGEPOOL_SEGMENTS, HUGEPOOL_SHM, the preload);
#    a meaningless hugectl option is one line and ignored.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

begin_2m
NR=$P/nr_hugepages
OVER=$P/nr_overcommit_hugepages
[ "$(cat "$P/surplus_hugepages")" = 0 ] || skip "2M surplus pages in use: counts would move under us"
base=$(cat "$NR") over0=$(cat "$OVER")

# --- pagesize -------------------------------------------------------------
ctl pagesize
expect_ok
expect_eq "pagesize" "$OUT" "$(getconf PAGESIZE)"
sizes=$(for d in "$HP"/hugepages-*kB; do kb=${d##*-}; echo $((${kb%kB} * 1024)); done | sort -n)
ctl pagesize -H
expect_eq "pagesize -H" "$(echo "$OUT" | sort -n)" "$sizes"
ctl pagesize -a
expect_eq "pagesize -a" "$(echo "$OUT" | head -1)" "$(getconf PAGESIZE)"
expect_eq "pagesize -a count" "$(echo "$OUT" | wc -l)" $(($(echo "$sizes" | wc -l) + 1))

# --- hugeadm --pool-list ----------------------------------------------------
ctl hugeadm --pool-list
expect_ok
expect_out "^ +Size +Minimum +Current +Maximum +Default$"
expect_out "^ +2097152 +$base +$base +$((base + over0)) +\*?$"

# --- pools ----------------------------------------------------------------
ctl hugeadm --pool-pages-min 2M:+2 --dry-run
expect_ok
unchanged "hugeadm --dry-run"
ctl hugeadm --pool-pages-min 2M:+2
expect_ok
expect_eq "--pool-pages-min 2M:+2" "$(cat "$NR")" $((base + 2))
ctl hugeadm --pool-pages-min DEFAULT:$((base + 1))
expect_ok
expect_eq "--pool-pages-min DEFAULT:N" "$(cat "$NR")" $((base + 1))
ctl hugeadm --pool-pages-min 2MB:$(((base + 3) * 2))M
expect_ok
expect_eq "--pool-pages-min 2MB:memory" "$(cat "$NR")" $((base + 3))
# Maximum = Minimum + overcommit
ctl hugeadm --pool-pages-max 2M:$((base + 3 + 8))
expect_ok
expect_eq "--pool-pages-max" "$(cat "$OVER")" 8
ctl hugeadm --pool-pages-max 2M:+4
expect_ok
expect_eq "--pool-pages-max +4" "$(cat "$OVER")" 12
ctl hugeadm --pool-list
expect_out "^ +2097152 +$((base + 3)) +$((base + 3)) +$((base + 15)) +\*?$"
now=$(settings)	# what bad input must leave as it is (the exit restores the snapshot)

# bad input: one line, exit 2, nothing changed
for bad in "2M" "3M:1" "2M:x" "2M:-99999999"; do
	ctl hugeadm --pool-pages-min "$bad"
	expect_fail 2 "hugepool-ctl hugeadm: "
done
ctl hugeadm --pool-pages-max 2M:1
expect_fail 2 "below the minimum"
ctl hugeadm --pool-pages-min 2M:+1 --set-recommended-shmmax
expect_fail 2 "hugeadm --set-recommended-shmmax has no counterpart; hugepool-ctl explain"
ctl hugeadm --obey-numa-mempol --pool-pages-min 2M:+1
expect_fail 2 "--node N"
[ "$(settings)" = "$now" ] && ok || fail "refused hugeadm options changed the pools"

# --- mounts ---------------------------------------------------------------
G=/var/lib/hugetlbfs/global/pagesize-2MB
if grep -q " /var/lib/hugetlbfs" /proc/mounts; then
	skip "/var/lib/hugetlbfs already has mounts: not ours to touch"
fi
made_root=0
[ -d /var/lib/hugetlbfs ] || made_root=1
umount_all() {
	local d
	for d in /var/lib/hugetlbfs/global/pagesize-*; do
		umount "$d" 2>/dev/null || true
		rmdir "$d" 2>/dev/null || true
	done
	rmdir /var/lib/hugetlbfs/global 2>/dev/null || true
	[ "$made_root" = 0 ] || rmdir /var/lib/hugetlbfs 2>/dev/null || true
}
on_exit umount_all
ctl hugeadm --create-global-mounts --dry-run
expect_ok
expect_out "would create $G and mount hugetlbfs there with pagesize=2M,mode=01777"
[ ! -e "$G" ] && ok || fail "--dry-run created $G"
ctl hugeadm --create-global-mounts
expect_ok
grep -q " $G hugetlbfs .*pagesize=2M" /proc/mounts && ok || fail "$G not mounted"
expect_eq "mode of $G" "$(stat -c %a "$G")" 1777
ctl hugeadm --create-global-mounts
expect_ok	# idempotent
expect_eq "one mount at $G" "$(grep -c " $G " /proc/mounts)" 1
ctl hugeadm --list-all-mounts
expect_out "^$G +rw"

# --- hugectl --------------------------------------------------------------
ctl hugectl --heap --text --bss --shm --thp -- env
expect_ok
expect_out "^HUGEPOOL_THRESHOLD=1$"
expect_out "^HUGEPOOL_SEGMENTS=text,bss$"
expect_out "^HUGEPOOL_SHM=1$"
expect_out "^LD_PRELOAD=.*libhugepool\.so"
printf '%s\n' "$ERR" | grep -q "hugectl --thp has no meaning for hugepool; ignored" && ok ||
	fail "no line for --thp: $ERR"
ctl hugectl --heap=1G --dry-run -- /bin/true
expect_ok
expect_out "HUGEPOOL_PAGE_SIZE=1G"
ctl hugectl --verbose 100 -- /bin/true
expect_fail 2 "expected 0 to 99"
