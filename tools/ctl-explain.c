/* SPDX-License-Identifier: MIT */
/*
 * ctl-explain.c - `hugepool-ctl explain`: what would stop huge pages from
 * working on this machine, each finding with the command that fixes it.
 *
 * Checked: hugetlb support; pages configured per size and free; whether a
 * 1 GiB page could be found in free memory now (buddyinfo); hugetlbfs
 * mounts; RLIMIT_MEMLOCK (io_uring pins registered buffers against it);
 * hugetlb cgroup limits (v1 controller, and v2) along this process's
 * cgroup path; the THP mode. Everything is read below hp_sysfs_root so that
 * tests can present a fake machine.
 */
#include "ctl.h"

#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum severity { SEV_OK, SEV_INFO, SEV_WARN, SEV_PROBLEM };
static const char *const sev_names[] = { "ok", "info", "warning", "problem" };

struct finding {
	enum severity sev;
	char check[24];
	char msg[1024];
	char fix[2800];
};

#define MAX_FINDINGS 64
static struct finding findings[MAX_FINDINGS];
static int nfindings;

__attribute__((format(printf, 4, 5)))
static struct finding *add(enum severity sev, const char *check, const char *fix,
			   const char *fmt, ...)
{
	struct finding *f;
	va_list ap;

	if (nfindings == MAX_FINDINGS)
		return &findings[MAX_FINDINGS - 1];
	f = &findings[nfindings++];
	f->sev = sev;
	snprintf(f->check, sizeof(f->check), "%s", check);
	snprintf(f->fix, sizeof(f->fix), "%s", fix ? fix : "");
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return f;
}

/* ------------------------------------------------------------------------
 * pools
 * ------------------------------------------------------------------------ */
static unsigned long long pool_bytes;	/* memory in all pools, for MEMLOCK */

static void check_pools(void)
{
	const struct hp_hstate *def = hp_default_hstate();
	int i, configured = 0;

	for (i = 0; i < hp_hstate_count(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);
		unsigned long nr = 0, fr = 0, rs = 0, over = 0, surp = 0;
		char sz[32], fix[256];

		ctl_size_str(h->size, sz, sizeof(sz));
		ctl_read(h, -1, "nr_hugepages", &nr);
		ctl_read(h, -1, "free_hugepages", &fr);
		ctl_read(h, -1, "resv_hugepages", &rs);
		ctl_read(h, -1, "surplus_hugepages", &surp);
		ctl_read(h, -1, "nr_overcommit_hugepages", &over);
		pool_bytes += (unsigned long long)nr * h->size;
		if (nr == 0 && over == 0) {
			snprintf(fix, sizeof(fix), "hugepool-ctl set %s %s", sz,
				 h->size >= (1UL << 30) ? "2" : "512");
			add(h == def ? SEV_WARN : SEV_INFO, "pool", fix,
			    "no %s pages: nr_hugepages and nr_overcommit_hugepages are 0, "
			    "so every %s allocation fails", sz, sz);
			continue;
		}
		configured++;
		if (fr <= rs && over <= surp) {
			snprintf(fix, sizeof(fix), "hugepool-ctl set %s +%lu", sz,
				 nr > 8 ? nr / 4 : 8);
			add(SEV_PROBLEM, "pool", fix, "all %lu %s pages are in use or reserved "
			    "and overcommit is exhausted: new %s allocations fail", nr, sz, sz);
		} else {
			add(SEV_OK, "pool", NULL, "%s: %lu pages, %lu free (%lu reserved), "
			    "overcommit %lu", sz, nr, fr, rs, over);
		}
	}
	if (!configured) {
		char sz[32], fix[128];

		ctl_size_str(def ? def->size : 2UL << 20, sz, sizeof(sz));
		snprintf(fix, sizeof(fix), "hugepool-ctl set %s 512   (1 GiB of %s pages)", sz, sz);
		add(SEV_PROBLEM, "pool", fix, "no huge pages are configured at all: the "
		    "kernel pools are empty and overcommit is 0");
	}
}

