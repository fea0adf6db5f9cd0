#!/bin/bash
# SPDX-License-Identifier: MIT
# test.sh - every test suite on a fresh Debian 12 machine, as root: install
# the dependencies, build, reserve the huge pages the system tests need
# (2 MiB pages and two 1 GiB pages), run all suites with
# HUGEPOOL_TEST_REQUIRE=1 (a test that lacks pages fails instead of
# skipping), and put the kernel's pools back as they were.
#
# The main `meson test` run comes first. Then stages, each ending with a
# "== stage NAME: PASS|FAIL in Ns: <summary>" line and recapped at the end:
#   fault     fault injection through the syscall seam (sites x errnos)
#   kernel    the kernel's failure modes (exhaustion, hugetlb cgroup, fork
#             with an empty pool, pinned pages and fork, max_map_count)
#   soak      threads and forked children for HP_SOAK_SECONDS (120)
#   asan      unit + system + api suites under AddressSanitizer + UBSan
#   tsan      the threaded tests under ThreadSanitizer (clang)
#   valgrind  the unit suite under valgrind memcheck
#   fuzz      each libFuzzer harness for HP_FUZZ_SECONDS (60), two at once
#
#   HP_SUITES="unit system"  run only these suites (and no stage unless
#                            HP_STAGES names some)
#   HP_STAGES="fault soak"   run only these stages ("" for none)
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
if [ ${#suites[@]} -eq 0 ]; then
	# these have stages of their own, which show what they found
	suites=(--no-suite fault --no-suite kernel --no-suite soak)
	stages=${HP_STAGES-fault kernel soak asan tsan valgrind fuzz}
else
	stages=${HP_STAGES-}
fi
want() { [[ " $stages " == *" $1 "* ]]; }

hp_say "running the tests"
hp_stage meson '^(Ok|Fail|Skipped|Timeout): ' \
	meson test -C "$HP_BUILD" --print-errorlogs --num-processes 2 "${suites[@]}"

if want fault; then
	hp_stage fault '^fault-injection: [0-9]+ call sites' \
		meson test -C "$HP_BUILD" --suite fault --verbose --print-errorlogs
fi
if want kernel; then
	hp_stage kernel '^kern-[a-z0-9-]+: PASS' \
		meson test -C "$HP_BUILD" --suite kernel --verbose --print-errorlogs
fi
if want soak; then
	hp_stage soak '^soak: ' \
		env SOAK_SECONDS="${HP_SOAK_SECONDS:-120}" \
		meson test -C "$HP_BUILD" --suite soak --verbose --print-errorlogs
fi

# AddressSanitizer + UndefinedBehaviorSanitizer: any report fails the test
asan_tests() {
	echo "asan: unit, system and api suites under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan)"
	hp_variant "$HP_ROOT/build-asan" -Db_sanitize=address,undefined -Db_lundef=false &&
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	meson test -C "$HP_ROOT/build-asan" --suite unit --suite system --suite api \
		--print-errorlogs --num-processes 2
}
if want asan; then
	hp_stage asan '^asan: |^(Ok|Fail|Skipped|Timeout): ' asan_tests
fi

# ThreadSanitizer (clang): the tests where threads share pools. The soak's
# forked children start the decay thread again, which TSan allows only with
# die_after_fork=0. api/stress is left out: it requires a number of
# operations that TSan's slowdown (every byte of its large blocks is
# instrumented) does not reach in its fixed time.
tsan_tests() {
	echo "tsan: api/threads, api/heap, soak, kernel/pinned-fork, kernel/fork-empty under ThreadSanitizer (clang, build-tsan)"
	CC=clang hp_variant "$HP_ROOT/build-tsan" -Db_sanitize=thread -Db_lundef=false &&
	TSAN_OPTIONS=halt_on_error=1:die_after_fork=0:second_deadlock_stack=1 SOAK_SECONDS=20 \
	meson test -C "$HP_ROOT/build-tsan" threads heap soak pinned-fork fork-empty \
		--print-errorlogs
}
if want tsan; then
	hp_stage tsan '^tsan: |^(Ok|Fail|Skipped|Timeout): ' tsan_tests
fi

# valgrind memcheck over the unit suite (fake pools on base pages; the
# library's metadata comes from mmap, not malloc)
valgrind_tests() {
	echo "valgrind: unit suite under valgrind memcheck (--leak-check=full)"
	meson test -C "$HP_BUILD" --suite unit --timeout-multiplier 10 --print-errorlogs \
		--wrap='valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite'
}
if want valgrind; then
	hp_stage valgrind '^valgrind: |^(Ok|Fail|Skipped|Timeout): |ERROR SUMMARY: [1-9]' \
		valgrind_tests
fi

# libFuzzer (clang, with ASan + UBSan): each harness for a bounded time
fuzz_run() {
	local h targets=()
	for h in resv size node options ctl-config ctl-args; do
		targets+=("tests/fuzz/fuzz-$h")
	done
	CC=clang hp_variant "$HP_ROOT/build-fuzz" -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false -- "${targets[@]}" &&
	"$HP_ROOT/tests/fuzz/run.sh" "$HP_ROOT/build-fuzz" "${HP_FUZZ_SECONDS:-60}"
}
if want fuzz; then
	hp_stage fuzz '^fuzz: ' fuzz_run
fi

hp_stages_end
