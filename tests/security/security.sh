#!/bin/bash
# SPDX-License-Identifier: MIT
# security.sh - the attacks of issue 12, run as an unprivileged user made
# for the test (useradd; removed at exit, however the test ends), and the
# nobody user as a second victim. Each attack must fail, and its victim
# (process, file, pool, hugepool-ctl) must be intact:
#   1  rewriting and truncating the stats file of a setgid process, and
#      of a process of one's own (the writer takes no layout from it)
#   2  HUGEPOOL_* in a setuid-root program (AT_SECURE: all ignored)
#   3  a symlink, or a file of one's own, as root's HUGEPOOL_STATS_FILE
#   5  an installed hugepool-ctl made to preload the build tree's library
#   6  a hostile stats file under `hugepool-ctl stats` (root), 100 runs
#   7  terminal escapes in the names `stats` prints
#   8  squatting the publication names of another user (nobody)
#   9  reading another user's stats; files of killed processes
#  10  stats that are stale after a burst (not an attack; same code)
# Finding 4 (region_fd) is tested with the page engine.
#
# Usage: security.sh HUGEPOOL-CTL SEC-VICTIM LIBHUGEPOOL.so SEC-LINKED
set -euo pipefail
LIB=$(realpath "${3:?libhugepool.so path}")
LINKED=$(realpath "${4:?sec-linked path}")
source "$(dirname "$0")/../ctl/lib.sh" "$1" "$2"
T=security

need_root
need_size hugepages-2048kB
take_snapshot
P=$HP/hugepages-2048kB
free=$(($(cat "$P/free_hugepages") - $(cat "$P/resv_hugepages")))
[ "$free" -ge 24 ] || skip "fewer than 24 free 2M pages"
for c in useradd userdel setpriv; do
	command -v "$c" >/dev/null || skip "$c not found"
done
# the system's python: the test user cannot reach root's own installs
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no /usr/bin/python3"
base_free=$(cat "$P/free_hugepages")

# --- the test user ------------------------------------------------------
U_NAME=hpsec$$
useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$U_NAME" ||
	skip "cannot create a test user"
U=$(id -u "$U_NAME")
G=$(id -g "$U_NAME")
# at exit: whatever still runs as the test user (it exists only for this
# test), then the user; userdel refuses a user with live processes
on_exit "pkill -KILL -U $U; sleep 0.2; userdel -f '$U_NAME'; groupdel '$U_NAME' 2>/dev/null"
NOBODY=65534
as_user() { setpriv --reuid="$U" --regid="$G" --clear-groups --inh-caps=-all "$@"; }
as_nobody_run() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=-all "$@"; }

# --- a work area everyone can reach, and a private /dev/shm of our own -----
W=$(mktemp -d)
chmod 755 "$W"
on_exit "rm -rf '$W'"
BASE=$(mktemp -d /dev/shm/hp-sec.XXXXXX)
chmod 1777 "$BASE"	# like /dev/shm itself
on_exit "rm -rf '$BASE'"
export HUGEPOOL_PUBLISH_DIR=$BASE
unset HUGEPOOL_VERBOSE HUGEPOOL_STATS HUGEPOOL_STATS_FILE HUGEPOOL_MALLOC
cp "$HELPER" "$W/victim"
chmod 755 "$W/victim"
cp "$W/victim" "$W/victim-setgid"
chgrp root "$W/victim-setgid"
chmod 2755 "$W/victim-setgid"
cp "$W/victim" "$W/victim-setuid"
chmod 4755 "$W/victim-setuid"
cp "$LINKED" "$W/linked"
chmod 755 "$W/linked"
cp "$W/linked" "$W/linked-setuid"
chmod 4755 "$W/linked-setuid"
CTLC=$W/hugepool-ctl	# the tool, reachable by the test user
cp "$CTL" "$CTLC"
chmod 755 "$CTLC"

signaled() { [ "$1" -ge 128 ]; }

