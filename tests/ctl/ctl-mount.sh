#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-mount.sh - `hugepool-ctl mount` makes a hugetlbfs mount with size=,
# min_size= (reserved from the pool at mount time), owner and mode; a file
# there is mapped and written on huge pages; size= caps it (an error, not
# SIGBUS); --dry-run mounts nothing; umount gives the reservation back.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

begin_2m

# enough free pages for min_size (4 pages) and the file (4 pages)
free=$(avail_2m)
if [ "$free" -lt 16 ]; then
	echo $(($(cat "$P/nr_hugepages") + 16)) >"$P/nr_hugepages"
fi

D=$(mktemp -d)
on_exit "umount '$D' 2>/dev/null; rmdir '$D'"

ctl mount "$D" --pagesize 2M --size 8M --min-size 4M --mode 0770 --uid nobody --dry-run
expect_ok
expect_out "would mount hugetlbfs on $D with pagesize=2M,size=8388608,min_size=4194304,uid=65534,mode=0770"
if grep -q " $D hugetlbfs" /proc/mounts; then fail "--dry-run mounted"; else ok; fi

# min_size reserves 2 pages at mount time: resv_hugepages is read just
# around the mount (other programs may move it; try again if they did)
for try in 1 2 3; do
	resv0=$(cat "$P/resv_hugepages")
	ctl mount "$D" --pagesize 2M --size 8M --min-size 4M --mode 0770 --uid nobody
	resv1=$(cat "$P/resv_hugepages")
	[ "$RC" = 0 ] && [ "$resv1" = $((resv0 + 2)) ] && break
	[ "$try" = 3 ] || { umount "$D" 2>/dev/null || true; sleep 0.5; }
done
expect_ok
expect_eq "min_size reserved" "$resv1" $((resv0 + 2))
line=$(grep " $D hugetlbfs " /proc/mounts || true)
for o in pagesize=2M size=8388608 min_size=4194304 mode=770 uid=65534 nodev nosuid; do
	case ",${line#* hugetlbfs },"  in
	*",$o,"* | *",$o "*) ok ;;
	*) fail "mount option $o missing: $line" ;;
	esac
done
expect_eq "owner" "$(stat -c %u:%a "$D")" "65534:770"

# mounting again is refused (and names what is there)
ctl mount "$D" --pagesize 2M
expect_fail 1 "$D is already a hugetlbfs mount"

# show lists it
ctl show --json
expect_eq "show lists it" "$(printf '%s' "$OUT" | python3 -c "
import json, sys
for m in json.load(sys.stdin)['mounts']:
    if m['dir'] == '$D':
        print(m['page_size'], m['size'], m['min_size'])")" "2097152 8388608 4194304"

# use it: map a 4 MiB file, write and read back every page
run "$HELPER" touch "$D/data" 4M
expect_ok
expect_eq "KernelPageSize of the file" "$OUT" 2097152
# beyond size=: an error from the helper (populate fails), not a signal
run "$HELPER" touch "$D/big" 16M
if [ "$RC" = 1 ]; then ok; else fail "16M file on an 8M mount: status $RC ($ERR)"; fi
rm -f "$D/data" "$D/big"

ctl umount "$D" --dry-run
expect_ok
expect_out "would unmount hugetlbfs from $D"
grep -q " $D hugetlbfs" /proc/mounts && ok || fail "--dry-run unmounted"

resv1=$(cat "$P/resv_hugepages")
ctl umount "$D"
resv2=$(cat "$P/resv_hugepages")
expect_ok
if grep -q " $D hugetlbfs" /proc/mounts; then fail "still mounted"; else ok; fi
expect_eq "reservation given back" "$resv2" $((resv1 - 2))

# 1G mount if the kernel has 1G pages (no pages needed without min_size)
if [ -d "$HP/hugepages-1048576kB" ]; then
	ctl mount "$D" --pagesize 1G
	expect_ok
	grep -q " $D hugetlbfs .*pagesize=1024M" /proc/mounts && ok || fail "1G mount"
	ctl umount "$D"
	expect_ok
fi

# min_size the pool cannot give: the kernel refuses; the message says why
ctl mount "$D" --pagesize 2M --min-size 100000G
expect_fail 1 "min_size=.* cannot be reserved: [0-9]+ 2M pages are free"
if grep -q " $D hugetlbfs" /proc/mounts; then fail "mounted anyway"; else ok; fi

# --mkdir creates the mount point
ctl mount "$D/sub/dir" --pagesize 2M --mkdir
expect_ok
on_exit "rmdir '$D/sub/dir' '$D/sub'"
on_exit "umount '$D/sub/dir'"
grep -q " $D/sub/dir hugetlbfs" /proc/mounts && ok || fail "--mkdir mount"
ctl umount "$D/sub/dir"
expect_ok

ctl mount --help
expect_ok
expect_out "^Usage: hugepool-ctl mount DIR"
ctl umount --help
expect_ok
