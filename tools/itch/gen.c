/*
 * tradsys-itch gen: a deterministic synthetic ITCH 5.0 day. Start of day, a stock directory and a
 * trading action per symbol, then a mix of order messages around a random-walk mid per symbol:
 * adds (A, some F) on the right side of the mid, executions (E, C), partial cancels (X), deletes
 * (D), replaces (U) and non-displayed trades (P), then end of day. Every execution, cancel, delete
 * or replace refers to a live order and never exceeds its quantity, so a correct book applies the
 * whole file without a refusal. Most orders live briefly (picked from the newest), some all day.
 * Memory is bounded: at most LIVE_MAX live orders per symbol.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itch.h"
#include "itch_tool.h"

#define LIVE_MAX 4096

struct gorder {
	uint64_t ref;
	int64_t price;
	uint32_t qty;
	uint8_t side;
};

struct gsym {
	char name[9];
	int64_t mid;
	uint32_t n;
	struct gorder *live;
};

struct gen {
	FILE *out;
	uint64_t x;
	uint64_t ts;
	uint64_t ref;
	uint64_t match;
	uint64_t written;
	uint8_t m[64];
};

static uint64_t rnd(struct gen *g)
{
	g->x ^= g->x << 13;
	g->x ^= g->x >> 7;
	g->x ^= g->x << 17;
	return g->x;
}

static void put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Starts a message in g->m with the common header. */
static uint8_t *begin(struct gen *g, uint8_t type, uint16_t locate)
{
	g->ts += 1 + rnd(g) % 2000;
	memset(g->m, ' ', sizeof(g->m));
	g->m[0] = type;
	put(g->m + 1, locate, 2);
	put(g->m + 3, 0, 2);
	put(g->m + 5, g->ts, 6);
	return g->m;
}

