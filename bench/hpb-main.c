/* SPDX-License-Identifier: MIT */
/*
 * hpb-main.c - hugepool-bench: the command line, and the loop that runs
 * every peer through every chosen scenario, side by side.
 *
 * Within a scenario, each run starts one worker per peer, in an order that
 * reverses from one run to the next (ABBA), so that a machine that gets
 * busier or quieter during the run moves every peer's median alike. A
 * scenario whose setup costs more than a run (uring) does its runs inside one
 * worker per peer instead. Every figure is the median of its runs, shown
 * with [min .. max].
 *
 *	hugepool-bench --all --runs 5 --csv bench.csv --plot bench.png
 */
#include "hpb.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HPB_LIBDIR
#define HPB_LIBDIR "lib"
#endif
#ifndef HPB_INSTALL_LIBDIR
#define HPB_INSTALL_LIBDIR "/usr/local/lib"
#endif
#ifndef HPB_SONAME
#define HPB_SONAME "libhugepool.so.0"
#endif

struct hpb_opts hpb_opt = {
	.runs = 5,
	.clock = HPB_CLOCK_CPU,
	.tlb_sizes = { GB, 4 * GB },
	.ntlb = 2,
	.waste_live = 256 * MB,
	.small_threads = 2,
	.small_ops = 1000000,
	.heap_slots = 10000,
	.chase_nodes = 10000000,
	.timeout = 300,
	.perm_fd = -1,
};

static const struct hpb_scenario *const scenarios[] = {
	&hpb_scen_first_write, &hpb_scen_tlb, &hpb_scen_churn,
	&hpb_scen_waste, &hpb_scen_small, &hpb_scen_uring,
	&hpb_scen_larson, &hpb_scen_prodcons, &hpb_scen_mix, &hpb_scen_chase,
	&hpb_scen_segments, &hpb_scen_compat,
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: hugepool-bench [SCENARIO...] [options]\n"
		"  hugepool against the allocators a user would pick instead, side by side.\n"
		"  scenarios:");
	for (i = 0; i < ARRAY_SIZE(scenarios); i++)
		fprintf(out, " %s", scenarios[i]->name);
	fprintf(out, " (default: all)\n"
		"  -a, --all              every scenario\n"
		"  -r, --runs N           runs per figure, the median is reported (default 5)\n"
		"  -p, --peers LIST       only these peers, comma-separated (hugepool and\n"
		"                         hugepool-preload, the references, are always in)\n"
		"  -l, --list             list the peers and whether they are installed\n"
		"  -c, --csv FILE         every figure as CSV (- for stdout)\n"
		"  -P, --plot FILE.png    chart of the ratios to hugepool (needs gnuplot)\n"
		"      --clock cpu|wall   single-threaded timings on process CPU time (default)\n"
		"                         or elapsed time; churn-2t is always elapsed\n"
		"      --tlb-sizes LIST   buffers to chase over (default 1G,4G; scaled down to the\n"
		"                         free 2 MiB pages unless given)\n"
		"      --waste-live SIZE  live bytes of the waste workload (default 256M)\n"
		"      --small-threads N  threads of the small workload (default 2)\n"
		"      --small-ops N      operations per thread (default 1000000; larson, prodcons\n"
		"                         and mix too)\n"
		"      --heap-slots N     larson, mix: live objects per thread (default 10000)\n"
		"      --chase-nodes N    chase: nodes of the hash table (default 10000000)\n"
		"      --lib PATH         the libhugepool.so to measure (default: the build's or\n"
		"                         the installed one)\n"
		"      --timeout SEC      per worker (default 300)\n"
		"  -v, --verbose          show the workers' stderr\n"
		"  -h, --help\n");
}

/* libhugepool.so.N: the build tree's next to us (bench/../lib), the
 * installed one relative to us, then the install libdir, then the search
 * path */
