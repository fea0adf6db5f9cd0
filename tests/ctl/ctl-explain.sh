#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-explain.sh - `hugepool-ctl explain` on this machine (runs, --json
# parses, exit status agrees with the findings) and on fake machines that
# have each problem: no pages, memory too fragmented for 1G pages, no
# hugetlbfs mount, a low RLIMIT_MEMLOCK without CAP_IPC_LOCK, a v1 and a v2
# hugetlb cgroup limit, THP always. Each must be reported with its fix.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

command -v python3 >/dev/null || skip "python3 not found"
[ -d "$HP" ] || skip "no hugetlb support in this kernel"

# --- this machine ---------------------------------------------------------------
ctl explain --json
if [ "$RC" = 0 ] || [ "$RC" = 1 ]; then ok; else fail "explain status $RC: $ERR"; fi
problems=$(printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert all(f["severity"] in ("ok", "info", "warning", "problem") for f in d["findings"])
print(d["problems"])')
expect_eq "status agrees with findings" "$RC" "$([ "$problems" = 0 ] && echo 0 || echo 1)"
ctl explain --all
expect_out "^(ok|info|warning|problem) "

# --- a fake machine with every problem ------------------------------------------
F=$(mktemp -d)
on_exit "rm -rf '$F'"
mk() {	# mk SIZE_KB NR OVERCOMMIT
	local d=$F/sys/kernel/mm/hugepages/hugepages-$1kB
	mkdir -p "$d"
	echo "$2" >"$d/nr_hugepages"
	echo "$2" >"$d/free_hugepages"
	echo 0 >"$d/resv_hugepages"
	echo 0 >"$d/surplus_hugepages"
	echo "$3" >"$d/nr_overcommit_hugepages"
}
mk 2048 0 0
mk 1048576 0 0
mkdir -p "$F/proc/self" "$F/sys/kernel/mm/transparent_hugepage" \
	"$F/sys/fs/cgroup/hugetlb/app" "$F/sys/fs/cgroup/unified/svc"
printf 'Hugepagesize:       2048 kB\n' >"$F/proc/meminfo"
printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1\n' >"$F/proc/cmdline"
# order-10 blocks: 100 x 4 MiB = 400 MiB, less than one 1 GiB page
printf 'Node 0, zone   Normal   5 4 3 2 1 0 0 0 0 0 100\n' >"$F/proc/buddyinfo"
printf '[always] madvise never\n' >"$F/sys/kernel/mm/transparent_hugepage/enabled"
cat >"$F/proc/mounts" <<'EOF'
proc /proc proc rw 0 0
cgroup /sys/fs/cgroup/hugetlb cgroup rw,relatime,hugetlb 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0
EOF
printf '3:hugetlb:/app\n0::/svc\n' >"$F/proc/self/cgroup"
echo 9223372036854771712 >"$F/sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes"
echo 4194304 >"$F/sys/fs/cgroup/hugetlb/app/hugetlb.2MB.limit_in_bytes"
echo 'cpu memory hugetlb' >"$F/sys/fs/cgroup/unified/cgroup.controllers"
echo max >"$F/sys/fs/cgroup/unified/svc/hugetlb.2MB.max"
echo 0 >"$F/sys/fs/cgroup/unified/svc/hugetlb.1GB.max"
# usage and events, as the kernel has them next to the limits
echo 2097152 >"$F/sys/fs/cgroup/hugetlb/app/hugetlb.2MB.usage_in_bytes"
echo 5 >"$F/sys/fs/cgroup/hugetlb/app/hugetlb.2MB.failcnt"
echo 0 >"$F/sys/fs/cgroup/hugetlb/hugetlb.2MB.usage_in_bytes"
for s in 2MB 1GB; do
	echo 0 >"$F/sys/fs/cgroup/unified/svc/hugetlb.$s.current"
	printf 'max 3\n' >"$F/sys/fs/cgroup/unified/svc/hugetlb.$s.events"
done

# without CAP_IPC_LOCK and with an 8 MiB memlock limit (if setpriv can drop it)
explain_fake() {
	if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
		run bash -c 'ulimit -l 8192; HUGEPOOL_CTL_ROOT=$0 exec setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock "$1" explain "$2"' "$F" "$CTL" "$1"
	else
		run bash -c 'ulimit -l 8192; HUGEPOOL_CTL_ROOT=$0 exec "$1" explain "$2"' "$F" "$CTL" "$1"
	fi
}
explain_fake --all
if [ "$RC" = 1 ]; then ok; else fail "fake explain status $RC, expected 1: $ERR"; fi
expect_out "^problem +no huge pages are configured at all"
expect_out "fix: hugepool-ctl set 2M 512"
expect_out "^problem +memory is fragmented for 1G pages: only 400 MiB is free in 4M blocks"
expect_out "fix: at boot: add 'hugepagesz=1G hugepages=N' to GRUB_CMDLINE_LINUX .* check with 'cat /proc/cmdline'"
# advice only: it does not stop huge pages (issue 17)
expect_out "^info +no hugetlbfs is mounted"
expect_out "fix: hugepool-ctl mount /dev/hugepages --pagesize 2M --mkdir"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	expect_out "^warning +RLIMIT_MEMLOCK is 8M: io_uring buffer registration"
fi
expect_out "fix: ulimit -l unlimited"
expect_out "the hugetlb cgroup \(v1\) limits 2M pages to 4 MiB;.*/sys/fs/cgroup/hugetlb/app uses 2 MiB, refused 5 times \(1 more allowed\)"
expect_out "fix: echo -1 > /sys/fs/cgroup/hugetlb/app/hugetlb.2MB.limit_in_bytes"
expect_out "the hugetlb cgroup \(v2\) limits 1G pages to 0 MiB .*refused 3 times \(0 more allowed\)"
expect_out "fix: echo max > /sys/fs/cgroup/unified/svc/hugetlb.1GB.max"
expect_out "^info +transparent huge pages are 'always'"
expect_out "fix: echo madvise > /sys/kernel/mm/transparent_hugepage/enabled"

explain_fake --json
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
checks = {f["check"] for f in d["findings"] if f["severity"] in ("warning", "problem")}
want = {"pool", "1G", "cgroup"}
sys.exit(0 if want <= checks and d["problems"] >= 3 else "%s %s" % (checks, d["problems"]))' &&
	ok || fail "fake explain --json findings"

# --- the same machine, fixed: pages, 1G at boot, a mount, no limits ------------
mk 2048 512 0
mk 1048576 2 0
printf 'BOOT_IMAGE=/vmlinuz hugepagesz=1G hugepages=2\n' >"$F/proc/cmdline"
printf 'always [madvise] never\n' >"$F/sys/kernel/mm/transparent_hugepage/enabled"
cat >"$F/proc/mounts" <<'EOF'
hugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0
hugetlbfs /dev/hugepages1G hugetlbfs rw,pagesize=1024M 0 0
EOF
run bash -c 'ulimit -l unlimited 2>/dev/null || true; HUGEPOOL_CTL_ROOT=$0 exec "$1" explain' "$F" "$CTL"
if [ "$(bash -c 'ulimit -l unlimited 2>/dev/null && ulimit -l')" = unlimited ]; then
	expect_ok
	expect_out "^no problems found"
fi

# issue 17: a healthy machine whose only remark is "no hugetlbfs is mounted"
# exits 0 (that was exit 1); the old binary fails this
if [ "$(bash -c 'ulimit -l unlimited 2>/dev/null && ulimit -l')" = unlimited ]; then
	: >"$F/proc/mounts"
	rm -rf "$F/proc/self/cgroup"
	run bash -c 'ulimit -l unlimited; HUGEPOOL_CTL_ROOT=$0 exec "$1" explain' "$F" "$CTL"
	expect_ok
	expect_out "^info +no hugetlbfs is mounted"
	expect_out "^no problems found"
	printf '3:hugetlb:/app\n0::/svc\n' >"$F/proc/self/cgroup"
fi

# 1G pages asked for at boot but not all there: a problem, with how to check
printf 'BOOT_IMAGE=/vmlinuz hugepagesz=1G hugepages=4\n' >"$F/proc/cmdline"
HUGEPOOL_CTL_ROOT=$F run "$CTL" explain
expect_eq "boot shortfall status" "$RC" 1
expect_out "^problem +the kernel command line asks for 4 1G pages at boot, there are 2"
expect_out "fix: check 'dmesg \| grep -i hugetlb'"

# hugeadm's advice: shmmax/shmall against the pool, hugetlb_shm_group,
# min_free_kbytes (from zoneinfo: 2 populated zones)
mkdir -p "$F/proc/sys/kernel" "$F/proc/sys/vm"
echo 33554432 >"$F/proc/sys/kernel/shmmax"
echo 18446744073692774399 >"$F/proc/sys/kernel/shmall"
echo 1001 >"$F/proc/sys/vm/hugetlb_shm_group"
echo 1024 >"$F/proc/sys/vm/min_free_kbytes"
printf 'MemTotal: 8388608 kB\nHugepagesize:       2048 kB\n' >"$F/proc/meminfo"
printf 'Node 0, zone      DMA\n  pages free 3\n        present  4095\nNode 0, zone   Normal\n        present  2000000\nNode 0, zone  Movable\n        present  0\n' >"$F/proc/zoneinfo"
HUGEPOOL_CTL_ROOT=$F run "$CTL" explain --all
expect_out "^info +kernel.shmmax \(33554432 bytes\) is smaller than the largest pool \(2G\)"
expect_out "fix: sysctl -w kernel.shmmax=2147483648"
expect_out "vm.hugetlb_shm_group is 1001: members of that group may use shmget"
# 2048 kB pageblocks, 2 zones: 2048*2*2 + 2048*2*2*3 = 32768
expect_out "^info +vm.min_free_kbytes is 1024; 32768 \(hugeadm's recommendation for 2 zones\)"
expect_out "fix: sysctl -w vm.min_free_kbytes=32768"

# --cgroup PATH: that group's limits, not this process's
echo hugetlb >"$F/sys/fs/cgroup/unified/svc/cgroup.controllers"
HUGEPOOL_CTL_ROOT=$F run "$CTL" explain --all --cgroup /sys/fs/cgroup/unified/svc
expect_out "the hugetlb cgroup \(v2\) limits 1G pages to 0 MiB"
printf '%s\n' "$OUT" | grep -q "(v1)" && fail "--cgroup showed this process's v1 group" || ok
HUGEPOOL_CTL_ROOT=$F run "$CTL" explain --cgroup /nonexistent
expect_fail 2 "--cgroup /nonexistent is not a cgroup directory"

# no hugetlb at all
rm -rf "$F/sys/kernel/mm/hugepages"
HUGEPOOL_CTL_ROOT=$F run "$CTL" explain
if [ "$RC" = 1 ]; then ok; else fail "no-hugetlb status $RC"; fi
expect_out "^problem +this kernel has no huge page support"

ctl explain --help
expect_ok