# start_bg NAME CMD...: run in the background, wait for its "ready PID" line;
# BG_JOB is the job (wait for it), BG_PID the victim's own pid (signal it:
# the job may be a subshell around setpriv)
start_bg() {
	local name=$1 line
	shift
	"$@" >"$W/$name.out" 2>"$W/$name.err" &
	BG_JOB=$!
	on_exit "kill -9 $BG_JOB"
	for _ in $(seq 100); do
		grep -q '^ready' "$W/$name.out" 2>/dev/null && break
		kill -0 "$BG_JOB" 2>/dev/null || break
		sleep 0.1
	done
	line=$(grep '^ready' "$W/$name.out" || true)
	if [ -z "$line" ]; then
		wait "$BG_JOB" && st=0 || st=$?
		[ "$st" = 77 ] && skip "$name: the victim cannot make a pool: $(cat "$W/$name.err")"
		fail "$name: victim did not start (status $st): $(cat "$W/$name.err")"
		return 1
	fi
	BG_PID=$(awk '/^ready/ {print $2}' "$W/$name.out")
	on_exit "kill_victim $BG_PID"
}

# kill -9 pid, if it is still one of our victims (not a reused pid)
kill_victim() {
	case $(readlink "/proc/$1/exe" 2>/dev/null) in
	"$W"/*) kill -9 "$1" ;;
	esac
}

# --- 1. the stats file of a setgid process ----------------------------------
say "1: rewriting and truncating the stats file of a setgid victim"
start_bg f1 as_user "$W/victim-setgid" pub 3
attacked=0
for _ in $(seq 20); do
	for f in "$BASE/hugepool-$U/hugepool.$BG_PID" "/dev/shm/hugepool-$U/hugepool.$BG_PID" \
		 "/dev/shm/hugepool.$BG_PID"; do
		if [ -e "$f" ]; then
			as_user "$PY" -c "
import os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, struct.pack('<I', 0x10000000), 12)
os.ftruncate(fd, 0)" "$f" 2>/dev/null && attacked=$((attacked + 1))
		fi
	done
	sleep 0.1
done
wait "$BG_JOB" && st=0 || st=$?
if [ "$st" = 0 ] && grep -q '^intact' "$W/f1.out"; then ok; else
	fail "setgid victim: status $st (signal $((st > 128 ? st - 128 : 0))): $(cat "$W/f1.out" "$W/f1.err")"
fi
# AT_SECURE: it publishes nothing (its file would be the caller's to truncate)
expect_eq "files the attacker could reach in the setgid victim" "$attacked" 0

say "1: rewriting header_size in the file of one's own process"
start_bg f1b as_user "$W/victim" pub 3
f=$BASE/hugepool-$U/hugepool.$BG_PID
got=$(as_user "$PY" -c "
import os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, struct.pack('<I', 0x10000000), 12)
print(struct.unpack('<I', os.pread(fd, 4, 12))[0])" "$f" 2>&1 || true)
expect_eq "header_size planted" "$got" "$((0x10000000))"
wait "$BG_JOB" && st=0 || st=$?
if [ "$st" = 0 ] && grep -q '^intact' "$W/f1b.out"; then ok; else
	fail "victim after header_size=0x10000000: status $st: $(cat "$W/f1b.out" "$W/f1b.err")"
fi

# --- 2. HUGEPOOL_* in a setuid-root program ---------------------------------
say "2: HUGEPOOL_* in a setuid-root program"
mkdir "$W/f2"
chown "$U" "$W/f2"
run as_user env HUGEPOOL_MALLOC=1 HUGEPOOL_VERBOSE=4 HUGEPOOL_STATS=text \
	HUGEPOOL_STATS_FILE="$W/f2/stats" HUGEPOOL_PUBLISH=banana HUGEPOOL_BOGUS=1 \
	"$W/victim-setuid" env
expect_ok
expect_out "^secure=1 verbose=1 stats=0 malloc_mode=-1 publish=1 stats_file=- threshold=262144 malloc=glibc$"
expect_eq "setuid victim's stderr" "$ERR" ""
[ -e "$W/f2/stats" ] && fail "a stats file was written under AT_SECURE" || ok
# the same program, not setuid: the environment counts (the test can fail)
run as_user env HUGEPOOL_MALLOC=1 HUGEPOOL_VERBOSE=4 HUGEPOOL_STATS=text "$W/victim" env
expect_ok
expect_out "^secure=0 verbose=4 stats=1 malloc_mode=1 "
# a program linked with libhugepool.so: malloc, messages and stats at exit
run as_user env HUGEPOOL_MALLOC=1 HUGEPOOL_VERBOSE=4 HUGEPOOL_STATS=text \
	HUGEPOOL_STATS_FILE="$W/f2/stats" "$W/linked-setuid"
expect_ok
expect_out "^malloc=glibc$"
expect_eq "setuid linked program's stderr" "$ERR" ""
[ -e "$W/f2/stats" ] && fail "a stats file was written under AT_SECURE" || ok
run as_user env HUGEPOOL_MALLOC=1 HUGEPOOL_VERBOSE=4 HUGEPOOL_STATS=text "$W/linked"
expect_ok
expect_out "^malloc=pool$"
printf '%s\n' "$ERR" | grep -q '^hugepool: ' && ok || fail "no messages without AT_SECURE: $ERR"

# --- 3. HUGEPOOL_STATS_FILE ---------------------------------------------------
say "3: a planted symlink, or a file of the attacker's, as root's stats file"
D=$W/f3
mkdir "$D"
chown "$U:$G" "$D"	# a directory the attacker controls (no sticky-bit protection)
printf 'secret\n' >"$W/root-secret"
chmod 600 "$W/root-secret"
sum=$(sha256sum <"$W/root-secret")
as_user ln -s "$W/root-secret" "$D/svc.json"
run env HUGEPOOL_MALLOC=1 HUGEPOOL_STATS=json HUGEPOOL_STATS_FILE="$D/svc.json" "$W/linked"
expect_ok
expect_eq "root's file after the symlink attack" "$(sha256sum <"$W/root-secret")" "$sum"
expect_eq "our lines on stderr" "$(printf '%s\n' "$ERR" | grep -c '^hugepool: ')" 1
printf '%s\n' "$ERR" | grep -q '^hugepool: cannot open HUGEPOOL_STATS_FILE=.*symbolic link' && ok ||
	fail "no one-line refusal of the symlink: $ERR"
printf '%s\n' "$ERR" | grep -q '"pools"' && ok || fail "the stats did not go to stderr: $ERR"
as_user touch "$D/own.json"
run env HUGEPOOL_MALLOC=1 HUGEPOOL_STATS=json HUGEPOOL_STATS_FILE="$D/own.json" "$W/linked"
expect_ok
expect_eq "attacker's file after root's run" "$(stat -c %s "$D/own.json")" 0
printf '%s\n' "$ERR" | grep -q "^hugepool: refusing HUGEPOOL_STATS_FILE=.*owned by uid $U" && ok ||
	fail "no one-line refusal of another user's file: $ERR"
# root's own new file: written, 0600
run env HUGEPOOL_MALLOC=1 HUGEPOOL_STATS=json HUGEPOOL_STATS_FILE="$W/root-%p.json" "$W/linked"
expect_ok
f=$(ls "$W"/root-*.json 2>/dev/null | head -1)
[ -n "$f" ] && grep -q '"pools"' "$f" && ok || fail "root's own stats file not written"
[ -n "$f" ] && expect_eq "stats file mode" "$(stat -c %a "$f")" 600

# --- 5. hugepool-ctl run and the build tree ----------------------------------
say "5: an installed hugepool-ctl and the build tree's library"
BUILD_LIB=$(dirname "$LIB")
mkdir -p "$W/inst/sbin" "$W/inst/lib"
cp "$CTL" "$W/inst/sbin/hugepool-ctl"
run "$W/inst/sbin/hugepool-ctl" run --dry-run -- true
if printf '%s\n%s\n' "$OUT" "$ERR" | grep -qF "$BUILD_LIB/"; then
	fail "the installed copy preloads the build tree's library: $OUT"
else
	ok
fi
# the build tree's own binary still finds it (the fallback is only its)
run "$CTL" run --dry-run -- true
expect_ok
expect_out "LD_PRELOAD=$(realpath "$BUILD_LIB")/libhugepool.so"
# named explicitly: used
run "$W/inst/sbin/hugepool-ctl" run --library "$LIB" --dry-run -- true
expect_ok
expect_out "LD_PRELOAD=$LIB true"
run env HUGEPOOL_PRELOAD_LIB="$LIB" "$W/inst/sbin/hugepool-ctl" run --dry-run -- true
expect_ok
expect_out "LD_PRELOAD=$LIB true"
# found next to the binary but writable by others: refused
cp "$LIB" "$W/inst/lib/libhugepool.so"
chmod 666 "$W/inst/lib/libhugepool.so"
run "$W/inst/sbin/hugepool-ctl" run --dry-run -- true
if printf '%s\n' "$OUT" | grep -qF "$W/inst/lib/libhugepool.so"; then
	fail "a world-writable library was preloaded: $OUT"
else
	ok
fi
printf '%s\n' "$ERR" | grep -q "ignoring $W/inst/lib/libhugepool.so" && ok ||
	fail "no warning about the writable library: $ERR"
chmod 644 "$W/inst/lib/libhugepool.so"
run "$W/inst/sbin/hugepool-ctl" run --dry-run -- true
expect_ok
expect_out "LD_PRELOAD=$W/inst/lib/libhugepool.so true"

# --- 6 and 7. a hostile stats file under hugepool-ctl stats --------------------
say "6, 7: hugepool-ctl stats against a file rewritten and truncated under it"
start_bg f6 as_user "$W/victim" hostile 15
crashes=0 raw=0 escaped=0 runs=0
for i in $(seq 100); do
	case $((i % 3)) in
	0) args=(stats) ;;
	1) args=(stats "$BG_PID") ;;
	*) args=(stats --json) ;;
	esac
	run "$CTL" "${args[@]}"
	runs=$((runs + 1))
	if signaled "$RC"; then
		crashes=$((crashes + 1))
		say "  stats ${args[*]}: status $RC"
	fi
	case $OUT in *$'\e'*|*$'\a'*) raw=$((raw + 1)) ;; esac
	case $OUT in *'\x1b]0;pwned\x07'*) escaped=$((escaped + 1)) ;; esac
done
kill "$BG_PID" 2>/dev/null || true
wait "$BG_JOB" 2>/dev/null || true
expect_eq "stats runs that died of a signal (of $runs)" "$crashes" 0
expect_eq "stats outputs with raw escape bytes" "$raw" 0
[ "$escaped" -gt 0 ] && ok || fail "the hostile process was never shown (escaped) in $runs runs"

# --- 8. squatting -------------------------------------------------------------
say "8: squatting another user's publication names"
# the old attack (files for the next pids), and the new names: the
# victim's directory made first, as a directory and as a symlink
next=$(cat /proc/sys/kernel/ns_last_pid)
as_user bash -c "for p in \$(seq $((next + 1)) $((next + 300))); do : >'$BASE/hugepool.'\$p; done"
as_user mkdir -m 777 "$BASE/hugepool-$NOBODY"
start_bg f8 as_nobody_run "$W/victim" pub 2
run "$CTL" stats "$BG_PID" --json
expect_ok
printf '%s' "$OUT" | grep -q "\"pid\":$BG_PID" && ok ||
	fail "root does not see the squatted user's pool: $OUT $ERR"
[ -z "$(find "$BASE/hugepool-$NOBODY" -mindepth 1 2>/dev/null)" ] && ok ||
	fail "the victim published into the squatter's directory"
wait "$BG_JOB" && st=0 || st=$?
expect_eq "squatted victim's status" "$st" 0
[ -z "$(ls -d "$BASE/hugepool-$NOBODY".* 2>/dev/null)" ] && ok ||
	fail "fallback directory left after exit: $(ls -d "$BASE/hugepool-$NOBODY".*)"
rm -rf "$BASE/hugepool-$NOBODY"
as_user ln -s /tmp "$BASE/hugepool-$NOBODY"
start_bg f8b as_nobody_run "$W/victim" pub 2
run "$CTL" stats "$BG_PID" --json
printf '%s' "$OUT" | grep -q "\"pid\":$BG_PID" && ok ||
	fail "symlink squat: root does not see the pool: $OUT $ERR"
wait "$BG_JOB" || fail "symlink-squatted victim failed"
rm -f "$BASE/hugepool-$NOBODY" "$BASE"/hugepool.[0-9]*

# --- 9. privacy and stale files ----------------------------------------------
say "9: another user's stats; files of killed processes"
start_bg f9 as_nobody_run "$W/victim" pub 4
VP=$BG_PID VJ=$BG_JOB
f=$BASE/hugepool-$NOBODY/hugepool.$VP
expect_eq "file mode" "$(stat -c %a:%u "$f")" "600:$NOBODY"
expect_eq "directory mode" "$(stat -c %a:%u "$(dirname "$f")")" "700:$NOBODY"
as_user cat "$f" >/dev/null 2>&1 && fail "the attacker read another user's stats file" || ok
run as_user "$CTLC" stats --json
expect_ok
printf '%s' "$OUT" | grep -q "\"pid\":$VP" && fail "a user sees another user's process" || ok
run as_user "$CTLC" stats "$VP"
[ "$RC" = 1 ] && ok || fail "stats of another user's pid: status $RC"
run "$CTL" stats --json
printf '%s' "$OUT" | grep -q "\"pid\":$VP" && ok || fail "root does not see nobody's process: $OUT"
run as_nobody_run "$CTLC" stats --json
printf '%s' "$OUT" | grep -q "\"pid\":$VP" && ok || fail "a user does not see their own process: $OUT $ERR"
wait "$VJ" || fail "nobody's victim failed"
# SIGKILL leaves a file; the user's next publishing process removes it
start_bg f9b as_user "$W/victim" pub 30
kill_victim "$BG_PID"
wait "$BG_JOB" 2>/dev/null || true
dead=$BASE/hugepool-$U/hugepool.$BG_PID
[ -e "$dead" ] && ok || fail "expected a file left by SIGKILL"
start_bg f9c as_user "$W/victim" pub 1
[ -e "$dead" ] && fail "the next process did not remove the stale file" || ok
wait "$BG_JOB" || fail "second victim failed"

# --- 10. stale stats ------------------------------------------------------------
say "10: the last change is published"
start_bg f10 "$W/victim" stale
sleep 1.5
run "$CTL" stats "$BG_PID" --json
expect_ok
want=$(grep '^ready' "$W/f10.out")
got=$(printf '%s' "$OUT" | "$PY" -c '
import json, sys
p = json.load(sys.stdin)["pools"][0]
print("nr_pages=%d bytes_in_use=%d allocs=%d" % (p["nr_pages"], p["bytes_in_use"], p["allocs"]))')
expect_eq "published counters" "$got" "${want#ready $BG_PID }"
run "$CTL" stats "$BG_PID"
expect_out "AGE$"
expect_out "^$BG_PID .* [0-9]+(ms|s)$"
kill_victim "$BG_PID"
wait "$BG_JOB" 2>/dev/null || true
run "$CTL" stats	# removes the killed process's file
[ -e "$BASE/hugepool-0/hugepool.$BG_PID" ] && fail "stats left a dead process's file" || ok

# --- the machine's pages are all back ------------------------------------------
for _ in $(seq 50); do
	[ "$(cat "$P/free_hugepages")" = "$base_free" ] && break
	sleep 0.1
done
expect_eq "free 2M pages at the end" "$(cat "$P/free_hugepages")" "$base_free"
unchanged "after the attacks"