static const char *find_lib(char *buf, size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], *slash;
	int i;

	snprintf(dir, sizeof(dir), "%s", hpb_self());
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	for (i = 0; i < 3; i++) {
		if (i == 0)
			snprintf(path, sizeof(path), "%s/../lib/%s", dir, HPB_SONAME);
		else if (i == 1)
			snprintf(path, sizeof(path), "%s/../%s/%s", dir, HPB_LIBDIR, HPB_SONAME);
		else
			snprintf(path, sizeof(path), "%s/%s", HPB_INSTALL_LIBDIR, HPB_SONAME);
		if (!access(path, R_OK) && realpath(path, buf))
			return buf;
	}
	return hpb_find_library(HPB_SONAME, buf, len);
}

static int parse_sizes(const char *arg)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", arg);
	hpb_opt.ntlb = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (hpb_opt.ntlb == (int)ARRAY_SIZE(hpb_opt.tlb_sizes) ||
		    hpb_parse_size(tok, &hpb_opt.tlb_sizes[hpb_opt.ntlb]) ||
		    hpb_opt.tlb_sizes[hpb_opt.ntlb] < 4 * MB)
			return -1;
		hpb_opt.ntlb++;
	}
	return hpb_opt.ntlb ? 0 : -1;
}

static void list_peers(FILE *out)
{
	int i;

	fprintf(out, "%-19s %-14s %s\n", "peer", "installed", "what");
	for (i = 0; i < hpb_npeers; i++) {
		const struct hpb_peer *p = &hpb_peers[i];

		fprintf(out, "%-19s %-14s %s", p->name, p->available ? "yes" : "no", p->desc);
		if (!p->available)
			fprintf(out, " [%s]", p->why);
		else if (p->path[0])
			fprintf(out, " [%s]", p->path);
		fprintf(out, "\n");
	}
}

/* --peers: everything else is marked as left out */
static int select_peers(const char *list)
{
	char buf[512], *save, *tok;
	bool want[HPB_MAX_PEERS] = { false };
	int i;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct hpb_peer *p = hpb_peer_find(tok);

		if (!p) {
			fprintf(stderr, "hugepool-bench: unknown peer '%s' (--list)\n", tok);
			return -1;
		}
		want[hpb_peer_index(p)] = true;
	}
	/* the references of the ratios are always in */
	want[hpb_peer_index(hpb_peer_find("hugepool"))] = true;
	want[hpb_peer_index(hpb_peer_find("hugepool-preload"))] = true;
	want[hpb_peer_index(hpb_peer_find("hugepool-preload-t0"))] = true;
	for (i = 0; i < hpb_npeers; i++)
		if (!want[i] && hpb_peers[i].available) {
			hpb_peers[i].available = false;
			snprintf(hpb_peers[i].why, sizeof(hpb_peers[i].why), "left out (--peers)");
		}
	return 0;
}

static void run_scenario(const struct hpb_scenario *s)
{
	int njobs, runs, r, k, j, i;
	double t0 = hpb_wall();

	hpb_set_scenario(s->name);
	printf("\n== %s\n", s->title);
	fflush(stdout);
	if (s->prepare() < 0) {
		printf("   skipped\n");
		return;
	}
	njobs = s->jobs ? s->jobs() : 1;
	runs = s->inner_runs ? 1 : hpb_opt.runs * (s->run_factor ? s->run_factor : 1);
	for (r = 0; r < runs; r++) {
		for (k = 0; k < hpb_npeers; k++) {
			/* ABBA: every other run walks the peers backwards */
			i = r % 2 ? hpb_npeers - 1 - k : k;
			if (!s->applies(&hpb_peers[i]))
				continue;
			for (j = 0; j < njobs; j++) {
				if (s->applies_job && !s->applies_job(&hpb_peers[i], j))
					continue;
				hpb_opt.run = r;
				hpb_run_worker(s, &hpb_peers[i], j, r);
			}
		}
		if (isatty(2))
			fprintf(stderr, "hugepool-bench: %s: run %d of %d done (%.0f s)\n", s->name,
				r + 1, runs, hpb_wall() - t0);
	}
	hpb_report_scenario(stdout, s);
	printf("   (%s took %.0f s)\n", s->name, hpb_wall() - t0);
	if (s->cleanup)
		s->cleanup();
	fflush(stdout);
}

