/* SPDX-License-Identifier: MIT */
/*
 * Description: the segment move of HUGEPOOL_SEGMENTS (lib/segments.c) on
 * its own. The plan: whole pages only, bss from the end of the file part,
 * RELRO pages read-only and a page across RELRO's end left out. The move:
 * each kernel call it makes, failed in turn through the seam, leaves the
 * range as it was (same bytes, still 4 kB pages, no huge page kept), and
 * an mremap that took the range away before failing leaves a base-page
 * copy; the move that succeeds has the same bytes on 2 MiB pages with the
 * asked protection (a write to a read-only piece faults, in a child).
 */
#include "internal.h"
#include "segments.h"
#include "../helpers.h"

#include <signal.h>
#include <sys/mman.h>

#define MB (1UL << 20)
static const size_t psz = 2 * MB;

static void plan_cases(void)
{
	ElfW(Phdr) text = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_vaddr = 0x200000,
			    .p_filesz = 0x40084d, .p_memsz = 0x40084d };
	ElfW(Phdr) rw = { .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_vaddr = 0,
			  .p_filesz = 5 * MB, .p_memsz = 9 * MB };
	ElfW(Phdr) relro = { .p_type = PT_GNU_RELRO, .p_flags = PF_R, .p_vaddr = 0,
			     .p_memsz = 3 * MB };
	struct hp_seg_plan p;

	CHECK(hp_seg_plan(&text, NULL, 0x10000000, psz, HP_SEG_TEXT, &p));
	CHECK_EQ(p.npieces, 1);
	CHECK_EQ(p.piece[0].lo, 0x10200000);
	CHECK_EQ(p.piece[0].hi, 0x10600000);
	CHECK_EQ(p.piece[0].prot, PROT_READ | PROT_EXEC);
	CHECK_EQ(hp_seg_covered(&p, HP_SEG_TEXT), 4 * MB);
	CHECK(!hp_seg_plan(&text, NULL, 0, psz, HP_SEG_BSS, &p));
	CHECK(!hp_seg_plan(&rw, NULL, 0, psz, HP_SEG_TEXT, &p));

	/* RELRO [0, 3M): [0, 2M) read-only, [2M, 4M) across its end stays */
	CHECK(hp_seg_plan(&rw, &relro, 0, psz, HP_SEG_DATA | HP_SEG_BSS, &p));
	CHECK_EQ(p.npieces, 2);
	CHECK(p.piece[0].lo == 0 && p.piece[0].hi == 2 * MB && p.piece[0].prot == PROT_READ);
	CHECK(p.piece[1].lo == 4 * MB && p.piece[1].hi == 8 * MB &&
	      p.piece[1].prot == (PROT_READ | PROT_WRITE));
	CHECK_EQ(hp_seg_covered(&p, HP_SEG_DATA), 3 * MB);	/* [0,2M) + [4M,5M) */
	CHECK_EQ(hp_seg_covered(&p, HP_SEG_BSS), 3 * MB);	/* [5M,8M) */
	CHECK_EQ(hp_seg_size(&p, HP_SEG_BSS), 4 * MB);

	/* bss only: from the end of the file part, [5M, 9M) -> [6M, 8M) */
	CHECK(hp_seg_plan(&rw, &relro, 0, psz, HP_SEG_BSS, &p));
	CHECK_EQ(p.npieces, 1);
	CHECK(p.piece[0].lo == 6 * MB && p.piece[0].hi == 8 * MB);
	CHECK_EQ(hp_seg_covered(&p, HP_SEG_DATA), 0);
}

static enum hp_sys_call fail_call;
static int fail_errno;
static bool fail_unmaps;		/* the "kernel" took the target away first */
static void *target;

static int inject(enum hp_sys_call call)
{
	if (call != fail_call || !fail_errno)
		return 0;
	if (fail_unmaps)
		munmap(target, 4 * MB);
	fail_errno = 0;		/* the first call of that kind only */
	return fail_unmaps ? -ENOMEM : -EIO;
}

static void check_bytes(const unsigned char *p)
{
	for (size_t i = 0; i < 4 * MB; i += 4093)
		CHECK_EQ(p[i], (unsigned char)(i * 13));
}

/* The signal a child dies of when it writes to p (0: it did not die) */
static int write_signal(void *p)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		/* the kernel's verdict, not a sanitizer's handler */
		signal(SIGSEGV, SIG_DFL);
		*(volatile char *)p = 1;
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

int main(void)
{
	static const enum hp_sys_call calls[] = { HP_SYS_MEMFD_CREATE, HP_SYS_FTRUNCATE,
		HP_SYS_MMAP, HP_SYS_MADVISE, HP_SYS_MPROTECT, HP_SYS_MREMAP };
	const struct hp_hstate *h;
	struct hp_seg_piece pc;
	long free0;
	void *map;

	plan_cases();
	h = hp_size_to_hstate(psz);
	if (!h)
		skip_or_fail("no 2 MiB huge pages");
	need_free_pages(psz, 4);
	hp_verbose = 0;
	free0 = kernel_counter(psz, "free_hugepages");
	CHECK(hp_sys_mmap(NULL, 6 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0,
			  &map) == 0);
	target = (void *)HP_ALIGN_UP((uintptr_t)map, psz);
	for (size_t i = 0; i < 4 * MB; i++)
		((unsigned char *)target)[i] = (unsigned char)(i * 13);
	pc = (struct hp_seg_piece){ (uintptr_t)target, (uintptr_t)target + 4 * MB, PROT_READ };
	/* without the seam's injection (-Dfault_injection=false) only the
	 * move that succeeds is checked */
	hp_sys_inject = inject;
	for (size_t c = 0; HP_FAULT_INJECTION && c <= ARRAY_SIZE(calls); c++) {
		/* each call fails; last, mremap unmaps the target and then
		 * fails: a base-page copy must stand in for it */
		fail_call = c < ARRAY_SIZE(calls) ? calls[c] : HP_SYS_MREMAP;
		fail_unmaps = c == ARRAY_SIZE(calls);
		fail_errno = EIO;
		CHECK_EQ(hp_seg_move(&pc, h, "hugepool:test:text"), fail_unmaps ? -ENOMEM : -EIO);
		check_bytes(target);
		CHECK_EQ(hp_sys_kernel_page_size(target), 4096);
		CHECK_EQ(kernel_counter(psz, "free_hugepages"), free0);
	}
	hp_sys_inject = NULL;

	CHECK_EQ(hp_seg_move(&pc, h, "hugepool:test:text"), 0);
	check_bytes(target);
	CHECK_EQ(hp_sys_kernel_page_size(target), (long)psz);
	CHECK_EQ(hp_sys_kernel_page_size((char *)target + 4 * MB - 1), (long)psz);
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), free0 - 2);
	CHECK_EQ(write_signal(target), SIGSEGV);
	CHECK(munmap(map, 6 * MB) == 0);
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), free0);
	printf("sys-segments: plan cases, 7 refused moves and 1 move checked\n");
	return T_PASS;
}
