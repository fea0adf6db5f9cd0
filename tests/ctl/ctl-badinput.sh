#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-badinput.sh - every kind of bad input is one line on stderr naming the
# problem, exit status 2 (the command line or config is wrong) or 1 (the
# system refused), and nothing written: the kernel settings and the mount
# table are compared before and after each case.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

need_root
need_size hugepages-2048kB
take_snapshot
MOUNTS0=$(grep -c hugetlbfs /proc/mounts || true)

bad() {	# bad STATUS PATTERN ARGS...: the case fails cleanly, writes nothing
	local st=$1 pat=$2
	shift 2
	ctl "$@"
	expect_fail "$st" "$pat"
	unchanged "$*"
	expect_eq "mounts after $*" "$(grep -c hugetlbfs /proc/mounts || true)" "$MOUNTS0"
}

# --- set --------------------------------------------------------------------
bad 2 "unknown huge page size 3M \(this kernel has .*2M" set 3M 4
bad 2 "'abc' is not a page size" set abc 4
bad 2 "removing 999999 2M pages from [0-9]+ would leave -[0-9]+ \(below zero\)" set 2M -999999
bad 2 "removing .*\(below zero\)" set 2M -100G
bad 2 "COUNT 'abc' is not a number of pages" set 2M abc
bad 2 "COUNT '12x' is not a number" set 2M 12x
bad 2 "COUNT '1.5' is not a number" set 2M 1.5
bad 2 "COUNT '' is not a number" set 2M ""
bad 2 "COUNT '\+' is not a number" set 2M +
bad 2 "COUNT '3M' is not a whole number of 2M pages" set 2M 3M
bad 2 "COUNT '99999999999999999999999' is too large" set 2M 99999999999999999999999
bad 2 "more memory than can exist" set 2M 9223372036854775807
bad 2 "--overcommit 'x' is not a number" set 2M --overcommit x
bad 2 "node 7 does not exist or has no 2M pages \(nodes: " set 2M 4 --node 7
bad 2 "'x' is not a node number" set 2M 4 --node x
bad 2 "--overcommit is global" set 2M 4 --node 0 --overcommit 1
bad 2 "--retry 'soon' is not a number of seconds" set 2M +1 --retry soon
bad 2 "missing COUNT" set 2M
bad 2 "missing SIZE" set
bad 2 "unexpected argument '5'" set 2M 4 5
bad 2 "unknown option '--nodes'" set 2M 4 --nodes 0
bad 2 "option '--node' needs a value" set 2M 4 --node

# not root: the write itself is refused (EACCES), nothing changes
nobody_ctl
as_nobody set 2M +2
expect_fail 1 "cannot write .*nr_hugepages: Permission denied \(this needs root\)"
unchanged "set as nobody"
as_nobody set 2M 4 --node 0
expect_fail 1 "Permission denied \(this needs root\)"
unchanged "set --node as nobody"
as_nobody set 2M --overcommit +1
expect_fail 1 "nr_overcommit_hugepages: Permission denied"
unchanged "overcommit as nobody"
# --dry-run fails as the real run would: same line, same status (issue 17)
as_nobody set 2M +2
real_err=$ERR real_rc=$RC
as_nobody set 2M +2 --dry-run
expect_fail 1 "nr_hugepages: Permission denied \(this needs root\)"
expect_eq "dry-run status as nobody" "$RC" "$real_rc"
expect_eq "dry-run message as nobody" "$ERR" "$real_err"
unchanged "dry-run as nobody"

# --- mount / umount ---------------------------------------------------------
D=$(mktemp -d)
on_exit "rmdir '$D'"
bad 1 "mount point /nonexistent/hugepool-test does not exist" \
	mount /nonexistent/hugepool-test --pagesize 2M
