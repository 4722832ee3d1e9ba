/* common.h -- small shared helpers: clocks, id formatting, error strings. */
#ifndef CRMSYNC_COMMON_H
#define CRMSYNC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CRMSYNC_VERSION "0.1.0"

/* Identifier buffers: "A-000001", "e-00000001", "contact/C-000001". */
#define CRMSYNC_ID_MAX 48
#define CRMSYNC_KEY_MAX 64

/* Wall-clock milliseconds since the epoch. */
int64_t crmsync_wall_ms(void);
/* Monotonic milliseconds (CLOCK_MONOTONIC); only differences are meaningful. */
int64_t crmsync_mono_ms(void);
/* Monotonic microseconds. */
int64_t crmsync_mono_us(void);

/* printf into errstr (may be NULL or size 0); always returns -1 so callers
 * can write `return crmsync_err(errstr, errstr_size, "...")`. */
int crmsync_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse a whole decimal string (no sign, no trailing text) in [min, max].
 * Returns 0, or -1 when it is not one. */
int crmsync_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Room for one more element in a growable array: vec is the address of
 * the array pointer (of any element type), cnt the elements in use, *cap
 * those allocated, elem the size of one. When full, the capacity doubles,
 * starting at first. Returns 0, or -1 when out of memory or the size would
 * overflow (*vec and *cap then unchanged; the caller still owns *vec). */
int crmsync_array_grow(void *vec, size_t *cap, size_t cnt, size_t elem,
                       size_t first);

/* Write path through path.tmp and a rename, so that a file that cannot be
 * written completely is never left behind truncated: render(arg, fp)
 * writes the content and returns 0, or -1 after a write error. Returns 0,
 * or -1 with errstr naming the file and the system's error. */
int crmsync_write_file_atomic(const char *path,
                              int (*render)(void *arg, FILE *fp), void *arg,
                              char *errstr, size_t errstr_size);

/* Write s to fp as a Markdown table cell: '|' escaped as "\|", each line
 * break written as a space. NULL writes nothing. */
void crmsync_md_cell(FILE *fp, const char *s);

/* Environment variable as a string, or def when unset or empty. Borrowed. */
const char *crmsync_env(const char *name, const char *def);

#endif
