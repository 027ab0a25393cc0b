/*
 * Request bodies of the admin API: untrusted JSON into fixed structs. Every parser refuses what
 * is not one JSON object, keys it does not know, duplicate keys, wrong JSON types and values out
 * of range, and names the field at fault, so a client always learns which field to fix. No I/O
 * and no state: the libFuzzer target (tests/fuzz/api/) drives these functions directly.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"

const struct api_limit_kind api_limit_kinds[] = {
	/* instrument limits (dataplane/risk: struct risk_instrument_limits) */
	{ "max_order_qty", 1, 1u << API_SCOPE_INSTRUMENT | 1u << API_SCOPE_FIRM, false },
	{ "max_order_notional", 2, 1u << API_SCOPE_INSTRUMENT | 1u << API_SCOPE_FIRM, false },
	{ "collar_ticks", 3, 1u << API_SCOPE_INSTRUMENT, false },
	{ "collar_bps", 4, 1u << API_SCOPE_INSTRUMENT, false },
	{ "max_long", 5, 1u << API_SCOPE_INSTRUMENT, false },
	{ "max_short", 6, 1u << API_SCOPE_INSTRUMENT, false },
	/* account limits (struct risk_account_limits); firm-wide ones are split per worker */
	{ "max_gross_exposure", 7, 1u << API_SCOPE_ACCOUNT | 1u << API_SCOPE_FIRM, true },
	{ "max_net_exposure", 8, 1u << API_SCOPE_ACCOUNT | 1u << API_SCOPE_FIRM, true },
	{ "credit_limit", 9, 1u << API_SCOPE_ACCOUNT, false },
	{ "daily_loss_limit", 10, 1u << API_SCOPE_ACCOUNT | 1u << API_SCOPE_FIRM, true },
	{ "max_open_orders", 11, 1u << API_SCOPE_ACCOUNT, false },
	{ "order_rate", 12, 1u << API_SCOPE_ACCOUNT | 1u << API_SCOPE_FIRM, true },
};
const size_t api_limit_nkinds = sizeof(api_limit_kinds) / sizeof(api_limit_kinds[0]);

static const char *const role_names[] = { "none", "viewer", "trader", "admin" };

uint32_t api_role_perms(enum api_role role)
{
	const uint32_t view = API_PERM_ORDER_VIEW | API_PERM_POSITION_VIEW | API_PERM_BALANCE_VIEW;

	switch (role) {
	case API_ROLE_VIEWER: return view;
	case API_ROLE_TRADER: return view | API_PERM_ORDER_CREATE | API_PERM_ORDER_CANCEL;
	case API_ROLE_ADMIN:
		return view | API_PERM_ORDER_CREATE | API_PERM_ORDER_CANCEL | API_PERM_USER_MANAGE |
		       API_PERM_SYSTEM_CONFIGURE | API_PERM_REPORTS_GENERATE;
	default: return 0;
	}
}

int api_role_parse(const char *s, enum api_role *out)
{
	for (int r = API_ROLE_VIEWER; r <= API_ROLE_ADMIN; r++)
		if (!strcasecmp(s, role_names[r])) {
			*out = (enum api_role)r;
			return 0;
		}
	return -EINVAL;
}

const char *api_role_name(enum api_role role)
{
	return role >= API_ROLE_VIEWER && role <= API_ROLE_ADMIN ? role_names[role] : "none";
}

const char *api_perm_name(uint32_t perm)
{
	switch (perm) {
	case API_PERM_USER_MANAGE: return "user.manage";
	case API_PERM_ORDER_CREATE: return "order.create";
	case API_PERM_ORDER_CANCEL: return "order.cancel";
	case API_PERM_ORDER_VIEW: return "order.view";
	case API_PERM_POSITION_VIEW: return "position.view";
	case API_PERM_BALANCE_VIEW: return "balance.view";
	case API_PERM_SYSTEM_CONFIGURE: return "system.configure";
	case API_PERM_REPORTS_GENERATE: return "reports.generate";
	default: return "?";
	}
}

const char *api_scope_name(enum api_scope s)
{
	switch (s) {
	case API_SCOPE_FIRM: return "firm";
	case API_SCOPE_ACCOUNT: return "account";
	case API_SCOPE_INSTRUMENT: return "instrument";
	}
	return "?";
}

