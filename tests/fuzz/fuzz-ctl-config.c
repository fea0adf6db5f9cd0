/* SPDX-License-Identifier: MIT */
/*
 * fuzz-ctl-config.c - libFuzzer harness for the config file parser of
 * `hugepool-ctl apply` (tools/ctl-apply.c).
 *
 * The parser is static in ctl-apply.c and cmd_apply keeps its parse in a
 * function-static table (fine for a command that runs once per process, not
 * for a fuzzer), so the file is included here and parse_file() called
 * directly on the input (fmemopen), with a fresh table each time. Nothing
 * is applied.
 *
 * Whatever the input: no crash or leak, and either a usage error or a set
 * of entries that are each complete (a pool with a size and a count or an
 * overcommit; a mount with an absolute directory and a page size) and
 * mutually consistent; written back out in canonical form (counts in
 * pages, sizes in bytes, octal modes) they parse to the very same entries.
 */
#include "../../tools/ctl-apply.c"

#include <stdlib.h>

#define FUZZ_NAME "fuzz-ctl-config"
#include "fuzz.h"

static struct cfg c1, c2;
static char out[1 << 16];

static int parse_buf(struct cfg *c, const char *buf, size_t len)
{
	FILE *f;
	int ret;

	memset(c, 0, sizeof(*c));
	c->file = "fuzz.conf";
	if (!len)
		return 0;
	f = fmemopen((void *)buf, len, "r");
	if (!f)
		fail("fmemopen: %s", strerror(errno));
	ret = parse_file(c, f);
	fclose(f);
	return ret;
}

static void release(struct cfg *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (c->items[i].is_mount)
			free((char *)c->items[i].mount.dir);
	c->n = 0;
}

/* The entries as a config file, canonical. */
static size_t emit(const struct cfg *c)
{
	size_t off = 0;
	int i;

	for (i = 0; i < c->n; i++) {
		const struct item *it = &c->items[i];

		if (!it->is_mount) {
			const struct ctl_pool_change *p = &it->pool;

			off += (size_t)snprintf(out + off, sizeof(out) - off, "pool %zuK",
						p->h->size >> 10);
			if (p->set_count)
				off += (size_t)snprintf(out + off, sizeof(out) - off, " count=%lu", p->count);
			if (p->node >= 0)
				off += (size_t)snprintf(out + off, sizeof(out) - off, " node=%d", p->node);
			if (p->set_over)
				off += (size_t)snprintf(out + off, sizeof(out) - off, " overcommit=%lu",
							p->over);
			if (p->retry_s)
				off += (size_t)snprintf(out + off, sizeof(out) - off, " retry=%u",
							p->retry_s);
		} else {
			const struct ctl_mount_req *m = &it->mount;

			off += (size_t)snprintf(out + off, sizeof(out) - off, "mount %s pagesize=%zuK",
						m->dir, m->h->size >> 10);
			if (m->size[0])
				off += (size_t)snprintf(out + off, sizeof(out) - off, " size=%s", m->size);
			if (m->min_size[0])
				off += (size_t)snprintf(out + off, sizeof(out) - off, " min_size=%s",
							m->min_size);
			if (m->has_uid)
				off += (size_t)snprintf(out + off, sizeof(out) - off, " uid=%u",
							(unsigned int)m->uid);
			if (m->has_gid)
				off += (size_t)snprintf(out + off, sizeof(out) - off, " gid=%u",
							(unsigned int)m->gid);
			if (m->has_mode)
				off += (size_t)snprintf(out + off, sizeof(out) - off, " mode=0%o",
							(unsigned int)m->mode);
			if (m->mkdir)
				off += (size_t)snprintf(out + off, sizeof(out) - off, " mkdir=yes");
		}
		off += (size_t)snprintf(out + off, sizeof(out) - off, "\n");
		if (off >= sizeof(out))
			fail("canonical form too long");
	}
	return off;
}

static void same(const struct item *a, const struct item *b, int i)
{
	if (a->is_mount != b->is_mount)
		fail("entry %d changed kind", i);
	if (!a->is_mount) {
		const struct ctl_pool_change *p = &a->pool, *q = &b->pool;

		if (p->h != q->h || p->node != q->node || p->set_count != q->set_count ||
		    p->count != q->count || p->set_over != q->set_over || p->over != q->over ||
		    p->retry_s != q->retry_s)
			fail("pool entry %d does not read back the same", i);
	} else {
		const struct ctl_mount_req *m = &a->mount, *n = &b->mount;

		if (strcmp(m->dir, n->dir) || m->h != n->h || strcmp(m->size, n->size) ||
		    strcmp(m->min_size, n->min_size) || m->has_uid != n->has_uid ||
		    (m->has_uid && m->uid != n->uid) || m->has_gid != n->has_gid ||
		    (m->has_gid && m->gid != n->gid) || m->has_mode != n->has_mode ||
		    (m->has_mode && m->mode != n->mode) || m->mkdir != n->mkdir ||
		    !m->idempotent || !n->idempotent)
			fail("mount entry %d (%s) does not read back the same", i, m->dir);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	hp_verbose = 0;
	ctl_cmd = "hugepool-ctl apply";
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int ret, i;
	size_t len;

	if (size > 1 << 14)
		return 0;
	ret = parse_buf(&c1, (const char *)data, size);
	if (ret != 0 && ret != CTL_USAGE)
		fail("parse returned %d", ret);
	if (ret) {
		release(&c1);
		return 0;
	}
	for (i = 0; i < c1.n; i++) {
		const struct item *it = &c1.items[i];

		if (it->is_mount ? (!it->mount.dir || it->mount.dir[0] != '/' || !it->mount.h) :
		    (!it->pool.h || (!it->pool.set_count && !it->pool.set_over) ||
		     (it->pool.set_over && it->pool.node >= 0) || it->pool.retry_s > 86400))
			fail("entry %d (line %d) accepted incomplete", i, it->line);
	}
	len = emit(&c1);
	ret = parse_buf(&c2, out, len);
	if (ret)
		fail("the canonical form does not parse (%d):\n%s", ret, out);
	if (c2.n != c1.n)
		fail("%d entries read back as %d", c1.n, c2.n);
	for (i = 0; i < c1.n; i++)
		same(&c1.items[i], &c2.items[i], i);
	release(&c1);
	release(&c2);
	return 0;
}
