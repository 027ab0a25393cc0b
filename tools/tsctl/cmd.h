/*
 * The tsctl executable's internal interface: the HTTPS client over libcurl (one keep-alive
 * connection, the bearer token from the token file, one automatic refresh on 401) and the
 * subcommands, each `int cmd_x(struct tsctl_client *c, int argc, char **argv)` returning an exit
 * code (enum tsctl_exit) with argv[0] the command's name.
 */
#ifndef TRADSYS_TSCTL_CMD_H
#define TRADSYS_TSCTL_CMD_H

#include <curl/curl.h>

#include "tsctl.h"

struct tsctl_client {
	const struct tsctl_opts *o;
	CURL *curl;
	char url[512]; /* the server: --url, TSCTL_URL, the token file's, or the default */
	struct tsctl_token tok;
	bool have_token; /* tok holds tokens for url */
	int token_err; /* why not: tsctl_token_load's return, or -ESRCH for another server's */
	char err[CURL_ERROR_SIZE];
};

/* Connects nothing yet: loads the token file and picks the URL. Returns 0 or -ENOMEM. */
int tsctl_client_init(struct tsctl_client *c, const struct tsctl_opts *o);

void tsctl_client_fini(struct tsctl_client *c);

/*
 * One request. body (may be NULL) is sent as JSON. With auth, the access token goes along and a
 * 401 is answered once by refreshing the tokens (saved to the token file) and retrying. On any
 * HTTP answer returns 0 with *status and *out (the parsed body, or NULL when empty; the caller
 * owns it); -EIO when no answer came (c->err says why), -EACCES when auth is wanted and there is
 * no token for this server.
 */
int tsctl_request(struct tsctl_client *c, const char *method, const char *path, const json_t *body,
		  bool auth, long *status, json_t **out);

/*
 * tsctl_request for a command: on success *out is the body (NULL for 204) and 0 is returned;
 * otherwise the error is printed on stderr (with the field for a 4xx) and the exit code for it
 * is returned.
 */
int tsctl_call(struct tsctl_client *c, const char *method, const char *path, const json_t *body,
	       json_t **out);

/* Takes the tokens of a login or refresh answer j into c->tok (for c->url). Returns 0 or
 * -EPROTO when j has none. */
int tsctl_client_take_tokens(struct tsctl_client *c, const json_t *j);

/* Wipes the token strings inside a login or refresh answer, then frees it. */
void tsctl_wipe_answer(json_t *j);

/*
 * Prints on stderr what went wrong with a request (tsctl_request's rc, the HTTP status and
 * answer j) and returns the exit code; 0, printing nothing, for a 2xx.
 */
int tsctl_report(struct tsctl_client *c, int rc, long status, json_t *j, const char *method);

/* Appends "?key=value" or "&key=value" (value URL-encoded; NULL: nothing) to the path in buf.
 * Returns 0, -ENOMEM or -ENAMETOOLONG. */
int tsctl_query_add(char *buf, size_t len, const char *key, const char *value);

/* Prints a JSON answer for --json (compact, one line). */
void tsctl_print_json(const json_t *j);

/* Prints "tsctl: usage: ..." for a command and returns TSCTL_EXIT_USAGE. */
int tsctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "tsctl: field 'f': msg" and returns TSCTL_EXIT_BAD_REQUEST: a value refused before
 * it is sent, reported the way the server reports one. */
int tsctl_field_error(const char *field, const char *msg);

/* Reads a secret from the terminal without echo (prompt on stderr). Returns 0 or -errno. */
int tsctl_read_secret(const char *prompt, char *out, size_t outlen);

int cmd_login(struct tsctl_client *c, int argc, char **argv);
int cmd_logout(struct tsctl_client *c, int argc, char **argv);
int cmd_status(struct tsctl_client *c, int argc, char **argv);
int cmd_orders(struct tsctl_client *c, int argc, char **argv);
int cmd_order(struct tsctl_client *c, int argc, char **argv);
int cmd_positions(struct tsctl_client *c, int argc, char **argv);
int cmd_balances(struct tsctl_client *c, int argc, char **argv);
int cmd_risk(struct tsctl_client *c, int argc, char **argv);
int cmd_kill(struct tsctl_client *c, int argc, char **argv);
int cmd_users(struct tsctl_client *c, int argc, char **argv);
int cmd_audit(struct tsctl_client *c, int argc, char **argv);
int cmd_top(struct tsctl_client *c, int argc, char **argv);
int cmd_venues(struct tsctl_client *c, int argc, char **argv);

#endif