/* ------------------------------------------------------------------------
 * 1 GiB pages: physically contiguous gigabytes
 * ------------------------------------------------------------------------ */
/* Free memory in blocks of the largest buddy order, from /proc/buddyinfo. */
static unsigned long long maxorder_free(unsigned int *order_out)
{
	char buf[8192], *line, *save = NULL;
	unsigned long long total = 0;
	unsigned int max_order = 0;

	if (ctl_read_text("/proc/buddyinfo", buf, sizeof(buf)) <= 0)
		return 0;
	/* "Node 0, zone Normal  c0 c1 ... c10" */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, "zone");
		unsigned long counts[32];
		unsigned int n = 0;

		if (!p)
			continue;
		p += 4;
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;	/* zone name */
		while (*p && n < ARRAY_SIZE(counts)) {
			char *end;

			counts[n] = strtoul(p, &end, 10);
			if (end == p)
				break;
			n++;
			p = end;
		}
		if (!n)
			continue;
		if (n - 1 > max_order) {
			max_order = n - 1;
			total = 0;
		}
		if (n - 1 == max_order)
			total += (unsigned long long)counts[n - 1] << (n - 1);
	}
	*order_out = max_order;
	return total * 4096ULL;
}

static void check_gigantic(void)
{
	const struct hp_hstate *h = hp_size_to_hstate(1UL << 30);
	char cmdline[4096] = "", sz[32], fix[512];
	const char *p;
	unsigned long nr = 0;
	unsigned long long fr;
	unsigned int order = 0;

	if (!h)
		return;
	ctl_read(h, -1, "nr_hugepages", &nr);
	ctl_read_text("/proc/cmdline", cmdline, sizeof(cmdline));
	fr = maxorder_free(&order);
	ctl_size_str((4096UL << order), sz, sizeof(sz));
	snprintf(fix, sizeof(fix), "at boot: add 'hugepagesz=1G hugepages=N' to "
		 "GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot; check "
		 "with 'cat /proc/cmdline' and 'hugepool-ctl show' (1G pages: N). At runtime: "
		 "hugepool-ctl set 1G N --retry 60");
	if ((p = strstr(cmdline, "hugepagesz=1G")) || (p = strstr(cmdline, "hugepagesz=1g"))) {
		const char *q = strstr(p, "hugepages=");
		unsigned long want = q ? strtoul(q + 10, NULL, 10) : 0;

		/* the kernel reserves what it can at boot and says nothing
		 * if it comes short: compare with what was asked */
		if (want && nr < want)
			add(SEV_PROBLEM, "1G", "check 'dmesg | grep -i hugetlb' (the kernel "
			    "logs what it could not allocate); lower hugepages= or add memory",
			    "the kernel command line asks for %lu 1G pages at boot, there are %lu",
			    want, nr);
		else
			add(SEV_OK, "1G", NULL, "1G pages are reserved at boot (hugepagesz=1G "
			    "hugepages=%lu on the kernel command line); %lu now", want, nr);
		return;
	}
	if (fr < (1ULL << 30)) {
		add(nr ? SEV_INFO : SEV_PROBLEM, "1G", fix,
		    "memory is fragmented for 1G pages: only %llu MiB is free in %s blocks (the "
		    "largest), and a 1G page needs 1 GiB of contiguous memory; "
		    "%s", fr >> 20, sz, nr ? "the existing 1G pages are unaffected, more may "
		    "not be possible" : "a runtime request for 1G pages will likely come up short");
		return;
	}
	add(SEV_INFO, "1G", fix, "%llu MiB free in %s blocks: 1G pages can probably be "
	    "added at runtime, but only boot-time reservation is certain", fr >> 20, sz);
}

/* ------------------------------------------------------------------------
 * hugetlbfs mounts
 * ------------------------------------------------------------------------ */
