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
expect_out "fix: add 'hugepagesz=1G hugepages=N' to the kernel command line"
expect_out "^warning +no hugetlbfs is mounted"
expect_out "fix: hugepool-ctl mount /dev/hugepages --pagesize 2M --mkdir"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	expect_out "^warning +RLIMIT_MEMLOCK is 8M: io_uring buffer registration"
fi
expect_out "fix: ulimit -l unlimited"
expect_out "the hugetlb cgroup \(v1\) limits 2M pages to 4 MiB"
expect_out "fix: echo -1 > /sys/fs/cgroup/hugetlb/app/hugetlb.2MB.limit_in_bytes"
expect_out "the hugetlb cgroup \(v2\) limits 1G pages to 0 MiB"
expect_out "fix: echo max > /sys/fs/cgroup/unified/svc/hugetlb.1GB.max"
expect_out "^info +transparent huge pages are 'always'"
expect_out "fix: echo madvise > /sys/kernel/mm/transparent_hugepage/enabled"

explain_fake --json
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
checks = {f["check"] for f in d["findings"] if f["severity"] in ("warning", "problem")}
want = {"pool", "1G", "mount", "cgroup"}
sys.exit(0 if want <= checks and d["problems"] >= 4 else "%s %s" % (checks, d["problems"]))' &&
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

# no hugetlb at all
rm -rf "$F/sys/kernel/mm/hugepages"
HUGEPOOL_CTL_ROOT=$F run "$CTL" explain
if [ "$RC" = 1 ]; then ok; else fail "no-hugetlb status $RC"; fi
expect_out "^problem +this kernel has no huge page support"

ctl explain --help
expect_ok
