#!/bin/sh
# SPDX-License-Identifier: MIT
# symbols.sh - the dynamic symbols libhugepool.so defines must be exactly the
# golden list (pitfalls item 1): the malloc family for LD_PRELOAD, never a
# __libc_* name (we call glibc's; defining them would make us call ourselves),
# never reallocarray, strdup or operator new/delete (glibc's and libstdc++'s
# call our malloc), plus the hugepool_* API. The library must use static TLS
# (initial-exec, pitfall 6) and reach glibc through __libc_malloc and friends.
#
# usage: symbols.sh LIBRARY GOLDEN
# After adding an API function: nm -D --defined-only LIBRARY | awk '{print $NF}'
# | sort > tests/preload/symbols.golden, and review the diff.
set -u
lib=$1
golden=$2
fail=0

if ! command -v nm >/dev/null || ! command -v readelf >/dev/null; then
	echo "nm/readelf (binutils) not found"
	if [ "${HUGEPOOL_TEST_REQUIRE:-0}" != 0 ]; then exit 1; fi
	exit 77
fi

actual=$(nm -D --defined-only "$lib" | awk '{print $NF}' | LC_ALL=C sort)
expected=$(grep -v '^#' "$golden" | LC_ALL=C sort)
if [ "$actual" != "$expected" ]; then
	echo "exported symbols differ from $golden (- golden, + library):"
	printf '%s\n' "$expected" > "${TMPDIR:-/tmp}/hp-sym-exp.$$"
	printf '%s\n' "$actual" > "${TMPDIR:-/tmp}/hp-sym-act.$$"
	diff -u "${TMPDIR:-/tmp}/hp-sym-exp.$$" "${TMPDIR:-/tmp}/hp-sym-act.$$" | tail -n +3
	rm -f "${TMPDIR:-/tmp}/hp-sym-exp.$$" "${TMPDIR:-/tmp}/hp-sym-act.$$"
	fail=1
fi

# the malloc family must be unversioned definitions: a malloc@@VERSION does
# not satisfy programs' malloc@GLIBC_2.2.5 references
for s in malloc free calloc realloc posix_memalign aligned_alloc memalign valloc \
	 pvalloc malloc_usable_size; do
	line=$(nm -D --defined-only --with-symbol-versions "$lib" | awk -v s="$s" '$3 == s || $3 ~ "^"s"@"')
	case "$line" in
	*" T $s"|*" T $s@@"|*" T $s@") ;;
	*) echo "malloc family: '$s' is not an unversioned text symbol: '$line'"; fail=1 ;;
	esac
	case "$line" in
	*@@*|*@[A-Z]*) echo "malloc family: '$s' is versioned: '$line'"; fail=1 ;;
	esac
done

if nm -D --defined-only "$lib" | awk '{print $NF}' | grep -Eq '^(__libc_|reallocarray$|strdup$|_Zn|_Zd|mallopt$|malloc_trim$|mallinfo|malloc_stats$|malloc_info$|cfree$)'; then
	echo "defines a name it must leave to glibc or libstdc++:"
	nm -D --defined-only "$lib" | awk '{print $NF}' | grep -E '^(__libc_|reallocarray$|strdup$|_Zn|_Zd|mallopt$|malloc_trim$|mallinfo|malloc_stats$|malloc_info$|cfree$)'
	fail=1
fi

for s in __libc_malloc __libc_free __libc_calloc __libc_realloc __libc_memalign; do
	if ! nm -D --undefined-only "$lib" | awk '{print $NF}' | grep -q "^$s\(@\|$\)"; then
		echo "does not call glibc's $s"
		fail=1
	fi
done

if ! readelf -d "$lib" | grep -q 'STATIC_TLS'; then
	echo "no STATIC_TLS flag: the TLS model is not initial-exec"
	fail=1
fi
# dlopen needs the static TLS block to fit glibc's surplus (512 bytes spare
# for optional static TLS in 2.36)
tls=$(readelf -lW "$lib" | awk '$1 == "TLS" {print $6}')
if [ -n "$tls" ] && [ $((tls)) -gt 256 ]; then
	echo "TLS segment is $((tls)) bytes: too big for dlopen's surplus static TLS"
	fail=1
fi

if [ $fail = 0 ]; then
	echo "PASS: $(echo "$actual" | wc -l) exported symbols match; unversioned malloc family; STATIC_TLS (TLS ${tls:-0} bytes)"
fi
exit $fail
