/*
 * tradsys-itch: tools for ITCH 5.0 files in Nasdaq's file framing.
 *   stats FILE [--json]   message counts, symbols, peak live orders, per-book checksums
 *   gen --messages N --symbols M --seed S -o FILE   a deterministic synthetic day
 *   pcap FILE -o OUT.pcap [--group G] [--port P] [--session S]   MoldUDP64 packets for replay
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itch_tool.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "stats", itch_tool_stats },
	{ "gen", itch_tool_gen },
	{ "pcap", itch_tool_pcap },
};

const uint8_t *itch_tool_map(const char *path, size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*size = (size_t)st.st_size;
	if (*size == 0) {
		close(fd);
		static const uint8_t empty[1];
		return empty;
	}
	void *p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror(path);
		return NULL;
	}
	return p;
}

int main(int argc, char **argv)
{
	if (argc >= 2)
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "usage: tradsys-itch stats FILE [--json]\n"
			"       tradsys-itch gen --messages N --symbols M --seed S -o FILE\n"
			"       tradsys-itch pcap FILE -o OUT.pcap [--group G] [--port P] "
			"[--session S]\n");
	return 2;
}
