#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-hugeadm.sh - what users of hugeadm and dpdk-hugepages.py expect
# (issue 17):
#  - mount --nr-inodes / apply nr_inodes=: the kernel's nr_inodes option,
#    and an existing mount with another nr_inodes is not "the same";
#  - thp: shows enabled/defrag/khugepaged, sets them after checking the
#    value against the kernel's words, --dry-run, a bad value changes
#    nothing (fake tree);
#  - setup MEMORY --mount DIR: pool and mount in one step, idempotent;
#    a setup that cannot mount changes nothing;
#  - clear [--unmount]: pools to 0, mounts removed (fake tree for the
#    pools, a real mount for --unmount).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

need_root
need_size hugepages-2048kB
take_snapshot
P=$HP/hugepages-2048kB
D=$(mktemp -d)
on_exit "rm -rf '$D'"

# --- nr_inodes ----------------------------------------------------------------
mkdir "$D/m"
ctl mount "$D/m" --pagesize 2M --nr-inodes 64
expect_ok
on_exit "umount '$D/m'"
grep -q " $D/m hugetlbfs .*nr_inodes=64" /proc/mounts && ok || fail "nr_inodes=64 not mounted"
printf 'mount %s pagesize=2M nr_inodes=64\n' "$D/m" >"$D/conf"
ctl apply "$D/conf"
expect_ok
expect_out "already mounted"
printf 'mount %s pagesize=2M nr_inodes=65\n' "$D/m" >"$D/conf"
ctl apply "$D/conf"
expect_fail 1 "nr_inodes differs; unmount it first"
ctl mount "$D/x" --pagesize 2M --nr-inodes lots
expect_fail 2 "--nr-inodes 'lots' is not a number of inodes"
umount "$D/m"

# --- thp (fake tree) -------------------------------------------------------
F=$D/fake
TH=$F/sys/kernel/mm/transparent_hugepage
mkdir -p "$TH/khugepaged" "$F/proc"
echo 'always [madvise] never' >"$TH/enabled"
echo 'always defer defer+madvise [madvise] never' >"$TH/defrag"
echo 1 >"$TH/khugepaged/defrag"
echo 4096 >"$TH/khugepaged/pages_to_scan"
printf 'AnonHugePages:    4096 kB\n' >"$F/proc/meminfo"
HUGEPOOL_CTL_ROOT=$F run "$CTL" thp
expect_ok
expect_out "^enabled +madvise$"
expect_out "^defrag +madvise$"
expect_out "^khugepaged/defrag +1$"
expect_out "^AnonHugePages \(in use\) +4M$"
HUGEPOOL_CTL_ROOT=$F run "$CTL" thp --enabled never --defrag defer --dry-run
expect_ok
expect_out "^enabled: would write never to $TH/enabled \(now madvise\)$"
expect_eq "dry run wrote nothing" "$(cat "$TH/enabled")" 'always [madvise] never'
HUGEPOOL_CTL_ROOT=$F run "$CTL" thp --enabled never --defrag sometimes
expect_fail 2 "defrag 'sometimes': this kernel offers always, defer, defer\+madvise, madvise, never"
expect_eq "bad value wrote nothing" "$(cat "$TH/enabled")" 'always [madvise] never'
HUGEPOOL_CTL_ROOT=$F run "$CTL" thp --enabled never --khugepaged-defrag 0
expect_ok
# (a fake file is not truncated by the write as sysfs is: the first line)
expect_eq "thp enabled" "$(head -1 "$TH/enabled")" never
expect_eq "khugepaged defrag" "$(head -1 "$TH/khugepaged/defrag")" 0
HUGEPOOL_CTL_ROOT=$F run "$CTL" thp --khugepaged-defrag 2
expect_fail 2 "--khugepaged-defrag 2: expected 0 or 1"
# the real one: shown, not changed
ctl thp
expect_ok
expect_out "^enabled +(always|madvise|never)$"

