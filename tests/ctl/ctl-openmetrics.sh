#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-openmetrics.sh - show and stats as metrics (issue 17), checked by a
# strict parser (openmetrics-check.py: why not promtool is said there):
#  - show --format openmetrics on this machine parses, and its values are
#    the sysfs counters; --format prometheus parses as text 0.0.4;
#  - on a fake tree: a v2 cgroup's limit, usage, events (a counter,
#    _total) and +Inf for no limit; a mount point whose name needs label
#    escaping (a quote, a backslash);
#  - stats --format openmetrics for a live helper process: labels pid,
#    comm, pool, size, node; values equal to stats --json;
#  - a bad --format is one line and exit 2.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

need_root
need_size hugepages-2048kB
command -v python3 >/dev/null || skip "python3 not found"
CHECK="python3 $(dirname "$0")/openmetrics-check.py"
P=$HP/hugepages-2048kB
W=$(mktemp -d)
on_exit "rm -rf '$W'"

# parse STDIN-FILE [--prometheus]: the checker's sample list in $W/samples
parse() {
	if $CHECK "${@:2}" <"$1" >"$W/samples"; then ok; else fail "$(cat "$W/samples")"; fi
}
val() {	# val 'name{labels}': the value
	grep -F "$1 " "$W/samples" | head -1 | awk '{print $NF}'
}

ctl show --format openmetrics
expect_ok
printf '%s\n' "$OUT" >"$W/om"
parse "$W/om"
expect_eq "nr_hugepages" "$(val 'hugepool_kernel_pages{size="2M"}')" "$(cat "$P/nr_hugepages")"
expect_eq "overcommit" "$(val 'hugepool_kernel_overcommit_pages{size="2M"}')" \
	"$(cat "$P/nr_overcommit_hugepages")"
expect_eq "page size" "$(val 'hugepool_kernel_page_size_bytes{size="2M"}')" 2097152
grep -q '^# UNIT hugepool_kernel_pool_bytes bytes$' "$W/om" && ok || fail "no # UNIT line"
ctl show --format prometheus
expect_ok
printf '%s\n' "$OUT" >"$W/prom"
parse "$W/prom" --prometheus
# the strict checker does catch a wrong format: prometheus text is not
# OpenMetrics (no # EOF)
$CHECK <"$W/prom" >/dev/null && fail "checker accepted text without # EOF" || ok

# --- fake tree: cgroup v2 and an awkward mount point ----------------------
F=$W/fake
d=$F/sys/kernel/mm/hugepages/hugepages-2048kB
mkdir -p "$d" "$F/proc/self" "$F/sys/fs/cgroup/app"
for f in nr_hugepages free_hugepages resv_hugepages surplus_hugepages nr_overcommit_hugepages; do
	echo 0 >"$d/$f"
done
echo 16 >"$d/nr_hugepages"
printf 'Hugepagesize:       2048 kB\n' >"$F/proc/meminfo"
printf 'cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\nhugetlbfs /mnt/a\\042b\\134c hugetlbfs rw,pagesize=2M 0 0\n' \
	>"$F/proc/mounts"
printf '0::/app\n' >"$F/proc/self/cgroup"
echo 'hugetlb' >"$F/sys/fs/cgroup/cgroup.controllers"
echo 'hugetlb' >"$F/sys/fs/cgroup/app/cgroup.controllers"
echo 8388608 >"$F/sys/fs/cgroup/app/hugetlb.2MB.max"
echo 2097152 >"$F/sys/fs/cgroup/app/hugetlb.2MB.current"
echo max >"$F/sys/fs/cgroup/app/hugetlb.2MB.rsvd.max"
echo 4194304 >"$F/sys/fs/cgroup/app/hugetlb.2MB.rsvd.current"
printf 'max 7\n' >"$F/sys/fs/cgroup/app/hugetlb.2MB.events"
HUGEPOOL_CTL_ROOT=$F run "$CTL" show --format openmetrics
expect_ok
printf '%s\n' "$OUT" >"$W/fake.om"
parse "$W/fake.om"
L='{cgroup="/sys/fs/cgroup/app",size="2M",version="2"}'
expect_eq "cgroup max" "$(val "hugepool_cgroup_hugetlb_limit_bytes$L")" 8388608
expect_eq "cgroup current" "$(val "hugepool_cgroup_hugetlb_usage_bytes$L")" 2097152
expect_eq "cgroup rsvd.max" "$(val "hugepool_cgroup_hugetlb_reservation_limit_bytes$L")" +Inf
expect_eq "cgroup events" "$(val "hugepool_cgroup_hugetlb_limit_hits_total$L")" 7
expect_eq "cgroup room" "$(val "hugepool_cgroup_hugetlb_room_pages$L")" 3
grep -qF 'hugepool_hugetlbfs_mount_info{dir="/mnt/a\"b\\c",size="2M"} 1' "$W/fake.om" &&
	ok || fail "mount label not escaped: $(grep mount_info "$W/fake.om")"
