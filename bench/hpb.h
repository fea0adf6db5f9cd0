/* SPDX-License-Identifier: MIT */
/*
 * hpb.h - hugepool-bench: hugepool against the allocators a user would
 * pick instead, side by side in one run.
 *
 * The parent process (hpb-main.c) never allocates anything under test. For
 * every figure it starts a worker: this same executable, exec'd with
 * --worker SCENARIO PEER and the peer's environment (LD_PRELOAD,
 * GLIBC_TUNABLES, MIMALLOC_*), so that a peer which replaces or tunes the
 * process malloc gets a process of its own, and every huge page a worker
 * took goes back to the kernel when it exits. The worker prints its
 * results as lines on stdout (hpb-run.c):
 *
 *	v METRIC VALUE		one measurement
 *	pages METRIC TEXT	what the memory was backed by (smaps)
 *	note TEXT		anything the reader should know
 *	fail TEXT		why there is no figure (it then exits 1)
 *
 * The executable is not linked against libhugepool: linking it would put
 * the library's malloc wrappers in front of glibc's in every worker, the
 * glibc baselines included. Workers that measure the API dlopen it
 * (hpb-peers.c); the preload peer preloads it.
 *
 * Files: hpb-main.c (options, the loop over scenarios and peers),
 * hpb-run.c (workers), hpb-peers.c (the peers, both sides), hpb-util.c
 * (clocks, statistics, /proc and /sys), hpb-report.c (tables, CSV, chart),
 * hpb-scen-*.c (one scenario each).
 */
#ifndef HPB_H
#define HPB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KB		(1UL << 10)
#define MB		(1UL << 20)
#define GB		(1UL << 30)
#define HPB_MAX_RUNS	64
#define HPB_MAX_METRICS	48
#define HPB_MAX_PEERS	24
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------
 * options (hpb-main.c), shared by the parent and its workers
 * ------------------------------------------------------------------------ */
enum hpb_clock {
	HPB_CLOCK_CPU,		/* CLOCK_PROCESS_CPUTIME_ID: robust on a busy machine */
	HPB_CLOCK_WALL,		/* CLOCK_MONOTONIC */
};

struct hpb_opts {
	int runs;
	enum hpb_clock clock;
	const char *lib;		/* libhugepool.so.N: dlopen'd, preloaded */
	size_t tlb_sizes[4];
	int ntlb;
	bool tlb_sizes_given;
	size_t waste_live;		/* waste: live bytes of the workload */
	int small_threads;
	unsigned long small_ops;
	unsigned int heap_slots;	/* larson, mix: live objects per thread */
	unsigned long chase_nodes;	/* chase: nodes of the hash table */
	int timeout;			/* seconds per worker */
	bool verbose;
	/* worker only */
	int run;			/* which run this worker is (seeds) */
	size_t size;			/* tlb: bytes to chase over */
	int perm_fd;			/* tlb: memfd of the successor array */
	bool pair;			/* tlb: hugepool and raw mmap, paired */
};

extern struct hpb_opts hpb_opt;

/* ------------------------------------------------------------------------
 * peers (hpb-peers.c)
 * ------------------------------------------------------------------------ */
enum hpb_kind {
	HPB_HUGEPOOL,		/* hugepool_malloc on a pool of page_size pages */
	HPB_HUGEPOOL_PRELOAD,	/* malloc under LD_PRELOAD=libhugepool.so */
	HPB_GLIBC,		/* malloc, with env (GLIBC_TUNABLES) */
	HPB_PRELOAD,		/* malloc under LD_PRELOAD=lib, with env */
	HPB_HUGETLBFS,		/* libhugetlbfs get_hugepage_region */
	HPB_MMAP,		/* raw mmap of page_size pages */
};

struct hpb_peer {
	const char *name;	/* as on the command line and in the CSV */
	const char *desc;	/* one line for the report */
	enum hpb_kind kind;
	const char *soname;	/* library to preload or dlopen */
	const char *env[3];	/* NAME=VALUE set in the worker */
	size_t page_size;	/* huge page size it needs (0: none) */
	/* parent side, filled by hpb_peers_probe() */
	bool available;
	char why[96];		/* why not available */
	char path[256];		/* resolved library */
};

/* a competitor: not hugepool itself, not a raw mmap floor or ceiling */
static inline bool hpb_is_rival(const struct hpb_peer *p)
{
	return p->kind == HPB_GLIBC || p->kind == HPB_PRELOAD || p->kind == HPB_HUGETLBFS;
}

extern struct hpb_peer hpb_peers[];
extern const int hpb_npeers;

void hpb_peers_probe(void);
struct hpb_peer *hpb_peer_find(const char *name);
int hpb_peer_index(const struct hpb_peer *p);
const char *hpb_find_library(const char *soname, char *buf, size_t len);

/*
 * The worker's allocator: whatever the peer is, blocks come from
 * hpb_alloc() and go back with hpb_free() (which is told the size, for
 * munmap). hpb_worker_setup() makes it and checks that the peer really is
 * in place (that the preloaded library's malloc is the one called).
 */
