/*
 * The control plane's [api] and [metrics] configuration: read with the core INI loader
 * (dataplane/core/config.h), so a bad value or an unknown key is an error naming the file, the
 * line and the key, like every other tradsys config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"

int api_parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	struct in_addr a;
	char h[64], *end;
	unsigned long p;

	if (!colon || (size_t)(colon - s) >= sizeof(h) || (size_t)(colon - s) >= hostlen)
		return -EINVAL;
	memcpy(h, s, (size_t)(colon - s));
	h[colon - s] = 0;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || p > 65535 || inet_pton(AF_INET, h, &a) != 1)
		return -EINVAL;
	snprintf(host, hostlen, "%s", h);
	*port = (uint16_t)p;
	return 0;
}

/* Copies a string value into out (bounded). Absent: out keeps its default. */
static int get_str(struct config *c, const char *sec, const char *key, char *out, size_t len,
		   bool required, char *err, size_t errlen)
{
	const char *v = NULL;

	if (required && config_require(c, sec, key)) {
		snprintf(err, errlen, "%s", config_error(c));
		return -EINVAL;
	}
	config_str(c, sec, key, &v);
	if (!v)
		return 0;
	if (strlen(v) >= len) {
		snprintf(err, errlen, "[%s] %s: longer than %zu characters", sec, key, len - 1);
		return -EINVAL;
	}
	snprintf(out, len, "%s", v);
	return 0;
}

int api_config_load(const char *path, struct api_config *cfg, char *err, size_t errlen)
{
	static const char *const api_keys[] = {
		"listen",	 "cert",	  "key",
		"database",	 "instance",	  "jwt_secret_file",
		"access_ttl_s",	 "refresh_ttl_s", "login_max_failures",
		"lockout_s",	 "rate_per_s",	  "threads",
		"argon2_t_cost", "argon2_m_kib",  NULL
	};
	static const char *const metrics_keys[] = { "listen", "journal_dir", NULL };
	struct config *c = config_load(path, err, errlen);
	char listen[96] = "127.0.0.1:8443", mlisten[96] = "127.0.0.1:9464";
	uint64_t v;
	int rc = -EINVAL;

	if (!c)
		return -EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	cfg->access_ttl_s = 900;
	cfg->refresh_ttl_s = 86400;
	cfg->login_max_failures = 5;
	cfg->lockout_s = 900;
	cfg->rate_per_s = 50;
	cfg->threads = 4;
	/* OWASP's minimum for Argon2id: 19 MiB, 2 iterations, 1 lane. */
	cfg->argon2_t_cost = 2;
	cfg->argon2_m_kib = 19456;
	if (config_check_keys(c, "api", api_keys) || config_check_keys(c, "metrics", metrics_keys))
		goto cfg_err;
	if (get_str(c, "api", "listen", listen, sizeof(listen), false, err, errlen) ||
	    get_str(c, "api", "cert", cfg->cert, sizeof(cfg->cert), true, err, errlen) ||
	    get_str(c, "api", "key", cfg->key, sizeof(cfg->key), true, err, errlen) ||
	    get_str(c, "api", "database", cfg->database, sizeof(cfg->database), true, err,
		    errlen) ||
	    get_str(c, "api", "instance", cfg->instance, sizeof(cfg->instance), true, err,
		    errlen) ||
	    get_str(c, "api", "jwt_secret_file", cfg->jwt_secret_file, sizeof(cfg->jwt_secret_file),
		    true, err, errlen) ||
	    get_str(c, "metrics", "listen", mlisten, sizeof(mlisten), false, err, errlen) ||
	    get_str(c, "metrics", "journal_dir", cfg->journal_dir, sizeof(cfg->journal_dir), false,
		    err, errlen))
		goto out;
	if (config_u64(c, "api", "access_ttl_s", 1, 86400, &cfg->access_ttl_s) ||
	    config_u64(c, "api", "refresh_ttl_s", 1, 90 * 86400ull, &cfg->refresh_ttl_s) ||
	    config_u64(c, "api", "lockout_s", 1, 86400 * 7ull, &cfg->lockout_s))
		goto cfg_err;
	v = cfg->login_max_failures;
	if (config_u64(c, "api", "login_max_failures", 1, 1000, &v))
		goto cfg_err;
	cfg->login_max_failures = (uint32_t)v;
	v = cfg->rate_per_s;
	if (config_u64(c, "api", "rate_per_s", 1, 1000000, &v))
		goto cfg_err;
	cfg->rate_per_s = (uint32_t)v;
	v = cfg->threads;
	if (config_u64(c, "api", "threads", 1, 256, &v))
		goto cfg_err;
	cfg->threads = (uint32_t)v;
	v = cfg->argon2_t_cost;
	if (config_u64(c, "api", "argon2_t_cost", 1, 100, &v))
		goto cfg_err;
	cfg->argon2_t_cost = (uint32_t)v;
	v = cfg->argon2_m_kib;
	if (config_u64(c, "api", "argon2_m_kib", 1024, 4u << 20, &v))
		goto cfg_err;
	cfg->argon2_m_kib = (uint32_t)v;
	if (api_parse_listen(listen, cfg->listen_host, sizeof(cfg->listen_host),
			     &cfg->listen_port)) {
		snprintf(err, errlen, "%s: [api] listen: '%s' is not IPv4:port", path, listen);
		goto out;
	}
	if (api_parse_listen(mlisten, cfg->metrics_host, sizeof(cfg->metrics_host),
			     &cfg->metrics_port)) {
		snprintf(err, errlen, "%s: [metrics] listen: '%s' is not IPv4:port", path, mlisten);
		goto out;
	}
	rc = 0;
	goto out;
cfg_err:
	snprintf(err, errlen, "%s", config_error(c));
out:
	config_free(c);
	return rc;
}
