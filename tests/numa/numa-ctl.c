/* SPDX-License-Identifier: MIT */
/*
 * numa-ctl: `hugepool-ctl set --node` changes one node's pool through the
 * per-node sysfs file and reads it back; `hugepool-ctl show` (table and
 * --json) shows every node with the kernel's numbers.
 *
 * The tool is found on PATH (run-guest.sh --add puts it in /tests) or at
 * $HUGEPOOL_CTL. Checks, against sysfs read directly:
 *  - `set 2M 40 --node 1`: exit 0, node1 nr_hugepages is 40, node 0's (and
 *    every other node's) did not move;
 *  - `set 2M +4 --node 1` (relative): 44;
 *  - `set 2M 1000 --node 1` (more than node 1's 512 MiB can hold): exit
 *    status 1, and the message names the count the kernel did give, which
 *    is what node1 nr_hugepages reads;
 *  - `show`: for 2M, a row per node whose NR and FREE are that node's
 *    nr_hugepages and free_hugepages (node 1 differs from node 0 here, so
 *    swapped or repeated rows would show);
 *  - `show --json`: the 2M page size's "nodes" array has an entry for every
 *    node, with nr_hugepages and free_hugepages equal to sysfs;
 *  - node 1's original count is restored with `set` and reads back.
 */
#include "numa-test.h"

#include <ctype.h>

#define OUT_MAX (64 << 10)

static const char *ctl = "hugepool-ctl";

