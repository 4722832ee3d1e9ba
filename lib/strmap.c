/* strmap.c -- string-keyed open-addressing map (strmap.h); moved from the
 * sink's store, where it was the "sink_map". */
#include "crmsync/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "crmsync/hash.h"

#define STRMAP_MIN_CAP 64

void crmsync_strmap_init(struct crmsync_strmap *m,
                         const char *(*keyof)(const void *val))
{
        m->slots = NULL;
        m->cap   = 0;
        m->len   = 0;
        m->keyof = keyof;
}

/* The slot holding key, or the empty slot where it would go. cap > 0. */
static size_t slot_of(const struct crmsync_strmap *m, const char *key)
{
        size_t mask = m->cap - 1;
        size_t i    = crmsync_fnv1a64_str(key) & mask;

        /* Load <= 1/2: an empty slot is always found. */
        while (m->slots[i] && strcmp(m->keyof(m->slots[i]), key))
                i = (i + 1) & mask;
        return i;
}

void *crmsync_strmap_get(const struct crmsync_strmap *m, const char *key)
{
        return m->cap ? m->slots[slot_of(m, key)] : NULL;
}

/* Make room for one more entry. Returns 0 or -1 (ENOMEM). */
static int grow(struct crmsync_strmap *m)
{
        size_t newcap = m->cap ? m->cap * 2 : STRMAP_MIN_CAP;
        void **old    = m->slots;
        size_t oldcap = m->cap;
        void **ns;

        if ((m->len + 1) * 2 <= m->cap)
                return 0;
        ns = calloc(newcap, sizeof(*ns));
        if (!ns)
                return -1;
        m->slots = ns;
        m->cap   = newcap;
        for (size_t i = 0; i < oldcap; i++)
                if (old[i])
                        m->slots[slot_of(m, m->keyof(old[i]))] = old[i];
        free(old);
        return 0;
}

int crmsync_strmap_put(struct crmsync_strmap *m, void *val)
{
        if (grow(m))
                return -1;
        m->slots[slot_of(m, m->keyof(val))] = val;
        m->len++;
        return 0;
}

int crmsync_strmap_set(struct crmsync_strmap *m, void *val)
{
        size_t s;

        if (grow(m))
                return -1;
        s = slot_of(m, m->keyof(val));
        if (!m->slots[s])
                m->len++;
        m->slots[s] = val;
        return 0;
}

void crmsync_strmap_reset(struct crmsync_strmap *m)
{
        free(m->slots);
        m->slots = NULL;
        m->cap   = 0;
        m->len   = 0;
}
