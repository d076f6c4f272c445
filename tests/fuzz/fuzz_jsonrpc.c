/*
 * fuzz_jsonrpc.c - libFuzzer target for Payme's JSON-RPC request parser
 * (payme_parse) and what the program does with its result: the error or
 * result envelope around the request id, and the Basic auth check with
 * the input as the Authorization header.
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
	struct payme_request q;
	char err[160], *header;
	json_object *ans;
	int code;

	code = payme_parse((const char *)data, size, &q, err, sizeof(err));
	if (code == 0) {
		/* what a successful parse promises the handlers */
		if (q.method < 0 || q.method >= PAYME_METHOD__MAX)
			abort();
		if ((q.method == PAYME_CHECK_PERFORM || q.method == PAYME_CREATE) &&
		    (q.amount <= 0 || strlen(q.order_id) != 24))
			abort();
		if (q.method != PAYME_CHECK_PERFORM && q.method != PAYME_STATEMENT &&
		    (q.tx_id[0] == '\0' || strlen(q.tx_id) > PAYMENT_EXT_ID_MAX))
			abort();
		ans = payme_result(q.id, json_object_new_object());
	} else {
		if (code != PAYME_ERR_PARSE && code != PAYME_ERR_REQUEST &&
		    code != PAYME_ERR_METHOD && code != PAYME_ERR_ORDER_NOT_FOUND &&
		    code != PAYME_ERR_AMOUNT && code != PAYME_ERR_TX_NOT_FOUND)
			abort();
		ans = payme_error(q.id, code, err, NULL);
	}
	(void)json_object_to_json_string_ext(ans, JSON_OUT_FLAGS);
	json_object_put(ans);
	payme_request_free(&q);

	header = xmalloc(size + 1);
	memcpy(header, data, size);
	header[size] = '\0';
	(void)payme_auth_ok(header, "fuzz-key");
	free(header);
	return 0;
}
