/*
 * authz.c - "who is asking, and may they?" for every endpoint. Staff carry
 * a JWT (Authorization: Bearer, or the admin panel's HttpOnly cookie);
 * customers carry a session cookie. The staff record is re-read on every
 * request, so disabling an account, changing its branches or logging out
 * takes effect at once rather than when the token expires.
 */
#include <string.h>

#include "oshxona.h"

/*
 * The staff token from "Authorization: Bearer ..." or the cookie: 0 with
 * the token in out, -1 when there is none, -2 when a Bearer token is there
 * but too long (refused: never a fall-back to whatever cookie came along).
 */
static int
authz_staff_token(struct req *r, char *out, size_t outlen)
{
	const char *auth = req_header(r, "Authorization");
	const char *cookies;

	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0) {
		if (strlen(auth + 7) + 1 > outlen)
			return -2;
		memcpy(out, auth + 7, strlen(auth + 7) + 1);
		return 0;
	}
	cookies = req_header(r, "Cookie");
	if (cookies != NULL && cookie_get(cookies, STAFF_COOKIE, out, outlen) == 0)
		return 0;
	return -1;
}

/*
 * Loads the staff member a verified token names. Returns 1 when the
 * account exists, is active, and the token was issued after its last
 * logout; 0 when not; -1 on a database error.
 */
static int
authz_load_staff(mongoc_client_t *client, const struct jwt_claims *claims, struct who *who,
                 bson_error_t *error)
{
	mongoc_collection_t *coll = db_collection(client, "staff");
	bson_oid_t oid;
	bson_t *filter;
	mongoc_cursor_t *cursor;
	const bson_t *doc;
	bson_iter_t it, arr;
	int rc = 0;

	if (parse_oid(claims->sub, &oid) != 0) {
		mongoc_collection_destroy(coll);
		return 0;
	}
	filter = BCON_NEW("_id", BCON_OID(&oid), "isActive", BCON_BOOL(true));
	cursor = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
	if (!mongoc_cursor_next(cursor, &doc)) {
		rc = mongoc_cursor_error(cursor, error) ? -1 : 0;
		goto done;
	}
	if (bson_iter_init_find(&it, doc, "tokensValidAfter") && BSON_ITER_HOLDS_DATE_TIME(&it) &&
	    claims->iat * 1000 < bson_iter_date_time(&it))
		goto done;
	memset(who, 0, sizeof(*who));
	who->kind = WHO_STAFF;
	bson_oid_copy(&oid, &who->id);
	if (bson_iter_init_find(&it, doc, "role") && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(who->role, sizeof(who->role), "%s", bson_iter_utf8(&it, NULL));
	if (bson_iter_init_find(&it, doc, "branches") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr) && who->nbranches < JWT_MAX_BRANCHES) {
			if (BSON_ITER_HOLDS_OID(&arr))
				bson_oid_copy(bson_iter_oid(&arr),
				              &who->branches[who->nbranches++]);
		}
	}
	rc = 1;
done:
	mongoc_cursor_destroy(cursor);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	return rc;
}

int
authz_identify(struct req *r, mongoc_client_t *client, struct who *who, bson_error_t *error)
{
	char token[JWT_MAX_LEN + 1];
	struct jwt_claims claims;
	int rc;

	memset(who, 0, sizeof(*who));
	rc = authz_staff_token(r, token, sizeof(token));
	if (rc == -2)
		return 0;
	if (rc == 0) {
		/* A token that fails is an error, not a fall-back to nobody. */
		if (jwt_verify(token, app_config.jwt_secret, db_now_ms() / 1000, &claims) != 0)
			return 0;
		rc = authz_load_staff(client, &claims, who, error);
		return rc < 0 ? -1 : 1;
	}
	rc = session_find(r, client, &who->id, error);
	if (rc == 1)
		who->kind = WHO_CUSTOMER;
	return rc;
}

int
authz_branch(const struct who *who, const bson_oid_t *branch)
{
	if (who->kind != WHO_STAFF)
		return 0;
	if (strcmp(who->role, "owner") == 0)
		return 1;
	for (size_t i = 0; i < who->nbranches; i++) {
		if (bson_oid_equal(&who->branches[i], branch))
			return 1;
	}
	return 0;
}

int
authz(struct req *r, mongoc_client_t *client, enum authz_rule rule, const bson_oid_t *branch,
      struct who *who)
{
	bson_error_t error;

	memset(who, 0, sizeof(*who));
	if (rule == AUTHZ_PUBLIC)
		return 0;
	if (authz_identify(r, client, who, &error) < 0) {
		/* 503 when unreachable (and db_pop learns of the outage), else 500. */
		db_answer_error(r, &error);
		return -1;
	}
	if (who->kind == WHO_NOBODY) {
		resp_error(r, 401, "Authentication required");
		return -1;
	}
	switch (rule) {
	case AUTHZ_PUBLIC:
		return 0;
	case AUTHZ_ANY:
		return 0;
	case AUTHZ_CUSTOMER:
		if (who->kind == WHO_CUSTOMER)
			return 0;
		break;
	case AUTHZ_STAFF:
		if (who->kind == WHO_STAFF)
			return 0;
		break;
	case AUTHZ_BRANCH_STAFF:
		if (branch != NULL && authz_branch(who, branch))
			return 0;
		break;
	case AUTHZ_OWNER:
		if (who->kind == WHO_STAFF && strcmp(who->role, "owner") == 0)
			return 0;
		break;
	}
	resp_error(r, 403, "Not allowed");
	return -1;
}
