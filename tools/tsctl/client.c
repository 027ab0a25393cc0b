/*
 * tsctl's HTTPS client: libcurl with one easy handle (so a command's requests share one TLS
 * connection), the bearer token from the token file, and one refresh on a 401. Refreshing spends
 * the refresh token (the server rotates them), so two tsctl runs must not both try: the refresh
 * happens under an flock on "<token file>.lock", and a run that waited there takes the tokens the
 * other one saved instead of spending the same refresh token again. Errors become the exit codes
 * of tsctl.h; no token or password is ever printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"

#define ANSWER_MAX (16u << 20)

struct buf {
	char *p;
	size_t len, cap;
	bool too_big;
};

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	size_t add = size * n;

	if (b->len + add > ANSWER_MAX) {
		b->too_big = true;
		return 0; /* makes curl fail the transfer */
	}
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + add + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, add);
	b->len += add;
	b->p[b->len] = 0;
	return add;
}

int tsctl_client_init(struct tsctl_client *c, const struct tsctl_opts *o)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->o = o;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -ENOMEM;
	c->curl = curl_easy_init();
	if (!c->curl)
		return -ENOMEM;
	rc = tsctl_token_load(o->token_file, &c->tok);
	if (o->url[0])
		snprintf(c->url, sizeof(c->url), "%s", o->url);
	else if (!rc)
		snprintf(c->url, sizeof(c->url), "%s", c->tok.url);
	else
		snprintf(c->url, sizeof(c->url), "%s", TSCTL_DEFAULT_URL);
	if (!rc && strcmp(c->tok.url, c->url))
		rc = -ESRCH; /* tokens of another server are never sent to this one */
	c->have_token = !rc;
	c->token_err = rc;
	if (rc)
		tsctl_token_wipe(&c->tok);
	return 0;
}

void tsctl_client_fini(struct tsctl_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
	tsctl_token_wipe(&c->tok);
	curl_global_cleanup();
}

/* Frees a header list after wiping it: one of its entries carries the bearer token. */
static void free_headers(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

/* One exchange, no retry. */
static int exchange(struct tsctl_client *c, const char *method, const char *path, const char *body,
		    bool auth, long *status, json_t **out)
{
	char url[1024], bearer[sizeof(c->tok.access) + 32];
	struct curl_slist *h = NULL, *t;
	struct buf b = { 0 };
	json_error_t jerr;
	CURLcode cc;
	int rc = 0;

	*status = 0;
	*out = NULL;
	c->err[0] = 0;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->url, path) >= sizeof(url)) {
		snprintf(c->err, sizeof(c->err), "URL too long");
		return -EIO;
	}
	curl_easy_reset(c->curl); /* keeps the open connection */
	t = curl_slist_append(h, "Accept: application/json");
	if (t)
		t = curl_slist_append(h = t, "Expect:");
	if (t && body)
		t = curl_slist_append(h = t, "Content-Type: application/json");
	if (t && auth) {
		snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", c->tok.access);
		t = curl_slist_append(h = t, bearer);
		explicit_bzero(bearer, sizeof(bearer));
	}
	if (!t) {
		free_headers(h);
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -EIO;
	}
	h = t;
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->err);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "tsctl/1");
	if (c->o->cacert[0])
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->o->cacert);
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
		if (body || strcmp(method, "DELETE")) {
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE,
					 (long)(body ? strlen(body) : 0));
		}
	}
	cc = curl_easy_perform(c->curl);
	free_headers(h);
	if (cc != CURLE_OK) {
		if (b.too_big)
			snprintf(c->err, sizeof(c->err), "answer larger than %u bytes", ANSWER_MAX);
		else if (!c->err[0])
			snprintf(c->err, sizeof(c->err), "%s", curl_easy_strerror(cc));
		rc = -EIO;
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	if (b.len) {
		*out = json_loadb(b.p, b.len, 0, &jerr);
		if (!*out) {
			snprintf(c->err, sizeof(c->err), "the answer (HTTP %ld) is not JSON: %s",
				 *status, jerr.text);
			rc = -EPROTO;
		}
	}
out:
	if (b.p)
		explicit_bzero(b.p, b.len); /* login and refresh answers carry tokens */
	free(b.p);
	return rc;
}

