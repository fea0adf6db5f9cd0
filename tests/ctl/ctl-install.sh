#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-install.sh - first use after `meson install` (issue 17): a real
# install (no DESTDIR) of a -Dstatic=true build into a scratch prefix whose
# libdir ld.so does not search, as root:
#  - install runs ldconfig: a program linked with -lhugepool starts with no
#    LD_LIBRARY_PATH, and LD_PRELOAD=libhugepool.so (no path) is honoured
#    (both failed before: "cannot open shared object file", preload ignored);
#  - libhugepool.a links a static-library program (pkg-config --static);
#  - the section-3 pages (one per family, a .so page per function), the
#    bash completion and hugepool.service are installed; every exported
#    hugepool_* function has a page, and the pages format without warnings;
#  - HUGEPOOL_VERSION_MAJOR/MINOR/PATCH in the installed header are the
#    project's version.
# The ld.so.conf.d entry is removed and ldconfig run again at exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

[ "$(id -u)" = 0 ] || skip "needs root (ldconfig)"
command -v cc >/dev/null || skip "no C compiler"
S=${HUGEPOOL_TEST_SRCDIR:?}
B=${HUGEPOOL_TEST_BUILDDIR:?}
W=$(mktemp -d /tmp/hugepool-inst.XXXXXX)
chmod 755 "$W"
CONF=/etc/ld.so.conf.d/hugepool.conf
if [ -e "$CONF" ]; then
	cp -p "$CONF" "$W/saved.conf"
	on_exit "cp -p '$W/saved.conf' '$CONF'; ldconfig"
else
	on_exit "rm -f '$CONF'; ldconfig"
fi
on_exit "rm -rf '$W'"
P=$W/prefix
version=$(meson introspect --projectinfo "$B" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')

run meson setup "$W/build" "$S" --prefix="$P" -Dstatic=true -Dtests=disabled \
	-Dsystemd_unit_dir="$P/lib/systemd/system" -Dbash_completion_dir="$P/share/bash-completion/completions"
[ "$RC" = 0 ] || { fail "meson setup: $OUT $ERR"; exit 1; }
run ninja -C "$W/build"
[ "$RC" = 0 ] || { fail "ninja: $(printf '%s' "$OUT" | tail -5)"; exit 1; }
run meson install -C "$W/build" --no-rebuild
[ "$RC" = 0 ] || { fail "meson install: $ERR"; exit 1; }
ok
so=$(find "$P" -name 'libhugepool.so.0' | head -1)
libdir=$(dirname "$so")
expect_eq "ld.so.conf.d entry" "$(cat "$CONF" 2>/dev/null)" "$libdir"
ldconfig -p | grep -q "libhugepool.so.0 .*=> $libdir/libhugepool.so.0" && ok ||
	fail "ldconfig's cache lacks $libdir/libhugepool.so.0"

export PKG_CONFIG_PATH=$libdir/pkgconfig
cat >"$W/prog.c" <<'C'
#include <hugepool/hugepool.h>
#include <stdio.h>
#if HUGEPOOL_VERSION_NUMBER < HUGEPOOL_VERSION_ENCODE(0, 1, 0)
#error version macros
#endif
int main(void)
{
	printf("%s %d.%d.%d\n", hugepool_version(), HUGEPOOL_VERSION_MAJOR,
	       HUGEPOOL_VERSION_MINOR, HUGEPOOL_VERSION_PATCH);
	return 0;
}
C
# shellcheck disable=SC2046
cc -o "$W/prog" "$W/prog.c" $(pkg-config --cflags --libs hugepool)
run env -u LD_LIBRARY_PATH "$W/prog"
expect_ok
expect_eq "linked program (no LD_LIBRARY_PATH)" "$OUT" "$version $version"
# shellcheck disable=SC2046
cc -static-libgcc -o "$W/prog-static" "$W/prog.c" \
	$(pkg-config --cflags hugepool) "$libdir/libhugepool.a" $(pkg-config --static --libs-only-l hugepool | sed 's/-lhugepool//')
readelf -d "$W/prog-static" | grep -q 'libhugepool' && fail "static program needs libhugepool.so" || ok
run env -u LD_LIBRARY_PATH "$W/prog-static"
expect_eq "static-library program" "$OUT" "$version $version"

# the preload by name: HUGEPOOL_STATS prints only if libhugepool is loaded
run env -u LD_LIBRARY_PATH LD_PRELOAD=libhugepool.so HUGEPOOL_STATS=json HUGEPOOL_VERBOSE=1 /bin/true
printf '%s' "$ERR" | grep -q "cannot be preloaded" && fail "preload by name ignored: $ERR" || ok
run env -u LD_LIBRARY_PATH LD_PRELOAD=libhugepool.so /bin/sh -c 'grep -c libhugepool /proc/$$/maps'
[ "${OUT:-0}" -ge 1 ] && ok || fail "LD_PRELOAD=libhugepool.so not mapped: $ERR"

# man pages, completion, unit
man3=$P/share/man/man3
for f in $(grep -oE '^\s+hugepool_[a-z_]+;' "$S/lib/libhugepool.map" | tr -d ' \t;'); do
	[ -f "$man3/$f.3" ] && ok || fail "no man page for $f"
done
[ "$(head -c 4 "$man3/hugepool_calloc.3")" = ".so " ] && ok || fail "hugepool_calloc.3 is not a .so page"
warn=$(cd "$P/share/man" && groff -man -ww -z man3/*.3 2>&1 || true)
expect_eq "groff warnings" "$warn" ""
# hugepool-ctl(8), with its migration table (tbl), formats without a warning
warn=$(MANWIDTH=80 man -l "$P/share/man/man8/hugepool-ctl.8" 2>&1 >/dev/null || true)
expect_eq "hugepool-ctl.8 warnings" "$warn" ""
run env MANPATH="$P/share/man" man -w hugepool_region_populate
# man follows the .so page to the family page
expect_eq "man finds hugepool_region_populate" "$OUT" "$man3/hugepool_region_reserve.3"
[ -f "$P/share/bash-completion/completions/hugepool-ctl" ] && ok || fail "completion not installed"
grep -q "^ExecStart=$P/sbin/hugepool-ctl apply /etc/hugepool.conf$" "$P/lib/systemd/system/hugepool.service" &&
	ok || fail "hugepool.service not installed with this prefix's hugepool-ctl"
[ -f "$P/share/doc/hugepool/examples/hugepool.conf" ] && ok || fail "example config not installed"
# a staged install (packages) does not touch the system's cache
rm -f "$CONF"
ldconfig
run env DESTDIR="$W/stage" meson install -C "$W/build" --no-rebuild
expect_ok
[ ! -e "$CONF" ] && ok || fail "DESTDIR install wrote $CONF"
