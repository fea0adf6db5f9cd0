#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-systemd.sh - the boot unit (contrib/hugepool.service, as built):
#  - systemd-analyze verify accepts it with nothing to say (its
#    Documentation= man page is found: MANPATH points at docs/);
#  - it is ordered before sysinit.target (so before ordinary services),
#    after systemd-sysctl, wanted by sysinit.target, oneshot and
#    RemainAfterExit;
#  - its ExecStart, run as the unit would run it (the installed path
#    replaced by the build's binary, /etc/hugepool.conf by a test file):
#    a file the machine can satisfy exits 0 and changes the pool; a file
#    whose pages fall short exits 1 with one line (the unit fails
#    visibly) and leaves the machine as it was.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

need_root
need_size hugepages-2048kB
command -v systemd-analyze >/dev/null || skip "systemd-analyze not found (Debian: systemd)"
take_snapshot
B=${HUGEPOOL_TEST_BUILDDIR:?}
S=${HUGEPOOL_TEST_SRCDIR:?}
UNIT=$B/contrib/hugepool.service
[ -f "$UNIT" ] || { fail "$UNIT not built"; exit 1; }
W=$(mktemp -d)
on_exit "rm -rf '$W'"
P=$HP/hugepages-2048kB

mkdir -p "$W/man/man8" "$W/unit"
cp "$S/docs/hugepool-ctl.8" "$W/man/man8/"
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
installed=${exec_start%% *}
[ "$(basename "$installed")" = hugepool-ctl ] && ok || fail "ExecStart runs $installed"
expect_eq "ExecStart arguments" "${exec_start#* }" "apply /etc/hugepool.conf"
# verify checks that ExecStart exists: point it at the build's binary
sed "s|^ExecStart=$installed |ExecStart=$(readlink -f "$CTL") |" "$UNIT" >"$W/unit/hugepool.service"
run env MANPATH="$W/man" systemd-analyze verify "$W/unit/hugepool.service"
expect_eq "systemd-analyze verify status" "$RC" 0
expect_eq "systemd-analyze verify says nothing" "$OUT$ERR" ""
# it does catch a broken unit
printf 'Bogus=1\n' >>"$W/unit/hugepool.service"
run env MANPATH="$W/man" systemd-analyze verify "$W/unit/hugepool.service"
[ -n "$ERR" ] && ok || fail "verify said nothing about a bad key"

has() { grep -qx "$1" "$UNIT" && ok || fail "unit lacks '$1'"; }
has "Before=sysinit.target shutdown.target"
has "After=systemd-sysctl.service local-fs.target"
has "DefaultDependencies=no"
has "WantedBy=sysinit.target"
has "Type=oneshot"
has "RemainAfterExit=yes"
has "ConditionPathExists=/etc/hugepool.conf"

# its command, on a file the machine can satisfy
n=$(cat "$P/nr_hugepages")
printf 'pool 2M count=%s\n' $((n + 2)) >"$W/hugepool.conf"
cmd=${exec_start/#$installed/$CTL}
cmd=${cmd/\/etc\/hugepool.conf/$W/hugepool.conf}
run $cmd
expect_ok
expect_eq "pool after the unit's command" "$(cat "$P/nr_hugepages")" $((n + 2))
run $cmd
expect_ok
expect_out "already $((n + 2))"
echo "$n" >"$P/nr_hugepages"

# pages that fall short: exit 1, one line, nothing changed
printf 'pool 2M count=%s\nmount %s pagesize=2M min_size=100G mkdir=yes\n' $((n + 2)) "$W/mnt" \
	>"$W/hugepool.conf"
run $cmd
expect_fail 1 "min_size=107374182400 \(51200 pages\) cannot be reserved"
unchanged "the unit's command on a short machine"
[ ! -e "$W/mnt" ] && ok || fail "left $W/mnt behind"
