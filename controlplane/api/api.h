/*
 * The admin API: HTTPS + JSON on libmicrohttpd (TLS 1.2 and up), users with Argon2id passwords,
 * short-lived HS256 JWT access tokens with rotating refresh tokens, optional TOTP, API keys for
 * automation, the TradSys roles (ADMIN, TRADER, VIEWER) and their permissions, and an audit row
 * for every mutation. This header is what main.c, the tests and the fuzz target see: the
 * configuration, the roles, the request body parsers (pure functions: no I/O, no state) and the
 * two subcommands.
 */
#ifndef TRADSYS_API_H
#define TRADSYS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- configuration ([api] and [metrics] of the control plane's INI file) ---- */

struct api_config {
	char listen_host[64]; /* IPv4 address */
	uint16_t listen_port;
	char cert[1024]; /* PEM certificate (chain) file */
	char key[1024]; /* PEM private key file */
	char database[1024]; /* libpq URL or key=value string */
	char instance[32]; /* dataplane instance: stats region and command rings */
	char jwt_secret_file[1024]; /* 0600, made with 64 random bytes when missing */
	uint64_t access_ttl_s; /* access token lifetime */
	uint64_t refresh_ttl_s; /* refresh token lifetime */
	uint32_t login_max_failures; /* consecutive failures that lock an account */
	uint64_t lockout_s; /* how long it stays locked */
	uint32_t rate_per_s; /* requests per second per token, API key or (for login) client IP */
	uint32_t threads; /* HTTP worker threads, each with its own database connection */
	uint32_t argon2_t_cost; /* Argon2id iterations */
	uint32_t argon2_m_kib; /* Argon2id memory in KiB */
	char metrics_host[64];
	uint16_t metrics_port; /* 0: no exporter */
	char journal_dir[1024]; /* [metrics] journal_dir: where the persister lag is read; "" none */
};

/*
 * Loads path into cfg with defaults for what is absent (listen 127.0.0.1:8443, access_ttl_s 900,
 * refresh_ttl_s 86400, login_max_failures 5, lockout_s 900, rate_per_s 50, threads 4, metrics
 * 127.0.0.1:9464). cert, key, database, instance and jwt_secret_file are required. Returns 0, or
 * -errno with err naming the file, line and key (an unknown key is an error).
 */
int api_config_load(const char *path, struct api_config *cfg, char *err, size_t errlen);

/* Parses "host:port" (IPv4 dotted quad) into host and *port. Returns 0 or -EINVAL. */
int api_parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port);

/* ---- roles and permissions, exactly as TradSys defines them ---- */

enum api_role {
	API_ROLE_NONE = 0, /* unknown role: no permission at all */
	API_ROLE_VIEWER,
	API_ROLE_TRADER,
	API_ROLE_ADMIN,
};

enum api_perm {
	API_PERM_USER_MANAGE = 1u << 0,
	API_PERM_ORDER_CREATE = 1u << 1,
	API_PERM_ORDER_CANCEL = 1u << 2,
	API_PERM_ORDER_VIEW = 1u << 3,
	API_PERM_POSITION_VIEW = 1u << 4,
	API_PERM_BALANCE_VIEW = 1u << 5,
	API_PERM_SYSTEM_CONFIGURE = 1u << 6,
	API_PERM_REPORTS_GENERATE = 1u << 7,
};

/* The permission bits of a role (0 for API_ROLE_NONE). */
uint32_t api_role_perms(enum api_role role);

/* "admin", "trader", "viewer" (any case) into *out. Returns 0 or -EINVAL. */
int api_role_parse(const char *s, enum api_role *out);

/* "admin", "trader", "viewer" or "none". */
const char *api_role_name(enum api_role role);

/* "user.manage", ... for one permission bit. */
const char *api_perm_name(uint32_t perm);

/* ---- request bodies ---- */

/* A client error: the HTTP status, a message and the field it is about ("" for the body). */
struct api_error {
	int status;
	char field[48];
	char msg[200];
};

