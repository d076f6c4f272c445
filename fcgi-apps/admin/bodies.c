/*
 * bodies.c - every JSON body the admin program accepts, as declared
 * tables (lib/valid.h). An unknown field, a wrong type or a missing
 * required field is 400, a value out of range 422, each naming the field.
 */
#include <string.h>

#include "admin.h"

#define PRICE_MAX        100000000 /* so'm */
#define SORT_ORDER_MAX   10000
#define DELIVERY_FEE_MAX 10000000
#define MIN_ORDER_MAX    100000000
#define IMAGE_URL_MAX    500
#define IMAGE_ID_MAX     200
/* Telegram chat ids: groups are -100 and 10 digits today; 10^15 leaves room. */
#define CHAT_ID_MAX 1000000000000000LL

/* -------------------------------------------------------------- image */

/*
 * What POST /api/admin/uploads answers: an http(s) URL at the image host
 * (Cloudinary), or "/media/<publicId>" for an image stored on this host,
 * whose publicId is then one of our names (image_name_valid).
 */
static int
image_rule(json_object *v, const char *path, struct valid_error *e)
{
	const char *url = valid_get_str(v, "url"), *pid = valid_get_str(v, "publicId");
	size_t ulen = strlen(url);

	if (ulen <= IMAGE_URL_MAX && strchr(url, ' ') == NULL &&
	    ((ulen > 8 && strncmp(url, "https://", 8) == 0) ||
	     (ulen > 7 && strncmp(url, "http://", 7) == 0) ||
	     (strncmp(url, "/media/", 7) == 0 && strcmp(url + 7, pid) == 0 &&
	      image_name_valid(pid))))
		return 0;
	return valid_fail(e, 422, path,
	                  "%s.url must be an http(s) URL of at most %d bytes, or "
	                  "/media/<publicId> for an image stored here",
	                  path, IMAGE_URL_MAX);
}

static const struct valid_field image_fields[] = {
    VALID_FIELD("url", VK_STRING, VALID_REQUIRED, .min = 1, .max = IMAGE_URL_MAX),
    VALID_FIELD("publicId", VK_STRING, VALID_REQUIRED, .min = 1, .max = IMAGE_ID_MAX),
};
/* {"url", "publicId"} as an upload answered it. */
static const struct valid_schema image_body = VALID_SCHEMA_RULE(image_fields, image_rule);

/* ----------------------------------------------------------- products */

const char *const product_search_texts[PRODUCT_SEARCH_TEXTS] = {"name", "nameRu", "description",
                                                                "descriptionRu"};

static const struct valid_field product_fields[PF__MAX] = {
    [PF_NAME] = VALID_FIELD("name", VK_STRING, VALID_REQUIRED, .min = 2, .max = 100),
    [PF_NAME_RU] = VALID_FIELD("nameRu", VK_STRING, 0, .min = 2, .max = 100),
    [PF_DESCRIPTION] = VALID_FIELD("description", VK_TEXT, 0, .max = 500, .dflt = "\"\""),
    [PF_DESCRIPTION_RU] = VALID_FIELD("descriptionRu", VK_TEXT, 0, .max = 500, .dflt = "\"\""),
    [PF_PRICE] = VALID_FIELD("price", VK_INT, VALID_REQUIRED, .max = PRICE_MAX),
    [PF_CATEGORY] = VALID_FIELD("categoryId", VK_ID, VALID_REQUIRED),
    [PF_ACTIVE] = VALID_FIELD("isActive", VK_BOOL, 0, .dflt = "true"),
    [PF_AVAILABLE] = VALID_FIELD("isAvailable", VK_BOOL, 0, .dflt = "true"),
    [PF_SORT] = VALID_FIELD("sortOrder", VK_INT, 0, .max = SORT_ORDER_MAX, .dflt = "0"),
    [PF_IMAGE] =
        VALID_FIELD("image", VK_OBJECT, VALID_NULLABLE, .schema = &image_body, .dflt = "null"),
    /*
     * Payme's fiscal receipt (lib/payments.c reads them): the MXIK (IKPU)
     * class code has 17 digits; null clears a code (no itemised receipt).
     * vatPercent is not nullable: absent and 0 both mean "not a VAT payer",
     * while a stored null would read as invalid.
     */
    [PF_MXIK] = VALID_FIELD("mxikCode", VK_DIGITS, VALID_NULLABLE, .min = 17, .max = 17),
    [PF_PACKAGE] = VALID_FIELD("packageCode", VK_DIGITS, VALID_NULLABLE, .min = 1, .max = 20),
    [PF_VAT] = VALID_FIELD("vatPercent", VK_INT, 0, .max = 100),
};
const struct valid_schema product_body = VALID_SCHEMA(product_fields);

