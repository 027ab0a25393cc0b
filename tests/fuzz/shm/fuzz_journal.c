/*
 * libFuzzer target for the journal reader: the input becomes one or two journal files, which a
 * reader then tails. Byte 0 chooses whether the harness repairs the header (magic, version,
 * sizes, capacity, names) so the records themselves get fuzzed, and whether the records are split
 * over two files; byte 1 where the reader starts. The reader must refuse or return records with
 * contiguous seqs from its start and lengths within the payload, and never crash.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_dir(void)
{
	rmdir(dir);
}

static void write_file(uint64_t first, const uint8_t *hdr, size_t hlen, const uint8_t *recs,
		       size_t nrecs, bool repair)
{
	size_t bytes = SHM_JOURNAL_HEADER_SIZE + nrecs * SHM_JOURNAL_RECORD_SIZE;
	unsigned char *buf = calloc(1, bytes);
	struct shm_journal_file_header *h = (struct shm_journal_file_header *)buf;
	char path[256];
	int fd;

	memcpy(buf, hdr, hlen < SHM_JOURNAL_HEADER_SIZE ? hlen : SHM_JOURNAL_HEADER_SIZE);
	memcpy(buf + SHM_JOURNAL_HEADER_SIZE, recs, nrecs * SHM_JOURNAL_RECORD_SIZE);
	if (repair) {
		h->magic = SHM_JOURNAL_MAGIC;
		h->abi_version = SHM_JOURNAL_ABI_VERSION;
		h->header_size = SHM_JOURNAL_HEADER_SIZE;
		h->record_size = SHM_JOURNAL_RECORD_SIZE;
		h->capacity = nrecs;
		h->first_seq = first;
		h->worker = 0;
		snprintf(h->instance, sizeof(h->instance), "fz");
	}
	shm_journal_file_name(dir, "fz", 0, first, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, bytes) != (ssize_t)bytes)
		abort();
	close(fd);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shm_journal_record out[8];
	struct shm_journal_reader *r;
	char err[512], path[256];
	size_t hlen, nrecs, split;
	uint64_t from, expect;
	bool repair, two;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/dev/shm/tradsys-fuzz-journal-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	if (size < 2)
		return 0;
	repair = data[0] & 1;
	two = data[0] & 2;
	from = 1 + data[1] % 8;
	data += 2;
	size -= 2;
	hlen = size < 128 ? size : 128;
	nrecs = (size - hlen) / SHM_JOURNAL_RECORD_SIZE;
	if (!repair) {
		/* The raw bytes are the whole file, header included. */
		int fd;

		shm_journal_file_name(dir, "fz", 0, 1, path, sizeof(path));
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, data, size) != (ssize_t)size)
			abort();
		close(fd);
	} else if (nrecs == 0) {
		return 0;
	} else {
		split = two && nrecs > 1 ? nrecs / 2 : nrecs;
		write_file(1, data, hlen, data + hlen, split, true);
		if (split < nrecs)
			write_file(1 + split, data, hlen,
				   data + hlen + split * SHM_JOURNAL_RECORD_SIZE, nrecs - split,
				   true);
	}

	r = shm_journal_reader_open(dir, "fz", 0, from, err, sizeof(err));
	if (!r)
		abort();
	expect = from;
	for (int rounds = 0; rounds < 64; rounds++) {
		int got = shm_journal_reader_read(r, out, 8);
		if (got <= 0)
			break;
		for (int i = 0; i < got; i++, expect++)
			if (out[i].seq != expect || out[i].len > SHM_JOURNAL_PAYLOAD_MAX)
				abort();
	}
	if (shm_journal_reader_next_seq(r) != expect)
		abort();
	shm_journal_reader_close(r);
	for (uint64_t f = 1; f <= nrecs + 1; f++) {
		shm_journal_file_name(dir, "fz", 0, f, path, sizeof(path));
		unlink(path);
	}
	shm_journal_file_name(dir, "fz", 0, 1, path, sizeof(path));
	unlink(path);
	return 0;
}
