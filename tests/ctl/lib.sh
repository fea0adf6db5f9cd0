# SPDX-License-Identifier: MIT
# lib.sh - sourced by the hugepool-ctl tests: the binaries under test,
# preconditions (skip with 77, or fail under HUGEPOOL_TEST_REQUIRE=1),
# assertions, and a snapshot of every kernel pool setting that is written
# back when the test exits, however it exits.
#
# Usage: source lib.sh "$@"   (args: hugepool-ctl path, ctl-helper path)

CTL=${1:?hugepool-ctl path}
HELPER=${2:-}
HP=/sys/kernel/mm/hugepages
NODES=/sys/devices/system/node
T=$(basename "$0" .sh)
FAILS=0
CHECKS=0
CLEANUPS=()

say() { printf '%s: %s\n' "$T" "$*"; }

skip() {
	if [ "${HUGEPOOL_TEST_REQUIRE:-0}" = 1 ]; then
		say "FAIL: precondition missing (HUGEPOOL_TEST_REQUIRE=1): $*"
		exit 1
	fi
	say "SKIP: $*"
	exit 77
}

fail() {
	say "FAIL: $*"
	FAILS=$((FAILS + 1))
}

ok() {
	CHECKS=$((CHECKS + 1))
}

check() {	# check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok; else fail "$what"; fi
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -d "$HP" ] || skip "no hugetlb support in this kernel"
}

need_size() {	# need_size hugepages-2048kB
	[ -d "$HP/$1" ] || skip "no $1 in this kernel"
}

# The start of a test that changes the 2 MiB pool: root, the size, and a
# snapshot of every setting (written back at exit); P is the size's sysfs
# directory. Call after lib.sh has defined take_snapshot (any time).
begin_2m() {
	need_root
	need_size hugepages-2048kB
	take_snapshot
	P=$HP/hugepages-2048kB
}

# 2 MiB pages that are free and not reserved by anyone
avail_2m() {
	echo $(($(cat "$P/free_hugepages") - $(cat "$P/resv_hugepages")))
}

# ------------------------------------------------------------------------
# running the tool: OUT, ERR, RC of the last run
# ------------------------------------------------------------------------
run() {
	local o e
	o=$(mktemp) e=$(mktemp)
	set +e
	"$@" >"$o" 2>"$e"
	RC=$?
	set -e
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	rm -f "$o" "$e"
}

ctl() { run "$CTL" "$@"; }

# expect_fail STATUS PATTERN: the last run failed with STATUS and exactly one
# line on stderr that matches PATTERN (extended regex)
expect_fail() {
	local want=$1 pat=$2 lines
	lines=$(printf '%s' "$ERR" | grep -c '' || true)
	if [ "$RC" != "$want" ]; then
		fail "exit status $RC, expected $want (stderr: $ERR)"
	elif [ "$lines" != 1 ]; then
		fail "expected one line on stderr, got $lines: $ERR"
	elif ! printf '%s' "$ERR" | grep -Eq -- "$pat"; then
		fail "stderr does not match /$pat/: $ERR"
	else
		ok
	fi
}

expect_ok() {
	if [ "$RC" != 0 ]; then
		fail "exit status $RC, expected 0 (stderr: $ERR)"
	else
		ok
	fi
}

expect_out() {	# expect_out PATTERN: stdout matches
	if printf '%s\n' "$OUT" | grep -Eq -- "$1"; then ok; else fail "stdout does not match /$1/: $OUT"; fi
}

expect_eq() {	# expect_eq WHAT GOT WANT
	if [ "$2" = "$3" ]; then ok; else fail "$1: got '$2', expected '$3'"; fi
}

rd() { cat "$1" 2>/dev/null || echo missing; }

# ------------------------------------------------------------------------
# kernel settings: snapshot now, write back at exit
# ------------------------------------------------------------------------
settings() {	# every pool setting, one "path=value" per line
	local d n
	for d in "$HP"/hugepages-*; do
		echo "$d/nr_hugepages=$(rd "$d/nr_hugepages")"
		echo "$d/nr_overcommit_hugepages=$(rd "$d/nr_overcommit_hugepages")"
	done
	for n in "$NODES"/node[0-9]*/hugepages/hugepages-*; do
		[ -d "$n" ] && echo "$n/nr_hugepages=$(rd "$n/nr_hugepages")"
	done
	return 0
}

