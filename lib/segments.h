/* SPDX-License-Identifier: MIT */
/*
 * segments.h - the plan for putting an ELF object's PT_LOAD segments on
 * huge pages: which whole pages of a segment can move, with what
 * protection. Shared by the preload (segments.c, which moves them) and
 * `hugepool-ctl segments` (which reports them for a binary on disk).
 */
#ifndef HUGEPOOL_SEGMENTS_H
#define HUGEPOOL_SEGMENTS_H

#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HP_SEG_TEXT, HP_SEG_DATA, HP_SEG_BSS: internal.h (the options' bits) */
#define HP_SEG_MAX_PIECES	3	/* RW before RELRO, RELRO, RW after */

/* Whole huge pages of one segment that move together, with one protection. */
struct hp_seg_piece {
	uintptr_t lo, hi;	/* aligned to the page size; absolute */
	int prot;		/* PROT_* the piece has after the move */
};

/* One PT_LOAD segment's part selected by `which`, and the pieces of it
 * that whole pages cover. The rest stays on base pages: the head before
 * the first boundary, the tail after the last one, and a page that RELRO
 * would cover only in part (mprotect of a hugetlb mapping is per page). */
struct hp_seg_plan {
	unsigned int kind;	/* HP_SEG_TEXT, or HP_SEG_DATA / HP_SEG_BSS bits */
	uintptr_t start, end;	/* the selected part of the segment */
	uintptr_t file_end;	/* writable: end of the file-backed part (data) */
	int npieces;
	struct hp_seg_piece piece[HP_SEG_MAX_PIECES];
};

/* Plan segment ph of an object loaded at bias for pages of page_size.
 * relro: the object's PT_GNU_RELRO header, or NULL. which: HP_SEG_* bits
 * wanted. False if the segment holds nothing of which (not PT_LOAD, or a
 * writable segment when only text is wanted...). */
bool hp_seg_plan(const ElfW(Phdr) *ph, const ElfW(Phdr) *relro, uintptr_t bias,
		 size_t page_size, unsigned int which, struct hp_seg_plan *out);
/* Bytes of the plan's pieces that hold kind (HP_SEG_DATA: below file_end;
 * HP_SEG_BSS: above it; HP_SEG_TEXT: all). */
size_t hp_seg_covered(const struct hp_seg_plan *plan, unsigned int kind);
/* Bytes of the selected part that hold kind. */
size_t hp_seg_size(const struct hp_seg_plan *plan, unsigned int kind);
/* "text", "data", "bss" */
const char *hp_seg_kind_name(unsigned int kind);

/* Move the whole pages [pc->lo, pc->hi) onto pages of h, in a hugetlb
 * memfd called name (the window rule: see segments.c). 0, or -errno with
 * the range as it was (or, if a failed mremap took it away, a base-page
 * copy of it). Exposed for tests/system/sys-segments.c. */
struct hp_hstate;
int hp_seg_move(const struct hp_seg_piece *pc, const struct hp_hstate *h, const char *name);

/* The preload's constructor: move the program's selected segments (and
 * those of HUGEPOOL_SEGMENTS_LIBS) onto huge pages, once. */
void hp_segments_remap(void);

/* What the remapping did, for the exit report and the tests. */
struct hp_seg_stats {
	size_t moved[3], total[3];	/* bytes by kind: text, data, bss */
	unsigned long segments;		/* segments with something moved */
	unsigned long refused;		/* segments (or whole runs) left on base pages */
	bool tried;
};
extern struct hp_seg_stats hp_seg_stats;
static inline int hp_seg_index(unsigned int kind)
{
	return kind == 0x1 ? 0 : kind == 0x2 ? 1 : 2;
}

#endif /* HUGEPOOL_SEGMENTS_H */
