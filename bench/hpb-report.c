/* SPDX-License-Identifier: MIT */
/*
 * hpb-report.c - the results store and everything that prints it: a table
 * per scenario (median [min .. max], backing pages, ratio to hugepool), the
 * summary of ratios, the CSV and the gnuplot chart.
 *
 * Ratios are costs relative to the reference (hugepool): peer time / hugepool
 * time, or hugepool GB/s / peer GB/s, or peer waste / hugepool waste. So
 * every ratio reads the same way: above 1 hugepool is better, below 1 the
 * peer is.
 */
#include "hpb.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct hpb_metric metrics[HPB_MAX_METRICS];
static const char *metric_scen[HPB_MAX_METRICS];
static int nmetrics;
static const char *cur_scen = "";
static struct hpb_series series[HPB_MAX_METRICS][HPB_MAX_PEERS];

void hpb_set_scenario(const char *name)
{
	cur_scen = name;
}

int hpb_metric_add(const char *name, const char *title, const char *unit,
		   bool higher_better, const char *ref)
{
	struct hpb_metric *m;

	if (nmetrics == HPB_MAX_METRICS)
		return -1;
	m = &metrics[nmetrics];
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->title, sizeof(m->title), "%s", title);
	m->unit = unit;
	m->higher_better = higher_better;
	m->ref = ref;
	metric_scen[nmetrics] = cur_scen;
	return nmetrics++;
}

int hpb_metric_find(const char *name)
{
	int i;

	for (i = 0; i < nmetrics; i++)
		if (!strcmp(metrics[i].name, name))
			return i;
	return -1;
}

struct hpb_metric *hpb_metric(int m)
{
	return &metrics[m];
}

int hpb_nmetrics(void)
{
	return nmetrics;
}

const char *hpb_metric_scenario(int m)
{
	return metric_scen[m];
}

struct hpb_series *hpb_series(int metric, int peer)
{
	return &series[metric][peer];
}

double hpb_series_median(const struct hpb_series *s)
{
	return hpb_median(s->v, s->n);
}

double hpb_series_min(const struct hpb_series *s)
{
	double m = s->n ? s->v[0] : 0;
	int i;

	for (i = 1; i < s->n; i++)
		m = s->v[i] < m ? s->v[i] : m;
	return m;
}

double hpb_series_max(const struct hpb_series *s)
{
	double m = s->n ? s->v[0] : 0;
	int i;

	for (i = 1; i < s->n; i++)
		m = s->v[i] > m ? s->v[i] : m;
	return m;
}

double hpb_ratio(int metric, int peer, int ref)
{
	const struct hpb_series *p = &series[metric][peer], *r = &series[metric][ref];
	double a, b;

	if (!p->n || !r->n || ref < 0 || metrics[metric].aux)
		return 0;
	a = hpb_series_median(p);
	b = hpb_series_median(r);
	if (a <= 0 || b <= 0)
		return 0;
	return metrics[metric].higher_better ? b / a : a / b;
}

static int ref_of(int m)
{
	const struct hpb_peer *p = hpb_peer_find(metrics[m].ref);

	return p ? hpb_peer_index(p) : -1;
}

/* enough digits for 3 significant ones */
static int prec(double v)
{
	double a = fabs(v);

	return a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
}

/* the metrics of the summary and the chart (the tables show table_only
 * ones too) */
#define for_each_shown(m) \
	for ((m) = 0; (m) < nmetrics; (m)++) \
		if (!metrics[(m)].aux && !metrics[(m)].table_only)

static const char *peer_status(const struct hpb_peer *p, const struct hpb_series *s)
{
	if (!p->available)
		return p->why;
	if (s->status[0])
		return s->status;
	return "no figure";
}

/* ------------------------------------------------------------------------
 * tables
 * ------------------------------------------------------------------------ */