/* Run `hugepool-ctl ARGS` (stderr merged); output into out, exit status returned. */
static int run_ctl(const char *args, char *out, size_t len)
{
	char cmd[512];
	size_t n = 0;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", ctl, args);
	printf("  $ %s %s\n", ctl, args);
	fflush(stdout);
	f = popen(cmd, "r");
	if (!f) {
		out[0] = '\0';
		return -1;
	}
	while (n + 1 < len) {
		size_t r = fread(out + n, 1, len - 1 - n, f);

		if (!r)
			break;
		n += r;
	}
	out[n] = '\0';
	st = pclose(f);
	if (st < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* the tool's output, indented, for the console */
static void show_output(const char *out)
{
	const char *l = out;

	while (*l) {
		const char *e = strchr(l, '\n');
		int len = e ? (int)(e - l) : (int)strlen(l);

		printf("    | %.*s\n", len, l);
		if (!e)
			break;
		l = e + 1;
	}
}

static bool set_node(int node, const char *count, long want)
{
	char out[OUT_MAX], args[128];
	int st;
	long got;

	snprintf(args, sizeof(args), "set 2M %s --node %d", count, node);
	st = run_ctl(args, out, sizeof(out));
	show_output(out);
	got = nt_node_hp(node, "nr_hugepages");
	return EXPECT(st == 0 && got == want,
		      "set 2M %s --node %d: exit %d, node%d nr_hugepages reads %ld (want %ld)",
		      count, node, st, node, got, want);
}

/*
 * In the table a size's total row reads "2M all NR FREE ..." (a '*' marks
 * the default size) and is followed by one row per node: NODE NR FREE ...
 */
static void check_table(const char *out, int nodes)
{
	bool in2m = false, seen[NT_MAX_NODES] = { false };
	const char *l = out;

	while (l && *l) {
		char line[256], w[6][32];
		size_t len = strcspn(l, "\n");
		int k;

		/* one line at a time: %s would read on across newlines */
		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		k = sscanf(line, "%31s %31s %31s %31s %31s %31s",
			   w[0], w[1], w[2], w[3], w[4], w[5]);

		if (k >= 2 && !strcmp(w[1], "all"))	/* a size's total row */
			in2m = !strcmp(w[0], "2M") || !strcmp(w[0], "2M*");
		else if (k < 1 || w[0][strspn(w[0], "0123456789")] != '\0')
			in2m = false;		/* not a node row: past the table */
		else if (in2m && k >= 3) {
			int n = atoi(w[0]);

			if (n >= 0 && n < nodes) {
				long nr = atol(w[1]), fr = atol(w[2]);

				seen[n] = true;
				EXPECT(nr == nt_node_hp(n, "nr_hugepages") &&
				       fr == nt_node_hp(n, "free_hugepages"),
				       "show: 2M node %d row NR %ld FREE %ld == sysfs %ld %ld",
				       n, nr, fr, nt_node_hp(n, "nr_hugepages"),
				       nt_node_hp(n, "free_hugepages"));
			}
		}
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	for (int n = 0; n < nodes; n++)
		EXPECT(seen[n], "show: a 2M row for node %d", n);
}

/* the number after "key" : in [s, end), or -1 */
static long json_num(const char *s, const char *end, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\"", key);
	p = strstr(s, k);
	if (!p || p >= end)
		return -1;
	p += strlen(k);
	while (p < end && (isspace((unsigned char)*p) || *p == ':'))
		p++;
	return p < end && isdigit((unsigned char)*p) ? atol(p) : -1;
}

/* {"page_sizes":[{"page_size":2097152, ..., "nodes":[{"node":0,...},...]}]} */
static void check_json(const char *out, int nodes)
{
	const char *ps = strstr(out, "2097152"), *arr, *end;
	bool seen[NT_MAX_NODES] = { false };

	EXPECT(out[strspn(out, " \t\n")] == '{', "show --json: output is a JSON object");
	arr = ps ? strstr(ps, "\"nodes\"") : NULL;
	end = arr ? strchr(arr, ']') : NULL;
	if (!EXPECT(arr && end, "show --json: the 2 MiB page size has a \"nodes\" array"))
		return;
	for (const char *o = strchr(arr, '{'); o && o < end; o = strchr(o + 1, '{')) {
		const char *oe = strchr(o, '}');
		long n, nr, fr;

		if (!oe || oe > end)
			break;
		n = json_num(o, oe, "node");
		nr = json_num(o, oe, "nr_hugepages");
		fr = json_num(o, oe, "free_hugepages");
		if (n < 0 || n >= nodes)
			continue;
		seen[n] = true;
		EXPECT(nr == nt_node_hp((int)n, "nr_hugepages") &&
		       fr == nt_node_hp((int)n, "free_hugepages"),
		       "show --json: 2M node %ld nr_hugepages %ld free_hugepages %ld == sysfs %ld %ld",
		       n, nr, fr, nt_node_hp((int)n, "nr_hugepages"),
		       nt_node_hp((int)n, "free_hugepages"));
	}
	for (int n = 0; n < nodes; n++)
		EXPECT(seen[n], "show --json: an entry for node %d", n);
}

int main(void)
{
	static char out[OUT_MAX];
	struct nt_snap base;
	char num[32];
	long orig, got;
	int nodes, st;

	nt_init("numa-ctl");
	if (getenv("HUGEPOOL_CTL"))
		ctl = getenv("HUGEPOOL_CTL");
	nodes = nt_require(2, 0);
	nt_snap(&base);
	orig = base.nr[1];
	if (run_ctl("--version", out, sizeof(out)) != 0)
		nt_skip_or_fail("%s --version failed: no hugepool-ctl to test (%s)", ctl, out);
	show_output(out);

	/* absolute, then relative: only node 1 moves */
	if (set_node(1, "40", 40)) {
		for (int n = 0; n < nodes; n++)
			if (n != 1)
				EXPECT(nt_node_hp(n, "nr_hugepages") == base.nr[n],
				       "node%d nr_hugepages %ld unchanged", n,
				       nt_node_hp(n, "nr_hugepages"));
	}
	set_node(1, "+4", 44);

	/* node 1 differs from node 0 now: the rows must not be swapped */
	st = run_ctl("show", out, sizeof(out));
	show_output(out);
	EXPECT(st == 0, "show: exit %d", st);
	check_table(out, nodes);
	st = run_ctl("show --json", out, sizeof(out));
	show_output(out);
	EXPECT(st == 0, "show --json: exit %d", st);
	check_json(out, nodes);

	/* more than the node can hold: read back, fail, say how many */
	st = run_ctl("set 2M 1000 --node 1", out, sizeof(out));
	show_output(out);
	got = nt_node_hp(1, "nr_hugepages");
	snprintf(num, sizeof(num), "%ld", got);
	EXPECT(st == 1 && got < 1000 && strstr(out, num),
	       "set 2M 1000 --node 1: exit %d (want 1), node1 has %ld, which the message names",
	       st, got);

	snprintf(num, sizeof(num), "%ld", orig);
	set_node(1, num, orig);
	nt_check_baseline("restored", &base);
	return nt_finish();
}