int api_error_set(struct api_error *e, int status, const char *field, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- helpers: one object, known keys ---- */

/* Parses buf as one JSON object with no duplicate keys and no key outside known. */
static json_t *load_object(const char *buf, size_t len, const char *const *known,
			   struct api_error *e)
{
	json_error_t jerr;
	json_t *root;
	const char *key;
	json_t *v;

	if (len > API_BODY_MAX) {
		api_error_set(e, 400, "", "body larger than %d bytes", API_BODY_MAX);
		return NULL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		api_error_set(e, 400, "", "malformed JSON at line %d column %d: %s", jerr.line,
			      jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		api_error_set(e, 400, "", "the body must be a JSON object");
		json_decref(root);
		return NULL;
	}
	json_object_foreach(root, key, v)
	{
		size_t i;

		for (i = 0; known[i]; i++)
			if (!strcmp(key, known[i]))
				break;
		if (!known[i]) {
			/* The key may hold anything; keep the echo printable and short. */
			char shown[40];
			size_t n = 0;

			for (const char *k = key; *k && n < sizeof(shown) - 1; k++)
				shown[n++] = (*k >= 0x20 && *k < 0x7f) ? *k : '?';
			shown[n] = 0;
			api_error_set(e, 400, shown, "unknown field");
			json_decref(root);
			return NULL;
		}
	}
	return root;
}

/* A string field of at most max bytes, no NUL inside, into out. Absent: -ENOENT or the error. */
static int get_str(json_t *o, const char *key, bool required, size_t min, size_t max, char *out,
		   struct api_error *e)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!v) {
		if (required)
			return api_error_set(e, 400, key, "required");
		return -ENOENT;
	}
	if (!json_is_string(v))
		return api_error_set(e, 400, key, "must be a string");
	n = json_string_length(v);
	if (memchr(json_string_value(v), 0, n))
		return api_error_set(e, 400, key, "must not contain NUL");
	if (n < min || n > max)
		return api_error_set(e, 400, key, "must be %zu to %zu characters", min, max);
	memcpy(out, json_string_value(v), n);
	out[n] = 0;
	return 0;
}

/* An integer field in [min, max]. Absent: -ENOENT (or an error when required). */
static int get_int(json_t *o, const char *key, bool required, int64_t min, int64_t max,
		   int64_t *out, struct api_error *e)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;

	if (!v) {
		if (required)
			return api_error_set(e, 400, key, "required");
		return -ENOENT;
	}
	if (!json_is_integer(v))
		return api_error_set(e, 400, key, "must be an integer");
	x = json_integer_value(v);
	if (x < min || x > max)
		return api_error_set(e, 400, key, "must be between %lld and %lld", (long long)min,
				     (long long)max);
	*out = x;
	return 0;
}

static int get_bool(json_t *o, const char *key, bool required, bool *out, struct api_error *e)
{
	json_t *v = json_object_get(o, key);

	if (!v) {
		if (required)
			return api_error_set(e, 400, key, "required");
		return -ENOENT;
	}
	if (!json_is_boolean(v))
		return api_error_set(e, 400, key, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int get_role(json_t *o, const char *key, bool required, enum api_role *out,
		    struct api_error *e)
{
	char s[16];
	int rc = get_str(o, key, required, 1, sizeof(s) - 1, s, e);

	if (rc == -EINVAL && !strcmp(e->field, key) && strstr(e->msg, "characters"))
		return api_error_set(e, 400, key, "must be one of admin, trader, viewer");
	if (rc)
		return rc;
	if (api_role_parse(s, out))
		return api_error_set(e, 400, key, "must be one of admin, trader, viewer");
	return 0;
}

static int get_scope(json_t *o, enum api_scope *out, struct api_error *e)
{
	char s[16];
	int rc = get_str(o, "scope", true, 1, sizeof(s) - 1, s, e);

	if (rc == -EINVAL && strstr(e->msg, "characters"))
		return api_error_set(e, 400, "scope", "must be one of firm, account, instrument");
	if (rc)
		return rc;
	for (int sc = API_SCOPE_FIRM; sc <= API_SCOPE_INSTRUMENT; sc++)
		if (!strcmp(s, api_scope_name((enum api_scope)sc))) {
			*out = (enum api_scope)sc;
			return 0;
		}
	return api_error_set(e, 400, "scope", "must be one of firm, account, instrument");
}

/* The id that goes with a scope: required for account and instrument, 0 for the firm. */
static int get_scope_id(json_t *o, enum api_scope scope, uint32_t *out, struct api_error *e)
{
	int64_t id = 0;
	int rc = get_int(o, "id", scope != API_SCOPE_FIRM, 0, UINT32_MAX, &id, e);

	if (rc && rc != -ENOENT)
		return rc;
	if (scope == API_SCOPE_FIRM && id != 0)
		return api_error_set(e, 400, "id", "must be 0 or absent for scope firm");
	*out = (uint32_t)id;
	return 0;
}

static bool username_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '.' || *s == '-'))
			return false;
	return true;
}

