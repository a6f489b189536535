/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Another process's open files, duplicated into this one with pidfd_open
 * and pidfd_getfd: the copies are the same open files, so a helper can
 * hold what a QEMU holds after the QEMU is gone.
 */
#ifndef VR_TEST_PROC_FDS_H
#define VR_TEST_PROC_FDS_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper-util.h"

/* No glibc wrappers in bookworm's glibc 2.36. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int __attribute__((unused)) pidfd_of(long pid)
{
	int pidfd = syscall(SYS_pidfd_open, (pid_t)pid, 0);

	if (pidfd < 0)
		fail("pidfd_open %ld", pid);
	return pidfd;
}

/*
 * Duplicates each fd of pid (pidfd its pidfd) whose /proc/PID/fd link
 * want() accepts, and hands the copy to took(), which keeps it or closes
 * it, and says whether to stop. Returns how many were duplicated.
 */
static int __attribute__((unused))
take_fds(long pid, int pidfd, bool (*want)(const char *target, void *arg),
	 bool (*took)(int fd, const char *name, const char *target, void *arg), void *arg)
{
	char dir[64], path[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	int got = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	d = opendir(dir);
	if (!d)
		fail("%s", dir);
	while ((de = readdir(d))) {
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (!want(target, arg))
			continue;
		fd = syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		if (fd < 0)
			fail("pidfd_getfd %ld fd %s (%s)", pid, de->d_name, target);
		got++;
		if (took(fd, de->d_name, target, arg))
			break;
	}
	closedir(d);
	return got;
}

#endif
