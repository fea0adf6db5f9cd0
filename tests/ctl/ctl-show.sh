#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-show.sh - `hugepool-ctl show`: the table names every size and node;
# --json parses and every key equals the sysfs file of the same name (totals
# and per node), the default size matches /proc/meminfo, the mounts match
# /proc/mounts (including a mount point with a space in its name); and on a
# fake tree, a 10 KB /proc/mounts line and a kernel without hugetlb.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

need_root
take_snapshot
command -v python3 >/dev/null || skip "python3 not found"

# a hugetlbfs mount whose name needs escaping in /proc/mounts
MNT=$(mktemp -d)
mkdir "$MNT/with space"
on_exit "rmdir '$MNT/with space' '$MNT'"
mount -t hugetlbfs -o pagesize=2M,size=4M hugetlbfs "$MNT/with space" || skip "cannot mount hugetlbfs"
on_exit "umount '$MNT/with space'"

# --- table ---------------------------------------------------------------
ctl show
expect_ok
for d in "$HP"/hugepages-*; do
	kb=${d##*hugepages-}
	kb=${kb%kB}
	if [ $((kb % 1048576)) = 0 ]; then s="$((kb / 1048576))G"; else s="$((kb / 1024))M"; fi
	expect_out "^$s\\*? +all +$(cat "$d/nr_hugepages") "
done
for n in "$NODES"/node[0-9]*; do
	[ -d "$n/hugepages" ] && expect_out "^ +${n##*node} +[0-9]+ "
done
expect_out "with space"
expect_out "^transparent huge pages: enabled="

# --- JSON: compare with sysfs, retrying if another process moved a counter
compare_json() {
	"$CTL" show --json | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
hp = "/sys/kernel/mm/hugepages"
bad = []
def rd(p):
    with open(p) as f:
        return int(f.read())
sizes = sorted(int(x[10:-2]) * 1024 for x in os.listdir(hp))
if [s["page_size"] for s in d["page_sizes"]] != sizes:
    bad.append("sizes %s != %s" % ([s["page_size"] for s in d["page_sizes"]], sizes))
mi = dict(l.split(":", 1) for l in open("/proc/meminfo"))
dflt = int(mi["Hugepagesize"].split()[0]) * 1024
if d["default_page_size"] != dflt:
    bad.append("default %d != %d" % (d["default_page_size"], dflt))
for s in d["page_sizes"]:
    base = os.path.join(hp, s["name"])
    if s["default"] != (s["page_size"] == dflt):
        bad.append("default flag of " + s["name"])
    files = [f for f in os.listdir(base) if f in ("nr_hugepages", "free_hugepages",
             "resv_hugepages", "surplus_hugepages", "nr_overcommit_hugepages",
             "nr_hugepages_mempolicy")]
    for f in files:
        if s.get(f) != rd(os.path.join(base, f)):
            bad.append("%s/%s: json %s sysfs %s" % (s["name"], f, s.get(f), rd(os.path.join(base, f))))
    mn = s["nr_hugepages"] - s["surplus_hugepages"]
    if (s["minimum"], s["current"], s["maximum"]) != (mn, s["nr_hugepages"], mn + s["nr_overcommit_hugepages"]):
        bad.append("min/current/max of " + s["name"])
    nodes = sorted(int(n[4:]) for n in os.listdir("/sys/devices/system/node")
                   if n.startswith("node") and os.path.isdir("/sys/devices/system/node/%s/hugepages/%s" % (n, s["name"])))
    if [n["node"] for n in s["nodes"]] != nodes:
        bad.append("nodes of %s: %s != %s" % (s["name"], [n["node"] for n in s["nodes"]], nodes))
    for n in s["nodes"]:
        nb = "/sys/devices/system/node/node%d/hugepages/%s" % (n["node"], s["name"])
        for f in ("nr_hugepages", "free_hugepages", "surplus_hugepages"):
            if n.get(f) != rd(os.path.join(nb, f)):
                bad.append("node%d %s/%s" % (n["node"], s["name"], f))
want = []
for l in open("/proc/mounts"):
    src, dr, typ = l.split()[:3]
    if typ == "hugetlbfs":
        want.append(dr.replace("\\040", " "))
if [m["dir"] for m in d["mounts"]] != want:
    bad.append("mounts %s != %s" % ([m["dir"] for m in d["mounts"]], want))
for m in d["mounts"]:
    if "with space" in m["dir"] and (m["page_size"] != 2097152 or m["size"] != 4194304 or m["min_size"] is not None):
        bad.append("mount options %s" % m)
thp = "/sys/kernel/mm/transparent_hugepage/enabled"
if os.path.exists(thp):
    mode = open(thp).read().split("[")[1].split("]")[0]
    if d["transparent_hugepage"]["enabled"] != mode:
        bad.append("thp %s != %s" % (d["transparent_hugepage"]["enabled"], mode))
if bad:
    print("; ".join(bad))
    sys.exit(1)
'
}
good=0
for i in 1 2 3 4 5; do
	if msg=$(compare_json 2>&1); then good=1; break; fi
	sleep 0.2
done
if [ $good = 1 ]; then ok; else fail "show --json differs from sysfs: $msg"; fi

ctl show --json --size 2M
expect_ok
n=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["page_sizes"]))')
expect_eq "--size 2M sizes" "$n" 1

