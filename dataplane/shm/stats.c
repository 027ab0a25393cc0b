/*
 * Creating, attaching to and printing the stats region. The dataplane creates it once at start
 * (a new shm object, shm_region_create, + ftruncate + mmap) and removes it on a clean exit; readers map it read-only and check
 * magic, version and size before they trust a single field, because the region may have been
 * written by another build of the dataplane.
 */
#include "stats.h"
#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <x86intrin.h>

#include "clock.h"

size_t shm_stats_bytes(uint32_t nworkers)
{
	return sizeof(struct shm_stats) + (size_t)nworkers * sizeof(struct shm_stats_worker);
}

int shm_stats_name(const char *instance, char *out, size_t len)
{
	size_t n = instance ? strlen(instance) : 0;

	if (n == 0 || n >= SHM_STATS_NAME_LEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = instance[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
		if (!ok)
			return -EINVAL;
	}
	if ((size_t)snprintf(out, len, "/tradsys-%s-stats", instance) >= len)
		return -EINVAL;
	return 0;
}

/* True when fd already holds a region whose owner is another process that is still alive. */
static bool owned_by_live_process(int fd, int32_t *pid)
{
	struct shm_stats_header h;
	ssize_t got = pread(fd, &h, sizeof(h), 0);

	if (got != (ssize_t)sizeof(h) || h.magic != SHM_STATS_MAGIC || h.pid <= 0 ||
	    h.pid == (int32_t)getpid())
		return false;
	if (h.state == SHM_STATS_STOPPED || h.state == SHM_STATS_FAILED)
		return false;
	*pid = h.pid;
	return kill(h.pid, 0) == 0 || errno == EPERM;
}

struct shm_stats *shm_stats_create(const char *instance, uint32_t nworkers, char *err,
				   size_t errlen)
{
	size_t bytes = shm_stats_bytes(nworkers);
	struct shm_stats *s = NULL;
	char name[64];
	int32_t pid;
	int fd;

	if (shm_stats_name(instance, name, sizeof(name))) {
		snprintf(err, errlen, "instance '%s': use 1 to %d letters, digits, '-', '_' or '.'",
			 instance ? instance : "", SHM_STATS_NAME_LEN - 1);
		return NULL;
	}
	if (nworkers == 0 || nworkers > SHM_STATS_MAX_WORKERS) {
		snprintf(err, errlen, "stats region: %u workers is outside [1, %d]", nworkers,
			 SHM_STATS_MAX_WORKERS);
		return NULL;
	}
	fd = shm_region_create(name, 0644, owned_by_live_process, &pid);
	if (fd == -EBUSY) {
		snprintf(err, errlen, "instance '%s' is already running (pid %d, /dev/shm%s)",
			 instance, pid, name);
		return NULL;
	}
	if (fd < 0) {
		snprintf(err, errlen, "shm_open %s: %s", name, strerror(-fd));
		return NULL;
	}
	if (ftruncate(fd, (off_t)bytes)) {
		snprintf(err, errlen, "ftruncate %s to %zu bytes: %s", name, bytes,
			 strerror(errno));
		goto out;
	}
	s = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		snprintf(err, errlen, "mmap %s (%zu bytes): %s", name, bytes, strerror(errno));
		s = NULL;
		goto out;
	}
	s->hdr.abi_version = SHM_STATS_ABI_VERSION;
	s->hdr.size = bytes;
	snprintf(s->hdr.instance, sizeof(s->hdr.instance), "%s", instance);
	s->hdr.start_wall_ns = clock_wall_ns();
	s->hdr.tsc_hz = clock_cal.tsc_hz;
	s->hdr.pid = (int32_t)getpid();
	s->hdr.state = SHM_STATS_STARTING;
	s->hdr.nworkers = nworkers;
	for (uint32_t w = 0; w < nworkers; w++) {
		s->workers[w].id = w;
		s->workers[w].core = -1;
		s->workers[w].burst_cycles.min = UINT64_MAX;
		s->workers[w].t2t_cycles.min = UINT64_MAX;
		s->workers[w].feed_cycles.min = UINT64_MAX;
		s->workers[w].strategy_cycles.min = UINT64_MAX;
		s->workers[w].decode_cycles.min = UINT64_MAX;
		s->workers[w].book_cycles.min = UINT64_MAX;
		s->workers[w].risk_cycles.min = UINT64_MAX;
		s->workers[w].encode_cycles.min = UINT64_MAX;
		s->workers[w].state = SHM_STATS_STARTING;
	}
	atomic_store_explicit((_Atomic uint32_t *)&s->hdr.magic, SHM_STATS_MAGIC,
			      memory_order_release);
out:
	close(fd);
	return s;
}