static const struct valid_field availability_fields[] = {
    VALID_FIELD("isAvailable", VK_BOOL, VALID_REQUIRED),
};
/* The stop-list: exactly {"isAvailable": bool}. */
const struct valid_schema availability_body = VALID_SCHEMA(availability_fields);

/* --------------------------------------------------------- categories */

static const struct valid_field category_fields[] = {
    VALID_FIELD("name", VK_STRING, VALID_REQUIRED, .min = 2, .max = 50),
    VALID_FIELD("nameRu", VK_STRING, 0, .min = 2, .max = 50),
    VALID_FIELD("sortOrder", VK_INT, 0, .max = SORT_ORDER_MAX, .dflt = "0"),
    VALID_FIELD("isActive", VK_BOOL, 0, .dflt = "true"),
    VALID_FIELD("image", VK_OBJECT, VALID_NULLABLE, .schema = &image_body, .dflt = "null"),
};
const struct valid_schema category_body = VALID_SCHEMA(category_fields);

/* ----------------------------------------------------------- branches */

/*
 * A day's hours: a close earlier than the open is past midnight (the
 * shift belongs to the day it opened: tashkent_is_open); "24:00" closes
 * at midnight; open == close would be ambiguous and is refused.
 */
static int
shift_rule(json_object *v, const char *path, struct valid_error *e)
{
	if (valid_get_minutes(v, "open") != valid_get_minutes(v, "close"))
		return 0;
	return valid_fail(e, 422, path,
	                  "%s: open and close are equal; use 00:00-24:00 for all day, null "
	                  "for closed",
	                  path);
}

static const struct valid_field shift_fields[] = {
    VALID_FIELD("open", VK_HHMM, VALID_REQUIRED),
    VALID_FIELD("close", VK_HHMM, VALID_REQUIRED | VALID_24H),
};
static const struct valid_schema shift_body = VALID_SCHEMA_RULE(shift_fields, shift_rule);

/* All seven days (the keys tashkent_is_open reads), each a shift or null (closed). */
#define DAY(name_)                                                                                 \
	VALID_FIELD(name_, VK_OBJECT, VALID_REQUIRED | VALID_NULLABLE, .schema = &shift_body)
static const struct valid_field week_fields[] = {
    DAY("mon"), DAY("tue"), DAY("wed"), DAY("thu"), DAY("fri"), DAY("sat"), DAY("sun"),
};
#undef DAY
static const struct valid_schema week_body = VALID_SCHEMA(week_fields);

static const char *const staff_languages[] = {"uz", "ru", NULL};

/* Telegram never gives a chat the id 0; the bot reads 0 as "no chat". */
static int
chat_id_rule(json_object *v, const char *path, struct valid_error *e)
{
	if (json_object_get_int64(v) != 0)
		return 0;
	return valid_fail(e, 422, path, "%s must be a Telegram chat id (null unlinks the chat)",
	                  path);
}

static const struct valid_field branch_fields[] = {
    VALID_FIELD("name", VK_STRING, VALID_REQUIRED, .min = 2, .max = 100),
    VALID_FIELD("nameRu", VK_STRING, 0, .min = 2, .max = 100),
    VALID_FIELD("address", VK_STRING, VALID_REQUIRED, .min = 5, .max = 300),
    VALID_FIELD("addressRu", VK_STRING, 0, .min = 5, .max = 300),
    VALID_FIELD("phone", VK_PHONE, VALID_REQUIRED),
    VALID_FIELD("location", VK_LOCATION, VALID_NULLABLE, .dflt = "null"),
    VALID_FIELD("workingHours", VK_OBJECT, VALID_REQUIRED, .schema = &week_body),
    VALID_FIELD("deliveryFee", VK_INT, 0, .max = DELIVERY_FEE_MAX, .dflt = "0"),
    VALID_FIELD("minOrder", VK_INT, 0, .max = MIN_ORDER_MAX, .dflt = "0"),
    VALID_FIELD("isOpen", VK_BOOL, 0, .dflt = "true"),
    VALID_FIELD("isActive", VK_BOOL, 0, .dflt = "true"),
    /* The staff group the bot posts new orders to (lib/botstaff.c reads both). */
    VALID_FIELD("staffChatId", VK_INT, VALID_NULLABLE, .min = -CHAT_ID_MAX, .max = CHAT_ID_MAX,
                .rule = chat_id_rule),
    VALID_FIELD("staffLanguage", VK_ENUM, 0, .values = staff_languages, .dflt = "\"uz\""),
};
const struct valid_schema branch_body = VALID_SCHEMA(branch_fields);
