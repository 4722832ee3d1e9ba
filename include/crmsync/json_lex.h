/* json_lex.h -- the lexing steps shared by crmsync's narrow JSON scanners
 * (the connector's feed page, the profiler's change envelope, the fake
 * sink's bulk op; lib/). Each takes only a common subset of JSON and
 * returns 0 for anything else, so that its caller hands the input to
 * jansson instead; the fuzz targets compare every scanner with jansson. */
#ifndef CRMSYNC_JSON_LEX_H
#define CRMSYNC_JSON_LEX_H

#include <stddef.h>
#include <stdint.h>

/* The index of the first byte at or after i that is not JSON whitespace
 * (n when none). */
size_t crmsync_json_skip_ws(const char *p, size_t i, size_t n);

/* A string at p[i] == '"' of printable ASCII (0x20..0x7e) without a
 * backslash: the index after its closing quote (the text is
 * [i + 1, end - 1)), or 0. */
size_t crmsync_json_plain_str(const char *p, size_t i, size_t n);

/* -?(0|[1-9][0-9]*) of at most 18 digits, not "-0", not followed by a
 * fraction or an exponent: the index after it (its value in *v), or 0. */
size_t crmsync_json_int(const char *p, size_t i, size_t n, int64_t *v);

#endif
