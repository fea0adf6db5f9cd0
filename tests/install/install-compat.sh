#!/bin/bash
# SPDX-License-Identifier: MIT
# Description: the libhugetlbfs compat library as installed (issue 16):
# `meson install` into a scratch prefix; a program using
# <hugepool/hugetlbfs.h> builds with `pkg-config hugepool-hugetlbfs` and
# runs; libhugepool-hugetlbfs.so and the stand-in carry libhugetlbfs's
# version nodes (VERS_1.0, HTLBFS_2.0, HTLBFS_2.1) and no hugepool_*; the
# stand-in is in $libdir/hugepool/compat, never in $libdir itself (Debian's
# libhugetlbfs0 owns libhugetlbfs.so.0 there).
set -euo pipefail
build=${HUGEPOOL_TEST_BUILDDIR:?}
dest=$(mktemp -d /tmp/hugepool-install-compat.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

DESTDIR=$dest meson install -C "$build" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name hugepool-hugetlbfs.pc | head -n 1)
[ -n "$pc" ] || fail "no hugepool-hugetlbfs.pc installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs hugepool-hugetlbfs)
echo "pkg-config: $flags"
[ -f "$dest$prefix/include/hugepool/hugetlbfs.h" ] || fail "hugetlbfs.h not installed"

cat > "$dest/sizes.c" <<'C'
#include <hugepool/hugetlbfs.h>
#include <stdio.h>
int main(void)
{
	long s[8];
	int n = getpagesizes(s, 8);

	printf("%d page sizes, base %ld, GHR_DEFAULT %#lx\n", n, n > 0 ? s[0] : 0L,
	       (unsigned long)GHR_DEFAULT);
	return n < 1;
}
C
# shellcheck disable=SC2086
cc -Wall -Werror -o "$dest/sizes" "$dest/sizes.c" $flags
lib=$(find "$dest" -name 'libhugepool-hugetlbfs.so' | head -n 1)
libdir=$(dirname "$lib")
out=$(LD_LIBRARY_PATH=$libdir "$dest/sizes")
echo "$out"
case $out in *"page sizes, base $(getconf PAGESIZE), GHR_DEFAULT 0x60000000") ;;
*) fail "unexpected output" ;; esac

standin=$libdir/hugepool/compat/libhugetlbfs.so.0
[ -f "$standin" ] || fail "no stand-in at $standin"
[ ! -e "$libdir/libhugetlbfs.so.0" ] || fail "libhugetlbfs.so.0 installed in $libdir"
for so in "$lib" "$standin"; do
	for node in VERS_1.0 HTLBFS_2.0 HTLBFS_2.1; do
		objdump -T "$so" | grep -q " $node  *$node\$" || fail "$so: no version node $node"
	done
	objdump -T "$so" | grep -q ' VERS_1.0  *gethugepagesize$' || fail "$so: gethugepagesize@VERS_1.0"
	objdump -T "$so" | grep -q ' HTLBFS_2.1  *get_hugepage_region$' ||
		fail "$so: get_hugepage_region@HTLBFS_2.1"
	! objdump -T "$so" | grep -q ' hugepool_' || fail "$so exports hugepool_*"
done
echo "install-compat: ok"
