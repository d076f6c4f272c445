/*
 * telegram.c - messages to customers through the Bot API's sendMessage,
 * and the texts of order status messages in Uzbek and Russian. The bot
 * token is part of every request URL, so neither the URL nor libcurl's
 * error buffer ever reaches a log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "oshxona.h"

#define TELEGRAM_API_DEFAULT     "https://api.telegram.org"
#define TELEGRAM_TIMEOUT_MS      3000
#define TELEGRAM_REPLY_MAX       (64 * 1024) /* bytes of the Bot API's answer read */
#define TELEGRAM_URL_MAX         1024
#define TELEGRAM_TOKEN_MAX       256
#define TELEGRAM_RETRY_AFTER_MAX ((int64_t)24 * 3600) /* seconds; longer is clamped */

static CURL *telegram_curl; /* the process's handle to the Bot API, created lazily */

/* 1 when the token can only be a bot token: [A-Za-z0-9:_-], nothing to escape. */
static int
telegram_token_ok(const char *t)
{
	size_t n = 0;

	for (; t[n] != '\0'; n++) {
		char c = t[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ':' || c == '_' || c == '-'))
			return 0;
	}
	return n > 0 && n <= TELEGRAM_TOKEN_MAX;
}

/*
 * Classifies an answer that was not ok: true. 400 and 403 mean the
 * request or the chat is hopeless (chat not found, bot blocked); anything
 * else (5xx, 429, 401 while the operator fixes the token, a proxy's error
 * page) may pass later.
 */
static enum telegram_result
telegram_failure(long status, const struct httpc_reply *reply, int64_t *retry_after, char *err,
                 size_t errlen)
{
	json_object *obj = NULL, *params;
	const char *desc = NULL;
	char perr[64];
	int64_t ra;

	if (reply->data != NULL && !reply->truncated)
		obj = json_parse(reply->data, reply->len, perr, sizeof(perr));
	if (obj != NULL && json_object_is_type(obj, json_type_object)) {
		desc = json_get_string(obj, "description");
		if (status == 429 && json_object_object_get_ex(obj, "parameters", &params) &&
		    json_get_int64(params, "retry_after", 0, INT64_MAX, &ra) == 0)
			*retry_after =
			    ra < TELEGRAM_RETRY_AFTER_MAX ? ra : TELEGRAM_RETRY_AFTER_MAX;
	}
	if (desc != NULL)
		snprintf(err, errlen, "HTTP %ld: %.200s", status, desc);
	else
		snprintf(err, errlen, "HTTP %ld", status);
	if (status == 429 && *retry_after > 0) {
		size_t used = strlen(err);
		snprintf(err + used, errlen - used, " (retry after %lld s)",
		         (long long)*retry_after);
	}
	json_object_put(obj);
	return status == 400 || status == 403 ? TELEGRAM_PERMANENT : TELEGRAM_RETRY;
}

enum telegram_result
telegram_call(const char *method, json_object *params, long timeout_ms, json_object **result,
              int64_t *retry_after, char *err, size_t errlen)
{
	const char *token = getenv("BOT_TOKEN"), *base = getenv("TELEGRAM_API_BASE");
	struct httpc_reply reply = {NULL, 0, TELEGRAM_REPLY_MAX, 0};
	struct curl_slist *headers = NULL;
	enum telegram_result res;
	int64_t ra_unused;
	char err_unused[8], url[TELEGRAM_URL_MAX];
	json_object *ok, *obj = NULL, *v;
	const char *body;
	size_t baselen;
	long status = 0;
	CURLcode cc;
	CURL *curl;
	int n;

	if (result != NULL)
		*result = NULL;
	if (retry_after == NULL)
		retry_after = &ra_unused;
	if (err == NULL || errlen == 0) {
		err = err_unused;
		errlen = sizeof(err_unused);
	}
	*retry_after = 0;
	err[0] = '\0';
	if (token == NULL || *token == '\0') {
		snprintf(err, errlen, "BOT_TOKEN is not set");
		return TELEGRAM_PERMANENT;
	}
	if (!telegram_token_ok(token)) {
		snprintf(err, errlen, "BOT_TOKEN is not a bot token");
		return TELEGRAM_PERMANENT;
	}
	if (base == NULL || *base == '\0')
		base = TELEGRAM_API_DEFAULT;
	for (baselen = strlen(base); baselen > 0 && base[baselen - 1] == '/';)
		baselen--;
	n = snprintf(url, sizeof(url), "%.*s/bot%s/%s", (int)baselen, base, token, method);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		snprintf(err, errlen, "TELEGRAM_API_BASE is too long");
		return TELEGRAM_PERMANENT;
	}
	curl = httpc_handle(&telegram_curl);
	if (curl == NULL) {
		snprintf(err, errlen, "libcurl could not be initialized");
		return TELEGRAM_RETRY;
	}

	body = json_object_to_json_string_ext(params, JSON_OUT_FLAGS);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	if (headers == NULL || (headers = curl_slist_append(headers, "Expect:")) == NULL)
		abort(); /* allocation failure, as everywhere else */
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "oshxona");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
	                 timeout_ms > 0 ? timeout_ms : (long)TELEGRAM_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, httpc_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);

	cc = curl_easy_perform(curl);
	/* The URL holds the token: only curl_easy_strerror's fixed text goes out. */
	memset(url, 0, sizeof(url));
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
		res = TELEGRAM_RETRY;
		goto done;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200 && reply.data != NULL && !reply.truncated) {
		char perr[64];
		obj = json_parse(reply.data, reply.len, perr, sizeof(perr));
		if (obj != NULL && json_object_is_type(obj, json_type_object) &&
		    json_object_object_get_ex(obj, "ok", &ok) &&
		    json_object_is_type(ok, json_type_boolean) && json_object_get_boolean(ok)) {
			if (result != NULL && json_object_object_get_ex(obj, "result", &v))
				*result = json_object_get(v);
			res = TELEGRAM_SENT;
			goto done;
		}
	}
	res = telegram_failure(status, &reply, retry_after, err, errlen);
