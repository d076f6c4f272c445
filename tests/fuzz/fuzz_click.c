/*
 * fuzz_click.c - libFuzzer target for Click's form parser (click_parse)
 * as prepare and as complete, then the signature check, the answer and
 * the amount parser over whatever the form held.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"
#include "payments.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct click_form *f = xmalloc(sizeof(*f));
	char err[160];
	int64_t tiyin;

	for (int complete = 0; complete <= 1; complete++) {
		if (click_parse((const char *)data, size, complete, f, err, sizeof(err)) != 0)
			continue;
		for (int i = 0; i < CLICK_FIELD__MAX; i++)
			if (f->v[i] != NULL && strlen(f->v[i]) > CLICK_FIELD_MAX)
				abort();
		if (f->trans_id <= 0 || (complete && f->prepare_id <= 0))
			abort();
		(void)click_sign_ok(f, "fuzz-secret", complete);
		json_object *o = click_answer(f, complete, 1, CLICK_OK, "Success");
		(void)json_object_to_json_string_ext(o, JSON_OUT_FLAGS);
		json_object_put(o);
		if (payments_parse_amount(f->v[CLICK_AMOUNT], &tiyin) == 0 && tiyin < 0)
			abort();
	}
	free(f);
	return 0;
}
