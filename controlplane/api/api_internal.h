/*
 * The admin API's internals shared by its files: the server state, a request as the handlers see
 * it, the database connection pool, the authentication helpers (auth.c) and the dataplane link
 * (dataplane.c: the stats region and the command rings). Not for use outside controlplane/api.
 */
#ifndef TRADSYS_API_INTERNAL_H
#define TRADSYS_API_INTERNAL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "api.h"
#include "command.h"
#include "stats.h"

struct api_server;

/* ---- database pool: one connection per HTTP thread, reconnected when broken ---- */

struct api_db_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char conninfo[1024];
	PGconn **conns;
	bool *busy;
	uint32_t n;
};

int api_db_pool_init(struct api_db_pool *p, const char *conninfo, uint32_t n);
void api_db_pool_fini(struct api_db_pool *p);
/* A connection that answers (reset if it had broken), or NULL when the server is unreachable. */
PGconn *api_db_get(struct api_db_pool *p);
void api_db_put(struct api_db_pool *p, PGconn *c);

/* Runs sql with text params; returns the result (caller clears) or NULL with the error in err. A
 * result of another status than PGRES_COMMAND_OK / PGRES_TUPLES_OK counts as an error. */
PGresult *api_db_exec(PGconn *c, const char *sql, int n, const char *const *params, char *err,
		      size_t errlen);
/* The next value of sequence seq; 0 when the database fails. */
uint64_t api_db_next_id(PGconn *c, const char *seq);

/* ---- the dataplane: stats region and command rings ---- */

struct api_dataplane {
	pthread_mutex_t mu; /* the command rings are single-producer: one sender at a time */
	char instance[32];
	struct shm_command_ring rings[SHM_STATS_MAX_WORKERS];
	int32_t ring_pid[SHM_STATS_MAX_WORKERS]; /* the dataplane pid a mapping belongs to */
	/* The stats region, mapped once: readers hold st_lock shared, a remap holds it alone. */
	pthread_rwlock_t st_lock;
	const struct shm_stats *st;
	size_t st_len; /* bytes mapped */
	dev_t st_dev; /* the object mapped, to notice that the name now holds another */
	ino_t st_ino;
	char st_path[96];
};

/* Which dataplane process runs: a restart changes pid and start time. */
struct api_dataplane_incarnation {
	int32_t pid;
	uint32_t nworkers;
	uint64_t start_wall_ns;
};

void api_dataplane_init(struct api_dataplane *d, const char *instance);
void api_dataplane_fini(struct api_dataplane *d);

/*
 * The instance's stats region, mapped once and remapped only when the shm object behind its name
 * changed (a restarted dataplane). Returns it with a shared lock held, to be released with
 * api_dataplane_stats_put as soon as the caller is done reading, or NULL with err (no dataplane,
 * a bad region) and no lock held.
 */
const struct shm_stats *api_dataplane_stats_get(struct api_dataplane *d, char *err, size_t errlen);
void api_dataplane_stats_put(struct api_dataplane *d);

/* Fills inc with the running dataplane's identity. Returns 0, or -ENOENT (err says why) when no
 * dataplane of the instance runs. */
int api_dataplane_incarnation(struct api_dataplane *d, struct api_dataplane_incarnation *inc,
			      char *err, size_t errlen);

/*
 * Sends c to worker w (c->id and issued_wall_ns must be set). Returns 0, -ENOENT when no
 * dataplane of the instance runs or the worker has no command ring, -EAGAIN when the ring is
 * full, or another -errno; err says which.
 */
int api_dataplane_send(struct api_dataplane *d, uint32_t w, const struct shm_command *c, char *err,
		       size_t errlen);

/* The running dataplane's worker count (0 when none runs). */
uint32_t api_dataplane_workers(struct api_dataplane *d);

/* ---- authentication ---- */

struct api_principal {
	int64_t user_id; /* 0: none */
	enum api_role role;
	char name[80]; /* user name, or "key:<prefix>" for an API key */
	uint64_t rate_key; /* what the per-token rate limit counts against */
	int64_t exp; /* an access token's expiry, s since the epoch; 0 for an API key */
	bool via_key;
};

struct api_token_bucket {
	uint64_t key;
	double tokens;
	uint64_t last_ns;
};

/* Token buckets keyed by a 64-bit id in a fixed table (collisions share a bucket). */
struct api_rate {
	pthread_mutex_t mu;
	struct api_token_bucket *b;
	uint32_t mask;
	double rate; /* tokens per second */
	double burst;
};

int api_rate_init(struct api_rate *r, uint32_t slots, double rate, double burst);
void api_rate_fini(struct api_rate *r);
/* Takes a token for key. Returns true when allowed, false when over the rate. */
bool api_rate_take(struct api_rate *r, uint64_t key);

