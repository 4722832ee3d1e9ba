/* profiler_scan.c -- the profiler's fast path for a change envelope and
 * its bulk op: a small scanner reads the members the mapping needs into a
 * struct prof_env and keeps the record's "fields" as the JSON text it
 * came in (checked, never turned into a tree), and the bulk op is written
 * as NDJSON text around it. A value the scanner does not take as it is
 * (an escape or a non-ASCII byte in a string, a real, an integer of more
 * than 18 digits, a repeated member the mapping reads, nesting deeper
 * than SCAN_MAX_DEPTH, anything malformed) makes it give up, and
 * profiler_map_event parses the value with jansson instead, as before:
 * the mapping then validates the same struct from jansson's tree, so
 * both parses give the same op or the same reason (tests/unit/
 * test_profiler_scan.c; tests/fuzz/fuzz_profiler_record.c runs both). */
#include "profiler_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/json_lex.h"

#define SCAN_MAX_DEPTH 32

static const char *const env_names[PE_NKEYS] = {
    [PE_EVENT_ID]      = "event_id",
    [PE_ENTITY]        = "entity",
    [PE_RECORD_ID]     = "record_id",
    [PE_ACCOUNT_ID]    = "account_id",
    [PE_CHANGE_TYPE]   = "change_type",
    [PE_VERSION]       = "version",
    [PE_FIELDS]        = "fields",
    [PE_MERGED_INTO]   = "merged_into",
    [PE_FULL_STATE]    = "full_state",
    [PE_RESOLVED_GAP]  = "resolved_gap",
    [PE_RESOLVED_MOVE] = "resolved_move",
    [PE_RESYNC]        = "resync",
    [PE_PREV_ACCOUNT]  = "previous_account_id",
};

const char *profiler_env_name(int k)
{
        return k >= 0 && k < PE_NKEYS ? env_names[k] : "?";
}

void profiler_env_from_json(struct prof_env *env, const json_t *ev)
{
        memset(env, 0, sizeof(*env));
        for (int k = 0; k < PE_NKEYS; k++) {
                const json_t  *v = json_object_get(ev, env_names[k]);
                struct pe_val *d = &env->v[k];
                if (!v) {
                        d->kind = PV_ABSENT;
                } else if (json_is_string(v)) {
                        d->kind = PV_STR;
                        d->s    = json_string_value(v);
                        d->len  = json_string_length(v);
                } else if (json_is_integer(v)) {
                        d->kind = PV_INT;
                        d->i    = json_integer_value(v);
                } else if (json_is_true(v)) {
                        d->kind = PV_TRUE;
                } else if (json_is_false(v)) {
                        d->kind = PV_FALSE;
                } else if (json_is_null(v)) {
                        d->kind = PV_NULL;
                } else if (json_is_object(v)) {
                        d->kind  = PV_OBJECT;
                        d->empty = json_object_size(v) == 0;
                        d->tree  = v;
                } else {
                        d->kind = PV_OTHER;
                }
        }
}

/* ---- the scanner -------------------------------------------------------- */

/* A JSON integer (crmsync_json_int) into a jansson integer. */
static size_t scan_int(const char *p, size_t i, size_t n, json_int_t *out)
{
        int64_t v;
        size_t  e = crmsync_json_int(p, i, n, &v);
        if (e)
                *out = v;
        return e;
}

static size_t word(const char *p, size_t i, size_t n, const char *w)
{
        size_t len = strlen(w);
        return n - i >= len && !memcmp(p + i, w, len) ? i + len : 0;
}

static size_t skip_value(const char *p, size_t i, size_t n, int depth);

/* The members (is_obj) or elements after p[i] == '{' or '[': the index
 * after the closing bracket, or 0. */
static size_t skip_container(const char *p, size_t i, size_t n, int is_obj,
                             int depth)
{
        char close = is_obj ? '}' : ']';
        if (depth > SCAN_MAX_DEPTH)
                return 0;
        i = crmsync_json_skip_ws(p, i + 1, n);
        if (i < n && p[i] == close)
                return i + 1;
        for (;;) {
                if (is_obj) {
                        if (i >= n || p[i] != '"' ||
                            !(i = crmsync_json_plain_str(p, i, n)))
                                return 0;
                        i = crmsync_json_skip_ws(p, i, n);
                        if (i >= n || p[i] != ':')
                                return 0;
                        i = crmsync_json_skip_ws(p, i + 1, n);
                }
                if (!(i = skip_value(p, i, n, depth)))
                        return 0;
                i = crmsync_json_skip_ws(p, i, n);
                if (i < n && p[i] == ',') {
                        i = crmsync_json_skip_ws(p, i + 1, n);
                        continue;
                }
                return i < n && p[i] == close ? i + 1 : 0;
        }
}

