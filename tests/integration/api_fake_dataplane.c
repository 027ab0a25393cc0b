/*
 * A stand-in dataplane for the admin API tests: makes the stats region of an instance (two
 * running workers with counters and histograms filled in, and ABI 3 rows: worker 0 has venue
 * session "xnas" logged in, worker 1 "xnas" and "bats"; risk reject reasons, an account and a
 * position) and both workers' command rings, then writes every command the control plane sends
 * as one line of text to a file until SIGTERM. Venue disconnect and connect commands also move
 * the session's state in the region (closed and admin down / active), as a real worker would.
 * Usage: api_fake_dataplane INSTANCE OUT_FILE   (prints "ready" once both are made)
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "command.h"
#include "stats.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void print_command(FILE *out, uint32_t w, const struct shm_command *c)
{
	fprintf(out, "worker=%u id=%lu type=%u", w, (unsigned long)c->id, c->type);
	switch (c->type) {
	case SHM_COMMAND_SET_LIMIT:
		fprintf(out, " scope=%u target=%u limit=%u value=%ld", c->set_limit.scope,
			c->set_limit.id, c->set_limit.limit, (long)c->set_limit.value);
		break;
	case SHM_COMMAND_KILL_SWITCH:
		fprintf(out, " scope=%u target=%u on=%u cancel_open=%u", c->kill_switch.scope,
			c->kill_switch.id, c->kill_switch.on, c->kill_switch.cancel_open);
		break;
	case SHM_COMMAND_MANUAL_ORDER:
		fprintf(out,
			" client_order_id=%lu account=%u instrument=%u venue=%u side=%c "
			"price=%ld qty=%ld",
			(unsigned long)c->manual_order.client_order_id, c->manual_order.account,
			c->manual_order.instrument, c->manual_order.venue, c->manual_order.side,
			(long)c->manual_order.price, (long)c->manual_order.qty);
		break;
	case SHM_COMMAND_MANUAL_CANCEL:
		fprintf(out, " order_id=%lu account=%u", (unsigned long)c->manual_cancel.order_id,
			c->manual_cancel.account);
		break;
	case SHM_COMMAND_VENUE_DISCONNECT:
	case SHM_COMMAND_VENUE_CONNECT:
		fprintf(out, " venue=%.*s", (int)sizeof(c->venue.name), c->venue.name);
		break;
	}
	fprintf(out, "\n");
	fflush(out);
}

/* What a worker does with a venue command, as far as the stats region shows it. */
static void apply_venue(struct shm_stats_worker *w, const struct shm_command *c)
{
	if (c->type != SHM_COMMAND_VENUE_DISCONNECT && c->type != SHM_COMMAND_VENUE_CONNECT)
		return;
	for (uint32_t i = 0; i < w->nsessions; i++) {
		struct shm_stats_session *v = &w->sessions[i];
		if (strncmp(v->name, c->venue.name, sizeof(c->venue.name)))
			continue;
		bool down = c->type == SHM_COMMAND_VENUE_DISCONNECT;
		v->state = down ? SHM_SESSION_CLOSED : SHM_SESSION_ACTIVE;
		v->admin_down = down;
		v->state_change_tsc = clock_tsc();
		if (!down) {
			v->logins++;
			v->reconnects++;
		}
	}
}

static void session(struct shm_stats_worker *w, const char *name, uint64_t next_seq)
{
	struct shm_stats_session *v = &w->sessions[w->nsessions++];

	snprintf(v->name, sizeof(v->name), "%s", name);
	v->state = SHM_SESSION_ACTIVE;
	v->next_seq = next_seq;
	v->out_msgs = 40;
	v->in_msgs = next_seq - 1;
	v->logins = 1;
	v->orders_accepted = 30;
	v->orders_filled = 12;
	v->state_change_tsc = clock_tsc();
}

int main(int argc, char **argv)
{
	struct shm_command_ring rings[2];
	struct shm_stats *st;
	struct shm_command c;
	char err[512];
	FILE *out;

	if (argc != 3) {
		fprintf(stderr, "usage: api_fake_dataplane INSTANCE OUT_FILE\n");
		return 2;
	}
	clock_calibrate(20);
	out = fopen(argv[2], "w");
	st = shm_stats_create(argv[1], 2, err, sizeof(err));
	if (!out || !st) {
		fprintf(stderr, "api_fake_dataplane: %s\n", st ? argv[2] : err);
		return 1;
	}
	for (uint32_t w = 0; w < 2; w++) {
		if (shm_command_create(&rings[w], argv[1], w, 64, err, sizeof(err))) {
			fprintf(stderr, "api_fake_dataplane: %s\n", err);
			return 1;
		}
		st->workers[w].passes = 1000;
		st->workers[w].busy_passes = 250;
		st->workers[w].packets = 500 + w;
		st->workers[w].orders_sent = 7;
		for (uint64_t v = 1; v < 100000; v += 97)
			hist_record(&st->workers[w].t2t_cycles, v * 3);
		hist_record(&st->workers[w].burst_cycles, 1234);
		st->workers[w].state = SHM_STATS_RUNNING;
		st->workers[w].nreasons = 3;
		strcpy(st->workers[w].reason_names[0], "ok");
		strcpy(st->workers[w].reason_names[1], "no_limits");
		strcpy(st->workers[w].reason_names[2], "max_qty");
		st->workers[w].risk_rejects_by[2] = 4 + w;
		session(&st->workers[w], "xnas", 101 + w);
		st->workers[w].naccounts = 1;
		st->workers[w].accounts[0] = (struct shm_stats_account){
			.id = 3, .realized_pnl = 125000, .unrealized_pnl = -5000, .cash = 1000000000
		};
		st->workers[w].npositions = 1;
		st->workers[w].positions[0] = (struct shm_stats_position){ .account = 3,
									   .instrument = 12,
									   .position = 200 };
		strcpy(st->workers[w].positions[0].symbol, "AAPL");
	}
	session(&st->workers[1], "bats", 7);
	st->hdr.ndrops = 1;
	snprintf(st->hdr.drop_names[0], SHM_STATS_DROP_NAME_LEN, "malformed");
	snprintf(st->hdr.driver, sizeof(st->hdr.driver), "fake");
	st->hdr.state = SHM_STATS_RUNNING;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		for (uint32_t w = 0; w < 2; w++) {
			st->workers[w].heartbeat_tsc = clock_tsc();
			while (shm_command_poll(&rings[w], &c)) {
				print_command(out, w, &c);
				apply_venue(&st->workers[w], &c);
			}
		}
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
	for (uint32_t w = 0; w < 2; w++)
		shm_command_destroy(&rings[w]);
	shm_stats_destroy(st);
	fclose(out);
	return 0;
}