/* Random bytes from getrandom(2). Returns 0 or -errno. */
int api_random(void *buf, size_t n);
/* n random bytes as URL-safe base64 without padding into out (size >= 4 * n / 3 + 2). */
int api_random_token(char *out, size_t outlen, size_t n);
/* SHA-256 of s as 64 hex digits. */
void api_sha256_hex(const void *s, size_t n, char out[65]);
/* 64-bit hash (FNV-1a) for rate-limit keys. */
uint64_t api_hash64(const void *s, size_t n);

/* Argon2id encoded hash of password into out (>= 128 bytes). Returns 0 or -EINVAL/-ENOMEM. */
int api_password_hash(const char *password, uint32_t t_cost, uint32_t m_kib, char *out,
		      size_t outlen);
/* true when password matches the encoded Argon2id hash. */
bool api_password_verify(const char *encoded, const char *password);

/* Reads (or, when missing, creates with 64 random bytes and mode 0600) the JWT secret. Refuses a
 * file readable by group or others. Returns 0 or -errno with err. */
int api_jwt_secret_load(const char *path, unsigned char *key, size_t *keylen, char *err,
			size_t errlen);

/* An HS256 access token for the user, valid ttl_s. Returns a malloc'd string or NULL. */
char *api_jwt_issue(const unsigned char *key, size_t keylen, int64_t user_id, const char *name,
		    enum api_role role, uint64_t ttl_s);
/* Verifies an access token (HS256 only, signature, typ and exp). Returns 0 and fills who, or
 * -EACCES (bad) / -ETIMEDOUT (expired). */
int api_jwt_verify(const unsigned char *key, size_t keylen, const char *token,
		   struct api_principal *who);

/*
 * Verified access tokens, so a client that sends the same token on every request pays for the
 * HS256 check once: slots picked by a hash of the token hold its full bytes (compared in constant
 * time) and what verification found. Only tokens that verified are kept, and a hit is still
 * refused once the token's exp has passed, so the answers are the ones api_jwt_verify gives:
 * an access token carries its own role and lifetime and nothing revokes it early, cached or not.
 */
#define API_JWT_CACHE_SLOTS 256 /* a power of two */
#define API_JWT_CACHE_TOKEN_MAX 512 /* longer tokens are verified every time */

struct api_jwt_cache {
	pthread_mutex_t mu;
	struct api_jwt_cache_slot {
		uint32_t len; /* 0: empty */
		struct api_principal who;
		char tok[API_JWT_CACHE_TOKEN_MAX];
	} slot[API_JWT_CACHE_SLOTS];
};

void api_jwt_cache_init(struct api_jwt_cache *c);
void api_jwt_cache_fini(struct api_jwt_cache *c);
/* api_jwt_verify through the cache: the same contract and results. */
int api_jwt_verify_cached(struct api_jwt_cache *c, const unsigned char *key, size_t keylen,
			  const char *token, struct api_principal *who);

/* TOTP (RFC 6238, 30 s, 6 digits) of the base32 secret at now, +-1 step. */
bool api_totp_check(const char *base32_secret, const char *code, time_t now);
/* A new 20-byte secret as base32 into out (>= 40 bytes). Returns 0 or -errno. */
int api_totp_new_secret(char *out, size_t outlen);

/* ---- the risk configuration pushed to the dataplane (sync.c) ---- */

struct api_sync {
	pthread_mutex_t push_mu; /* held from reading what to push to having sent it */
	pthread_mutex_t mu; /* stop, with cv to wake the thread */
	pthread_cond_t cv;
	pthread_t thread;
	bool stop;
	bool running;
};

/* Sends a limit (firm aggregates split per worker) or a kill switch to every running worker.
 * Returns the ids of the commands sent as a JSON array; workers that did not take it are
 * appended to failed as {"worker", "error"}. */
json_t *api_push_limit(struct api_server *s, PGconn *c, const struct api_limit_body *b,
		       json_t *failed);
json_t *api_push_kill(struct api_server *s, PGconn *c, const struct api_kill_body *b,
		      json_t *failed);

/* The thread that pushes every persisted limit and engaged kill switch to each new dataplane
 * incarnation. init before start; stop also when start was not called or failed. start returns
 * 0 or -errno with err. */
void api_sync_init(struct api_server *s);
int api_sync_start(struct api_server *s, char *err, size_t errlen);
void api_sync_stop(struct api_server *s);

/* ---- the server ---- */

#define API_NCODES 12 /* HTTP statuses counted for /metrics, see api_status_codes */
extern const int api_status_codes[API_NCODES];

