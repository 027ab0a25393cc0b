/*
 * The admin API's HTTPS server: libmicrohttpd with its GnuTLS backend (TLS 1.2 and 1.3 only),
 * a thread pool, and one request path for every endpoint: collect the body (refused past
 * API_BODY_MAX), find the route (404/405), authenticate a bearer token or an API key (401),
 * apply the per-token rate limit (429), check the route's permission against the role (403),
 * then call the handler and send its JSON. Every answer is counted by status for /metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "metrics.h"

const int api_status_codes[API_NCODES] = { 200, 201, 202, 204, 400, 401,
					   403, 404, 405, 409, 429, 503 };

#define PERM_NONE 0u /* no authentication */
#define PERM_ANY (1u << 31) /* any authenticated principal */

static const struct route {
	const char *method;
	const char *path; /* "{id}": a decimal id; "{name}": a segment the handler reads */
	uint32_t perm;
	api_handler_fn fn;
} routes[] = {
	{ "GET", "/api/v1/health", PERM_NONE, api_h_health },
	{ "GET", "/api/v1/ready", PERM_NONE, api_h_ready },
	{ "POST", "/api/v1/auth/login", PERM_NONE, api_h_login },
	{ "POST", "/api/v1/auth/refresh", PERM_NONE, api_h_refresh },
	{ "POST", "/api/v1/auth/logout", PERM_NONE, api_h_logout },
	{ "GET", "/api/v1/users", API_PERM_USER_MANAGE, api_h_users_list },
	{ "POST", "/api/v1/users", API_PERM_USER_MANAGE, api_h_user_create },
	{ "GET", "/api/v1/users/{id}", API_PERM_USER_MANAGE, api_h_user_get },
	{ "PUT", "/api/v1/users/{id}", API_PERM_USER_MANAGE, api_h_user_update },
	{ "DELETE", "/api/v1/users/{id}", API_PERM_USER_MANAGE, api_h_user_delete },
	{ "POST", "/api/v1/users/{id}/totp", API_PERM_USER_MANAGE, api_h_user_totp },
	{ "DELETE", "/api/v1/users/{id}/totp", API_PERM_USER_MANAGE, api_h_user_totp },
	{ "POST", "/api/v1/users/{id}/api-keys", API_PERM_USER_MANAGE, api_h_user_key },
	{ "DELETE", "/api/v1/api-keys/{id}", API_PERM_USER_MANAGE, api_h_key_delete },
	{ "GET", "/api/v1/orders", API_PERM_ORDER_VIEW, api_h_orders_list },
	{ "POST", "/api/v1/orders", API_PERM_ORDER_CREATE, api_h_order_create },
	{ "GET", "/api/v1/orders/{id}", API_PERM_ORDER_VIEW, api_h_order_get },
	{ "DELETE", "/api/v1/orders/{id}", API_PERM_ORDER_CANCEL, api_h_order_cancel },
	{ "GET", "/api/v1/positions", API_PERM_POSITION_VIEW, api_h_positions },
	{ "GET", "/api/v1/balances", API_PERM_BALANCE_VIEW, api_h_balances },
	{ "GET", "/api/v1/risk/limits", API_PERM_ORDER_VIEW, api_h_limits_get },
	{ "PUT", "/api/v1/risk/limits", API_PERM_SYSTEM_CONFIGURE, api_h_limits_put },
	{ "POST", "/api/v1/kill", API_PERM_SYSTEM_CONFIGURE, api_h_kill },
	{ "GET", "/api/v1/status", API_PERM_ORDER_VIEW, api_h_status },
	{ "GET", "/api/v1/venues", API_PERM_ORDER_VIEW, api_h_venues },
	{ "POST", "/api/v1/venues/{name}/disconnect", API_PERM_SYSTEM_CONFIGURE,
	  api_h_venue_disconnect },
	{ "POST", "/api/v1/venues/{name}/connect", API_PERM_SYSTEM_CONFIGURE, api_h_venue_connect },
	{ "GET", "/api/v1/audit", API_PERM_REPORTS_GENERATE, api_h_audit },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The body collected across MHD's upload calls. */
struct conn_state {
	char *p;
	size_t len, cap;
	bool too_big;
};

void api_resp_error(struct api_resp *r, int status, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(r->body);
	free(r->raw);
	r->raw = NULL;
	r->status = status;
	r->body = json_pack("{s:s}", "error", msg);
	if (field)
		json_object_set_new(r->body, "field", json_string(field));
}

void api_resp_from_error(struct api_resp *r, const struct api_error *e)
{
	api_resp_error(r, e->status ? e->status : 400, e->field, "%s", e->msg);
}

const char *api_query_arg(const struct api_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

int api_audit(PGconn *c, const struct api_req *q, const char *action, const char *target,
	      json_t *details)
{
	char uid[24], err[256];
	char *js = details ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	const char *params[6];
	PGresult *res;

	snprintf(uid, sizeof(uid), "%lld", (long long)q->who.user_id);
	params[0] = q->who.user_id > 0 ? uid : NULL;
	params[1] = q->who.name[0] ? q->who.name : "anonymous";
	params[2] = action;
	params[3] = target ? target : "";
	params[4] = js ? js : "{}";
	params[5] = q->ip[0] ? q->ip : NULL;
	res = api_db_exec(c,
			  "INSERT INTO audit_log (user_id, actor, action, target, details, "
			  "source_ip) VALUES ($1, $2, $3, $4, $5::jsonb, $6::inet)",
			  6, params, err, sizeof(err));
	free(js);
	json_decref(details);
	if (!res) {
		fprintf(stderr, "tradsys-controlplane: audit_log insert failed: %s\n", err);
		return -EIO;
	}
	PQclear(res);
	return 0;
}

/* Matches path against pattern; the {id} segments' values go to ids. */
static bool route_match(const char *pattern, const char *path, uint64_t ids[2])
{
	int nid = 0;

	while (*pattern && *path) {
		if (!strncmp(pattern, "{id}", 4)) {
			uint64_t v = 0;
			int digits = 0;

			while (*path >= '0' && *path <= '9' && digits < 19) {
				v = v * 10 + (uint64_t)(*path++ - '0');
				digits++;
			}
			if (!digits || (*path && *path != '/') || nid >= 2)
				return false;
			ids[nid++] = v;
			pattern += 4;
			continue;
		}
		if (!strncmp(pattern, "{name}", 6)) {
			const char *end = strchr(path, '/');
			if (!end || end == path)
				return false;
			path = end;
			pattern += 6;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	/* A trailing slash is the same resource. */
	if (*path == '/' && !path[1])
		path++;
	return !*pattern && !*path;
}

static uint64_t status_slot(int status)
{
	for (int i = 0; i < API_NCODES; i++)
		if (api_status_codes[i] == status)
			return (uint64_t)i;
	return API_NCODES;
}

static enum MHD_Result send_resp(struct api_server *s, struct MHD_Connection *conn,
				 struct api_resp *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL;
	size_t len = 0;

	if (r->body) {
		text = json_dumps(r->body, JSON_COMPACT);
		len = text ? strlen(text) : 0;
		free(r->raw);
	} else if (r->raw) {
		text = r->raw;
		len = strlen(text);
	}
	r->raw = NULL;
	if (text) {
		/* A newline so curl and shells print answers on their own line. */
		char *t = realloc(text, len + 2);

		if (t) {
			text = t;
			text[len++] = '\n';
			text[len] = 0;
		}
	}
	resp = MHD_create_response_from_buffer(len, text ? text : (void *)"",
					       text ? MHD_RESPMEM_MUST_FREE
						    : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	if (r->status == 429)
		MHD_add_response_header(resp, "Retry-After", "1");
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	atomic_fetch_add_explicit(&s->requests[status_slot(r->status)], 1, memory_order_relaxed);
	json_decref(r->body);
	r->body = NULL;
	return ret;
}

/* Authenticates q from its Authorization or X-API-Key header; sets r on failure. */
static bool authenticate(struct api_req *q, struct api_resp *r)
{
	const char *auth = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Authorization");
	const char *key = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "X-API-Key");
	int rc;

	if (auth && !strncasecmp(auth, "Bearer ", 7)) {
		rc = api_jwt_verify_cached(&q->s->jwt_cache, q->s->jwt_key, q->s->jwt_keylen,
					   auth + 7, &q->who);
		if (rc == -ETIMEDOUT)
			api_resp_error(r, 401, NULL, "access token expired");
		else if (rc)
			api_resp_error(r, 401, NULL, "invalid access token");
		return !rc;
	}
	if (key) {
		rc = api_key_lookup(q->s, key, &q->who);
		if (rc == -EIO)
			api_resp_error(r, 503, NULL, "database unavailable");
		else if (rc)
			api_resp_error(r, 401, NULL, "invalid API key");
		return !rc;
	}
	api_resp_error(r, 401, NULL,
		       "authentication required: Authorization: Bearer <token> "
		       "or X-API-Key");
	return false;
}

static void dispatch(struct api_req *q, struct api_resp *r)
{
	const struct route *rt = NULL;
	bool path_known = false;

	for (size_t i = 0; i < NROUTES; i++) {
		uint64_t ids[2] = { 0, 0 };

		if (!route_match(routes[i].path, q->url, ids))
			continue;
		path_known = true;
		if (!strcmp(routes[i].method, q->method)) {
			rt = &routes[i];
			memcpy(q->id, ids, sizeof(ids));
			break;
		}
	}
	if (!rt) {
		if (path_known)
			api_resp_error(r, 405, NULL, "method %s not allowed here", q->method);
		else
			api_resp_error(r, 404, NULL, "no such endpoint");
		return;
	}
	if (rt->perm != PERM_NONE) {
		if (!authenticate(q, r))
			return;
		if (!api_rate_take(&q->s->rate, q->who.rate_key)) {
			api_resp_error(r, 429, NULL, "rate limit of %u requests/s exceeded",
				       q->s->cfg.rate_per_s);
			return;
		}
		if (rt->perm != PERM_ANY && !(api_role_perms(q->who.role) & rt->perm)) {
			api_resp_error(r, 403, NULL, "role %s lacks permission %s",
				       api_role_name(q->who.role), api_perm_name(rt->perm));
			return;
		}
	}
	r->status = 200;
	rt->fn(q, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct api_server *s = cls;
	struct conn_state *cs = *con_cls;
	const union MHD_ConnectionInfo *ci;
	struct api_resp r = { .status = 0, .body = NULL, .raw = NULL };
	struct api_req q;
	char ip[INET6_ADDRSTRLEN] = "";

	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs)
			return MHD_NO;
		*con_cls = cs;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		*upload_size = 0;
		if (cs->too_big || cs->len + n > API_BODY_MAX) {
			cs->too_big = true;
			return MHD_YES;
		}
		if (cs->len + n + 1 > cs->cap) {
			size_t cap = cs->cap ? cs->cap * 2 : 1024;
			char *p;

			while (cap < cs->len + n + 1)
				cap *= 2;
			p = realloc(cs->p, cap);
			if (!p)
				return MHD_NO;
			cs->p = p;
			cs->cap = cap;
		}
		memcpy(cs->p + cs->len, upload, n);
		cs->len += n;
		cs->p[cs->len] = 0;
		return MHD_YES;
	}

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip,
				  sizeof(ip));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip,
				  sizeof(ip));
	}
	memset(&q, 0, sizeof(q));
	q.s = s;
	q.conn = conn;
	q.method = method;
	q.url = url;
	q.body = cs->p ? cs->p : "";
	q.len = cs->len;
	q.ip = ip;
	if (cs->too_big)
		api_resp_error(&r, 413, "", "body larger than %d bytes", API_BODY_MAX);
	else
		dispatch(&q, &r);
	if (!r.status)
		r.status = 500;
	return send_resp(s, conn, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_state *cs = *con_cls;

	if (cs) {
		free(cs->p);
		free(cs);
		*con_cls = NULL;
	}
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (1 << 20) || fseek(f, 0, SEEK_SET) ||
	    !(buf = calloc(1, (size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s: cannot read", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	fprintf(stderr, "tradsys-controlplane: http: ");
	vfprintf(stderr, fmt, ap);
}

int api_server_start(struct api_server *s, char *err, size_t errlen)
{
	struct sockaddr_in sa;

	if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, errlen, "libmicrohttpd was built without TLS");
		return -ENOTSUP;
	}
	s->cert_pem = read_file(s->cfg.cert, err, errlen);
	if (!s->cert_pem)
		return -EINVAL;
	s->key_pem = read_file(s->cfg.key, err, errlen);
	if (!s->key_pem)
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(s->cfg.listen_port);
	inet_pton(AF_INET, s->cfg.listen_host, &sa.sin_addr);
	s->httpd = MHD_start_daemon(
		MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_HTTPS_MEM_CERT,
		s->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, s->key_pem,
		/* TLS 1.2 and 1.3 only, the server's cipher order. */
		MHD_OPTION_HTTPS_PRIORITIES,
		"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE",
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)s->cfg.threads,
		MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_CONNECTION_LIMIT, 1024u,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->httpd) {
		snprintf(err, errlen,
			 "cannot serve HTTPS on %s:%u (address in use, bad certificate "
			 "or key?)",
			 s->cfg.listen_host, s->cfg.listen_port);
		return -EADDRINUSE;
	}
	return 0;
}

void api_server_stop(struct api_server *s)
{
	if (s->httpd)
		MHD_stop_daemon(s->httpd);
	s->httpd = NULL;
	if (s->key_pem) {
		explicit_bzero(s->key_pem, strlen(s->key_pem));
		free(s->key_pem);
		s->key_pem = NULL;
	}
	free(s->cert_pem);
	s->cert_pem = NULL;
}
