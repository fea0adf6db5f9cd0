#!/bin/bash
# SPDX-License-Identifier: MIT
# env-load.sh - the HUGEPOOL_* environment is checked when the library
# loads (issue 17): each bad value, and each HUGEPOOL_* name that is not
# the library's, is one line on stderr at once, in a program that makes no
# large allocation (true) and, only once, in one that does (dd with a 4 MiB
# buffer); a node list is refused before libnuma sees it (no line of
# libnuma's); a good environment prints nothing.
set -euo pipefail
LIB=${HUGEPOOL_TEST_LIB:?}
unset HUGEPOOL_VERBOSE
fails=0 checks=0
fail() { echo "env-load: FAIL: $*"; fails=$((fails + 1)); }

# lines ENV...: run true, then dd, with ENV and the preload; LINES_TRUE and
# LINES_DD are their stderr line counts, ERR_TRUE/ERR_DD the text
lines() {
	ERR_TRUE=$(env "$@" LD_PRELOAD="$LIB" true 2>&1 >/dev/null)
	ERR_DD=$(env "$@" LD_PRELOAD="$LIB" dd if=/dev/zero of=/dev/null bs=4M count=4 \
		status=none 2>&1 >/dev/null)
	LINES_TRUE=$(printf '%s' "$ERR_TRUE" | grep -c '' || true)
	LINES_DD=$(printf '%s' "$ERR_DD" | grep -c '' || true)
}

for bad in HUGEPOOL_MIN=banana HUGEPOOL_MAX=-1 HUGEPOOL_PUBLISH=maybe HUGEPOOL_NODES=7 \
	   HUGEPOOL_NODES=0- HUGEPOOL_NODES=99 HUGEPOOL_NODES=x HUGEPOOL_THRESHOLD=12abc \
	   HUGEPOOL_STATS=xml HUGEPOOL_MALLOC=perhaps HUGEPOOL_DECAY_MS=soon \
	   HUGEPOOL_PAGE_SIZE=3M HUGEPOOL_POLICY=random HUGEPOOL_FALLBACK=2 \
	   HUGEPOOL_SEGMENTS=text,heap HUGEPOOL_SEGMENTS=, HUGEPOOL_SHM=maybe \
	   HUGEPOOL_VERBOSE=9 HUGEPOOL_PUBLISH_DIR=relative HUGEPOOL_TRESHOLD=1M; do
	name=${bad%%=*}
	lines "$bad"
	checks=$((checks + 1))
	if [ "$LINES_TRUE" != 1 ] || ! printf '%s' "$ERR_TRUE" | grep -q "^hugepool: warning: $name"; then
		fail "$bad at load: expected one line naming $name, got $LINES_TRUE: $ERR_TRUE"
	elif [ "$LINES_DD" != 1 ]; then
		fail "$bad with a large allocation: expected the one line, got $LINES_DD: $ERR_DD"
	else
		echo "env-load: $bad -> $ERR_TRUE"
	fi
done

# two bad values: one line each
lines HUGEPOOL_MIN=banana HUGEPOOL_NODES=7
checks=$((checks + 1))
[ "$LINES_TRUE" = 2 ] && [ "$LINES_DD" = 2 ] ||
	fail "two bad values: $LINES_TRUE and $LINES_DD lines: $ERR_TRUE / $ERR_DD"

# a good environment: nothing at all
lines HUGEPOOL_MIN=2 HUGEPOOL_MAX=1G HUGEPOOL_NODES=0 HUGEPOOL_POLICY=preferred \
	HUGEPOOL_THRESHOLD=1M HUGEPOOL_DECAY_MS=-1 HUGEPOOL_PUBLISH=0 HUGEPOOL_FALLBACK=yes \
	HUGEPOOL_STATS=0 HUGEPOOL_PAGE_SIZE=2M HUGEPOOL_PUBLISH_DIR=/dev/shm HUGEPOOL_NODES=all \
	HUGEPOOL_SEGMENTS=text,bss HUGEPOOL_SHM=1 HUGEPOOL_SEGMENTS_LIBS="*libz*" \
	HUGEPOOL_CTL_ROOT=/ HUGEPOOL_PRELOAD_LIB=x HUGEPOOL_TEST_X=1
checks=$((checks + 1))
[ -z "$ERR_TRUE" ] && [ -z "$ERR_DD" ] || fail "a good environment printed: $ERR_TRUE $ERR_DD"

if [ "$fails" != 0 ]; then
	echo "env-load: $fails of $checks checks failed"
	exit 1
fi
echo "env-load: PASS ($checks checks)"
