#!/bin/bash
# SPDX-License-Identifier: MIT
# segments.sh - HUGEPOOL_SEGMENTS and HUGEPOOL_SHM (issue 15), on real pages:
#  - seg-bss (64 MiB .bss, 4 MiB .data, linked as usual) and seg-text (2 MiB
#    segment alignment, 4 MiB of text around the functions an exception
#    crosses): the same output with the segments moved as without (data
#    and bss checksums, a C++ exception and backtrace() through the text, a
#    fork child that writes .bss and execs, threads); KernelPageSize 2048 kB
#    in smaps for what moved, 4 kB for what was not asked; the bytes moved
#    said at verbosity 2 and in the exit stats;
#  - gdb attaches to a process whose text moved and prints its backtrace;
#  - gcc's cc1 (20 MiB of text) compiles a file to the same assembly with
#    its text moved;
#  - the bad cases keep the program running with the same output and one
#    line: threads already running, HUGEPOOL_MAX too small, an unaligned
#    binary (nothing to move), a non-PIE binary (moves), a static PIE (no
#    preload at all; hugepool-ctl run says so);
#  - HUGEPOOL_SHM=1: the segment is on 2 MiB pages and its size rounded up;
#    as nobody (no hugetlb_shm_group) the kernel refuses, the program gets
#    base pages, counted and said once; no segment is left behind;
#  - hugepool-ctl segments reports the coverage of a binary.
set -euo pipefail
LIB=${HUGEPOOL_TEST_LIB:?}
B=${HUGEPOOL_TEST_DIR:?}
CTL=${HUGEPOOL_TEST_BUILDDIR:?}/tools/hugepool-ctl
THR=${HUGEPOOL_TEST_THREAD_LIB:?}
BIG=${HUGEPOOL_TEST_BIG_LIB:?}
unset HUGEPOOL_VERBOSE HUGEPOOL_STATS
fails=0 checks=0
ok() { checks=$((checks + 1)); }
fail() { echo "segments: FAIL: $*"; fails=$((fails + 1)); checks=$((checks + 1)); }
check() { if eval "$2"; then ok; else fail "$1"; fi; }

free_pages=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
if [ "$free_pages" -lt 40 ]; then
	if [ "${HUGEPOOL_TEST_REQUIRE:-0}" = 1 ]; then
		echo "segments: FAIL (HUGEPOOL_TEST_REQUIRE): $free_pages free 2 MiB pages, 40 needed"
		exit 1
	fi
	echo "SKIP: $free_pages free 2 MiB pages, 40 needed"
	exit 77
fi
TMP=$(mktemp -d)
shm_before=$(ipcs -m | grep -c '^0x' || true)
trap 'rm -rf "$TMP"' EXIT

# seg ENV... -- PROG ARGS: run with the preload; stdout in $OUT, stderr in $ERR
seg() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	set +e
	env LD_PRELOAD="$LIB" "${envs[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	set -e
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# same_output NAME ENV... -- PROG: the program's run gives the same stdout
# and status with the preload as without
same_output() {
	local name=$1 plain
	shift
	plain=$("${@: -1}" run)
	seg "$@" run
	check "$name: exit $RC" '[ "$RC" = 0 ]'
	check "$name: output differs: $OUT vs $plain" '[ "$OUT" = "$plain" ]'
	check "$name: child exec ran" 'grep -q "child exec ok" <<<"$OUT"'
	check "$name: exception through the text" 'grep -q "backtrace deep enough" <<<"$OUT"'
	check "$name: dlopen after the move" 'grep -q "dlopen: sqrt(2) = 1.414214" <<<"$OUT"'
}

# 1. the two programs, everything moved
for p in seg-bss seg-text; do
	same_output "$p all" HUGEPOOL_SEGMENTS=all HUGEPOOL_VERBOSE=2 HUGEPOOL_STATS=1 -- "$B/$p"
	check "$p: bss bytes said: $ERR" 'grep -Eq "seg-[a-z]+ bss: [1-9][0-9]* of [0-9]+ bytes moved to 2M pages" <<<"$ERR"'
	check "$p: stats line: $ERR" 'grep -Eq "^segments: text [0-9]+ of [0-9]+, data [1-9][0-9]* of [0-9]+, bss [1-9][0-9]* of" <<<"$ERR"'
	seg HUGEPOOL_SEGMENTS=all -- "$B/$p" where
	want="bss 2048 data 2048 text 4"
	[ $p = seg-text ] && want="bss 2048 data 2048 text 2048"
	check "$p: smaps says '$OUT', want '$want'" '[ "$OUT" = "$want" ]'
done
# named mappings, seen from outside: the process's own maps while it sleeps
env HUGEPOOL_SEGMENTS=all LD_PRELOAD="$LIB" "$B/seg-text" sleep >"$TMP/sleep" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q ready "$TMP/sleep" && break; sleep 0.05; done
check "maps names the moved text: $(grep hugepool /proc/$pid/maps || true)" \
	'grep -q "/memfd:hugepool:seg-text:text" /proc/$pid/maps'
