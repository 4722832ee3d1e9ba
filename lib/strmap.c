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
        m->slots  = NULL;
        m->hashes = NULL;
        m->cap    = 0;
        m->len    = 0;
        m->keyof  = keyof;
}

/* The slot holding key (hash h), or the empty slot where it would go.
 * cap > 0. The slot comes from the hash's low bits, the stored check from
 * its high 32: a key is compared only when they match. */
static size_t slot_of(const struct crmsync_strmap *m, const char *key,
                      uint64_t h)
{
        size_t   mask = m->cap - 1;
        size_t   i    = h & mask;
        uint32_t hi   = (uint32_t)(h >> 32);

        /* Load <= 1/2: an empty slot is always found. */
        while (m->slots[i] &&
               (m->hashes[i] != hi || strcmp(m->keyof(m->slots[i]), key)))
                i = (i + 1) & mask;
        return i;
}

void *crmsync_strmap_get(const struct crmsync_strmap *m, const char *key)
{
        return m->cap ? m->slots[slot_of(m, key, crmsync_fnv1a64_str(key))]
                      : NULL;
}

/* Store val with hash h in slot i. */
static void fill(struct crmsync_strmap *m, size_t i, void *val, uint64_t h)
{
        m->slots[i]  = val;
        m->hashes[i] = (uint32_t)(h >> 32);
}

/* Make room for one more entry. Returns 0 or -1 (ENOMEM). */
static int grow(struct crmsync_strmap *m)
{
        size_t    newcap = m->cap ? m->cap * 2 : STRMAP_MIN_CAP;
        void    **old    = m->slots;
        uint32_t *oldh   = m->hashes;
        size_t    oldcap = m->cap;
        void    **ns;
        uint32_t *nh;

        if ((m->len + 1) * 2 <= m->cap)
                return 0;
        ns = calloc(newcap, sizeof(*ns));
        nh = malloc(newcap * sizeof(*nh));
        if (!ns || !nh) {
                free(ns);
                free(nh);
                return -1;
        }
        m->slots  = ns;
        m->hashes = nh;
        m->cap    = newcap;
        /* The keys are distinct: each goes to the first empty slot from
         * its hash (the full hash is computed again: only 32 bits were
         * kept). */
        for (size_t i = 0; i < oldcap; i++)
                if (old[i]) {
                        uint64_t h = crmsync_fnv1a64_str(m->keyof(old[i]));
                        size_t   j = h & (newcap - 1);
                        while (ns[j])
                                j = (j + 1) & (newcap - 1);
                        fill(m, j, old[i], h);
                }
        free(old);
        free(oldh);
        return 0;
}

int crmsync_strmap_put(struct crmsync_strmap *m, void *val)
{
        const char *key = m->keyof(val);
        uint64_t    h   = crmsync_fnv1a64_str(key);

        if (grow(m))
                return -1;
        fill(m, slot_of(m, key, h), val, h);
        m->len++;
        return 0;
}

int crmsync_strmap_set(struct crmsync_strmap *m, void *val)
{
        const char *key = m->keyof(val);
        uint64_t    h   = crmsync_fnv1a64_str(key);
        size_t      s;

        if (grow(m))
                return -1;
        s = slot_of(m, key, h);
        if (!m->slots[s])
                m->len++;
        fill(m, s, val, h);
        return 0;
}

void crmsync_strmap_reset(struct crmsync_strmap *m)
{
        free(m->slots);
        free(m->hashes);
        m->slots  = NULL;
        m->hashes = NULL;
        m->cap    = 0;
        m->len    = 0;
}
