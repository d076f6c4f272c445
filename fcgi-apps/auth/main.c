/*
 * auth - sign-in for staff (login + password -> JWT and an HttpOnly
 * cookie) and for customers (Telegram Mini App initData or Login Widget ->
 * a session cookie); who am I; log out.
 */
#include <ctype.h>
#include <string.h>

#include "oshxona.h"
#include "users.h"
#include "valid.h"

#define AUTH_BODY_MAX      (8 * 1024)
#define LOGIN_MAX_LEN      64
#define LOGIN_LIMIT        5   /* failed logins ... */
#define LOGIN_WINDOW_S     900 /* ... per 15 minutes (the seed's auth limit) */
#define TELEGRAM_MAX_AGE_S 86400
#define TELEGRAM_INIT_MAX  4096
#define LOGIN_FAILED       "Invalid login or password"
#define LOGIN_KNOWN_S      (30 * 86400) /* a place stays known this long after a login */

/* The public view of a staff document. */
static json_object *
auth_staff_json(const bson_t *doc)
{
	static const char *const keep[] = {"_id", "login", "name", "role", "branches"};

	return json_from_bson_pick(doc, keep, sizeof(keep) / sizeof(keep[0]), "id");
}

/* The public view of a customer (users) document. */
static json_object *
auth_user_json(const bson_t *doc)
{
	static const char *const keep[] = {"_id",      "telegramId", "firstName", "lastName",
	                                   "username", "photoUrl",   "language",  "phone"};

	return json_from_bson_pick(doc, keep, sizeof(keep) / sizeof(keep[0]), "id");
}

/* Logins compare case-insensitively: stored and looked up in lower case. */
static int
auth_login_name(const char *in, char out[LOGIN_MAX_LEN + 1])
{
	size_t n = strlen(in);

	if (n == 0 || n > LOGIN_MAX_LEN)
		return -1;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	return 0;
}

/* Sets the admin panel's token cookie (max_age 0 clears it). */
static void
auth_staff_cookie(struct req *r, const char *token, int64_t max_age)
{
	char cookie[JWT_MAX_LEN + 128];

	/* Strict: the admin panel never needs the token on a cross-site request. */
	if (cookie_format(cookie, sizeof(cookie), STAFF_COOKIE, token, "/", max_age, "Strict",
	                  app_config.production) < 0) {
		log_error("staff cookie does not fit");
		return;
	}
	resp_header(r, "Set-Cookie", cookie);
}

/* Issues the JWT for a verified staff document and answers 200. */
static void
auth_login_ok(struct req *r, const bson_t *staff)
{
	struct jwt_claims c;
	char token[JWT_MAX_LEN + 1];
	bson_iter_t it, arr;
	int64_t now = db_now_ms() / 1000;
	json_object *o;

	memset(&c, 0, sizeof(c));
	if (bson_iter_init_find(&it, staff, "_id") && BSON_ITER_HOLDS_OID(&it))
		bson_oid_to_string(bson_iter_oid(&it), c.sub);
	if (bson_iter_init_find(&it, staff, "role") && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(c.role, sizeof(c.role), "%s", bson_iter_utf8(&it, NULL));
	if (bson_iter_init_find(&it, staff, "branches") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr) && c.nbranches < JWT_MAX_BRANCHES) {
			if (BSON_ITER_HOLDS_OID(&arr))
				bson_oid_to_string(bson_iter_oid(&arr), c.branches[c.nbranches++]);
		}
	}
	/*
	 * A logout stamps tokensValidAfter (ms); a token issued in that same
	 * second must still outlive it, so iat never precedes the stamp.
	 */
	c.iat = now;
	if (bson_iter_init_find(&it, staff, "tokensValidAfter") && BSON_ITER_HOLDS_DATE_TIME(&it)) {
		int64_t after = (bson_iter_date_time(&it) + 999) / 1000;
		if (after > c.iat)
			c.iat = after;
	}
	c.exp = now + STAFF_TOKEN_TTL_S;
	if (jwt_sign(&c, app_config.jwt_secret, token, sizeof(token)) < 0) {
		resp_error(r, 500, "Cannot issue a token");
		return;
	}
	auth_staff_cookie(r, token, STAFF_TOKEN_TTL_S);
	resp_header(r, "Cache-Control", "no-store");
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "expiresIn", json_object_new_int64(STAFF_TOKEN_TTL_S));
	json_object_object_add(o, "staff", auth_staff_json(staff));
	resp_json(r, 200, o);
	json_object_put(o);
}