/* ---- the bodies ---- */

int api_body_login(const char *buf, size_t len, struct api_login_body *out, struct api_error *e)
{
	static const char *const known[] = { "username", "password", "totp", NULL };
	json_t *o = load_object(buf, len, known, e);
	int rc;

	if (!o)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = get_str(o, "username", true, 1, API_USERNAME_MAX, out->username, e);
	if (!rc)
		rc = get_str(o, "password", true, 1, API_PASSWORD_MAX, out->password, e);
	if (!rc) {
		rc = get_str(o, "totp", false, 6, 8, out->totp, e);
		if (rc == -ENOENT)
			rc = 0;
		else if (!rc && strspn(out->totp, "0123456789") != strlen(out->totp))
			rc = api_error_set(e, 400, "totp", "must be 6 to 8 digits");
	}
	json_decref(o);
	return rc;
}

int api_body_token(const char *buf, size_t len, struct api_token_body *out, struct api_error *e)
{
	static const char *const known[] = { "refresh_token", NULL };
	json_t *o = load_object(buf, len, known, e);
	int rc;

	if (!o)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = get_str(o, "refresh_token", true, 1, sizeof(out->refresh_token) - 1,
		     out->refresh_token, e);
	json_decref(o);
	return rc;
}

static int user_fields(json_t *o, bool create, struct api_user_body *out, struct api_error *e)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (create) {
		rc = get_str(o, "username", true, 1, API_USERNAME_MAX, out->username, e);
		if (rc)
			return rc;
		if (!username_ok(out->username))
			return api_error_set(e, 400, "username",
					     "must be 1 to 64 of a-z, 0-9, '_', '.', '-'");
		out->has |= API_USER_HAS_USERNAME;
	}
	rc = get_role(o, "role", create, &out->role, e);
	if (!rc)
		out->has |= API_USER_HAS_ROLE;
	else if (rc != -ENOENT)
		return rc;
	rc = get_str(o, "password", create, API_PASSWORD_MIN, API_PASSWORD_MAX, out->password, e);
	if (!rc)
		out->has |= API_USER_HAS_PASSWORD;
	else if (rc != -ENOENT)
		return rc;
	rc = get_str(o, "display_name", false, 0, sizeof(out->display_name) - 1, out->display_name,
		     e);
	if (!rc)
		out->has |= API_USER_HAS_DISPLAY;
	else if (rc != -ENOENT)
		return rc;
	if (!create) {
		rc = get_bool(o, "disabled", false, &out->disabled, e);
		if (!rc)
			out->has |= API_USER_HAS_DISABLED;
		else if (rc != -ENOENT)
			return rc;
		if (!out->has)
			return api_error_set(e, 400, "",
					     "nothing to change: give role, password, "
					     "display_name or disabled");
	}
	return 0;
}

int api_body_user_create(const char *buf, size_t len, struct api_user_body *out,
			 struct api_error *e)
{
	static const char *const known[] = { "username", "password", "role", "display_name", NULL };
	json_t *o = load_object(buf, len, known, e);
	int rc;

	if (!o)
		return -EINVAL;
	rc = user_fields(o, true, out, e);
	json_decref(o);
	return rc;
}

int api_body_user_update(const char *buf, size_t len, struct api_user_body *out,
			 struct api_error *e)
{
	static const char *const known[] = { "password", "role", "display_name", "disabled", NULL };
	json_t *o = load_object(buf, len, known, e);
	int rc;

	if (!o)
		return -EINVAL;
	rc = user_fields(o, false, out, e);
	json_decref(o);
	return rc;
}