struct hpb_alloc {
	const struct hpb_peer *peer;
	void *(*alloc)(struct hpb_alloc *a, size_t size);
	void (*free)(struct hpb_alloc *a, void *p, size_t size);
	struct hugepool *pool;		/* HPB_HUGEPOOL */
	size_t page_size;		/* HPB_MMAP, HPB_HUGEPOOL */
};

int hpb_worker_setup(struct hpb_alloc *a, const struct hpb_peer *peer);

static inline void *hpb_alloc(struct hpb_alloc *a, size_t size)
{
	return a->alloc(a, size);
}

static inline void hpb_free(struct hpb_alloc *a, void *p, size_t size)
{
	a->free(a, p, size);
}

/* Map len bytes of page_size pages (4 KiB: THP off), populated or not;
 * NULL on failure. */
void *hpb_mmap(size_t len, size_t page_size, bool populate);
void hpb_munmap(void *p, size_t len, size_t page_size);

/* libhugepool, dlopen'd by workers that measure the API */
struct hugepool_config;
struct hugepool_counters;
struct hugepool_region;
struct io_uring;
struct hpb_hugepool_api {
	const char *(*version)(void);
	struct hugepool *(*create)(const struct hugepool_config *cfg);
	int (*destroy)(struct hugepool *pool);
	void *(*malloc)(struct hugepool *pool, size_t size);
	void (*free)(void *ptr);
	size_t (*page_size)(const struct hugepool *pool);
	int (*counters)(const struct hugepool *pool, int node, struct hugepool_counters *out);
	struct hugepool_region *(*region_reserve)(struct hugepool *pool, size_t size,
						  unsigned int flags);
	void *(*region_addr)(const struct hugepool_region *r);
	int (*region_free)(struct hugepool_region *r);
	int (*uring_register)(struct io_uring *ring, struct hugepool_region *r, size_t buf_size);
	int (*uring_unregister)(struct io_uring *ring, struct hugepool_region *r);
	long (*trim)(struct hugepool *pool);
	int (*stats_print)(const struct hugepool *pool, int fd, unsigned int flags);
};

extern struct hpb_hugepool_api hpb_hp;
int hpb_hugepool_load(void);

/* ------------------------------------------------------------------------
 * scenarios (hpb-scen-*.c) and their metrics
 * ------------------------------------------------------------------------ */
struct hpb_metric {
	char name[24];		/* "tlb-1G" */
	char title[96];
	const char *unit;
	bool higher_better;
	const char *ref;	/* peer the ratios are taken against */
	bool aux;		/* a scenario's own (its verdict prints it): not
				 * in the tables, the summary or the chart */
	bool table_only;	/* in the scenario's table, not in the summary
				 * or the chart (a share in %, not a cost) */
};

struct hpb_scenario {
	const char *name;
	const char *title;
	/* parent: set up metrics and whatever the workers need; < 0 skips */
	int (*prepare)(void);
	/* parent: does peer take part */
	bool (*applies)(const struct hpb_peer *peer);
	/* parent: and in job (NULL: every job) */
	bool (*applies_job)(const struct hpb_peer *peer, int job);
	/* parent: 2 MiB and 1 GiB pages a worker of this peer needs for the
	 * job of metric index job (-1: one worker for every metric) */
	void (*needs)(const struct hpb_peer *peer, int job, size_t *n2m, size_t *n1g);
	/* parent: workers per run: 1 (one job does all metrics) or more */
	int (*jobs)(void);
	/* parent: runs within one worker (uring) instead of one per run */
	bool inner_runs;
	/* parent: workers per peer are runs x run_factor (0: 1) */
	int run_factor;
	/* parent: extra argv for job (NULL-terminated into argv) */
	void (*job_args)(int job, char **argv, int max);
	/* worker */
	int (*worker)(struct hpb_alloc *a, int job);
	/* parent: the target lines */
	void (*verdict)(FILE *out);
	void (*cleanup)(void);
};

extern const struct hpb_scenario hpb_scen_first_write, hpb_scen_tlb, hpb_scen_churn,
	hpb_scen_waste, hpb_scen_small, hpb_scen_uring, hpb_scen_compat;
extern const struct hpb_scenario hpb_scen_segments;
/* issue 14: the whole heap on huge pages */
extern const struct hpb_scenario hpb_scen_larson, hpb_scen_prodcons, hpb_scen_mix,
	hpb_scen_chase;

/* the results store (hpb-report.c) */
struct hpb_series {
	double v[HPB_MAX_RUNS];
	int n;
	char pages[48];		/* page sizes that backed the memory */
	char status[112];	/* "" or why there is no figure */
};

int hpb_metric_add(const char *name, const char *title, const char *unit,
		   bool higher_better, const char *ref);
int hpb_metric_find(const char *name);
struct hpb_metric *hpb_metric(int m);
int hpb_nmetrics(void);
const char *hpb_metric_scenario(int m);
void hpb_set_scenario(const char *name);
struct hpb_series *hpb_series(int metric, int peer);
double hpb_series_median(const struct hpb_series *s);
double hpb_series_min(const struct hpb_series *s);
double hpb_series_max(const struct hpb_series *s);
/* cost of peer relative to ref: > 1 means ref (hugepool) is better; 0 if
 * either has no figure */
