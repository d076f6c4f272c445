/*
 * image.c - what an uploaded image goes through before anyone sees it:
 * its type from its magic bytes, its size from its header (before any
 * pixel is decoded), then libvips decodes it strictly, turns it upright,
 * shrinks it to fit 800 x 600 and encodes it again in the same format
 * with all metadata (EXIF and its GPS position, XMP, ICC, comments)
 * dropped. Local storage (MEDIA_DIR) and deletion live here too.
 *
 * libvips is set up for a small single-threaded FastCGI child: one worker
 * thread, no operation cache, and the loaders libvips marks untrusted
 * (ImageMagick, SVG, PDF, ...) blocked; only the JPEG, PNG and WebP
 * loaders are ever asked for anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vips/vips.h>

#include "oshxona.h"

#define IMAGE_JPEG_Q          82
#define IMAGE_WEBP_Q          80
#define IMAGE_PNG_COMPRESS    6
#define IMAGE_HEX_LEN         32 /* 16 random bytes */
#define IMAGE_MEDIA_DEFAULT   "/var/lib/oshxona/media"
#define IMAGE_BUFFERED_PIXELS 12000000 /* see image_too_large */

static int image_ready; /* image_init succeeded */

enum image_format
image_sniff(const void *data, size_t len)
{
	static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	const unsigned char *p = data;

	if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return IMAGE_JPEG;
	if (len >= sizeof(png) && memcmp(p, png, sizeof(png)) == 0)
		return IMAGE_PNG;
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return IMAGE_WEBP;
	return IMAGE_UNKNOWN;
}

/* libvips' warnings ("error in tile ...") go to our log, not to stderr. */
static void
image_vips_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer arg)
{
	(void)domain;
	(void)level;
	(void)arg;
	log_debug("libvips: %s", message);
}

int
image_init(const char *argv0)
{
	if (image_ready)
		return 0;
	if (VIPS_INIT(argv0 != NULL ? argv0 : "oshxona")) {
		log_error("libvips: %s", vips_error_buffer());
		vips_error_clear();
		return -1;
	}
	vips_concurrency_set(1);
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	vips_block_untrusted_set(TRUE);
	/*
	 * A fixed mmap threshold: glibc would raise it after the first 5 MB
	 * body is freed, and every later body would then stay in the heap.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
	                  image_vips_log, NULL);
	image_ready = 1;
	return 0;
}

/* Logs and clears libvips' error buffer. */
static void
image_vips_error(const char *what)
{
	const char *msg = vips_error_buffer();
	size_t n = strlen(msg);

	while (n > 0 && msg[n - 1] == '\n')
		n--;
	log_info("libvips %s: %.*s", what, (int)(n > 300 ? 300 : n), msg);
	vips_error_clear();
}

/* Reads only the header of data with the loader its magic bytes name. */
static int
image_header(const void *data, size_t len, enum image_format f, VipsImage **out)
{
	void *buf = (void *)(uintptr_t)data; /* libvips only reads it */

	switch (f) {
	case IMAGE_JPEG:
		return vips_jpegload_buffer(buf, len, out, "access", VIPS_ACCESS_SEQUENTIAL,
		                            "fail_on", VIPS_FAIL_ON_ERROR, NULL);
	case IMAGE_PNG:
		return vips_pngload_buffer(buf, len, out, "access", VIPS_ACCESS_SEQUENTIAL,
		                           "fail_on", VIPS_FAIL_ON_ERROR, NULL);
	case IMAGE_WEBP:
		return vips_webpload_buffer(buf, len, out, "access", VIPS_ACCESS_SEQUENTIAL,
		                            "fail_on", VIPS_FAIL_ON_ERROR, NULL);
	default:
		abort();
	}
}

/*
 * The decompression-bomb guard, from the header alone. Baseline JPEG and
 * plain PNG stream through libvips in strips, so up to IMAGE_MAX_PIXELS is
 * fine; an interlaced PNG, a progressive JPEG (libjpeg keeps every DCT
 * coefficient) and WebP (decoded whole) are held in memory at full size,
 * so those get IMAGE_BUFFERED_PIXELS (a 12 MP progressive JPEG peaked at
 * 92 MB of RSS). Returns 0 (fine), 1 (too large) or 2 (too large to buffer).
 */
static int
image_too_large(VipsImage *head, enum image_format f)
{
	int w = vips_image_get_width(head), h = vips_image_get_height(head), interlaced = 0;
	int64_t pixels = (int64_t)w * h;

	if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || pixels > IMAGE_MAX_PIXELS)
		return 1;
	if (vips_image_get_typeof(head, "interlaced") != 0 &&
	    vips_image_get_int(head, "interlaced", &interlaced) != 0)
		interlaced = 1; /* unreadable: assume the worst */
	if ((interlaced || f == IMAGE_WEBP) && pixels > IMAGE_BUFFERED_PIXELS)
		return 2;
	return 0;
}

