/* SPDX-License-Identifier: MIT */
/*
 * hpb-util.c - hugepool-bench utilities: clocks, medians, random sizes, the
 * kernel's huge page counters, /proc/self/status and smaps (what page size
 * really backs a block), and the machine summary printed on every report.
 */
#include "hpb.h"
#include "support.h"

#include <ctype.h>
#include <dirent.h>
#include <gnu/libc-version.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

double hpb_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * The clock of single-threaded measurements. Process CPU time counts user
 * and system time of every thread of the worker (page faults and zeroing
 * included, and hugepool's decay thread) but not the time the worker waits
 * for a CPU that another program holds, so a busy machine slows both sides
 * of a ratio alike instead of whichever ran during a build.
 */
double hpb_now(void)
{
	struct timespec ts;

	clock_gettime(hpb_opt.clock == HPB_CLOCK_CPU ? CLOCK_PROCESS_CPUTIME_ID :
		      CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double hpb_median(const double *v, int n)
{
	double t[HPB_MAX_RUNS * 4];

	if (n <= 0)
		return 0;
	if (n > (int)ARRAY_SIZE(t))
		n = (int)ARRAY_SIZE(t);
	memcpy(t, v, sizeof(*t) * (size_t)n);
	return median(t, n);
}

size_t hpb_rand_size(uint64_t *s, size_t lo, size_t hi)
{
	double u = (double)(hpb_rand(s) >> 11) / (double)(1ULL << 53);
	size_t n = (size_t)exp(log((double)lo) + u * (log((double)hi) - log((double)lo)));

	n &= ~(size_t)15;
	return n < lo ? lo : n > hi ? hi : n;
}

/* ------------------------------------------------------------------------
 * the kernel's huge page pools
 * ------------------------------------------------------------------------ */
long hpb_free_huge(size_t page_size)
{
	long f = kernel_counter(page_size, "free_hugepages");
	long r = kernel_counter(page_size, "resv_hugepages");

	/* reserved pages are free but promised to someone */
	if (f < 0)
		return 0;
	return r > 0 && r <= f ? f - r : f;
}

long hpb_total_huge(size_t page_size)
{
	return kernel_counter(page_size, "nr_hugepages");
}

double hpb_loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

long hpb_status_bytes(const char *field)
{
	return proc_kb_field("/proc/self/status", field);
}

long hpb_rollup_bytes(const char *field)
{
	return proc_kb_field("/proc/self/smaps_rollup", field);
}

/* ------------------------------------------------------------------------
 * smaps: the page size that backs a range, or the whole heap
 * ------------------------------------------------------------------------ */

/* One VMA of /proc/self/smaps, as far as the callers need it. */
struct vma {
	unsigned long lo, hi;
	unsigned long kps, rss, thp, hugetlb;	/* bytes */
	bool priv;				/* 'p' in its permissions */
	char name[64];				/* "" for anonymous memory */
};

/* Call fn for every VMA, with its fields complete (a VMA's lines follow its
 * header, so it is handed over at the next header or at the end). */
static void smaps_walk(void (*fn)(const struct vma *v, void *arg), void *arg)
{
	struct vma v;
	bool have = false;
	char line[512], perms[8];
	unsigned long n;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return;
	for (;;) {
		char *got = fgets(line, sizeof(line), f);
		unsigned long a, e;
		int off = 0;
		bool hdr = got && sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &a, &e, perms, &off) >= 3 &&
			   strchr(line, '-') < strchr(line, ' ');

		if ((hdr || !got) && have)
			fn(&v, arg);
		if (!got)
			break;
		if (hdr) {
			memset(&v, 0, sizeof(v));
			v.lo = a;
			v.hi = e;
			v.priv = perms[3] == 'p';
			snprintf(v.name, sizeof(v.name), "%s", off > 0 ? line + off : "");
			v.name[strcspn(v.name, "\n")] = '\0';
			have = true;
		} else if (sscanf(line, "KernelPageSize: %lu kB", &n) == 1) {
			v.kps = n << 10;
		} else if (sscanf(line, "Rss: %lu kB", &n) == 1) {
			v.rss = n << 10;
		} else if (sscanf(line, "AnonHugePages: %lu kB", &n) == 1) {
			v.thp = n << 10;
		} else if (sscanf(line, "Private_Hugetlb: %lu kB", &n) == 1 ||
			   sscanf(line, "Shared_Hugetlb: %lu kB", &n) == 1) {
			v.hugetlb += n << 10;
		}
	}
	fclose(f);
}

/* bytes of a VMA's size class, len of them on 4 KiB pages spread over 4 KiB
 * and THP in the VMA's proportion */
static void backing_put(struct hpb_backing *b, const struct vma *v, size_t len)
{
	if (v->kps >= GB) {
		b->h1g += len;
	} else if (v->kps >= 2 * MB) {
		b->h2m += len;
	} else {
		size_t h = v->rss ? (size_t)((double)len * ((double)v->thp / (double)v->rss)) : 0;

		if (h > len)
			h = len;
		b->thp += h;
		b->b4k += len - h;
	}
}

struct range_walk {
	struct hpb_backing *b;
	unsigned long lo, hi;
};

static void range_vma(const struct vma *v, void *arg)
{
	struct range_walk *w = arg;
	unsigned long s = v->lo > w->lo ? v->lo : w->lo, t = v->hi < w->hi ? v->hi : w->hi;

	if (s < t)
		backing_put(w->b, v, t - s);
}

void hpb_backing_add(struct hpb_backing *b, const void *addr, size_t len)
{
	struct range_walk w = { b, (unsigned long)addr, (unsigned long)addr + len };

	smaps_walk(range_vma, &w);
}

/*
 * The heap: what a malloc can be in. Hugetlb mappings of any name (anonymous,
 * memfd, hugetlbfs), counted by their touched bytes (their Rss is 0), and
 * private anonymous memory ([heap], unnamed, [anon:...]) by its resident
 * bytes. Not files, not the main thread's stack, not the kernel's [vdso].
 */
static void heap_vma(const struct vma *v, void *arg)
{
	if (v->kps >= 2 * MB)
		backing_put(arg, v, v->hugetlb);
	else if (v->priv && (!v->name[0] || !strcmp(v->name, "[heap]") ||
			     !strncmp(v->name, "[anon:", 6)))
		backing_put(arg, v, v->rss);
}

void hpb_backing_heap(struct hpb_backing *b)
{
	memset(b, 0, sizeof(*b));
	smaps_walk(heap_vma, b);
}

const char *hpb_backing_str(const struct hpb_backing *b, char *buf, size_t len)
{
	static const char *const name[] = { "4K", "THP", "2M", "1G" };
	size_t v[4] = { b->b4k, b->thp, b->h2m, b->h1g }, tot = 0, off = 0;
	int i;

	for (i = 0; i < 4; i++)
		tot += v[i];
	buf[0] = '\0';
	if (!tot)
		return buf;
	for (i = 3; i >= 0; i--) {
		double pct = 100.0 * (double)v[i] / (double)tot;

		if (pct < 0.5)
			continue;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s %.0f%%",
					off ? " " : "", name[i], pct);
	}
	return buf;
}

/* ------------------------------------------------------------------------
 * sizes
 * ------------------------------------------------------------------------ */
const char *hpb_size_str(size_t n, char *buf, size_t len)
{
	if (n >= GB && n % (GB / 2) == 0)
		snprintf(buf, len, n % GB ? "%.1fG" : "%.0fG", (double)n / GB);
	else if (n >= MB && n % MB == 0)
		snprintf(buf, len, "%zuM", n / MB);
	else if (n >= KB && n % KB == 0)
		snprintf(buf, len, "%zuK", n / KB);
	else
		snprintf(buf, len, "%zu", n);
	return buf;
}

int hpb_parse_size(const char *s, size_t *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K': v *= KB; end++; break;
	case 'M': v *= MB; end++; break;
	case 'G': v *= GB; end++; break;
	case '\0': break;
	default: return -1;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* ------------------------------------------------------------------------
 * the machine
 * ------------------------------------------------------------------------ */
static void cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			c++;
			while (*c == ' ')
				c++;
			c[strcspn(c, "\n")] = '\0';
			snprintf(buf, len, "%s", c);
			break;
		}
	}
	fclose(f);
}

