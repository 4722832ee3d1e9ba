/* sink_op.c -- the fake sink's bulk body parser: each op's envelope
 * (op, type, id, event_id, account_id, version, merge_fields, if_newer,
 * if_version) read into a struct sink_op with a small scanner, and only
 * the op's "fields" object parsed into a jansson tree (the store keeps
 * it): built directly when it is flat (plain strings, integers, true,
 * false, null), else by jansson from its text. A line the scanner does
 * not take as it is (an escape or a non-ASCII byte in a string, an
 * unknown or repeated member, a real, nesting deeper than
 * SCAN_MAX_DEPTH, anything malformed) is parsed by jansson exactly as
 * before, so a malformed line still gets jansson's
 * line and column, and the store validates both kinds the same way. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/json_lex.h"
#include "sink_int.h"

#define SCAN_MAX_DEPTH 64
#define SCAN_MAX_OPS (1u << 24)

static const char *const key_names[SK_NKEYS] = {
    [SK_OP]         = "op",
    [SK_TYPE]       = "type",
    [SK_ID]         = "id",
    [SK_EVENT_ID]   = "event_id",
    [SK_ACCOUNT_ID] = "account_id",
    [SK_VERSION]    = "version",
    [SK_MERGE]      = "merge_fields",
    [SK_IF_NEWER]   = "if_newer",
    [SK_IF_VERSION] = "if_version",
};

void sink_op_clear(struct sink_op *op)
{
        json_decref(op->fields);
        json_decref(op->tree);
        memset(op, 0, sizeof(*op));
}

void sink_op_from_json(struct sink_op *op, json_t *j)
{
        memset(op, 0, sizeof(*op));
        op->tree = json_incref(j);
        if (!json_is_object(j))
                return;
        op->is_object = 1;
        for (int k = 0; k < SK_NKEYS; k++) {
                const json_t    *v = json_object_get(j, key_names[k]);
                struct sink_val *d = &op->v[k];
                if (!v)
                        d->kind = SV_ABSENT;
                else if (json_is_string(v)) {
                        d->kind = SV_STR;
                        d->s    = json_string_value(v);
                        d->len  = json_string_length(v);
                } else if (json_is_integer(v)) {
                        d->kind = SV_INT;
                        d->i    = json_integer_value(v);
                } else if (json_is_true(v))
                        d->kind = SV_TRUE;
                else if (json_is_false(v))
                        d->kind = SV_FALSE;
                else if (json_is_null(v))
                        d->kind = SV_NULL;
                else
                        d->kind = SV_OTHER;
        }
        op->fields = json_incref(json_object_get(j, "fields"));
}

/* A JSON integer (crmsync_json_int) into a jansson integer. */
static size_t scan_int(const char *p, size_t i, size_t n, json_int_t *out)
{
        int64_t v;
        size_t  e = crmsync_json_int(p, i, n, &v);
        if (e)
                *out = v;
        return e;
}

/* The end of the object starting at p[i] == '{' (index after its '}'),
 * or 0: unbalanced, or nested deeper than SCAN_MAX_DEPTH. jansson checks
 * the text itself afterwards. */
static size_t match_object(const char *p, size_t i, size_t n)
{
        int depth = 0;
        for (size_t j = i; j < n; j++) {
                char c = p[j];
                if (c == '"') {
                        for (j++; j < n && p[j] != '"'; j++)
                                if (p[j] == '\\')
                                        j++;
                        if (j >= n)
                                return 0;
                } else if (c == '{' || c == '[') {
                        if (++depth > SCAN_MAX_DEPTH)
                                return 0;
                } else if (c == '}' || c == ']') {
                        if (--depth == 0)
                                return c == '}' ? j + 1 : 0;
                }
        }
        return 0;
}

/* A flat object at p[i] == '{' (members of plain strings, integers,
 * true, false or null) built straight into a tree, as jansson would
 * build it (a repeated member: the last one wins): the index after its
 * '}', or 0 (*out untouched) to let jansson parse it. */