double hpb_ratio(int metric, int peer, int ref);

/*
 * "ahead of every peer" for metric m: the best rival's median against the
 * reference's; prints the target line. A miss whose [min .. max] ranges
 * overlap is called a tie, so that the reader can tell noise from a loss.
 */
void hpb_verdict_ahead(FILE *out, int metric, const char *what);
void hpb_report_scenario(FILE *out, const struct hpb_scenario *s);
void hpb_report_summary(FILE *out);
int hpb_report_csv(const char *path);
int hpb_report_plot(const char *path, const char *title);

/* ------------------------------------------------------------------------
 * workers (hpb-run.c)
 * ------------------------------------------------------------------------ */
/* Run one worker; its figures go into the store. */
void hpb_run_worker(const struct hpb_scenario *s, struct hpb_peer *peer, int job, int run);
/* Worker side: report. */
void hpb_emit(const char *metric, double value);
void hpb_emit_pages(const char *metric, const char *text);
void hpb_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* the reason this worker has no figure (then return non-zero) */
void hpb_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hpb_print_notes(FILE *out);
int hpb_worker_main(const char *scen, const char *peer, int job);
const char *hpb_self(void);

/* ------------------------------------------------------------------------
 * utilities (hpb-util.c)
 * ------------------------------------------------------------------------ */
double hpb_now(void);			/* seconds, on the chosen clock */
double hpb_wall(void);			/* seconds, CLOCK_MONOTONIC */
double hpb_median(const double *v, int n);

static inline uint64_t hpb_rand(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* log-uniform in [lo, hi] */
size_t hpb_rand_size(uint64_t *s, size_t lo, size_t hi);

/* free huge pages of a size in the kernel pool (0 if none) */
long hpb_free_huge(size_t page_size);
long hpb_total_huge(size_t page_size);
double hpb_loadavg(void);
/* a field of /proc/self/status in bytes (kB lines), -1 if missing */
long hpb_status_bytes(const char *field);
/* a field of /proc/self/smaps_rollup in bytes */
long hpb_rollup_bytes(const char *field);

/*
 * What backs [addr, addr + len) (from /proc/self/smaps): bytes on 4 KiB
 * pages, on transparent huge pages, on hugetlb 2 MiB and 1 GiB pages.
 */
struct hpb_backing {
	size_t b4k, thp, h2m, h1g;
};
void hpb_backing_add(struct hpb_backing *b, const void *addr, size_t len);
/* The same for every mapping a malloc can be in (hpb_backing_heap in
 * hpb-util.c says which): resident bytes, hugetlb ones as touched. */
void hpb_backing_heap(struct hpb_backing *b);
/* "2M 100%", "4K 60% THP 40%" */
const char *hpb_backing_str(const struct hpb_backing *b, char *buf, size_t len);

void hpb_print_machine(FILE *out);
const char *hpb_size_str(size_t n, char *buf, size_t len);
int hpb_parse_size(const char *s, size_t *out);

/* ------------------------------------------------------------------------
 * the whole-heap scenarios (hpb-heap.c)
 * ------------------------------------------------------------------------ */
/*
 * What they share. Their reference is
 * the preload at threshold 0, which serves every malloc from the pool.
 */
#define HPB_HEAP_REF	"hugepool-preload-t0"

struct hpb_heap_mark {
	struct hpb_backing bk;	/* the heap's pages before the workload */
	long rss;		/* RssAnon before the workload */
};

/* parent: the process's malloc, whoever provides it */
bool hpb_heap_applies(const struct hpb_peer *p);
/* parent: pages for a heap of bytes at most */
void hpb_heap_needs(const struct hpb_peer *p, size_t bytes, size_t *n2m, size_t *n1g);
/* parent: metrics NAME (the time), NAME-held (per live byte, or MiB) and
 * NAME-huge (% on hugetlb, in the table only) */
void hpb_heap_metrics(const char *name, const char *title, const char *unit, bool per_live);
/* parent: the targets for the time of metric, and the share */
void hpb_heap_verdict_speed(FILE *out, const char *metric);
void hpb_heap_verdict_share(FILE *out, const char *scen);
/* worker: a table of n sizes from lo to hi, log-uniform, the same in every
 * worker (a look-up per operation, not a log()) */
void hpb_heap_sizes(uint32_t *sizes, int n, size_t lo, size_t hi);
/* worker: n thread stacks, resident before the mark (NULL on failure), and
 * a thread on the i-th of them (-1 after hpb_fail) */
void *hpb_heap_stacks(int n);
int hpb_heap_thread(pthread_t *t, void *stacks, int i, void *(*fn)(void *), void *arg);
/* worker: before the workload; then NAME-held and NAME-huge (live: the
 * bytes the workload keeps, 0 for held in MiB) */
void hpb_heap_mark(struct hpb_heap_mark *m);
/* worker: an allocation of size failed: say so and end the worker */
void hpb_heap_oom(size_t size) __attribute__((noreturn));
void hpb_heap_emit(const char *name, const struct hpb_heap_mark *m, size_t live);

#endif /* HPB_H */
