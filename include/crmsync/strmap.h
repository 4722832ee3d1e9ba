/* strmap.h -- the hash table of crmsync (lib/): an open-addressing map
 * from strings to value pointers, slots placed by FNV-1a 64 (hash.h). A
 * value's key is read through keyof(value), so the key lives in the value
 * and the map stores one pointer and one 32-bit hash per slot. No removal
 * (reset empties the whole map). Load is kept at most 1/2.
 *
 * Ownership: the map owns its slot array only; values (and their keys)
 * are borrowed and must outlive their entries. Not thread-safe. */
#ifndef CRMSYNC_STRMAP_H
#define CRMSYNC_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct crmsync_strmap {
        void    **slots;
        uint32_t *hashes; /* each slot's key hash (high 32 bits): a probe
                           * reads a key only when its hash matches */
        size_t cap;       /* power of two, or 0 before the first insert */
        size_t len;
        const char *(*keyof)(const void *val);
};

/* An empty map; allocates nothing yet. */
void crmsync_strmap_init(struct crmsync_strmap *m,
                         const char *(*keyof)(const void *val));

/* The value whose key is key, or NULL. */
void *crmsync_strmap_get(const struct crmsync_strmap *m, const char *key);

/* Insert val, whose key must not be present yet (use _set otherwise).
 * Returns 0, or -1 when out of memory (the map is unchanged). */
int crmsync_strmap_put(struct crmsync_strmap *m, void *val);

/* Insert val, or replace the value with the same key. Returns 0 or -1
 * (out of memory; the map is unchanged). */
int crmsync_strmap_set(struct crmsync_strmap *m, void *val);

/* Empty the map and free its slots (values are not touched). */
void crmsync_strmap_reset(struct crmsync_strmap *m);

#endif
