/* SPDX-License-Identifier: MIT */
/* A file in no layer of the table: the layer check must refuse it. */
int hp_mystery(void);

int hp_mystery(void)
{
	return 0;
}
