/*
 * Journal files: making, reopening and rolling them over (the writer's cold half; the hot half is
 * inline in journal.h), and tailing them from another process. Everything here runs at start,
 * at a rollover or in the control plane, so it may call the kernel; a file written by another
 * build or damaged on disk is refused with a message that names the file and the field.
 */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUFFIX ".journal"
#define TMP_SUFFIX ".journal.tmp"
#define SEQ_DIGITS 20

bool shm_journal_instance_ok(const char *instance)
{
	size_t n = instance ? strlen(instance) : 0;

	if (n == 0 || n >= SHM_JOURNAL_NAME_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = instance[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
		if (!ok)
			return false;
	}
	return true;
}

int shm_journal_file_name(const char *dir, const char *instance, uint32_t worker,
			  uint64_t first_seq, char *out, size_t len)
{
	if (!shm_journal_instance_ok(instance))
		return -EINVAL;
	if ((size_t)snprintf(out, len, "%s/%s-w%u-%020llu" SUFFIX, dir, instance, worker,
			     (unsigned long long)first_seq) >= len)
		return -ENAMETOOLONG;
	return 0;
}

const char *shm_journal_type_name(uint16_t type)
{
	switch (type) {
	case SHM_JOURNAL_ORDER_NEW: return "new";
	case SHM_JOURNAL_ORDER_ACK: return "ack";
	case SHM_JOURNAL_ORDER_REJECT: return "reject";
	case SHM_JOURNAL_ORDER_FILL: return "fill";
	case SHM_JOURNAL_ORDER_CANCEL: return "cancel";
	case SHM_JOURNAL_ORDER_REPLACE: return "replace";
	case SHM_JOURNAL_RISK: return "risk";
	case SHM_JOURNAL_SESSION: return "session";
	case SHM_JOURNAL_COMMAND_ACK: return "command_ack";
	default: return NULL;
	}
}

/* Reads exactly ndig decimal digits at s into *out. */
static bool parse_digits(const char *s, size_t ndig, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < ndig; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * Parses "<instance>-w<worker>-<20 digits><suffix>". Only exact matches count, so another
 * instance whose name starts with this one ("a" and "a-w1") is never mistaken for it.
 */
static bool parse_name(const char *name, const char *instance, const char *suffix, uint32_t *worker,
		       uint64_t *first)
{
	size_t il = strlen(instance), n = strlen(name), sl = strlen(suffix), wd = 0;
	const char *p;
	uint64_t w;

	if (n < il + 2 || strncmp(name, instance, il) != 0 || name[il] != '-' ||
	    name[il + 1] != 'w')
		return false;
	p = name + il + 2;
	while (p[wd] >= '0' && p[wd] <= '9')
		wd++;
	if (wd == 0 || wd > 10 || p[wd] != '-' || !parse_digits(p, wd, UINT32_MAX, &w))
		return false;
	p += wd + 1;
	if (strlen(p) != SEQ_DIGITS + sl || strcmp(p + SEQ_DIGITS, suffix) != 0 ||
	    !parse_digits(p, SEQ_DIGITS, UINT64_MAX, first))
		return false;
	*worker = (uint32_t)w;
	return true;
}

/* What a directory scan found for one worker (or all). */
struct scan {
	int64_t worker; /* -1: every worker */
	uint64_t want; /* reader: the seq it wants */
	uint64_t latest, oldest, best; /* first seqs: largest, smallest, largest <= want */
	bool any, any_best;
	uint32_t *workers; /* list_workers */
	size_t nworkers, max;
	bool remove_tmp; /* writer open: unlink this worker's leftover .tmp files */
	const char *dir;
};

static void scan_note_worker(struct scan *s, uint32_t w)
{
	size_t i = 0;

	while (i < s->nworkers && i < s->max && s->workers[i] < w)
		i++;
	if (i < s->nworkers && i < s->max && s->workers[i] == w)
		return;
	if (i < s->max) {
		size_t tail = (s->nworkers < s->max ? s->nworkers : s->max - 1) - i;
		memmove(&s->workers[i + 1], &s->workers[i], tail * sizeof(uint32_t));
		s->workers[i] = w;
	}
	s->nworkers++;
}

static int scan_dir(const char *dir, const char *instance, struct scan *s, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint32_t w;
	uint64_t first;

	if (!d) {
		int e = errno;
		snprintf(err, errlen, "journal directory %s: %s", dir, strerror(e));
		return -e;
	}
	while ((de = readdir(d)) != NULL) {
		if (s->remove_tmp && parse_name(de->d_name, instance, TMP_SUFFIX, &w, &first) &&
		    (int64_t)w == s->worker) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (!parse_name(de->d_name, instance, SUFFIX, &w, &first))
			continue;
		if (s->workers)
			scan_note_worker(s, w);
		if (s->worker >= 0 && (int64_t)w != s->worker)
			continue;
		if (!s->any || first > s->latest)
			s->latest = first;
		if (!s->any || first < s->oldest)
			s->oldest = first;
		s->any = true;
		if (first <= s->want && (!s->any_best || first > s->best)) {
			s->best = first;
			s->any_best = true;
		}
	}
	closedir(d);
	return 0;
}

int shm_journal_list_workers(const char *dir, const char *instance, uint32_t *workers, size_t max,
			     char *err, size_t errlen)
{
	struct scan s = { .worker = -1, .workers = workers, .max = max };
	int rc;

	if (!shm_journal_instance_ok(instance)) {
		snprintf(err, errlen, "instance '%s': use 1 to %d letters, digits, '-', '_' or '.'",
			 instance ? instance : "", SHM_JOURNAL_NAME_LEN - 1);
		return -EINVAL;
	}
	rc = scan_dir(dir, instance, &s, err, errlen);
	return rc ? rc : (int)s.nworkers;
}

int shm_journal_check_header(const void *mem, size_t len, char *err, size_t errlen)
{
	const struct shm_journal_file_header *h = mem;
	uint32_t magic;

	if (len < SHM_JOURNAL_HEADER_SIZE) {
		snprintf(err, errlen, "%zu bytes is smaller than a journal header (%d)", len,
			 SHM_JOURNAL_HEADER_SIZE);
		return -EINVAL;
	}
	magic = atomic_load_explicit((const _Atomic uint32_t *)&h->magic, memory_order_acquire);
	if (magic != SHM_JOURNAL_MAGIC) {
		snprintf(err, errlen, "not a tradsys journal (magic 0x%08x, expected 0x%08x)",
			 magic, SHM_JOURNAL_MAGIC);
		return -EPROTO;
	}
	if (h->abi_version != SHM_JOURNAL_ABI_VERSION) {
		snprintf(err, errlen, "journal ABI version %u, this build understands version %u",
			 h->abi_version, SHM_JOURNAL_ABI_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (h->record_size != SHM_JOURNAL_RECORD_SIZE ||
	    h->header_size != SHM_JOURNAL_HEADER_SIZE) {
		snprintf(err, errlen,
			 "journal record size %u and header size %u, this build uses %d and %d",
			 h->record_size, h->header_size, SHM_JOURNAL_RECORD_SIZE,
			 SHM_JOURNAL_HEADER_SIZE);
		return -EINVAL;
	}
	if (h->capacity == 0 ||
	    h->capacity > (SIZE_MAX - SHM_JOURNAL_HEADER_SIZE) / SHM_JOURNAL_RECORD_SIZE ||
	    SHM_JOURNAL_HEADER_SIZE + h->capacity * SHM_JOURNAL_RECORD_SIZE != len) {
		snprintf(err, errlen,
			 "journal of %zu bytes does not hold the %llu records its header says "
			 "(truncated or damaged)",
			 len, (unsigned long long)h->capacity);
		return -EINVAL;
	}
	if (h->first_seq == 0 || h->first_seq > UINT64_MAX - h->capacity) {
		snprintf(err, errlen, "journal first seq %llu is out of range",
			 (unsigned long long)h->first_seq);
		return -EINVAL;
	}
	return 0;
}

/* Maps path (read-only or read-write) and checks its header and that it is (instance, worker,
 * first_seq). Returns 0 with *mem, *len and *fd set, or -errno with err. */
static int map_file(const char *path, bool rw, const char *instance, uint32_t worker,
		    uint64_t first_seq, void **mem, size_t *len, int *fd, char *err, size_t errlen)
{
	const struct shm_journal_file_header *h;
	char why[384];
	struct stat st;
	void *m;
	int f, rc;

	f = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (f < 0) {
		rc = -errno;
		snprintf(err, errlen, "open %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(f, &st)) {
		rc = -errno;
		snprintf(err, errlen, "fstat %s: %s", path, strerror(-rc));
		goto fail;
	}
	if ((size_t)st.st_size < SHM_JOURNAL_HEADER_SIZE) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: %lld bytes is smaller than a journal header (%d)", path,
			 (long long)st.st_size, SHM_JOURNAL_HEADER_SIZE);
		goto fail;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | (rw ? PROT_WRITE : 0), MAP_SHARED, f, 0);
	if (m == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "mmap %s: %s", path, strerror(-rc));
		goto fail;
	}
	rc = shm_journal_check_header(m, (size_t)st.st_size, why, sizeof(why));
	h = m;
	if (rc == 0 && (h->worker != worker || h->first_seq != first_seq ||
			strncmp(h->instance, instance, SHM_JOURNAL_NAME_LEN) != 0)) {
		snprintf(why, sizeof(why),
			 "header says instance '%.31s' worker %u first seq %llu, the file name "
			 "says '%s' %u %llu",
			 h->instance, h->worker, (unsigned long long)h->first_seq, instance, worker,
			 (unsigned long long)first_seq);
		rc = -EINVAL;
	}
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, why);
		munmap(m, (size_t)st.st_size);
		goto fail;
	}
	*mem = m;
	*len = (size_t)st.st_size;
	*fd = f;
	return 0;
fail:
	close(f);
	return rc;
}

