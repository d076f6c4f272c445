/*
 * botspool.c - the host's durable spool of received updates.
 *
 * Why: a webhook that writes into the database waits for FerretDB and
 * PostgreSQL, which the bot worker keeps busy while it handles updates
 * (measured: p99 590 ms at 100 updates/s with the worker running, against
 * 17-62 ms without it). Appending to a local file and flushing it costs
 * the same fsync the database's commit would, and nothing else.
 *
 * Layout: BOT_SPOOL_DIR/inbox.spool, appended by every webhook child,
 * one record per update: a header line "%016llx %08x %08x\n" (update id,
 * length, FNV-1a sum), the raw update, "\n". A child appends under an
 * exclusive flock, releases it, then fdatasync()s, so concurrent children
 * share the file system's journal commits. Only the last record can be
 * torn (a power cut during its write: it was never acknowledged): a short
 * write is cut off again under the lock, and the reader stops at a record
 * whose length or sum does not match.
 *
 * The worker renames inbox.spool to inbox.spool.draining under the same
 * lock (a child that was waiting for the lock sees the path now names
 * another file and opens it afresh), copies the renamed file into
 * tg_inbox, and removes it only when all of it is there; a worker that
 * dies meanwhile finds the file again at its next start.
 *
 * The directory entry of a new inbox.spool is made durable by the first
 * writer's fdatasync on journalling file systems (ext4, XFS: the entry is
 * in the same or an earlier journal commit than the file's data);
 * botspool_put also fsyncs the directory when it created the file, for
 * file systems that do not promise that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "oshxona.h"
#include "bot.h"
#include "botspool.h"

#define SPOOL_FILE     "inbox.spool"
#define SPOOL_DRAINING "inbox.spool.draining"
#define SPOOL_HDR_LEN  35 /* "%016llx %08x %08x\n" */
#define SPOOL_BATCH    200

const char *
botspool_dir(void)
{
	const char *d = getenv("BOT_SPOOL_DIR");

	return d != NULL && *d != '\0' ? d : NULL;
}

uint32_t
botspool_sum(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

static int
spool_hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

int
botspool_header(const char *line, int64_t *update_id, uint32_t *len, uint32_t *sum)
{
	uint64_t id, l, s;

	if (spool_hex(line, 16, &id) != 0 || line[16] != ' ' || spool_hex(line + 17, 8, &l) != 0 ||
	    line[25] != ' ' || spool_hex(line + 26, 8, &s) != 0 || line[34] != '\n')
		return -1;
	*update_id = (int64_t)id;
	*len = (uint32_t)l;
	*sum = (uint32_t)s;
	return 0;
}

static void
spool_path(char *out, size_t outlen, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, outlen, "%s/%s", dir, name) >= outlen)
		out[0] = '\0'; /* too long: open fails with ENOENT, logged */
}

static int
spool_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Opens the current spool file locked, with *created set when this call
 * made it. -1 (errno set) on failure.
 */
static int
spool_open_locked(const char *dir, const char *path, int *created)
{
	for (int tries = 0; tries < 8; tries++) {
		struct stat a, b;
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

		*created = 0;
		if (fd < 0 && errno == ENOENT) {
			fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd < 0 && errno == EEXIST)
				continue; /* another child made it first */
			/* The spool directory itself was missing (another child may
			 * be making it at the same moment: EEXIST is fine too). */
			if (fd < 0 && errno == ENOENT && (mkdir(dir, 0700) == 0 || errno == EEXIST))
				continue;
			*created = fd >= 0;
		}
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX) != 0) {
			close(fd);
			return -1;
		}
		/* Renamed away by the worker while this child waited: start over. */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