static int emit(struct gen *g)
{
	uint16_t len = itch_msg_len[g->m[0]];
	uint8_t pre[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	if (fwrite(pre, 1, 2, g->out) != 2 || fwrite(g->m, 1, len, g->out) != len)
		return -EIO;
	g->written++;
	return 0;
}

static void symbol_name(char *out, uint32_t i)
{
	/* AAAA, AAAB, ...: four letters, distinct for up to 456976 symbols. */
	for (int k = 3; k >= 0; k--) {
		out[k] = (char)('A' + i % 26);
		i /= 26;
	}
	out[4] = '\0';
}

/*
 * Picks a live order: mostly among the newest (short lives); otherwise the one farthest from the
 * mid among a few sampled, as participants pull quotes the market has moved away from, so the
 * book stays concentrated near the inside as real books are; the rest live all day.
 */
static uint32_t pick(struct gen *g, struct gsym *s)
{
	uint64_t r = rnd(g) % 10;

	if (r < 7) {
		uint32_t window = s->n < 32 ? s->n : 32;
		return s->n - 1 - (uint32_t)(rnd(g) % window);
	}
	uint32_t best = (uint32_t)(rnd(g) % s->n);
	for (int k = 0; k < 3; k++) {
		uint32_t c = (uint32_t)(rnd(g) % s->n);
		if (llabs(s->live[c].price - s->mid) > llabs(s->live[best].price - s->mid))
			best = c;
	}
	return best;
}

static void drop(struct gsym *s, uint32_t i)
{
	s->live[i] = s->live[--s->n];
}

static int add(struct gen *g, struct gsym *s, uint16_t locate)
{
	struct gorder o;
	o.side = rnd(g) & 1 ? 'S' : 'B';
	o.ref = ++g->ref;
	o.qty = (uint32_t)(1 + rnd(g) % 10) * 100;
	int64_t off = (int64_t)(1 + rnd(g) % 20) * 100; /* a cent per tick, up to 20 ticks */
	o.price = o.side == 'B' ? s->mid - off : s->mid + off;
	if (o.price < 100)
		o.price = 100;
	int mpid = rnd(g) % 10 == 0;
	uint8_t *m = begin(g, mpid ? ITCH_ADD_ORDER_MPID : ITCH_ADD_ORDER, locate);
	put(m + 11, o.ref, 8);
	m[19] = o.side;
	put(m + 20, o.qty, 4);
	memcpy(m + 24, s->name, strlen(s->name));
	put(m + 32, (uint64_t)o.price, 4);
	if (mpid)
		memcpy(m + 36, "TSYS", 4);
	s->live[s->n++] = o;
	return emit(g);
}

static int order_event(struct gen *g, struct gsym *s, uint16_t locate, uint64_t r)
{
	uint32_t i = pick(g, s);
	struct gorder *o = &s->live[i];
	uint8_t *m;

	if (r < 20) { /* execution: E or C, partial or full */
		uint32_t q = o->qty <= 100 ? o->qty : (uint32_t)(1 + rnd(g) % (o->qty / 100)) * 100;
		int with_price = rnd(g) % 4 == 0;
		m = begin(g, with_price ? ITCH_ORDER_EXECUTED_PRICE : ITCH_ORDER_EXECUTED, locate);
		put(m + 11, o->ref, 8);
		put(m + 19, q, 4);
		put(m + 23, ++g->match, 8);
		if (with_price) {
			m[31] = 'Y';
			put(m + 32, (uint64_t)o->price, 4);
		}
		o->qty -= q;
		/* Trades move the mid toward the executed side. */
		s->mid += o->side == 'B' ? -1 : 1;
		if (o->qty == 0)
			drop(s, i);
	} else if (r < 32 && o->qty > 100) { /* partial cancel */
		uint32_t q = (uint32_t)(1 + rnd(g) % (o->qty / 100 - 1 + 1)) * 100;
		if (q >= o->qty)
			q = o->qty - 100;
		m = begin(g, ITCH_ORDER_CANCEL, locate);
		put(m + 11, o->ref, 8);
		put(m + 19, q, 4);
		o->qty -= q;
	} else if (r < 80) { /* delete */
		m = begin(g, ITCH_ORDER_DELETE, locate);
		put(m + 11, o->ref, 8);
		drop(s, i);
	} else { /* replace: new reference, price near the mid on the same side, new size */
		uint64_t nref = ++g->ref;
		int64_t off = (int64_t)(1 + rnd(g) % 20) * 100;
		int64_t px = o->side == 'B' ? s->mid - off : s->mid + off;
		if (px < 100)
			px = 100;
		uint32_t q = (uint32_t)(1 + rnd(g) % 10) * 100;
		m = begin(g, ITCH_ORDER_REPLACE, locate);
		put(m + 11, o->ref, 8);
		put(m + 19, nref, 8);
		put(m + 27, q, 4);
		put(m + 31, (uint64_t)px, 4);
		o->ref = nref;
		o->price = px;
		o->qty = q;
	}
	return emit(g);
}

int itch_tool_gen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "messages", required_argument, NULL, 'n' },
		{ "symbols", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t nmsg = 1000000, seed = 1;
	uint32_t nsym = 100;
	const char *path = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:m:s:o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': nmsg = strtoull(optarg, NULL, 10); break;
		case 'm': nsym = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'o': path = optarg; break;
		default: return 2;
		}
	}
	if (!path || nsym == 0 || nsym > 65535 || nmsg < (uint64_t)nsym * 2 + 2) {
		fprintf(stderr,
			"tradsys-itch gen: need -o FILE, --symbols in 1..65535 and --messages "
			"of at least 2 per symbol plus 2\n");
		return 2;
	}

	struct gen g = { .x = seed * 0x9e3779b97f4a7c15ull | 1, .ts = 4ull * 3600 * 1000000000 };
	struct gsym *syms = calloc(nsym, sizeof(*syms));
	int rc = 0;
	g.out = fopen(path, "wb");
	if (!syms || !g.out) {
		fprintf(stderr, "tradsys-itch gen: %s: %s\n", path, strerror(errno));
		free(syms);
		return 1;
	}
	setvbuf(g.out, NULL, _IOFBF, 1 << 20);

	uint8_t *m = begin(&g, ITCH_SYSTEM_EVENT, 0);
	m[11] = 'O';
	rc |= emit(&g);
	for (uint32_t i = 0; i < nsym; i++) {
		struct gsym *s = &syms[i];
		symbol_name(s->name, i);
		s->mid = (int64_t)(10 + rnd(&g) % 490) * 10000;
		s->live = malloc(LIVE_MAX * sizeof(*s->live));
		if (!s->live) {
			rc = -ENOMEM;
			break;
		}
		m = begin(&g, ITCH_STOCK_DIRECTORY, (uint16_t)(i + 1));
		memcpy(m + 11, s->name, strlen(s->name));
		m[19] = 'Q';
		m[20] = 'N';
		put(m + 21, 100, 4);
		m[25] = 'N';
		m[26] = 'C';
		m[29] = 'P';
		m[30] = 'N';
		m[31] = 'N';
		m[32] = '1';
		m[33] = 'N';
		put(m + 34, 0, 4);
		m[38] = 'N';
		rc |= emit(&g);
		m = begin(&g, ITCH_TRADING_ACTION, (uint16_t)(i + 1));
		memcpy(m + 11, s->name, strlen(s->name));
		m[19] = 'T';
		rc |= emit(&g);
	}
	while (rc == 0 && g.written < nmsg - 1) {
		uint32_t si = (uint32_t)(rnd(&g) % nsym);
		struct gsym *s = &syms[si];
		uint16_t locate = (uint16_t)(si + 1);
		uint64_t r = rnd(&g) % 100;
		/* Keep the book populated: adds win when few orders live, lose when full. */
		if (s->n < 16 || (r < 45 && s->n < LIVE_MAX)) {
			rc = add(&g, s, locate);
		} else if (r < 47) {
			m = begin(&g, ITCH_TRADE, locate);
			put(m + 11, 0, 8);
			m[19] = 'B';
			put(m + 20, 100, 4);
			memcpy(m + 24, s->name, strlen(s->name));
			put(m + 32, (uint64_t)s->mid, 4);
			put(m + 36, ++g.match, 8);
			rc = emit(&g);
		} else {
			rc = order_event(&g, s, locate, (r - 47) * 100 / 53);
		}
		if ((rnd(&g) & 255) == 0)
			s->mid += rnd(&g) & 1 ? 100 : -100;
		if (s->mid < 10000)
			s->mid = 10000;
	}
	m = begin(&g, ITCH_SYSTEM_EVENT, 0);
	m[11] = 'C';
	rc |= emit(&g);
	if (fclose(g.out) != 0)
		rc = -EIO;
	for (uint32_t i = 0; i < nsym; i++)
		free(syms[i].live);
	free(syms);
	if (rc) {
		fprintf(stderr, "tradsys-itch gen: writing %s failed\n", path);
		return 1;
	}
	return 0;
}