/* ---- writer ---- */

static uint64_t now_of(const struct shm_journal_writer *w)
{
	return w->now ? w->now(w->now_ctx) : clock_wall_ns();
}

static void set_day(struct shm_journal_writer *w, uint64_t now)
{
	uint64_t day = now / SHM_JOURNAL_DAY_NS;

	w->hdr->creation_day = (uint32_t)day;
	w->day_end_ns = (day + 1) * SHM_JOURNAL_DAY_NS;
}

/*
 * Makes the file whose first record is first_seq: written under a .tmp name, preallocated (so a
 * full disk fails here and not as a SIGBUS on the hot path), header filled with the magic last,
 * then renamed into place without replacing anything, so a reader sees either no file or a
 * complete one. Returns 0 and the mapping, or -errno with a message in err.
 */
static int make_file(struct shm_journal_writer *w, uint64_t first_seq, uint64_t now, void **mem,
		     size_t *len, int *fd, char *err, size_t errlen)
{
	size_t bytes = SHM_JOURNAL_HEADER_SIZE + w->new_capacity * SHM_JOURNAL_RECORD_SIZE;
	struct shm_journal_file_header *h;
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int f, rc;
	void *m;

	rc = shm_journal_file_name(w->dir, w->instance, w->worker, first_seq, path, sizeof(path));
	if (rc) {
		snprintf(err, errlen, "journal file name in %s: %s", w->dir, strerror(-rc));
		return rc;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f < 0) {
		rc = -errno;
		snprintf(err, errlen, "create %s: %s", tmp, strerror(-rc));
		return rc;
	}
	rc = -posix_fallocate(f, 0, (off_t)bytes);
	if (rc) {
		snprintf(err, errlen, "preallocate %zu bytes for %s: %s", bytes, tmp,
			 strerror(-rc));
		goto fail;
	}
	m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	if (m == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "mmap %s: %s", tmp, strerror(-rc));
		goto fail;
	}
	h = m;
	h->abi_version = SHM_JOURNAL_ABI_VERSION;
	h->header_size = SHM_JOURNAL_HEADER_SIZE;
	h->record_size = SHM_JOURNAL_RECORD_SIZE;
	h->capacity = w->new_capacity;
	h->first_seq = first_seq;
	h->worker = w->worker;
	h->creation_day = (uint32_t)(now / SHM_JOURNAL_DAY_NS);
	h->created_wall_ns = now;
	snprintf(h->instance, sizeof(h->instance), "%s", w->instance);
	h->pid = (int32_t)getpid();
	atomic_store_explicit((_Atomic uint32_t *)&h->magic, SHM_JOURNAL_MAGIC,
			      memory_order_release);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE)) {
		rc = -errno;
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(-rc));
		munmap(m, bytes);
		goto fail;
	}
	*mem = m;
	*len = bytes;
	*fd = f;
	return 0;