/* Any value of the subset at p[i]: the index after it, or 0. */
static size_t skip_value(const char *p, size_t i, size_t n, int depth)
{
        json_int_t v;
        if (i >= n)
                return 0;
        switch (p[i]) {
        case '"':
                return crmsync_json_plain_str(p, i, n);
        case '{':
                return skip_container(p, i, n, 1, depth + 1);
        case '[':
                return skip_container(p, i, n, 0, depth + 1);
        case 't':
                return word(p, i, n, "true");
        case 'f':
                return word(p, i, n, "false");
        case 'n':
                return word(p, i, n, "null");
        default:
                return scan_int(p, i, n, &v);
        }
}

/* A member the mapping reads, at p[i], into d: the index after it, or 0. */
static size_t scan_member(const char *p, size_t i, size_t n, struct pe_val *d)
{
        size_t e;
        switch (p[i]) {
        case '"':
                if (!(e = crmsync_json_plain_str(p, i, n)))
                        return 0;
                d->kind = PV_STR;
                d->s    = p + i + 1;
                d->len  = e - i - 2;
                return e;
        case '{':
                if (!(e = skip_container(p, i, n, 1, 1)))
                        return 0;
                d->kind  = PV_OBJECT;
                d->s     = p + i;
                d->len   = e - i;
                d->empty = p[crmsync_json_skip_ws(p, i + 1, n)] == '}';
                return e;
        case '[':
                d->kind = PV_OTHER;
                return skip_container(p, i, n, 0, 1);
        case 't':
                d->kind = PV_TRUE;
                return word(p, i, n, "true");
        case 'f':
                d->kind = PV_FALSE;
                return word(p, i, n, "false");
        case 'n':
                d->kind = PV_NULL;
                return word(p, i, n, "null");
        default:
                d->kind = PV_INT;
                return scan_int(p, i, n, &d->i);
        }
}

static int env_key(const char *k, size_t len)
{
        for (int x = 0; x < PE_NKEYS; x++)
                if (strlen(env_names[x]) == len &&
                    !memcmp(k, env_names[x], len))
                        return x;
        return -1;
}

int profiler_env_scan(const char *p, size_t n, struct prof_env *env)
{
        size_t i = crmsync_json_skip_ws(p, 0, n);

        memset(env, 0, sizeof(*env));
        if (i >= n || p[i] != '{')
                return -1;
        i = crmsync_json_skip_ws(p, i + 1, n);
        if (i < n && p[i] == '}')
                return crmsync_json_skip_ws(p, i + 1, n) == n ? 0 : -1;
        for (;;) {
                size_t e;
                if (i >= n || p[i] != '"' ||
                    !(e = crmsync_json_plain_str(p, i, n)))
                        return -1;
                int k = env_key(p + i + 1, e - i - 2);
                i     = crmsync_json_skip_ws(p, e, n);
                if (i >= n || p[i] != ':')
                        return -1;
                i = crmsync_json_skip_ws(p, i + 1, n);
                if (i >= n)
                        return -1;
                if (k < 0)
                        i = skip_value(p, i, n, 1);
                else if (env->v[k].kind != PV_ABSENT)
                        return -1; /* repeated: jansson keeps the last */
                else
                        i = scan_member(p, i, n, &env->v[k]);
                if (!i)
                        return -1;
                i = crmsync_json_skip_ws(p, i, n);
                if (i < n && p[i] == ',') {
                        i = crmsync_json_skip_ws(p, i + 1, n);
                        continue;
                }
                if (i < n && p[i] == '}')
                        return crmsync_json_skip_ws(p, i + 1, n) == n ? 0 : -1;
                return -1;
        }
}

/* ---- the bulk op as NDJSON --------------------------------------------- */

/* s (len bytes, valid UTF-8 or plain ASCII) as a JSON string, escaped as
 * jansson's compact dump escapes it. */