void hpb_report_scenario(FILE *out, const struct hpb_scenario *sc)
{
	int m, i;

	for (m = 0; m < nmetrics; m++) {
		const struct hpb_metric *mt = &metrics[m];
		int ref = ref_of(m);

		if (strcmp(metric_scen[m], sc->name) || mt->aux)
			continue;
		fprintf(out, "\n-- %s: %s\n   %s, %s is better; ratio: cost relative to %s (> 1: %s is better)\n",
			mt->name, mt->title, mt->unit, mt->higher_better ? "higher" : "lower",
			mt->ref, mt->ref);
		fprintf(out, "   %-19s %10s  %-23s %-16s %7s\n", "peer", "median", "[min .. max]",
			"pages", "ratio");
		for (i = 0; i < hpb_npeers; i++) {
			const struct hpb_peer *p = &hpb_peers[i];
			const struct hpb_series *s = &series[m][i];
			char spread[64];
			double md, r;

			if (!sc->applies(p))
				continue;
			if (!s->n) {
				fprintf(out, "   %-19s %10s  %s\n", p->name, "-", peer_status(p, s));
				continue;
			}
			md = hpb_series_median(s);
			snprintf(spread, sizeof(spread), "[%.*f .. %.*f]", prec(md),
				 hpb_series_min(s), prec(md), hpb_series_max(s));
			r = hpb_ratio(m, i, ref);
			fprintf(out, "   %-19s %10.*f  %-23s %-16s ", p->name, prec(md), md, spread,
				s->pages);
			if (r > 0)
				fprintf(out, "%7.2f", r);
			else
				fprintf(out, "%7s", "-");
			if (s->status[0])
				fprintf(out, "  (%s)", s->status);
			fprintf(out, "\n");
		}
	}
	hpb_print_notes(out);
	if (sc->verdict)
		sc->verdict(out);
}

void hpb_verdict_ahead(FILE *out, int m, const char *what)
{
	const struct hpb_metric *mt = &metrics[m];
	int ref = ref_of(m), best = -1, i;
	const struct hpb_series *r, *b;
	double rm, bm;
	bool ahead;

	for (i = 0; i < hpb_npeers; i++) {
		const struct hpb_series *s = &series[m][i];

		if (!hpb_is_rival(&hpb_peers[i]) || !s->n)
			continue;
		if (best < 0 || (mt->higher_better ?
				 hpb_series_median(s) > hpb_series_median(&series[m][best]) :
				 hpb_series_median(s) < hpb_series_median(&series[m][best])))
			best = i;
	}
	if (ref < 0 || best < 0 || !series[m][ref].n) {
		fprintf(out, "   target: %s ahead of every peer: no figure\n", what);
		return;
	}
	r = &series[m][ref];
	b = &series[m][best];
	rm = hpb_series_median(r);
	bm = hpb_series_median(b);
	ahead = mt->higher_better ? rm > bm : rm < bm;
	fprintf(out, "   target: %s ahead of every peer: %s %.*f %s, best peer %s %.*f, ratio %.2f: %s",
		what, mt->ref, prec(rm), rm, mt->unit, hpb_peers[best].name, prec(bm), bm,
		hpb_ratio(m, best, ref), ahead ? "met" : "MISSED");
	if (!ahead && hpb_series_max(r) >= hpb_series_min(b) && hpb_series_max(b) >= hpb_series_min(r))
		fprintf(out, " (a tie: the ranges overlap)");
	fprintf(out, "\n");
}

/* short column names for the summary */
static const char *short_name(const struct hpb_metric *m)
{
	return m->name;
}