static size_t build_flat(const char *p, size_t i, size_t n, json_t **out)
{
        json_t *o = json_object();
        if (!o)
                return 0;
        i = crmsync_json_skip_ws(p, i + 1, n);
        if (i < n && p[i] == '}') {
                *out = o;
                return i + 1;
        }
        for (;;) {
                size_t     e, k0;
                json_t    *v = NULL;
                json_int_t x;
                if (i >= n || p[i] != '"' ||
                    !(e = crmsync_json_plain_str(p, i, n)))
                        break;
                k0 = i + 1;
                i  = crmsync_json_skip_ws(p, e, n);
                if (i >= n || p[i] != ':')
                        break;
                size_t klen = e - k0 - 1;
                i           = crmsync_json_skip_ws(p, i + 1, n);
                if (i >= n)
                        break;
                if (p[i] == '"') {
                        if ((e = crmsync_json_plain_str(p, i, n)))
                                v = json_stringn_nocheck(p + i + 1, e - i - 2);
                } else if (n - i >= 4 && !memcmp(p + i, "true", 4)) {
                        v = json_true();
                        e = i + 4;
                } else if (n - i >= 5 && !memcmp(p + i, "false", 5)) {
                        v = json_false();
                        e = i + 5;
                } else if (n - i >= 4 && !memcmp(p + i, "null", 4)) {
                        v = json_null();
                        e = i + 4;
                } else if ((e = scan_int(p, i, n, &x))) {
                        v = json_integer(x);
                }
                /* setn_new takes v, also when it fails */
                if (!v || json_object_setn_new_nocheck(o, p + k0, klen, v))
                        break;
                i = crmsync_json_skip_ws(p, e, n);
                if (i < n && p[i] == ',') {
                        i = crmsync_json_skip_ws(p, i + 1, n);
                        continue;
                }
                if (i < n && p[i] == '}') {
                        *out = o;
                        return i + 1;
                }
                break;
        }
        json_decref(o);
        return 0;
}

static int key_index(const char *k, size_t len)
{
        if (len == 6 && !memcmp(k, "fields", 6))
                return SK_NKEYS;
        for (int x = 0; x < SK_NKEYS; x++)
                if (strlen(key_names[x]) == len &&
                    !memcmp(k, key_names[x], len))
                        return x;
        return -1;
}

/* One member's value at p[i] into op (slot x; SK_NKEYS = "fields"): the
 * index after it, or 0 to fall back. */
static size_t scan_value(const char *p, size_t i, size_t n, int x,
                         struct sink_op *op)
{
        size_t e;
        if (x == SK_NKEYS) {
                json_error_t err;
                if (n - i >= 4 && !memcmp(p + i, "null", 4)) {
                        op->fields = json_null();
                        return i + 4;
                }
                if (p[i] == '{' && (e = build_flat(p, i, n, &op->fields)))
                        return e;
                if (p[i] != '{' || !(e = match_object(p, i, n)))
                        return 0;
                op->fields = json_loadb(p + i, e - i, 0, &err);
                return op->fields && json_is_object(op->fields) ? e : 0;
        }
        struct sink_val *d = &op->v[x];
        if (p[i] == '"') {
                if (!(e = crmsync_json_plain_str(p, i, n)))
                        return 0;
                d->kind = SV_STR;
                d->s    = p + i + 1;
                d->len  = e - i - 2;
                return e;
        }
        if (n - i >= 4 && !memcmp(p + i, "true", 4)) {
                d->kind = SV_TRUE;
                return i + 4;
        }
        if (n - i >= 5 && !memcmp(p + i, "false", 5)) {
                d->kind = SV_FALSE;
                return i + 5;
        }
        if (n - i >= 4 && !memcmp(p + i, "null", 4)) {
                d->kind = SV_NULL;
                return i + 4;
        }
        if (!(e = scan_int(p, i, n, &d->i)))
                return 0;
        d->kind = SV_INT;
        return e;
}

int sink_op_scan(const char *p, size_t n, struct sink_op *op)
{
        unsigned seen = 0;
        size_t   i    = crmsync_json_skip_ws(p, 0, n);

        memset(op, 0, sizeof(*op));
        op->is_object = 1;
        if (i >= n || p[i] != '{')
                goto fallback;
        i = crmsync_json_skip_ws(p, i + 1, n);
        if (i < n && p[i] == '}') {
                i++;
                goto end;
        }
        for (;;) {
                size_t e;
                if (i >= n || p[i] != '"' ||
                    !(e = crmsync_json_plain_str(p, i, n)))
                        goto fallback;
                int x = key_index(p + i + 1, e - i - 2);
                if (x < 0 || (seen >> x) & 1u)
                        goto fallback;
                seen |= 1u << x;
                i = crmsync_json_skip_ws(p, e, n);
                if (i >= n || p[i] != ':')
                        goto fallback;
                i = crmsync_json_skip_ws(p, i + 1, n);
                if (i >= n || !(i = scan_value(p, i, n, x, op)))
                        goto fallback;
                i = crmsync_json_skip_ws(p, i, n);
                if (i < n && p[i] == ',') {
                        i = crmsync_json_skip_ws(p, i + 1, n);
                        continue;
                }
                if (i < n && p[i] == '}') {
                        i++;
                        break;
                }
                goto fallback;
        }
end:
        if (crmsync_json_skip_ws(p, i, n) == n)
                return 0;
fallback:
        sink_op_clear(op);
        return -1;
}

