/* SPDX-License-Identifier: MIT */
/* The pool layer of the layer check's self-test; calling down is fine. */
int hp_sys_bad(int n);
int hp_pool_grow(int n);

int hp_pool_grow(int n)
{
	return n > 0 ? n : hp_sys_bad(1);
}