fail:
	close(f);
	unlink(tmp);
	return rc;
}

/* Points the writer at a mapped file whose first index records are complete. */
static void attach_file(struct shm_journal_writer *w, void *mem, size_t len, int fd, uint64_t index)
{
	w->hdr = mem;
	w->recs = (struct shm_journal_record *)((unsigned char *)mem + SHM_JOURNAL_HEADER_SIZE);
	w->map_len = len;
	w->fd = fd;
	w->capacity = w->hdr->capacity;
	w->index = index;
	w->next_seq = w->hdr->first_seq + index;
	w->day_end_ns = ((uint64_t)w->hdr->creation_day + 1) * SHM_JOURNAL_DAY_NS;
}

int shm_journal_writer_roll(struct shm_journal_writer *w, uint64_t now)
{
	struct shm_journal_file_header *old = w->hdr;
	size_t old_len = w->map_len;
	int old_fd = w->fd, fd = -1, rc;
	size_t len = 0;
	void *mem = NULL;

	/* A new day on an empty file: the file simply becomes the new day's, since a second file
	 * with the same first seq cannot exist. */
	if (w->index == 0 && w->index < w->capacity) {
		set_day(w, now);
		return 0;
	}
	rc = make_file(w, w->next_seq, now, &mem, &len, &fd, w->err, sizeof(w->err));
	if (rc)
		return rc;
	atomic_store_explicit(&old->sealed_last_seq, w->next_seq - 1, memory_order_release);
	attach_file(w, mem, len, fd, 0);
	munmap(old, old_len);
	close(old_fd);
	return 0;
}