void hpb_report_summary(FILE *out)
{
	int m, i;

	fprintf(out, "\n== summary: cost of each peer relative to hugepool (median of each; > 1: hugepool is better)\n");
	fprintf(out, "%-19s", "peer");
	for_each_shown(m)
		fprintf(out, " %12s", short_name(&metrics[m]));
	fprintf(out, "\n");
	for (i = 0; i < hpb_npeers; i++) {
		const struct hpb_peer *p = &hpb_peers[i];
		bool any = false;

		for_each_shown(m)
			any |= series[m][i].n > 0;
		if (!any && p->available)
			continue;
		fprintf(out, "%-19s", p->name);
		for_each_shown(m) {
			const struct hpb_series *s = &series[m][i];
			double r = hpb_ratio(m, i, ref_of(m));

			if (!p->available)
				fprintf(out, " %12s", !strncmp(p->why, "not installed", 13) ? "n/i" :
					!strncmp(p->why, "left out", 8) ? "out" : "n/a");
			else if (r > 0)
				fprintf(out, " %12.2f", r);
			else if (s->n)
				fprintf(out, " %12s", "?");
			else if (s->status[0])
				fprintf(out, " %12s", strncmp(s->status, "fail", 4) ? "skip" : "FAIL");
			else
				fprintf(out, " %12s", "-");
		}
		fprintf(out, "\n");
	}
	fprintf(out, "reference per column:");
	for_each_shown(m)
		fprintf(out, " %s=%s", metrics[m].name, metrics[m].ref);
	fprintf(out, "\n(n/i: not installed; n/a: not available here; out: left out by --peers; skip: not enough\n"
		" free huge pages when it was its turn; FAIL: the worker failed; -: does not apply)\n");
	fprintf(out, "medians:\n%-19s", "peer");
	for_each_shown(m)
		fprintf(out, " %12s", short_name(&metrics[m]));
	fprintf(out, "\n%-19s", "(unit)");
	for_each_shown(m)
		fprintf(out, " %12s", metrics[m].unit);
	fprintf(out, "\n");
	for (i = 0; i < hpb_npeers; i++) {
		bool any = false;

		for_each_shown(m)
			any |= series[m][i].n > 0;
		if (!any)
			continue;
		fprintf(out, "%-19s", hpb_peers[i].name);
		for_each_shown(m) {
			const struct hpb_series *s = &series[m][i];
			double md = hpb_series_median(s);

			if (s->n)
				fprintf(out, " %12.*f", prec(md), md);
			else
				fprintf(out, " %12s", "-");
		}
		fprintf(out, "\n");
	}
}

/* ------------------------------------------------------------------------
 * CSV
 * ------------------------------------------------------------------------ */
static void csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int hpb_report_csv(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	int m, i, k;

	if (!f)
		return -errno;
	fprintf(f, "scenario,metric,unit,better,peer,median,min,max,runs,ref,ratio,pages,status,values\n");
	for (m = 0; m < nmetrics; m++) {
		const struct hpb_metric *mt = &metrics[m];

		for (i = 0; i < hpb_npeers; i++) {
			const struct hpb_series *s = &series[m][i];
			const struct hpb_peer *p = &hpb_peers[i];
			double r = hpb_ratio(m, i, ref_of(m));

			if (!s->n && !s->status[0] && p->available)
				continue;
			fprintf(f, "%s,%s,%s,%s,%s,", metric_scen[m], mt->name, mt->unit,
				mt->higher_better ? "higher" : "lower", p->name);
			if (s->n)
				fprintf(f, "%.6g,%.6g,%.6g,%d,", hpb_series_median(s),
					hpb_series_min(s), hpb_series_max(s), s->n);
			else
				fprintf(f, ",,,0,");
			fprintf(f, "%s,", mt->ref);
			if (r > 0)
				fprintf(f, "%.4f", r);
			fputc(',', f);
			csv_str(f, s->pages);
			fputc(',', f);
			csv_str(f, p->available ? s->status : p->why);
			fputc(',', f);
			fputc('"', f);
			for (k = 0; k < s->n; k++)
				fprintf(f, "%s%.6g", k ? " " : "", s->v[k]);
			fprintf(f, "\"\n");
		}
	}
	if (f != stdout)
		fclose(f);
	return 0;
}

/* ------------------------------------------------------------------------
 * chart
 * ------------------------------------------------------------------------ */
static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[4096], exe[4200], *save, *d;

	snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/bin:/bin");
	for (d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(exe, sizeof(exe), "%s/gnuplot", d);
		if (!access(exe, X_OK))
			return true;
	}
	return false;
}

/* hugepool in greens, glibc in oranges, the other allocators in their own
 * hues, raw mmap in greys: one colour per peer */
