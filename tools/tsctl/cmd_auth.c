/*
 * `tsctl login USER [--totp CODE]` and `tsctl logout`. The password comes from TSCTL_PASSWORD
 * or a prompt on the terminal with echo off, never from the command line (where ps would show
 * it); it and the tokens are wiped from memory after use and never printed, also not with --json.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static void print_logged_out(bool out)
{
	json_t *j = json_pack("{s:b}", "logged_out", out);

	tsctl_print_json(j);
	json_decref(j);
}

/* Wipes the password inside a login body, then frees it. */
static void wipe_body(json_t *b)
{
	json_t *v = json_object_get(b, "password");

	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
	json_decref(b);
}

int cmd_login(struct tsctl_client *c, int argc, char **argv)
{
	struct tsctl_flag flags[] = { { "--totp", true, NULL } };
	char err[160], pw[260] = "", totp[16] = "", prompt[700], *pos[16];
	const char *env_pw = getenv("TSCTL_PASSWORD");
	json_t *body = NULL, *j = NULL;
	long status = 0;
	int npos, rc, code;

	if (argc - 1 > 16 ||
	    tsctl_flags_parse(argc - 1, argv + 1, flags, 1, pos, &npos, err, sizeof(err)))
		return tsctl_usage_error("%s; tsctl login USER [--totp CODE]",
					 argc - 1 > 16 ? "too many arguments" : err);
	if (npos != 1)
		return tsctl_usage_error("tsctl login USER [--totp CODE]");
	if (flags[0].value)
		snprintf(totp, sizeof(totp), "%s", flags[0].value);
	if (env_pw && *env_pw) {
		if (strlen(env_pw) >= sizeof(pw))
			return tsctl_field_error("password", "TSCTL_PASSWORD is too long");
		snprintf(pw, sizeof(pw), "%s", env_pw);
	} else {
		snprintf(prompt, sizeof(prompt), "Password for %.80s at %.500s: ", pos[0], c->url);
		rc = tsctl_read_secret(prompt, pw, sizeof(pw));
		if (rc) {
			fprintf(stderr, "tsctl: no password: set TSCTL_PASSWORD or run on a "
					"terminal\n");
			return TSCTL_EXIT_USAGE;
		}
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		body = json_pack("{s:s, s:s}", "username", pos[0], "password", pw);
		if (body && totp[0])
			json_object_set_new(body, "totp", json_string(totp));
		if (!body) {
			code = TSCTL_EXIT_SERVER;
			goto out;
		}
		rc = tsctl_request(c, "POST", "/api/v1/auth/login", body, false, &status, &j);
		wipe_body(body);
		body = NULL;
		/* The password was right and a second factor is wanted: ask for it once. */
		if (!rc && status == 401 && !totp[0] &&
		    !strcmp(json_string_value(json_object_get(j, "field")) ?: "", "totp") &&
		    !tsctl_read_secret("TOTP code: ", totp, sizeof(totp))) {
			json_decref(j);
			j = NULL;
			continue;
		}
		break;
	}
	code = tsctl_report(c, rc, status, j, "POST");
	if (code) {
		if (!rc && status == 401 &&
		    !strcmp(json_string_value(json_object_get(j, "field")) ?: "", "totp") &&
		    !totp[0])
			fprintf(stderr, "tsctl: give the code with --totp CODE\n");
		goto out;
	}
	if (tsctl_client_take_tokens(c, j)) {
		fprintf(stderr, "tsctl: the login answer has no tokens\n");
		code = TSCTL_EXIT_SERVER;
		goto out;
	}
	rc = tsctl_token_save(c->o->token_file, &c->tok);
	if (rc) {
		fprintf(stderr, "tsctl: cannot save the tokens to %s: %s\n", c->o->token_file,
			strerror(-rc));
		code = TSCTL_EXIT_USAGE;
		goto out;
	}
	if (c->o->json) {
		json_t *o = json_pack("{s:s, s:s, s:O?, s:O?, s:O?, s:O?, s:s}", "url", c->url,
				      "username", c->tok.username, "role",
				      json_object_get(j, "role"), "user_id",
				      json_object_get(j, "user_id"), "expires_in",
				      json_object_get(j, "expires_in"), "refresh_expires_in",
				      json_object_get(j, "refresh_expires_in"), "token_file",
				      c->o->token_file);

		tsctl_print_json(o);
		json_decref(o);
	} else {
		char u[100], r[20];

		printf("logged in to %s as %s (%s); session kept in %s\n", c->url,
		       tsctl_sanitize(c->tok.username, 64, u, sizeof(u)),
		       tsctl_sanitize(c->tok.role, 16, r, sizeof(r)), c->o->token_file);
	}
out:
	if (j)
		tsctl_wipe_answer(j);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(totp, sizeof(totp));
	return code;
}

int cmd_logout(struct tsctl_client *c, int argc, char **argv)
{
	json_t *body, *j = NULL;
	long status = 0;
	int rc, code;

	if (argc != 1)
		return tsctl_usage_error("tsctl logout");
	if (!c->have_token) {
		/* An unreadable or foreign token file is still ours to remove. */
		if (c->token_err != -ENOENT && c->token_err != -ESRCH)
			tsctl_token_remove(c->o->token_file);
		if (!c->o->json)
			printf("not logged in to %s\n", c->url);
		else
			print_logged_out(false);
		return 0;
	}
	body = json_pack("{s:s}", "refresh_token", c->tok.refresh);
	rc = tsctl_request(c, "POST", "/api/v1/auth/logout", body, false, &status, &j);
	if (body) {
		json_t *v = json_object_get(body, "refresh_token");

		explicit_bzero((char *)json_string_value(v), json_string_length(v));
		json_decref(body);
	}
	code = tsctl_report(c, rc, status, j, "POST");
	json_decref(j);
	/* The local session ends whatever the server said; a refresh token it could not revoke
	 * expires on its own. */
	rc = tsctl_token_remove(c->o->token_file);
	if (rc) {
		fprintf(stderr, "tsctl: cannot remove %s: %s\n", c->o->token_file, strerror(-rc));
		return code ? code : TSCTL_EXIT_USAGE;
	}
	tsctl_token_wipe(&c->tok);
	c->have_token = false;
	if (code)
		fprintf(stderr,
			"tsctl: the local session is removed; the server did not confirm\n");
	else if (c->o->json)
		print_logged_out(true);
	else
		printf("logged out of %s\n", c->url);
	return code;
}
