/*
 * fake_fcgi.h - an in-memory FCGX_Request for unit tests of lib/http.c and
 * lib/route.c, with no socket and no FastCGI framing.
 *
 * lib/http.c only touches a request through envp (FCGX_GetParam), in
 * (FCGX_GetStr) and out (FCGX_PutStr). libfcgi's stream functions work on
 * the public FCGX_Stream fields and call fillBuffProc/emptyBuffProc when a
 * buffer runs out, so streams built here are driven by the real libfcgi
 * code:
 *
 *   in   a reader over a copy of the body, handed out in_chunk bytes per
 *        fillBuffProc call (0 = all at once); isClosed once it is used up.
 *   out  a writer into a buffer that emptyBuffProc doubles, so the whole
 *        response can be read back with fake_output(); with out_fail set
 *        it reports the stream closed instead (a client that went away).
 *   err  a writer that throws everything away.
 *
 * Usage:
 *   struct fake_fcgi f;
 *   static const char *const env[] = {"REQUEST_METHOD=GET", NULL};
 *   fake_init(&f, env, NULL, 0);
 *   req_init(&r, &f.req);
 *   ...
 *   fake_output(&f) / fake_output_len(&f)
 *   fake_free(&f);
 */
#ifndef FAKE_FCGI_H
#define FAKE_FCGI_H

#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#define FAKE_ENV_MAX     64
#define FAKE_OUT_INITIAL 64 /* small, so responses exercise growth */

struct fake_fcgi {
	FCGX_Request req;
	FCGX_Stream in, out, err;
	char *env[FAKE_ENV_MAX + 1]; /* NULL-terminated "NAME=value" copies */
	size_t nenv;

	unsigned char *in_data; /* the body, owned */
	size_t in_len;          /* bytes in in_data */
	size_t in_pos;          /* bytes handed to the stream so far */
	size_t in_chunk;        /* bytes per fill; 0 = everything at once */
	int in_fills;           /* fillBuffProc calls */

	unsigned char *out_buf; /* everything written to out */
	size_t out_cap;
	int out_fail;   /* 1: emptyBuffProc closes the stream instead */
	int out_closed; /* set when that happened */

	unsigned char err_buf[256];
};

static inline void
fake_fill(FCGX_Stream *s)
{
	struct fake_fcgi *f = s->data;
	size_t left = f->in_len - f->in_pos;
	size_t n = f->in_chunk == 0 || f->in_chunk > left ? left : f->in_chunk;

	f->in_fills++;
	if (n == 0) {
		s->isClosed = 1;
		s->rdNext = s->stop = s->stopUnget = f->in_data + f->in_len;
		return;
	}
	s->rdNext = s->stopUnget = f->in_data + f->in_pos;
	s->stop = s->rdNext + n;
	f->in_pos += n;
}

static inline void
fake_empty(FCGX_Stream *s, int doClose)
{
	struct fake_fcgi *f = s->data;
	size_t used = f->out_cap - (size_t)(s->stop - s->wrNext);
	unsigned char *grown;

	(void)doClose;
	if (f->out_fail) {
		f->out_closed = 1;
		s->isClosed = 1;
		s->FCGI_errno = 32; /* EPIPE */
		return;
	}
	grown = realloc(f->out_buf, 2 * f->out_cap);
	if (grown == NULL)
		abort();
	f->out_buf = grown;
	f->out_cap *= 2;
	s->wrNext = grown + used;
	s->stop = grown + f->out_cap;
}

static inline void
fake_discard(FCGX_Stream *s, int doClose)
{
	struct fake_fcgi *f = s->data;

	(void)doClose;
	s->wrNext = f->err_buf;
}

/* Adds one "NAME=value" parameter. */
static inline void
fake_param(struct fake_fcgi *f, const char *name_value)
{
	size_t n = strlen(name_value);

	if (f->nenv == FAKE_ENV_MAX)
		abort();
	f->env[f->nenv] = malloc(n + 1);
	if (f->env[f->nenv] == NULL)
		abort();
	memcpy(f->env[f->nenv], name_value, n + 1);
	f->env[++f->nenv] = NULL;
}

/*
 * A request with the NULL-terminated parameters env (may be NULL) and
 * body_len bytes of body (may be NULL).
 */
static inline void
fake_init(struct fake_fcgi *f, const char *const *env, const void *body, size_t body_len)
{
	memset(f, 0, sizeof(*f));
	for (; env != NULL && *env != NULL; env++)
		fake_param(f, *env);

	f->in_data = malloc(body_len + 1);
	if (f->in_data == NULL)
		abort();
	if (body_len > 0)
		memcpy(f->in_data, body, body_len);
	f->in_len = body_len;
	f->in.isReader = 1;
	f->in.rdNext = f->in.stop = f->in.stopUnget = f->in_data;
	f->in.fillBuffProc = fake_fill;
	f->in.data = f;

	f->out_cap = FAKE_OUT_INITIAL;
	f->out_buf = malloc(f->out_cap);
	if (f->out_buf == NULL)
		abort();
	f->out.isReader = 0;
	f->out.wrNext = f->out.rdNext = f->out_buf;
	f->out.stop = f->out_buf + f->out_cap;
	f->out.emptyBuffProc = fake_empty;
	f->out.data = f;

	f->err.isReader = 0;
	f->err.wrNext = f->err.rdNext = f->err_buf;
	f->err.stop = f->err_buf + sizeof(f->err_buf);
	f->err.emptyBuffProc = fake_discard;
	f->err.data = f;

	f->req.requestId = 1;
	f->req.role = 1; /* FCGI_RESPONDER */
	f->req.in = &f->in;
	f->req.out = &f->out;
	f->req.err = &f->err;
	f->req.envp = f->env;
	f->req.ipcFd = -1;
}

/* Bytes written to out so far. */
static inline size_t
fake_output_len(const struct fake_fcgi *f)
{
	return f->out_cap - (size_t)(f->out.stop - f->out.wrNext);
}

/* Everything written to out, NUL-terminated (the NUL is not counted). */
static inline const char *
fake_output(struct fake_fcgi *f)
{
	size_t used = fake_output_len(f);

	if (used == f->out_cap) {
		unsigned char *grown = realloc(f->out_buf, 2 * f->out_cap);
		if (grown == NULL)
			abort();
		f->out_buf = grown;
		f->out_cap *= 2;
		f->out.wrNext = grown + used;
		f->out.stop = grown + f->out_cap;
	}
	f->out_buf[used] = '\0';
	return (const char *)f->out_buf;
}

static inline void
fake_free(struct fake_fcgi *f)
{
	for (size_t i = 0; i < f->nenv; i++)
		free(f->env[i]);
	free(f->in_data);
	free(f->out_buf);
	memset(f, 0, sizeof(*f));
}

#endif /* FAKE_FCGI_H */
