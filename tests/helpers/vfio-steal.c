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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc-fds.h"

static bool vfio_link(const char *target, void *arg __attribute__((unused)))
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

/* Kept, every one: the thief holds them all. */
static bool keep(int fd, const char *name, const char *target, void *arg)
{
	printf("fd %s of %ld (%s) is our fd %d\n", name, *(long *)arg, target, fd);
	return false;
}

int main(int argc, char **argv)
{
	int pidfd, got;
	long pid;

	pid = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
	if (pid <= 0) {
		fprintf(stderr, "usage: vfio-steal PID\n");
		return 2;
	}
	pidfd = pidfd_of(pid);
	got = take_fds(pid, pidfd, vfio_link, keep, &pid);
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
