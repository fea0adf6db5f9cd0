/* SPDX-License-Identifier: MIT */
/*
 * sys.c - the syscall seam. Every call libhugepool makes into the kernel goes
 * through one of these functions, which return -errno instead of touching
 * errno, and which a test can fail on demand through hp_sys_inject (the
 * fault-injection suite fails each call site with each errno in turn).
 */
#include "internal.h"

#include <fcntl.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *const hp_sys_call_names[HP_SYS_NR_CALLS] = {
	[HP_SYS_MMAP] = "mmap", [HP_SYS_MUNMAP] = "munmap",
	[HP_SYS_MREMAP] = "mremap", [HP_SYS_MADVISE] = "madvise",
	[HP_SYS_MBIND] = "mbind", [HP_SYS_SET_MEMPOLICY] = "set_mempolicy",
	[HP_SYS_GET_MEMPOLICY] = "get_mempolicy",
	[HP_SYS_MOVE_PAGES] = "move_pages",
	[HP_SYS_MEMFD_CREATE] = "memfd_create",
	[HP_SYS_FALLOCATE] = "fallocate", [HP_SYS_FTRUNCATE] = "ftruncate",
	[HP_SYS_OPEN] = "open", [HP_SYS_READ] = "read", [HP_SYS_WRITE] = "write",
	[HP_SYS_FCNTL] = "fcntl", [HP_SYS_IO_URING_REGISTER] = "io_uring_register",
	[HP_SYS_MPROTECT] = "mprotect", [HP_SYS_SHMGET] = "shmget",
};

int (*volatile hp_sys_inject)(enum hp_sys_call call);

#if HP_FAULT_INJECTION
#define INJECT(call)						\
	do {							\
		int (*fn_)(enum hp_sys_call) = hp_sys_inject;	\
		if (unlikely(fn_ != NULL)) {			\
			int r_ = fn_(call);			\
			if (r_ < 0)				\
				return r_;			\
		}						\
	} while (0)
#else
#define INJECT(call) do { } while (0)
#endif

/* The result of a libc call that fails with -1 (or a negative count) and
 * errno: -errno then, with the caller's errno as it was. Every function
 * here goes through it, so none touches errno (window.c's NOREPLACE probes
 * fail by design; the cgroup look-ups fail where there is no controller). */
#define SYS(expr)						\
	({							\
		int saved_ = errno;				\
		long r_ = (long)(expr);				\
		if (r_ < 0)					\
			r_ = -errno;				\
		errno = saved_;					\
		r_;						\
	})

/* The same for a function of this file that returns -errno itself. */
#define KEEP_ERRNO(expr)					\
	({							\
		int saved_ = errno;				\
		long r_ = (long)(expr);				\
		errno = saved_;					\
		r_;						\
	})

int hp_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
		void **out)
{
	void *p = MAP_FAILED;
	int ret;

	INJECT(HP_SYS_MMAP);
	ret = (int)SYS((p = mmap(addr, len, prot, flags, fd, off)) == MAP_FAILED ? -1 : 0);
	if (!ret)
		*out = p;
	return ret;
}

int hp_sys_munmap(void *addr, size_t len)
{
	INJECT(HP_SYS_MUNMAP);
	return (int)SYS(munmap(addr, len));
}

int hp_sys_mremap(void *old, size_t old_len, size_t new_len, int flags,
		  void *new_addr, void **out)
{
	void *p = MAP_FAILED;
	int ret;

	INJECT(HP_SYS_MREMAP);
	ret = (int)SYS((p = mremap(old, old_len, new_len, flags, new_addr)) == MAP_FAILED ? -1 : 0);
	if (!ret)
		*out = p;
	return ret;
}

int hp_sys_madvise(void *addr, size_t len, int advice)
{
	INJECT(HP_SYS_MADVISE);
	return (int)SYS(madvise(addr, len, advice));
}

int hp_sys_mprotect(void *addr, size_t len, int prot)
{
	INJECT(HP_SYS_MPROTECT);
	return (int)SYS(mprotect(addr, len, prot));
}

/* The raw syscall: shm.c's shmget is the exported one, and calling
 * glibc's by name from the library would call ourselves. */
int hp_sys_shmget(int key, size_t size, int flags)
{
	INJECT(HP_SYS_SHMGET);
	return (int)SYS(syscall(SYS_shmget, (key_t)key, size, flags));
}

int hp_sys_block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	return -pthread_sigmask(SIG_SETMASK, &all, old);
}

