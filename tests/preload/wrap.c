/* SPDX-License-Identifier: MIT */
/*
 * wrap.c - run a test program as it is (same environment) and then check
 * that the kernel's free_hugepages is back at its baseline: the pages a
 * process held come back when it exits, and must all come back.
 *
 * usage: wrap PROGRAM [ARGS...]; exits with the program's status.
 */
#include "preload-test.h"

int main(int argc, char **argv)
{
	long base;
	int status;
	pid_t pid;

	if (argc < 2)
		return T_FAIL;
	base = pt_free_pages();
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "%s: killed by %s\n", argv[1], strsignal(WTERMSIG(status)));
		return T_FAIL;
	}
	if (WEXITSTATUS(status))
		return WEXITSTATUS(status);
	if (base >= 0 && !pt_baseline_ok(base, argv[1]))
		return T_FAIL;
	return T_PASS;
}
