/*
 * The admin API's identity endpoints: login (password, lockout after repeated failures, optional
 * TOTP), refresh-token rotation, logout, users (create, read, update, delete, TOTP enrolment),
 * API keys, and the API key lookup the server uses to authenticate X-API-Key. Refresh tokens and
 * API key secrets are stored as SHA-256 only and shown once; passwords as Argon2id only.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_internal.h"

/* Issues an access and a refresh token for user (in c's transaction) into r. */
static int issue_tokens(struct api_req *q, PGconn *c, int64_t uid, const char *name,
			enum api_role role, struct api_resp *r)
{
	char tok[64], hash[65], uidbuf[24], ttl[24], err[256];
	const char *params[4];
	char *access;
	PGresult *res;

	if (api_random_token(tok, sizeof(tok), 32))
		return -EIO;
	api_sha256_hex(tok, strlen(tok), hash);
	snprintf(uidbuf, sizeof(uidbuf), "%lld", (long long)uid);
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)q->s->cfg.refresh_ttl_s);
	params[0] = uidbuf;
	params[1] = hash;
	params[2] = ttl;
	params[3] = q->ip[0] ? q->ip : NULL;
	res = api_db_exec(c,
			  "INSERT INTO refresh_tokens (user_id, token_hash, expires_at, source_ip) "
			  "VALUES ($1, $2, now() + $3::bigint * interval '1 second', $4::inet)",
			  4, params, err, sizeof(err));
	if (!res) {
		db_fail(r, "storing the refresh token", err);
		return -EIO;
	}
	PQclear(res);
	access = api_jwt_issue(q->s->jwt_key, q->s->jwt_keylen, uid, name, role,
			       q->s->cfg.access_ttl_s);
	if (!access) {
		api_resp_error(r, 503, NULL, "cannot issue a token");
		return -EIO;
	}
	r->status = 200;
	r->body = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:s, s:s}", "access_token", access,
			    "token_type", "Bearer", "expires_in",
			    (json_int_t)q->s->cfg.access_ttl_s, "refresh_token", tok,
			    "refresh_expires_in", (json_int_t)q->s->cfg.refresh_ttl_s, "user_id",
			    (json_int_t)uid, "username", name, "role", api_role_name(role));
	explicit_bzero(tok, sizeof(tok));
	free(access);
	return 0;
}

static bool login_rate_ok(struct api_req *q, struct api_resp *r)
{
	if (api_rate_take(&q->s->login_rate, api_hash64(q->ip, strlen(q->ip))))
		return true;
	api_resp_error(r, 429, NULL, "too many authentication attempts from %s", q->ip);
	return false;
}

