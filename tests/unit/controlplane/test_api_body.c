/*
 * Description: the admin API's request body parsers (controlplane/api/body.c) and its roles. A
 * good body fills every field; malformed JSON, a non-object, a duplicate or unknown key, a wrong
 * JSON type and a value out of range are each refused with status 400 and the field at fault;
 * the roles carry exactly the TradSys permissions; firm-wide aggregate limits are marked split.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "api.h"

#define S(x) x, strlen(x)

/* Expects a parser to refuse body, naming field. */
#define REFUSED(fn, out, body, want_field)                                                    \
	do {                                                                                  \
		struct api_error e_;                                                          \
		cr_assert_eq(fn(S(body), out, &e_), -EINVAL, "%s accepted", body);            \
		cr_assert_eq(e_.status, 400);                                                 \
		cr_assert_str_eq(e_.field, want_field, "%s: field '%s' (%s)", body, e_.field, \
				 e_.msg);                                                     \
	} while (0)

Test(body, login_good_with_and_without_totp)
{
	struct api_login_body b;
	struct api_error e;

	cr_assert_eq(api_body_login(S("{\"username\":\"ann\",\"password\":\"pw\"}"), &b, &e), 0);
	cr_assert_str_eq(b.username, "ann");
	cr_assert_str_eq(b.password, "pw");
	cr_assert_str_eq(b.totp, "");
	cr_assert_eq(
		api_body_login(S("{\"username\":\"a\",\"password\":\"p\",\"totp\":\"123456\"}"), &b,
			       &e),
		0);
	cr_assert_str_eq(b.totp, "123456");
}

Test(body, malformed_and_non_object_name_no_field)
{
	struct api_login_body b;

	REFUSED(api_body_login, &b, "{\"username\":", "");
	REFUSED(api_body_login, &b, "[]", "");
	REFUSED(api_body_login, &b, "\"x\"", "");
	REFUSED(api_body_login, &b, "", "");
	REFUSED(api_body_login, &b, "{\"username\":\"a\",\"username\":\"b\",\"password\":\"p\"}",
		"");
}

Test(body, login_bad_fields_named)
{
	struct api_login_body b;

	REFUSED(api_body_login, &b, "{\"password\":\"p\"}", "username");
	REFUSED(api_body_login, &b, "{\"username\":1,\"password\":\"p\"}", "username");
	REFUSED(api_body_login, &b, "{\"username\":\"a\",\"password\":\"p\",\"totp\":\"12ab56\"}",
		"totp");
	REFUSED(api_body_login, &b, "{\"username\":\"a\",\"password\":\"p\",\"otp\":1}", "otp");
	/* jansson refuses an escaped NUL while parsing: the body as a whole is malformed. */
	REFUSED(api_body_login, &b, "{\"username\":\"a\\u0000b\",\"password\":\"p\"}", "");
}

Test(body, user_create_and_update)
{
	struct api_user_body u;
	struct api_error e;

	cr_assert_eq(
		api_body_user_create(S("{\"username\":\"bob.x-1\",\"password\":\"twelve-chars\","
				       "\"role\":\"TRADER\"}"),
				     &u, &e),
		0, "%s", e.msg);
	cr_assert_eq(u.role, API_ROLE_TRADER);
	cr_assert_eq(u.has, API_USER_HAS_USERNAME | API_USER_HAS_PASSWORD | API_USER_HAS_ROLE);
	REFUSED(api_body_user_create, &u,
		"{\"username\":\"Bob\",\"password\":\"twelve-chars\",\"role\":\"viewer\"}",
		"username");
	REFUSED(api_body_user_create, &u,
		"{\"username\":\"bob\",\"password\":\"short\",\"role\":\"viewer\"}", "password");
	REFUSED(api_body_user_create, &u,
		"{\"username\":\"bob\",\"password\":\"twelve-chars\",\"role\":\"risk\"}", "role");
	REFUSED(api_body_user_create, &u, "{\"username\":\"bob\",\"password\":\"twelve-chars\"}",
		"role");
	cr_assert_eq(api_body_user_update(S("{\"disabled\":true}"), &u, &e), 0);
	cr_assert_eq(u.has, API_USER_HAS_DISABLED);
	cr_assert(u.disabled);
	REFUSED(api_body_user_update, &u, "{}", "");
	REFUSED(api_body_user_update, &u, "{\"disabled\":1}", "disabled");
	REFUSED(api_body_user_update, &u, "{\"username\":\"new\"}", "username");
}

