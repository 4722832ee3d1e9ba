/* jsonpos.c -- map JSON value paths to line:column in the source text. */
#include "harness/jsonpos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONPOS_MAX_ENTRIES 100000
#define JSONPOS_MAX_DEPTH 64

struct jsonpos_entry {
        char *path;
        int   line, column;         /* value */
        int   key_line, key_column; /* key (0 for array items / root) */
};

struct jsonpos {
        struct jsonpos_entry *v;
        size_t                cnt, size;
};

struct scan {
        const char *p, *end;
        int         line, column;
        jsonpos_t  *jp;
        int         failed;
};

static void adv(struct scan *s)
{
        if (s->p >= s->end)
                return;
        if (*s->p == '\n') {
                s->line++;
                s->column = 1;
        } else if ((*s->p & 0xC0) != 0x80) {
                s->column++; /* count UTF-8 characters, not bytes */
        }
        s->p++;
}

static void skip_ws(struct scan *s)
{
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
                                 *s->p == '\n' || *s->p == '\r'))
                adv(s);
}

static int add(struct scan *s, const char *path, int line, int column,
               int kline, int kcolumn)
{
        jsonpos_t *jp = s->jp;
        if (jp->cnt >= JSONPOS_MAX_ENTRIES)
                return -1;
        if (jp->cnt == jp->size) {
                size_t                nsize = jp->size ? jp->size * 2 : 64;
                struct jsonpos_entry *nv = realloc(jp->v, nsize * sizeof(*nv));
                if (!nv)
                        return -1;
                jp->v    = nv;
                jp->size = nsize;
        }
        jp->v[jp->cnt].path = strdup(path);
        if (!jp->v[jp->cnt].path)
                return -1;
        jp->v[jp->cnt].line       = line;
        jp->v[jp->cnt].column     = column;
        jp->v[jp->cnt].key_line   = kline;
        jp->v[jp->cnt].key_column = kcolumn;
        jp->cnt++;
        return 0;
}

/* Reads a string starting at '"' into out (truncated to out_size). */
static void scan_string(struct scan *s, char *out, size_t out_size)
{
        size_t n = 0;
        adv(s); /* opening quote */
        while (s->p < s->end && *s->p != '"') {
                if (*s->p == '\\') {
                        adv(s);
                        if (s->p >= s->end)
                                break;
                }
                if (out && n + 1 < out_size)
                        out[n++] = *s->p;
                adv(s);
        }
        adv(s); /* closing quote */
        if (out)
                out[n] = '\0';
}

static void scan_value(struct scan *s, char *path, size_t path_len, int depth,
                       int kline, int kcolumn);

static void scan_value(struct scan *s, char *path, size_t path_len, int depth,
                       int kline, int kcolumn)
{
        skip_ws(s);
        if (s->p >= s->end || depth > JSONPOS_MAX_DEPTH) {
                s->failed = 1;
                return;
        }
        if (add(s, path, s->line, s->column, kline, kcolumn) == -1) {
                s->failed = 1;
                return;
        }
        if (*s->p == '{') {
                adv(s);
                for (;;) {
                        char key[256];
                        int  kl, kc;
                        skip_ws(s);
                        if (s->p >= s->end || *s->p == '}')
                                break;
                        if (*s->p != '"') {
                                s->failed = 1;
                                return;
                        }
                        kl = s->line;
                        kc = s->column;
                        scan_string(s, key, sizeof(key));
                        skip_ws(s);
                        if (s->p < s->end && *s->p == ':')
                                adv(s);
                        size_t n =
                            (size_t)snprintf(path + path_len, 1024 - path_len,
                                             "%s%s", path_len ? "." : "", key);
                        if (path_len + n >= 1024) {
                                s->failed = 1;
                                return;
                        }
                        scan_value(s, path, path_len + n, depth + 1, kl, kc);
                        path[path_len] = '\0';
                        if (s->failed)
                                return;
                        skip_ws(s);
                        if (s->p < s->end && *s->p == ',')
                                adv(s);
                }
                adv(s);
        } else if (*s->p == '[') {
                int idx = 0;
                adv(s);
                for (;;) {
                        skip_ws(s);
                        if (s->p >= s->end || *s->p == ']')
                                break;
                        size_t n = (size_t)snprintf(
                            path + path_len, 1024 - path_len, "[%d]", idx++);
                        if (path_len + n >= 1024) {
                                s->failed = 1;
                                return;
                        }
                        scan_value(s, path, path_len + n, depth + 1, 0, 0);
                        path[path_len] = '\0';
                        if (s->failed)
                                return;
                        skip_ws(s);
                        if (s->p < s->end && *s->p == ',')
                                adv(s);
                }
                adv(s);
        } else if (*s->p == '"') {
                scan_string(s, NULL, 0);
        } else {
                while (s->p < s->end && !strchr(",}] \t\r\n", *s->p))
                        adv(s);
        }
}

jsonpos_t *crmsync_jsonpos_index(const char *buf, size_t len)
{
        char        path[1024] = "";
        jsonpos_t  *jp         = calloc(1, sizeof(*jp));
        struct scan s          = {buf, buf + len, 1, 1, jp, 0};
        if (!jp)
                return NULL;
        scan_value(&s, path, 0, 0, 0, 0);
        /* A failed scan still leaves the entries found so far usable. */
        return jp;
}

void crmsync_jsonpos_destroy(jsonpos_t *jp)
{
        if (!jp)
                return;
        for (size_t i = 0; i < jp->cnt; i++)
                free(jp->v[i].path);
        free(jp->v);
        free(jp);
}

int crmsync_jsonpos_find(const jsonpos_t *jp, const char *path, int want_key,
                         int *line, int *column)
{
        for (size_t i = 0; jp && i < jp->cnt; i++) {
                if (strcmp(jp->v[i].path, path))
                        continue;
                if (want_key && jp->v[i].key_line) {
                        *line   = jp->v[i].key_line;
                        *column = jp->v[i].key_column;
                } else {
                        *line   = jp->v[i].line;
                        *column = jp->v[i].column;
                }
                return 0;
        }
        return -1;
}