/* Fills e and returns -EINVAL (so a parser can `return api_error_set(...)`). */
int api_error_set(struct api_error *e, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define API_USERNAME_MAX 64
#define API_PASSWORD_MAX 256
#define API_PASSWORD_MIN 12
#define API_BODY_MAX 65536 /* larger bodies are refused before parsing */

struct api_login_body {
	char username[API_USERNAME_MAX + 1];
	char password[API_PASSWORD_MAX + 1];
	char totp[16]; /* "" when not given */
};

struct api_token_body {
	char refresh_token[128];
};

enum {
	API_USER_HAS_USERNAME = 1u << 0,
	API_USER_HAS_PASSWORD = 1u << 1,
	API_USER_HAS_ROLE = 1u << 2,
	API_USER_HAS_DISPLAY = 1u << 3,
	API_USER_HAS_DISABLED = 1u << 4,
};

struct api_user_body {
	unsigned has; /* API_USER_HAS_* of the fields present */
	char username[API_USERNAME_MAX + 1];
	char password[API_PASSWORD_MAX + 1];
	char display_name[129];
	enum api_role role;
	bool disabled;
};

struct api_order_body {
	int64_t price;
	int64_t qty;
	uint32_t account;
	uint32_t instrument;
	uint16_t venue;
	uint8_t side; /* 'B', 'S', 'T', 'E' (enum shm_journal_side) */
	uint8_t ord_type;
	uint8_t tif;
};

enum api_scope {
	API_SCOPE_FIRM = 1, /* equal to SHM_COMMAND_SCOPE_* */
	API_SCOPE_ACCOUNT = 2,
	API_SCOPE_INSTRUMENT = 3,
};

/* The limit kinds PUT /api/v1/risk/limits accepts and their codes in SHM_COMMAND_SET_LIMIT. */
struct api_limit_kind {
	const char *name;
	uint32_t code;
	unsigned scopes; /* 1u << enum api_scope it may be set for */
	bool split; /* firm scope: an aggregate the control plane splits across the workers */
};
extern const struct api_limit_kind api_limit_kinds[];
extern const size_t api_limit_nkinds;

struct api_limit_body {
	int64_t value;
	uint32_t id; /* account or instrument; 0 for the firm */
	uint32_t code; /* of kind */
	enum api_scope scope;
	char kind[32];
	bool enabled;
};

struct api_kill_body {
	uint32_t id;
	enum api_scope scope;
	bool on;
	bool cancel_open;
};

struct api_key_body {
	int64_t expires_in_s; /* 0: never */
	enum api_role role; /* API_ROLE_NONE: the user's */
};

/* "firm", "account", "instrument" and back. */
const char *api_scope_name(enum api_scope s);

/*
 * The body parsers. Each takes len bytes of untrusted JSON (need not be NUL-terminated), checks
 * that it is one object with only the keys it knows (each at most once), of the right JSON type
 * and within range, and fills out. Returns 0, or -EINVAL with e: status 400 and the field at
 * fault ("" when the body itself is not a JSON object).
 * - login: username, password (strings, required), totp (string of 6-8 digits, optional).
 * - token: refresh_token (string, required).
 * - user_create: username ([a-z0-9_.-]{1,64}), role, password (12..256 characters) required;
 *   display_name optional. user_update: any of role, password, display_name, disabled (>= 1).
 * - order: account, instrument (0..2^32-1), venue (0..65535), side ("buy"/"sell"/"sell_short"/
 *   "sell_short_exempt" or B/S/T/E), price > 0, qty > 0 required; ord_type, tif (0..255).
 * - limit: scope, kind (one of api_limit_kinds allowed for the scope), value >= 0 required; id
 *   (required unless scope is firm, where it must be 0 or absent), enabled (default true).
 * - kill: scope, on required; id as for limits; cancel_open (default false).
 * - api_key: role (optional), expires_in_s (0..10 years, optional).
 */
int api_body_login(const char *buf, size_t len, struct api_login_body *out, struct api_error *e);
int api_body_token(const char *buf, size_t len, struct api_token_body *out, struct api_error *e);
int api_body_user_create(const char *buf, size_t len, struct api_user_body *out,
			 struct api_error *e);
int api_body_user_update(const char *buf, size_t len, struct api_user_body *out,
			 struct api_error *e);
int api_body_order(const char *buf, size_t len, struct api_order_body *out, struct api_error *e);
int api_body_limit(const char *buf, size_t len, struct api_limit_body *out, struct api_error *e);
int api_body_kill(const char *buf, size_t len, struct api_kill_body *out, struct api_error *e);
int api_body_api_key(const char *buf, size_t len, struct api_key_body *out, struct api_error *e);

/* ---- subcommands of tradsys-controlplane ---- */

/* `serve --config FILE`: the API and the exporter until SIGTERM/SIGINT. Returns the exit status
 * (0 after a signal, 1 on a start-up failure, 2 on bad usage). */
int api_cmd_serve(int argc, char **argv);

/* `create-admin --database URL --username NAME`: makes an ADMIN user with a generated password
 * printed once on stdout. Returns the exit status (1 when the name is taken or the database
 * fails, 2 on bad usage). */
int api_cmd_create_admin(int argc, char **argv);

#endif