static void check_mounts(const struct ctl_mounts *ms)
{
	int i, total = 0;
	size_t j;

	for (j = 0; j < ms->n; j++)
		total += !strcmp(ms->m[j].type, "hugetlbfs");
	if (!total) {
		const struct hp_hstate *def = hp_default_hstate();
		char sz[32], fix[256];

		ctl_size_str(def ? def->size : 2UL << 20, sz, sizeof(sz));
		snprintf(fix, sizeof(fix), "hugepool-ctl mount /dev/hugepages --pagesize %s --mkdir",
			 sz);
		add(SEV_INFO, "mount", fix, "no hugetlbfs is mounted: libhugepool does not need "
		    "one, but programs that map huge page files (DPDK, QEMU, libhugetlbfs) do");
		return;
	}
	for (i = 0; i < hp_hstate_count(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);
		unsigned long nr = 0;
		char sz[32], fix[256];
		bool found = false;

		for (j = 0; j < ms->n; j++)
			if (!strcmp(ms->m[j].type, "hugetlbfs") &&
			    ctl_mount_pagesize(&ms->m[j]) == h->size)
				found = true;
		ctl_read(h, -1, "nr_hugepages", &nr);
		ctl_size_str(h->size, sz, sizeof(sz));
		if (found) {
			add(SEV_OK, "mount", NULL, "hugetlbfs is mounted for %s pages", sz);
		} else if (nr) {
			snprintf(fix, sizeof(fix), "hugepool-ctl mount /dev/hugepages-%s "
				 "--pagesize %s --mkdir", sz, sz);
			add(SEV_INFO, "mount", fix, "%lu %s pages but no hugetlbfs mount for them "
			    "(needed only by programs that map huge page files)", nr, sz);
		}
	}
}

/* ------------------------------------------------------------------------
 * RLIMIT_MEMLOCK: io_uring charges registered buffers to it
 * ------------------------------------------------------------------------ */
