#!/bin/bash
# SPDX-License-Identifier: MIT
# demo.sh - the main job on a fresh Debian 12 machine, as root: install the
# dependencies of the library and the demo only (HP_BASE_PACKAGES; the test
# command installs the rest), build, reserve a few huge pages, and show
# hugepool working:
# the kernel's pools, a pool's counters, and a 64 MiB block that really sits
# on 2 MiB pages (and on a 1 GiB page when the kernel has one). Everything
# reserved is given back at the end.
source "$(dirname "$0")/lib.sh"
hp_need_root
hp_install base
hp_build
trap hp_restore EXIT
hp_reserve 2048 64
hp_reserve 1048576 1 || true
hp_say "the kernel's huge page pools"
if [ -x "$HP_BUILD/tools/hugepool-ctl" ]; then
	"$HP_BUILD/tools/hugepool-ctl" show
else
	grep -i huge /proc/meminfo
fi
hp_say "a pool, a block, its pages"
"$HP_BUILD/examples/hugepool-demo"
