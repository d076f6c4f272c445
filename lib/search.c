/*
 * search.c - product search without a text index (FerretDB has none):
 * every product stores the prefixes of its normalized words, and a query
 * word matches by equality, which an ordinary index serves on MongoDB and
 * FerretDB alike. No regular expression is ever built from user input.
 */
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

#define WORD_BYTES_MAX (SEARCH_PREFIX_MAX * 4 + 1)

/* Next code point of a valid UTF-8 string; advances *s. */
static uint32_t
search_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t cp;

	if (p[0] < 0x80) {
		cp = p[0];
		*s += 1;
	} else if ((p[0] & 0xe0) == 0xc0 && p[1] != 0) {
		cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
		*s += 2;
	} else if ((p[0] & 0xf0) == 0xe0 && p[1] != 0 && p[2] != 0) {
		cp = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		*s += 3;
	} else if ((p[0] & 0xf8) == 0xf0 && p[1] != 0 && p[2] != 0 && p[3] != 0) {
		cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		     (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
		*s += 4;
	} else {
		cp = 0xfffd; /* invalid input: a word break, never a crash */
		*s += 1;
	}
	return cp;
}

static int
search_is_apostrophe(uint32_t cp)
{
	/* Uzbek Latin writes o' and g' with any of these. */
	return cp == '\'' || cp == '`' || cp == 0x02bb || cp == 0x02bc || cp == 0x2018 ||
	       cp == 0x2019;
}

/* Lower-cased code point, or 0 when cp breaks words. */
static uint32_t
search_fold(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
		return cp;
	if (cp == 0xd7 || cp == 0xf7)
		return 0;
	if (cp >= 0xc0 && cp <= 0xde)
		return cp + 32;
	if (cp >= 0xdf && cp <= 0xff)
		return cp;
	if (cp >= 0x100 && cp <= 0x137)
		return cp | 1;
	if (cp >= 0x138 && cp <= 0x24f)
		return cp;
	if (cp >= 0x400 && cp <= 0x40f)
		return cp == 0x401 ? 0x435 : cp + 0x50; /* Ё reads as е */
	if (cp >= 0x410 && cp <= 0x42f)
		return cp + 0x20;
	if (cp == 0x451)
		return 0x435; /* ё reads as е */
	if (cp >= 0x430 && cp <= 0x45f)
		return cp;
	if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48a && cp <= 0x4bf))
		return cp | 1; /* Ў Қ Ғ Ҳ and their kin: upper case is even */
	if (cp >= 0x482 && cp <= 0x52f)
		return cp;
	if (cp >= 0x370 && cp <= 0x3ff)
		return cp >= 0x391 && cp <= 0x3a9 ? cp + 32 : cp;
	return 0;
}

static size_t
search_put(char *w, uint32_t cp)
{
	if (cp < 0x80) {
		w[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		w[0] = (char)(0xc0 | cp >> 6);
		w[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	w[0] = (char)(0xe0 | cp >> 12);
	w[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	w[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

size_t
search_words(const char *text, void (*cb)(const char *word, void *arg), void *arg)
{
	const unsigned char *s = (const unsigned char *)text;
	char word[WORD_BYTES_MAX];
	size_t wlen = 0, wcps = 0, count = 0;

	for (;;) {
		uint32_t cp = *s != '\0' ? search_next(&s) : 0;
		uint32_t f;

		if (cp != 0 && search_is_apostrophe(cp))
			continue;
		f = cp != 0 ? search_fold(cp) : 0;
		if (f != 0) {
			if (wcps < SEARCH_PREFIX_MAX) {
				wlen += search_put(word + wlen, f);
				wcps++;
			}
			continue;
		}
		if (wlen > 0) {
			word[wlen] = '\0';
			cb(word, arg);
			count++;
			wlen = wcps = 0;
		}
		if (cp == 0)
			break;
	}
	return count;
}

struct prefix_list {
	char **items;
	size_t n, cap;
};

static void
prefix_collect(const char *word, void *arg)
{
	struct prefix_list *l = arg;
	const char *p = word;

	while (*p != '\0') {
		p++;
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
		}
		l->items[l->n++] = xstrndup(word, (size_t)(p - word));
	}
}

static int
prefix_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
search_prefixes(const char *const *texts, size_t n, bson_t *array)
{
	struct prefix_list l = {NULL, 0, 0};
	uint32_t idx = 0;

	for (size_t i = 0; i < n; i++)
		if (texts[i] != NULL)
			search_words(texts[i], prefix_collect, &l);
	if (l.n > 0)
		qsort(l.items, l.n, sizeof(*l.items), prefix_cmp);
	for (size_t i = 0; i < l.n; i++) {
		if (i == 0 || strcmp(l.items[i], l.items[i - 1]) != 0) {
			char keybuf[16];
			const char *key;
			bson_uint32_to_string(idx++, &key, keybuf, sizeof(keybuf));
			bson_append_utf8(array, key, -1, l.items[i], -1);
		}
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.items[i]);
	free(l.items);
}

struct search_terms {
	bson_t *filter; /* the first word goes here */
	bson_t *and;    /* the $and array of the others */
	uint32_t n;     /* words added */
};

static void
search_term_add(const char *word, void *arg)
{
	struct search_terms *t = arg;
	char keybuf[16];
	const char *key;
	bson_t clause;

	if (t->n == SEARCH_WORDS_MAX)
		return;
	/*
	 * A top-level equality is what FerretDB hands to PostgreSQL (and its
	 * GIN index on searchPrefixes); inside $and it would read every
	 * product.
	 */
	if (t->n++ == 0) {
		BSON_APPEND_UTF8(t->filter, "searchPrefixes", word);
		return;
	}
	bson_uint32_to_string(t->n - 2, &key, keybuf, sizeof(keybuf));
	bson_append_document_begin(t->and, key, -1, &clause);
	BSON_APPEND_UTF8(&clause, "searchPrefixes", word);
	bson_append_document_end(t->and, &clause);
}

void
search_filter(bson_t *filter, const char *query)
{
	bson_t and = BSON_INITIALIZER;
	struct search_terms t = {filter, &and, 0};

	search_words(query, search_term_add, &t);
	/* Only punctuation: no word to match, so nothing matches. */
	if (t.n == 0)
		BSON_APPEND_INT32(filter, "_id", 0);
	else if (t.n > 1)
		BSON_APPEND_ARRAY(filter, "$and", &and);
	bson_destroy(&and);
}