check "maps names the moved data+bss" 'grep -Eq "/memfd:hugepool:seg-text:(data\+bss|bss)" /proc/$pid/maps'
if command -v gdb >/dev/null; then
	bt=$(timeout 120 gdb -q -p $pid -batch -ex bt 2>&1 || true)
	check "gdb attaches and backtraces through the moved text: $bt" 'grep -q "in main" <<<"$bt"'
elif [ "${HUGEPOOL_TEST_REQUIRE:-0}" = 1 ]; then
	fail "no gdb to attach with (scripts/lib.sh installs it)"
fi
kill $pid; wait $pid 2>/dev/null || true

# a shared library by pattern: its 16 MiB .bss moves, its pattern survives
# (its destructor checks) and the program's own segments move too
same_output "libs" HUGEPOOL_SEGMENTS=bss HUGEPOOL_SEGMENTS_LIBS='libseg-biglib*' \
	HUGEPOOL_VERBOSE=2 LD_PRELOAD="$LIB:$BIG" -- "$B/seg-bss"
check "libs: the library's bss moved: $(grep biglib <<<"$ERR" || true)" \
	'grep -Eq "libseg-biglib.so bss: [1-9][0-9]* of [0-9]+ bytes moved" <<<"$ERR"'
check "libs: libc and ld.so never move" '! grep -Eq "(libc.so|ld-linux)" <<<"$ERR"'

# 2. only what was asked
seg HUGEPOOL_SEGMENTS=bss -- "$B/seg-text" where
check "bss only: smaps says '$OUT'" '[ "$OUT" = "bss 2048 data 4 text 4" ]'
seg HUGEPOOL_SEGMENTS=text,data -- "$B/seg-text" where
check "text,data: smaps says '$OUT'" '[ "$OUT" = "bss 4 data 2048 text 2048" ]'
seg HUGEPOOL_SEGMENTS=none -- "$B/seg-text" where
check "none: smaps says '$OUT'" '[ "$OUT" = "bss 4 data 4 text 4" ]'

# 3. threads already running: one line, base pages, same output
same_output "threads first" HUGEPOOL_SEGMENTS=all LD_PRELOAD="$LIB:$THR" -- "$B/seg-bss"
seg HUGEPOOL_SEGMENTS=all LD_PRELOAD="$LIB:$THR" -- "$B/seg-bss" where
check "threads first: refused in one line: $ERR" '[ "$(grep -c "threads are 2 already" <<<"$ERR")" = 1 ]'
check "threads first: smaps says '$OUT'" '[ "$OUT" = "bss 4 data 4 text 4" ]'

# 4. the pool too small for them: HUGEPOOL_MAX
same_output "HUGEPOOL_MAX=4" HUGEPOOL_SEGMENTS=all HUGEPOOL_MAX=4 -- "$B/seg-bss"
seg HUGEPOOL_SEGMENTS=all HUGEPOOL_MAX=4 -- "$B/seg-bss" where
check "HUGEPOOL_MAX=4: said: $ERR" 'grep -q "HUGEPOOL_MAX allows 4: they stay on base pages" <<<"$ERR"'
check "HUGEPOOL_MAX=4: smaps says '$OUT'" '[ "$OUT" = "bss 4 data 4 text 4" ]'

# 5. unaligned: seg-bss's text has no whole 2 MiB page
seg HUGEPOOL_SEGMENTS=text HUGEPOOL_VERBOSE=2 -- "$B/seg-bss" where
check "unaligned text: nothing moves, and why: $ERR" 'grep -q "no whole 2048 KiB page inside" <<<"$ERR"'
check "unaligned text: smaps says '$OUT'" '[ "$OUT" = "bss 4 data 4 text 4" ]'

# 6. non-PIE moves like PIE; a static PIE has no preload
same_output "non-PIE" HUGEPOOL_SEGMENTS=all -- "$B/seg-nopie"
seg HUGEPOOL_SEGMENTS=all -- "$B/seg-nopie" where
check "non-PIE: smaps says '$OUT'" '[ "$OUT" = "bss 2048 data 2048 text 4" ]'
same_output "static-pie" HUGEPOOL_SEGMENTS=all -- "$B/seg-static"
seg HUGEPOOL_SEGMENTS=all -- "$B/seg-static" where
check "static-pie: smaps says '$OUT'" '[ "$OUT" = "bss 4 data 4 text 4" ]'
set +e
err=$("$CTL" run --bss -- "$B/seg-static" where 2>&1 >/dev/null)
set -e
check "ctl run on a static binary says so: $err" 'grep -q "statically linked" <<<"$err"'

# 7. a real program: gcc's cc1 (non-PIE, 20 MiB of text) with its text moved
if command -v gcc >/dev/null && [ -n "$(gcc -print-prog-name=cc1)" ]; then
	src=${HUGEPOOL_TEST_SRCDIR:?}/lib/pool.c
	inc="-I${HUGEPOOL_TEST_SRCDIR}/include -I${HUGEPOOL_TEST_BUILDDIR} -I${HUGEPOOL_TEST_SRCDIR}/lib"
	plain=$(gcc -O2 -S -o - $inc "$src")
	seg HUGEPOOL_SEGMENTS=text HUGEPOOL_VERBOSE=2 -- gcc -O2 -S -o - $inc "$src"
	check "cc1: same assembly" '[ "$RC" = 0 ] && [ "$OUT" = "$plain" ]'
	check "cc1: text moved: $(grep cc1 <<<"$ERR" || true)" 'grep -Eq "cc1 text: [1-9][0-9]* of [0-9]+ bytes moved" <<<"$ERR"'
