// SPDX-License-Identifier: GPL-2.0-or-later
/* The per-device reattach lock: see devlock.h. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devlock.h"

static const char *vr_rundir(void)
{
	const char *dir = getenv("VFIO_RELEASE_RUNDIR");

	return dir && *dir ? dir : "/run/vfio-release";
}

void vr_devlock_set_holder(int fd, pid_t pid)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, len, 0) == len)
		return;
}

static pid_t vr_devlock_read_holder(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

int vr_devlock_take(const char *dev, pid_t *holder)
{
	char path[PATH_MAX];
	int fd, err;

	*holder = 0;
	if (mkdir(vr_rundir(), 0755) && errno != EEXIST)
		return -errno;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.lock", vr_rundir(), dev) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		if (err == -EWOULDBLOCK)
			*holder = vr_devlock_read_holder(fd);
		close(fd);
		return err;
	}
	vr_devlock_set_holder(fd, getpid());
	return fd;
}