void sink_ops_free(struct sink_ops *ops)
{
        for (size_t i = 0; i < ops->n; i++)
                sink_op_clear(&ops->v[i]);
        free(ops->v);
        memset(ops, 0, sizeof(*ops));
}

static struct sink_op *ops_push(struct sink_ops *ops)
{
        if (ops->n == ops->cap) {
                size_t nc = ops->cap ? ops->cap * 2 : 64;
                if (nc > SCAN_MAX_OPS)
                        return NULL;
                void *nv = realloc(ops->v, nc * sizeof(*ops->v));
                if (!nv)
                        return NULL;
                ops->v   = nv;
                ops->cap = nc;
        }
        return &ops->v[ops->n++];
}

static int parse_array(const char *data, size_t len, struct sink_ops *ops,
                       char *msg, size_t msgsize)
{
        json_error_t err;
        json_t      *arr = json_loadb(data, len, 0, &err);
        if (!arr) {
                snprintf(msg, msgsize, "line %d column %d: %s", err.line,
                         err.column, err.text);
                return -1;
        }
        if (!json_is_array(arr)) {
                json_decref(arr);
                snprintf(msg, msgsize, "body is not an array");
                return -1;
        }
        for (size_t i = 0; i < json_array_size(arr); i++) {
                struct sink_op *op = ops_push(ops);
                if (!op) {
                        json_decref(arr);
                        snprintf(msg, msgsize, "too many operations");
                        return -1;
                }
                sink_op_from_json(op, json_array_get(arr, i));
        }
        json_decref(arr);
        return 0;
}

/* One NDJSON line (not blank) as one more op, or -1 with msg. */
static int parse_line(const char *start, size_t n, int line, int scan,
                      struct sink_ops *ops, char *msg, size_t msgsize)
{
        json_error_t    err;
        struct sink_op *op = ops_push(ops);
        if (!op) {
                snprintf(msg, msgsize, "too many operations");
                return -1;
        }
        if (scan && sink_op_scan(start, n, op) == 0)
                return 0;
        json_t *j = json_loadb(start, n, JSON_DECODE_ANY, &err);
        if (!j) {
                ops->n--;
                snprintf(msg, msgsize, "NDJSON line %d column %d: %s", line,
                         err.column, err.text);
                return -1;
        }
        sink_op_from_json(op, j);
        json_decref(j);
        return 0;
}

static int parse_body(const char *data, size_t len, int scan,
                      struct sink_ops *ops, char *msg, size_t msgsize)
{
        size_t i = 0;
        memset(ops, 0, sizeof(*ops));
        while (i < len && isspace((unsigned char)data[i]))
                i++;
        if (i == len) {
                snprintf(msg, msgsize, "empty body");
                return -1;
        }
        if (data[i] == '[') {
                if (parse_array(data, len, ops, msg, msgsize) == 0)
                        return 0;
                sink_ops_free(ops);
                return -1;
        }
        int line = 0;
        while (i < len) {
                const char *start = data + i;
                const char *nl    = memchr(start, '\n', len - i);
                size_t      n     = nl ? (size_t)(nl - start) : len - i;
                i += n + (nl ? 1 : 0);
                line++;
                size_t k = 0;
                while (k < n && isspace((unsigned char)start[k]))
                        k++;
                if (k == n)
                        continue;
                if (parse_line(start, n, line, scan, ops, msg, msgsize)) {
                        sink_ops_free(ops);
                        return -1;
                }
        }
        return 0;
}

int sink_parse_ops(const char *data, size_t len, struct sink_ops *ops,
                   char *msg, size_t msgsize)
{
        return parse_body(data, len, 1, ops, msg, msgsize);
}

int sink_parse_json_ops(const char *data, size_t len, struct sink_ops *ops,
                        char *msg, size_t msgsize)
{
        return parse_body(data, len, 0, ops, msg, msgsize);
}
