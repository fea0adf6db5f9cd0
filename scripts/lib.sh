#!/bin/bash
# SPDX-License-Identifier: MIT
# lib.sh - shared by demo.sh, test.sh and .ci/run: install what the build and
# the tests need from Debian's archive, build, and reserve huge pages in the
# kernel pool (saving the previous counts so they can be put back).

set -euo pipefail

HP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HP_BUILD=${HP_BUILD:-$HP_ROOT/build}
HP_SYSFS=/sys/kernel/mm/hugepages

hp_say() { printf '\n== %s\n' "$*"; }

hp_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "$0: run as root (it installs packages and reserves huge pages)" >&2
		exit 1
	fi
}

# What the library, hugepool-ctl and the demo need to build and run: the
# README's first command (scripts/demo.sh) installs only these.
HP_BASE_PACKAGES=(
	build-essential meson ninja-build pkg-config libnuma-dev liburing-dev
)

# Everything (scripts/test.sh, CI): the above plus unit tests, the NUMA
# guest, the preload smoke suite, the benchmarks' peers, systemd-analyze
# for the boot unit's test, gdb for attaching to a program whose segments
# moved (tests/preload/segments.sh).
HP_PACKAGES=(
	build-essential meson ninja-build pkg-config python3
	libnuma-dev liburing-dev libcmocka-dev numactl
	qemu-system-x86 busybox-static
	git xz-utils gzip perl gawk
	passwd util-linux gdb
	clang llvm libclang-rt-14-dev valgrind
	libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 libhugetlbfs0 gnuplot-nox
	systemd
)

# hp_install [base]: the packages of HP_PACKAGES (or HP_BASE_PACKAGES) not
# yet installed
hp_install() {
	local missing=() list=("${HP_PACKAGES[@]}")

	[ "${1:-}" = base ] && list=("${HP_BASE_PACKAGES[@]}")
	for p in "${list[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	hp_say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

hp_build() {
	hp_say "building in $HP_BUILD"
	if [ ! -f "$HP_BUILD/build.ninja" ]; then
		meson setup "$HP_BUILD" "$HP_ROOT" "$@"
	fi
	ninja -C "$HP_BUILD"
}

# hp_reserve SIZE_KB COUNT: make sure at least COUNT pages of that size are
# free, raising nr_hugepages if needed. 1 GiB pages need contiguous memory:
# compact first and retry a few times, and settle for what the kernel gives.
declare -A HP_SAVED=()
hp_reserve() {
	local kb=$1 want=$2 dir="$HP_SYSFS/hugepages-${1}kB" nr free got tries
	[ -d "$dir" ] || { echo "no ${kb} kB huge pages in this kernel" >&2; return 0; }
	nr=$(cat "$dir/nr_hugepages")
	free=$(cat "$dir/free_hugepages")
	[ -n "${HP_SAVED[$kb]:-}" ] || HP_SAVED[$kb]=$nr
	if [ "$free" -ge "$want" ]; then
		return 0
	fi
	for tries in 1 2 3 4 5; do
		echo $((nr + want - free)) > "$dir/nr_hugepages" || true
		got=$(cat "$dir/free_hugepages")
		[ "$got" -ge "$want" ] && break
		sync
		echo 3 > /proc/sys/vm/drop_caches || true
		echo 1 > /proc/sys/vm/compact_memory 2>/dev/null || true
		sleep 1
	done
	echo "reserved $(cat "$dir/free_hugepages") free ${kb} kB pages (wanted $want)"
}

# Put nr_hugepages back where hp_reserve found them.
hp_restore() {
	local kb
	for kb in "${!HP_SAVED[@]}"; do
		echo "${HP_SAVED[$kb]}" > "$HP_SYSFS/hugepages-${kb}kB/nr_hugepages" || true
	done
}

# ------------------------------------------------------------------------
# Stages after the main test run (test.sh): sanitizer builds, valgrind, the
# fault-injection, kernel and soak suites, fuzzing. Each prints its output,
# then one "== stage NAME: PASS|FAIL in Ns: <summary>" line; a failing
# stage does not stop the others, and hp_stages_end fails at the end.
# ------------------------------------------------------------------------
HP_STAGE_LINES=()
HP_STAGE_FAILED=0

# hp_stage NAME SUMMARY-REGEX COMMAND...: run COMMAND, keep its output in
# $HP_BUILD/meson-logs/stage-NAME.log, summarise it with the lines matching
# SUMMARY-REGEX (joined with "; ").
hp_stage() {
	local name=$1 pat=$2 log t0 rc dt summary
	shift 2
	log="$HP_BUILD/meson-logs/stage-$name.log"
	mkdir -p "$(dirname "$log")"
	hp_say "stage $name"
	t0=$SECONDS
	set +e
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	dt=$((SECONDS - t0))
	summary=$(grep -E -- "$pat" "$log" | sed 's/^ *//' | tr -s ' ' | paste -sd '\t' |
		sed 's/\t/; /g')
	if [ "$rc" = 0 ]; then
		HP_STAGE_LINES+=("$(printf '%-9s PASS %5ss  %s' "$name" "$dt" "$summary")")
		printf '== stage %s: PASS in %ss: %s\n' "$name" "$dt" "$summary"
	else
		HP_STAGE_FAILED=1
		HP_STAGE_LINES+=("$(printf '%-9s FAIL %5ss  %s (exit %s)' "$name" "$dt" "$summary" "$rc")")
		printf '== stage %s: FAIL (exit %s) in %ss: %s\n' "$name" "$rc" "$dt" "$summary"
	fi
}

# hp_variant DIR SETUP-ARGS... -- TARGETS...: a second build of the tree in
# DIR (sanitizers, clang), configured once; builds TARGETS (all if none).
hp_variant() {
	local dir=$1 setup=() targets=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		setup+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	targets=("$@")
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$HP_ROOT" "${setup[@]}" || return
	fi
	ninja -C "$dir" "${targets[@]}"
}

# The recap of every stage, and the script's verdict.
hp_stages_end() {
	local l log ok fail skip n passed=0 failed=0 skipped=0
	hp_say "stages"
	for l in "${HP_STAGE_LINES[@]}"; do
		printf '  %s\n' "$l"
	done
	# one plain closing line over every stage: the tests meson counted
	# (Ok/Fail/Skipped/Timeout), and a stage without meson counts (fuzz)
	# as one test of its own
	for l in "${HP_STAGE_LINES[@]}"; do
		n=${l%% *}
		log="$HP_BUILD/meson-logs/stage-$n.log"
		ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" 2>/dev/null | awk '{s += $1} END {if (NR) print s}')
		fail=$(sed -n -e 's/^Fail: *\([0-9]*\).*/\1/p' -e 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" 2>/dev/null |
			awk '{s += $1} END {if (NR) print s}')
		skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log" 2>/dev/null | awk '{s += $1} END {if (NR) print s}')
		if [ -z "$ok$fail$skip" ]; then
			case $l in
			*" PASS "*) passed=$((passed + 1)) ;;
			*) failed=$((failed + 1)) ;;
			esac
			continue
		fi
		passed=$((passed + ${ok:-0}))
		failed=$((failed + ${fail:-0}))
		skipped=$((skipped + ${skip:-0}))
		# a stage that failed outside its tests (a build) still fails
		case $l in *" FAIL "*) [ "${fail:-0}" -gt 0 ] || failed=$((failed + 1)) ;; esac
	done
	printf '\nhugepool: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
	return "$HP_STAGE_FAILED"
}