/*
 * Known places: an address an account signed in from within the last 30
 * days ({_id: "<login>|<address>"} in login_known). The account's failure
 * limit does not apply there, so failures sent from elsewhere cannot lock
 * the staff member out of the place they work from (issue 12).
 * Returns 1 known, 0 not, -1 on a database error.
 */
static int
auth_place_known(mongoc_client_t *client, const char *key, bson_error_t *error)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(key), "expiresAt", "{", "$gt",
	                          BCON_DATE_TIME(db_now_ms()), "}");
	bson_t *doc = NULL;
	int rc = db_find_one(client, "login_known", filter, NULL, &doc, error);

	if (doc != NULL)
		bson_destroy(doc);
	bson_destroy(filter);
	return rc;
}

/* Remembers (or refreshes) a place after a successful login; best effort. */
static void
auth_place_remember(mongoc_client_t *client, const char *key)
{
	mongoc_collection_t *coll = db_collection(client, "login_known");
	int64_t now = db_now_ms();
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
	bson_t *update = BCON_NEW("$set", "{", "at", BCON_DATE_TIME(now), "expiresAt",
	                          BCON_DATE_TIME(now + (int64_t)LOGIN_KNOWN_S * 1000), "}");
	bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
	bson_error_t error;

	/* Two racing logins may both upsert: one gets E11000, the other wrote it. */
	if (!mongoc_collection_update_one(coll, filter, update, opts, NULL, &error) &&
	    !db_error_is_duplicate(&error))
		log_warn("known place not recorded: %s", error.message);
	bson_destroy(opts);
	bson_destroy(update);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
}

/* password: at most PASSWORD_MAX_LEN bytes (what password.c hashes), 422. */
static int
auth_password_rule(json_object *v, const char *path, struct valid_error *e)
{
	if (json_object_get_string_len(v) > PASSWORD_MAX_LEN)
		return valid_fail(e, 422, path, "%s must be at most %d bytes", path,
		                  PASSWORD_MAX_LEN);
	return 0;
}

/* The body of POST /api/auth/login. */
enum { LF_LOGIN, LF_PASSWORD, LF__MAX };
static const struct valid_field auth_login_fields[LF__MAX] = {
    [LF_LOGIN] = VALID_FIELD("login", VK_STRING, VALID_REQUIRED, .min = 1, .max = LOGIN_MAX_LEN),
    /* Verbatim: a password is compared as it was set, spaces and all. */
    [LF_PASSWORD] = VALID_FIELD("password", VK_STRING, VALID_REQUIRED | VALID_VERBATIM, .min = 1,
                                .max = PASSWORD_MAX_LEN, .rule = auth_password_rule),
};
static const struct valid_schema auth_login_schema = VALID_SCHEMA(auth_login_fields);

/*
 * POST /api/auth/login, body auth_login_schema (above). Unknown login, wrong password
 * and disabled account all give the same 401 after the same Argon2 work.
 * 429 after five failures within 15 minutes from the address (any
 * account), or on the account from anywhere, except from a place the
 * account signed in from before (auth_place_known).
 */