static bool has_cap_ipc_lock(void)
{
	char buf[4096], *p;
	unsigned long long eff;

	if (hp_sys_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return false;
	p = strstr(buf, "CapEff:");
	if (!p)
		return false;
	eff = strtoull(p + 7, NULL, 16);
	return eff & (1ULL << 14);	/* CAP_IPC_LOCK */
}

static void check_memlock(void)
{
	struct rlimit rl;
	char cur[32], need[32];
	const char *fix = "ulimit -l unlimited (shell), LimitMEMLOCK=infinity (systemd unit), "
			  "or '* - memlock unlimited' in /etc/security/limits.d/hugepool.conf";
	unsigned long long want = pool_bytes ? pool_bytes : 64ULL << 20;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return;
	if (rl.rlim_cur == RLIM_INFINITY) {
		add(SEV_OK, "memlock", NULL, "RLIMIT_MEMLOCK is unlimited");
		return;
	}
	ctl_size_str((size_t)rl.rlim_cur, cur, sizeof(cur));
	ctl_size_str((size_t)want, need, sizeof(need));
	if (has_cap_ipc_lock()) {
		add(SEV_INFO, "memlock", fix, "RLIMIT_MEMLOCK is %s, but this process has "
		    "CAP_IPC_LOCK, which lifts it; programs without the capability are limited "
		    "to %s of io_uring registered buffers", cur, cur);
		return;
	}
	if (rl.rlim_cur < want)
		add(SEV_WARN, "memlock", fix, "RLIMIT_MEMLOCK is %s: io_uring buffer "
		    "registration (hugepool_uring_register) pins memory against it and fails "
		    "beyond %s (the pools hold %s)", cur, cur, need);
	else
		add(SEV_OK, "memlock", NULL, "RLIMIT_MEMLOCK is %s", cur);
}

/* ------------------------------------------------------------------------
 * hugetlb cgroup limits
 * ------------------------------------------------------------------------ */
/* ------------------------------------------------------------------------
 * hugetlb cgroup limits (lib/cgroup.c), v1 and v2, or --cgroup PATH
 * ------------------------------------------------------------------------ */
static void check_cgroups(const char *path)
{
	struct hp_cgroup_loc locs[2];
	int n, k, i;

	n = ctl_cgroup_locs(path, locs, 2);
	for (k = 0; k < n; k++) {
		const struct hp_cgroup_loc *loc = &locs[k];
		const char *v = loc->version == 1 ? "(v1)" : "(v2)";

		for (i = 0; i < hp_hstate_count(); i++) {
			const struct hp_hstate *h = hp_hstate_get(i);
			struct ctl_cg_size cs;
			unsigned long nr = 0;
			unsigned long long tight;
			char sz[32], fix[2700], file[HP_CG_PATH + 64], use[160] = "";
			bool rsvd;

			ctl_cgroup_size(loc, h, &cs);
			ctl_read(h, -1, "nr_hugepages", &nr);
			ctl_size_str(h->size, sz, sizeof(sz));
			if (cs.has_own)
				snprintf(use, sizeof(use), "; %s uses %llu MiB, refused %llu "
					 "time%s", ctl_cgroup_name(loc), cs.own.usage >> 20,
					 cs.own.events_max, cs.own.events_max == 1 ? "" : "s");
			rsvd = cs.rsvd_limit < cs.limit;
			tight = rsvd ? cs.rsvd_limit : cs.limit;
			if (tight == ULLONG_MAX) {
				if (cs.has_own)
					add(SEV_OK, "cgroup", NULL, "the hugetlb cgroup %s %s does "
					    "not limit %s pages%s", v, ctl_cgroup_name(loc), sz, use);
				continue;
			}
			ctl_cgroup_limit_file(loc, rsvd ? cs.rsvd_dir : cs.limit_dir, h->size,
					      rsvd, file, sizeof(file));
			snprintf(fix, sizeof(fix), "echo %s > %s", loc->version == 1 ? "-1" : "max",
				 file);
			if (cs.room == 0 || tight < (unsigned long long)nr * h->size)
				add(SEV_PROBLEM, "cgroup", fix, "the hugetlb cgroup %s limits %s "
				    "pages to %llu MiB (%llu pages%s) though the pool has %lu: "
				    "allocations beyond fail%s (%ld more allowed)", v, sz,
				    tight >> 20, tight / h->size, rsvd ? ", reservations" : "", nr,
				    use, cs.room);
			else
				add(SEV_INFO, "cgroup", fix, "the hugetlb cgroup %s limits %s "
				    "pages to %llu MiB%s (%ld more allowed)", v, sz, tight >> 20,
				    use, cs.room);
		}
	}
}

/* ------------------------------------------------------------------------
 * SysV shared memory (SHM_HUGETLB), hugetlb_shm_group, min_free_kbytes:
 * the advice hugeadm --explain gives
 * ------------------------------------------------------------------------ */
static unsigned long long read_ull(const char *rel, bool *ok)
{
	char buf[64];

	*ok = ctl_read_text(rel, buf, sizeof(buf)) > 0;
	return *ok ? strtoull(buf, NULL, 10) : 0;
}

static void check_shm(void)
{
	unsigned long long shmmax, shmall, largest = 0;
	char fix[160], mem[32];
	bool ok1, ok2;
	int i;

	for (i = 0; i < hp_hstate_count(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);
		unsigned long nr = 0;

		ctl_read(h, -1, "nr_hugepages", &nr);
		if ((unsigned long long)nr * h->size > largest)
			largest = (unsigned long long)nr * h->size;
	}
	shmmax = read_ull("/proc/sys/kernel/shmmax", &ok1);
	shmall = read_ull("/proc/sys/kernel/shmall", &ok2);	/* in 4 KiB pages */
	if (!ok1 || !ok2 || !largest)
		return;
	ctl_human(largest, mem, sizeof(mem));
	if (shmmax < largest) {
		snprintf(fix, sizeof(fix), "sysctl -w kernel.shmmax=%llu", largest);
		add(SEV_INFO, "shm", fix, "kernel.shmmax (%llu bytes) is smaller than the largest "
		    "pool (%s): a SysV segment with SHM_HUGETLB cannot use all of it", shmmax, mem);
	} else if (shmall < largest / 4096) {
		snprintf(fix, sizeof(fix), "sysctl -w kernel.shmall=%llu", largest / 4096);
		add(SEV_INFO, "shm", fix, "kernel.shmall (%llu pages) is smaller than the largest "
		    "pool (%s): SysV segments with SHM_HUGETLB cannot use all of it", shmall, mem);
	} else {
		add(SEV_OK, "shm", NULL, "kernel.shmmax and shmall allow SysV segments as large "
		    "as the largest pool (%s)", mem);
	}
}

static void check_shm_group(void)
{
	bool ok;
	unsigned long long gid = read_ull("/proc/sys/vm/hugetlb_shm_group", &ok);

	if (!ok)
		return;
	/* shmget(SHM_HUGETLB) needs CAP_IPC_LOCK or this group; MAP_HUGETLB,
	 * memfd and hugetlbfs files (what libhugepool uses) do not */
	add(SEV_OK, "shm", gid ? NULL : "sysctl -w vm.hugetlb_shm_group=GID",
	    "vm.hugetlb_shm_group is %llu: %s may use shmget(SHM_HUGETLB) without "
	    "CAP_IPC_LOCK (libhugepool does not need it)", gid,
	    gid ? "members of that group" : "only root");
}

/* hugeadm --recommended-min_free_kbytes: keep a few pageblocks free per zone
 * so that the kernel can keep movable and unmovable allocations apart, and
 * contiguous huge pages can still be found at runtime. */
static void check_min_free(void)
{
	static char text[1 << 17];
	char *p;
	unsigned long long cur, memtotal_kb = 0, pb_kb, rec;
	const struct hp_hstate *def = hp_default_hstate();
	char fix[96];
	int zones = 0;
	bool ok;

	cur = read_ull("/proc/sys/vm/min_free_kbytes", &ok);
	if (!ok || !def)
		return;
	if (ctl_read_text("/proc/zoneinfo", text, sizeof(text)) > 0) {
		char *save = NULL, *line;
		bool pending = false;

		/* populated zones: "present N" > 0 after each "Node N, zone X" */
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *pres = strstr(line, "present ");

			if (!strncmp(line, "Node ", 5))
				pending = true;
			else if (pending && pres) {
				zones += strtoull(pres + 8, NULL, 10) > 0;
				pending = false;
			}
		}
	}
	if (ctl_read_text("/proc/meminfo", text, sizeof(text)) > 0 &&
	    (p = strstr(text, "MemTotal:")))
		memtotal_kb = strtoull(p + 9, NULL, 10);
	if (!zones || !memtotal_kb)
		return;
	pb_kb = def->size >> 10;	/* a pageblock is a default huge page */
	rec = pb_kb * (unsigned long long)zones * 2 +
	      pb_kb * (unsigned long long)zones * (unsigned long long)zones * 3;
	if (rec > memtotal_kb / 20)
		rec = memtotal_kb / 20;
	snprintf(fix, sizeof(fix), "sysctl -w vm.min_free_kbytes=%llu", rec);
	if (cur < rec)
		add(SEV_INFO, "min_free", fix, "vm.min_free_kbytes is %llu; %llu (hugeadm's "
		    "recommendation for %d zones) keeps memory less fragmented, so that huge "
		    "pages can still be added at runtime", cur, rec, zones);
	else
		add(SEV_OK, "min_free", NULL, "vm.min_free_kbytes is %llu (at least the "
		    "recommended %llu)", cur, rec);
}

