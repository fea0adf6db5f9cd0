#!/bin/sh
# SPDX-License-Identifier: MIT
# install-ldconfig.sh LIBDIR - run by `meson install`: refresh ld.so's cache
# so that libhugepool.so.0 is found by programs linked with -lhugepool and
# by LD_PRELOAD=libhugepool.so (ld.so ignores a preload it cannot find, with
# only a warning). Skipped for staged installs (DESTDIR: packagers run
# ldconfig in their postinst) and for non-root users, who cannot write the
# cache (they get a hint instead).
libdir=$1
if [ -n "${DESTDIR:-}" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-ldconfig: not root: run 'ldconfig' as root, or set LD_LIBRARY_PATH=$libdir" >&2
	exit 0
fi
# a libdir ld.so does not search (e.g. /opt/hugepool/lib): tell it
if ! ldconfig -p | grep -q "libhugepool.so.0 .*=> $libdir/" &&
   ! grep -qsx "$libdir" /etc/ld.so.conf /etc/ld.so.conf.d/*.conf; then
	case $libdir in
	/lib | /lib64 | /usr/lib | /usr/lib64 | /usr/lib/*-linux-gnu | /usr/local/lib | /usr/local/lib/*-linux-gnu) ;;
	*) echo "$libdir" >/etc/ld.so.conf.d/hugepool.conf ;;
	esac
fi
ldconfig
