#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run-guest.sh: boot a real multi-node NUMA Linux guest under qemu (TCG) and
# run test binaries and shell commands inside it; exit with their status.
#
# Usage:
#   run-guest.sh [options] [TEST-BINARY...]
#
# Options:
#   --nodes N          NUMA nodes (default 2): -smp N, one CPU and one
#                      memory-backend-ram of --mem-per-node MiB per node
#   --mem-per-node MB  memory per node in MiB (default 512)
#   --hugepages N      2 MiB huge pages reserved on each node in the guest
#                      (default 32; env HUGEPOOL_NUMA_HUGEPAGES)
#   --cmd 'SHELL CMD'  run a busybox-sh command in the guest as one more test
#                      (repeatable; runs in command-line order with the tests)
#   --add FILE         copy FILE (and the libraries it needs) into the guest's
#                      PATH (/tests) without running it, e.g. a tool for --cmd
#   --env NAME=VALUE   export to every test and command in the guest
#                      (ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS set on the
#                      host are passed on by themselves)
#   --append ARGS      extra kernel command line
#   --cache DIR        where the kernel is fetched and unpacked (default:
#                      env HUGEPOOL_NUMA_CACHE, else $HUGEPOOL_TEST_BUILDDIR/
#                      numa-cache, else ${TMPDIR:-/tmp}/hugepool-numa-cache).
#                      Keep it out of the source tree (meson passes
#                      <builddir>/numa-cache).
#   --timeout SEC      whole-run limit (default 300; env HUGEPOOL_NUMA_TIMEOUT)
#   --quiet            do not echo the guest console (it is printed on failure)
#   -h, --help         this text
#
# Each TEST-BINARY is copied to /tests/<basename> in the guest with every
# shared library `ldd` lists (dynamic loader included, at the paths ldd
# prints; directories outside the loader's defaults, such as the build
# tree's lib/ that a RUNPATH of $ORIGIN/../../lib finds, go into the guest's
# LD_LIBRARY_PATH, since $ORIGIN is /tests there) and run with
# HUGEPOOL_TEST_REQUIRE=1, so a test that would skip (77) fails instead.
# Per test the guest prints "=== RUN name", the test's output, then
# "--- PASS name" or "--- FAIL name (exit S)"; at the end one marker line
#   HUGEPOOL-NUMA-RESULT <nonce> status=0|1 passed=P failed=F
# and powers off. The nonce is fresh per run, so no test output can fake it.
#
# Exit status: 0 all passed; 1 a test or command failed in the guest (or the
# per-node huge page reservation fell short); 2 harness error (bad usage,
# fetch failed, timeout, no marker: the guest crashed or hung); 77 qemu,
# busybox-static or the kernel are missing and cannot be installed (not root)
# unless HUGEPOOL_TEST_REQUIRE=1, where that is 2 too.
#
# Pieces, fetched if missing (root and Debian's apt):
#   qemu-system-x86_64, busybox-static: apt-get install -y qemu-system-x86 busybox-static
#   kernel: apt-get download linux-image-<ver>-cloud-amd64 (<ver> from
#     `apt-cache depends linux-image-cloud-amd64`, or env
#     HUGEPOOL_NUMA_KERNEL_PKG), unpacked with dpkg -x into the cache. A
#     kernel already in the cache is reused without asking apt.
#
# Environment:
#   HUGEPOOL_NUMA_ACCEL=kvm  use -accel kvm when /dev/kvm is usable (default
#                            tcg: on the development and CI machines /dev/kvm
#                            exists but a nested KVM guest hangs at boot)
#   HUGEPOOL_NUMA_CPU        -cpu value (default qemu64,+pdpe1gb)
#   HUGEPOOL_NUMA_KEEP=1     keep the work dir (initramfs, console log)
#
# Example:
#   tests/numa/run-guest.sh --cache build/numa-cache --nodes 4 \
#       build/tests/numa/numa-smoke --add build/tools/hugepool-ctl \
#       --cmd 'hugepool-ctl show'

set -euo pipefail

