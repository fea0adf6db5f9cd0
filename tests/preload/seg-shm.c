/* SPDX-License-Identifier: MIT */
/*
 * seg-shm.c - a small SysV shm program for HUGEPOOL_SHM (segments.sh):
 * creates a private segment of 3 MiB + 100 bytes, attaches it, writes and
 * reads it back, prints what it read and, with "where", the KernelPageSize
 * (kB) of the attached segment from /proc/self/smaps and the size the
 * kernel gave the segment (shmctl IPC_STAT). The segment is removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>

#include "../support/support.h"

#define SEG_SIZE ((3UL << 20) + 100)

/* KernelPageSize of the mapping at addr, in kB (tests/support) */
static long kernel_page_kb(const void *addr)
{
	long b = smaps_page_size(addr);

	return b > 0 ? b >> 10 : b;
}

int main(int argc, char **argv)
{
	struct shmid_ds ds;
	unsigned long sum = 0;
	int id = shmget(IPC_PRIVATE, SEG_SIZE, IPC_CREAT | 0600);
	unsigned char *p;

	if (id < 0) {
		perror("shmget");
		return 1;
	}
	p = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);	/* gone once detached, whatever happens */
	if (p == (void *)-1) {
		perror("shmat");
		return 1;
	}
	for (size_t i = 0; i < SEG_SIZE; i++)
		p[i] = (unsigned char)(i * 7);
	for (size_t i = 0; i < SEG_SIZE; i++)
		sum += p[i];
	printf("shm sum %lu\n", sum);
	if (argc > 1 && !strcmp(argv[1], "where")) {
		shmctl(id, IPC_STAT, &ds);
		printf("shm page %ld kB, segment %zu bytes\n", kernel_page_kb(p), (size_t)ds.shm_segsz);
	}
	shmdt(p);
	return 0;
}