Test(body, order_fields_and_ranges)
{
	struct api_order_body o;
	struct api_error e;

	cr_assert_eq(api_body_order(S("{\"account\":4294967295,\"instrument\":7,\"venue\":65535,"
				      "\"side\":\"sell_short\",\"price\":9223372036854775807,"
				      "\"qty\":5,\"tif\":3}"),
				    &o, &e),
		     0, "%s", e.msg);
	cr_assert_eq(o.account, 4294967295u);
	cr_assert_eq(o.venue, 65535);
	cr_assert_eq(o.side, 'T');
	cr_assert_eq(o.price, INT64_MAX);
	cr_assert_eq(o.tif, 3);
	cr_assert_eq(o.ord_type, 0);
	REFUSED(api_body_order, &o,
		"{\"account\":4294967296,\"instrument\":7,\"venue\":1,\"side\":\"buy\",\"price\":1,"
		"\"qty\":1}",
		"account");
	REFUSED(api_body_order, &o,
		"{\"account\":1,\"instrument\":7,\"venue\":1,\"side\":\"buy\",\"price\":1.5,"
		"\"qty\":1}",
		"price");
	REFUSED(api_body_order, &o,
		"{\"account\":1,\"instrument\":7,\"venue\":1,\"side\":\"buy\",\"price\":1,\"qty\":0}",
		"qty");
	REFUSED(api_body_order, &o,
		"{\"account\":1,\"instrument\":7,\"venue\":1,\"side\":\"b\",\"price\":1,\"qty\":1}",
		"side");
	REFUSED(api_body_order, &o,
		"{\"account\":1,\"instrument\":7,\"venue\":1,\"side\":\"B\",\"price\":1,\"qty\":1,"
		"\"tif\":256}",
		"tif");
}

Test(body, limit_scope_kind_and_id)
{
	struct api_limit_body l;
	struct api_error e;

	cr_assert_eq(api_body_limit(S("{\"scope\":\"instrument\",\"id\":9,\"kind\":\"collar_bps\","
				      "\"value\":50,\"enabled\":false}"),
				    &l, &e),
		     0, "%s", e.msg);
	cr_assert_eq(l.scope, API_SCOPE_INSTRUMENT);
	cr_assert_eq(l.id, 9);
	cr_assert_eq(l.code, 4);
	cr_assert_eq(l.value, 50);
	cr_assert_not(l.enabled);
	REFUSED(api_body_limit, &l,
		"{\"scope\":\"firm\",\"id\":3,\"kind\":\"order_rate\",\"value\":1}", "id");
	REFUSED(api_body_limit, &l, "{\"scope\":\"firm\",\"kind\":\"max_long\",\"value\":1}",
		"kind");
	REFUSED(api_body_limit, &l, "{\"scope\":\"firm\",\"kind\":\"nope\",\"value\":1}", "kind");
	REFUSED(api_body_limit, &l, "{\"scope\":\"firm\",\"kind\":\"order_rate\"}", "value");
}

Test(body, kill_and_api_key)
{
	struct api_kill_body k;
	struct api_key_body a;
	struct api_error e;

	cr_assert_eq(api_body_kill(S("{\"scope\":\"firm\",\"on\":true,\"cancel_open\":true}"), &k,
				   &e),
		     0);
	cr_assert(k.on && k.cancel_open && k.scope == API_SCOPE_FIRM && k.id == 0);
	REFUSED(api_body_kill, &k, "{\"scope\":\"account\",\"on\":false}", "id");
	cr_assert_eq(api_body_api_key("", 0, &a, &e), 0);
	cr_assert_eq(a.role, API_ROLE_NONE);
	REFUSED(api_body_api_key, &a, "{\"expires_in_s\":-1}", "expires_in_s");
}

Test(roles, permissions_as_tradsys_defines_them)
{
	const uint32_t view = API_PERM_ORDER_VIEW | API_PERM_POSITION_VIEW | API_PERM_BALANCE_VIEW;

	cr_assert_eq(api_role_perms(API_ROLE_VIEWER), view);
	cr_assert_eq(api_role_perms(API_ROLE_TRADER),
		     view | API_PERM_ORDER_CREATE | API_PERM_ORDER_CANCEL);
	cr_assert_eq(api_role_perms(API_ROLE_ADMIN), 0xffu);
	cr_assert_eq(api_role_perms(API_ROLE_NONE), 0);
	cr_assert_str_eq(api_perm_name(API_PERM_REPORTS_GENERATE), "reports.generate");
}

Test(limits, firm_aggregates_are_split)
{
	for (size_t i = 0; i < api_limit_nkinds; i++) {
		const struct api_limit_kind *k = &api_limit_kinds[i];
		bool aggregate = !strcmp(k->name, "max_gross_exposure") ||
				 !strcmp(k->name, "max_net_exposure") ||
				 !strcmp(k->name, "daily_loss_limit") ||
				 !strcmp(k->name, "order_rate");

		cr_assert_eq(k->split, aggregate, "%s", k->name);
		cr_assert_eq(k->code, i + 1, "codes are dense from 1");
	}
}
