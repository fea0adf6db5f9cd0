#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-apply.sh - `hugepool-ctl apply FILE`: --dry-run changes nothing and
# lists what it would do; the first run brings pools and mounts to the
# file; the second run changes nothing (idempotent); a mount that differs
# from the file is reported, not replaced; standard input works.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

begin_2m
base=$(cat "$P/nr_hugepages")
ov=$(cat "$P/nr_overcommit_hugepages")

D=$(mktemp -d)
on_exit "rm -rf '$D'"
on_exit "umount '$D/mnt' 2>/dev/null"
C=$D/hugepool.conf
cat >"$C" <<EOF
# hugepool boot configuration (test)

pool 2M count=$(((base + 4) * 2))M overcommit=$((ov + 2))   # memory form
mount $D/mnt pagesize=2M size=8M min_size=2M mode=0770 uid=0 gid=0 mkdir=yes
EOF
N0=$NODES/node0/hugepages/hugepages-2048kB/nr_hugepages
if [ -f "$N0" ] && [ -d "$HP/hugepages-1048576kB" ]; then
	# per-node form, for the other size (keeps its current value)
	echo "pool 1G count=$(cat "$NODES/node0/hugepages/hugepages-1048576kB/nr_hugepages") node=0" >>"$C"
fi

before=$(settings)
ctl apply "$C" --dry-run
expect_ok
expect_out "^$C:3: 2M: would write $((base + 4)) to $P/nr_hugepages"
expect_out "^$C:3: 2M: would write $((ov + 2)) to $P/nr_overcommit_hugepages"
expect_out "^$C:4: would create $D/mnt and mount hugetlbfs there with pagesize=2M,size=8388608,min_size=2097152,uid=0,gid=0,mode=0770"
expect_eq "dry-run settings" "$(settings)" "$before"
[ -e "$D/mnt" ] && fail "dry-run created the mount point" || ok

ctl apply "$C"
expect_ok
expect_eq "pool" "$(cat "$P/nr_hugepages")" $((base + 4))
expect_eq "overcommit" "$(cat "$P/nr_overcommit_hugepages")" $((ov + 2))
grep -q " $D/mnt hugetlbfs .*size=8388608,min_size=2097152" /proc/mounts && ok || fail "mount"
expect_eq "mode" "$(stat -c %a "$D/mnt")" 770

# again: nothing to do, nothing changes
after=$(settings)
mounts=$(grep -c hugetlbfs /proc/mounts)
ctl apply "$C"
expect_ok
expect_out "^$C:3: 2M: nr_hugepages already $((base + 4))$"
expect_out "^$C:4: hugetlbfs already mounted on $D/mnt"
expect_eq "idempotent settings" "$(settings)" "$after"
expect_eq "idempotent mounts" "$(grep -c hugetlbfs /proc/mounts)" "$mounts"

# from standard input, with a mount that differs from the file: reported
run "$CTL" apply - <<<"mount $D/mnt pagesize=2M size=16M"
expect_fail 1 "<stdin>:1: $D/mnt is already a hugetlbfs mount .*size differs; unmount it first"
expect_eq "stdin mounts" "$(grep -c hugetlbfs /proc/mounts)" "$mounts"

# a config with only comments
printf '# nothing\n\n   # still nothing\n' >"$C"
ctl apply "$C"
expect_ok
expect_out "nothing to apply"

ctl apply --help
expect_ok
expect_out "pool SIZE count=COUNT"
