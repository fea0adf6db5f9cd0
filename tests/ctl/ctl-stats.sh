#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-stats.sh - the stats publication end to end: ctl-helper makes a pool,
# allocates and publishes (lib/publish.c); `hugepool-ctl stats PID --json`
# must report exactly the counters the helper printed, `stats` (all) must
# list it, the file goes away when the process exits; a process killed
# with SIGKILL leaves a file that `stats` removes; a forked child publishes
# its own file and leaves the parent's alone.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

begin_2m
free=$(avail_2m)
[ "$free" -ge 8 ] || skip "fewer than 8 free 2M pages"
command -v python3 >/dev/null || skip "python3 not found"

W=$(mktemp -d)
on_exit "rm -rf '$W'"
BASE=${HUGEPOOL_PUBLISH_DIR:-/dev/shm}
[ -d "$BASE" ] || skip "no $BASE"
SHM=$BASE/hugepool-$(id -u)	# the per-user directory (issue 12)

# compare PUBLISHED EXPECTED: every key of the helper's line equals stats'
compare() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
got, want = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pools = [p for p in got["pools"] if p["name"] == want["name"]]
if got["pid"] != want["pid"] or len(pools) != 1:
    sys.exit("pid %s / pools %s" % (got["pid"], [p["name"] for p in got["pools"]]))
p = pools[0]
bad = ["%s: %s != %s" % (k, p.get(k), v) for k, v in want.items()
       if k not in ("pid", "name") and p.get(k) != v]
if sum(n["nr_pages"] for n in p["nodes"]) != p["nr_pages"]:
    bad.append("node sum")
if bad:
    sys.exit("; ".join(bad))
EOF
}

# --- one process ---------------------------------------------------------
start_helper pool
want=$(head -1 "$W/out.$HPID")
[ -f "$SHM/hugepool.$HPID" ] && ok || fail "no $SHM/hugepool.$HPID"
expect_eq "file mode" "$(stat -c %a "$SHM/hugepool.$HPID")" "600"
expect_eq "directory mode" "$(stat -c %a:%u "$SHM")" "700:$(id -u)"

ctl stats "$HPID" --json
expect_ok
if msg=$(compare "$OUT" "$want" 2>&1); then ok; else fail "stats $HPID --json: $msg"; fi
# sanity of what the helper did: 3 pages + 1 small, one freed, then a burst
# of 5 small alloc/free pairs published by hp_publish_flush()
expect_eq "allocs/frees" "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["allocs"], d["frees"])' "$want")" "9 6"

ctl stats --json
expect_ok
one=$(printf '%s' "$OUT" | python3 -c "
import json, sys
for p in json.load(sys.stdin)['processes']:
    if p['pid'] == $HPID:
        print(json.dumps(p))")
if msg=$(compare "$one" "$want" 2>&1); then ok; else fail "stats --json: $msg"; fi

ctl stats "$HPID"
expect_ok
name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["name"])' "$want")
expect_out "^$HPID +ctl-helper +$name +2M "

# a clean exit removes the file
kill -TERM "$HPID"
wait "$HPID" || fail "helper exit status $?"
[ -e "$SHM/hugepool.$HPID" ] && fail "file left after exit" || ok
ctl stats "$HPID"
expect_fail 1 "no process $HPID"

# --- SIGKILL leaves the file; stats removes it ------------------------------
start_helper pool
kill -9 "$HPID"
wait "$HPID" 2>/dev/null || true
[ -e "$SHM/hugepool.$HPID" ] && ok || fail "expected a stale file"
ctl stats --json
expect_ok
printf '%s' "$OUT" | python3 -c "
import json, sys
sys.exit(any(p['pid'] == $HPID for p in json.load(sys.stdin)['processes']))" && ok ||
	fail "a dead process is listed"
[ -e "$SHM/hugepool.$HPID" ] && fail "stale file not removed" || ok

# --- a process that exec'd: alive, same start time, but the new image does
# not map the file; stats removes it
"$HELPER" execpool 60 >"$W/exec.out" 2>&1 &
EPID=$!
on_exit "kill -9 $EPID"
for _ in $(seq 100); do
	[ "$(cat "/proc/$EPID/comm" 2>/dev/null)" = sleep ] && break
	sleep 0.1
done
[ -e "$SHM/hugepool.$EPID" ] && ok || fail "execpool published no file: $(cat "$W/exec.out")"
ctl stats "$EPID"
expect_fail 1 "process $EPID publishes no hugepool stats"
[ -e "$SHM/hugepool.$EPID" ] && fail "stale file of an exec'd process kept" || ok
kill -9 "$EPID"

# --- a file for a live pid that is not publishing (pid reuse) is ignored
sleep 30 &
SPID=$!
on_exit "kill $SPID"
head -c 4096 /dev/zero >"$SHM/hugepool.$SPID"
ctl stats "$SPID"
expect_fail 1 "process $SPID publishes no hugepool stats"
kill "$SPID"
rm -f "$SHM/hugepool.$SPID"

# --- fork: the child gets its own file ---------------------------------------
start_helper forkpool
for _ in $(seq 50); do grep -q '^child' "$W/out.$HPID" && break; sleep 0.1; done
CPID=$(awk '/^child/ {print $2}' "$W/out.$HPID")
if [ -z "$CPID" ]; then
	fail "no child line: $(cat "$W/out.$HPID")"
else
	on_exit "kill -9 $CPID"
	parent_want=$(sed -n 1p "$W/out.$HPID")
	child_want=$(grep -A1 '^child' "$W/out.$HPID" | tail -1)
	for _ in $(seq 50); do [ -f "$SHM/hugepool.$CPID" ] && break; sleep 0.1; done
	ctl stats "$HPID" --json
	expect_ok
	if msg=$(compare "$OUT" "$parent_want" 2>&1); then ok; else fail "parent after fork: $msg"; fi
	ctl stats "$CPID" --json
	expect_ok
	if msg=$(compare "$OUT" "$child_want" 2>&1); then ok; else fail "child: $msg"; fi
fi
kill -TERM "$HPID"
wait "$HPID" || fail "forkpool exit status $?"
[ -e "$SHM/hugepool.$HPID" ] && fail "parent file left" || ok
# the child _exit()s (no destructor): stats cleans its file
ctl stats --json >/dev/null
expect_ok
[ -n "$CPID" ] && [ -e "$SHM/hugepool.$CPID" ] && fail "child file left" || ok

# --- the seqlock: a writer thread refreshing as fast as it can, a reader
# through its own mapping (as stats reads): no read may be torn
run "$HELPER" seqlock 500
expect_ok
expect_out "^writes [1-9][0-9]* reads [1-9][0-9]* torn 0 "

ctl stats --help
expect_ok
