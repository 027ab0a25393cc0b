/*
 * A log-linear latency histogram in fixed memory, in the manner of HdrHistogram: values below
 * 2^HIST_SUB_BITS are counted exactly; above, each power of two is split into 2^(HIST_SUB_BITS-1)
 * equal buckets, so a bucket's width is at most 1/2^(HIST_SUB_BITS-1) of its values (1.6%).
 * The struct holds no pointers, so it can live in shared memory (the stats region) and be read
 * by another process; a reader racing the writer may see a count off by the records in flight.
 */
#ifndef TRADSYS_CORE_HIST_H
#define TRADSYS_CORE_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_MAX_BITS 40 /* values up to 2^40 - 1 (18 minutes in ns); larger ones clamp */
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_HALF_COUNT (1u << (HIST_SUB_BITS - 1))
#define HIST_BUCKETS (HIST_SUB_COUNT + (HIST_MAX_BITS - HIST_SUB_BITS) * HIST_HALF_COUNT)
#define HIST_MAX_VALUE ((1ull << HIST_MAX_BITS) - 1)

struct hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t buckets[HIST_BUCKETS];
};

/* Bucket index of a value; values above HIST_MAX_VALUE fall in the last bucket. */
static inline uint32_t hist_index(uint64_t v)
{
	if (v < HIST_SUB_COUNT)
		return (uint32_t)v;
	if (v > HIST_MAX_VALUE)
		v = HIST_MAX_VALUE;
	uint32_t msb = 63u - (uint32_t)__builtin_clzll(v);
	uint32_t shift = msb - HIST_SUB_BITS + 1;
	uint32_t top = (uint32_t)(v >> shift); /* in [HIST_HALF_COUNT, HIST_SUB_COUNT) */
	return HIST_SUB_COUNT + (shift - 1) * HIST_HALF_COUNT + (top - HIST_HALF_COUNT);
}

/* Records one value: a few instructions and one counter increment, no branches on the data
 * beyond min and max. */
static inline void hist_record(struct hist *h, uint64_t v)
{
	h->buckets[hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* Empties the histogram. */
void hist_reset(struct hist *h);

/* Lowest and highest value that fall in bucket idx. */
uint64_t hist_bucket_low(uint32_t idx);
uint64_t hist_bucket_high(uint32_t idx);

/*
 * Value at quantile q (0..1, e.g. 0.999): the highest value of the bucket holding the
 * ceil(q * count)-th smallest record, clamped to the recorded max. 0 for an empty histogram.
 * q is a double because it is configuration, never data.
 */
uint64_t hist_percentile(const struct hist *h, double q);

/* Mean of the recorded values, rounded down; 0 when empty. */
uint64_t hist_mean(const struct hist *h);

/* Adds every record of src into dst (per-worker histograms into one). */
void hist_merge(struct hist *dst, const struct hist *src);

/*
 * Cumulative counts for Prometheus "le" buckets: out[i] = records whose bucket lies wholly at or
 * below bounds[i]. bounds must be ascending; n entries of out are written. The +Inf bucket is
 * h->count.
 */
void hist_cumulative(const struct hist *h, const uint64_t *bounds, size_t n, uint64_t *out);

#endif