void api_h_login(struct api_req *q, struct api_resp *r)
{
	struct api_login_body b;
	struct api_error e;
	char err[256], maxf[16], lock[24], uidbuf[24];
	const char *params[3];
	PGresult *res = NULL;
	PGconn *c;
	int64_t uid;
	enum api_role role = API_ROLE_NONE;
	bool ok;

	if (!login_rate_ok(q, r))
		return;
	if (api_body_login(q->body, q->len, &b, &e)) {
		api_resp_from_error(r, &e);
		return;
	}
	if (!(c = db_or_503(q, r)))
		goto out;
	params[0] = b.username;
	res = api_db_exec(c,
			  "SELECT id, password_hash, role, coalesce(totp_secret, ''), disabled, "
			  "coalesce(locked_until > now(), false), "
			  "coalesce(ceil(extract(epoch FROM locked_until - now())), 0)::bigint "
			  "FROM users WHERE username = $1",
			  1, params, err, sizeof(err));
	if (!res) {
		db_fail(r, "looking the user up", err);
		goto out;
	}
	snprintf(q->who.name, sizeof(q->who.name), "%s", b.username);
	if (PQntuples(res) != 1) {
		api_password_verify(q->s->dummy_hash, b.password);
		api_resp_error(r, 401, NULL, "invalid username or password");
		api_audit(c, q, "auth.login_failed", b.username,
			  json_pack("{s:s}", "reason", "unknown user"));
		goto out;
	}
	uid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	q->who.user_id = uid;
	if (api_role_parse(PQgetvalue(res, 0, 2), &role))
		role = API_ROLE_NONE;
	if (!strcmp(PQgetvalue(res, 0, 5), "t")) {
		api_resp_error(r, 401, "username",
			       "account locked for %s more seconds after "
			       "repeated failed logins",
			       PQgetvalue(res, 0, 6));
		api_audit(c, q, "auth.login_failed", b.username,
			  json_pack("{s:s}", "reason", "locked"));
		goto out;
	}
	ok = api_password_verify(PQgetvalue(res, 0, 1), b.password);
	if (ok && PQgetvalue(res, 0, 3)[0]) {
		if (!b.totp[0]) {
			/* The password was right; ask for the second factor without counting a
			 * failure, but do not confirm the password to a guesser either. */
			api_resp_error(r, 401, "totp", "a TOTP code is required for this user");
			goto out;
		}
		ok = api_totp_check(PQgetvalue(res, 0, 3), b.totp, time(NULL));
	}
	snprintf(uidbuf, sizeof(uidbuf), "%lld", (long long)uid);
	if (!ok) {
		PGresult *u;

		snprintf(maxf, sizeof(maxf), "%u", q->s->cfg.login_max_failures);
		snprintf(lock, sizeof(lock), "%llu", (unsigned long long)q->s->cfg.lockout_s);
		params[0] = uidbuf;
		params[1] = maxf;
		params[2] = lock;
		/* The failure that reaches the maximum locks the account and starts a new count. */
		u = api_db_exec(c,
				"UPDATE users SET "
				"locked_until = CASE WHEN failed_logins + 1 >= $2::int THEN "
				"now() + $3::bigint * interval '1 second' ELSE locked_until END, "
				"failed_logins = CASE WHEN failed_logins + 1 >= $2::int THEN 0 "
				"ELSE failed_logins + 1 END WHERE id = $1",
				3, params, err, sizeof(err));
		PQclear(u);
		api_resp_error(r, 401, b.totp[0] && PQgetvalue(res, 0, 3)[0] ? "totp" : NULL,
			       "invalid username or password%s",
			       b.totp[0] && PQgetvalue(res, 0, 3)[0] ? " or TOTP code" : "");
		api_audit(c, q, "auth.login_failed", b.username,
			  json_pack("{s:s}", "reason", "bad credentials"));
		goto out;
	}
	if (!strcmp(PQgetvalue(res, 0, 4), "t")) {
		api_resp_error(r, 401, "username", "account disabled");
		api_audit(c, q, "auth.login_failed", b.username,
			  json_pack("{s:s}", "reason", "disabled"));
		goto out;
	}
	params[0] = uidbuf;
	PQclear(api_db_exec(c,
			    "UPDATE users SET failed_logins = 0, locked_until = NULL, "
			    "last_login_at = now() WHERE id = $1",
			    1, params, err, sizeof(err)));
	if (issue_tokens(q, c, uid, b.username, role, r))
		goto out;
	q->who.role = role;
	api_audit(c, q, "auth.login", b.username, NULL);
out:
	explicit_bzero(&b, sizeof(b));
	PQclear(res);
	if (c)
		api_db_put(&q->s->db, c);
}

void api_h_refresh(struct api_req *q, struct api_resp *r)
{
	struct api_token_body b;
	struct api_error e;
	char hash[65], err[256];
	const char *params[1];
	PGresult *res = NULL;
	PGconn *c;
	enum api_role role;

	if (!login_rate_ok(q, r))
		return;
	if (api_body_token(q->body, q->len, &b, &e)) {
		api_resp_from_error(r, &e);
		return;
	}
	if (!(c = db_or_503(q, r)))
		return;
	api_sha256_hex(b.refresh_token, strlen(b.refresh_token), hash);
	params[0] = hash;
	/* Rotation: the token is spent by this use whatever follows. */
	res = api_db_exec(
		c,
		"UPDATE refresh_tokens t SET revoked_at = now() FROM users u "
		"WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() "
		"AND u.id = t.user_id RETURNING u.id, u.username, u.role, u.disabled",
		1, params, err, sizeof(err));
	if (!res) {
		db_fail(r, "checking the refresh token", err);
		goto out;
	}
	if (PQntuples(res) != 1 || !strcmp(PQgetvalue(res, 0, 3), "t")) {
		api_resp_error(r, 401, "refresh_token", "invalid, expired or used refresh token");
		goto out;
	}
	if (api_role_parse(PQgetvalue(res, 0, 2), &role))
		role = API_ROLE_NONE;
	q->who.user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(q->who.name, sizeof(q->who.name), "%s", PQgetvalue(res, 0, 1));
	if (!issue_tokens(q, c, q->who.user_id, PQgetvalue(res, 0, 1), role, r))
		api_audit(c, q, "auth.refresh", q->who.name, NULL);
out:
	explicit_bzero(&b, sizeof(b));
	PQclear(res);
	api_db_put(&q->s->db, c);
}