SNAPSHOT=""
restore_settings() {
	local line path val
	[ -n "$SNAPSHOT" ] || return 0
	# totals first, then nodes (a total write spreads pages over nodes)
	while IFS= read -r line; do
		path=${line%=*} val=${line##*=}
		case $path in "$NODES"/*) continue ;; esac
		[ "$(rd "$path")" = "$val" ] || echo "$val" >"$path" 2>/dev/null || true
	done <<<"$SNAPSHOT"
	while IFS= read -r line; do
		path=${line%=*} val=${line##*=}
		case $path in "$NODES"/*) ;; *) continue ;; esac
		[ "$(rd "$path")" = "$val" ] || echo "$val" >"$path" 2>/dev/null || true
	done <<<"$SNAPSHOT"
}

finish() {
	local rc=$? c
	set +e
	for ((c = ${#CLEANUPS[@]} - 1; c >= 0; c--)); do
		eval "${CLEANUPS[c]}" >/dev/null 2>&1
	done
	restore_settings
	if [ -n "$SNAPSHOT" ] && [ "$(settings)" != "$SNAPSHOT" ]; then
		say "FAIL: kernel settings not restored:"
		diff <(echo "$SNAPSHOT") <(settings) | sed "s/^/$T:   /"
		FAILS=$((FAILS + 1))
	fi
	if [ "$rc" = 77 ] && [ "$FAILS" = 0 ]; then
		exit 77
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ "$FAILS" = 0 ]; then
		say "FAIL: aborted (status $rc)"
		exit 1
	fi
	if [ "$FAILS" != 0 ]; then
		say "$FAILS of $((CHECKS + FAILS)) checks failed"
		exit 1
	fi
	say "PASS ($CHECKS checks)"
	exit 0
}

take_snapshot() {
	SNAPSHOT=$(settings)
}

on_exit() {	# on_exit 'command': run at exit, last registered first
	CLEANUPS+=("$1")
}

trap finish EXIT
trap 'exit 130' INT TERM

# unchanged DESCRIPTION: the kernel settings still equal the snapshot
unchanged() {
	local now
	now=$(settings)
	if [ "$now" = "$SNAPSHOT" ]; then
		ok
	else
		fail "$1: kernel settings changed: $(diff <(echo "$SNAPSHOT") <(echo "$now") | grep '^[<>]' | tr '\n' ' ')"
	fi
}

# a copy of the tool that the nobody user can reach (the build tree may
# sit below a directory only root can enter)
nobody_ctl() {
	local d
	command -v setpriv >/dev/null || skip "setpriv not found"
	d=$(mktemp -d)
	chmod 755 "$d"
	cp "$CTL" "$d/hugepool-ctl"
	chmod 755 "$d/hugepool-ctl"
	on_exit "rm -rf '$d'"
	NOBODY_CTL="$d/hugepool-ctl"
}

as_nobody() {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$NOBODY_CTL" "$@"
}

# Start ctl-helper in MODE in the background (its work directory $W) and
# wait for its "ready" line: HPID, and its output in $W/out.$HPID. A helper
# that cannot make a pool is a skip (a failure under HUGEPOOL_TEST_REQUIRE).
start_helper() {	# start_helper MODE: HPID, output in $W/out.$HPID
	"$HELPER" "$1" 60 >"$W/out" 2>"$W/err" &
	HPID=$!
	on_exit "kill -9 $HPID"
	for _ in $(seq 100); do
		grep -q '^ready' "$W/out" 2>/dev/null && break
		kill -0 "$HPID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^ready' "$W/out"; then
		wait "$HPID" && st=0 || st=$?
		[ "$st" = 77 ] && skip "helper cannot create a pool: $(cat "$W/err")"
		fail "helper did not start (status $st): $(cat "$W/err")"
		exit 1
	fi
	mv "$W/out" "$W/out.$HPID"
}