/* The loader thumbnail_buffer must have picked for f. */
static const char *
image_loader_name(enum image_format f)
{
	switch (f) {
	case IMAGE_JPEG:
		return "jpegload_buffer";
	case IMAGE_PNG:
		return "pngload_buffer";
	case IMAGE_WEBP:
		return "webpload_buffer";
	default:
		abort();
	}
}

/*
 * Drops every metadata item (EXIF, XMP, IPTC, ICC, PNG text, ...) from
 * img, which must be the caller's own image: the savers' strip option
 * alone is not enough (libvips 8.14.1's webpsave wrote the EXIF anyway).
 * The built-in header fields (size, bands, format) are no metadata and
 * cannot be removed.
 */
static void
image_strip(VipsImage *img)
{
	gchar **fields = vips_image_get_fields(img);

	for (gchar **f = fields; *f != NULL; f++)
		(void)vips_image_remove(img, *f);
	g_strfreev(fields);
}

static uint32_t
image_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
image_put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/*
 * libvips 8.14's webpsave writes an EXIF chunk (made from the header:
 * resolution, size) whatever strip says. This drops the EXIF, XMP and
 * ICCP chunks from a WebP file in place, clears their flags in VP8X and
 * fixes the RIFF size. Returns 0, or -1 when the file is not the RIFF
 * structure it should be.
 */
static int
image_webp_strip(unsigned char *buf, size_t *len)
{
	size_t in = 12, out = 12;

	if (*len < 12 || *len > UINT32_MAX || memcmp(buf, "RIFF", 4) != 0 ||
	    memcmp(buf + 8, "WEBP", 4) != 0 || image_le32(buf + 4) != *len - 8)
		return -1;
	while (in < *len) {
		size_t size, whole;
		if (*len - in < 8)
			return -1;
		size = image_le32(buf + in + 4);
		whole = 8 + size + (size & 1);
		if (whole > *len - in)
			return -1;
		if (memcmp(buf + in, "EXIF", 4) != 0 && memcmp(buf + in, "XMP ", 4) != 0 &&
		    memcmp(buf + in, "ICCP", 4) != 0) {
			if (memcmp(buf + in, "VP8X", 4) == 0 && size >= 1)
				buf[in + 8] &=
				    (unsigned char)~(0x20 | 0x08 | 0x04); /* ICC EXIF XMP */
			memmove(buf + out, buf + in, whole);
			out += whole;
		}
		in += whole;
	}
	image_put_le32(buf + 4, (uint32_t)(out - 8));
	*len = out;
	return 0;
}

/* Encodes img in format f with every piece of metadata left out. */
static int
image_encode(VipsImage *img, enum image_format f, void **buf, size_t *len)
{
	/* libvips 8.15 replaced strip with keep. */
#if VIPS_MAJOR_VERSION > 8 || (VIPS_MAJOR_VERSION == 8 && VIPS_MINOR_VERSION >= 15)
#define IMAGE_NO_METADATA "keep", VIPS_FOREIGN_KEEP_NONE
#else
#define IMAGE_NO_METADATA "strip", TRUE
#endif
	switch (f) {
	case IMAGE_JPEG:
		return vips_jpegsave_buffer(img, buf, len, "Q", IMAGE_JPEG_Q, "optimize_coding",
		                            TRUE, IMAGE_NO_METADATA, NULL);
	case IMAGE_PNG:
		return vips_pngsave_buffer(img, buf, len, "compression", IMAGE_PNG_COMPRESS,
		                           IMAGE_NO_METADATA, NULL);
	case IMAGE_WEBP:
		return vips_webpsave_buffer(img, buf, len, "Q", IMAGE_WEBP_Q, IMAGE_NO_METADATA,
		                            NULL);
	default:
		abort();
	}
#undef IMAGE_NO_METADATA
}

