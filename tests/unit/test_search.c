/*
 * test_search.c - search normalization (search_words) and the stored
 * prefix array (search_prefixes) from lib/search.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oshxona.h"

#define MAX_WORDS 64

struct words {
	char *w[MAX_WORDS];
	size_t n;
};

static void
collect(const char *word, void *arg)
{
	struct words *ws = arg;

	assert_true(ws->n < MAX_WORDS);
	assert_true(word[0] != '\0');
	assert_true(utf8_valid(word, strlen(word)));
	ws->w[ws->n++] = xstrdup(word);
}

static void
words_free(struct words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i]);
	ws->n = 0;
}

/*
 * Asserts that text splits into exactly the words given as a
 * NULL-terminated list.
 */
static void
expect_words(const char *text, ...)
{
	struct words ws = {{NULL}, 0};
	size_t count, i = 0;
	const char *want;
	va_list ap;

	count = search_words(text, collect, &ws);
	assert_int_equal(count, ws.n);
	va_start(ap, text);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (i >= ws.n)
			fail_msg("\"%s\": only %zu words, expected \"%s\" too", text, ws.n, want);
		if (strcmp(ws.w[i], want) != 0)
			fail_msg("\"%s\": word %zu is \"%s\", expected \"%s\"", text, i, ws.w[i],
			         want);
		i++;
	}
	va_end(ap);
	if (i != ws.n)
		fail_msg("\"%s\": %zu words, expected %zu (extra \"%s\")", text, ws.n, i, ws.w[i]);
	words_free(&ws);
}

/* The single word text normalizes to. */
static void
expect_word(const char *text, const char *want)
{
	expect_words(text, want, (const char *)NULL);
}

static void
test_words_ascii(void **state)
{
	(void)state;
	expect_words("Osh Palov", "osh", "palov", NULL);
	expect_words("  OSH   palov\t\nSOMSA ", "osh", "palov", "somsa", NULL);
	expect_words("a-b,c.d/e_f", "a", "b", "c", "d", "e", "f", NULL);
	expect_words("osh2024 12 x9", "osh2024", "12", "x9", NULL);
	expect_words("", NULL);
	expect_words("   ", NULL);
	expect_words("!@#$%^&*()[]{}<>?;:\"\\|=+~", NULL);
}

static void
test_words_cyrillic_case(void **state)
{
	(void)state;
	expect_word("ПЛОВ", "плов");
	expect_word("Плов", "плов");
	expect_words("АБВГДЕЖЗИЙКЛМНОП РСТУФХЦЧШЩЪЫЬЭЮЯ", "абвгдежзийклмноп", "рстуфхцчшщъыьэюя",
	             NULL);
	/* Uzbek Cyrillic letters outside the basic block. */
	expect_word("Ў", "ў");
	expect_word("Қ", "қ");
	expect_word("Ғ", "ғ");
	expect_word("Ҳ", "ҳ");
	expect_word("ЎҚҒҲ", "ўқғҳ");
	expect_word("ўқғҳ", "ўқғҳ");
	expect_word("ЎЗБЕКИСТОН", "ўзбекистон");
	expect_word("ҚОВУРМА", "қовурма");
	expect_word("ҒИЖДУВОН", "ғиждувон");
	expect_word("ҲАЛВО", "ҳалво");
	/* Other Cyrillic capitals of U+0400..U+040F. */
	expect_word("ЄІЇЈЉЊЋЌЎЏ", "єіїјљњћќўџ");
}

static void
test_words_yo_as_ye(void **state)
{
	(void)state;
	expect_word("ёлка", "елка");
	expect_word("Ёлка", "елка");
	expect_word("ЁЛКА", "елка");
	expect_words("Ёж ёж еж", "еж", "еж", "еж", NULL);
}

