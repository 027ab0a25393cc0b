/*
 * Description: the admin API's access tokens (controlplane/api/auth.c) through the verified-token
 * cache: a cached token gives the principal a fresh verification gives; a token that expires
 * while cached is refused as expired; a token changed in one byte, or signed with another key,
 * is refused although its sibling is cached; tokens too long to cache are still verified.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"

static unsigned char key[64], other[64];
static struct api_jwt_cache cache;

static void setup(void)
{
	memset(key, 0x5a, sizeof(key));
	memset(other, 0xa5, sizeof(other));
	api_jwt_cache_init(&cache);
}

static void teardown(void)
{
	api_jwt_cache_fini(&cache);
}

TestSuite(jwt_cache, .init = setup, .fini = teardown);

Test(jwt_cache, hit_gives_the_verified_principal)
{
	char *t = api_jwt_issue(key, sizeof(key), 42, "ann", API_ROLE_TRADER, 60);
	struct api_principal a, b, c;

	cr_assert_not_null(t);
	cr_assert_eq(api_jwt_verify(key, sizeof(key), t, &a), 0);
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &b), 0); /* miss */
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &c), 0); /* hit */
	cr_assert_eq(c.user_id, 42);
	cr_assert_eq(c.role, API_ROLE_TRADER);
	cr_assert_str_eq(c.name, "ann");
	cr_assert_eq(c.rate_key, a.rate_key);
	cr_assert_eq(c.exp, a.exp);
	cr_assert_eq(memcmp(&b, &c, sizeof(b)), 0);
	free(t);
}

Test(jwt_cache, expiry_is_enforced_on_a_hit)
{
	char *t = api_jwt_issue(key, sizeof(key), 7, "bob", API_ROLE_VIEWER, 1);
	struct api_principal w;

	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &w), 0);
	sleep(2);
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &w), -ETIMEDOUT);
	cr_assert_eq(api_jwt_verify(key, sizeof(key), t, &w), -ETIMEDOUT);
	free(t);
}

Test(jwt_cache, a_changed_or_foreign_token_is_refused)
{
	char *t = api_jwt_issue(key, sizeof(key), 1, "root", API_ROLE_ADMIN, 60);
	char *f = api_jwt_issue(other, sizeof(other), 1, "root", API_ROLE_ADMIN, 60);
	struct api_principal w;
	size_t n = strlen(t);

	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &w), 0);
	t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A'; /* the signature */
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &w), -EACCES);
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), f, &w), -EACCES);
	t[n - 1] = 0; /* a prefix of the cached token */
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &w), -EACCES);
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), "", &w), -EACCES);
	free(t);
	free(f);
}

Test(jwt_cache, long_tokens_are_verified_uncached)
{
	char name[400];
	char *t;
	struct api_principal w;

	/* A long name makes a token past API_JWT_CACHE_TOKEN_MAX. */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	t = api_jwt_issue(key, sizeof(key), 3, name, API_ROLE_ADMIN, 60);
	cr_assert_not_null(t);
	cr_assert_geq(strlen(t), API_JWT_CACHE_TOKEN_MAX);
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &w), 0);
	cr_assert_eq(w.user_id, 3);
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &w), 0);
	t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
	cr_assert_eq(api_jwt_verify_cached(&cache, key, sizeof(key), t, &w), -EACCES);
	free(t);
}