void api_h_logout(struct api_req *q, struct api_resp *r)
{
	struct api_token_body b;
	struct api_error e;
	char hash[65], err[256];
	const char *params[1];
	PGresult *res;
	PGconn *c;

	if (api_body_token(q->body, q->len, &b, &e)) {
		api_resp_from_error(r, &e);
		return;
	}
	if (!(c = db_or_503(q, r)))
		return;
	api_sha256_hex(b.refresh_token, strlen(b.refresh_token), hash);
	params[0] = hash;
	res = api_db_exec(c,
			  "UPDATE refresh_tokens t SET revoked_at = now() FROM users u "
			  "WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.id = t.user_id "
			  "RETURNING u.id, u.username",
			  1, params, err, sizeof(err));
	if (!res) {
		db_fail(r, "revoking the refresh token", err);
	} else {
		/* Idempotent: an unknown or spent token is logged out already. */
		r->status = 204;
		if (PQntuples(res) == 1) {
			q->who.user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			snprintf(q->who.name, sizeof(q->who.name), "%s", PQgetvalue(res, 0, 1));
			api_audit(c, q, "auth.logout", q->who.name, NULL);
		}
	}
	explicit_bzero(&b, sizeof(b));
	PQclear(res);
	api_db_put(&q->s->db, c);
}

/* ---- users ---- */

#define USER_COLS                                                                       \
	"id, username, display_name, role, disabled, totp_secret IS NOT NULL AS totp, " \
	"coalesce(locked_until > now(), false) AS locked, created_at, updated_at, last_login_at"

/* Runs a query whose one cell is JSON text and parses it; sets r (503) on failure. */
static json_t *query_json(PGconn *c, const char *sql, int n, const char *const *params,
			  struct api_resp *r, const char *what)
{
	char err[256];
	PGresult *res = api_db_exec(c, sql, n, params, err, sizeof(err));
	json_t *j = NULL;

	if (!res) {
		db_fail(r, what, err);
		return NULL;
	}
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		j = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
	else
		j = json_null();
	PQclear(res);
	return j;
}

void api_h_users_list(struct api_req *q, struct api_resp *r)
{
	PGconn *c = db_or_503(q, r);
	json_t *j;

	if (!c)
		return;
	j = query_json(c,
		       "SELECT coalesce(json_agg(u ORDER BY u.id), '[]') FROM (SELECT " USER_COLS
		       " FROM users) u",
		       0, NULL, r, "listing users");
	if (j)
		r->body = json_pack("{s:o}", "users", j);
	api_db_put(&q->s->db, c);
}

void api_h_user_get(struct api_req *q, struct api_resp *r)
{
	char id[24];
	const char *params[1] = { id };
	PGconn *c = db_or_503(q, r);
	json_t *j;

	if (!c)
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)q->id[0]);
	j = query_json(c,
		       "SELECT row_to_json(u) FROM (SELECT " USER_COLS
		       " FROM users WHERE id = $1::bigint) u",
		       1, params, r, "reading the user");
	if (j && json_is_null(j)) {
		api_resp_error(r, 404, NULL, "no user %s", id);
		json_decref(j);
	} else if (j) {
		r->body = j;
	}
	api_db_put(&q->s->db, c);
}

