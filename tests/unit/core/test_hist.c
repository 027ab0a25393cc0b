/*
 * Description: histogram bucketing, percentiles against a sorted reference, merge, and the
 * cumulative buckets exported to Prometheus.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "hist.h"

static struct hist *hist_new(void)
{
	struct hist *h = malloc(sizeof(*h));
	cr_assert_not_null(h);
	hist_reset(h);
	return h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(hist, small_values_are_exact)
{
	for (uint64_t v = 0; v < HIST_SUB_COUNT; v++) {
		cr_assert_eq(hist_index(v), v);
		cr_assert_eq(hist_bucket_low((uint32_t)v), v);
		cr_assert_eq(hist_bucket_high((uint32_t)v), v);
	}
}

Test(hist, every_value_falls_inside_its_bucket_and_buckets_tile)
{
	uint64_t s = 12345;
	for (int i = 0; i < 1000000; i++) {
		uint64_t v = rng(&s) >> (rng(&s) % 64);
		if (v > HIST_MAX_VALUE)
			v &= HIST_MAX_VALUE;
		uint32_t idx = hist_index(v);
		cr_assert_lt(idx, HIST_BUCKETS);
		cr_assert(hist_bucket_low(idx) <= v && v <= hist_bucket_high(idx), "v=%lu idx=%u",
			  v, idx);
	}
	for (uint32_t i = 1; i < HIST_BUCKETS; i++)
		cr_assert_eq(hist_bucket_low(i), hist_bucket_high(i - 1) + 1,
			     "gap before bucket %u", i);
	cr_assert_eq(hist_bucket_high(HIST_BUCKETS - 1), HIST_MAX_VALUE);
}

Test(hist, bucket_width_is_within_the_stated_precision)
{
	for (uint32_t i = HIST_SUB_COUNT; i < HIST_BUCKETS; i++) {
		uint64_t width = hist_bucket_high(i) - hist_bucket_low(i) + 1;
		cr_assert_leq(width * HIST_HALF_COUNT, hist_bucket_low(i), "bucket %u too wide", i);
	}
}

Test(hist, values_above_the_range_clamp_to_the_last_bucket_and_keep_max)
{
	struct hist *h = hist_new();
	hist_record(h, UINT64_MAX);
	cr_assert_eq(h->buckets[HIST_BUCKETS - 1], 1);
	cr_assert_eq(h->max, UINT64_MAX);
	/* The bucket's highest value, not the recorded max, since the bucket is clamped. */
	cr_assert_eq(hist_percentile(h, 0.5), HIST_MAX_VALUE);
	free(h);
}

/* Percentiles of a skewed sample (mostly hundreds of ns, a heavy tail) against the exact ones. */
Test(hist, percentiles_match_sorted_reference_within_bucket_precision)
{
	enum { N = 200000 };
	static uint64_t vals[N];
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999, 0.9999 };
	struct hist *h = hist_new();
	uint64_t s = 987654321;

	for (int i = 0; i < N; i++) {
		uint64_t x = rng(&s);
		vals[i] = 100 + x % 400 + ((x >> 32) % 100 == 0 ? (x >> 40) % 1000000 : 0);
		hist_record(h, vals[i]);
	}
	qsort(vals, N, sizeof(vals[0]), cmp_u64);
	cr_assert_eq(h->count, N);
	cr_assert_eq(h->min, vals[0]);
	cr_assert_eq(h->max, vals[N - 1]);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t rank = (uint64_t)(qs[i] * N + 0.999999);
		uint64_t want = vals[rank - 1];
		uint64_t got = hist_percentile(h, qs[i]);
		uint64_t tol = want / HIST_HALF_COUNT + 1;
		cr_assert(got >= want && got - want <= tol, "p%g: got %lu, reference %lu",
			  qs[i] * 100, got, want);
	}
	cr_assert_eq(hist_percentile(h, 1.0), vals[N - 1]);
	cr_assert_eq(hist_percentile(h, 0.0), vals[0]);
	free(h);
}

Test(hist, empty_histogram_reports_zero)
{
	struct hist *h = hist_new();
	cr_assert_eq(hist_percentile(h, 0.99), 0);
	cr_assert_eq(hist_mean(h), 0);
	free(h);
}

Test(hist, merge_equals_recording_everything_in_one)
{
	struct hist *a = hist_new(), *b = hist_new(), *all = hist_new();
	uint64_t s = 42;

	for (int i = 0; i < 50000; i++) {
		uint64_t v = rng(&s) % 100000;
		hist_record(i % 3 ? a : b, v);
		hist_record(all, v);
	}
	hist_merge(a, b);
	cr_assert_eq(a->count, all->count);
	cr_assert_eq(a->sum, all->sum);
	cr_assert_eq(a->min, all->min);
	cr_assert_eq(a->max, all->max);
	cr_assert_arr_eq(a->buckets, all->buckets, sizeof(a->buckets));
	cr_assert_eq(hist_percentile(a, 0.99), hist_percentile(all, 0.99));
	free(a);
	free(b);
	free(all);
}

Test(hist, merging_an_empty_histogram_keeps_min)
{
	struct hist *a = hist_new(), *b = hist_new();
	hist_record(a, 500);
	hist_merge(a, b);
	cr_assert_eq(a->min, 500);
	cr_assert_eq(a->count, 1);
	free(a);
	free(b);
}

Test(hist, cumulative_buckets_count_values_at_or_below_each_bound)
{
	struct hist *h = hist_new();
	static const uint64_t bounds[] = { 50, 100, 1000, 10000 };
	uint64_t out[4];

	for (uint64_t v = 1; v <= 100; v++)
		hist_record(h, v); /* exact buckets */
	hist_record(h, 5000);
	hist_record(h, 20000);
	hist_cumulative(h, bounds, 4, out);
	cr_assert_eq(out[0], 50);
	cr_assert_eq(out[1], 100);
	cr_assert_eq(out[2], 100);
	cr_assert_eq(out[3], 101);
	cr_assert_eq(h->count, 102);
	free(h);
}
