/*
 * tradsys-itch subcommands, one file each. Each takes the arguments after its name and returns
 * the process exit code.
 */
#ifndef TRADSYS_ITCH_TOOL_H
#define TRADSYS_ITCH_TOOL_H

#include <stddef.h>
#include <stdint.h>

int itch_tool_stats(int argc, char **argv);
int itch_tool_gen(int argc, char **argv);
int itch_tool_pcap(int argc, char **argv);

/* Maps a whole file read-only; returns the mapping or NULL with a message on stderr. */
const uint8_t *itch_tool_map(const char *path, size_t *size);

#endif
