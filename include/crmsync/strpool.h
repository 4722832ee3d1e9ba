/* strpool.h -- interned strings (lib/): each distinct string is stored
 * once, in large chunks, and found again through a strmap. Logs that
 * repeat the same event ids and keys many times (the fake sink's apply
 * log, the postgres sink's copy of it) keep one pointer per entry instead
 * of a fixed-size array: a 1,000,000-change replay run logs 2,000,000
 * applies of 1,000,000 distinct event ids.
 *
 * Ownership: the pool owns every string it returns; they stay valid and
 * unchanged until reset. Not thread-safe. */
#ifndef CRMSYNC_STRPOOL_H
#define CRMSYNC_STRPOOL_H

#include <stddef.h>

#include "crmsync/strmap.h"

struct crmsync_strpool {
        struct crmsync_strmap map;    /* string -> its pooled copy */
        char                **chunks; /* owned */
        size_t                nchunks, chunks_cap;
        size_t                used, room; /* in chunks[nchunks - 1] */
        size_t                bytes;      /* string bytes stored, NULs too */
};

/* An empty pool; allocates nothing yet. */
void crmsync_strpool_init(struct crmsync_strpool *p);

/* The pooled copy of s (the same pointer for equal strings), or NULL when
 * out of memory. s must not be NULL. */
const char *crmsync_strpool_intern(struct crmsync_strpool *p, const char *s);

/* A copy of s in the pool that is not indexed: intern never finds it,
 * and equal strings copied twice are two copies. For strings that rarely
 * repeat (the auditor's event ids, one a record read), where the index
 * would cost more than it saves. NULL when out of memory. */
const char *crmsync_strpool_copy(struct crmsync_strpool *p, const char *s);

/* Free every string (pointers returned before become invalid) and empty
 * the pool; it can be used again. */
void crmsync_strpool_reset(struct crmsync_strpool *p);

#endif