static const char *peer_color(int peer)
{
	static const char *const colors[] = {
		"#1b7837", "#5aae61", "#a6dba0",	/* hugepool, -1g, -preload */
		"#00441b",				/* hugepool-preload-t0 */
		"#b35806", "#f1a340", "#fee0b6",	/* glibc, -thp, -hugetlb */
		"#762a83",				/* jemalloc */
		"#053061", "#2166ac", "#92c5de",	/* mimalloc, -large, -1g */
		"#d6604d",				/* tcmalloc */
		"#e7298a",				/* libhugetlbfs */
		"#404040", "#878787", "#c0c0c0",	/* mmap 4k, 2m, 1g */
	};

	return peer < (int)ARRAY_SIZE(colors) ? colors[peer] : "#000000";
}

/*
 * A clustered bar chart: one cluster per metric, one bar per peer with a
 * figure, height = the ratio (log scale, 1 = hugepool).
 */
int hpb_report_plot(const char *path, const char *title)
{
	char data[] = "/tmp/hpb-plot-XXXXXX", script[64], cmd[256];
	int fd, m, i, col, npeers = 0, used[HPB_MAX_PEERS];
	FILE *f;
	int ret;

	if (!have_gnuplot()) {
		fprintf(stderr, "hugepool-bench: gnuplot is not installed: no chart\n");
		return -ENOENT;
	}
	for (i = 0; i < hpb_npeers; i++) {
		bool any = false;

		for_each_shown(m)
			any |= hpb_ratio(m, i, ref_of(m)) > 0;
		if (any)
			used[npeers++] = i;
	}
	fd = mkstemp(data);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	fprintf(f, "metric");
	for (i = 0; i < npeers; i++)
		fprintf(f, " %s", hpb_peers[used[i]].name);
	fprintf(f, "\n");
	for_each_shown(m) {
		/* a quoted label: the metric, and its reference when it is not
		 * hugepool itself */
		if (strcmp(metrics[m].ref, "hugepool"))
			fprintf(f, "\"%s\\n(vs %s)\"", metrics[m].name, metrics[m].ref);
		else
			fprintf(f, "\"%s\"", metrics[m].name);
		for (i = 0; i < npeers; i++) {
			double r = hpb_ratio(m, used[i], ref_of(m));

			if (r > 0)
				fprintf(f, " %.4f", r);
			else
				fprintf(f, " NaN");
		}
		fprintf(f, "\n");
	}
	fclose(f);
	snprintf(script, sizeof(script), "%s.gp", data);
	f = fopen(script, "w");
	if (!f) {
		unlink(data);
		return -errno;
	}
	fprintf(f, "set terminal pngcairo size 1600,800 noenhanced font ',11'\n");
	fprintf(f, "set output '%s'\n", path);
	fprintf(f, "set title '%s'\n", title);
	fprintf(f, "set style data histograms\n");
	fprintf(f, "set style histogram clustered gap 2\n");
	fprintf(f, "set style fill solid 0.85 border -1\n");
	fprintf(f, "set boxwidth 0.95\n");
	fprintf(f, "set logscale y 10\n");
	fprintf(f, "set yrange [0.1:*]\n");
	fprintf(f, "set grid ytics mytics\n");
	fprintf(f, "set ylabel 'cost relative to hugepool (log; > 1: hugepool is better)'\n");
	fprintf(f, "set key outside right top vertical\n");
	fprintf(f, "set datafile missing 'NaN'\n");
	fprintf(f, "set xtics nomirror\n");
	fprintf(f, "set bmargin 5\n");
	fprintf(f, "plot 1 notitle with lines lw 2 lc rgb 'black'");
	for (col = 2; col < npeers + 2; col++)
		fprintf(f, ", '%s' using %d:xtic(1) title columnheader(%d) lc rgb '%s'", data, col,
			col, peer_color(used[col - 2]));
	fprintf(f, "\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "gnuplot '%s'", script);
	ret = system(cmd);
	unlink(script);
	unlink(data);
	if (ret) {
		fprintf(stderr, "hugepool-bench: gnuplot failed (%d)\n", ret);
		return -EIO;
	}
	return 0;
}