void api_h_user_create(struct api_req *q, struct api_resp *r)
{
	struct api_user_body b;
	struct api_error e;
	char hash[160], err[256];
	const char *params[4];
	PGresult *res;
	PGconn *c;

	if (api_body_user_create(q->body, q->len, &b, &e)) {
		api_resp_from_error(r, &e);
		return;
	}
	if (api_password_hash(b.password, q->s->cfg.argon2_t_cost, q->s->cfg.argon2_m_kib, hash,
			      sizeof(hash))) {
		api_resp_error(r, 503, NULL, "cannot hash the password");
		goto out_nodb;
	}
	if (!(c = db_or_503(q, r)))
		goto out_nodb;
	params[0] = b.username;
	params[1] = b.display_name;
	params[2] = hash;
	params[3] = api_role_name(b.role);
	res = api_db_exec(c, "BEGIN", 0, NULL, err, sizeof(err));
	PQclear(res);
	res = api_db_exec(c,
			  "INSERT INTO users (username, display_name, password_hash, role) "
			  "VALUES ($1, $2, $3, $4) RETURNING id",
			  4, params, err, sizeof(err));
	if (!res) {
		if (is_unique_violation(err))
			api_resp_error(r, 409, "username", "user %s exists already", b.username);
		else
			db_fail(r, "creating the user", err);
		goto out;
	}
	r->status = 201;
	r->body = json_pack("{s:I, s:s, s:s}", "id",
			    (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10), "username",
			    b.username, "role", api_role_name(b.role));
	PQclear(res);
	if (api_audit(c, q, "user.create", b.username,
		      json_pack("{s:s}", "role", api_role_name(b.role)))) {
		api_resp_error(r, 503, NULL, "cannot write the audit log");
		goto out;
	}
	PQclear(api_db_exec(c, "COMMIT", 0, NULL, err, sizeof(err)));
out:
	api_db_put(&q->s->db, c);
out_nodb:
	explicit_bzero(&b, sizeof(b));
	explicit_bzero(hash, sizeof(hash));
}

/*
 * Whether changing or deleting user id would leave no enabled admin (the API could then never
 * manage users again). Locks the admins' rows so two concurrent demotions cannot both pass.
 */
static int last_admin(PGconn *c, const char *id, bool *last, char *err, size_t errlen)
{
	const char *params[1] = { id };
	PGresult *res = api_db_exec(c,
				    "SELECT count(*) FILTER (WHERE id <> $1::bigint), "
				    "bool_or(id = $1::bigint) FROM (SELECT id FROM users WHERE "
				    "role = 'admin' AND NOT disabled FOR UPDATE) a",
				    1, params, err, errlen);

	if (!res)
		return -EIO;
	*last = !strcmp(PQgetvalue(res, 0, 1), "t") && !strcmp(PQgetvalue(res, 0, 0), "0");
	PQclear(res);
	return 0;
}