void shm_stats_destroy(struct shm_stats *s)
{
	char name[64];

	if (!s)
		return;
	if (shm_stats_name(s->hdr.instance, name, sizeof(name)) == 0)
		shm_unlink(name);
	munmap(s, s->hdr.size);
}

int shm_stats_check(const void *mem, size_t len, char *err, size_t errlen)
{
	const struct shm_stats_header *h = mem;

	if (len < sizeof(struct shm_stats)) {
		snprintf(err, errlen, "stats region of %zu bytes is smaller than its header (%zu)",
			 len, sizeof(struct shm_stats));
		return -EINVAL;
	}
	if (atomic_load_explicit((const _Atomic uint32_t *)&h->magic, memory_order_acquire) !=
	    SHM_STATS_MAGIC) {
		snprintf(err, errlen,
			 "not a tradsys stats region (magic 0x%08x, expected 0x%08x), or not "
			 "initialised yet",
			 h->magic, SHM_STATS_MAGIC);
		return -EPROTO;
	}
	if (h->abi_version != SHM_STATS_ABI_VERSION) {
		snprintf(err, errlen,
			 "stats region ABI version %u, this reader understands version %u",
			 h->abi_version, SHM_STATS_ABI_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (h->nworkers == 0 || h->nworkers > SHM_STATS_MAX_WORKERS ||
	    h->ndrops > SHM_STATS_MAX_DROPS || h->size != shm_stats_bytes(h->nworkers) ||
	    h->size > len) {
		snprintf(err, errlen,
			 "stats region sizes do not add up: %u workers, %u drop reasons, size %lu, "
			 "mapped %zu",
			 h->nworkers, h->ndrops, (unsigned long)h->size, len);
		return -EINVAL;
	}
	return 0;
}

const struct shm_stats *shm_stats_attach(const char *instance, char *err, size_t errlen)
{
	const struct shm_stats *s = NULL;
	struct stat st;
	char name[64];
	void *mem;
	int fd;

	if (shm_stats_name(instance, name, sizeof(name))) {
		snprintf(err, errlen, "instance '%s': not a valid instance name",
			 instance ? instance : "");
		return NULL;
	}
	fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "no dataplane instance '%s' (/dev/shm%s: %s)", instance, name,
			 strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "fstat /dev/shm%s: %s", name, strerror(errno));
		goto out;
	}
	if ((size_t)st.st_size < sizeof(struct shm_stats)) {
		snprintf(err, errlen, "/dev/shm%s: %ld bytes is too small for a stats region", name,
			 (long)st.st_size);
		goto out;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		snprintf(err, errlen, "mmap /dev/shm%s: %s", name, strerror(errno));
		goto out;
	}
	if (shm_stats_check(mem, (size_t)st.st_size, err, errlen)) {
		munmap(mem, (size_t)st.st_size);
		goto out;
	}
	s = mem;
out:
	close(fd);
	return s;
}

void shm_stats_detach(const struct shm_stats *s)
{
	if (s)
		munmap((void *)s, s->hdr.size);
}

