/* SPDX-License-Identifier: MIT */
/*
 * segments.c - the program's own text, data and bss on huge pages
 * (HUGEPOOL_SEGMENTS), libhugetlbfs's HUGETLB_ELFMAP without relinking.
 *
 * Run once from the preload's constructor, after ld.so has relocated the
 * program and applied RELRO, before the program's own constructors and
 * before any thread of the program exists. For each selected PT_LOAD
 * segment, the whole huge pages inside it follow the window rule of the
 * engine (window.c): a hugetlb memfd named after the binary and the
 * segment ("hugepool:prog:text", which /proc/PID/maps shows) is mapped
 * away from the segment, reserved (mmap of a private hugetlb mapping
 * reserves all of it) and populated (MADV_POPULATE_WRITE: an error, not a
 * SIGBUS), the segment's bytes are copied in and the protections set; then
 * one mremap(MREMAP_FIXED) puts it over the original, with every signal
 * blocked. A failure before the mremap leaves the segment as it was, on
 * base pages; it is counted and said once. The unaligned head and tail of
 * a segment stay on base pages, as does the brk heap after bss.
 *
 * This code lives in libhugepool.so, never in a segment it moves (checked:
 * a copy linked into a program refuses). A fork child copies the writable
 * pages it shares with its parent at once (MADV_POPULATE_WRITE), so that
 * a copy-on-write fault never needs a huge page the kernel cannot give:
 * when it cannot, the child's copy goes to base pages instead.
 */
#include "internal.h"
#include "segments.h"

#include <dlfcn.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

struct hp_seg_stats hp_seg_stats;

/* the plan, hp_seg_plan: segplan.c */

#if HP_PRELOAD
/* ------------------------------------------------------------------------
 * the move
 * ------------------------------------------------------------------------ */

/* mremap failed. MREMAP_FIXED unmaps the target first: if the segment is
 * still there (NOREPLACE finds it) nothing happened; if it is gone, a
 * base-page copy of the fresh pages takes its place. */
static int seg_recover(void *lo, void *fresh, size_t len, int prot, int err)
{
	void *p;
	int ret = hp_sys_mmap(lo, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0, &p);

	if (ret == -EEXIST || (!ret && p != lo)) {
		if (!ret)
			hp_sys_munmap(p, len);
		hp_sys_munmap(fresh, len);
		return err;
	}
	if (ret) {
		hp_log(0, "segments: a segment at %p was unmapped by a failed mremap and cannot "
		       "be mapped again (%s)", lo, hp_errstr(-ret));
		return err;
	}
	memcpy(lo, fresh, len);
	hp_sys_mprotect(lo, len, prot);
	hp_sys_munmap(fresh, len);
	return err;
}

/* Whole pages of a huge page size for [lo, hi): the window rule (see the
 * banner). 0, or -errno with the segment as it was. */
int hp_seg_move(const struct hp_seg_piece *pc, const struct hp_hstate *h, const char *name)
{
	size_t len = pc->hi - pc->lo;
	void *lo = (void *)pc->lo, *fresh, *out;
	sigset_t old;
	int fd, ret;

	fd = hp_sys_memfd_create(name, MFD_CLOEXEC | MFD_HUGETLB | (h->shift << MFD_HUGE_SHIFT));
	if (fd < 0)
		return fd;
	ret = hp_sys_ftruncate(fd, (off_t)len);
	/* private: a fork child gets copy-on-write pages, as with the
	 * original segment, and gdb can write breakpoints into text */
	if (!ret)
		ret = hp_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0, &fresh);
	hp_sys_close(fd);
	if (ret)
		return ret;
	ret = hp_sys_madvise(fresh, len, MADV_POPULATE_WRITE);
	if (!ret) {
		memcpy(fresh, lo, len);
		ret = hp_sys_mprotect(fresh, len, pc->prot);
	}
	if (ret) {
		hp_sys_munmap(fresh, len);
		return ret;
	}
	hp_sys_block_signals(&old);
	ret = hp_sys_mremap(fresh, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, lo, &out);
	if (ret)
		ret = seg_recover(lo, fresh, len, pc->prot, ret);
	hp_sys_restore_signals(&old);
	return ret;
}

/* The pieces moved, for the fork child (writable ones only matter). */
#define SEG_MAX_MOVED	32
static struct hp_seg_piece seg_moved[SEG_MAX_MOVED];
static int seg_nmoved;