int tsctl_client_take_tokens(struct tsctl_client *c, const json_t *j)
{
	const char *a = json_string_value(json_object_get(j, "access_token"));
	const char *r = json_string_value(json_object_get(j, "refresh_token"));
	const char *u = json_string_value(json_object_get(j, "username"));
	const char *role = json_string_value(json_object_get(j, "role"));

	if (!a || !r || strlen(a) >= sizeof(c->tok.access) || strlen(r) >= sizeof(c->tok.refresh))
		return -EPROTO;
	snprintf(c->tok.url, sizeof(c->tok.url), "%s", c->url);
	snprintf(c->tok.access, sizeof(c->tok.access), "%s", a);
	snprintf(c->tok.refresh, sizeof(c->tok.refresh), "%s", r);
	if (u)
		snprintf(c->tok.username, sizeof(c->tok.username), "%s", u);
	if (role)
		snprintf(c->tok.role, sizeof(c->tok.role), "%s", role);
	c->have_token = true;
	c->token_err = 0;
	return 0;
}

void tsctl_wipe_answer(json_t *j)
{
	static const char *const keys[] = { "access_token", "refresh_token" };

	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(j, keys[i]);

		if (json_is_string(v))
			explicit_bzero((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(j);
}

/*
 * Refreshes c->tok after a 401. Returns 0 with new tokens; -EACCES when the server refused, with
 * its status and answer in *status and *out (401 for a spent or expired refresh token); -EIO or
 * -EPROTO when no usable answer came.
 */
static int refresh(struct tsctl_client *c, long *status, json_t **out)
{
	char lock[sizeof(c->o->token_file) + 8];
	struct tsctl_token disk;
	json_t *body = NULL;
	char *text = NULL;
	int fd, rc;

	snprintf(lock, sizeof(lock), "%s.lock", c->o->token_file);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX)) {
		close(fd);
		fd = -1;
	}
	/* Someone else may have refreshed while we waited: their tokens are good, ours spent. */
	if (!tsctl_token_load(c->o->token_file, &disk) && !strcmp(disk.url, c->url) &&
	    strcmp(disk.access, c->tok.access)) {
		c->tok = disk;
		tsctl_token_wipe(&disk);
		rc = 0;
		goto out;
	}
	tsctl_token_wipe(&disk);
	body = json_pack("{s:s}", "refresh_token", c->tok.refresh);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (!text) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		rc = -EIO;
		goto out;
	}
	rc = exchange(c, "POST", "/api/v1/auth/refresh", text, false, status, out);
	if (rc)
		goto out;
	if (*status != 200) {
		rc = -EACCES;
		goto out;
	}
	rc = tsctl_client_take_tokens(c, *out);
	tsctl_wipe_answer(*out);
	*out = NULL;
	if (rc) {
		snprintf(c->err, sizeof(c->err), "the refresh answer has no tokens");
		rc = -EPROTO;
		goto out;
	}
	rc = tsctl_token_save(c->o->token_file, &c->tok);
	if (rc)
		fprintf(stderr, "tsctl: warning: cannot save the refreshed tokens to %s: %s\n",
			c->o->token_file, strerror(-rc));
	rc = 0;
out:
	if (text)
		explicit_bzero(text, strlen(text));
	free(text);
	if (body) {
		json_t *v = json_object_get(body, "refresh_token");

		explicit_bzero((char *)json_string_value(v), json_string_length(v));
		json_decref(body);
	}
	if (fd >= 0)
		close(fd); /* releases the lock */
	return rc;
}

int tsctl_request(struct tsctl_client *c, const char *method, const char *path, const json_t *body,
		  bool auth, long *status, json_t **out)
{
	char *text = NULL;
	int rc;

	*out = NULL;
	if (auth && !c->have_token)
		return -EACCES;
	if (body && !(text = json_dumps(body, JSON_COMPACT))) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -EIO;
	}
	rc = exchange(c, method, path, text, auth, status, out);
	if (!rc && auth && *status == 401) {
		json_decref(*out);
		*out = NULL;
		rc = refresh(c, status, out);
		if (!rc)
			rc = exchange(c, method, path, text, auth, status, out);
		else if (rc == -EACCES)
			rc = 0; /* the refresh's own answer (a spent refresh token: 401) is reported */
	}
	if (text)
		explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

static const char *str_member(const json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s ? s : "";
}

