/* SPDX-License-Identifier: MIT */
/*
 * A deliberately bad "sys.c" for the layer check's self-test: the lowest
 * layer calls hp_pool_grow of the pool layer (bad/pool.c).
 */
int hp_pool_grow(int n);
int hp_sys_bad(int n);

int hp_sys_bad(int n)
{
	return hp_pool_grow(n);
}