ctl show --size 3M
expect_fail 2 "unknown huge page size 3M"
ctl show --bogus
expect_fail 2 "unknown option '--bogus'"
ctl show --help
expect_ok
expect_out "^Usage: hugepool-ctl show"

# --- a fake machine: a 10 KB mount line and octal escapes ----------------
FAKE=$(mktemp -d)
on_exit "rm -rf '$FAKE'"
mkdir -p "$FAKE/sys/kernel/mm/hugepages/hugepages-2048kB" "$FAKE/proc" \
	"$FAKE/sys/devices/system/node/node0/hugepages/hugepages-2048kB"
for f in nr_hugepages free_hugepages resv_hugepages surplus_hugepages nr_overcommit_hugepages; do
	echo 7 >"$FAKE/sys/kernel/mm/hugepages/hugepages-2048kB/$f"
done
for f in nr_hugepages free_hugepages surplus_hugepages; do
	echo 7 >"$FAKE/sys/devices/system/node/node0/hugepages/hugepages-2048kB/$f"
done
printf 'Hugepagesize:       2048 kB\n' >"$FAKE/proc/meminfo"
long=$(head -c 10000 /dev/zero | tr '\0' 'x')
{
	echo "overlay / overlay rw,lowerdir=$long 0 0"
	echo 'none /mnt/a\040b\134c hugetlbfs rw,relatime,pagesize=2M,size=4194304 0 0'
	echo "none /mnt/long$long hugetlbfs rw,pagesize=1024M 0 0"
	echo 'none /mnt/bad\377\012"x hugetlbfs rw 0 0'
} >"$FAKE/proc/mounts"
HUGEPOOL_CTL_ROOT=$FAKE run "$CTL" show --json
expect_ok
got=$(printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
m = d["mounts"]
print(len(m), m[0]["dir"], m[0]["size"], len(m[1]["dir"]), m[1]["page_size"],
      d["page_sizes"][0]["nr_hugepages"], ascii(m[2]["dir"]), m[2]["page_size"])')
expect_eq "fake mounts" "$got" "3 /mnt/a b\\c 4194304 10009 1073741824 7 '/mnt/bad\\ufffd\\n\"x' 2097152"

# a kernel without hugetlb: a clear error, not a crash
rm -rf "$FAKE/sys/kernel/mm/hugepages"
HUGEPOOL_CTL_ROOT=$FAKE run "$CTL" show
expect_fail 1 "no huge page support"