static void
auth_login(struct req *r)
{
	json_object *body = req_json(r, AUTH_BODY_MAX);
	const char *login, *password, *ip = FCGX_GetParam("REMOTE_ADDR", r->fcgx->envp);
	char name[LOGIN_MAX_LEN + 1], key_ip[96], key_acc[96], key_place[160];
	mongoc_client_t *client = NULL;
	bson_t *filter = NULL, *staff = NULL;
	bson_error_t error;
	bson_iter_t it;
	int64_t retry_ip = 0, retry_acc = 0;
	int limited_ip, limited_acc, known = 0, found, ok = 0;
	struct valid_error e;

	if (body == NULL)
		return;
	if (valid_body(&auth_login_schema, body, VALID_CREATE, &e) < 0) {
		valid_answer(r, &e);
		goto done;
	}
	login = valid_get_str(body, "login");
	password = valid_get_str(body, "password");
	/* LOGIN_MAX_LEN counts bytes here (the stored, lower-case name). */
	if (auth_login_name(login, name) != 0) {
		resp_error(r, 422, "login must be 1..%d characters", LOGIN_MAX_LEN);
		goto done;
	}
	snprintf(key_ip, sizeof(key_ip), "login-ip:%s", ip != NULL ? ip : "-");
	snprintf(key_acc, sizeof(key_acc), "login-account:%s", name);
	snprintf(key_place, sizeof(key_place), "%s|%s", name, ip != NULL ? ip : "-");
	client = db_pop();
	limited_ip = attempts_check(client, key_ip, LOGIN_LIMIT, LOGIN_WINDOW_S, &retry_ip, &error);
	limited_acc = limited_ip < 0 ? -1
	                             : attempts_check(client, key_acc, LOGIN_LIMIT, LOGIN_WINDOW_S,
	                                              &retry_acc, &error);
	if (limited_acc == 1)
		known = auth_place_known(client, key_place, &error);
	if (limited_ip < 0 || limited_acc < 0 || known < 0) {
		db_answer_error(r, &error);
		goto done;
	}
	if (known)
		limited_acc = 0;
	if (limited_ip || limited_acc) {
		resp_rate_limited(r, retry_ip > retry_acc ? retry_ip : retry_acc,
		                  "Too many login attempts, try again later");
		goto done;
	}
	filter = BCON_NEW("login", BCON_UTF8(name));
	found = db_find_one(client, "staff", filter, NULL, &staff, &error);
	if (found < 0) {
		db_answer_error(r, &error);
		goto done;
	}
	if (found && bson_iter_init_find(&it, staff, "passwordHash") && BSON_ITER_HOLDS_UTF8(&it)) {
		/* Verify even for a disabled account: equal work, equal answer. */
		ok = password_verify(bson_iter_utf8(&it, NULL), password) == 0;
		if (!bson_iter_init_find(&it, staff, "isActive") || !BSON_ITER_HOLDS_BOOL(&it) ||
		    !bson_iter_bool(&it))
			ok = 0;
	} else {
		password_verify_dummy(password);
	}
	if (!ok) {
		if (attempts_add(client, key_ip, LOGIN_WINDOW_S, &error) != 0 ||
		    attempts_add(client, key_acc, LOGIN_WINDOW_S, &error) != 0)
			log_warn("login attempt not recorded: %s", error.message);
		log_info("failed login for '%s' from %s", name, ip != NULL ? ip : "-");
		resp_error(r, 401, LOGIN_FAILED);
		goto done;
	}
	/* The account's failures end with a success; the address's do not. */
	if (attempts_clear(client, key_acc, &error) != 0)
		log_warn("clearing login attempts: %s", error.message);
	auth_place_remember(client, key_place);
	log_info("staff '%s' logged in from %s", name, ip != NULL ? ip : "-");
	auth_login_ok(r, staff);
done:
	if (staff != NULL)
		bson_destroy(staff);
	if (filter != NULL)
		bson_destroy(filter);
	db_push(client);
	json_object_put(body);
}

/*
 * POST /api/auth/logout: ends the customer session and, for staff,
 * invalidates every token issued so far (tokensValidAfter), then clears
 * both cookies. Always 200: logging out twice is not an error.
 */
static void
auth_logout(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_error_t error;
	json_object *o;

	if (authz_identify(r, client, &who, &error) < 0) {
		db_answer_error(r, &error);
		db_push(client);
		return;
	}
	if (who.kind == WHO_STAFF) {
		mongoc_collection_t *coll = db_collection(client, "staff");
		bson_t *filter = BCON_NEW("_id", BCON_OID(&who.id));
		bson_t *update =
		    BCON_NEW("$set", "{", "tokensValidAfter", BCON_DATE_TIME(db_now_ms()), "}");
		bool done = mongoc_collection_update_one(coll, filter, update, NULL, NULL, &error);
		bson_destroy(update);
		bson_destroy(filter);
		mongoc_collection_destroy(coll);
		if (!done) {
			db_answer_error(r, &error);
			db_push(client);
			return;
		}
	}
	if (session_end(r, client, &error) != 0) {
		db_answer_error(r, &error);
		db_push(client);
		return;
	}
	db_push(client);
	auth_staff_cookie(r, "", 0);
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(1));
	resp_json(r, 200, o);
	json_object_put(o);
}

