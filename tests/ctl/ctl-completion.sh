#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-completion.sh - the bash completion (contrib/hugepool-ctl.bash),
# driven as bash drives it (COMP_WORDS/COMP_CWORD, then COMPREPLY):
#  - commands, each command's options, option values (page sizes of this
#    kernel, nodes, formats), positional arguments;
#  - it stays in step with the binary: every command of 'hugepool-ctl
#    --help' and every long option of each 'hugepool-ctl CMD --help' is
#    offered.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

S=${HUGEPOOL_TEST_SRCDIR:?}
set +u
# shellcheck source=/dev/null
source "$S/contrib/hugepool-ctl.bash"
set -u
complete -p hugepool-ctl | grep -q -- "-F _hugepool_ctl" && ok || fail "not registered"

comp() {	# comp WORD...: complete the last word; the result in $GOT
	COMP_WORDS=(hugepool-ctl "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	# bash runs completion functions without errexit
	set +e
	_hugepool_ctl
	set -e
	GOT=" ${COMPREPLY[*]} "
}
offers() {	# offers WORD: the last comp offered it
	case $GOT in *" $1 "*) ok ;; *) fail "'${COMP_WORDS[*]}' does not offer '$1' (got:$GOT)" ;; esac
}
srt() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
# shellcheck disable=SC2086
exactly() { expect_eq "completion of '${COMP_WORDS[*]}'" "$(srt $GOT)" "$(srt "$@")"; }

comp ""
for c in show set mount umount apply run stats explain; do offers "$c"; done
comp s
exactly segments set setup show stats
comp ex
exactly explain
comp show --f
exactly --format
comp show --format ""
exactly text json openmetrics prometheus
comp stats --format o
exactly openmetrics
sizes=$(for d in /sys/kernel/mm/hugepages/hugepages-*kB; do
	kb=${d##*-}; kb=${kb%kB}
	[ $((kb % 1048576)) = 0 ] && echo $((kb / 1048576))G || echo $((kb / 1024))M
done | sort | tr '\n' ' ')
comp set ""
expect_eq "set SIZE" "$(printf '%s\n' $GOT | sort | tr '\n' ' ')" "$sizes"
comp set 2M ""
exactly
comp mount /mnt --pagesize ""
expect_eq "mount --pagesize" "$(printf '%s\n' $GOT | sort | tr '\n' ' ')" "$sizes"
comp mount /mnt --size ""
exactly
comp mount --n
exactly --nr-inodes
comp set 2M --node ""
offers 0
comp thp --enabled m
exactly madvise
comp explain --cgroup /sy
offers /sys
comp help e
exactly explain

# in step with the binary
cmds=$("$CTL" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
[ -n "$cmds" ] && ok || fail "no commands in hugepool-ctl --help"
for c in $cmds; do
	comp "$c"
	offers "$c"
	# the options of the help's option list ("  -n, --node N", "      --mkdir")
	opts=$("$CTL" "$c" --help | grep -oE -- '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' |
		grep -oE -- '--[a-z][a-z-]*' | sort -u)
	for o in $opts; do
		comp "$c" "${o:0:3}"
		offers "$o"
	done
done