done:
	/* The handle keeps pointers to these only until the next reset. */
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(curl, CURLOPT_URL, "");
	curl_slist_free_all(headers);
	json_object_put(obj);
	free(reply.data);
	return res;
}

enum telegram_result
telegram_send_message(int64_t chat_id, const char *text, int64_t *retry_after, char *err,
                      size_t errlen)
{
	return telegram_send_message_within(chat_id, text, 0, retry_after, err, errlen);
}

enum telegram_result
telegram_send_message_within(int64_t chat_id, const char *text, long timeout_ms,
                             int64_t *retry_after, char *err, size_t errlen)
{
	enum telegram_result res;
	json_object *msg;

	if (text == NULL || *text == '\0' || !utf8_valid(text, strlen(text))) {
		if (retry_after != NULL)
			*retry_after = 0;
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "the text is empty or not UTF-8");
		return TELEGRAM_PERMANENT;
	}
	msg = json_object_new_object();
	json_object_object_add(msg, "chat_id", json_object_new_int64(chat_id));
	json_object_object_add(msg, "text", json_object_new_string(text));
	res = telegram_call("sendMessage", msg, timeout_ms, NULL, retry_after, err, errlen);
	json_object_put(msg);
	return res;
}

/* What a customer reads for each order status. */
struct telegram_status {
	const char *status; /* orders.status */
	const char *uz;     /* Uzbek, Latin script */
	const char *ru;     /* Russian */
};

static const struct telegram_status telegram_statuses[] = {
    {"pending", "qabul qilindi, tasdiqlanishi kutilmoqda", "принят, ожидает подтверждения"},
    {"confirmed", "tasdiqlandi", "подтверждён"},
    {"preparing", "tayyorlanmoqda", "готовится"},
    {"ready", "tayyor", "готов"},
    {"delivering", "yetkazib berilmoqda", "в пути"},
    {"completed", "yakunlandi", "выполнен"},
    {"cancelled", "bekor qilindi", "отменён"},
};

char *
telegram_status_text(const char *language, int64_t number, const char *status, const char *message)
{
	int ru = language != NULL && strcmp(language, "ru") == 0;
	const char *what = status != NULL ? status : "";
	const char *prefix = ru ? "Заказ №" : "Buyurtma #";
	int has_message = message != NULL && *message != '\0';
	char *out;
	int n;

	for (size_t i = 0; i < sizeof(telegram_statuses) / sizeof(telegram_statuses[0]); i++)
		if (strcmp(what, telegram_statuses[i].status) == 0) {
			what = ru ? telegram_statuses[i].ru : telegram_statuses[i].uz;
			break;
		}
	n = snprintf(NULL, 0, "%s%lld: %s%s%s", prefix, (long long)number, what,
	             has_message ? "\n" : "", has_message ? message : "");
	if (n < 0)
		abort();
	out = xmalloc((size_t)n + 1);
	snprintf(out, (size_t)n + 1, "%s%lld: %s%s%s", prefix, (long long)number, what,
	         has_message ? "\n" : "", has_message ? message : "");
	return out;
}