prog=${0##*/}
nodes=2
mem_per_node=512
hugepages=${HUGEPOOL_NUMA_HUGEPAGES:-32}
timeout_s=${HUGEPOOL_NUMA_TIMEOUT:-300}
cache=${HUGEPOOL_NUMA_CACHE:-}
append=""
quiet=0
items=()	# "t:PATH" or "c:COMMAND", in command-line order
adds=()
envs=()

die() { echo "$prog: $*" >&2; exit 2; }
usage() { sed -n '4,/^$/s/^# \{0,1\}//p' "$0"; }
required() { [[ "${HUGEPOOL_TEST_REQUIRE:-0}" == 1 ]]; }
# missing pieces: skip (77) on a developer machine, fail under REQUIRE
unavailable() {
	echo "$prog: $*" >&2
	if required; then exit 2; fi
	echo "$prog: skipping (HUGEPOOL_TEST_REQUIRE is not 1)" >&2
	exit 77
}

while (($#)); do
	case $1 in
	--nodes) nodes=${2:?}; shift 2 ;;
	--nodes=*) nodes=${1#*=}; shift ;;
	--mem-per-node) mem_per_node=${2:?}; shift 2 ;;
	--mem-per-node=*) mem_per_node=${1#*=}; shift ;;
	--hugepages) hugepages=${2:?}; shift 2 ;;
	--hugepages=*) hugepages=${1#*=}; shift ;;
	--cmd) items+=("c:${2:?}"); shift 2 ;;
	--cmd=*) items+=("c:${1#*=}"); shift ;;
	--add) adds+=("${2:?}"); shift 2 ;;
	--add=*) adds+=("${1#*=}"); shift ;;
	--env) envs+=("${2:?}"); shift 2 ;;
	--env=*) envs+=("${1#*=}"); shift ;;
	--append) append+=" ${2:?}"; shift 2 ;;
	--append=*) append+=" ${1#*=}"; shift ;;
	--cache) cache=${2:?}; shift 2 ;;
	--cache=*) cache=${1#*=}; shift ;;
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--quiet) quiet=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; for a; do items+=("t:$a"); done; break ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) items+=("t:$1"); shift ;;
	esac
done

