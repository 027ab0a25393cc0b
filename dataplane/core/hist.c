/*
 * Histogram queries: percentiles, merge and Prometheus buckets. Recording is inline in hist.h;
 * everything here walks the buckets and so belongs off the hot path.
 */
#include "hist.h"

#include <string.h>

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint64_t hist_bucket_low(uint32_t idx)
{
	if (idx < HIST_SUB_COUNT)
		return idx;
	uint32_t rel = idx - HIST_SUB_COUNT;
	uint32_t shift = rel / HIST_HALF_COUNT + 1;
	uint64_t top = HIST_HALF_COUNT + rel % HIST_HALF_COUNT;
	return top << shift;
}

uint64_t hist_bucket_high(uint32_t idx)
{
	if (idx < HIST_SUB_COUNT)
		return idx;
	uint32_t shift = (idx - HIST_SUB_COUNT) / HIST_HALF_COUNT + 1;
	return hist_bucket_low(idx) + (1ull << shift) - 1;
}

uint64_t hist_percentile(const struct hist *h, double q)
{
	if (h->count == 0)
		return 0;
	if (q <= 0.0)
		return h->min;
	if (q >= 1.0)
		return h->max;

	uint64_t rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;

	uint64_t seen = 0;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t v = hist_bucket_high(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

uint64_t hist_mean(const struct hist *h)
{
	return h->count ? h->sum / h->count : 0;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->count && src->min < dst->min)
		dst->min = src->min;
	if (src->count && src->max > dst->max)
		dst->max = src->max;
}

void hist_cumulative(const struct hist *h, const uint64_t *bounds, size_t n, uint64_t *out)
{
	uint64_t seen = 0;
	uint32_t i = 0;

	for (size_t b = 0; b < n; b++) {
		while (i < HIST_BUCKETS && hist_bucket_high(i) <= bounds[b])
			seen += h->buckets[i++];
		out[b] = seen;
	}
}