struct api_server {
	struct api_config cfg;
	unsigned char jwt_key[64];
	size_t jwt_keylen;
	struct api_jwt_cache jwt_cache;
	struct api_db_pool db;
	struct api_dataplane dp;
	struct api_sync sync;
	struct api_rate rate; /* per token / API key */
	struct api_rate login_rate; /* per client address, for login and refresh */
	_Atomic uint64_t requests[API_NCODES + 1]; /* by status; the last: any other */
	struct MHD_Daemon *httpd;
	struct MHD_Daemon *metrics;
	char dummy_hash[160]; /* verified for unknown users, so they answer as slowly */
	char *cert_pem;
	char *key_pem;
};

/* A request as a handler sees it. */
struct api_req {
	struct api_server *s;
	const char *method;
	const char *url;
	const char *body;
	size_t len;
	const char *ip;
	struct api_principal who;
	uint64_t id[2]; /* the numeric path segments ({id}) in order */
	struct MHD_Connection *conn;
};

/* A handler's answer: status and a JSON body (owned; NULL for no body), or instead of body the
 * JSON text itself (malloc'd, owned), for reads PostgreSQL already serialised. */
struct api_resp {
	int status;
	json_t *body;
	char *raw;
};

/* Sets an error answer {"error": msg, "field": field}. */
void api_resp_error(struct api_resp *r, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void api_resp_from_error(struct api_resp *r, const struct api_error *e);

/* Writes one audit_log row (in the caller's transaction when there is one); takes the reference
 * to details (NULL: {}). Returns 0 or -EIO. */
int api_audit(PGconn *c, const struct api_req *q, const char *action, const char *target,
	      json_t *details);

/* The query-string argument name of the request, or NULL. */
const char *api_query_arg(const struct api_req *q, const char *name);

/* Handlers (handlers.c, auth_handlers.c, venues.c). */
typedef void (*api_handler_fn)(struct api_req *q, struct api_resp *r);
void api_h_health(struct api_req *q, struct api_resp *r);
void api_h_ready(struct api_req *q, struct api_resp *r);
void api_h_login(struct api_req *q, struct api_resp *r);
void api_h_refresh(struct api_req *q, struct api_resp *r);
void api_h_logout(struct api_req *q, struct api_resp *r);
void api_h_users_list(struct api_req *q, struct api_resp *r);
void api_h_user_create(struct api_req *q, struct api_resp *r);
void api_h_user_get(struct api_req *q, struct api_resp *r);
void api_h_user_update(struct api_req *q, struct api_resp *r);
void api_h_user_delete(struct api_req *q, struct api_resp *r);
void api_h_user_totp(struct api_req *q, struct api_resp *r);
void api_h_user_key(struct api_req *q, struct api_resp *r);
void api_h_key_delete(struct api_req *q, struct api_resp *r);
void api_h_orders_list(struct api_req *q, struct api_resp *r);
void api_h_order_get(struct api_req *q, struct api_resp *r);
void api_h_order_create(struct api_req *q, struct api_resp *r);
void api_h_order_cancel(struct api_req *q, struct api_resp *r);
void api_h_positions(struct api_req *q, struct api_resp *r);
void api_h_balances(struct api_req *q, struct api_resp *r);
void api_h_limits_get(struct api_req *q, struct api_resp *r);
void api_h_limits_put(struct api_req *q, struct api_resp *r);
void api_h_kill(struct api_req *q, struct api_resp *r);
void api_h_status(struct api_req *q, struct api_resp *r);
void api_h_audit(struct api_req *q, struct api_resp *r);
/* venues.c */
void api_h_venues(struct api_req *q, struct api_resp *r);
void api_h_venue_disconnect(struct api_req *q, struct api_resp *r);
void api_h_venue_connect(struct api_req *q, struct api_resp *r);

/* Looks up an API key "tsk_<prefix>_<secret>". Returns 0 and fills who, -EACCES for a bad,
 * revoked or expired key, -EIO when the database fails. */
int api_key_lookup(struct api_server *s, const char *key, struct api_principal *who);

/* Starts the HTTPS daemon and the exporter. Returns 0 or -errno with err. */
int api_server_start(struct api_server *s, char *err, size_t errlen);
void api_server_stop(struct api_server *s);

/* The exporter (controlplane/metrics) answers with this. */
/* Handler helpers over the pool: a connection or a 503 answer; a failed statement logged (never
 * its parameters) and answered 503 naming what was being done; a unique-key violation. */
PGconn *db_or_503(struct api_req *q, struct api_resp *r);
void db_fail(struct api_resp *r, const char *what, const char *err);
bool is_unique_violation(const char *err);

#endif
