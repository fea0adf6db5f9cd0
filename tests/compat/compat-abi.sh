#!/bin/bash
# SPDX-License-Identifier: MIT
# compat-abi.sh PROG STANDIN DEBIAN_LIB - the libhugetlbfs.so.0 stand-in
# against Debian's libhugetlbfs.so.0 (package libhugetlbfs0):
#  - every versioned symbol Debian's exports (but its test-only __tp_*) is
#    exported by the stand-in with the same version node, and shmget is
#    unversioned in both;
#  - PROG, linked against Debian's library (its references carry
#    VERS_1.0/HTLBFS_2.x), runs unchanged with LD_LIBRARY_PATH pointing at
#    the stand-in, and with LD_PRELOAD, gets the stand-in, and has its
#    memory on huge pages (PROG checks smaps), and its heap too under
#    HUGETLB_MORECORE=yes.
set -euo pipefail
prog=$1 standin=$2 debian=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
skip_or_fail() {
	if [ "${HUGEPOOL_TEST_REQUIRE:-0}" != 0 ]; then fail "$*"; fi
	echo "SKIP: $*"; exit 77
}
[ -e "$debian" ] || skip_or_fail "$debian missing (apt-get install libhugetlbfs0)"
[ -e /sys/kernel/mm/hugepages ] || skip_or_fail "no huge pages in this kernel"

# name@version of the defined, exported functions of a library
syms() {
	objdump -T "$1" | awk '$2 == "g" && $4 != "*UND*" && $3 == "DF" { print $(NF) "@" $(NF-1) }' | sort
}
want=$(syms "$debian" | grep -v '^__tp_' | grep -v '^cachecolor@')
have=$(syms "$standin")
missing=$(comm -23 <(echo "$want") <(echo "$have"))
[ -z "$missing" ] || fail "the stand-in lacks: $missing"
echo "$have" | grep -qx 'shmget@Base' || fail "shmget is not unversioned in the stand-in"
for node in VERS_1.0 HTLBFS_2.0 HTLBFS_2.1; do
	objdump -T "$standin" | grep -q " $node  *$node\$" || fail "no version node $node"
done
soname=$(readelf -d "$standin" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libhugetlbfs.so.0 ] || fail "soname $soname"
# hugepool's own API is not the stand-in's
! objdump -T "$standin" | grep -q ' hugepool_' || fail "the stand-in exports hugepool_*"
echo "symbols: the stand-in exports Debian's $(echo "$want" | wc -l) versioned symbols and shmget"

# the program was built against the real thing
readelf -V "$prog" | grep -q 'File: libhugetlbfs.so.0' || fail "$prog does not need libhugetlbfs.so.0"
for node in VERS_1.0 HTLBFS_2.0 HTLBFS_2.1; do
	readelf -V "$prog" | grep -q "Name: $node" || fail "$prog has no reference to $node"
done

HUGEPOOL_TEST_EXPECT_LIB=$standin LD_LIBRARY_PATH=$(dirname "$standin") "$prog" ||
	fail "under LD_LIBRARY_PATH"
HUGEPOOL_TEST_EXPECT_LIB=$standin LD_PRELOAD=$standin "$prog" || fail "under LD_PRELOAD"
HUGETLB_MORECORE=yes HUGEPOOL_TEST_EXPECT_LIB=$standin LD_LIBRARY_PATH=$(dirname "$standin") \
	"$prog" | grep -q "heap on" || fail "HUGETLB_MORECORE=yes: the heap is not on huge pages"
echo "compat-abi: ok"
