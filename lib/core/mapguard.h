/* mapguard.h — which input file is behind a bus error.
 *
 * Owns a fixed table of the input files mapped into memory (address range
 * and name). The readers that map files (lib/mmf, lib/safetensors) register
 * each mapping; a file that shrinks while it is mapped turns the next access
 * to its lost pages into SIGBUS, and the programs' handler (lib/cli) uses
 * mapguard_find to report that file and exit with status 1 rather than dump
 * core. The table never allocates; a mapping that finds it full is simply
 * not named.
 */
#ifndef MM_MAPGUARD_H
#define MM_MAPGUARD_H

#include <stddef.h>

/* Registers [addr, addr + len) as file `name`; returns a slot for
 * mapguard_remove, or -1 when the table is full. */
int mapguard_add(const void *addr, size_t len, const char *name);

/* Forgets a slot returned by mapguard_add (-1: nothing). Call before
 * unmapping. */
void mapguard_remove(int slot);

/* The name of the registered file whose range holds addr, or NULL.
 * Async-signal-safe: reads the table only. */
const char *mapguard_find(const void *addr);

#endif
