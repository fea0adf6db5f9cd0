/* SPDX-License-Identifier: MIT */
/*
 * api-peer.c - the other process of api-region-shared: a separate program
 * (exec'd, so it inherits no mapping) that gets a region of a
 * HUGEPOOL_SHARED pool the way a user would pass it on: the descriptor from
 * hugepool_region_fd() over a Unix socket (SCM_RIGHTS), with the offset and
 * size as data. It maps the region, checks that the pages are huge pages
 * and hold the parent's pattern, writes its own pattern over the second
 * half, unmaps and answers one status byte: 0 all good, else the failed
 * step. It does not link libhugepool: plain mmap is all a peer needs (and
 * the support library's smaps reader and pattern).
 *
 * Usage: api-peer SOCKET_FD
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support.h"

struct peer_msg {		/* same layout in api-region-shared.c */
	uint64_t offset;
	uint64_t size;
	uint64_t page_size;
	uint64_t seed;
};

static int receive(int sock, struct peer_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	if (recvmsg(sock, &mh, 0) != (ssize_t)sizeof(*m))
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static unsigned char run(int sock)
{
	struct peer_msg m;
	uint64_t *w;
	size_t i, n;
	int fd;

	if (receive(sock, &m, &fd))
		return 1;
	w = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	close(fd);
	if (w == MAP_FAILED)
		return 2;
	if (smaps_page_size(w) != (long)m.page_size)
		return 3;
	n = m.size / 8;
	for (i = 0; i < n; i += 512)
		if (w[i] != pat_word(m.seed, i))
			return 4;
	for (i = n / 2; i < n; i += 512)
		w[i] = pat_word(m.seed + 1, i);
	if (munmap(w, m.size))
		return 5;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char status;
	int sock;

	if (argc != 2)
		return 2;
	sock = atoi(argv[1]);
	status = run(sock);
	if (write(sock, &status, 1) != 1)
		return 1;
	return status ? 1 : 0;
}
