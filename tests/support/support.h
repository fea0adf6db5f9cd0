/* SPDX-License-Identifier: MIT */
/*
 * support.h - what hugepool's tests and benchmarks read and run in common
 * (issue 13): the kernel's huge page counters (sysfs) and a baseline of
 * them, fields of /proc/self/status, the page size smaps gives a mapping,
 * the mappings of /proc/self/maps, running a piece of a test in a child, a
 * block-content pattern, medians, and the small-allocation workload of
 * the preload benchmarks.
 *
 * It is a static library, libhugepool-test-support.a (tests/support/
 * meson.build: support_dep), that depends on nothing but libc: the preload
 * test programs and hugepool-bench, which must not link libhugepool (they
 * preload or dlopen it), link it too, and it calls malloc only through
 * stdio, as their own inline copies did. The reservation map's model needs
 * lib/internal.h and has a header of its own (resv-model.h).
 *
 * Exit codes follow Meson and liburing: 0 pass, 1 fail, 77 skip.
 */
#ifndef HUGEPOOL_TEST_SUPPORT_H
#define HUGEPOOL_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

/* ---------------------------------------------------------- counters.c */

/* The number a sysfs/procfs file starts with; -1 if it cannot be read. */
long file_number(const char *path);
/* The same for a path made with printf. */
long file_number_at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* /sys/kernel/mm/hugepages/hugepages-<kB>kB/<name>, -1 if not there. */
long kernel_counter(size_t page_size, const char *name);
/* /sys/devices/system/node/node<N>/hugepages/hugepages-<kB>kB/<name>. */
long node_counter(int node, size_t page_size, const char *name);
/* The kernel's free pages not reserved by anyone. */
long kernel_avail(size_t page_size);

/* The kernel's counters of one page size, to come back to. */
struct kbase {
	size_t page_size;
	long nr, free, resv, surplus;
};

struct kbase kernel_baseline(size_t page_size);
/* The counters are exactly at b, or print them and exit(T_FAIL). */
void check_kernel_baseline(const struct kbase *b);
/* The counters are back at b, looked at for up to three seconds; more free
 * pages than b is someone else's giving back. Prints and returns false if
 * not (what names the caller in the message). */
bool kernel_back_at(const struct kbase *b, const char *what);

/* A "<field>: N kB" line of a procfs file (/proc/self/status, smaps_rollup)
 * in bytes; -1 if missing. */
long proc_kb_field(const char *path, const char *field);
/* The same for /proc/self/status (HugetlbPages, VmPin, RssAnon, ...). */
long status_bytes(const char *field);
/* HugetlbPages of /proc/self/status: the huge pages this process maps. */
long self_hugetlb_bytes(void);

/* -------------------------------------------------------------- maps.c */

/* KernelPageSize of the mapping holding addr, in bytes; -1 if not found. */
long smaps_page_size(const void *addr);
/* Mappings in this process (to show that a failed call leaked none). */
int count_maps(void);

/* ------------------------------------------------------------- child.c */

/*
 * Run fn in a child with default SIGBUS/SIGSEGV dispositions (no inherited
 * handler can siglongjmp into parent code) and an alarm. Returns the exit
 * status, or 128 + signal if it died of one (so SIGBUS shows as 135).
 */
int run_in_child(int (*fn)(void *), void *arg, unsigned int timeout_s);

/* ----------------------------------------------------------- pattern.c */

/* A pattern that differs per block (seed) and per 8-byte word. */
uint64_t pat_word(uint64_t seed, size_t i);
/* Fill / check n bytes (multiple of 8) at p, every stride-th word (stride
 * 1: all; larger strides keep big blocks cheap to check). */
void pat_fill(void *p, size_t n, uint64_t seed, size_t stride);
bool pat_ok(const void *p, size_t n, uint64_t seed, size_t stride);
/* n bytes at p (8-byte aligned) are zero. */
bool all_zero(const void *p, size_t n);

/* ------------------------------------------------------------- stats.c */

/* The median of n values (sorts v). */
double median(double *v, int n);

/* ---------------------------------------------------- small-workload.c */

/* This thread's CPU time, seconds. */
double thread_cpu(void);

/* A live set of small objects (16 B .. 4 KiB) and their sizes. */
struct small_set {
	unsigned char **slot;
	size_t *len;
	unsigned int n;
};

/* Allocate n objects of random sizes (seed advances); aborts on failure. */
void small_set_fill(struct small_set *set, unsigned int n, uint64_t *seed);
/* ops operations of the workload on the set: each replaces a random object
 * (1/16 calloc, 1/16 realloc, the rest free + malloc) and reads and writes
 * a little of it. Returns a sum of what was read, for the caller to keep
 * (so that the reads are not optimised away). */
uint64_t small_churn(struct small_set *set, unsigned long ops, uint64_t *seed);
void small_set_free(struct small_set *set);

#ifdef __cplusplus
}
#endif

#endif