int
botspool_put(const char *dir, int64_t update_id, const char *raw, size_t len)
{
	char path[512], hdr[SPOOL_HDR_LEN + 1];
	struct iovec iov[3];
	struct stat st;
	ssize_t n;
	int fd, created, rc = 0;

	if (len > TG_UPDATE_MAX)
		return -1;
	spool_path(path, sizeof(path), dir, SPOOL_FILE);
	fd = spool_open_locked(dir, path, &created);
	if (fd < 0) {
		log_error("telegram: spool %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(hdr, sizeof(hdr), "%016llx %08x %08x\n", (unsigned long long)update_id,
	         (unsigned)len, (unsigned)botspool_sum(raw, len));
	iov[0].iov_base = hdr;
	iov[0].iov_len = SPOOL_HDR_LEN;
	iov[1].iov_base = (void *)raw;
	iov[1].iov_len = len;
	iov[2].iov_base = "\n";
	iov[2].iov_len = 1;
	if (fstat(fd, &st) != 0) {
		rc = -1;
	} else if ((n = writev(fd, iov, 3)) != (ssize_t)(SPOOL_HDR_LEN + len + 1)) {
		/* A short write (disk full) must not leave half a record between two whole ones. */
		log_error("telegram: spool %s: write: %s", path,
		          n < 0 ? strerror(errno) : "short write");
		if (ftruncate(fd, st.st_size) != 0)
			log_error("telegram: spool %s: cannot cut a short write: %s", path,
			          strerror(errno));
		rc = -1;
	}
	/* Flushed outside the lock, so the other children append meanwhile. */
	flock(fd, LOCK_UN);
	if (rc == 0 && fdatasync(fd) != 0) {
		log_error("telegram: spool %s: fdatasync: %s", path, strerror(errno));
		rc = -1;
	}
	close(fd);
	if (rc == 0 && created && spool_fsync_dir(dir) != 0) {
		log_error("telegram: spool %s: fsync: %s", dir, strerror(errno));
		rc = -1;
	}
	return rc;
}

/*
 * Inserts the batch into tg_inbox; a duplicate key (a redelivery, or a
 * batch copied before a crash) is not an error. 0, or -1 logged.
 */
static int
spool_insert(mongoc_collection_t *inbox, const bson_t **docs, size_t n)
{
	bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
	bson_t reply;
	bson_error_t error;
	bson_iter_t it, errs;
	int rc = 0;

	if (!mongoc_collection_insert_many(inbox, docs, n, opts, &reply, &error)) {
		/* Acceptable only when every write error is a duplicate key. */
		int dups = 0;
		rc = -1;
		if (!(bson_iter_init_find(&it, &reply, "writeConcernErrors") &&
		      BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &errs) &&
		      bson_iter_next(&errs)) &&
		    bson_iter_init_find(&it, &reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
		    bson_iter_recurse(&it, &errs)) {
			rc = 0;
			while (bson_iter_next(&errs)) {
				bson_iter_t code;
				dups++;
				if (!BSON_ITER_HOLDS_DOCUMENT(&errs) ||
				    !bson_iter_recurse(&errs, &code) ||
				    !bson_iter_find(&code, "code") ||
				    bson_iter_as_int64(&code) != 11000)
					rc = -1;
			}
			if (dups == 0)
				rc = -1;
		}
		if (rc != 0)
			log_error("bot: spooled updates not moved to the inbox: %s", error.message);
	}
	bson_destroy(&reply);
	bson_destroy(opts);
	return rc;
}

/*
 * Copies the records of path into tg_inbox. Returns the number of
 * records copied, or -1 (nothing may be assumed copied). A torn or
 * corrupt tail is logged and ignored: it was never acknowledged.
 */
static int
spool_copy(mongoc_client_t *client, const char *path)
{
	mongoc_collection_t *inbox = db_collection(client, "tg_inbox");
	FILE *f = fopen(path, "re");
	bson_t *docs[SPOOL_BATCH];
	char *raw = xmalloc(TG_UPDATE_MAX + 1);
	char hdr[SPOOL_HDR_LEN + 1];
	size_t n = 0;
	long off = 0;
	int total = 0, rc = 0;

	if (f == NULL) {
		log_error("bot: spool %s: %s", path, strerror(errno));
		free(raw);
		mongoc_collection_destroy(inbox);
		return -1;
	}
	for (;;) {
		int64_t id;
		uint32_t len, sum;
		size_t got = fread(hdr, 1, SPOOL_HDR_LEN, f);

		if (got == 0)
			break;
		hdr[SPOOL_HDR_LEN] = '\0';
		if (got != SPOOL_HDR_LEN || botspool_header(hdr, &id, &len, &sum) != 0 ||
		    len > TG_UPDATE_MAX || fread(raw, 1, (size_t)len + 1, f) != (size_t)len + 1 ||
		    raw[len] != '\n' || botspool_sum(raw, len) != sum) {
			log_warn(
			    "bot: spool %s: torn record at byte %ld ignored (never acknowledged)",
			    path, off);
			break;
		}
		off += SPOOL_HDR_LEN + (long)len + 1;
		docs[n] = bson_new();
		BSON_APPEND_INT64(docs[n], "_id", id);
		bson_append_utf8(docs[n], "raw", -1, raw, (int)len);
		BSON_APPEND_DATE_TIME(docs[n], "at", db_now_ms());
		if (++n == SPOOL_BATCH) {
			rc = spool_insert(inbox, (const bson_t **)docs, n);
			for (size_t i = 0; i < n; i++)
				bson_destroy(docs[i]);
			total += (int)n;
			n = 0;
			if (rc != 0)
				break;
		}
	}
	if (rc == 0 && n > 0)
		rc = spool_insert(inbox, (const bson_t **)docs, n);
	for (size_t i = 0; i < n; i++)
		bson_destroy(docs[i]);
	total += (int)n;
	fclose(f);
	free(raw);
	mongoc_collection_destroy(inbox);
	return rc == 0 ? total : -1;
}

int
botspool_rotate(const char *dir)
{
	char path[512], draining[512];
	struct stat st;
	int fd, rc;

	spool_path(path, sizeof(path), dir, SPOOL_FILE);
	spool_path(draining, sizeof(draining), dir, SPOOL_DRAINING);
	if (stat(draining, &st) == 0)
		return 1; /* left by a worker that stopped half-way: that one first */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* nothing spooled yet */
	if (fstat(fd, &st) != 0 || st.st_size == 0 || flock(fd, LOCK_EX) != 0) {
		close(fd);
		return 0;
	}
	rc = rename(path, draining);
	flock(fd, LOCK_UN);
	close(fd);
	if (rc != 0) {
		log_error("bot: spool %s: rename: %s", path, strerror(errno));
		return -1;
	}
	return 1;
}

int
botspool_drain(mongoc_client_t *client, const char *dir)
{
	char draining[512];
	int n, moved = 0;

	spool_path(draining, sizeof(draining), dir, SPOOL_DRAINING);
	/* Twice at most: a file left over from before, then the current one. */
	for (int round = 0; round < 2; round++) {
		if (botspool_rotate(dir) != 1)
			break;
		if ((n = spool_copy(client, draining)) < 0)
			return -1;
		unlink(draining);
		moved += n;
	}
	return moved;
}