static void
test_words_uzbek_apostrophes(void **state)
{
	(void)state;
	expect_word("Toʻy", "toy"); /* U+02BB */
	expect_word("toy", "toy");
	expect_word("To'y", "toy"); /* ASCII */
	expect_word("To`y", "toy"); /* backtick */
	expect_word("Toʼy", "toy"); /* U+02BC */
	expect_word("To‘y", "toy"); /* U+2018 */
	expect_word("To’y", "toy"); /* U+2019 */
	expect_word("Oʻzbekiston", "ozbekiston");
	expect_word("Gʻijduvon", "gijduvon");
	expect_word("SHO'RVA", "shorva");
	expect_word("o'g'il", "ogil");
	/* Dropped, never a break: even at the edges or doubled. */
	expect_word("'osh'", "osh");
	expect_word("o''sh", "osh");
	expect_words("a ' b", "a", "b", NULL);
	expect_words("ʻ ’ ‘", NULL);
	/* Other quotes still break words. */
	expect_words("o\"sh", "o", "sh", NULL);
	expect_words("o«sh»", "o", "sh", NULL);
	expect_words("o“sh”", "o", "sh", NULL);
}

static void
test_words_latin1_and_more(void **state)
{
	(void)state;
	expect_word("ÉCOLE", "école");
	expect_word("Straße", "straße");
	expect_words("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎ ÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ", "àáâãäåæçèéêëìíî", "ïðñòóôõöøùúûüýþ", NULL);
	expect_word("ÿ", "ÿ");
	/* Multiplication and division signs are not letters. */
	expect_words("2×3÷4", "2", "3", "4", NULL);
}

static void
test_words_break_characters(void **state)
{
	(void)state;
	/* Emoji, symbols and non-breaking space split words. */
	expect_words("osh🍲palov", "osh", "palov", NULL);
	expect_words("osh\xc2\xa0palov", "osh", "palov", NULL);
	expect_words("osh—palov", "osh", "palov", NULL);
	expect_words("osh·palov", "osh", "palov", NULL);
	expect_words("50%", "50", NULL);
}

static void
test_words_invalid_utf8(void **state)
{
	(void)state;
	/* Bad bytes break words and never crash or read past the end. */
	expect_words("ab\xff"
	             "cd",
	             "ab", "cd", NULL);
	expect_words("ab\xc3", "ab", NULL);
	expect_words("ab\xe2\x82", "ab", NULL);
	expect_words("ab\xf0\x9f\x8d", "ab", NULL);
	expect_words("\x80\x80x", "x", NULL);
	expect_words("\xc3", NULL);
}

static void
test_words_cut_to_prefix_max(void **state)
{
	char text[200], want[200];
	struct words ws = {{NULL}, 0};

	(void)state;
	/* 30 letters give SEARCH_PREFIX_MAX, and the word still ends once. */
	memset(text, 'A', 30);
	strcpy(text + 30, " b");
	memset(want, 'a', SEARCH_PREFIX_MAX);
	want[SEARCH_PREFIX_MAX] = '\0';
	expect_words(text, want, "b", NULL);

	/* Exactly SEARCH_PREFIX_MAX is kept whole. */
	memset(text, 'z', SEARCH_PREFIX_MAX);
	text[SEARCH_PREFIX_MAX] = '\0';
	memset(want, 'z', SEARCH_PREFIX_MAX);
	want[SEARCH_PREFIX_MAX] = '\0';
	expect_word(text, want);

	/* Counted in code points: 30 two-byte letters. */
	text[0] = '\0';
	for (int i = 0; i < 30; i++)
		strcat(text, "Ж");
	assert_int_equal(search_words(text, collect, &ws), 1);
	assert_int_equal(utf8_length(ws.w[0]), SEARCH_PREFIX_MAX);
	assert_int_equal(strlen(ws.w[0]), 2 * SEARCH_PREFIX_MAX);
	assert_true(strncmp(ws.w[0], "жжж", 6) == 0);
	words_free(&ws);

	/* Apostrophes do not count towards the cut. */
	text[0] = '\0';
	for (int i = 0; i < SEARCH_PREFIX_MAX; i++)
		strcat(text, "aʻ");
	assert_int_equal(search_words(text, collect, &ws), 1);
	assert_int_equal(strlen(ws.w[0]), SEARCH_PREFIX_MAX);
	words_free(&ws);
}

