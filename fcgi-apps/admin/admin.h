/*
 * admin.h - what the admin program's files share: the bodies it accepts
 * (bodies.c) and the resource descriptor its one get/update/delete path
 * runs on (main.c).
 */
#ifndef ADMIN_H
#define ADMIN_H

#include "oshxona.h"
#include "valid.h"

#define ADMIN_BODY_MAX (16 * 1024)

/* ------------------------------------------------------------ bodies.c */

enum product_field {
	PF_NAME,
	PF_NAME_RU,
	PF_DESCRIPTION,
	PF_DESCRIPTION_RU,
	PF_PRICE,
	PF_CATEGORY,
	PF_ACTIVE,
	PF_AVAILABLE,
	PF_SORT,
	PF_IMAGE,
	PF_MXIK,
	PF_PACKAGE,
	PF_VAT,
	PF__MAX
};

/* The product texts that feed products.searchPrefixes (search.c). */
#define PRODUCT_SEARCH_TEXTS 4
extern const char *const product_search_texts[PRODUCT_SEARCH_TEXTS];

extern const struct valid_schema product_body;      /* POST, PATCH /products */
extern const struct valid_schema availability_body; /* PATCH /products/{id}/availability */
extern const struct valid_schema category_body;     /* POST, PATCH /categories */
extern const struct valid_schema branch_body;       /* POST, PATCH /branches */

/* --------------------------------------------------------------- main.c */

/*
 * One catalogue resource: where it lives, its body, who may do what, and
 * the few things that differ between products, categories and branches.
 * Each hook answers before returning -1.
 */
struct resource {
	const char *collection;            /* "products" */
	const char *kind;                  /* "product": messages, menu-updated */
	const struct valid_schema *body;   /* what POST and PATCH accept */
	enum authz_rule edit;              /* GET and PATCH */
	enum authz_rule manage;            /* POST and DELETE */
	int per_branch;                    /* GET/PATCH: staff of that branch only */
	int has_image;                     /* a picture to forget when replaced or deleted */
	/* Refusals that need the database or the caller, before any read. */
	int (*check)(struct req *r, mongoc_client_t *client, const struct who *who,
	             json_object *body);
	/* Hiding (DELETE, or PATCH isActive false) may be refused. */
	int (*may_hide)(struct req *r, mongoc_client_t *client, const bson_oid_t *id);
	/* Fields derived from the body: doc is the insert or the $set, old NULL on create. */
	void (*derive)(bson_t *doc, const bson_t *old, json_object *body);
	/* After an acknowledged PATCH, *fresh the document now (may be replaced). */
	void (*after_update)(mongoc_client_t *client, const bson_oid_t *id, json_object *body,
	                     bson_t **fresh);
};

#endif /* ADMIN_H */
