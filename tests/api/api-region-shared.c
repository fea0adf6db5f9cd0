/* SPDX-License-Identifier: MIT */
/*
 * Description: regions of a HUGEPOOL_SHARED pool are shared with another
 * process. hugepool_region_fd gives the region's own memfd and the offset
 * of its first page (0); they go to a separate program (api-peer, exec'd: it
 * inherits no mapping) over a Unix socket with SCM_RIGHTS. The peer maps
 * the region, finds huge pages holding our pattern and writes its own,
 * which we then read in our mapping. This holds for a region reserved after
 * the pool's pages churned, and for a NORESERVE region whose pages came
 * from the pool on populate. A forked child sees the shared pages but takes
 * none from the pool and gives none of the parent's back. Destroying the
 * pool frees its pages even while a descriptor of the file is still open.
 */
#include "api-helpers.h"

#include <libgen.h>
#include <sys/socket.h>

static const size_t psz = 2 * MB;

struct peer_msg {		/* same layout in api-peer.c */
	uint64_t offset;
	uint64_t size;
	uint64_t page_size;
	uint64_t seed;
};

static void send_fd(int sock, int fd, const struct peer_msg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	CHECK(sendmsg(sock, &mh, 0) == (ssize_t)sizeof(*m));
}

/* Hand region r to a new api-peer process; returns its status (0: ok). */
static int share_with_peer(struct hugepool_region *r, uint64_t seed)
{
	char exe[4096], path[4200], arg[16];
	struct peer_msg m;
	unsigned char status = 0xff;
	int sv[2], fd, wstatus;
	off_t off;
	ssize_t n;
	pid_t pid;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/api-peer", dirname(exe));
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		snprintf(arg, sizeof(arg), "%d", sv[1]);
		execl(path, path, arg, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	fd = hugepool_region_fd(r, &off);
	CHECK(fd >= 0);
	CHECK_EQ(off % (off_t)psz, 0);
	m = (struct peer_msg){ .offset = (uint64_t)off, .size = hugepool_region_size(r),
			       .page_size = psz, .seed = seed };
	send_fd(sv[0], fd, &m);
	close(fd);
	n = read(sv[0], &status, 1);
	close(sv[0]);
	CHECK(waitpid(pid, &wstatus, 0) == pid);
	if (n != 1 || !WIFEXITED(wstatus)) {
		fprintf(stderr, "peer died (wait status %#x)\n", wstatus);
		return -1;
	}
	if (status)
		fprintf(stderr, "peer failed at step %u\n", status);
	return status;
}

/* the peer wrote seed + 1 over the second half, every 512th word */
static bool peer_wrote(const char *base, size_t size, uint64_t seed)
{
	const uint64_t *w = (const uint64_t *)base;
	size_t i, n = size / 8;

	for (i = n / 2; i < n; i += 512)
		if (w[i] != pat_word(seed + 1, i))
			return false;
	return true;
}

static void reserved(struct hugepool *p)
{
	struct hugepool_region *r;
	char *base;
	void *churn[6];
	int i;

	/* churn first: pages faulted, freed, taken again at other slots */
	for (i = 0; i < 6; i++)
		CHECK((churn[i] = hugepool_malloc(p, (size_t)(i % 3 + 1) * psz)));
	for (i = 0; i < 6; i += 2)
		hugepool_free(churn[i]);
	r = hugepool_region_reserve(p, 8 * psz, HUGEPOOL_REGION_POPULATE);
	CHECK(r);
	base = hugepool_region_addr(r);
	CHECK_PAGE_SIZE(base, psz);
	pat_fill(base, 8 * psz, 11, 512);
	CHECK_EQ(share_with_peer(r, 11), 0);
	CHECK(peer_wrote(base, 8 * psz, 11));
	CHECK(pat_ok(base, 4 * psz, 11, 512));
	CHECK_POOL(p);
	/* released and populated again: zero for both of us */
	CHECK_EQ(hugepool_region_release(r, 0, 8 * psz), 8);
	CHECK_EQ(hugepool_region_populate(r, 0, 8 * psz), 8);
	CHECK(all_zero(base, 8 * psz));
	pat_fill(base, 8 * psz, 12, 512);
	CHECK_EQ(share_with_peer(r, 12), 0);
	CHECK(peer_wrote(base, 8 * psz, 12));
	CHECK(hugepool_region_free(r) == 0);
	for (i = 1; i < 6; i += 2)
		hugepool_free(churn[i]);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

static void noreserve(struct hugepool *p)
{
	struct hugepool_region *r;
	struct hugepool_counters c0, c;
	char *base;
	void *b;

	/* the pool holds free pages: populate uses them (their count stays) */
	b = hugepool_malloc(p, 4 * psz);
	CHECK(b);
	memset(b, 0x5a, 4 * psz);
	hugepool_free(b);
	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c0) == 0);
	r = hugepool_region_reserve(p, 4 * psz, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	base = hugepool_region_addr(r);
	CHECK_EQ(hugepool_region_populate(r, 0, 4 * psz), 4);
	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages, c0.nr_pages);
	CHECK_EQ(c.free_pages, c0.free_pages - 4);
	CHECK_POOL(p);
	CHECK(all_zero(base, 4 * psz));
	CHECK_PAGE_SIZE(base, psz);
	pat_fill(base, 4 * psz, 13, 512);
	CHECK_EQ(share_with_peer(r, 13), 0);
	CHECK(peer_wrote(base, 4 * psz, 13));
	/* released pages go back to the pool */
	CHECK_EQ(hugepool_region_release(r, 0, 2 * psz), 2);
	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages, c0.nr_pages);
	CHECK_EQ(c.free_pages, c0.free_pages - 2);
	CHECK_POOL(p);
	CHECK(hugepool_region_free(r) == 0);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

