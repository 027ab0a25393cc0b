/*
 * Authentication primitives of the admin API: Argon2id password hashes (libargon2), HS256 access
 * tokens (libjwt) with a secret kept in a 0600 file, TOTP second factors (liboath), random tokens
 * from getrandom(2), SHA-256 for stored token and key hashes (OpenSSL), a cache of verified access
 * tokens and the token buckets that limit request rates. Nothing here logs a secret: errors name files and causes only.
 */
#include <argon2.h>
#include <errno.h>
#include <fcntl.h>
#include <jwt.h>
#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_internal.h"

int api_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int api_random_token(char *out, size_t outlen, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[64];
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0, rc;

	if (n > sizeof(raw) || outlen < (n * 4 + 2) / 3 + 1)
		return -EINVAL;
	if ((rc = api_random(raw, n)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | raw[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = b64[(acc << (6 - bits)) & 63];
	out[o] = 0;
	return 0;
}

void api_sha256_hex(const void *s, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[64] = 0;
}

uint64_t api_hash64(const void *s, size_t n)
{
	const unsigned char *p = s;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* ---- passwords ---- */

int api_password_hash(const char *password, uint32_t t_cost, uint32_t m_kib, char *out,
		      size_t outlen)
{
	unsigned char salt[16];
	int rc;

	if (api_random(salt, sizeof(salt)))
		return -EIO;
	rc = argon2id_hash_encoded(t_cost, m_kib, 1, password, strlen(password), salt, sizeof(salt),
				   32, out, outlen);
	return rc == ARGON2_OK ? 0 : rc == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EINVAL;
}

bool api_password_verify(const char *encoded, const char *password)
{
	return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

/* ---- JWT ---- */

int api_jwt_secret_load(const char *path, unsigned char *key, size_t *keylen, char *err,
			size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0 && errno == ENOENT) {
		unsigned char fresh[64];

		if (api_random(fresh, sizeof(fresh))) {
			snprintf(err, errlen, "%s: getrandom failed", path);
			return -EIO;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, fresh, sizeof(fresh)) != (ssize_t)sizeof(fresh) ||
		    fsync(fd)) {
			int e = errno;

			snprintf(err, errlen, "%s: cannot create: %s", path, strerror(e));
			if (fd >= 0)
				close(fd);
			return -e;
		}
		close(fd);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		snprintf(err, errlen, "%s: must not be readable by group or others (chmod 600)",
			 path);
		close(fd);
		return -EPERM;
	}
	n = read(fd, key, 64);
	close(fd);
	if (n < 32) {
		snprintf(err, errlen, "%s: needs at least 32 bytes of secret, has %zd", path, n);
		return -EINVAL;
	}
	*keylen = (size_t)n;
	return 0;
}

char *api_jwt_issue(const unsigned char *key, size_t keylen, int64_t user_id, const char *name,
		    enum api_role role, uint64_t ttl_s)
{
	jwt_t *j = NULL;
	char *tok = NULL;
	char jti[24];
	time_t now = time(NULL);

	if (api_random_token(jti, sizeof(jti), 12) || jwt_new(&j))
		return NULL;
	if (jwt_add_grant_int(j, "sub", (long)user_id) || jwt_add_grant(j, "name", name) ||
	    jwt_add_grant(j, "role", api_role_name(role)) || jwt_add_grant(j, "typ", "access") ||
	    jwt_add_grant(j, "jti", jti) || jwt_add_grant_int(j, "iat", (long)now) ||
	    jwt_add_grant_int(j, "exp", (long)(now + (time_t)ttl_s)) ||
	    jwt_set_alg(j, JWT_ALG_HS256, key, (int)keylen))
		goto out;
	tok = jwt_encode_str(j);
out:
	jwt_free(j);
	return tok;
}

int api_jwt_verify(const unsigned char *key, size_t keylen, const char *token,
		   struct api_principal *who)
{
	jwt_t *j = NULL;
	const char *typ, *name, *role, *jti;
	long exp, sub;
	int rc = -EACCES;

	/* libjwt checks the signature with key; the algorithm is pinned below, so a token that
	 * names "none" or another algorithm is refused whatever it carries. */
	if (strlen(token) > 4096 || jwt_decode(&j, token, key, (int)keylen) || !j)
		return -EACCES;
	if (jwt_get_alg(j) != JWT_ALG_HS256)
		goto out;
	typ = jwt_get_grant(j, "typ");
	name = jwt_get_grant(j, "name");
	role = jwt_get_grant(j, "role");
	jti = jwt_get_grant(j, "jti");
	sub = jwt_get_grant_int(j, "sub");
	exp = jwt_get_grant_int(j, "exp");
	if (!typ || strcmp(typ, "access") || !name || !role || !jti || sub <= 0 || exp <= 0)
		goto out;
	if (exp <= (long)time(NULL)) {
		rc = -ETIMEDOUT;
		goto out;
	}
	memset(who, 0, sizeof(*who));
	who->user_id = sub;
	if (api_role_parse(role, &who->role))
		who->role = API_ROLE_NONE;
	snprintf(who->name, sizeof(who->name), "%s", name);
	who->rate_key = api_hash64(jti, strlen(jti));
	who->exp = exp;
	rc = 0;
out:
	jwt_free(j);
	return rc;
}

void api_jwt_cache_init(struct api_jwt_cache *c)
{
	memset(c->slot, 0, sizeof(c->slot));
	pthread_mutex_init(&c->mu, NULL);
}

void api_jwt_cache_fini(struct api_jwt_cache *c)
{
	pthread_mutex_destroy(&c->mu);
	explicit_bzero(c->slot, sizeof(c->slot));
}

int api_jwt_verify_cached(struct api_jwt_cache *c, const unsigned char *key, size_t keylen,
			  const char *token, struct api_principal *who)
{
	size_t len = strnlen(token, API_JWT_CACHE_TOKEN_MAX);
	struct api_jwt_cache_slot *sl;
	bool hit = false;
	int rc;

	if (len >= API_JWT_CACHE_TOKEN_MAX || len == 0)
		return api_jwt_verify(key, keylen, token, who);
	sl = &c->slot[api_hash64(token, len) & (API_JWT_CACHE_SLOTS - 1)];
	pthread_mutex_lock(&c->mu);
	/* Constant time: how far a guess matches a cached token must not show in the timing. */
	if (sl->len == len && !CRYPTO_memcmp(sl->tok, token, len)) {
		*who = sl->who;
		hit = true;
	}
	pthread_mutex_unlock(&c->mu);
	if (hit)
		return who->exp <= (int64_t)time(NULL) ? -ETIMEDOUT : 0;
	rc = api_jwt_verify(key, keylen, token, who);
	if (rc == 0) {
		pthread_mutex_lock(&c->mu);
		sl->len = (uint32_t)len;
		memcpy(sl->tok, token, len);
		sl->who = *who;
		pthread_mutex_unlock(&c->mu);
	}
	return rc;
}

/* ---- TOTP ---- */

bool api_totp_check(const char *base32_secret, const char *code, time_t now)
{
	char *secret = NULL;
	size_t len = 0;
	int rc;

	if (oath_init() != OATH_OK)
		return false;
	if (oath_base32_decode(base32_secret, strlen(base32_secret), &secret, &len) != OATH_OK)
		return false;
	rc = oath_totp_validate(secret, len, now, 30, 0, 1, code);
	free(secret);
	return rc >= 0;
}

int api_totp_new_secret(char *out, size_t outlen)
{
	unsigned char raw[20];
	char *b32 = NULL;
	size_t len = 0;
	int rc;

	if ((rc = api_random(raw, sizeof(raw))))
		return rc;
	if (oath_init() != OATH_OK ||
	    oath_base32_encode((const char *)raw, sizeof(raw), &b32, &len) != OATH_OK)
		return -ENOMEM;
	if (len + 1 > outlen) {
		free(b32);
		return -ENOSPC;
	}
	memcpy(out, b32, len);
	out[len] = 0;
	free(b32);
	return 0;
}

/* ---- rate limits ---- */

int api_rate_init(struct api_rate *r, uint32_t slots, double rate, double burst)
{
	memset(r, 0, sizeof(*r));
	r->b = calloc(slots, sizeof(*r->b));
	if (!r->b)
		return -ENOMEM;
	r->mask = slots - 1;
	r->rate = rate;
	r->burst = burst;
	pthread_mutex_init(&r->mu, NULL);
	return 0;
}

void api_rate_fini(struct api_rate *r)
{
	if (!r->b)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r->b);
	r->b = NULL;
}

bool api_rate_take(struct api_rate *r, uint64_t key)
{
	struct timespec ts;
	struct api_token_bucket *b;
	uint64_t now;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	pthread_mutex_lock(&r->mu);
	b = &r->b[(key ^ key >> 29) & r->mask];
	if (b->key != key || !b->last_ns) {
		/* A new key (or one whose slot another took): start it full. */
		b->key = key;
		b->tokens = r->burst;
	} else {
		b->tokens += (double)(now - b->last_ns) * 1e-9 * r->rate;
		if (b->tokens > r->burst)
			b->tokens = r->burst;
	}
	b->last_ns = now;
	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	pthread_mutex_unlock(&r->mu);
	return ok;
}
