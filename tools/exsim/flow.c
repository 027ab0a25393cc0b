/*
 * Background flow. Synthetic participants (16 firms, so they trade with each other) send orders
 * in a Poisson process at the configured rate: each arrival moves its instrument's mid by a tick
 * at random, then cancels a resting background order (cancel_pct), crosses the spread with an
 * IOC (cross_pct), or rests a limit order a few ticks from the mid within depth_levels. The
 * number of resting background orders per instrument is capped, so the book stays deep but
 * bounded. Replay mode publishes an ITCH file's messages instead, paced at replay_rate.
 */
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exsim.h"
#include "itch.h"

#define FLOW_FIRMS 16
#define FLOW_MAX_PER_PASS 20000 /* so a stall cannot turn into an unbounded catch-up burst */

static uint64_t next_gap_ns(struct exsim *x)
{
	double u = exsim_rand01(&x->rng);

	if (u < 1e-12)
		u = 1e-12;
	return (uint64_t)(-log(u) * 1e9 / (double)x->cfg->flow_rate) + 1;
}

static int64_t lot_qty(struct exsim *x, const struct exsim_instrument *in)
{
	uint32_t lots = x->cfg->max_qty / in->round_lot;

	if (lots == 0)
		return 1 + (int64_t)(exsim_rand(&x->rng) % x->cfg->max_qty);
	return (int64_t)in->round_lot * (1 + (int64_t)(exsim_rand(&x->rng) % lots));
}

static void arrival(struct exsim *x)
{
	const struct exsim_cfg *cfg = x->cfg;
	uint32_t i = (uint32_t)(exsim_rand(&x->rng) % cfg->ninstruments);
	struct exsim_instrument *in = &x->cfg->instruments[i];
	uint32_t firm = x->bg_firm + (uint32_t)(exsim_rand(&x->rng) % FLOW_FIRMS);
	uint64_t r = exsim_rand(&x->rng) % 100;
	enum match_side side = exsim_rand(&x->rng) & 1 ? MATCH_BUY : MATCH_SELL;

	if (in->halted || !in->flow)
		return;
	/* the random walk */
	uint64_t step = exsim_rand(&x->rng) % 10;
	if (step < 3 && in->mid > 20 * in->tick)
		in->mid -= in->tick;
	else if (step >= 7)
		in->mid += in->tick;

	if (x->nbg && (r < cfg->cancel_pct || x->bg_per_inst[i] >= cfg->max_resting)) {
		exsim_bg_cancel(x, (uint32_t)(exsim_rand(&x->rng) % x->nbg));
		return;
	}
	if (r < cfg->cancel_pct + cfg->cross_pct) {
		int64_t bid, bq, ask, aq;

		match_bbo(x->eng, i, &bid, &bq, &ask, &aq);
		int64_t px = side == MATCH_BUY ? ask : bid;
		if (px <= 0)
			return;
		x->st.bg_crosses++;
		exsim_bg_submit(x, i, side, px, lot_qty(x, in), MATCH_IOC, firm);
		return;
	}
	int64_t half = (cfg->spread_ticks + 1) / 2;
	int64_t k = (int64_t)(exsim_rand(&x->rng) % cfg->depth_levels);
	int64_t px = side == MATCH_BUY ? in->mid - (half + k) * in->tick
				       : in->mid + (half + k) * in->tick;
	if (px <= 0)
		return;
	exsim_bg_submit(x, i, side, px, lot_qty(x, in), MATCH_DAY, firm);
}

static int replay_open(struct exsim *x)
{
	int fd = open(x->cfg->replay_file, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return -1;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	x->replay = m;
	x->replay_size = (size_t)st.st_size;
	x->replay_next_ns = x->now_ns;
	return 0;
}

int exsim_flow_open(struct exsim *x)
{
	x->next_arrival_ns = x->now_ns + next_gap_ns(x);
	if (x->cfg->flow == EXSIM_FLOW_REPLAY)
		return replay_open(x);
	return 0;
}

void exsim_flow_close(struct exsim *x)
{
	if (x->replay)
		munmap((void *)x->replay, x->replay_size);
	x->replay = NULL;
}

static void replay_run(struct exsim *x)
{
	uint32_t n = 0;
	const uint8_t *m;
	uint16_t len;

	while (n < FLOW_MAX_PER_PASS && x->replay_next_ns <= x->now_ns) {
		int rc = itch_file_next(x->replay, x->replay_size, &x->replay_off, &m, &len);
		if (rc <= 0) {
			x->replay_next_ns = UINT64_MAX; /* the file is done (or truncated) */
			return;
		}
		if (itch_msg_check(m, len) == 0)
			exsim_pub_message(&x->pub, m, len, x->now_ns);
		n++;
		if (x->cfg->replay_rate)
			x->replay_next_ns += 1000000000u / x->cfg->replay_rate;
	}
}

void exsim_flow_run(struct exsim *x)
{
	if (x->flow_paused)
		return;
	switch (x->cfg->flow) {
	case EXSIM_FLOW_OFF: return;
	case EXSIM_FLOW_REPLAY: replay_run(x); return;
	case EXSIM_FLOW_SYNTHETIC:
		for (uint32_t n = 0; n < FLOW_MAX_PER_PASS && x->next_arrival_ns <= x->now_ns;
		     n++) {
			arrival(x);
			x->next_arrival_ns += next_gap_ns(x);
		}
		if (x->next_arrival_ns + 1000000000u < x->now_ns)
			x->next_arrival_ns = x->now_ns; /* fell a second behind: do not chase it */
		return;
	}
}

uint64_t exsim_flow_next_due(const struct exsim *x)
{
	if (x->flow_paused)
		return UINT64_MAX;
	switch (x->cfg->flow) {
	case EXSIM_FLOW_SYNTHETIC: return x->next_arrival_ns;
	case EXSIM_FLOW_REPLAY: return x->replay_next_ns;
	default: return UINT64_MAX;
	}
}