# the text and JSON views of the same cgroup
HUGEPOOL_CTL_ROOT=$F run "$CTL" show
expect_out "^  /sys/fs/cgroup/app \(v2\)$"
expect_out "^    2M +8M +2M +max +4M +7 +3$"
HUGEPOOL_CTL_ROOT=$F run "$CTL" show --json
printf '%s' "$OUT" | python3 -c '
import json, sys
c = json.load(sys.stdin)["cgroups"][0]
s = c["sizes"][0]
ok = (c["version"] == 2 and c["path"] == "/sys/fs/cgroup/app" and s["max"] == 8388608 and
      s["current"] == 2097152 and s["rsvd_max"] is None and s["events_max"] == 7 and
      s["room_pages"] == 3)
sys.exit(0 if ok else str(c))' && ok || fail "show --json cgroups"

# --- stats of a live process ----------------------------------------------
free=$(($(cat "$P/free_hugepages") - $(cat "$P/resv_hugepages")))
[ "$free" -ge 8 ] || skip "fewer than 8 free 2M pages"
start_helper pool
ctl stats "$HPID" --format openmetrics
expect_ok
printf '%s\n' "$OUT" >"$W/stats.om"
parse "$W/stats.om"
ctl stats "$HPID" --json
printf '%s' "$OUT" >"$W/stats.json"
python3 - "$W/stats.json" "$W/samples" "$HPID" <<'PY' && ok || fail "stats metrics differ from --json"
import json, sys
d = json.load(open(sys.argv[1]))
samples = {}
for line in open(sys.argv[2]):
    k, v = line.rsplit(' ', 1)
    samples[k] = v.strip()
bad = []
for p in d["pools"]:
    base = 'comm="%s",pid="%s",pool="%s"' % (d["comm"], sys.argv[3], p["name"])
    for fam, key in (("hugepool_pool_pages", "nr_pages"),
                     ("hugepool_pool_allocations_total", "allocs"),
                     ("hugepool_pool_in_use_bytes", "bytes_in_use"),
                     ("hugepool_pool_faulted_pages_total", "pages_faulted")):
        k = [s for s in samples if s.startswith(fam + "{" + base + ",size=")]
        if len(k) != 1 or int(samples[k[0]]) != p[key]:
            bad.append((fam, k, p[key]))
    if p["nodes"] and not any(s.startswith("hugepool_pool_node_pages{") and 'node="0"' in s and
                              'pid="%s"' % sys.argv[3] in s for s in samples):
        bad.append("no node samples")
if not d["pools"] or bad:
    sys.exit(str(bad or "no pools"))
PY
ctl stats --format prometheus
expect_ok
printf '%s\n' "$OUT" >"$W/all.prom"
parse "$W/all.prom" --prometheus
grep -q "^hugepool_pool_allocations_total{.*pid=\"$HPID\"" "$W/all.prom" && ok ||
	fail "stats (all) lacks the helper"

ctl show --format yaml
expect_fail 2 "--format yaml: expected text, json, openmetrics or prometheus"
ctl stats --format xml
expect_fail 2 "--format xml: expected text, json, openmetrics or prometheus"