int hp_sys_restore_signals(const sigset_t *old)
{
	return -pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Raw syscalls for the memory policy calls: libnuma's wrappers print on
 * error and the library must stay quiet and report -errno. */
int hp_sys_mbind(void *addr, size_t len, int mode, const unsigned long *mask,
		 unsigned long maxnode, unsigned int flags)
{
	INJECT(HP_SYS_MBIND);
	return (int)SYS(syscall(SYS_mbind, addr, len, mode, mask, maxnode, flags));
}

int hp_sys_set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode)
{
	INJECT(HP_SYS_SET_MEMPOLICY);
	return (int)SYS(syscall(SYS_set_mempolicy, mode, mask, maxnode));
}

int hp_sys_get_mempolicy(int *mode, unsigned long *mask, unsigned long maxnode,
			 void *addr, unsigned long flags)
{
	INJECT(HP_SYS_GET_MEMPOLICY);
	return (int)SYS(syscall(SYS_get_mempolicy, mode, mask, maxnode, addr, flags));
}

int hp_sys_move_pages(unsigned long count, void **pages, int *status)
{
	long r;

	INJECT(HP_SYS_MOVE_PAGES);
	/* a positive count (pages not found) is not an error here */
	r = SYS(syscall(SYS_move_pages, 0, count, pages, NULL, status, 0));

	return r < 0 ? (int)r : 0;
}

int hp_sys_memfd_create(const char *name, unsigned int flags)
{
	int fd;

	INJECT(HP_SYS_MEMFD_CREATE);
	fd = (int)SYS(syscall(SYS_memfd_create, name, flags));
	return fd;
}

int hp_sys_fallocate(int fd, int mode, off_t off, off_t len)
{
	INJECT(HP_SYS_FALLOCATE);
	return (int)SYS(fallocate(fd, mode, off, len));
}

int hp_sys_ftruncate(int fd, off_t len)
{
	INJECT(HP_SYS_FTRUNCATE);
	return (int)SYS(ftruncate(fd, len));
}

int hp_sys_add_seals(int fd, unsigned int seals)
{
	INJECT(HP_SYS_FCNTL);
	return (int)SYS(fcntl(fd, F_ADD_SEALS, seals));
}

int hp_sys_dupfd(int fd)
{
	INJECT(HP_SYS_FCNTL);
	return (int)SYS(fcntl(fd, F_DUPFD_CLOEXEC, 3));
}

int hp_sys_io_uring_register(int fd, unsigned int op, const void *arg, unsigned int nr)
{
	int saved = errno, tries = 0;
	long ret;

	INJECT(HP_SYS_IO_URING_REGISTER);
	do {
		ret = syscall(__NR_io_uring_register, fd, op, arg, nr);
		/* older kernels wait for in-flight references and can be
		 * interrupted; nothing changed, try again */
	} while (ret < 0 && errno == EINTR && ++tries < 100);
	if (ret < 0)
		ret = -errno;
	errno = saved;
	return (int)ret;
}

bool hp_sys_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int saved = errno;
	bool ret;

	ret = !syscall(SYS_capget, &hdr, data) &&
	      (data[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32)));
	errno = saved;
	return ret;
}

long hp_sys_memlock_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return -1;
	return rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur;
}

void hp_sys_close(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

static long read_file(const char *path, char *buf, size_t len)
{
	long n, total = 0;
	int fd;

	if (len == 0)
		return -EINVAL;
	{
		INJECT(HP_SYS_OPEN);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (hp_sys_inject && hp_sys_inject(HP_SYS_READ) < 0) {
			close(fd);
			return -EIO;
		}
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0 || (size_t)(total + n) >= len - 1) {
			total += n;
			break;
		}
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

long hp_sys_read_file(const char *path, char *buf, size_t len)
{
	return KEEP_ERRNO(read_file(path, buf, len));
}

static long write_file_raw(const char *path, const char *buf, size_t len)
{
	long n;
	int fd;

	INJECT(HP_SYS_OPEN);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = hp_sys_write_all(fd, buf, len);
	close(fd);
	return n;
}

long hp_sys_write_file(const char *path, const char *buf, size_t len)
{
	return KEEP_ERRNO(write_file_raw(path, buf, len));
}

int hp_sys_read_ulong(const char *path, unsigned long *out)
{
	char buf[64];
	long n = hp_sys_read_file(path, buf, sizeof(buf)), i;
	unsigned long v = 0;

	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	/* a plain decimal, as sysfs writes them (util.c's parser is a layer
	 * above this one) */
	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (buf[i] < '0' || buf[i] > '9' || v > (ULONG_MAX - 9) / 10)
			return buf[i] < '0' || buf[i] > '9' ? -EINVAL : -ERANGE;
		v = v * 10 + (unsigned long)(buf[i] - '0');
	}
	*out = v;
	return 0;
}

static long write_all_raw(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	INJECT(HP_SYS_WRITE);
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return (long)done;
}

long hp_sys_write_all(int fd, const void *buf, size_t len)
{
	return KEEP_ERRNO(write_all_raw(fd, buf, len));
}

static long kernel_page_size_raw(const void *addr)
{
	unsigned long a = (unsigned long)addr, lo, hi, kb;
	char line[512];
	bool in = false;
	long ret = -ENOENT;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && sscanf(line, "KernelPageSize: %lu kB", &kb) == 1) {
			ret = (long)(kb * 1024);
			break;
		}
	}
	fclose(f);
	return ret;
}

