/* mapguard.c — see mapguard.h. */
#include "core/mapguard.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define SLOTS 64

/* A slot is claimed through `state` (0 free, 1 being written, 2 live); the
 * range and the name are written before it turns live, so a signal handler
 * that sees 2 sees a complete entry. */
static struct {
    atomic_int state;
    uintptr_t begin, end;
    char name[512];
} table[SLOTS];

int mapguard_add(const void *addr, size_t len, const char *name)
{
    for (int i = 0; i < SLOTS; i++) {
        int expect = 0;
        if (!atomic_compare_exchange_strong(&table[i].state, &expect, 1)) continue;
        table[i].begin = (uintptr_t)addr;
        table[i].end = (uintptr_t)addr + len;
        size_t n = name ? strlen(name) : 0;
        if (n >= sizeof table[i].name) n = sizeof table[i].name - 1;
        if (n) memcpy(table[i].name, name, n);
        table[i].name[n] = '\0';
        atomic_store(&table[i].state, 2);
        return i;
    }
    return -1;
}

void mapguard_remove(int slot)
{
    if (slot >= 0 && slot < SLOTS) atomic_store(&table[slot].state, 0);
}

const char *mapguard_find(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load(&table[i].state) == 2 && a >= table[i].begin && a < table[i].end) return table[i].name;
    return NULL;
}