enum {
	OPT_CLOCK = 256, OPT_TLB, OPT_WASTE, OPT_SMALL_T, OPT_SMALL_N, OPT_LIB, OPT_TIMEOUT,
	OPT_HEAP_SLOTS, OPT_CHASE_NODES,
	OPT_WORKER, OPT_JOB, OPT_SIZE, OPT_PERM, OPT_RUN, OPT_PAIR,
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "runs", required_argument, NULL, 'r' },
		{ "peers", required_argument, NULL, 'p' },
		{ "list", no_argument, NULL, 'l' },
		{ "csv", required_argument, NULL, 'c' },
		{ "plot", required_argument, NULL, 'P' },
		{ "clock", required_argument, NULL, OPT_CLOCK },
		{ "tlb-sizes", required_argument, NULL, OPT_TLB },
		{ "waste-live", required_argument, NULL, OPT_WASTE },
		{ "small-threads", required_argument, NULL, OPT_SMALL_T },
		{ "small-ops", required_argument, NULL, OPT_SMALL_N },
		{ "heap-slots", required_argument, NULL, OPT_HEAP_SLOTS },
		{ "chase-nodes", required_argument, NULL, OPT_CHASE_NODES },
		{ "lib", required_argument, NULL, OPT_LIB },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		/* between the parent and its workers */
		{ "worker", required_argument, NULL, OPT_WORKER },
		{ "job", required_argument, NULL, OPT_JOB },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "perm-fd", required_argument, NULL, OPT_PERM },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "pair", no_argument, NULL, OPT_PAIR },
		{ NULL, 0, NULL, 0 },
	};
	const char *csv = NULL, *plot = NULL, *peers = NULL, *worker = NULL;
	bool chosen[ARRAY_SIZE(scenarios)] = { false }, any = false, list = false;
	char libbuf[PATH_MAX], cmdline[1024] = "";
	int opt, job = 0, i;
	size_t k, off = 0;
	double t0 = hpb_wall();

	while ((opt = getopt_long(argc, argv, "ar:p:lc:P:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			for (k = 0; k < ARRAY_SIZE(scenarios); k++)
				chosen[k] = true;
			any = true;
			break;
		case 'r':
			hpb_opt.runs = atoi(optarg);
			if (hpb_opt.runs < 1 || hpb_opt.runs > HPB_MAX_RUNS / 2) {
				fprintf(stderr, "hugepool-bench: --runs 1 to %d\n", HPB_MAX_RUNS / 2);
				return 2;
			}
			break;
		case 'p': peers = optarg; break;
		case 'l': list = true; break;
		case 'c': csv = optarg; break;
		case 'P': plot = optarg; break;
		case 'v': hpb_opt.verbose = true; break;
		case OPT_CLOCK:
			if (!strcmp(optarg, "cpu"))
				hpb_opt.clock = HPB_CLOCK_CPU;
			else if (!strcmp(optarg, "wall"))
				hpb_opt.clock = HPB_CLOCK_WALL;
			else {
				fprintf(stderr, "hugepool-bench: --clock cpu or wall\n");
				return 2;
			}
			break;
		case OPT_TLB:
			if (parse_sizes(optarg)) {
				fprintf(stderr, "hugepool-bench: --tlb-sizes: sizes of 4M or more, such as 1G,4G\n");
				return 2;
			}
			hpb_opt.tlb_sizes_given = true;
			break;
		case OPT_WASTE:
			if (hpb_parse_size(optarg, &hpb_opt.waste_live) || hpb_opt.waste_live < 16 * MB) {
				fprintf(stderr, "hugepool-bench: --waste-live: a size of 16M or more\n");
				return 2;
			}
			break;
		case OPT_SMALL_T:
			hpb_opt.small_threads = atoi(optarg);
			if (hpb_opt.small_threads < 1 || hpb_opt.small_threads > 256)
				return 2;
			break;
		case OPT_SMALL_N:
			hpb_opt.small_ops = strtoul(optarg, NULL, 10);
			if (!hpb_opt.small_ops)
				return 2;
			break;
		case OPT_HEAP_SLOTS:
			hpb_opt.heap_slots = (unsigned int)strtoul(optarg, NULL, 10);
			if (hpb_opt.heap_slots < 16 || hpb_opt.heap_slots > (1U << 24)) {
				fprintf(stderr, "hugepool-bench: --heap-slots: 16 to 16777216\n");
				return 2;
			}
			break;
		case OPT_CHASE_NODES:
			hpb_opt.chase_nodes = strtoul(optarg, NULL, 10);
			if (hpb_opt.chase_nodes < 1024 || hpb_opt.chase_nodes > (1UL << 30)) {
				fprintf(stderr, "hugepool-bench: --chase-nodes: 1024 to 2^30\n");
				return 2;
			}
			break;
		case OPT_LIB: hpb_opt.lib = optarg; break;
		case OPT_TIMEOUT: hpb_opt.timeout = atoi(optarg); break;
		case OPT_WORKER: worker = optarg; break;
		case OPT_JOB: job = atoi(optarg); break;
		case OPT_SIZE: hpb_opt.size = strtoull(optarg, NULL, 10); break;
		case OPT_PERM: hpb_opt.perm_fd = atoi(optarg); break;
		case OPT_RUN: hpb_opt.run = atoi(optarg); break;
		case OPT_PAIR: hpb_opt.pair = true; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (worker) {
		if (optind >= argc)
			return 2;
		return hpb_worker_main(worker, argv[optind], job);
	}
	for (; optind < argc; optind++) {
		bool found = false;

		for (k = 0; k < ARRAY_SIZE(scenarios); k++)
			if (!strcmp(argv[optind], scenarios[k]->name))
				chosen[k] = found = any = true;
		if (!found) {
			fprintf(stderr, "hugepool-bench: unknown scenario '%s'\n", argv[optind]);
			usage(stderr);
			return 2;
		}
	}
	if (!any)
		for (k = 0; k < ARRAY_SIZE(scenarios); k++)
			chosen[k] = true;
	if (!hpb_opt.lib)
		hpb_opt.lib = find_lib(libbuf, sizeof(libbuf));
	hpb_peers_probe();
	if (list) {
		list_peers(stdout);
		return 0;
	}
	if (peers && select_peers(peers))
		return 2;
	if (!hpb_peer_find("hugepool")->available) {
		fprintf(stderr, "hugepool-bench: %s\n", hpb_peer_find("hugepool")->why);
		return 1;
	}

	for (i = 0; i < argc && off < sizeof(cmdline) - 1; i++)
		off += (size_t)snprintf(cmdline + off, sizeof(cmdline) - off, "%s%s", i ? " " : "",
					argv[i]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("hugepool-bench: libhugepool %s\n", hpb_opt.lib);
	printf("command: %s\n", cmdline);
	hpb_print_machine(stdout);
	printf("timing: %s; each figure is the median of %d runs, [min .. max]\n",
	       hpb_opt.clock == HPB_CLOCK_CPU ?
	       "process CPU time (not time spent waiting for a CPU; --clock wall for elapsed)" :
	       "elapsed time (CLOCK_MONOTONIC)", hpb_opt.runs);
	printf("peers:\n");
	for (i = 0; i < hpb_npeers; i++)
		printf("   %-19s %s%s%s%s\n", hpb_peers[i].name, hpb_peers[i].desc,
		       hpb_peers[i].available ? "" : "  [", hpb_peers[i].available ? "" : hpb_peers[i].why,
		       hpb_peers[i].available ? "" : "]");

	for (k = 0; k < ARRAY_SIZE(scenarios); k++)
		if (chosen[k])
			run_scenario(scenarios[k]);

	hpb_report_summary(stdout);
	printf("\nload average at the end: %.2f%s; total %.0f s\n", hpb_loadavg(),
	       hpb_loadavg() > 1 ? " (busy machine: noisy figures)" : "", hpb_wall() - t0);
	if (csv) {
		if (hpb_report_csv(csv))
			perror("hugepool-bench: csv");
		else if (strcmp(csv, "-"))
			printf("csv: %s\n", csv);
	}
	if (plot && !hpb_report_plot(plot, "hugepool-bench: cost relative to hugepool (log scale; above 1, hugepool is better)"))
		printf("chart: %s\n", plot);
	return 0;
}