fi

# 8. SysV shm
plain=$("$B/seg-shm")
seg HUGEPOOL_SHM=1 HUGEPOOL_STATS=1 -- "$B/seg-shm" where
check "shm: same data" '[ "$(head -1 <<<"$OUT")" = "$plain" ]'
check "shm: on 2 MiB pages, rounded up: $OUT" 'grep -q "shm page 2048 kB, segment 4194304 bytes" <<<"$OUT"'
check "shm: counted: $ERR" 'grep -q "shm: 1 SysV segments on huge pages, 0 shm fallbacks" <<<"$ERR"'
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ "$(cat /proc/sys/vm/hugetlb_shm_group)" = 0 ]; then
	cp "$B/seg-shm" "$LIB" "$TMP/" && chmod -R a+rX "$TMP"
	seg HUGEPOOL_SHM=1 HUGEPOOL_STATS=1 -- setpriv --reuid nobody --regid nogroup --clear-groups \
		env LD_PRELOAD="$TMP/$(basename "$LIB")" "$TMP/seg-shm" where
	check "shm as nobody: runs on base pages: $OUT" 'grep -q "shm page 4 kB, segment 3145828 bytes" <<<"$OUT"'
	check "shm as nobody: said once: $ERR" '[ "$(grep -c "not in vm.hugetlb_shm_group" <<<"$ERR")" = 1 ]'
	check "shm as nobody: counted" 'grep -q "0 SysV segments on huge pages, 1 shm fallbacks" <<<"$ERR"'
fi
# PostgreSQL with shared_memory_type=sysv, as nobody with CAP_IPC_LOCK
# (which lets it have SHM_HUGETLB segments): its main segment on 2 MiB
# pages, a query answered, nothing left behind at shutdown. Only where a
# PostgreSQL server is installed (CI does not install one).
PG=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1 || true)
if [ -n "$PG" ] && [ -x "$PG/postgres" ] && [ "$(id -u)" = 0 ]; then
	PGD=$TMP/pg
	mkdir -p "$PGD" && cp "$LIB" "$PGD/libhp.so" && chown -R nobody "$PGD" && chmod -R a+rX "$TMP"
	as_nobody=(setpriv --reuid nobody --regid nogroup --clear-groups --inh-caps +ipc_lock
		   --ambient-caps +ipc_lock)
	"${as_nobody[@]}" "$PG/initdb" -D "$PGD/data" -A trust -U postgres --no-sync >/dev/null 2>&1
	"${as_nobody[@]}" env LD_PRELOAD="$PGD/libhp.so" HUGEPOOL_SHM=1 HUGEPOOL_VERBOSE=2 \
		"$PG/postgres" -D "$PGD/data" -c shared_memory_type=sysv -c shared_buffers=64MB \
		-c listen_addresses= -c unix_socket_directories="$PGD" >"$PGD/log" 2>&1 &
	for _ in $(seq 100); do [ -S "$PGD/.s.PGSQL.5432" ] && break; sleep 0.1; done
	pgpid=$(head -1 "$PGD/data/postmaster.pid" 2>/dev/null || echo 0)
	got=$("$PG/psql" -h "$PGD" -U postgres -Atc "select sum(x) from generate_series(1, 1000) x" 2>&1 || true)
	check "postgres: a query: $got" '[ "$got" = 500500 ]'
	check "postgres: its SysV segment on 2 MiB pages" \
		'grep -A4 "/SYSV" /proc/$pgpid/smaps | grep -q "KernelPageSize: *2048 kB"'
	check "postgres: said at verbosity 2: $(grep hugepool "$PGD/log" || true)" \
		'grep -q "shmget: [0-9]* bytes on 2048 KiB pages" "$PGD/log"'
	kill -INT "$pgpid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pgpid" 2>/dev/null || break; sleep 0.1; done
fi
check "no shm segment left behind" '[ "$(ipcs -m | grep -c "^0x" || true)" = "$shm_before" ]'

# 9. the report
rep=$("$CTL" segments "$B/seg-text")
check "ctl segments: text covered: $rep" 'grep -Eq "^ *text .* 4194304 " <<<"$rep"'
check "ctl segments: bss covered" 'grep -Eq "^ *bss .* 6710" <<<"$rep"'
dry=$("$CTL" run --text --data --bss --shm --dry-run -- true)
check "ctl run --text --data --bss --shm: $dry" 'grep -q "HUGEPOOL_SEGMENTS=text,data,bss HUGEPOOL_SHM=1" <<<"$dry"'

echo "segments: $checks checks, $fails failed"
[ "$fails" = 0 ]
