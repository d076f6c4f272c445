/*
 * media.c - where local images live and how any stored image goes away:
 * file names, MEDIA_DIR, atomic writes, and deletion in either storage
 * mode. Kept apart from image.c so that programs which only delete (the
 * catalogue admin) do not load libvips.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oshxona.h"

#define IMAGE_HEX_LEN       32 /* 16 random bytes */
#define IMAGE_MEDIA_DEFAULT "/var/lib/oshxona/media"

const char *
image_format_ext(enum image_format f)
{
	switch (f) {
	case IMAGE_JPEG:
		return "jpg";
	case IMAGE_PNG:
		return "png";
	case IMAGE_WEBP:
		return "webp";
	default:
		return "";
	}
}

int
image_name_valid(const char *name)
{
	size_t i;

	for (i = 0; i < IMAGE_HEX_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	if (name[i] != '.')
		return 0;
	name += i + 1;
	return strcmp(name, "jpg") == 0 || strcmp(name, "png") == 0 || strcmp(name, "webp") == 0;
}

/* MEDIA_DIR, or the production default. */
static const char *
image_media_dir(void)
{
	const char *dir = getenv("MEDIA_DIR");

	return dir != NULL && *dir != '\0' ? dir : IMAGE_MEDIA_DEFAULT;
}

/* Writes all of len bytes to fd. */
static int
image_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
image_store(const struct image_result *img, char name[IMAGE_NAME_LEN + 1])
{
	const char *dir = image_media_dir();
	char hex[IMAGE_HEX_LEN + 1], tmp[PATH_MAX], path[PATH_MAX];
	int fd, n, dfd;

	random_hex(hex, IMAGE_HEX_LEN / 2);
	snprintf(name, IMAGE_NAME_LEN + 1, "%s.%s", hex, image_format_ext(img->format));
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, name) >= sizeof(tmp)) {
		log_error("MEDIA_DIR path too long: %s", dir);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_error("cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* 0644 whatever the umask: nginx's workers read it. */
	if (fchmod(fd, 0644) != 0 || image_write_all(fd, img->data, img->len) != 0 ||
	    fsync(fd) != 0) {
		log_error("cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		log_error("cannot store %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename itself survives a crash once the directory is synced. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0)
			log_warn("fsync %s: %s", dir, strerror(errno));
		close(dfd);
	}
	return 0;
}

int
image_delete(const char *public_id)
{
	char path[PATH_MAX];
	int n;

	if (public_id == NULL || !image_name_valid(public_id)) {
		log_warn("refused to delete a local image with a foreign name");
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/%s", image_media_dir(), public_id);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if (unlink(path) != 0 && errno != ENOENT) {
		log_error("cannot delete %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Where an image lives follows from its id; the mode of the moment does not matter. */
int
upload_delete(const char *public_id)
{
	if (public_id == NULL || *public_id == '\0')
		return -1;
	if (image_name_valid(public_id))
		return image_delete(public_id);
	if (!cloudinary_configured()) {
		log_error("cannot delete image %.64s: Cloudinary is not configured", public_id);
		return -1;
	}
	return cloudinary_destroy(public_id);
}