static int put_str(struct crmsync_dynbuf *b, const char *s, size_t len)
{
        static const char hex[] = "0123456789abcdef";
        size_t            run   = 0;
        int               rc    = crmsync_dynbuf_add(b, "\"", 1);

        for (size_t i = 0; !rc && i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                char          esc[7];
                size_t        elen = 2;
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                rc     = crmsync_dynbuf_add(b, s + run, i - run);
                run    = i + 1;
                esc[0] = '\\';
                switch (c) {
                case '"':
                case '\\':
                        esc[1] = (char)c;
                        break;
                case '\b':
                        esc[1] = 'b';
                        break;
                case '\f':
                        esc[1] = 'f';
                        break;
                case '\n':
                        esc[1] = 'n';
                        break;
                case '\r':
                        esc[1] = 'r';
                        break;
                case '\t':
                        esc[1] = 't';
                        break;
                default:
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        elen   = 6;
                }
                if (!rc)
                        rc = crmsync_dynbuf_add(b, esc, elen);
        }
        if (!rc)
                rc = crmsync_dynbuf_add(b, s + run, len - run);
        return rc ? rc : crmsync_dynbuf_add(b, "\"", 1);
}

static int put(struct crmsync_dynbuf *b, const char *s)
{
        return crmsync_dynbuf_add(b, s, strlen(s));
}

static int put_member(struct crmsync_dynbuf *b, const char *key, const char *s)
{
        if (put(b, key))
                return -1;
        return put_str(b, s, strlen(s));
}