/* GET /api/auth/me: the signed-in staff member or customer. */
static void
auth_me(struct req *r)
{
	mongoc_client_t *client = db_pop();
	struct who who;
	bson_t *filter = NULL, *doc = NULL;
	bson_error_t error;
	json_object *o;
	int found;

	if (authz(r, client, AUTHZ_ANY, NULL, &who) != 0)
		goto done;
	filter = BCON_NEW("_id", BCON_OID(&who.id));
	found = db_find_one(client, who.kind == WHO_STAFF ? "staff" : "users", filter, NULL, &doc,
	                    &error);
	if (found < 0) {
		db_answer_error(r, &error);
		goto done;
	}
	if (found == 0) {
		resp_error(r, 401, "Authentication required");
		goto done;
	}
	resp_header(r, "Cache-Control", "no-store");
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(
	    o, "kind", json_object_new_string(who.kind == WHO_STAFF ? "staff" : "customer"));
	json_object_object_add(o, who.kind == WHO_STAFF ? "staff" : "user",
	                       who.kind == WHO_STAFF ? auth_staff_json(doc) : auth_user_json(doc));
	resp_json(r, 200, o);
	json_object_put(o);
done:
	if (doc != NULL)
		bson_destroy(doc);
	if (filter != NULL)
		bson_destroy(filter);
	db_push(client);
}

/*
 * Claims a Telegram hash once: the same signed data presented again is a
 * replay. Returns 1 claimed, 0 already used, -1 error.
 */
static int
auth_claim_hash(mongoc_client_t *client, const char *kind, const char *hash, bson_error_t *error)
{
	char id[80];
	mongoc_collection_t *coll = db_collection(client, "telegram_auth_claims");
	int64_t now = db_now_ms();
	bson_t *doc;
	bool ok;

	snprintf(id, sizeof(id), "%s:%s", kind, hash);
	/* Kept as long as the data could pass the auth_date check. */
	doc = BCON_NEW("_id", BCON_UTF8(id), "at", BCON_DATE_TIME(now), "expiresAt",
	               BCON_DATE_TIME(now + (TELEGRAM_MAX_AGE_S + 120) * 1000));
	ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, error);
	bson_destroy(doc);
	mongoc_collection_destroy(coll);
	if (ok)
		return 1;
	return db_error_is_duplicate(error) ? 0 : -1;
}

/* Bot language: Russian for Russian speakers, Uzbek for everyone else. */
static const char *
auth_language(const char *code)
{
	return strncmp(code, "ru", 2) == 0 ? "ru" : "uz";
}

/* initData over TELEGRAM_INIT_MAX bytes: 413, as before the table. */
static int
auth_init_rule(json_object *v, const char *path, struct valid_error *e)
{
	if (json_object_get_string_len(v) > TELEGRAM_INIT_MAX)
		return valid_fail(e, 413, path, "%s too long", path);
	return 0;
}

/* Exactly one of initData (the Mini App) and widget (the Login Widget). */
static int
auth_telegram_rule(json_object *body, const char *path, struct valid_error *e)
{
	(void)path;
	if (valid_has(body, "initData") == valid_has(body, "widget"))
		return valid_fail(e, 400, "",
		                  "Body must be {\"initData\": string} or {\"widget\": object}");
	return 0;
}

/* The body of POST /api/auth/telegram. */
enum { TF_INIT, TF_WIDGET, TF__MAX };
static const struct valid_field auth_telegram_fields[TF__MAX] = {
    [TF_INIT] = VALID_FIELD("initData", VK_STRING, VALID_VERBATIM, .min = 1, .max = AUTH_BODY_MAX,
                            .rule = auth_init_rule),
    /*
     * The Login Widget's payload (core.telegram.org/widgets/login): an
     * opaque object (no schema) - its members are signed as sent, numbers
     * from the widget's callback, strings from its redirect (the shop's
     * /login), and telegram_widget_verify judges them all (401).
     */
    [TF_WIDGET] = VALID_FIELD("widget", VK_OBJECT, 0),
};
static const struct valid_schema auth_telegram_schema =
    VALID_SCHEMA_RULE(auth_telegram_fields, auth_telegram_rule);

