/*
 * fuzz_valid.c - libFuzzer target for the declared body checker
 * (lib/valid.c) over the real tables of admin, orders, the bot and Payme:
 * the first byte picks the table and the mode, the rest is the body,
 * parsed by json_parse as req_json does. A refusal is 400 or 422 with a message; an
 * accepted body converts to BSON, and once normalized is accepted again
 * unchanged (checking is idempotent).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fcgi-apps/admin/bodies.c"
#include "bot.h"
#include "order.h"
#include "payments.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct valid_schema *const schemas[] = {
    &product_body,
    &category_body,
    &branch_body,
    &availability_body,
    /* lib/order.c's: POST /api/orders and PUT /api/orders/{id}/status. */
    &order_body_schema,
    &order_status_schema,
    /* Providers' shapes, open: Telegram's Update (lib/tgupdate.c; cut names,
       byte limits, VK_REAL) and Payme's envelope (lib/payme.c; VK_RPCID). */
    &tg_update_schema,
    &payme_envelope_schema,
};

/* Every accessor on every field of s, to run them over accepted bodies. */
static void
read_all(const struct valid_schema *s, json_object *body)
{
	for (size_t i = 0; i < s->nfields; i++) {
		const struct valid_field *f = &s->fields[i];
		double lat, lng;
		bson_oid_t oid;
		size_t n;

		(void)valid_has(body, f->name);
		(void)valid_get_str(body, f->name);
		(void)valid_get_int(body, f->name, 0);
		(void)valid_get_real(body, f->name, 0);
		(void)valid_get_bool(body, f->name, 0);
		(void)valid_get_id(body, f->name, &oid);
		(void)valid_get_minutes(body, f->name);
		(void)valid_get_location(body, f->name, &lat, &lng);
		(void)valid_get_array(body, f->name, &n);
		if (f->kind == VK_ENUM)
			(void)valid_get_enum(body, f);
		if (f->kind == VK_OBJECT && f->schema != NULL &&
		    valid_get_object(body, f->name) != NULL)
			read_all(f->schema, valid_get_object(body, f->name));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct valid_schema *s;
	enum valid_mode mode;
	struct valid_error e;
	json_object *body = NULL;
	bson_t doc = BSON_INITIALIZER;
	const char *once;
	char *copy;
	int named;

	if (size < 1)
		return 0;
	s = schemas[data[0] % (sizeof(schemas) / sizeof(schemas[0]))];
	mode = (data[0] & 0x80) ? VALID_CREATE : VALID_PATCH;
	named = valid_json(s, (const char *)data + 1, size - 1, mode, &body, &e);
	if (named < 0) {
		if (body != NULL || (e.status != 400 && e.status != 422) || e.message[0] == '\0' ||
		    strlen(e.message) >= sizeof(e.message) || strlen(e.field) >= sizeof(e.field))
			abort();
		return 0;
	}
	if (body == NULL || (size_t)named > s->nfields)
		abort();
	read_all(s, body);
	valid_to_bson(s, body, &doc);
	if (!bson_validate(&doc, BSON_VALIDATE_NONE, NULL))
		abort();
	/* The normalized body is accepted again, and stays the same. */
	once = json_object_to_json_string_ext(body, JSON_OUT_FLAGS);
	copy = strdup(once);
	if (copy == NULL || valid_body(s, body, VALID_PATCH, &e) < 0 ||
	    strcmp(copy, json_object_to_json_string_ext(body, JSON_OUT_FLAGS)) != 0)
		abort();
	free(copy);
	bson_destroy(&doc);
	json_object_put(body);
	return 0;
}
