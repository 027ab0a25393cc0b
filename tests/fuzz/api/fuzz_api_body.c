/*
 * libFuzzer target for the admin API's request bodies (controlplane/api/body.c): the first byte
 * picks the parser, the rest is the body. Every parser must return 0 or -EINVAL, fill a
 * NUL-terminated string in every string field, and name a field of bounded length on error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		struct api_login_body login;
		struct api_token_body token;
		struct api_user_body user;
		struct api_order_body order;
		struct api_limit_body limit;
		struct api_kill_body kill;
		struct api_key_body key;
	} out;
	struct api_error e;
	const char *body;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	body = (const char *)data + 1;
	len = size - 1;
	memset(&e, 0, sizeof(e));
	switch (data[0] % 8) {
	case 0:
		rc = api_body_login(body, len, &out.login, &e);
		if (!rc && (strlen(out.login.username) > API_USERNAME_MAX ||
			    strlen(out.login.password) > API_PASSWORD_MAX))
			abort();
		break;
	case 1: rc = api_body_token(body, len, &out.token, &e); break;
	case 2:
		rc = api_body_user_create(body, len, &out.user, &e);
		if (!rc && (!out.user.username[0] || out.user.role == API_ROLE_NONE))
			abort();
		break;
	case 3: rc = api_body_user_update(body, len, &out.user, &e); break;
	case 4:
		rc = api_body_order(body, len, &out.order, &e);
		if (!rc && (out.order.price <= 0 || out.order.qty <= 0))
			abort();
		break;
	case 5:
		rc = api_body_limit(body, len, &out.limit, &e);
		if (!rc && (out.limit.code == 0 || out.limit.value < 0 ||
			    (out.limit.scope == API_SCOPE_FIRM && out.limit.id != 0)))
			abort();
		break;
	case 6: rc = api_body_kill(body, len, &out.kill, &e); break;
	default: rc = api_body_api_key(body, len, &out.key, &e); break;
	}
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc && (e.status != 400 || strnlen(e.field, sizeof(e.field)) == sizeof(e.field) ||
		   strnlen(e.msg, sizeof(e.msg)) == sizeof(e.msg)))
		abort();
	return 0;
}