/*
 * POST /api/auth/telegram, body auth_telegram_schema (above): initData
 * (Mini App) or widget (Login Widget), verified, claimed once, then the
 * customer is created or updated and a session starts.
 */
static void
auth_telegram(struct req *r)
{
	json_object *body = req_json(r, AUTH_BODY_MAX), *widget = NULL, *o;
	const char *init_data;
	struct telegram_user u;
	struct user_telegram ut;
	char hash[65], why[128];
	mongoc_client_t *client = NULL;
	bson_error_t error;
	bson_oid_t user;
	bson_t *filter = NULL, *doc = NULL;
	struct valid_error e;
	int rc, claimed;

	if (body == NULL)
		return;
	if (valid_body(&auth_telegram_schema, body, VALID_CREATE, &e) < 0) {
		valid_answer(r, &e);
		goto done;
	}
	init_data = valid_get_str(body, "initData");
	widget = valid_get_object(body, "widget");
	if (*app_config.bot_token == '\0') {
		resp_error(r, 503, "Telegram sign-in is not configured");
		goto done;
	}
	rc = init_data != NULL
	         ? telegram_webapp_verify(init_data, app_config.bot_token, db_now_ms() / 1000,
	                                  TELEGRAM_MAX_AGE_S, &u, hash, why, sizeof(why))
	         : telegram_widget_verify(widget, app_config.bot_token, db_now_ms() / 1000,
	                                  TELEGRAM_MAX_AGE_S, &u, hash, why, sizeof(why));
	if (rc != 0) {
		log_info("telegram sign-in refused: %s", why);
		resp_error(r, 401, "Telegram sign-in data is invalid or expired");
		goto done;
	}
	client = db_pop();
	claimed = auth_claim_hash(client, init_data != NULL ? "webapp" : "widget", hash, &error);
	if (claimed < 0) {
		db_answer_error(r, &error);
		goto done;
	}
	if (claimed == 0) {
		resp_error(r, 401, "Telegram sign-in data was already used");
		goto done;
	}
	/* The profile as Telegram signed it; the language a guess for a new user only. */
	ut = (struct user_telegram){
	    .telegram_id = u.id,
	    .first_name = u.first_name,
	    .last_name = u.last_name,
	    .username = u.username,
	    .photo_url = u.photo_url,
	    .language = auth_language(u.language_code),
	};
	if (user_upsert_telegram(client, &ut, &user, &error) != 0 ||
	    session_start(r, client, &user, &error) != 0) {
		db_answer_error(r, &error);
		goto done;
	}
	filter = BCON_NEW("_id", BCON_OID(&user));
	rc = db_find_one(client, "users", filter, NULL, &doc, &error);
	if (rc != 1) {
		if (rc < 0)
			db_answer_error(r, &error);
		else
			resp_error(r, 500, "User vanished while signing in");
		goto done;
	}
	resp_header(r, "Cache-Control", "no-store");
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(o, "user", auth_user_json(doc));
	resp_json(r, 200, o);
	json_object_put(o);
done:
	if (doc != NULL)
		bson_destroy(doc);
	if (filter != NULL)
		bson_destroy(filter);
	db_push(client);
	json_object_put(body);
}

static const struct route auth_routes[] = {
    {HTTP_POST, "/api/auth/login", auth_login},
    {HTTP_POST, "/api/auth/logout", auth_logout},
    {HTTP_GET, "/api/auth/me", auth_me},
    {HTTP_POST, "/api/auth/telegram", auth_telegram},
};

int
main(int argc, char **argv)
{
	static const struct app auth = {
	    .name = "auth",
	    .uses_db = 1,
	    .routes = auth_routes,
	    .nroutes = sizeof(auth_routes) / sizeof(auth_routes[0]),
	};

	return app_main(&auth, argc, argv);
}