int api_body_order(const char *buf, size_t len, struct api_order_body *out, struct api_error *e)
{
	static const char *const known[] = { "account", "instrument", "venue", "side", "price",
					     "qty",	"ord_type",   "tif",   NULL };
	static const struct {
		const char *name;
		uint8_t code;
	} sides[] = { { "buy", 'B' },	     { "sell", 'S' },
		      { "sell_short", 'T' }, { "sell_short_exempt", 'E' },
		      { "B", 'B' },	     { "S", 'S' },
		      { "T", 'T' },	     { "E", 'E' } };
	json_t *o = load_object(buf, len, known, e);
	int64_t x = 0;
	char side[24];
	int rc;

	if (!o)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if ((rc = get_int(o, "account", true, 0, UINT32_MAX, &x, e)))
		goto out;
	out->account = (uint32_t)x;
	if ((rc = get_int(o, "instrument", true, 0, UINT32_MAX, &x, e)))
		goto out;
	out->instrument = (uint32_t)x;
	if ((rc = get_int(o, "venue", true, 0, UINT16_MAX, &x, e)))
		goto out;
	out->venue = (uint16_t)x;
	rc = get_str(o, "side", true, 1, sizeof(side) - 1, side, e);
	if (rc == -EINVAL && strstr(e->msg, "characters"))
		rc = api_error_set(e, 400, "side",
				   "must be buy, sell, sell_short or "
				   "sell_short_exempt");
	if (rc)
		goto out;
	rc = api_error_set(e, 400, "side", "must be buy, sell, sell_short or sell_short_exempt");
	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++)
		if (!strcmp(side, sides[i].name)) {
			out->side = sides[i].code;
			rc = 0;
		}
	if (rc)
		goto out;
	if ((rc = get_int(o, "price", true, 1, INT64_MAX, &out->price, e)))
		goto out;
	if ((rc = get_int(o, "qty", true, 1, INT64_MAX, &out->qty, e)))
		goto out;
	x = 0;
	if ((rc = get_int(o, "ord_type", false, 0, 255, &x, e)) && rc != -ENOENT)
		goto out;
	out->ord_type = (uint8_t)x;
	x = 0;
	if ((rc = get_int(o, "tif", false, 0, 255, &x, e)) && rc != -ENOENT)
		goto out;
	out->tif = (uint8_t)x;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int api_body_limit(const char *buf, size_t len, struct api_limit_body *out, struct api_error *e)
{
	static const char *const known[] = { "scope", "id", "kind", "value", "enabled", NULL };
	json_t *o = load_object(buf, len, known, e);
	const struct api_limit_kind *k = NULL;
	int rc;

	if (!o)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->enabled = true;
	if ((rc = get_scope(o, &out->scope, e)) || (rc = get_scope_id(o, out->scope, &out->id, e)))
		goto out;
	rc = get_str(o, "kind", true, 1, sizeof(out->kind) - 1, out->kind, e);
	if (rc == -EINVAL && strstr(e->msg, "characters"))
		rc = api_error_set(e, 400, "kind", "unknown limit kind");
	if (rc)
		goto out;
	for (size_t i = 0; i < api_limit_nkinds; i++)
		if (!strcmp(out->kind, api_limit_kinds[i].name))
			k = &api_limit_kinds[i];
	if (!k) {
		rc = api_error_set(e, 400, "kind", "unknown limit kind");
		goto out;
	}
	if (!(k->scopes & (1u << out->scope))) {
		rc = api_error_set(e, 400, "kind", "%s cannot be set for scope %s", k->name,
				   api_scope_name(out->scope));
		goto out;
	}
	out->code = k->code;
	if ((rc = get_int(o, "value", true, 0, INT64_MAX, &out->value, e)))
		goto out;
	if ((rc = get_bool(o, "enabled", false, &out->enabled, e)) == -ENOENT)
		rc = 0;
out:
	json_decref(o);
	return rc;
}

int api_body_kill(const char *buf, size_t len, struct api_kill_body *out, struct api_error *e)
{
	static const char *const known[] = { "scope", "id", "on", "cancel_open", NULL };
	json_t *o = load_object(buf, len, known, e);
	int rc;

	if (!o)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if ((rc = get_scope(o, &out->scope, e)) || (rc = get_scope_id(o, out->scope, &out->id, e)))
		goto out;
	if ((rc = get_bool(o, "on", true, &out->on, e)))
		goto out;
	if ((rc = get_bool(o, "cancel_open", false, &out->cancel_open, e)) == -ENOENT)
		rc = 0;
out:
	json_decref(o);
	return rc;
}

int api_body_api_key(const char *buf, size_t len, struct api_key_body *out, struct api_error *e)
{
	static const char *const known[] = { "role", "expires_in_s", NULL };
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len == 0) /* no body: a key with the user's role that does not expire */
		return 0;
	o = load_object(buf, len, known, e);
	if (!o)
		return -EINVAL;
	rc = get_role(o, "role", false, &out->role, e);
	if (rc == -ENOENT)
		rc = get_int(o, "expires_in_s", false, 0, 10ll * 366 * 86400, &out->expires_in_s,
			     e);
	else if (!rc)
		rc = get_int(o, "expires_in_s", false, 0, 10ll * 366 * 86400, &out->expires_in_s,
			     e);
	if (rc == -ENOENT)
		rc = 0;
	json_decref(o);
	return rc;
}