static void thp_mode(char *buf, size_t len)
{
	char line[128], *a, *b;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	snprintf(buf, len, "?");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && (a = strchr(line, '[')) && (b = strchr(a, ']'))) {
		*b = '\0';
		snprintf(buf, len, "%s", a + 1);
	}
	fclose(f);
}

static bool hypervisor(void)
{
	char line[1024];
	bool hv = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5)) {
			hv = strstr(line, " hypervisor") != NULL;
			break;
		}
	fclose(f);
	return hv;
}

void hpb_print_machine(FILE *out)
{
	char model[128], thp[32], sz[16];
	struct utsname un;
	long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
	double load = hpb_loadavg();
	struct dirent *d;
	DIR *dir;

	cpu_model(model, sizeof(model));
	thp_mode(thp, sizeof(thp));
	uname(&un);
	fprintf(out, "machine: %s, %ld CPUs%s", model, sysconf(_SC_NPROCESSORS_ONLN),
		hypervisor() ? " (virtual machine)" : "");
	if (l3 > 0)
		fprintf(out, ", L3 %ld MiB", l3 >> 20);
	fprintf(out, ", %.1f GiB memory\n", (double)sysconf(_SC_PHYS_PAGES) *
		(double)sysconf(_SC_PAGESIZE) / GB);
	fprintf(out, "system: Linux %s, glibc %s, THP %s\n", un.release, gnu_get_libc_version(),
		thp);
	fprintf(out, "huge pages:");
	dir = opendir("/sys/kernel/mm/hugepages");
	while (dir && (d = readdir(dir))) {
		size_t kb;

		if (sscanf(d->d_name, "hugepages-%zukB", &kb) != 1)
			continue;
		fprintf(out, " %s: %ld total, %ld free;", hpb_size_str(kb << 10, sz, sizeof(sz)),
			hpb_total_huge(kb << 10), hpb_free_huge(kb << 10));
	}
	if (dir)
		closedir(dir);
	fprintf(out, "\nload average: %.2f%s\n", load,
		load > 1.0 ? "  WARNING: the machine is busy (> 1); figures are noisy, re-run when it is quiet" : "");
}
