// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-steal PID: duplicates PID's VFIO files (those whose /proc/PID/fd
 * link is /dev/vfio/N, a group, or anon_inode:[vfio-device], a device)
 * into itself with pidfd_open + pidfd_getfd, prints how many it got
 * ("stole N"), then holds them until killed. The copies are the same open
 * files: the device stays open after PID exits, which is how a test makes
 * "another holder of the file" of a real QEMU.
 *
 * Exit status 2 with a message when PID cannot be read or nothing was
 * taken (a thief with nothing proves nothing).
 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static bool vfio_link(const char *target)
{
	const char *p;

	if (!strcmp(target, "anon_inode:[vfio-device]"))
		return true;
	if (strncmp(target, "/dev/vfio/", 10))
		return false;
	for (p = target + 10; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return p > target + 10;
}

int main(int argc, char **argv)
{
	char dir[64], path[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	int pidfd, got = 0;
	long pid;
	DIR *d;

	pid = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
	if (pid <= 0) {
		fprintf(stderr, "usage: vfio-steal PID\n");
		return 2;
	}
	pidfd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		fail("pidfd_open %ld", pid);
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
		if (!vfio_link(target))
			continue;
		fd = syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		if (fd < 0)
			fail("pidfd_getfd %ld fd %s (%s)", pid, de->d_name, target);
		printf("fd %s of %ld (%s) is our fd %d\n", de->d_name, pid, target, fd);
		got++;
	}
	closedir(d);
	close(pidfd);
	if (!got) {
		fprintf(stderr, "vfio-steal: pid %ld holds no VFIO file\n", pid);
		return 2;
	}
	printf("stole %d\n", got);
	fflush(stdout);
	for (;;)
		pause();
}