touch "$D/file"
bad 1 "mount point $D/file is not a directory" mount "$D/file" --pagesize 2M
rm -f "$D/file"
bad 2 "missing --pagesize" mount "$D"
bad 2 "unknown huge page size 3M" mount "$D" --pagesize 3M
bad 2 "--size '3M' is not a whole number of 2M pages" mount "$D" --pagesize 2M --size 3M
bad 2 "--size 'lots' is not a size" mount "$D" --pagesize 2M --size lots
bad 2 "--min-size '200%' must be a percentage from 1% to 100%" mount "$D" --pagesize 2M --min-size 200%
bad 2 "--min-size 8M is larger than --size 4M" mount "$D" --pagesize 2M --size 4M --min-size 8M
bad 2 "mode '999' is not octal" mount "$D" --pagesize 2M --mode 999
bad 2 "unknown user 'no-such-user-x'" mount "$D" --pagesize 2M --uid no-such-user-x
bad 2 "unknown group 'no-such-group-x'" mount "$D" --pagesize 2M --gid no-such-group-x
bad 2 "missing DIR" mount --pagesize 2M
bad 1 "$D is not a hugetlbfs mount" umount "$D"
bad 1 "/nonexistent/x does not exist" umount /nonexistent/x
chmod 755 "$D"
as_nobody mount "$D" --pagesize 2M
expect_fail 1 "Operation not permitted \(this needs root"
expect_eq "mounts after nobody" "$(grep -c hugetlbfs /proc/mounts || true)" "$MOUNTS0"

# --- apply: a malformed config names its line, and nothing of it is done,
# not even its valid lines before the bad one --------------------------------
C=$(mktemp)
on_exit "rm -f '$C'"
cur=$(cat "$HP/hugepages-2048kB/nr_hugepages")
conf() {	# conf LINE...: a config whose first line alone would change the pool
	{
		echo "# a comment"
		echo "pool 2M count=$((cur + 2))"
		printf '%s\n' "$@"
	} >"$C"
}
conf "pool 3M count=1"
bad 2 "$C:3: unknown huge page size 3M" apply "$C"
conf "" "pool 2M count=1 node=7"
bad 2 "$C:4: node 7 does not exist" apply "$C"
conf "pool 2M cnt=1"
bad 2 "$C:3: unknown key 'cnt' for pool \(count, node, overcommit, retry\)" apply "$C"
conf "pool 2M count=+2 node=0"
bad 2 "$C:3: count=\+2: a config takes absolute counts" apply "$C"
conf "pool 2M count=many node=0"
bad 2 "$C:3: count 'many' is not a number" apply "$C"
conf "pool 2M count=4"
bad 2 "$C:3: this pool is already on line 2" apply "$C"
conf "pool 2M count=4 node=0"
bad 2 "$C:3: a total count and a per-node count of one size conflict \(line 2\)" apply "$C"
conf "pool 2M"
bad 2 "$C:3: pool 2M needs count= or overcommit=" apply "$C"
conf "pools 2M count=1"
bad 2 "$C:3: unknown entry 'pools' \(expected pool or mount\)" apply "$C"
conf "pool 2M count"
bad 2 "$C:3: 'count' is not key=value" apply "$C"
conf "pool 2M count="
bad 2 "$C:3: count= has no value" apply "$C"
conf "mount $D size=4M"
bad 2 "$C:3: mount $D needs pagesize=" apply "$C"
conf "mount relative/dir pagesize=2M"
bad 2 "$C:3: mount point 'relative/dir' is not an absolute path" apply "$C"
conf "mount $D pagesize=2M mkdir=maybe"
bad 2 "$C:3: mkdir=maybe is not yes or no" apply "$C"
conf "mount $D pagesize=2M" "mount $D pagesize=2M"
bad 2 "$C:4: mount $D is already on line 3" apply "$C"
printf 'pool 2M count=1\0\n' >"$C"
bad 2 "$C:1: NUL byte" apply "$C"
bad 1 "cannot open /nonexistent/hugepool.conf: No such file" apply /nonexistent/hugepool.conf
bad 2 "missing FILE" apply

# --- the other commands -------------------------------------------------------
bad 2 "unknown command 'frobnicate'" frobnicate
bad 2 "no command given"
bad 2 "unknown option '--frob'" --frob
bad 2 "'abc' is not a process id" stats abc
bad 1 "no process 2147483646" stats 2147483646
bad 2 "unexpected argument 'now'" explain now
bad 2 "--policy 'sometimes' is not default, preferred, bind or interleave" run --policy sometimes -- true
bad 2 "--threshold 'big' is not a size" run --threshold big -- true
bad 2 "--min 'x' is not pages" run --min x -- true
bad 2 "--min 8 is more than --max 4" run --min 8 --max 4 -- true
bad 2 "--nodes '7' is not a list of nodes" run --nodes 7 -- true
bad 2 "--stats=yaml: expected text or json" run --stats=yaml -- true
bad 2 "unknown huge page size 3M" run --page-size 3M -- true
bad 2 "missing PROG" run --min 1