/*
 * A shared pool inherited across fork: the child sees the parent's region
 * and blocks (shared, as asked), takes no page from the pool (both would
 * hand out the same file page; a FALLBACK pool falls back to base pages),
 * and its frees, trims and destroy leave the parent's pages alone.
 */
struct inherited {
	struct hugepool *p, *pf;
	struct hugepool_region *r;
	char *b;
};

static int inherited_child(void *arg)
{
	struct inherited *in = arg;
	char *f;

	CHECK(pat_ok(hugepool_region_addr(in->r), 4 * psz, 21, 512));
	CHECK(pat_ok(in->b, psz, 22, 1));
	errno = 0;
	CHECK(hugepool_malloc(in->p, psz) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_malloc(in->p, 100 * KB) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(in->p, psz, 0) == NULL && errno == ENOMEM);
	CHECK(hugepool_realloc(in->p, in->b, 3 * psz) == NULL);
	f = hugepool_malloc(in->pf, psz);	/* FALLBACK: base pages */
	CHECK(f);
	CHECK_PAGE_SIZE(f, 4096);
	CHECK_EQ(in->pf->stats.fallbacks, 1);
	hugepool_free(f);
	hugepool_free(in->b);
	CHECK(hugepool_region_free(in->r) == 0);
	CHECK(hugepool_trim(in->p) >= 0);
	CHECK_POOL(in->p);
	CHECK(hugepool_destroy(in->p) == 0);
	CHECK(hugepool_destroy(in->pf) == 0);
	return 0;
}

static void inherited(void)
{
	struct inherited in;
	long kfree;
	void *spare;

	in.p = api_pool(psz, 0, 0, HUGEPOOL_SHARED);
	in.pf = api_pool(psz, 0, 0, HUGEPOOL_SHARED | HUGEPOOL_FALLBACK);
	in.r = hugepool_region_reserve(in.p, 4 * psz, HUGEPOOL_REGION_POPULATE);
	in.b = hugepool_malloc(in.p, psz);
	spare = hugepool_malloc(in.p, 2 * psz);
	CHECK(in.r && in.b && spare);
	hugepool_free(spare);		/* free pages the child must not take */
	pat_fill(hugepool_region_addr(in.r), 4 * psz, 21, 512);
	pat_fill(in.b, psz, 22, 1);
	kfree = kernel_counter(psz, "free_hugepages");
	CHECK_EQ(run_in_child(inherited_child, &in, 60), 0);
	/* nothing of ours went: contents, pages, counters */
	CHECK(pat_ok(hugepool_region_addr(in.r), 4 * psz, 21, 512));
	CHECK(pat_ok(in.b, psz, 22, 1));
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), kfree);
	check_counters(in.p, 7, 2, 0, 7);
	CHECK_POOL(in.p);
	hugepool_free(in.b);
	CHECK(hugepool_region_free(in.r) == 0);
	CHECK(hugepool_destroy(in.p) == 0);
	CHECK(hugepool_destroy(in.pf) == 0);
}

/* destroy frees the file's pages although a descriptor is still open */
static void destroy_with_fd_open(const struct kbase *kb)
{
	struct hugepool *p = api_pool(psz, 0, 0, HUGEPOOL_SHARED);
	struct hugepool_region *r = hugepool_region_reserve(p, 4 * psz, HUGEPOOL_REGION_POPULATE);
	off_t off;
	int fd;

	CHECK(r);
	fd = hugepool_region_fd(r, &off);
	CHECK(fd >= 0);
	CHECK(kernel_counter(psz, "free_hugepages") < kb->free);
	CHECK(hugepool_destroy(p) == 0);
	api_end(kb);
	close(fd);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 64);
	struct hugepool *p = api_pool(psz, 0, 0, HUGEPOOL_SHARED);

	reserved(p);
	noreserve(p);
	CHECK(hugepool_destroy(p) == 0);
	api_end(&kb);
	inherited();
	api_end(&kb);
	destroy_with_fd_open(&kb);
	return 0;
}