/* ------------------------------------------------------------------------
 * THP
 * ------------------------------------------------------------------------ */
static void check_thp(void)
{
	char mode[32];
	const char *fix = "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled";

	ctl_bracketed("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof(mode));
	if (!mode[0])
		return;
	if (!strcmp(mode, "always"))
		add(SEV_INFO, "thp", fix, "transparent huge pages are 'always': every process "
		    "competes (and khugepaged compacts) for the contiguous memory that growing "
		    "the hugetlb pools needs; hugepool's explicit pages do not need THP");
	else
		add(SEV_OK, "thp", NULL, "transparent huge pages are '%s' (hugepool's explicit "
		    "pages do not depend on THP)", mode);
}

static void help(void)
{
	printf("Usage: hugepool-ctl explain [--json] [--all] [--cgroup PATH]\n\n"
	       "Explain what would stop huge pages from working here (no pages, 1G\n"
	       "fragmentation, no hugetlbfs mount, RLIMIT_MEMLOCK for io_uring, hugetlb\n"
	       "cgroup limits, THP) and print the command that fixes each.\n"
	       "Also: 1G pages at boot, SysV shm limits, hugetlb_shm_group, min_free_kbytes.\n"
	       "Exit status 1 only if a problem stops huge pages (warnings and advice: 0).\n\n"
	       "  -a, --all    also list the checks that passed\n"
	       "  -c, --cgroup PATH  the hugetlb limits of that cgroup directory instead\n"
	       "               of this process's\n"
	       "  -j, --json   JSON: {\"findings\": [{\"severity\", \"check\", \"message\", \"fix\"}]}\n"
	       "  -h, --help   this help\n");
}

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_mounts ms = { 0 };
	const char *cgroup = NULL;
	bool json = false, all = false;
	int ch, i, bad = 0, warn = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":jac:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'c': cgroup = optarg; break;
		case 'a': all = true; break;
		case 'h': help(); return CTL_OK;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind]);
	if (cgroup) {
		struct hp_cgroup_loc loc;
		int r = ctl_cgroup_locs(cgroup, &loc, 1);

		if (r < 0)
			return -r;
	}

	if (ctl_hstates() <= 0) {
		add(SEV_PROBLEM, "kernel", "use a kernel built with CONFIG_HUGETLBFS=y",
		    "this kernel has no huge page support (no /sys/kernel/mm/hugepages)");
	} else {
		check_pools();
		check_gigantic();
		if (ctl_mounts_read(&ms))
			add(SEV_WARN, "mount", NULL, "cannot read /proc/mounts");
		check_mounts(&ms);
		check_memlock();
		check_cgroups(cgroup);
		check_shm();
		check_shm_group();
		check_min_free();
		check_thp();
		ctl_mounts_free(&ms);
	}

	/* exit 1 only for what stops huge pages; warnings and advice are
	 * printed, but a healthy machine with remarks exits 0 */
	for (i = 0; i < nfindings; i++) {
		bad += findings[i].sev == SEV_PROBLEM;
		warn += findings[i].sev == SEV_WARN;
	}
	if (json) {
		printf("{\"problems\":%d,\"warnings\":%d,\"findings\":[", bad, warn);
		for (i = 0; i < nfindings; i++) {
			printf("%s{\"severity\":\"%s\",\"check\":", i ? "," : "",
			       sev_names[findings[i].sev]);
			json_str(stdout, findings[i].check);
			printf(",\"message\":");
			json_str(stdout, findings[i].msg);
			printf(",\"fix\":");
			if (findings[i].fix[0])
				json_str(stdout, findings[i].fix);
			else
				printf("null");
			printf("}");
		}
		printf("]}\n");
	} else {
		for (i = 0; i < nfindings; i++) {
			const struct finding *f = &findings[i];

			if (f->sev == SEV_OK && !all)
				continue;
			printf("%-8s %s\n", sev_names[f->sev], f->msg);
			if (f->fix[0])
				printf("%-8s fix: %s\n", "", f->fix);
		}
		if (!bad)
			printf("no problems found: huge pages should work here%s\n",
			       all ? "" : " (--all lists what was checked)");
		else
			printf("%d problem%s stop%s huge pages here\n", bad, bad == 1 ? "" : "s",
			       bad == 1 ? "s" : "");
	}
	return fflush(stdout) ? CTL_FAIL : bad ? CTL_FAIL : CTL_OK;
}
