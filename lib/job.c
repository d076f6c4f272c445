/*
 * job.c - what every cron job shares: a lock so that a slow run and the
 * next one never overlap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "oshxona.h"

int
job_lock(const char *name)
{
	const char *dir = getenv("OSHXONA_LOCK_DIR");
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/oshxona-%s.lock", dir != NULL && *dir ? dir : "/tmp",
	         name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("lock %s: %s", path, strerror(errno));
		return -1;
	}
	/* The kernel drops the lock when the process ends, however it ends. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			log_info("another run holds %s; this one skips", path);
			close(fd);
			return -2;
		}
		log_error("lock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
