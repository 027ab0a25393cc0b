/*
 * journal_gen: a test helper that plays a dataplane's journals, for the persister's integration
 * test. Every record is a pure function of (worker, seq), so a writer killed and restarted
 * resumes where its journal ends and still produces the same journal, and the expected database
 * contents can be printed from the journal itself. Orders go through new, ack, partial fill and
 * fill, cancel or replace (by a new order id), or are rejected.
 *
 *   journal_gen write DIR INSTANCE WORKERS TOTAL RATE [CAPACITY]
 *       appends until each of WORKERS workers has TOTAL/WORKERS records, RATE records/s overall
 *       (0: as fast as it can), CAPACITY records per file
 *   journal_gen dump DIR INSTANCE WORKERS
 *       prints "worker seq type key qty" per record, as the test's SQL prints them
 *   journal_gen fills DIR INSTANCE WORKERS
 *       prints "worker seq order_id qty" per fill
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal.h"

#define MAX_WORKERS 16

/* The record of (worker, seq). */
static void make(struct shm_journal_record *r, uint32_t worker, uint64_t seq)
{
	uint64_t k = seq % 100, id = (uint64_t)worker * 1000000000ull + seq / 4 + 1;

	memset(r->payload, 0, sizeof(r->payload));
	r->version = 1;
	if (k == 37) {
		r->type = SHM_JOURNAL_RISK;
		r->len = sizeof(r->risk);
		r->risk.order_id = seq;
		r->risk.qty = (int64_t)(seq % 50) + 1;
		r->risk.control = 3;
		r->risk.action = SHM_JOURNAL_RISK_REJECTED;
		r->risk.side = SHM_JOURNAL_SELL;
		r->risk.limit = 1000;
		r->risk.value = 1001;
	} else if (k == 73) {
		r->type = SHM_JOURNAL_SESSION;
		r->len = sizeof(r->session);
		r->session.in_seq = seq;
		r->session.out_seq = seq * 2;
		r->session.kind = SHM_JOURNAL_SESSION_GAP;
		snprintf(r->session.session, sizeof(r->session.session), "S%u", worker);
		snprintf(r->session.detail, sizeof(r->session.detail), "gap\tat \\%llu",
			 (unsigned long long)seq);
	} else if (k == 91 || (seq % 4 >= 2 && id % 11 == 0)) {
		/* (Also the places of a rejected order's fills: it has no more events.) */
		r->type = SHM_JOURNAL_COMMAND_ACK;
		r->len = sizeof(r->command_ack);
		r->command_ack.command_id = seq;
		r->command_ack.command_type = 2;
		r->command_ack.result = -(int32_t)(seq % 5);
		snprintf(r->command_ack.detail, sizeof(r->command_ack.detail), "done");
	} else {
		/* Orders of four events: new, ack, a partial fill, then a fill, a cancel or a
		 * replace by a new order (id + 500000000). One in eleven is rejected instead of
		 * acked and has no more events. */
		struct shm_journal_order *o = &r->order;
		static const uint16_t types[4] = { SHM_JOURNAL_ORDER_NEW, SHM_JOURNAL_ORDER_ACK,
						   SHM_JOURNAL_ORDER_FILL, SHM_JOURNAL_ORDER_FILL };

		r->type = types[seq % 4];
		r->len = sizeof(*o);
		o->order_id = id;
		o->venue_order_id = seq % 4 ? id + 7 : 0;
		o->price = 1000000 + (int64_t)(id % 1000);
		o->qty = 100;
		o->leaves = 100;
		o->instrument = (uint32_t)(id % 50);
		o->account = (uint32_t)(id % 3) + 1;
		o->venue = 1;
		o->side = id % 2 ? SHM_JOURNAL_SELL : SHM_JOURNAL_BUY;
		if (seq % 4 == 1 && id % 11 == 0) {
			r->type = SHM_JOURNAL_ORDER_REJECT;
			o->leaves = 0;
			o->reason = 'X';
			o->venue_order_id = 0;
		} else if (seq % 4 == 2) {
			o->last_qty = 40;
			o->last_px = o->price;
			o->leaves = 60;
			o->match_no = seq;
		} else if (seq % 4 == 3) {
			if (id % 7 == 0) {
				r->type = SHM_JOURNAL_ORDER_REPLACE;
				o->orig_order_id = id;
				o->order_id = id + 500000000ull;
				o->venue_order_id = id + 9;
				o->price++;
				o->qty = o->leaves = 80;
			} else if (id % 3 == 0) {
				r->type = SHM_JOURNAL_ORDER_CANCEL;
				o->leaves = 0;
			} else {
				o->last_qty = 60;
				o->last_px = o->price;
				o->leaves = 0;
				o->match_no = seq;
			}
		}
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: journal_gen write DIR INSTANCE WORKERS TOTAL RATE [CAPACITY]\n"
			"       journal_gen dump|fills DIR INSTANCE WORKERS\n");
	return 2;
}