/*
 * Counts the complete records of a reopened file: the longest run from slot 0 whose seqs follow
 * first_seq with sane lengths. Whatever lies beyond (a record the crash interrupted, or on a power
 * loss a later page that reached the disk before an earlier one) gets its seq cleared, so a reader
 * can never take a stale slot for the record the writer is about to put there.
 */
static uint64_t recover(struct shm_journal_writer *w)
{
	struct shm_journal_record *recs =
		(struct shm_journal_record *)((unsigned char *)w->hdr + SHM_JOURNAL_HEADER_SIZE);
	uint64_t cap = w->hdr->capacity, first = w->hdr->first_seq, n = 0;

	while (n < cap && atomic_load_explicit(&recs[n].seq, memory_order_acquire) == first + n &&
	       recs[n].len <= SHM_JOURNAL_PAYLOAD_MAX)
		n++;
	for (uint64_t i = n; i < cap; i++)
		if (atomic_load_explicit(&recs[i].seq, memory_order_relaxed) != 0)
			atomic_store_explicit(&recs[i].seq, 0, memory_order_relaxed);
	return n;
}

struct shm_journal_writer *shm_journal_writer_open(const struct shm_journal_opts *o, char *err,
						   size_t errlen)
{
	struct shm_journal_writer *w;
	struct scan s = { 0 };
	char path[PATH_MAX];
	size_t len = 0;
	void *mem = NULL;
	int fd = -1, rc;

	if (!o || !o->dir || !shm_journal_instance_ok(o->instance)) {
		snprintf(err, errlen,
			 "journal: instance '%s': use 1 to %d letters, digits, '-', "
			 "'_' or '.'",
			 o && o->instance ? o->instance : "", SHM_JOURNAL_NAME_LEN - 1);
		return NULL;
	}
	if (o->capacity > (1ull << 32)) {
		snprintf(err, errlen, "journal: capacity %llu is above 2^32 records per file",
			 (unsigned long long)o->capacity);
		return NULL;
	}
	w = aligned_alloc(64, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "journal: out of memory");
		return NULL;
	}
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->now = o->now;
	w->tsc = o->tsc;
	w->now_ctx = o->now_ctx;
	w->worker = o->worker;
	w->new_capacity = o->capacity ? o->capacity : SHM_JOURNAL_DEFAULT_CAPACITY;
	snprintf(w->instance, sizeof(w->instance), "%s", o->instance);
	if ((size_t)snprintf(w->dir, sizeof(w->dir), "%s", o->dir) >= sizeof(w->dir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s-w%u.lock", o->dir, o->instance,
			     o->worker) >= sizeof(path)) {
		snprintf(err, errlen, "journal directory name too long: %s", o->dir);
		goto fail;
	}
	w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (w->lock_fd < 0) {
		snprintf(err, errlen, "journal lock %s: %s", path, strerror(errno));
		goto fail;
	}
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen,
			 "journal of instance '%s' worker %u is open by another writer "
			 "(%s is locked)",
			 o->instance, o->worker, path);
		goto fail_lock;
	}
	s.worker = o->worker;
	s.remove_tmp = true;
	if (scan_dir(o->dir, o->instance, &s, err, errlen))
		goto fail_lock;
	if (s.any) {
		shm_journal_file_name(o->dir, o->instance, o->worker, s.latest, path, sizeof(path));
		rc = map_file(path, true, o->instance, o->worker, s.latest, &mem, &len, &fd, err,
			      errlen);
		if (rc)
			goto fail_lock;
		w->hdr = mem;
		attach_file(w, mem, len, fd, recover(w));
	} else {
		uint64_t now = now_of(w);
		rc = make_file(w, 1, now, &mem, &len, &fd, err, errlen);
		if (rc)
			goto fail_lock;
		attach_file(w, mem, len, fd, 0);
	}
	return w;