long hp_sys_kernel_page_size(const void *addr)
{
	return KEEP_ERRNO(kernel_page_size_raw(addr));
}

/* Names in a directory, without opendir (which allocates through malloc,
 * and this may run inside malloc). Calls fn for each entry but "." and "..";
 * returns the number of entries or -errno. */
static long list_dir_raw(const char *path, void (*fn)(const char *name, void *arg), void *arg)
{
	char buf[4096];
	long n, count = 0;
	int fd;

	INJECT(HP_SYS_OPEN);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		long off = 0;

		while (off < n) {
			struct {
				uint64_t d_ino;
				int64_t d_off;
				unsigned short d_reclen;
				unsigned char d_type;
				char d_name[];
			} *d = (void *)(buf + off);

			if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
				fn(d->d_name, arg);
				count++;
			}
			off += d->d_reclen;
		}
	}
	if (n < 0)
		count = -errno;
	close(fd);
	return count;
}

long hp_sys_list_dir(const char *path, void (*fn)(const char *name, void *arg), void *arg)
{
	return KEEP_ERRNO(list_dir_raw(path, fn, arg));
}

/* publish.c: create and remove <dir>/hugepool-<uid>/hugepool.<pid>, the
 * STATS_FILE. Opening shares the
 * "open" injection point with the other opens; unlink is not injected (a
 * failed unlink only leaves a file that `hugepool-ctl stats` removes). */
int hp_sys_open(const char *path, int flags, mode_t mode)
{
	int fd;

	INJECT(HP_SYS_OPEN);
	fd = (int)SYS(open(path, flags, mode));
	return fd;
}

int hp_sys_unlink(const char *path)
{
	return (int)SYS(unlink(path));
}

/* publish.c's per-user directory and the HUGEPOOL_STATS_FILE checks: the
 * directory is made and opened, and every file is created, relative to a
 * descriptor whose owner and mode were checked (fstat), never by a path
 * that someone else could swap. Opening shares the "open" injection point. */
int hp_sys_mkdir(const char *path, mode_t mode)
{
	INJECT(HP_SYS_OPEN);
	return (int)SYS(mkdir(path, mode));
}

int hp_sys_openat(int dirfd, const char *name, int flags, mode_t mode)
{
	int fd;

	INJECT(HP_SYS_OPEN);
	fd = (int)SYS(openat(dirfd, name, flags, mode));
	return fd;
}

int hp_sys_unlinkat(int dirfd, const char *name)
{
	return (int)SYS(unlinkat(dirfd, name, 0));
}

int hp_sys_fstat(int fd, struct stat *st)
{
	return (int)SYS(fstat(fd, st));
}

int hp_sys_fchmod(int fd, mode_t mode)
{
	return (int)SYS(fchmod(fd, mode));
}

/* false only when pid is known to be gone (ESRCH): a process of another
 * user (EPERM) is alive */
bool hp_sys_pid_alive(pid_t pid)
{
	return SYS(kill(pid, 0)) != -ESRCH;
}

int hp_sys_rmdir(const char *path)
{
	return (int)SYS(rmdir(path));
}

/* len random bytes (getrandom, never blocking); -errno if not all */
int hp_sys_getrandom(void *buf, size_t len)
{
	long n = SYS(syscall(SYS_getrandom, buf, len, 0x0001 /* GRND_NONBLOCK */));

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EAGAIN;
}

/* compat/'s hugetlbfs_test_path and mount look-up: a file system's type
 * and block size (a hugetlbfs mount's block size is its page size).
 * Looking a path up shares the "open" injection point. */
int hp_sys_statfs(const char *path, long *type, long *bsize)
{
	struct statfs sfs;
	int ret;

	INJECT(HP_SYS_OPEN);
	ret = (int)SYS(statfs(path, &sfs));
	if (!ret) {
		*type = (long)sfs.f_type;
		*bsize = (long)sfs.f_bsize;
	}
	return ret;
}