void api_h_user_update(struct api_req *q, struct api_resp *r)
{
	struct api_user_body b;
	struct api_error e;
	char id[24], hash[160] = "", err[256];
	const char *params[5];
	PGresult *res;
	PGconn *c;
	json_t *changed;
	bool last;

	if (api_body_user_update(q->body, q->len, &b, &e)) {
		api_resp_from_error(r, &e);
		return;
	}
	if ((b.has & API_USER_HAS_PASSWORD) &&
	    api_password_hash(b.password, q->s->cfg.argon2_t_cost, q->s->cfg.argon2_m_kib, hash,
			      sizeof(hash))) {
		api_resp_error(r, 503, NULL, "cannot hash the password");
		goto out_nodb;
	}
	if (!(c = db_or_503(q, r)))
		goto out_nodb;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)q->id[0]);
	PQclear(api_db_exec(c, "BEGIN", 0, NULL, err, sizeof(err)));
	if (((b.has & API_USER_HAS_ROLE) && b.role != API_ROLE_ADMIN) ||
	    ((b.has & API_USER_HAS_DISABLED) && b.disabled)) {
		if (last_admin(c, id, &last, err, sizeof(err))) {
			db_fail(r, "checking the admins", err);
			goto out;
		}
		if (last) {
			api_resp_error(r, 409, (b.has & API_USER_HAS_ROLE) ? "role" : "disabled",
				       "user %s is the last enabled admin", id);
			goto out;
		}
	}
	params[0] = id;
	params[1] = (b.has & API_USER_HAS_ROLE) ? api_role_name(b.role) : NULL;
	params[2] = (b.has & API_USER_HAS_DISPLAY) ? b.display_name : NULL;
	params[3] = (b.has & API_USER_HAS_DISABLED) ? (b.disabled ? "true" : "false") : NULL;
	params[4] = (b.has & API_USER_HAS_PASSWORD) ? hash : NULL;
	res = api_db_exec(c,
			  "UPDATE users SET role = coalesce($2, role), "
			  "display_name = coalesce($3, display_name), "
			  "disabled = coalesce($4::boolean, disabled), "
			  "password_hash = coalesce($5, password_hash), updated_at = now(), "
			  "failed_logins = CASE WHEN $5 IS NULL THEN failed_logins ELSE 0 END, "
			  "locked_until = CASE WHEN $5 IS NULL THEN locked_until END "
			  "WHERE id = $1::bigint RETURNING username",
			  5, params, err, sizeof(err));
	if (!res) {
		db_fail(r, "updating the user", err);
		goto out;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		api_resp_error(r, 404, NULL, "no user %s", id);
		goto out;
	}
	changed = json_object();
	if (b.has & API_USER_HAS_ROLE)
		json_object_set_new(changed, "role", json_string(api_role_name(b.role)));
	if (b.has & API_USER_HAS_DISPLAY)
		json_object_set_new(changed, "display_name", json_string(b.display_name));
	if (b.has & API_USER_HAS_DISABLED)
		json_object_set_new(changed, "disabled", json_boolean(b.disabled));
	if (b.has & API_USER_HAS_PASSWORD)
		json_object_set_new(changed, "password", json_string("changed"));
	/* A new password, a new role or a disabled account ends the sessions it had. */
	if (b.has & (API_USER_HAS_PASSWORD | API_USER_HAS_ROLE | API_USER_HAS_DISABLED))
		PQclear(api_db_exec(c,
				    "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = "
				    "$1::bigint AND revoked_at IS NULL",
				    1, params, err, sizeof(err)));
	if (api_audit(c, q, "user.update", PQgetvalue(res, 0, 0), json_incref(changed))) {
		json_decref(changed);
		PQclear(res);
		api_resp_error(r, 503, NULL, "cannot write the audit log");
		goto out;
	}
	PQclear(res);
	PQclear(api_db_exec(c, "COMMIT", 0, NULL, err, sizeof(err)));
	r->body = json_pack("{s:I, s:o}", "id", (json_int_t)q->id[0], "changed", changed);
out:
	api_db_put(&q->s->db, c);
out_nodb:
	explicit_bzero(&b, sizeof(b));
	explicit_bzero(hash, sizeof(hash));
}

void api_h_user_delete(struct api_req *q, struct api_resp *r)
{
	char id[24], err[256];
	const char *params[1] = { id };
	PGresult *res;
	PGconn *c = db_or_503(q, r);
	bool last;

	if (!c)
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)q->id[0]);
	PQclear(api_db_exec(c, "BEGIN", 0, NULL, err, sizeof(err)));
	if (last_admin(c, id, &last, err, sizeof(err))) {
		db_fail(r, "checking the admins", err);
		goto out;
	}
	if (last) {
		api_resp_error(r, 409, NULL, "user %s is the last enabled admin", id);
		goto out;
	}
	res = api_db_exec(c, "DELETE FROM users WHERE id = $1::bigint RETURNING username", 1,
			  params, err, sizeof(err));
	if (!res) {
		db_fail(r, "deleting the user", err);
		goto out;
	}
	if (PQntuples(res) != 1) {
		api_resp_error(r, 404, NULL, "no user %s", id);
	} else if (api_audit(c, q, "user.delete", PQgetvalue(res, 0, 0), NULL)) {
		api_resp_error(r, 503, NULL, "cannot write the audit log");
	} else {
		PQclear(api_db_exec(c, "COMMIT", 0, NULL, err, sizeof(err)));
		r->status = 204;
	}
	PQclear(res);
out:
	api_db_put(&q->s->db, c);
}

