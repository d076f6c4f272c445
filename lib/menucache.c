/*
 * menucache.c - the public menu's cache (see oshxona.h). The seed kept a
 * MemoryCache per Node process; FastCGI runs many processes, so the
 * freshness signal is a generation counter in a file every process on the
 * host maps, and the hottest answers are plain files nginx serves without
 * waking a FastCGI child at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "oshxona.h"

#define MC_SLOTS   1000 /* the seed's max entries */
#define MC_TTL_S   300  /* the seed's 5-minute TTL */
#define MC_KEY_MAX 1100 /* path + '?' + QS_MAX_LEN */
#define MC_PATH    512
#define MC_EPOCH   1600000000 /* file dates count generations from here */

struct mc_entry {
	char *key;
	char *body;
	size_t len;
	uint64_t gen;
	time_t at;
};

static struct mc_entry mc_table[MC_SLOTS];
static volatile uint64_t *mc_gen; /* mapped from <dir>/generation */
static int mc_state;              /* 0 unknown, 1 ready, -1 disabled */
static char mc_dir[MC_PATH];

/* Maps the generation counter once per process. */
static int
mc_init(void)
{
	const char *dir = getenv("MENU_CACHE_DIR");
	char path[MC_PATH + 16];
	void *p;
	int fd;

	if (mc_state != 0)
		return mc_state;
	mc_state = -1;
	if (dir == NULL || *dir == '\0' || strlen(dir) >= sizeof(mc_dir) - 32)
		return -1;
	snprintf(mc_dir, sizeof(mc_dir), "%s", dir);
	if (mkdir(mc_dir, 0755) != 0 && errno != EEXIST) {
		log_error("menu cache %s: %s", mc_dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/generation", mc_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	/* ftruncate to a page only grows a new file; an existing one keeps its count. */
	if (fd < 0 || ftruncate(fd, 4096) != 0) {
		log_error("menu cache %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		log_error("menu cache mmap: %s", strerror(errno));
		return -1;
	}
	mc_gen = p;
	mc_state = 1;
	return 1;
}

uint64_t
menucache_generation(void)
{
	if (mc_init() < 0)
		return 0;
	return __atomic_load_n(mc_gen, __ATOMIC_ACQUIRE);
}

static int
mc_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		log_warn("menu cache: removing %s: %s", path, strerror(errno));
	return 0;
}

int
menucache_invalidate(void)
{
	char files[MC_PATH + 16], old[MC_PATH + 64], hex[17];

	if (mc_init() < 0)
		return 0;
	/* First the generation: tables and racing file writers see it... */
	__atomic_add_fetch(mc_gen, 1, __ATOMIC_ACQ_REL);
	/* ...then the files, all at once: one rename, cleaned up after. */
	snprintf(files, sizeof(files), "%s/files", mc_dir);
	random_hex(hex, 8);
	snprintf(old, sizeof(old), "%s/files.old.%s", mc_dir, hex);
	if (rename(files, old) != 0) {
		if (errno == ENOENT)
			return 0;
		log_error("menu cache: cannot drop %s: %s", files, strerror(errno));
		return -1;
	}
	nftw(old, mc_remove, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* mkdir -p of every directory above path. */
static int
mc_mkdirs(char *path)
{
	for (char *s = strchr(path + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		int rc = mkdir(path, 0755);
		*s = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

int
menucache_store_file(const char *uri, const char *body, size_t len, uint64_t gen)
{
	char path[MC_PATH * 2], tmp[MC_PATH * 2 + 32];
	int fd;

	if (mc_init() < 0)
		return 0;
	/*
	 * Only plain menu paths: nginx maps $uri to exactly this name. And
	 * only lower case: ids are hex in either case, and one file per
	 * spelling let anyone fill the disk (2^24 names for one product). An
	 * upper-case spelling is still answered, just never materialized.
	 */
	if (strncmp(uri, "/api/", 5) != 0 || strstr(uri, "..") != NULL ||
	    strspn(uri, "abcdefghijklmnopqrstuvwxyz0123456789/_-") != strlen(uri) ||
	    strlen(uri) > MC_PATH / 2 || uri[strlen(uri) - 1] == '/')
		return -1;
	if (gen != menucache_generation())
		return 0; /* built from data an invalidation has already dropped */
	snprintf(path, sizeof(path), "%s/files%s.json", mc_dir, uri);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (mc_mkdirs(path) != 0) {
		log_warn("menu cache: mkdir for %s: %s", path, strerror(errno));
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, body, len) != (ssize_t)len || close(fd) != 0) {
		log_warn("menu cache: writing %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/*
	 * nginx's ETag is mtime-size and its mtime has whole seconds: two
	 * builds in one second with equal sizes (a price 25000 -> 26000)
	 * would share an ETag and a client would keep the old price on a 304.
	 * The generation, not the clock, dates the file, so every rebuild
	 * after an invalidation gets a later mtime and a new ETag.
	 */
	{
		struct timespec times[2] = {{.tv_sec = MC_EPOCH + (time_t)gen},
		                            {.tv_sec = MC_EPOCH + (time_t)gen}};
		if (utimensat(AT_FDCWD, tmp, times, 0) != 0)
			log_warn("menu cache: utimensat %s: %s", tmp, strerror(errno));
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	/*
	 * An invalidation bumps the generation before it drops the files: if
	 * it bumped after our check above, either its drop comes after our
	 * rename (and takes the file), or we see the new generation here.
	 */
	if (gen != menucache_generation()) {
		unlink(path);
		return 0;
	}
	return 1;
}

static struct mc_entry *
mc_slot(const char *key)
{
	return &mc_table[hash_fnv1a64(key, strlen(key)) % MC_SLOTS];
}

const char *
menucache_get(const char *key, size_t *len)
{
	struct mc_entry *e;

	if (mc_init() < 0)
		return NULL;
	e = mc_slot(key);
	if (e->key == NULL || strcmp(e->key, key) != 0 || e->gen != menucache_generation() ||
	    time(NULL) - e->at >= MC_TTL_S)
		return NULL;
	*len = e->len;
	return e->body;
}

void
menucache_put(const char *key, const char *body, size_t len, uint64_t gen)
{
	struct mc_entry *e;

	if (mc_init() < 0 || strlen(key) > MC_KEY_MAX || gen != menucache_generation())
		return;
	/* Direct-mapped: a colliding key simply replaces the older one. */
	e = mc_slot(key);
	free(e->key);
	free(e->body);
	e->key = xstrdup(key);
	e->body = xmalloc(len + 1);
	memcpy(e->body, body, len);
	e->body[len] = '\0';
	e->len = len;
	e->gen = gen;
	e->at = time(NULL);
}

void
menucache_file_etag(uint64_t gen, size_t len, char *out, size_t outlen)
{
	/* nginx: "\"%xT-%xO\"" of the file's mtime and size. */
	snprintf(out, outlen, "\"%llx-%zx\"", (unsigned long long)(MC_EPOCH + gen), len);
}
