#!/bin/bash
# SPDX-License-Identifier: MIT
# Description: the installed library is usable as documented: `meson install`
# into a scratch prefix, then a three-line program built with
# `pkg-config --cflags --libs hugepool` against it runs and prints the
# version; only hugepool_* and the malloc family are exported.
set -euo pipefail
build=${HUGEPOOL_TEST_BUILDDIR:?}
dest=$(mktemp -d /tmp/hugepool-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

DESTDIR=$dest meson install -C "$build" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name hugepool.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no hugepool.pc installed"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs hugepool)
echo "pkg-config: $flags"
[ -f "$dest$prefix/include/hugepool/hugepool.h" ] || { echo "FAIL: header not installed"; exit 1; }
man=$(find "$dest" -name 'hugepool.7*' -o -name 'hugepool-ctl.8*' | wc -l)
[ "$man" -ge 2 ] || { echo "FAIL: man pages not installed"; exit 1; }

cat > "$dest/three.c" <<'C'
#include <hugepool/hugepool.h>
#include <stdio.h>
int main(void) { printf("hugepool %s, %d page sizes\n", hugepool_version(), hugepool_page_sizes(NULL, 0)); return 0; }
C
# shellcheck disable=SC2086
cc -o "$dest/three" "$dest/three.c" $flags
libdir=$(dirname "$(find "$dest" -name 'libhugepool.so' | head -n 1)")
out=$(LD_LIBRARY_PATH=$libdir "$dest/three")
echo "$out"
case $out in
"hugepool $(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'), "*) ;;
*) echo "FAIL: unexpected output"; exit 1 ;;
esac

# the ABI: nothing but hugepool_*, the malloc family and shmget (HUGEPOOL_SHM)
bad=$(nm -D --defined-only "$libdir/libhugepool.so" | awk '{print $3}' |
	grep -v -E '^(hugepool_[a-z_]+|malloc|free|calloc|realloc|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size|shmget)$' || true)
[ -z "$bad" ] || { echo "FAIL: unexpected exported symbols: $bad"; exit 1; }
echo "install: ok"