# --- setup -----------------------------------------------------------------------
n=$(cat "$P/nr_hugepages")
mem=$(((n + 2) * 2))M
ctl setup "$mem" --pagesize 2M --mount "$D/hp" --dry-run
expect_ok
expect_out "would write $((n + 2)) to $P/nr_hugepages"
expect_out "would create $D/hp and mount hugetlbfs there with pagesize=2M"
[ ! -e "$D/hp" ] && ok || fail "setup --dry-run made $D/hp"
ctl setup "$mem" --pagesize 2M --mount "$D/hp"
expect_ok
on_exit "umount '$D/hp'"
expect_eq "setup pool" "$(cat "$P/nr_hugepages")" $((n + 2))
grep -q " $D/hp hugetlbfs .*pagesize=2M" /proc/mounts && ok || fail "setup did not mount"
ctl setup "$mem" --pagesize 2M --mount "$D/hp"
expect_ok
expect_out "already mounted"
umount "$D/hp"
echo "$n" >"$P/nr_hugepages"
# a mount point that is a file: refused before the pool changes
touch "$D/file"
ctl setup "$mem" --pagesize 2M --mount "$D/file"
expect_fail 1 "mount point $D/file is not a directory"
unchanged "setup on a file"

# --- clear (fake pools; a real mount for --unmount) ----------------------------
C=$D/clear
for s in 2048 1048576; do
	d=$C/sys/kernel/mm/hugepages/hugepages-${s}kB
	mkdir -p "$d"
	for f in free_hugepages resv_hugepages surplus_hugepages nr_overcommit_hugepages; do
		echo 0 >"$d/$f"
	done
	echo 8 >"$d/nr_hugepages"
done
mkdir -p "$C/proc" "$D/c"
printf 'Hugepagesize:       2048 kB\n' >"$C/proc/meminfo"
mount -t hugetlbfs -o pagesize=2M,nodev none "$D/c"
on_exit "umount '$D/c'"
printf 'none %s hugetlbfs rw,nodev,relatime,pagesize=2M 0 0\n' "$D/c" >"$C/proc/mounts"
HUGEPOOL_CTL_ROOT=$C run "$CTL" clear --pagesize 2M --unmount --dry-run
expect_ok
expect_out "would unmount hugetlbfs from $D/c"
expect_out "would write 0 to $C/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
HUGEPOOL_CTL_ROOT=$C run "$CTL" clear --pagesize 2M --unmount
expect_ok
grep -q " $D/c hugetlbfs" /proc/mounts && fail "clear --unmount left $D/c mounted" || ok
expect_eq "clear 2M" "$(cat "$C/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")" 0
expect_eq "clear left 1G" "$(cat "$C/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages")" 8
HUGEPOOL_CTL_ROOT=$C run "$CTL" clear
expect_ok
expect_eq "clear all" "$(cat "$C/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages")" 0
# a busy mount: clear fails, and puts back the mount it had taken away
mount -t hugetlbfs -o pagesize=2M,nodev none "$D/c"
mkdir -p "$D/c2"
mount -t hugetlbfs -o pagesize=2M,nodev none "$D/c2"
on_exit "umount '$D/c2'"
printf 'none %s hugetlbfs rw,nodev,relatime,pagesize=2M 0 0\nnone %s hugetlbfs rw,nodev,relatime,pagesize=2M 0 0\n' \
	"$D/c" "$D/c2" >"$C/proc/mounts"
echo 8 >"$C/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
exec 9>"$D/c2/busy"
HUGEPOOL_CTL_ROOT=$C run "$CTL" clear --pagesize 2M --unmount
exec 9>&-
expect_fail 1 "$D/c2 is busy"
grep -q " $D/c hugetlbfs" /proc/mounts && ok || fail "clear did not mount $D/c again"
expect_out "^undone: mounted hugetlbfs on $D/c again$"
expect_eq "busy clear kept the pool" "$(cat "$C/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")" 8
unchanged "end"