static const char *const state_names[] = { "starting", "running", "stopped", "failed" };

static const char *state_name(uint32_t st)
{
	return st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "unknown";
}

const char *shm_stats_session_state_name(uint32_t state)
{
	static const char *const names[SHM_SESSION_STATES] = {
		[SHM_SESSION_DISCONNECTED] = "disconnected",
		[SHM_SESSION_CONNECTING] = "connecting",
		[SHM_SESSION_LOGGING_IN] = "logging_in",
		[SHM_SESSION_ACTIVE] = "active",
		[SHM_SESSION_CLOSED] = "closed",
	};

	return state < SHM_SESSION_STATES ? names[state] : "unknown";
}

/* Cycles to ns with the region's own frequency (the reader may be another process). */
static uint64_t to_ns(uint64_t cycles, uint64_t hz)
{
	return hz ? (uint64_t)((unsigned __int128)cycles * 1000000000u / hz) : 0;
}

/* Writes s as a JSON string body, escaping what JSON requires (names come from config). */
/* ,"name":{"count":..,"p50":..,"p99":..,"p999":..,"max":..} in ns. */
static void json_hist(FILE *out, const char *name, const struct hist *hg, uint64_t hz)
{
	fprintf(out, ",\"%s\":{\"count\":%lu,\"p50\":%lu,\"p99\":%lu,\"p999\":%lu,\"max\":%lu}",
		name, (unsigned long)hg->count, (unsigned long)to_ns(hist_percentile(hg, 0.5), hz),
		(unsigned long)to_ns(hist_percentile(hg, 0.99), hz),
		(unsigned long)to_ns(hist_percentile(hg, 0.999), hz),
		(unsigned long)to_ns(hg->count ? hg->max : 0, hz));
}

