#!/bin/bash
# SPDX-License-Identifier: MIT
# bench-heap.sh - hugepool-bench's whole-heap scenarios (issue 14: larson,
# prodcons, mix, chase) end to end at tiny sizes, one run, glibc against
# the preload at threshold 0 (and at the default): every scenario gives
# each of them a time, held memory and a share on hugetlb pages read back
# from smaps, and a verdict line per target. The shares are checked
# against what must be: glibc's heap is all on 4 KiB pages (0%), the
# preload's at threshold 0 mostly on hugetlb ones. Not a measurement: CI
# runs the bench only here, short; docs/BENCHMARKS.md has the figures.
set -euo pipefail
BENCH=${1:?usage: bench-heap.sh HUGEPOOL-BENCH}
LIB=${HUGEPOOL_TEST_LIB:?}
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
if [ "$free" -lt 128 ]; then
	echo "bench-heap: $free free 2 MiB pages, 128 needed"
	[ "${HUGEPOOL_TEST_REQUIRE:-0}" = 1 ] && exit 1
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$BENCH" larson prodcons mix chase --runs 1 --peers glibc --small-ops 20000 \
	--heap-slots 1000 --chase-nodes 20000 --timeout 60 --lib "$LIB" \
	--csv "$dir/out.csv" >"$dir/out.txt" 2>&1 || { cat "$dir/out.txt"; exit 1; }
python3 - "$dir/out.csv" "$dir/out.txt" <<'PY'
import csv, sys
rows = {(r['metric'], r['peer']): r for r in csv.DictReader(open(sys.argv[1]))}
text = open(sys.argv[2]).read()
fails = []
for scen in ('larson', 'prodcons', 'mix', 'chase'):
    for peer in ('glibc', 'hugepool-preload-t0', 'hugepool-preload'):
        for metric in (scen, scen + '-held', scen + '-huge'):
            r = rows.get((metric, peer))
            if not r or r['runs'] != '1' or r['median'] == '':
                fails.append('%s %s: no figure (%s)' % (metric, peer, r and r['status']))
            elif metric != scen + '-huge' and float(r['median']) <= 0:
                fails.append('%s %s: %s is not a time or a size' % (metric, peer, r['median']))
    g = rows.get((scen + '-huge', 'glibc'))
    h = rows.get((scen + '-huge', 'hugepool-preload-t0'))
    if g and g['median'] and float(g['median']) != 0:
        fails.append('%s: glibc has %s%% of its heap on hugetlb pages' % (scen, g['median']))
    if h and h['median'] and float(h['median']) < 50:
        fails.append('%s: threshold 0 has only %s%% of the heap on hugetlb pages' % (scen, h['median']))
    if 'target: %s at threshold 0, >= 99%% of the heap' % scen not in text:
        fails.append('%s: no share verdict' % scen)
for t in ('target: larson at threshold 0 within 10%', 'target: prodcons at threshold 0 ahead of glibc',
          'target: mix at threshold 0 within 10%', 'target: chase at threshold 0 >= 1.3x faster'):
    if t not in text:
        fails.append('missing: ' + t)
for f in fails:
    print('bench-heap: FAIL: ' + f)
if fails:
    print(text)
    sys.exit(1)
print('bench-heap: %d figures, the verdicts:' % len(rows))
print('\n'.join(l for l in text.splitlines() if 'target:' in l))
PY
