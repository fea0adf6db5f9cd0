#!/bin/bash
# SPDX-License-Identifier: MIT
# test.sh - every test suite on a fresh Debian 12 machine, as root: install
# the dependencies, build, reserve the huge pages the system tests need
# (2 MiB pages and two 1 GiB pages), run all suites with
# HUGEPOOL_TEST_REQUIRE=1 (a test that lacks pages fails instead of
# skipping), and put the kernel's pools back as they were.
#   HP_SUITES="unit system"  run only these suites
source "$(dirname "$0")/lib.sh"
hp_need_root
trap hp_restore EXIT
# 1 GiB pages first, before builds fragment memory
hp_reserve 1048576 2
hp_install
hp_build
hp_reserve 2048 1024
export HUGEPOOL_TEST_REQUIRE=1
suites=()
for s in ${HP_SUITES:-}; do
	suites+=(--suite "$s")
done
hp_say "running the tests"
meson test -C "$HP_BUILD" --print-errorlogs --num-processes 2 "${suites[@]}"