if ! [[ $nodes =~ ^[0-9]+$ ]] || ((nodes < 1 || nodes > 64)); then die "--nodes: 1..64"; fi
if ! [[ $mem_per_node =~ ^[0-9]+$ ]] || ((mem_per_node < 64)); then die "--mem-per-node: >= 64 (MiB)"; fi
[[ $hugepages =~ ^[0-9]+$ ]] || die "--hugepages: a number"
((hugepages * 2 <= mem_per_node / 2)) || die "--hugepages $hugepages: more than half of a node's ${mem_per_node} MiB"
[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout: seconds"
((${#items[@]})) || die "nothing to run: give test binaries and/or --cmd (see --help)"
for e in "${envs[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env $e: want NAME=VALUE"
done

if [[ -z $cache ]]; then
	if [[ -n ${HUGEPOOL_TEST_BUILDDIR:-} ]]; then
		cache=$HUGEPOOL_TEST_BUILDDIR/numa-cache
	else
		cache=${TMPDIR:-/tmp}/hugepool-numa-cache
	fi
fi
mkdir -p "$cache" || die "cannot create cache dir $cache"
cache=$(cd "$cache" && pwd)

# ---------------------------------------------------------------- pieces ---
apt_updated=0
apt_update_once() {
	((apt_updated)) && return 0
	apt_updated=1
	apt-get update -qq >&2 || echo "$prog: apt-get update failed; trying the lists we have" >&2
}

ensure_tools() {
	local missing=0
	command -v qemu-system-x86_64 >/dev/null || missing=1
	[[ -x /bin/busybox ]] || missing=1
	((missing)) || return 0
	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		unavailable "qemu-system-x86_64 or /bin/busybox missing; as root: apt-get install -y qemu-system-x86 busybox-static"
	fi
	echo "$prog: installing qemu-system-x86 busybox-static" >&2
	apt_update_once
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		qemu-system-x86 busybox-static >&2 ||
		unavailable "apt-get install qemu-system-x86 busybox-static failed"
}

find_cached_kernel() {
	# newest vmlinuz already unpacked in the cache, if any
	local k=() f
	for f in "$cache"/kernel/boot/vmlinuz-*-cloud-amd64; do
		[[ -s $f ]] && k+=("$f")
	done
	((${#k[@]})) && printf '%s\n' "${k[@]}" | sort -V | tail -n 1
	return 0
}

ensure_kernel() {
	kernel=$(find_cached_kernel)
	[[ -n $kernel ]] && return 0
	command -v apt-get >/dev/null || unavailable "no kernel in $cache and no apt-get"
	local pkg=${HUGEPOOL_NUMA_KERNEL_PKG:-}
	if [[ -z $pkg ]]; then
		pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1)
		if [[ -z $pkg && $(id -u) == 0 ]]; then
			apt_update_once
			pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
				sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1)
		fi
		[[ -n $pkg ]] || unavailable "cannot find the linux-image-*-cloud-amd64 package (apt-cache depends linux-image-cloud-amd64)"
	fi
	echo "$prog: fetching $pkg into $cache" >&2
	local dl
	dl=$(mktemp -d "$cache/dl.XXXXXX")
	chmod 755 "$dl"
	if ! (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2); then
		# stale package lists name a version the archive no longer has:
		# update them once and ask again
		if ((!apt_updated)) && [[ $(id -u) == 0 ]]; then
			apt_update_once
			[[ -n ${HUGEPOOL_NUMA_KERNEL_PKG:-} ]] ||
				pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
					sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1)
		fi
		if ! (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2); then
			rm -rf "$dl"
			unavailable "apt-get download $pkg failed"
		fi
	fi
	rm -rf "$cache/kernel.new"
	dpkg -x "$dl"/*.deb "$cache/kernel.new" || { rm -rf "$dl"; die "dpkg -x failed"; }
	# only boot/ is used: the guest loads no modules
	find "$cache/kernel.new" -mindepth 1 -maxdepth 1 ! -name boot -exec rm -rf {} +
	rm -rf "$dl" "$cache/kernel"
	mv "$cache/kernel.new" "$cache/kernel"
	kernel=$(find_cached_kernel)
	[[ -n $kernel ]] || die "no vmlinuz in $pkg"
}

# Serialize fetching between concurrent runs sharing a cache.
exec 9>"$cache/.lock"
flock 9
ensure_tools
ensure_kernel
flock -u 9
exec 9>&-
kver=${kernel##*/vmlinuz-}

# ------------------------------------------------------------- initramfs ---
work=$(mktemp -d "${TMPDIR:-/tmp}/hugepool-numa.XXXXXX")
# shellcheck disable=SC2317  # run by the trap
cleanup() {
	if [[ ${HUGEPOOL_NUMA_KEEP:-0} == 1 ]]; then
		echo "$prog: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,tests,cmds,etc,root}
chmod 1777 "$root/tmp"

# Directories of copied libraries outside the loader's default paths.
declare -A libdirs=()

# copy library FILE to the same absolute path inside the guest, following
# symlinks. ldd prints a library found through a RUNPATH of $ORIGIN/../lib
# as e.g. build/tests/numa/../../lib/libx.so.0: in the guest the binary is
# in /tests, where that $ORIGIN no longer leads to it, so the path is
# normalized and its directory goes into the guest's LD_LIBRARY_PATH.
copy_abs() {
	local src dst dir
	src=$(realpath -s -- "$1")
	dst=$root$src
	dir=${src%/*}
	case $dir in
	/lib | /lib64 | /usr/lib | /usr/lib64 | /lib/*-linux-gnu | /usr/lib/*-linux-gnu) ;;
	*) libdirs[$dir]=1 ;;
	esac
	[[ -e $dst ]] && return 0
	mkdir -p "${dst%/*}"
	cp -L "$1" "$dst"
}

# copy every library FILE needs, with the paths ldd prints
copy_libs() {
	local f=$1 out line lib
	# not ELF (a script) or static: nothing to copy
	if [[ $(head -c 4 "$f" | od -An -c | tr -d ' ') != '177ELF' ]]; then return 0; fi
	out=$(LC_ALL=C ldd "$f" 2>&1) || {
		[[ $out == *"not a dynamic executable"* || $out == *"statically linked"* ]] && return 0
		die "ldd $f: $out"
	}
	[[ $out == *"not found"* ]] && die "ldd $f: a library is missing:"$'\n'"$out"
	while read -r line; do
		lib=""
		if [[ $line == *" => /"* ]]; then
			lib=${line#* => }
			lib=${lib%% (*}
		elif [[ $line == /* ]]; then
			lib=${line%% (*}
		fi
		[[ -n $lib ]] && copy_abs "$lib"
	done <<<"$out"
}

cp -L /bin/busybox "$root/bin/busybox"
copy_libs /bin/busybox	# nothing if it is busybox-static, as it should be
# the initial console, in case the kernel's built-in initramfs lacks it
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

declare -A seen=()
add_file() {
	local f=$1 name
	[[ -f $f && -r $f ]] || die "$f: no such file"
	name=${f##*/}
	[[ -z ${seen[$name]:-} ]] || { [[ ${seen[$name]} == "$(realpath "$f")" ]] && return 0; die "two files named $name"; }
	[[ $name =~ ^[A-Za-z0-9._+-]+$ ]] || die "$f: name must match [A-Za-z0-9._+-]+"
	seen[$name]=$(realpath "$f")
	cp -L "$f" "$root/tests/$name"
	chmod 755 "$root/tests/$name"
	copy_libs "$f"
}

runlist=$root/etc/runlist
: >"$runlist"
ncmd=0
for it in "${items[@]}"; do
	case $it in
	t:*)
		f=${it#t:}
		add_file "$f"
		echo "t ${f##*/}" >>"$runlist"
		;;
	c:*)
		ncmd=$((ncmd + 1))
		printf '%s\n' "${it#c:}" >"$root/cmds/cmd$ncmd"
		echo "c cmd$ncmd" >>"$runlist"
		;;
	esac
done
for f in "${adds[@]}"; do add_file "$f"; done

# single-quote for sh
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	echo "export HUGEPOOL_TEST_REQUIRE=1"
	# sanitizer settings of the host run carry over (meson's test env sets them)
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[[ -n ${!v:-} ]] && echo "export $v=$(sq "${!v}")"
	done
	if ((${#libdirs[@]})); then
		ldpath=$(printf '%s\n' "${!libdirs[@]}" | LC_ALL=C sort | paste -sd: -)
		echo "export LD_LIBRARY_PATH=$(sq "$ldpath")"
	fi
	for e in "${envs[@]}"; do
		echo "export ${e%%=*}=$(sq "${e#*=}")"
	done
} >"$root/etc/test-env"

nonce=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
marker="HUGEPOOL-NUMA-RESULT $nonce"

cat >"$root/init" <<EOF
#!/bin/busybox sh
# generated by run-guest.sh
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/tests:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t sysfs sysfs /sys
mkdir -p /dev/hugepages /dev/shm
mount -t hugetlbfs hugetlbfs /dev/hugepages
mount -t tmpfs tmpfs /dev/shm
MARKER="$marker"
WANT=$hugepages
EOF
cat >>"$root/init" <<'EOF'
uptime_cs() { read u _ </proc/uptime; echo "${u%.*}${u#*.}"; }
finish() {	# status passed failed
	echo "$MARKER status=$1 passed=$2 failed=$3"
	sync
	poweroff -f
	sleep 5
}
echo "guest: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus, booted in $(cut -d' ' -f1 /proc/uptime) s"
setup_ok=1
for d in /sys/devices/system/node/node[0-9]*; do
	n=${d##*/node}
	h=$d/hugepages/hugepages-2048kB
	echo "$WANT" >"$h/nr_hugepages"
	got=$(cat "$h/nr_hugepages")
	mem=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB/\1/p' "$d/meminfo")
	echo "guest: node$n: cpus $(cat "$d/cpulist"), $((mem / 1024)) MiB, 2 MiB huge pages $got/$WANT"
	[ "$got" = "$WANT" ] || setup_ok=0
done
if [ "$setup_ok" != 1 ]; then
	echo "guest: FAIL: could not reserve $WANT huge pages on every node"
	finish 1 0 1
fi
. /etc/test-env
passed=0 failed=0
while read kind name; do
	echo "=== RUN $name"
	t0=$(uptime_cs)
	if [ "$kind" = t ]; then
		( cd /tmp && "/tests/$name" ) </dev/null
	else
		echo "\$ $(cat "/cmds/$name")"
		( cd /tmp && sh "/cmds/$name" ) </dev/null
	fi
	rc=$?
	t1=$(uptime_cs)
	dt=$((t1 - t0))
	secs="$((dt / 100)).$(printf %02d $((dt % 100)))s"
	if [ "$rc" = 0 ]; then
		echo "--- PASS $name ($secs)"
		passed=$((passed + 1))
	else
		echo "--- FAIL $name (exit $rc, $secs)"
		failed=$((failed + 1))
	fi
done </etc/runlist
[ "$failed" = 0 ] && finish 0 "$passed" 0
finish 1 "$passed" "$failed"
EOF
chmod 755 "$root/init"

initrd=$work/initrd.gz
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	if command -v cpio >/dev/null; then cpio -o -H newc --quiet -R 0:0; else busybox cpio -o -H newc -R 0:0; fi |
	gzip -1 >"$initrd") 2>"$work/cpio.err" || { cat "$work/cpio.err" >&2; die "cannot build the initramfs"; }

# ------------------------------------------------------------------ boot ---
accel=tcg
if [[ ${HUGEPOOL_NUMA_ACCEL:-tcg} == kvm ]]; then
	if [[ -r /dev/kvm && -w /dev/kvm ]]; then
		accel=kvm
	else
		echo "$prog: HUGEPOOL_NUMA_ACCEL=kvm but /dev/kvm is not usable; using tcg" >&2
	fi
fi
qemu=(qemu-system-x86_64 -accel "$accel" -cpu "${HUGEPOOL_NUMA_CPU:-qemu64,+pdpe1gb}" -M q35
	-smp "$nodes" -m "$((nodes * mem_per_node))"
	-nographic -no-reboot -nodefaults -serial stdio -monitor none
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 panic=-1 quiet$append")
for ((i = 0; i < nodes; i++)); do
	qemu+=(-object "memory-backend-ram,id=m$i,size=${mem_per_node}M"
		-numa "node,nodeid=$i,cpus=$i,memdev=m$i")
done

log=$work/console.log
echo "$prog: kernel $kver, $nodes nodes x ${mem_per_node} MiB, $hugepages huge pages/node, accel $accel, timeout ${timeout_s}s" >&2
t0=$(date +%s.%N)
set +e
if ((quiet)); then
	timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$log" 2>&1
	qrc=$?
else
	timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tee "$log"
	qrc=${PIPESTATUS[0]}
fi
set -e
t1=$(date +%s.%N)
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

result=$(tr -d '\r' <"$log" | grep -a "^$marker " | tail -n 1 || true)
if [[ -z $result ]]; then
	if ((quiet)); then tail -n 60 "$log" >&2; fi
	if ((qrc == 124 || qrc == 137)); then
		echo "$prog: TIMEOUT after ${timeout_s}s: the guest did not finish (qemu killed)" >&2
	else
		echo "$prog: ERROR: no result marker in the console (qemu exit $qrc after ${elapsed}s): the guest crashed or did not boot" >&2
	fi
	exit 2
fi
status=${result#* status=}
status=${status%% *}
if [[ $status == 0 ]]; then
	echo "$prog: PASS (${result#"$marker "}) in ${elapsed}s" >&2
	exit 0
fi
if ((quiet)); then tr -d '\r' <"$log" >&2; fi
echo "$prog: FAIL (${result#"$marker "}) in ${elapsed}s" >&2
exit 1