int
image_process(const void *data, size_t len, struct image_result *out, char *err, size_t errlen)
{
	enum image_format f = image_sniff(data, len);
	VipsImage *head = NULL, *thumb = NULL, *pixels = NULL, *clean = NULL;
	const char *loader = NULL;
	void *buf = NULL;
	size_t blen = 0;
	int status = 422;

	memset(out, 0, sizeof(*out));
	if (f == IMAGE_UNKNOWN) {
		snprintf(err, errlen, "Only JPEG, PNG and WebP images are accepted");
		return 415;
	}
	if (!image_ready) {
		snprintf(err, errlen, "Image processing is not available");
		return 500;
	}
	if (image_header(data, len, f, &head) != 0) {
		image_vips_error("header");
		snprintf(err, errlen, "The image could not be read");
		goto done;
	}
	switch (image_too_large(head, f)) {
	case 0:
		break;
	case 1:
		snprintf(err, errlen,
		         "The image is too large: at most %d pixels a side and %d megapixels",
		         IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS / 1000000);
		goto done;
	default:
		snprintf(err, errlen,
		         "The image is too large: a progressive JPEG, an interlaced PNG or a WebP "
		         "may have at most %d megapixels",
		         IMAGE_BUFFERED_PIXELS / 1000000);
		goto done;
	}
	g_object_unref(head);
	head = NULL;
	/*
	 * thumbnail_buffer loads again, shrinking while it decodes (JPEG DCT
	 * scaling), turns the image upright by its EXIF orientation, and
	 * applies an embedded colour profile (to sRGB) before the profile goes
	 * with the rest of the metadata. libvips 8.14's thumbnail_buffer does
	 * not hand its own fail_on to the loader (a truncated JPEG passed):
	 * the loader's option string does.
	 */
	if (vips_thumbnail_buffer((void *)(uintptr_t)data, len, &thumb, IMAGE_FIT_WIDTH, "height",
	                          IMAGE_FIT_HEIGHT, "size", VIPS_SIZE_DOWN, "export_profile",
	                          "srgb", "option_string", "fail_on=error", NULL) != 0) {
		image_vips_error("thumbnail");
		snprintf(err, errlen, "The image could not be read");
		goto done;
	}
	if (vips_image_get_string(thumb, "vips-loader", &loader) != 0 || loader == NULL ||
	    strcmp(loader, image_loader_name(f)) != 0) {
		vips_error_clear();
		log_warn("libvips chose loader %s for a %s", loader != NULL ? loader : "(none)",
		         image_format_ext(f));
		snprintf(err, errlen, "The image could not be read");
		goto done;
	}
	/* Every pixel decoded here: a truncated or corrupt image fails now. */
	pixels = vips_image_copy_memory(thumb);
	if (pixels == NULL) {
		image_vips_error("decode");
		snprintf(err, errlen, "The image is damaged or incomplete");
		goto done;
	}
	/* A copy of our own (sharing the pixels) loses every metadata item. */
	if (vips_copy(pixels, &clean, NULL) != 0) {
		image_vips_error("copy");
		snprintf(err, errlen, "The image could not be processed");
		status = 500;
		goto done;
	}
	image_strip(clean);
	if (image_encode(clean, f, &buf, &blen) != 0) {
		image_vips_error("encode");
		snprintf(err, errlen, "The image could not be processed");
		status = 500;
		goto done;
	}
	if (f == IMAGE_WEBP && image_webp_strip(buf, &blen) != 0) {
		log_error("libvips wrote a WebP file that is not RIFF");
		snprintf(err, errlen, "The image could not be processed");
		status = 500;
		goto done;
	}
	out->format = f;
	out->width = vips_image_get_width(clean);
	out->height = vips_image_get_height(clean);
	out->data = buf;
	out->len = blen;
	status = 0;
done:
	if (status != 0)
		g_free(buf);
	if (clean != NULL)
		g_object_unref(clean);
	if (pixels != NULL)
		g_object_unref(pixels);
	if (thumb != NULL)
		g_object_unref(thumb);
	if (head != NULL)
		g_object_unref(head);
	/* The worker thread's arena gave its strips back: return them to the OS. */
	malloc_trim(0);
	return status;
}

void
image_result_free(struct image_result *img)
{
	if (img->data != NULL)
		g_free(img->data);
	memset(img, 0, sizeof(*img));
}
