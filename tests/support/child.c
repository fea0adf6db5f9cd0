/* SPDX-License-Identifier: MIT */
/*
 * child.c - running a piece of a test in a child, so that a SIGBUS (the
 * failure hugetlb memory has instead of ENOMEM) is a status to check, not
 * the end of the test.
 */
#include "support.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int run_in_child(int (*fn)(void *), void *arg, unsigned int timeout_s)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		alarm(timeout_s);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