static void json_str(FILE *out, const char *s, size_t max)
{
	fputc('"', out);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

/* Money (SHM_STATS_MONEY_SCALE units) as a JSON number of currency units, exact. */
static void json_money(FILE *out, int64_t v)
{
	uint64_t a = v < 0 ? -(uint64_t)v : (uint64_t)v;

	fprintf(out, "%s%lu.%04lu", v < 0 ? "-" : "", (unsigned long)(a / SHM_STATS_MONEY_SCALE),
		(unsigned long)(a % SHM_STATS_MONEY_SCALE));
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The ABI 3 part of a trading worker: sessions, rejects by control, kill switches, accounts and
 * positions, inside its "trading" object. */
static void json_trading3(FILE *out, const struct shm_stats_worker *w)
{
	uint32_t ns = min_u32(w->nsessions, SHM_STATS_MAX_SESSIONS);
	uint32_t nr = min_u32(w->nreasons, SHM_STATS_MAX_REASONS);
	uint32_t na = min_u32(w->naccounts, SHM_STATS_MAX_ACCOUNTS);
	uint32_t np = min_u32(w->npositions, SHM_STATS_MAX_POSITIONS);

	fprintf(out, ",\"sessions\":[");
	for (uint32_t i = 0; i < ns; i++) {
		const struct shm_stats_session *v = &w->sessions[i];
		fprintf(out, "%s{\"name\":", i ? "," : "");
		json_str(out, v->name, sizeof(v->name));
		fprintf(out,
			",\"state\":\"%s\",\"admin_down\":%s,\"next_seq\":%lu,\"out_msgs\":%lu,"
			"\"in_msgs\":%lu,\"logins\":%lu,\"reconnects\":%lu,\"disconnects\":%lu,"
			"\"out_bytes\":%lu,\"state_change_tsc\":%lu,"
			"\"orders_accepted\":%lu,\"orders_canceled\":%lu,\"orders_filled\":%lu,"
			"\"orders_rejected\":%lu}",
			shm_stats_session_state_name(v->state), v->admin_down ? "true" : "false",
			(unsigned long)v->next_seq, (unsigned long)v->out_msgs,
			(unsigned long)v->in_msgs, (unsigned long)v->logins,
			(unsigned long)v->reconnects, (unsigned long)v->disconnects,
			(unsigned long)v->out_bytes, (unsigned long)v->state_change_tsc,
			(unsigned long)v->orders_accepted, (unsigned long)v->orders_canceled,
			(unsigned long)v->orders_filled, (unsigned long)v->orders_rejected);
	}
	fprintf(out, "],\"risk_rejects_by\":{");
	for (uint32_t r = 1, first = 1; r < nr; r++, first = 0) {
		fprintf(out, "%s", first ? "" : ",");
		json_str(out, w->reason_names[r], SHM_STATS_REASON_NAME_LEN);
		fprintf(out, ":%lu", (unsigned long)w->risk_rejects_by[r]);
	}
	fprintf(out,
		"},\"kill_switches\":{\"firm\":%s,\"accounts\":%u,\"instruments\":%u,"
		"\"account_ids\":[",
		w->kill_firm ? "true" : "false", w->kill_accounts, w->kill_instruments);
	for (uint32_t i = 0; i < min_u32(w->kill_accounts, SHM_STATS_MAX_KILLED); i++)
		fprintf(out, "%s%u", i ? "," : "", w->killed_accounts[i]);
	fprintf(out, "],\"instrument_ids\":[");
	for (uint32_t i = 0; i < min_u32(w->kill_instruments, SHM_STATS_MAX_KILLED); i++)
		fprintf(out, "%s%u", i ? "," : "", w->killed_instruments[i]);
	fprintf(out, "]},\"money_scale\":%d,\"accounts_truncated\":%s,\"accounts\":[",
		SHM_STATS_MONEY_SCALE, w->accounts_truncated ? "true" : "false");
	for (uint32_t i = 0; i < na; i++) {
		const struct shm_stats_account *a = &w->accounts[i];
		fprintf(out, "%s{\"id\":%u,\"state\":%u,\"open_orders\":%u,\"realized_pnl\":",
			i ? "," : "", a->id, a->state, a->open_orders);
		json_money(out, a->realized_pnl);
		fprintf(out, ",\"unrealized_pnl\":");
		json_money(out, a->unrealized_pnl);
		fprintf(out, ",\"gross_exposure\":");
		json_money(out, a->gross_exposure);
		fprintf(out, ",\"net_exposure\":");
		json_money(out, a->net_exposure);
		fprintf(out, ",\"cash\":");
		json_money(out, a->cash);
		fprintf(out, ",\"open_notional\":");
		json_money(out, a->open_notional);
		fprintf(out, "}");
	}
	fprintf(out, "],\"positions_truncated\":%s,\"positions\":[",
		w->positions_truncated ? "true" : "false");
	for (uint32_t i = 0; i < np; i++) {
		const struct shm_stats_position *p = &w->positions[i];
		fprintf(out, "%s{\"account\":%u,\"session\":", i ? "," : "", p->account);
		json_str(out, p->session < ns ? w->sessions[p->session].name : "",
			 SHM_STATS_SESSION_NAME_LEN);
		fprintf(out, ",\"instrument\":%u,\"symbol\":", p->instrument);
		json_str(out, p->symbol, sizeof(p->symbol));
		fprintf(out,
			",\"position\":%ld,\"avg_price\":%ld,\"realized_pnl\":", (long)p->position,
			(long)p->avg_price);
		json_money(out, p->realized_pnl);
		fprintf(out, ",\"unrealized_pnl\":");
		json_money(out, p->unrealized_pnl);
		fprintf(out, ",\"open_qty\":%ld}", (long)p->open_qty);
	}
	fprintf(out, "]");
}

int shm_stats_json(const struct shm_stats *s, FILE *out)
{
	const struct shm_stats_header *h = &s->hdr;
	struct shm_stats_worker *w = malloc(sizeof(*w));
	uint64_t now = __rdtsc();

	if (!w)
		return -ENOMEM;
	fprintf(out, "{\"instance\":");
	json_str(out, h->instance, sizeof(h->instance));
	fprintf(out, ",\"abi_version\":%u,\"driver\":", h->abi_version);
	json_str(out, h->driver, sizeof(h->driver));
	fprintf(out, ",\"pid\":%d,\"state\":\"%s\",\"start_wall_ns\":%lu,\"tsc_hz\":%lu", h->pid,
		state_name(h->state), (unsigned long)h->start_wall_ns, (unsigned long)h->tsc_hz);
	fprintf(out, ",\"workers\":[");
	for (uint32_t i = 0; i < h->nworkers; i++) {
		/* A snapshot, so every figure of one worker comes from (nearly) one instant. */
		memcpy(w, &s->workers[i], sizeof(*w));
		fprintf(out,
			"%s{\"id\":%u,\"core\":%d,\"queue\":%u,\"state\":\"%s\",\"packets\":%lu,"
			"\"bytes\":%lu,\"passes\":%lu,\"busy_passes\":%lu,\"busy_ratio\":%.6g,"
			"\"timer_calls\":%lu,\"command_polls\":%lu,\"rx_nobuf\":%lu,\"drops\":{",
			i ? "," : "", w->id, w->core, w->queue, state_name(w->state),
			(unsigned long)w->packets, (unsigned long)w->bytes,
			(unsigned long)w->passes, (unsigned long)w->busy_passes,
			w->passes ? (double)w->busy_passes / (double)w->passes : 0.0,
			(unsigned long)w->timer_calls, (unsigned long)w->command_polls,
			(unsigned long)w->rx_nobuf);
		for (uint32_t r = 0; r < h->ndrops && r < SHM_STATS_MAX_DROPS; r++) {
			fprintf(out, "%s", r ? "," : "");
			json_str(out, h->drop_names[r], SHM_STATS_DROP_NAME_LEN);
			fprintf(out, ":%lu", (unsigned long)w->drops[r]);
		}
		fprintf(out, "},\"heartbeat_age_ns\":%lu",
			w->heartbeat_tsc && now > w->heartbeat_tsc
				? (unsigned long)to_ns(now - w->heartbeat_tsc, h->tsc_hz)
				: 0ul);
		json_hist(out, "burst_ns", &w->burst_cycles, h->tsc_hz);
		fprintf(out, ",\"stalls\":%lu,\"stalled_ns\":%lu,\"stall_max_ns\":%lu",
			(unsigned long)w->stalls, (unsigned long)to_ns(w->stall_cycles, h->tsc_hz),
			(unsigned long)to_ns(w->stall_max_cycles, h->tsc_hz));
		fprintf(out,
			",\"trading\":{\"orders_sent\":%lu,\"fills\":%lu,\"risk_rejects\":%lu,"
			"\"venue_rejects\":%lu,\"md_events\":%lu",
			(unsigned long)w->orders_sent, (unsigned long)w->fills,
			(unsigned long)w->risk_rejects, (unsigned long)w->venue_rejects,
			(unsigned long)w->md_events);
		json_hist(out, "tick_to_trade_ns", &w->t2t_cycles, h->tsc_hz);
		json_hist(out, "feed_burst_ns", &w->feed_cycles, h->tsc_hz);
		json_hist(out, "strategy_ns", &w->strategy_cycles, h->tsc_hz);
		json_hist(out, "decode_ns", &w->decode_cycles, h->tsc_hz);
		json_hist(out, "book_ns", &w->book_cycles, h->tsc_hz);
		json_hist(out, "risk_ns", &w->risk_cycles, h->tsc_hz);
		json_hist(out, "encode_ns", &w->encode_cycles, h->tsc_hz);
		json_trading3(out, w);
		fprintf(out, "}}");
	}
	fprintf(out, "]}\n");
	free(w);
	return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}
