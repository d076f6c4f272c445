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

int
job_start(const char *name, mongoc_client_t **client)
{
	struct config cfg;
	char err[256];
	int lock;

	*client = NULL;
	log_init(name, getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	lock = job_lock(name);
	if (lock < 0)
		return lock == -2 ? 0 : 1;
	if (config_load(&cfg, getenv("OSHXONA_ENV_FILE"), err, sizeof(err)) != 0) {
		log_error("configuration: %s", err);
		return 1;
	}
	/* The env file may name LOG_DIR or LOG_LEVEL: open the logs again. */
	log_init(name, getenv("LOG_LEVEL"), getenv("LOG_FILE"));
	db_library_init();
	if (db_init(cfg.mongodb_uri, name, NULL) != 0) {
		mongoc_cleanup();
		return 1;
	}
	*client = db_pop();
	return 0;
}

void
job_end(mongoc_client_t *client)
{
	db_push(client);
	db_cleanup();
	mongoc_cleanup();
}
