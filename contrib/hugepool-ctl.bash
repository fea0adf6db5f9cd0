# SPDX-License-Identifier: MIT
# bash completion for hugepool-ctl(8). Standalone: it uses only bash
# (compgen), not bash-completion's helpers, so that it also works where
# that package is not installed. Page sizes are this kernel's, read from
# /sys/kernel/mm/hugepages.

_hugepool_ctl_sizes()
{
	local d kb
	for d in /sys/kernel/mm/hugepages/hugepages-*kB; do
		[ -d "$d" ] || continue
		kb=${d##*hugepages-}
		kb=${kb%kB}
		if [ $((kb % 1048576)) = 0 ]; then
			echo "$((kb / 1048576))G"
		elif [ $((kb % 1024)) = 0 ]; then
			echo "$((kb / 1024))M"
		else
			echo "${kb}K"
		fi
	done
}

_hugepool_ctl_nodes()
{
	local d
	for d in /sys/devices/system/node/node[0-9]*; do
		[ -d "$d" ] && echo "${d##*node}"
	done
}

_hugepool_ctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmds="show set mount umount apply run segments stats explain thp setup clear hugeadm hugectl pagesize help"
	local cmd="" i opts=""

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "$cmds --help --version" -- "$cur"))
		return
	fi

	# values of options
	case $prev in
	--pagesize | --page-size | -p | --size | -s)
		[ "$cmd" = mount ] && [ "$prev" = --size ] && return
		COMPREPLY=($(compgen -W "$(_hugepool_ctl_sizes)" -- "$cur"))
		return ;;
	--node | -n)
		COMPREPLY=($(compgen -W "$(_hugepool_ctl_nodes)" -- "$cur"))
		return ;;
	--format | -f)
		COMPREPLY=($(compgen -W "text json openmetrics prometheus" -- "$cur"))
		return ;;
	--stats)
		return ;;
	--cgroup | -c | --stats-file | --mount)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	--uid | -u)
		COMPREPLY=($(compgen -u -- "$cur"))
		return ;;
	--gid | -g)
		COMPREPLY=($(compgen -g -- "$cur"))
		return ;;
	--enabled)
		COMPREPLY=($(compgen -W "always madvise never" -- "$cur"))
		return ;;
	--defrag)
		COMPREPLY=($(compgen -W "always defer defer+madvise madvise never" -- "$cur"))
		return ;;
	--shmem-enabled)
		COMPREPLY=($(compgen -W "always within_size advise never deny force" -- "$cur"))
		return ;;
	--khugepaged-defrag)
		COMPREPLY=($(compgen -W "0 1" -- "$cur"))
		return ;;
	--overcommit | -o | --retry | -r | --min-size | -m | --mode | -M | --nr-inodes | \
	--threshold | --min | --max | --nodes | --policy | --verbose)
		return ;;
	esac

	case $cmd in
	show) opts="--json --format --size --cgroup --help" ;;
	set) opts="--node --overcommit --dry-run --retry --help" ;;
	mount) opts="--pagesize --size --min-size --nr-inodes --uid --gid --mode --mkdir --dry-run --help" ;;
	umount) opts="--lazy --dry-run --help" ;;
	apply) opts="--dry-run --help" ;;
	run) opts="--page-size --threshold --min --max --nodes --policy --fallback --stats --stats-file --verbose --text --data --bss --shm --dry-run --library --help" ;;
	segments) opts="--help" ;;
	stats) opts="--json --format --help" ;;
	explain) opts="--json --all --cgroup --help" ;;
	thp) opts="--enabled --defrag --shmem-enabled --khugepaged-defrag --dry-run --help" ;;
	setup) opts="--pagesize --node --mount --dry-run --help" ;;
	clear) opts="--pagesize --unmount --dry-run --help" ;;
	hugeadm) opts="--pool-pages-min --pool-pages-max --hard --pool-list --create-mounts --create-global-mounts --create-user-mounts --create-group-mounts --list-all-mounts --page-sizes --page-sizes-all --explain --thp-always --thp-madvise --thp-never --dry-run --help" ;;
	hugectl) opts="--heap --text --data --bss --shm --verbose --dry-run --thp --no-reserve --share-text --no-preload --force-preload --library-use-path --library-path --help" ;;
	pagesize) opts="--all --huge-only --help" ;;
	help) COMPREPLY=($(compgen -W "$cmds" -- "$cur")); return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	# positional arguments
	local npos=0
	for ((i = i + 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) case ${COMP_WORDS[i - 1]} in
		   --pagesize | --page-size | -p | --size | -s | --node | -n | --format | -f | \
		   --cgroup | -c | --overcommit | -o | --retry | -r | --min-size | -m | --uid | -u | \
		   --gid | -g | --mode | -M | --nr-inodes | --mount | --enabled | --defrag | \
		   --shmem-enabled | --khugepaged-defrag | --stats-file) ;;
		   *) npos=$((npos + 1)) ;;
		   esac ;;
		esac
	done
	case $cmd in
	set) [ "$npos" = 0 ] && COMPREPLY=($(compgen -W "$(_hugepool_ctl_sizes)" -- "$cur")) ;;
	mount | umount) [ "$npos" = 0 ] && COMPREPLY=($(compgen -d -- "$cur")) ;;
	apply | segments) [ "$npos" = 0 ] && COMPREPLY=($(compgen -f -- "$cur")) ;;
	run | hugectl) COMPREPLY=($(compgen -c -- "$cur")) ;;
	stats) [ "$npos" = 0 ] && COMPREPLY=($(compgen -W "$(cd /proc && ls -d [0-9]* 2>/dev/null)" -- "$cur")) ;;
	esac
	return 0
}
complete -F _hugepool_ctl hugepool-ctl