/* Say once why segments stay on base pages; count it. */
static hp_cold __attribute__((format(printf, 2, 3))) void seg_refuse(unsigned long n,
								   const char *fmt, ...)
{
	static bool told;
	char line[256];
	va_list ap;

	hp_seg_stats.refused += n;
	if (__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	hp_log(1, "%s", line);
}

/* "hugepool:prog:text" for the object named path */
static void seg_name(char *buf, size_t len, const char *path, const struct hp_seg_plan *p,
		     const struct hp_seg_piece *pc)
{
	const char *base = strrchr(path, '/'), *what;

	base = base ? base + 1 : path;
	if (p->kind == HP_SEG_TEXT)
		what = (pc->prot & PROT_EXEC) ? "text" : "rodata";
	else if (!(pc->prot & PROT_WRITE))
		what = "relro";
	else if (pc->hi <= p->file_end)
		what = "data";
	else if (pc->lo >= p->file_end)
		what = "bss";
	else
		what = "data+bss";
	snprintf(buf, len, "hugepool:%s:%s", *base ? base : "prog", what);
}

/* Move one segment's pieces; say at verbosity 2 what moved. */
static void seg_apply(const struct hp_seg_plan *p, const struct hp_hstate *h, const char *path)
{
	static const unsigned int kinds[] = { HP_SEG_TEXT, HP_SEG_DATA, HP_SEG_BSS };
	size_t moved[3] = { 0 }, i;
	char name[128], sz[16];
	bool any = false;

	for (int k = 0; k < p->npieces; k++) {
		struct hp_seg_piece one = p->piece[k];
		struct hp_seg_plan part = *p;
		int ret;

		seg_name(name, sizeof(name), path, p, &one);
		ret = hp_seg_move(&one, h, name);
		if (ret) {
			hp_log(2, "segments: %s: %zu bytes stay on base pages: %s", name,
			       (size_t)(one.hi - one.lo), hp_errstr(-ret));
			seg_refuse(1, "segments: %s could not be had on huge pages; it stays on "
				   "base pages (counted as refused in the stats)", name);
			continue;
		}
		any = true;
		if (seg_nmoved < SEG_MAX_MOVED)
			seg_moved[seg_nmoved++] = one;
		part.npieces = 1;
		part.piece[0] = one;
		for (i = 0; i < 3; i++)
			moved[i] += hp_seg_covered(&part, kinds[i]);
	}
	hp_format_size(h->size, sz, sizeof(sz));
	for (i = 0; i < 3; i++) {
		size_t total = hp_seg_size(p, kinds[i]);

		if (!total)
			continue;
		hp_seg_stats.moved[i] += moved[i];
		hp_seg_stats.total[i] += total;
		hp_log(2, "segments: %s %s: %zu of %zu bytes moved to %s pages%s", path,
		       hp_seg_kind_name(kinds[i]), moved[i], total, sz,
		       moved[i] == total ? "" : " (the rest is not whole pages, or failed)");
	}
	hp_seg_stats.segments += any;
}

/* ------------------------------------------------------------------------
 * which objects, which segments
 * ------------------------------------------------------------------------ */
#define SEG_MAX_PLANS	64

struct seg_walk {
	size_t ps;
	struct hp_seg_plan plans[SEG_MAX_PLANS];
	const char *paths[SEG_MAX_PLANS];
	int nplans;
	bool seen_exe;
	size_t pages;
	uintptr_t self_base, libc_base, ldso_base;
};

/* The objects a move would pull the floor from under: ours (the code
 * doing the move), the C library (memcpy, the syscall wrappers) and ld.so. */
static bool seg_untouchable(const struct seg_walk *w, uintptr_t base)
{
	return base == w->self_base || base == w->libc_base || base == w->ldso_base;
}

static int seg_collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct seg_walk *w = arg;
	const ElfW(Phdr) *relro = NULL;
	const char *path = info->dlpi_name;
	bool exe = !w->seen_exe;	/* dl_iterate_phdr starts with the program */
	unsigned int which = hp_opt.segments;

	(void)size;
	w->seen_exe = true;
	if (!exe) {
		const char *base = path ? strrchr(path, '/') : NULL;

		if (!hp_opt.segments_libs || !path || !*path ||
		    seg_untouchable(w, (uintptr_t)info->dlpi_addr))
			return 0;
		if (fnmatch(hp_opt.segments_libs, base ? base + 1 : path, 0))
			return 0;
	} else {
		path = (const char *)getauxval(AT_EXECFN);
		if (!path)
			path = "prog";
	}
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO)
			relro = &info->dlpi_phdr[i];
	for (int i = 0; i < info->dlpi_phnum && w->nplans < SEG_MAX_PLANS; i++) {
		struct hp_seg_plan *p = &w->plans[w->nplans];

		if (!hp_seg_plan(&info->dlpi_phdr[i], relro, info->dlpi_addr, w->ps, which, p))
			continue;
		for (int k = 0; k < p->npieces; k++)
			w->pages += (p->piece[k].hi - p->piece[k].lo) / w->ps;
		w->paths[w->nplans++] = path;
	}
	return 0;
}