static void
test_words_count_not_capped(void **state)
{
	struct words ws = {{NULL}, 0};

	(void)state;
	/*
	 * search_words reports every word; keeping the first SEARCH_WORDS_MAX
	 * of a query is the caller's job (fcgi-apps/menu).
	 */
	assert_int_equal(search_words("a b c d e f g h i j", collect, &ws), 10);
	assert_true(ws.n > SEARCH_WORDS_MAX);
	assert_string_equal(ws.w[SEARCH_WORDS_MAX], "i");
	words_free(&ws);
}

/* ---------------------------------------------------------- prefixes */

/* The array's values in order; checks the keys are "0", "1", ... */
static size_t
array_values(const bson_t *arr, const char **out, size_t max)
{
	bson_iter_t it;
	size_t n = 0;
	char key[24];

	assert_true(bson_iter_init(&it, arr));
	while (bson_iter_next(&it)) {
		assert_true(n < max);
		snprintf(key, sizeof(key), "%zu", n);
		assert_string_equal(bson_iter_key(&it), key);
		assert_true(BSON_ITER_HOLDS_UTF8(&it));
		out[n++] = bson_iter_utf8(&it, NULL);
	}
	return n;
}

static void
expect_prefixes(const char *const *texts, size_t ntexts, const char *const *want, size_t nwant)
{
	bson_t arr;
	const char *got[512];
	size_t n;

	bson_init(&arr);
	search_prefixes(texts, ntexts, &arr);
	n = array_values(&arr, got, 512);
	for (size_t i = 0; i < n && i < nwant; i++)
		if (strcmp(got[i], want[i]) != 0)
			fail_msg("prefix %zu is \"%s\", expected \"%s\"", i, got[i], want[i]);
	assert_int_equal(n, nwant);
	bson_destroy(&arr);
}

static void
test_prefixes_basic(void **state)
{
	static const char *const t1[] = {"Osh"};
	static const char *const w1[] = {"o", "os", "osh"};
	static const char *const t2[] = {"Osh palov", "OSH", "somsa"};
	static const char *const w2[] = {"o",     "os", "osh", "p",   "pa",   "pal",  "palo",
	                                 "palov", "s",  "so",  "som", "soms", "somsa"};

	(void)state;
	expect_prefixes(t1, 1, w1, 3);
	expect_prefixes(t2, 3, w2, 13);
}

static void
test_prefixes_sorted_distinct(void **state)
{
	static const char *const t[] = {"zebra zen", "apple", "Ápple ZEN", "apricot 42"};
	bson_t arr;
	const char *got[512];
	size_t n;

	(void)state;
	bson_init(&arr);
	search_prefixes(t, 4, &arr);
	n = array_values(&arr, got, 512);
	assert_true(n > 0);
	for (size_t i = 1; i < n; i++)
		if (strcmp(got[i - 1], got[i]) >= 0)
			fail_msg("\"%s\" before \"%s\"", got[i - 1], got[i]);
	/* Both words with "z": z, ze, zeb, zebr, zebra, zen. */
	size_t z = 0;
	for (size_t i = 0; i < n; i++)
		if (got[i][0] == 'z')
			z++;
	assert_int_equal(z, 6);
	/* Digits are words too. */
	assert_string_equal(got[0], "4");
	assert_string_equal(got[1], "42");
	bson_destroy(&arr);
}