void api_h_user_totp(struct api_req *q, struct api_resp *r)
{
	bool enrol = !strcmp(q->method, "POST");
	char id[24], secret[64] = "", err[256];
	const char *params[2] = { id, NULL };
	PGresult *res;
	PGconn *c;

	if (enrol && api_totp_new_secret(secret, sizeof(secret))) {
		api_resp_error(r, 503, NULL, "cannot make a TOTP secret");
		return;
	}
	if (!(c = db_or_503(q, r)))
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)q->id[0]);
	params[1] = enrol ? secret : NULL;
	PQclear(api_db_exec(c, "BEGIN", 0, NULL, err, sizeof(err)));
	res = api_db_exec(c,
			  "UPDATE users SET totp_secret = $2, updated_at = now() "
			  "WHERE id = $1::bigint RETURNING username",
			  2, params, err, sizeof(err));
	if (!res) {
		db_fail(r, "setting the TOTP secret", err);
	} else if (PQntuples(res) != 1) {
		api_resp_error(r, 404, NULL, "no user %s", id);
	} else if (api_audit(c, q, enrol ? "user.totp_enrol" : "user.totp_remove",
			     PQgetvalue(res, 0, 0), NULL)) {
		api_resp_error(r, 503, NULL, "cannot write the audit log");
	} else {
		PQclear(api_db_exec(c, "COMMIT", 0, NULL, err, sizeof(err)));
		if (enrol) {
			char uri[256];

			snprintf(uri, sizeof(uri),
				 "otpauth://totp/tradsys:%s?secret=%s&issuer=tradsys&period=30&"
				 "digits=6",
				 PQgetvalue(res, 0, 0), secret);
			r->status = 201;
			r->body = json_pack("{s:s, s:s}", "secret", secret, "otpauth_uri", uri);
		} else {
			r->status = 204;
		}
	}
	PQclear(res);
	explicit_bzero(secret, sizeof(secret));
	api_db_put(&q->s->db, c);
}

/* ---- API keys: "tsk_<12 hex prefix>_<secret>" ---- */

void api_h_user_key(struct api_req *q, struct api_resp *r)
{
	struct api_key_body b;
	struct api_error e;
	unsigned char pfx_raw[6];
	char id[24], prefix[16], secret[64], hash[65], exp[24], err[256], key[96];
	const char *params[5];
	enum api_role urole, role;
	PGresult *res = NULL;
	PGconn *c;

	if (api_body_api_key(q->body, q->len, &b, &e)) {
		api_resp_from_error(r, &e);
		return;
	}
	if (api_random(pfx_raw, sizeof(pfx_raw)) || api_random_token(secret, sizeof(secret), 32)) {
		api_resp_error(r, 503, NULL, "cannot make a key");
		return;
	}
	for (int i = 0; i < 6; i++)
		sprintf(prefix + 2 * i, "%02x", pfx_raw[i]);
	api_sha256_hex(secret, strlen(secret), hash);
	if (!(c = db_or_503(q, r)))
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)q->id[0]);
	params[0] = id;
	PQclear(api_db_exec(c, "BEGIN", 0, NULL, err, sizeof(err)));
	res = api_db_exec(c, "SELECT role, username FROM users WHERE id = $1::bigint FOR UPDATE", 1,
			  params, err, sizeof(err));
	if (!res) {
		db_fail(r, "reading the user", err);
		goto out;
	}
	if (PQntuples(res) != 1) {
		api_resp_error(r, 404, NULL, "no user %s", id);
		goto out;
	}
	if (api_role_parse(PQgetvalue(res, 0, 0), &urole))
		urole = API_ROLE_NONE;
	role = b.role == API_ROLE_NONE ? urole : b.role;
	/* A key acts for its user: it may do less than the user, never more. */
	if (role > urole) {
		api_resp_error(r, 400, "role", "a key cannot have more rights than its user (%s)",
			       api_role_name(urole));
		goto out;
	}
	snprintf(exp, sizeof(exp), "%lld", (long long)b.expires_in_s);
	params[1] = prefix;
	params[2] = hash;
	params[3] = api_role_name(role);
	params[4] = b.expires_in_s ? exp : NULL;
	snprintf(key, sizeof(key), "tsk_%s_%s", prefix, secret);
	{
		PGresult *ins = api_db_exec(
			c,
			"INSERT INTO api_keys (user_id, key_prefix, key_hash, role, expires_at) "
			"VALUES ($1::bigint, $2, $3, $4, now() + $5::bigint * interval '1 second') "
			"RETURNING id",
			5, params, err, sizeof(err));

		if (!ins) {
			db_fail(r, "storing the key", err);
			goto out;
		}
		r->status = 201;
		r->body = json_pack("{s:I, s:s, s:s, s:s, s:I}", "id",
				    (json_int_t)strtoll(PQgetvalue(ins, 0, 0), NULL, 10), "key",
				    key, "prefix", prefix, "role", api_role_name(role),
				    "expires_in_s", (json_int_t)b.expires_in_s);
		PQclear(ins);
	}
	if (api_audit(c, q, "api_key.create", PQgetvalue(res, 0, 1),
		      json_pack("{s:s, s:s}", "prefix", prefix, "role", api_role_name(role)))) {
		api_resp_error(r, 503, NULL, "cannot write the audit log");
		goto out;
	}
	PQclear(api_db_exec(c, "COMMIT", 0, NULL, err, sizeof(err)));
out:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(key, sizeof(key));
	PQclear(res);
	api_db_put(&q->s->db, c);
}

void api_h_key_delete(struct api_req *q, struct api_resp *r)
{
	char id[24], err[256];
	const char *params[1] = { id };
	PGresult *res;
	PGconn *c = db_or_503(q, r);

	if (!c)
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)q->id[0]);
	PQclear(api_db_exec(c, "BEGIN", 0, NULL, err, sizeof(err)));
	res = api_db_exec(c,
			  "UPDATE api_keys SET revoked_at = now() WHERE id = $1::bigint AND "
			  "revoked_at IS NULL RETURNING key_prefix",
			  1, params, err, sizeof(err));
	if (!res)
		db_fail(r, "revoking the key", err);
	else if (PQntuples(res) != 1)
		api_resp_error(r, 404, NULL, "no active API key %s", id);
	else if (api_audit(c, q, "api_key.revoke", PQgetvalue(res, 0, 0), NULL))
		api_resp_error(r, 503, NULL, "cannot write the audit log");
	else {
		PQclear(api_db_exec(c, "COMMIT", 0, NULL, err, sizeof(err)));
		r->status = 204;
	}
	PQclear(res);
	api_db_put(&q->s->db, c);
}

int api_key_lookup(struct api_server *s, const char *key, struct api_principal *who)
{
	char prefix[13], hash[65], err[256];
	const char *params[1] = { prefix };
	const char *secret;
	PGresult *res;
	PGconn *c;
	int rc = -EACCES;

	if (strncmp(key, "tsk_", 4) || strlen(key) < 4 + 12 + 2 || key[16] != '_' ||
	    strlen(key) > 90)
		return -EACCES;
	memcpy(prefix, key + 4, 12);
	prefix[12] = 0;
	secret = key + 17;
	api_sha256_hex(secret, strlen(secret), hash);
	if (!(c = api_db_get(&s->db)))
		return -EIO;
	res = api_db_exec(
		c,
		"SELECT k.key_hash, k.role, u.id, u.username FROM api_keys k JOIN users u "
		"ON u.id = k.user_id WHERE k.key_prefix = $1 AND k.revoked_at IS NULL "
		"AND (k.expires_at IS NULL OR k.expires_at > now()) AND NOT u.disabled",
		1, params, err, sizeof(err));
	if (!res) {
		rc = -EIO;
	} else if (PQntuples(res) == 1 && strlen(PQgetvalue(res, 0, 0)) == 64 &&
		   !CRYPTO_memcmp(PQgetvalue(res, 0, 0), hash, 64)) {
		memset(who, 0, sizeof(*who));
		if (api_role_parse(PQgetvalue(res, 0, 1), &who->role))
			who->role = API_ROLE_NONE;
		who->user_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		snprintf(who->name, sizeof(who->name), "%s (key %s)", PQgetvalue(res, 0, 3),
			 prefix);
		who->rate_key = api_hash64(prefix, 12) ^ 0x9e3779b97f4a7c15ull;
		who->via_key = true;
		rc = 0;
	}
	PQclear(res);
	api_db_put(&s->db, c);
	return rc;
}