/* key, then v in decimal (printf's cost, per op, showed in the profile). */
static int put_uint(struct crmsync_dynbuf *b, const char *key, uint64_t v)
{
        char   num[24];
        size_t i = sizeof(num);
        do {
                num[--i] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        if (put(b, key))
                return -1;
        return crmsync_dynbuf_add(b, num + i, sizeof(num) - i);
}

int profiler_op_write(const struct prof_op *op, struct crmsync_dynbuf *b)
{
        int is_delete = op->action == PROF_DELETE;

        if (put(b, is_delete ? "{\"op\":\"delete\"" : "{\"op\":\"upsert\"") ||
            put_member(b, ",\"type\":", op->entity) ||
            put_member(b, ",\"id\":", op->record_id) ||
            (op->account_id[0] &&
             put_member(b, ",\"account_id\":", op->account_id)))
                return -1;
        if (put_uint(b, ",\"version\":", op->version) ||
            put_member(b, ",\"event_id\":", op->event_id))
                return -1;
        if (!is_delete &&
            (put(b, ",\"fields\":") ||
             (op->fields ? crmsync_dynbuf_add(b, op->fields, op->fields_len)
                         : put(b, "{}")) ||
             put(b, op->merge_fields ? ",\"merge_fields\":true"
                                     : ",\"merge_fields\":false")))
                return -1;
        if (put(b, op->if_newer ? ",\"if_newer\":true" : ",\"if_newer\":false"))
                return -1;
        if (op->if_version >= 0) {
                if (put_uint(b, ",\"if_version\":", (uint64_t)op->if_version))
                        return -1;
        }
        return put(b, "}\n");
}

json_t *profiler_op_json(const struct prof_op *op)
{
        struct crmsync_dynbuf b;
        json_t               *o = NULL;

        crmsync_dynbuf_init(&b, PROFILER_BODY_MAX);
        if (!profiler_op_write(op, &b))
                o = json_loadb(crmsync_dynbuf_ptr(&b), crmsync_dynbuf_len(&b),
                               0, NULL);
        crmsync_dynbuf_free(&b);
        return o;
}

/* ---- the sink's bulk reply ---------------------------------------------- */

static int key_is(const char *p, size_t i, size_t e, const char *name)
{
        size_t len = strlen(name);
        return e - i - 2 == len && !memcmp(p + i + 1, name, len);
}

/* One result object at p[i] == '{' into r, a member repeated keeping the
 * last (as jansson does): the index after its '}', or 0. */
static size_t scan_result(const char *p, size_t i, size_t n,
                          struct prof_result *r)
{
        memset(r, 0, sizeof(*r));
        i = crmsync_json_skip_ws(p, i + 1, n);
        if (i < n && p[i] == '}')
                return i + 1;
        for (;;) {
                size_t        k, e;
                struct pe_val v;
                if (i >= n || p[i] != '"' ||
                    !(k = crmsync_json_plain_str(p, i, n)))
                        return 0;
                e = crmsync_json_skip_ws(p, k, n);
                if (e >= n || p[e] != ':')
                        return 0;
                e = crmsync_json_skip_ws(p, e + 1, n);
                if (e >= n)
                        return 0;
                memset(&v, 0, sizeof(v));
                size_t end = scan_member(p, e, n, &v);
                if (!end)
                        return 0;
                if (key_is(p, i, k, "status")) {
                        r->status = v.kind == PV_INT ? (int)v.i : 0;
                } else if (key_is(p, i, k, "result")) {
                        r->is_gap = v.kind == PV_STR && v.len == 3 &&
                                    !memcmp(v.s, "gap", 3);
                } else if (key_is(p, i, k, "message")) {
                        r->msg     = v.kind == PV_STR ? v.s : NULL;
                        r->msg_len = v.kind == PV_STR ? (int)v.len : 0;
                }
                i = crmsync_json_skip_ws(p, end, n);
                if (i < n && p[i] == ',') {
                        i = crmsync_json_skip_ws(p, i + 1, n);
                        continue;
                }
                return i < n && p[i] == '}' ? i + 1 : 0;
        }
}

/* The "results" array at p[i] == '[' into out (exactly want of them):
 * the index after its ']', or 0. */
static size_t scan_results(const char *p, size_t i, size_t n,
                           struct prof_result *out, size_t want)
{
        size_t got = 0;
        i          = crmsync_json_skip_ws(p, i + 1, n);
        if (i < n && p[i] == ']')
                return want == 0 ? i + 1 : 0;
        for (;;) {
                if (i >= n || p[i] != '{' || got == want ||
                    !(i = scan_result(p, i, n, &out[got++])))
                        return 0;
                i = crmsync_json_skip_ws(p, i, n);
                if (i < n && p[i] == ',') {
                        i = crmsync_json_skip_ws(p, i + 1, n);
                        continue;
                }
                return i < n && p[i] == ']' && got == want ? i + 1 : 0;
        }
}

int profiler_reply_scan(const char *p, size_t n, struct prof_result *out,
                        size_t want)
{
        size_t i    = crmsync_json_skip_ws(p, 0, n);
        int    seen = 0;

        if (i >= n || p[i] != '{')
                return -1;
        i = crmsync_json_skip_ws(p, i + 1, n);
        if (i < n && p[i] == '}')
                return -1; /* no results */
        for (;;) {
                size_t k;
                if (i >= n || p[i] != '"' ||
                    !(k = crmsync_json_plain_str(p, i, n)))
                        return -1;
                int is_res = key_is(p, i, k, "results");
                i          = crmsync_json_skip_ws(p, k, n);
                if (i >= n || p[i] != ':')
                        return -1;
                i = crmsync_json_skip_ws(p, i + 1, n);
                if (i >= n)
                        return -1;
                if (is_res) {
                        if (seen++ || p[i] != '[')
                                return -1;
                        i = scan_results(p, i, n, out, want);
                } else {
                        i = skip_value(p, i, n, 1);
                }
                if (!i)
                        return -1;
                i = crmsync_json_skip_ws(p, i, n);
                if (i < n && p[i] == ',') {
                        i = crmsync_json_skip_ws(p, i + 1, n);
                        continue;
                }
                if (i < n && p[i] == '}')
                        return seen && crmsync_json_skip_ws(p, i + 1, n) == n
                                   ? 0
                                   : -1;
                return -1;
        }
}

int profiler_reply_json(const char *buf, struct prof_result *out, size_t want,
                        json_t **tree)
{
        json_t *r   = json_loads(buf, 0, NULL);
        json_t *res = json_object_get(r, "results");

        *tree = r;
        if (!json_is_array(res) || json_array_size(res) != want)
                return -1;
        for (size_t k = 0; k < want; k++) {
                json_t     *o = json_array_get(res, k);
                const char *s = json_string_value(json_object_get(o, "result"));
                out[k].status =
                    (int)json_integer_value(json_object_get(o, "status"));
                out[k].is_gap = s && !strcmp(s, "gap");
                out[k].msg = json_string_value(json_object_get(o, "message"));
                out[k].msg_len = out[k].msg ? (int)strlen(out[k].msg) : 0;
        }
        return 0;
}
