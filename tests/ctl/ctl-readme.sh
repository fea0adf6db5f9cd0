#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl-readme.sh - the README's C example compiles, without a warning, as
# C (gnu11, c11) and as C++ 11, 17 and 20 (issue 17: it used designated
# initializers, C++20 only, and warned there), against the source tree's
# header. Compile only: it is a fragment, wrapped in a function here.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"

S=${HUGEPOOL_TEST_SRCDIR:?}
W=$(mktemp -d)
on_exit "rm -rf '$W'"
# the first ```c block of the README: #includes first, the rest in a function
awk '/^```c$/ {on = 1; next} on && /^```$/ {exit} on' "$S/README.md" >"$W/block"
[ -s "$W/block" ] && ok || { fail "no C block in README.md"; exit 1; }
{
	grep '^#include' "$W/block"
	echo 'int readme_example(void);'
	echo 'int readme_example(void) {'
	grep -v '^#include' "$W/block"
	echo 'return 0; }'
} >"$W/ex.c"
cp "$W/ex.c" "$W/ex.cc"
for std in gnu11 c11; do
	run cc -std=$std -Wall -Wextra -Werror -pedantic -I"$S/include" -c "$W/ex.c" -o "$W/ex.o"
	expect_eq "README example as C ($std): $ERR" "$RC" 0
done
command -v c++ >/dev/null || skip "no C++ compiler (g++)"
for std in c++11 c++17 c++20; do
	run c++ -std=$std -Wall -Wextra -Werror -pedantic -I"$S/include" -c "$W/ex.cc" -o "$W/ex.o"
	expect_eq "README example as C++ ($std): $ERR" "$RC" 0
done