static void
test_prefixes_same_after_normalizing(void **state)
{
	static const char *const a[] = {"Toʻy"};
	static const char *const b[] = {"TOY", "to'y", "to’y"};
	static const char *const w[] = {"t", "to", "toy"};
	static const char *const c[] = {"Ёлка"};
	static const char *const wc[] = {"е", "ел", "елк", "елка"};

	(void)state;
	expect_prefixes(a, 1, w, 3);
	expect_prefixes(b, 3, w, 3);
	expect_prefixes(c, 1, wc, 4);
}

static void
test_prefixes_utf8_boundary(void **state)
{
	char text[256] = "";
	const char *texts[1] = {text};
	const char *got[64];
	bson_t arr;
	size_t n;

	(void)state;
	/* 30 letters of mixed width: prefixes are cut on code points. */
	for (int i = 0; i < 10; i++)
		strcat(text, "aЖў");
	bson_init(&arr);
	search_prefixes(texts, 1, &arr);
	n = array_values(&arr, got, 64);
	assert_int_equal(n, SEARCH_PREFIX_MAX);
	for (size_t i = 0; i < n; i++) {
		assert_true(utf8_valid(got[i], strlen(got[i])));
		/* One word: every prefix extends the one before. */
		assert_int_equal(utf8_length(got[i]), i + 1);
		if (i > 0)
			assert_true(strncmp(got[i], got[i - 1], strlen(got[i - 1])) == 0);
	}
	assert_string_equal(got[0], "a");
	assert_string_equal(got[1], "aж");
	assert_string_equal(got[2], "aжў");
	bson_destroy(&arr);
}

static void
test_prefixes_empty(void **state)
{
	static const char *const t[] = {NULL, "", "  !! ", NULL};
	static const char *const t2[] = {NULL, "ab", NULL};
	static const char *const w2[] = {"a", "ab"};
	bson_t arr;

	(void)state;
	bson_init(&arr);
	search_prefixes(t, 4, &arr);
	assert_int_equal(bson_count_keys(&arr), 0);
	search_prefixes(t, 0, &arr);
	assert_int_equal(bson_count_keys(&arr), 0);
	bson_destroy(&arr);
	expect_prefixes(t2, 3, w2, 2);
}

static void
test_prefixes_many_words(void **state)
{
	char text[4096] = "";
	const char *texts[1] = {text};
	bson_t arr;
	const char *got[2048];
	size_t n;

	(void)state;
	/* Enough prefixes to grow the internal list several times. */
	for (int i = 0; i < 200; i++) {
		char w[16];
		snprintf(w, sizeof(w), "w%03dx ", i);
		strcat(text, w);
	}
	bson_init(&arr);
	search_prefixes(texts, 1, &arr);
	n = array_values(&arr, got, 2048);
	/* "w" once; "w0".."w1": 2 + 20 two-digit; 200 3-digit; 200 with x. */
	assert_int_equal(n, 1 + 2 + 20 + 200 + 200);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(got[i - 1], got[i]) < 0);
	bson_destroy(&arr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_words_ascii),
	    cmocka_unit_test(test_words_cyrillic_case),
	    cmocka_unit_test(test_words_yo_as_ye),
	    cmocka_unit_test(test_words_uzbek_apostrophes),
	    cmocka_unit_test(test_words_latin1_and_more),
	    cmocka_unit_test(test_words_break_characters),
	    cmocka_unit_test(test_words_invalid_utf8),
	    cmocka_unit_test(test_words_cut_to_prefix_max),
	    cmocka_unit_test(test_words_count_not_capped),
	    cmocka_unit_test(test_prefixes_basic),
	    cmocka_unit_test(test_prefixes_sorted_distinct),
	    cmocka_unit_test(test_prefixes_same_after_normalizing),
	    cmocka_unit_test(test_prefixes_utf8_boundary),
	    cmocka_unit_test(test_prefixes_empty),
	    cmocka_unit_test(test_prefixes_many_words),
	};

	return cmocka_run_group_tests_name("search", tests, NULL, NULL);
}
