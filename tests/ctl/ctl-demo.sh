#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-demo.sh - the demo keeps the README's promise (issue 17): a 64 MiB
# block on 2 MiB pages and, when the kernel has a free 1 GiB page, a block
# that smaps shows on a 1 GiB page (it showed none with three free); the
# kernel's pools are as before afterwards.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

need_root
need_size hugepages-2048kB
need_size hugepages-1048576kB
take_snapshot
DEMO=${HUGEPOOL_TEST_BUILDDIR:?}/examples/hugepool-demo
[ -x "$DEMO" ] || { fail "$DEMO not built"; exit 1; }
G=$HP/hugepages-1048576kB
[ $(($(cat "$G/free_hugepages") - $(cat "$G/resv_hugepages"))) -ge 1 ] ||
	skip "no free 1 GiB page"
free2=$(cat "$HP/hugepages-2048kB/free_hugepages")
free1=$(cat "$G/free_hugepages")
run "$DEMO"
expect_ok
expect_out "KernelPageSize 2048 kB"
expect_out "^256 MiB block at 0x[0-9a-f]+ on a 1 GiB page: KernelPageSize 1048576 kB$"
expect_eq "1G free after" "$(cat "$G/free_hugepages")" "$free1"
[ "$(cat "$HP/hugepages-2048kB/free_hugepages")" -ge $((free2 - 0)) ] && ok ||
	fail "2M pages not given back"
unchanged "demo"