static int write_cmd(const char *dir, const char *inst, uint32_t nw, uint64_t total, uint64_t rate,
		     uint64_t cap)
{
	struct shm_journal_writer *w[MAX_WORKERS];
	uint64_t per = total / nw, done = 0, start;
	char err[1024];
	struct timespec ts;

	for (uint32_t i = 0; i < nw; i++) {
		struct shm_journal_opts o = {
			.dir = dir, .instance = inst, .worker = i, .capacity = cap
		};
		w[i] = shm_journal_writer_open(&o, err, sizeof(err));
		if (!w[i]) {
			fprintf(stderr, "journal_gen: %s\n", err);
			return 1;
		}
		done += w[i]->next_seq - 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	for (uint64_t n = 0;; n++) {
		bool more = false;
		for (uint32_t i = 0; i < nw; i++) {
			struct shm_journal_record *r;
			if (w[i]->next_seq > per)
				continue;
			more = true;
			r = shm_journal_reserve(w[i]);
			if (!r) {
				fprintf(stderr, "journal_gen: %s\n", w[i]->err);
				return 1;
			}
			make(r, i, w[i]->next_seq);
			shm_journal_commit(w[i], r);
		}
		if (!more)
			break;
		/* Keep to the rate: sleep until the time the records so far were due. */
		if (rate && n % 64 == 63) {
			uint64_t due = start + (n + 1) * nw * 1000000000ull / rate, now;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			if (due > now) {
				ts.tv_sec = (time_t)((due - now) / 1000000000ull);
				ts.tv_nsec = (long)((due - now) % 1000000000ull);
				nanosleep(&ts, NULL);
			}
		}
	}
	for (uint32_t i = 0; i < nw; i++)
		shm_journal_writer_close(w[i]);
	fprintf(stderr, "journal_gen: %llu records per worker (%llu were there at start)\n",
		(unsigned long long)per, (unsigned long long)done);
	return 0;
}

static int dump_cmd(const char *dir, const char *inst, uint32_t nw, bool fills)
{
	static struct shm_journal_record recs[1024];
	char err[1024];

	for (uint32_t w = 0; w < nw; w++) {
		struct shm_journal_reader *r =
			shm_journal_reader_open(dir, inst, w, 1, err, sizeof(err));
		int got;

		if (!r) {
			fprintf(stderr, "journal_gen: %s\n", err);
			return 1;
		}
		while ((got = shm_journal_reader_read(r, recs, 1024)) > 0) {
			for (int i = 0; i < got; i++) {
				const struct shm_journal_record *x = &recs[i];
				unsigned long long key, qty;
				if (fills) {
					if (x->type == SHM_JOURNAL_ORDER_FILL)
						printf("%u\t%llu\t%llu\t%lld\n", w,
						       (unsigned long long)x->seq,
						       (unsigned long long)x->order.order_id,
						       (long long)x->order.last_qty);
					continue;
				}
				switch (x->type) {
				case SHM_JOURNAL_RISK:
					key = x->risk.order_id;
					qty = (unsigned long long)x->risk.qty;
					break;
				case SHM_JOURNAL_SESSION:
					key = x->session.in_seq;
					qty = x->session.out_seq;
					break;
				case SHM_JOURNAL_COMMAND_ACK:
					printf("%u\t%llu\t%s\t%llu\t%d\n", w,
					       (unsigned long long)x->seq,
					       shm_journal_type_name(x->type),
					       (unsigned long long)x->command_ack.command_id,
					       x->command_ack.result);
					continue;
				default:
					key = x->order.order_id;
					qty = (unsigned long long)x->order.qty;
					break;
				}
				printf("%u\t%llu\t%s\t%llu\t%llu\n", w, (unsigned long long)x->seq,
				       shm_journal_type_name(x->type), key, qty);
			}
		}
		if (got < 0) {
			fprintf(stderr, "journal_gen: %s\n", shm_journal_reader_error(r));
			return 1;
		}
		shm_journal_reader_close(r);
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t nw;

	if (argc < 5)
		return usage();
	nw = (uint32_t)strtoul(argv[4], NULL, 10);
	if (nw == 0 || nw > MAX_WORKERS)
		return usage();
	if (!strcmp(argv[1], "write") && (argc == 7 || argc == 8))
		return write_cmd(argv[2], argv[3], nw, strtoull(argv[5], NULL, 10),
				 strtoull(argv[6], NULL, 10),
				 argc == 8 ? strtoull(argv[7], NULL, 10) : 0);
	if (!strcmp(argv[1], "dump") && argc == 5)
		return dump_cmd(argv[2], argv[3], nw, false);
	if (!strcmp(argv[1], "fills") && argc == 5)
		return dump_cmd(argv[2], argv[3], nw, true);
	return usage();
}