fail_lock:
	close(w->lock_fd);
fail:
	free(w);
	return NULL;
}

int shm_journal_writer_sync(struct shm_journal_writer *w)
{
	int rc = 0, dfd;

	if (fdatasync(w->fd))
		rc = -errno;
	dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) && !rc)
			rc = -errno;
		close(dfd);
	}
	return rc;
}

uint32_t shm_journal_writer_prefault(struct shm_journal_writer *w, uint32_t records)
{
	const uint64_t per_page = 4096 / sizeof(struct shm_journal_record);
	uint64_t end = w->index + records;
	uint32_t pages = 0;

	if (end > w->capacity)
		end = w->capacity;
	/* The slot at index is unused, and so is the first slot of every later page. */
	for (uint64_t i = w->index; i < end; i = (i / per_page + 1) * per_page, pages++)
		atomic_store_explicit(&w->recs[i].seq, 0, memory_order_relaxed);
	return pages;
}

int shm_journal_writer_close(struct shm_journal_writer *w)
{
	int rc;

	if (!w)
		return 0;
	rc = shm_journal_writer_sync(w);
	munmap(w->hdr, w->map_len);
	close(w->fd);
	close(w->lock_fd);
	free(w);
	return rc;
}

/* ---- reader ---- */

struct shm_journal_reader {
	const struct shm_journal_record *recs; /* NULL: no file mapped */
	uint64_t next_seq;
	uint64_t first_seq; /* of the mapped file */
	uint64_t capacity;
	size_t map_len;
	int fd;
	uint32_t worker;
	char instance[SHM_JOURNAL_NAME_LEN];
	char dir[PATH_MAX];
	char err[PATH_MAX + 512];
};

struct shm_journal_reader *shm_journal_reader_open(const char *dir, const char *instance,
						   uint32_t worker, uint64_t from_seq, char *err,
						   size_t errlen)
{
	struct shm_journal_reader *r;

	if (!dir || !shm_journal_instance_ok(instance) || from_seq == 0) {
		snprintf(err, errlen, "journal reader: bad instance '%s' or seq %llu",
			 instance ? instance : "", (unsigned long long)from_seq);
		return NULL;
	}
	if (strlen(dir) >= PATH_MAX - 64) {
		snprintf(err, errlen, "journal directory name too long: %s", dir);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "journal reader: out of memory");
		return NULL;
	}
	r->fd = -1;
	r->next_seq = from_seq;
	r->worker = worker;
	snprintf(r->instance, sizeof(r->instance), "%s", instance);
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	return r;
}

static void unmap(struct shm_journal_reader *r)
{
	if (!r->recs)
		return;
	munmap((unsigned char *)r->recs - SHM_JOURNAL_HEADER_SIZE, r->map_len);
	close(r->fd);
	r->recs = NULL;
	r->fd = -1;
}

