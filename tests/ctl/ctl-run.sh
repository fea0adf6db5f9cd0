#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-run.sh - `hugepool-ctl run`: the options reach the program as
# HUGEPOOL_* variables, LD_PRELOAD names an existing libhugepool.so (found
# next to the binary, or HUGEPOOL_PRELOAD_LIB), an existing LD_PRELOAD is
# kept, the program's exit status comes back, and a program that does not
# exist is 127.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

need_size hugepages-2048kB

ctl run --dry-run --threshold 1M --page-size 2M --nodes 0 --min 4 --max 1G \
	--policy interleave --fallback --verbose 2 --stats=json -- /bin/true -x
expect_ok
for kv in HUGEPOOL_THRESHOLD=1M HUGEPOOL_PAGE_SIZE=2M HUGEPOOL_NODES=0 HUGEPOOL_MIN=4 \
	HUGEPOOL_MAX=1G HUGEPOOL_POLICY=interleave HUGEPOOL_FALLBACK=1 HUGEPOOL_VERBOSE=2 \
	HUGEPOOL_STATS=json; do
	expect_out "(^| )$kv( |$)"
done
expect_out " /bin/true -x$"
lib=$(printf '%s\n' "$OUT" | sed -n 's/.*LD_PRELOAD=\([^ ]*\).*/\1/p')
case $lib in
/*libhugepool.so*) [ -f "$lib" ] && ok || fail "LD_PRELOAD=$lib does not exist" ;;
*) fail "LD_PRELOAD=$lib is not an absolute libhugepool.so path" ;;
esac

# the environment really reaches the program (env is run under the preload)
ctl run --min 2 --page-size 2M -- env
expect_ok
expect_out "^HUGEPOOL_MIN=2$"
expect_out "^HUGEPOOL_PAGE_SIZE=2M$"
expect_out "^LD_PRELOAD=$lib$"

# an existing LD_PRELOAD is kept, after ours
LD_PRELOAD=/lib/nonexistent-other.so run "$CTL" run --dry-run -- true
expect_out "LD_PRELOAD=$lib:/lib/nonexistent-other.so"

# override
HUGEPOOL_PRELOAD_LIB=$lib run "$CTL" run --dry-run -- true
expect_out "LD_PRELOAD=$lib "
HUGEPOOL_PRELOAD_LIB=/nonexistent/libhugepool.so run "$CTL" run -- true
expect_fail 1 "cannot find libhugepool.so \(HUGEPOOL_PRELOAD_LIB does not name a readable file\)"

# the dry run's line can be pasted into a shell: words that need it quoted
ctl run --dry-run --threshold 1M -- sh -c 'exit 3' "it's"
expect_ok
expect_out " sh -c 'exit 3' 'it'[\\\\]''s'$"
line=$(printf '%s\n' "$OUT" | sed 's/LD_PRELOAD=[^ ]* //')
set +e
eval "$line" >/dev/null 2>&1
st=$?
set -e
expect_eq "exit status of the pasted line" "$st" 3

# --stats speaks for processes that used a pool, once each: a shell whose
# children never allocate a large block prints nothing; a program that
# does prints its pool
ctl run --stats --threshold 1M -- sh -c '/bin/true; /bin/true; ls / >/dev/null'
expect_ok
expect_eq "stats lines of processes that used no pool" "$(printf '%s' "$ERR" | grep -c '' || true)" 0
ctl run --stats=json --threshold 1M -- sh -c '/bin/true; python3 -c "x = bytearray(8 << 20)"'
expect_ok
expect_eq "stats reports (one: python's)" "$(printf '%s\n' "$ERR" | grep -c '"pools":\[{')" 1
expect_eq "empty reports" "$(printf '%s\n' "$ERR" | grep -c '"pools":\[\]')" 0

# the exit status is the program's (options after PROG are the program's)
ctl run -- sh -c 'exit 7' --min
expect_eq "exit status" "$RC" 7
ctl run -- /nonexistent/prog
expect_fail 127 "cannot run /nonexistent/prog: No such file"
ctl run --help
expect_ok
expect_out "^Usage: hugepool-ctl run"