int tsctl_report(struct tsctl_client *c, int rc, long status, json_t *j, const char *method)
{
	char msg[256], field[64];
	int code;

	if (rc == -EACCES) {
		if (c->token_err == -EPERM)
			fprintf(stderr,
				"tsctl: the token file %s may be read by others; log in again: "
				"tsctl login USER\n",
				c->o->token_file);
		else if (c->token_err == -ESRCH)
			fprintf(stderr,
				"tsctl: not logged in to %s (the token file is for another "
				"server): tsctl --url %s login USER\n",
				c->url, c->url);
		else
			fprintf(stderr, "tsctl: not logged in to %s: tsctl login USER\n", c->url);
		return TSCTL_EXIT_AUTH;
	}
	if (rc) {
		fprintf(stderr, "tsctl: %s %s: %s\n", method, c->url,
			tsctl_sanitize(c->err, 200, msg, sizeof(msg)));
		return TSCTL_EXIT_SERVER;
	}
	code = tsctl_exit_for_status(status);
	if (code == TSCTL_EXIT_OK)
		return 0;
	tsctl_sanitize(str_member(j, "error"), 200, msg, sizeof(msg));
	tsctl_sanitize(str_member(j, "field"), 60, field, sizeof(field));
	if (!msg[0])
		snprintf(msg, sizeof(msg), "no reason given");
	switch (code) {
	case TSCTL_EXIT_AUTH:
		if (status == 401)
			fprintf(stderr, "tsctl: not authenticated (401): %s\n", msg);
		else
			fprintf(stderr, "tsctl: permission denied (403): %s\n", msg);
		break;
	case TSCTL_EXIT_NOT_FOUND: fprintf(stderr, "tsctl: not found (404): %s\n", msg); break;
	case TSCTL_EXIT_BAD_REQUEST:
		if (field[0])
			fprintf(stderr, "tsctl: %s (%ld): field '%s': %s\n",
				status == 409 ? "conflict" : "bad request", status, field, msg);
		else
			fprintf(stderr, "tsctl: %s (%ld): %s\n",
				status == 409 ? "conflict" : "bad request", status, msg);
		break;
	default: fprintf(stderr, "tsctl: server error (%ld): %s\n", status, msg); break;
	}
	return code;
}

int tsctl_call(struct tsctl_client *c, const char *method, const char *path, const json_t *body,
	       json_t **out)
{
	long status = 0;
	json_t *j = NULL;
	int rc = tsctl_request(c, method, path, body, true, &status, &j);
	int code = tsctl_report(c, rc, status, j, method);

	if (code == TSCTL_EXIT_OK) {
		*out = j;
		return 0;
	}
	*out = NULL;
	/* A 401 that survived the refresh: the session is over. */
	if (!rc && status == 401)
		fprintf(stderr, "tsctl: log in again: tsctl login USER\n");
	json_decref(j);
	return code;
}

void tsctl_print_json(const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	if (s)
		printf("%s\n", s);
	free(s);
}

int tsctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tsctl: usage: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return TSCTL_EXIT_USAGE;
}

int tsctl_field_error(const char *field, const char *msg)
{
	fprintf(stderr, "tsctl: bad request: field '%s': %s\n", field, msg);
	return TSCTL_EXIT_BAD_REQUEST;
}

/* The terminal's settings while a secret is typed, restored by the SIGINT handler too. */
static struct termios saved_tio;
static volatile sig_atomic_t tty_fd = -1;

static void on_prompt_signal(int sig)
{
	if (tty_fd >= 0) {
		tcsetattr(tty_fd, TCSAFLUSH, &saved_tio);
		(void)!write(tty_fd, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int tsctl_read_secret(const char *prompt, char *out, size_t outlen)
{
	struct sigaction sa, old_int, old_term;
	struct termios tio;
	size_t n = 0;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	int rc = 0;

	if (fd < 0)
		return -ENXIO;
	if (tcgetattr(fd, &saved_tio)) {
		close(fd);
		return -ENOTTY;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prompt_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	tty_fd = fd;
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tio.c_lflag |= ICANON;
	(void)!write(fd, prompt, strlen(prompt));
	tcsetattr(fd, TCSAFLUSH, &tio);
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = -EIO;
			break;
		}
		if (ch == '\n' || ch == '\r')
			break;
		if (n + 1 >= outlen) {
			rc = -ENAMETOOLONG;
			continue; /* read the rest of the line away */
		}
		out[n++] = ch;
	}
	out[n] = 0;
	tcsetattr(fd, TCSAFLUSH, &saved_tio);
	(void)!write(fd, "\n", 1);
	tty_fd = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	close(fd);
	if (rc)
		explicit_bzero(out, outlen);
	return rc;
}

int tsctl_query_add(char *buf, size_t len, const char *key, const char *value)
{
	char *esc;
	size_t n = strlen(buf);
	int w;

	if (!value)
		return 0;
	esc = curl_easy_escape(NULL, value, 0);
	if (!esc)
		return -ENOMEM;
	w = snprintf(buf + n, len - n, "%c%s=%s", strchr(buf, '?') ? '&' : '?', key, esc);
	curl_free(esc);
	if (w < 0 || (size_t)w >= len - n) {
		buf[n] = 0;
		return -ENAMETOOLONG;
	}
	return 0;
}
