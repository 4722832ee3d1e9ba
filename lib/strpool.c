/* strpool.c -- interned strings in chunks (strpool.h). */
#include "crmsync/strpool.h"

#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"

#define STRPOOL_CHUNK (64u * 1024)

static const char *self_key(const void *v)
{
        return v;
}

void crmsync_strpool_init(struct crmsync_strpool *p)
{
        memset(p, 0, sizeof(*p));
        crmsync_strmap_init(&p->map, self_key);
}

/* Room for n bytes at the end of the current chunk, or NULL. */
static char *room_for(struct crmsync_strpool *p, size_t n)
{
        if (p->nchunks && p->room - p->used >= n)
                return p->chunks[p->nchunks - 1] + p->used;
        if (crmsync_array_grow(&p->chunks, &p->chunks_cap, p->nchunks,
                               sizeof(*p->chunks), 64))
                return NULL;
        size_t size = n > STRPOOL_CHUNK ? n : STRPOOL_CHUNK;
        char  *c    = malloc(size);
        if (!c)
                return NULL;
        p->chunks[p->nchunks++] = c;
        p->used                 = 0;
        p->room                 = size;
        return c;
}

const char *crmsync_strpool_intern(struct crmsync_strpool *p, const char *s)
{
        char *copy = crmsync_strmap_get(&p->map, s);
        if (copy)
                return copy;
        size_t n = strlen(s) + 1;
        copy     = room_for(p, n);
        if (!copy)
                return NULL;
        memcpy(copy, s, n);
        if (crmsync_strmap_put(&p->map, copy))
                return NULL; /* the bytes stay unused in the chunk */
        p->used += n;
        p->bytes += n;
        return copy;
}

const char *crmsync_strpool_copy(struct crmsync_strpool *p, const char *s)
{
        size_t n    = strlen(s) + 1;
        char  *copy = room_for(p, n);
        if (!copy)
                return NULL;
        memcpy(copy, s, n);
        p->used += n;
        p->bytes += n;
        return copy;
}

void crmsync_strpool_reset(struct crmsync_strpool *p)
{
        for (size_t i = 0; i < p->nchunks; i++)
                free(p->chunks[i]);
        free(p->chunks);
        crmsync_strmap_reset(&p->map);
        crmsync_strpool_init(p);
}
