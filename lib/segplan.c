/* SPDX-License-Identifier: MIT */
/*
 * segplan.c - the plan of HUGEPOOL_SEGMENTS: which whole huge pages of an
 * ELF PT_LOAD segment can move, with which protection (text r-x, data and
 * bss as the segment, RELRO read-only, a page across RELRO's end left
 * out), and how many bytes of text, data and bss they hold. Pure: the
 * preload (segments.c) plans the running program with it, and
 * `hugepool-ctl segments` a binary on disk. Kept apart from segments.c so
 * that the tool links no more of the library than the plan (segments.c
 * reads the options, and linking options.c runs its load-time check of
 * the environment before hugepool-ctl has chosen its sysfs root).
 */
#include "internal.h"
#include "segments.h"

#include <string.h>
#include <sys/mman.h>

const char *hp_seg_kind_name(unsigned int kind)
{
	return kind == HP_SEG_TEXT ? "text" : kind == HP_SEG_DATA ? "data" : "bss";
}

static int elf_prot(const ElfW(Phdr) *ph)
{
	return ((ph->p_flags & PF_R) ? PROT_READ : 0) | ((ph->p_flags & PF_W) ? PROT_WRITE : 0) |
	       ((ph->p_flags & PF_X) ? PROT_EXEC : 0);
}

/* [lo, hi) & [zlo, zhi), shrunk to whole pages, as a piece of prot */
static void add_piece(struct hp_seg_plan *p, uintptr_t zlo, uintptr_t zhi, size_t ps, int prot)
{
	uintptr_t lo = HP_ALIGN_UP(p->start > zlo ? p->start : zlo, ps);
	uintptr_t hi = HP_ALIGN_DOWN(p->end < zhi ? p->end : zhi, ps);

	if (lo < hi && p->npieces < HP_SEG_MAX_PIECES)
		p->piece[p->npieces++] = (struct hp_seg_piece){ lo, hi, prot };
}

bool hp_seg_plan(const ElfW(Phdr) *ph, const ElfW(Phdr) *relro, uintptr_t bias,
		 size_t page_size, unsigned int which, struct hp_seg_plan *out)
{
	uintptr_t vaddr = bias + ph->p_vaddr, rs, re;

	memset(out, 0, sizeof(*out));
	if (ph->p_type != PT_LOAD || !ph->p_memsz)
		return false;
	out->file_end = vaddr + ph->p_filesz;
	if (!(ph->p_flags & PF_W)) {
		if (!(which & HP_SEG_TEXT))
			return false;
		out->kind = HP_SEG_TEXT;
		out->start = vaddr;
		out->end = vaddr + ph->p_memsz;
		add_piece(out, 0, UINTPTR_MAX, page_size, elf_prot(ph));
		return true;
	}
	out->kind = which & (HP_SEG_DATA | HP_SEG_BSS);
	if (!out->kind)
		return false;
	out->start = (which & HP_SEG_DATA) ? vaddr : out->file_end;
	out->end = (which & HP_SEG_BSS) ? vaddr + ph->p_memsz : out->file_end;
	if (out->start >= out->end)
		return false;
	/* ld.so makes [rs, re) read-only, rounded to base pages as
	 * _dl_protect_relro does: a huge page must lie wholly inside or
	 * wholly outside it */
	rs = re = 0;
	if (relro && relro->p_memsz) {
		rs = HP_ALIGN_DOWN(bias + relro->p_vaddr, 4096UL);
		re = HP_ALIGN_DOWN(bias + relro->p_vaddr + relro->p_memsz, 4096UL);
	}
	if (rs >= re) {
		add_piece(out, 0, UINTPTR_MAX, page_size, elf_prot(ph));
		return true;
	}
	add_piece(out, 0, rs, page_size, elf_prot(ph));
	add_piece(out, rs, re, page_size, PROT_READ);
	add_piece(out, re, UINTPTR_MAX, page_size, elf_prot(ph));
	return true;
}

/* Bytes of [lo, hi) that hold kind */
static size_t kind_bytes(const struct hp_seg_plan *p, uintptr_t lo, uintptr_t hi, unsigned int kind)
{
	uintptr_t a = lo, b = hi;

	if (kind == HP_SEG_TEXT)
		return p->kind == HP_SEG_TEXT ? hi - lo : 0;
	if (p->kind == HP_SEG_TEXT || !(p->kind & kind))
		return 0;
	if (kind == HP_SEG_DATA && b > p->file_end)
		b = p->file_end;
	if (kind == HP_SEG_BSS && a < p->file_end)
		a = p->file_end;
	return a < b ? b - a : 0;
}

size_t hp_seg_covered(const struct hp_seg_plan *plan, unsigned int kind)
{
	size_t n = 0;

	for (int i = 0; i < plan->npieces; i++)
		n += kind_bytes(plan, plan->piece[i].lo, plan->piece[i].hi, kind);
	return n;
}

size_t hp_seg_size(const struct hp_seg_plan *plan, unsigned int kind)
{
	return kind_bytes(plan, plan->start, plan->end, kind);
}