static uintptr_t object_base(const void *addr)
{
	Dl_info info;

	return dladdr(addr, &info) ? (uintptr_t)info.dli_fbase : 0;
}

/* Threads: of /proc/self/status, or -errno */
static long seg_threads(void)
{
	char buf[4096], *t;
	unsigned long n = 0;
	long len = hp_sys_read_file("/proc/self/status", buf, sizeof(buf));

	if (len < 0)
		return len;
	t = strstr(buf, "\nThreads:");
	if (!t)
		return -ENOENT;
	for (t += 9; *t == ' ' || *t == '\t'; t++)
		;
	while (*t >= '0' && *t <= '9')
		n = n * 10 + (unsigned long)(*t++ - '0');
	return (long)n;
}

/* May the plan go ahead? Says why not (once) and counts it. */
static bool seg_allowed(const struct seg_walk *w, const struct hp_hstate *h)
{
	uintptr_t self = (uintptr_t)hp_seg_move;
	long threads = seg_threads();
	size_t max = 0;

	if (threads != 1) {
		char what[64];

		snprintf(what, sizeof(what), threads < 0 ? "cannot be counted" :
			 "are %ld already", threads);
		seg_refuse((unsigned long)w->nplans, "segments: the program's threads %s (started "
			   "by a library's constructor?): its segments stay on base pages", what);
		return false;
	}
	if (hp_opt.max_str && !hp_parse_pages(hp_opt.max_str, h->size, &max) && max &&
	    w->pages > max) {
		char what[96];

		snprintf(what, sizeof(what), "%zu pages, HUGEPOOL_MAX allows %zu", w->pages, max);
		seg_refuse((unsigned long)w->nplans, "segments: they need %s: they stay on base "
			   "pages", what);
		return false;
	}
	for (int i = 0; i < w->nplans; i++)
		for (int k = 0; k < w->plans[i].npieces; k++)
			if (self >= w->plans[i].piece[k].lo && self < w->plans[i].piece[k].hi) {
				seg_refuse((unsigned long)w->nplans, "segments: %s: the code that "
					   "moves them is inside them (hugepool linked statically?); "
					   "they stay on base pages", w->paths[i]);
				return false;
			}
	return true;
}

/* A fork child shares the writable pages with its parent, copy-on-write:
 * it takes its copies now, while a failure is an error and not a SIGBUS
 * at some later write; what cannot be had goes to base pages. */
static void seg_atfork_child(void)
{
	for (int i = 0; i < seg_nmoved; i++) {
		struct hp_seg_piece *pc = &seg_moved[i];
		size_t len = pc->hi - pc->lo;
		void *copy, *out;

		if (!(pc->prot & PROT_WRITE) ||
		    !hp_sys_madvise((void *)pc->lo, len, MADV_POPULATE_WRITE))
			continue;
		seg_refuse(1, "segments: a fork child could not copy %s onto huge pages; its "
			   "copy is on base pages", "its writable segments");
		if (hp_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0, &copy))
			continue;	/* the shared pages stay: a later write may fault */
		memcpy(copy, (void *)pc->lo, len);
		if (hp_sys_mremap(copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)pc->lo,
				  &out))
			hp_sys_munmap(copy, len);
	}
}

void hp_segments_remap(void)
{
	static struct seg_walk w;	/* 6 KiB: not on a constructor's stack */
	const struct hp_hstate *h;

	if (!hp_opt.segments || hp_seg_stats.tried)
		return;
	hp_seg_stats.tried = true;
	h = hp_opt.page_size ? hp_size_to_hstate(hp_opt.page_size) : hp_default_hstate();
	if (!h) {
		seg_refuse(1, "segments: %s: they stay on base pages", "this kernel has no huge pages");
		return;
	}
	memset(&w, 0, sizeof(w));
	w.ps = h->size;
	w.self_base = object_base((void *)hp_seg_move);
	w.libc_base = object_base((void *)memcpy);
	w.ldso_base = (uintptr_t)getauxval(AT_BASE);
	dl_iterate_phdr(seg_collect, &w);
	if (!w.pages) {
		hp_log(2, "segments: no whole %zu KiB page inside the selected segments; nothing "
		       "moves (link with -Wl,-zcommon-page-size=%zu -Wl,-zmax-page-size=%zu)",
		       h->size >> 10, h->size, h->size);
	} else if (!seg_allowed(&w, h)) {
		return;
	}
	for (int i = 0; i < w.nplans; i++)
		seg_apply(&w.plans[i], h, w.paths[i]);
	if (seg_nmoved)
		hp_atfork_register(HP_LAYER_FACES, NULL, NULL, seg_atfork_child);
}
#endif /* HP_PRELOAD */