/* Maps the file whose first seq is first. Returns 1, 0 when it does not exist, or -errno. */
static int open_file(struct shm_journal_reader *r, uint64_t first)
{
	const struct shm_journal_file_header *h;
	char path[PATH_MAX];
	size_t len = 0;
	void *mem = NULL;
	int fd = -1, rc;

	shm_journal_file_name(r->dir, r->instance, r->worker, first, path, sizeof(path));
	rc = map_file(path, false, r->instance, r->worker, first, &mem, &len, &fd, r->err,
		      sizeof(r->err));
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	unmap(r);
	h = mem;
	r->recs = (const struct shm_journal_record *)((const unsigned char *)mem +
						      SHM_JOURNAL_HEADER_SIZE);
	r->first_seq = h->first_seq;
	r->capacity = h->capacity;
	r->map_len = len;
	r->fd = fd;
	return 1;
}

/* Finds and maps the file holding next_seq. Returns 1, 0 when there is none yet, or -errno. */
static int locate(struct shm_journal_reader *r)
{
	struct scan s = { .worker = r->worker, .want = r->next_seq };
	int rc = scan_dir(r->dir, r->instance, &s, r->err, sizeof(r->err));

	if (rc)
		return rc;
	if (!s.any)
		return 0;
	if (!s.any_best) {
		snprintf(r->err, sizeof(r->err),
			 "journal of '%s' worker %u: seq %llu is older than the oldest file in %s "
			 "(it starts at %llu)",
			 r->instance, r->worker, (unsigned long long)r->next_seq, r->dir,
			 (unsigned long long)s.oldest);
		return -ENOENT;
	}
	return open_file(r, s.best);
}

int shm_journal_reader_read(struct shm_journal_reader *r, struct shm_journal_record *out,
			    unsigned int n)
{
	unsigned int got = 0;
	int rc;

	if (!r->recs) {
		rc = locate(r);
		if (rc <= 0)
			return rc;
	}
	while (got < n) {
		uint64_t idx = r->next_seq - r->first_seq, seq;
		const struct shm_journal_record *rec;

		/* Past the end of this file: the next one is named after the seq we want and
		 * exists once the writer has made it. */
		if (idx >= r->capacity) {
			rc = open_file(r, r->next_seq);
			if (rc <= 0)
				return got ? (int)got : rc;
			continue;
		}
		rec = &r->recs[idx];
		seq = atomic_load_explicit(&rec->seq, memory_order_acquire);
		if (seq == 0) {
			if (got)
				break;
			/* Not written yet, or never will be: a writer that starts a file at a new
			 * day leaves the rest of the old one empty. The next file's existence
			 * tells the two apart, because the writer only makes it after its last
			 * record here was published. At slot 0 that name is this very file. */
			if (idx == 0)
				return 0;
			rc = open_file(r, r->next_seq);
			if (rc <= 0)
				return rc;
			continue;
		}
		if (seq != r->next_seq || rec->len > SHM_JOURNAL_PAYLOAD_MAX) {
			snprintf(r->err, sizeof(r->err),
				 "journal of '%s' worker %u is corrupt: record %llu of the file "
				 "starting at %llu has seq %llu and length %u, expected seq %llu",
				 r->instance, r->worker, (unsigned long long)idx,
				 (unsigned long long)r->first_seq, (unsigned long long)seq,
				 rec->len, (unsigned long long)r->next_seq);
			return got ? (int)got : -EBADMSG;
		}
		memcpy(&out[got], rec, sizeof(*rec));
		got++;
		r->next_seq++;
	}
	return (int)got;
}

uint64_t shm_journal_reader_next_seq(const struct shm_journal_reader *r)
{
	return r->next_seq;
}

const char *shm_journal_reader_error(const struct shm_journal_reader *r)
{
	return r->err;
}

int shm_journal_reader_sync(struct shm_journal_reader *r)
{
	int rc = 0, dfd;

	if (!r->recs)
		return 0;
	if (fdatasync(r->fd))
		rc = -errno;
	dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) && !rc)
			rc = -errno;
		close(dfd);
	}
	return rc;
}

void shm_journal_reader_close(struct shm_journal_reader *r)
{
	if (!r)
		return;
	unmap(r);
	free(r);
}
