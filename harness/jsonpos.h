/* jsonpos.h -- line and column of every value in a JSON text, by path.
 *
 * jansson reports positions only for syntax errors; scenario validation
 * needs them for semantic errors too ("faults[2].at_s"). This scanner walks
 * the raw text once (it assumes the text already parsed with jansson) and
 * records where each value starts. */
#ifndef CRMSYNC_JSONPOS_H
#define CRMSYNC_JSONPOS_H

#include <stddef.h>

typedef struct jsonpos jsonpos_t;

/* Index buf (borrowed for the call; the index keeps no pointer into it).
 * NULL on allocation failure. The caller frees with
 * crmsync_jsonpos_destroy. */
jsonpos_t *crmsync_jsonpos_index(const char *buf, size_t len);
void       crmsync_jsonpos_destroy(jsonpos_t *jp); /* accepts NULL */
/* Position of the value at path ("a.b[3].c"; "" is the root). For an
 * unknown key, want_key=1 returns the position of the key itself. Returns 0
 * and fills line/column (1-based), or -1 when the path is not found. */
int crmsync_jsonpos_find(const jsonpos_t *jp, const char *path, int want_key,
                         int *line, int *column);

#endif
