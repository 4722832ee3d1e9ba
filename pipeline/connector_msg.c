/* connector_msg.c -- the connector's pure pieces: CRM page parsing, the
 * Kafka envelope and key, gap/resync events, Retry-After and backoff. */
#include "connector_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "crmsync/dynbuf.h"

static void copy_str(char *out, size_t out_size, const char *s)
{
        if (out_size == 0)
                return;
        snprintf(out, out_size, "%s", s ? s : "");
}

int connector_parse_page(const char *body, size_t len, json_t **events,
                         char *next_cursor, size_t next_cursor_size,
                         int *has_more, char *errstr, size_t errstr_size)
{
        json_error_t jerr;
        json_t      *root, *evs, *nc, *hm;

        *events = NULL;
        root    = json_loadb(body ? body : "", len, 0, &jerr);
        if (!root)
                return crmsync_err(errstr, errstr_size,
                                   "page is not JSON: line %d column %d: %s",
                                   jerr.line, jerr.column, jerr.text);
        evs = json_object_get(root, "events");
        if (!json_is_array(evs)) {
                json_decref(root);
                return crmsync_err(errstr, errstr_size,
                                   "page has no \"events\" array");
        }
        nc = json_object_get(root, "next_cursor");
        if (nc && !json_is_string(nc) && !json_is_null(nc)) {
                json_decref(root);
                return crmsync_err(errstr, errstr_size,
                                   "page \"next_cursor\" is not a string");
        }
        if (nc && json_is_string(nc) &&
            json_string_length(nc) >= next_cursor_size) {
                json_decref(root);
                return crmsync_err(errstr, errstr_size,
                                   "page \"next_cursor\" longer than %zu "
                                   "bytes",
                                   next_cursor_size - 1);
        }
        copy_str(next_cursor, next_cursor_size,
                 json_is_string(nc) ? json_string_value(nc) : "");
        hm        = json_object_get(root, "has_more");
        *has_more = json_is_true(hm);
        *events   = json_incref(evs);
        json_decref(root);
        return 0;
}

int connector_parse_objects(const char *body, size_t len, json_t **objects,
                            int *has_more, int64_t *next_since,
                            char *next_after, size_t next_after_size,
                            char *errstr, size_t errstr_size)
{
        static const char *keys[] = {"results", "objects", "records", "items"};
        json_error_t       jerr;
        json_t            *root, *arr = NULL, *next, *na, *ns;

        *objects    = NULL;
        *has_more   = 0;
        *next_since = -1;
        copy_str(next_after, next_after_size, "");
        root = json_loadb(body ? body : "", len, 0, &jerr);
        if (!root)
                return crmsync_err(errstr, errstr_size,
                                   "listing is not JSON: line %d column %d: "
                                   "%s",
                                   jerr.line, jerr.column, jerr.text);
        if (json_is_array(root)) {
                *objects = root;
                return 0;
        }
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !arr; i++)
                if (json_is_array(json_object_get(root, keys[i])))
                        arr = json_object_get(root, keys[i]);
        if (!arr) {
                json_decref(root);
                return crmsync_err(errstr, errstr_size,
                                   "listing has no \"objects\" array");
        }
        *has_more = json_is_true(json_object_get(root, "has_more"));
        next      = json_object_get(root, "next");
        ns        = json_object_get(next, "modified_since");
        na        = json_object_get(next, "after");
        if (json_is_integer(ns) && json_integer_value(ns) >= 0)
                *next_since = json_integer_value(ns);
        if (json_is_string(na)) {
                if (json_string_length(na) >= next_after_size) {
                        json_decref(root);
                        return crmsync_err(errstr, errstr_size,
                                           "listing \"next.after\" too "
                                           "long");
                }
                copy_str(next_after, next_after_size, json_string_value(na));
        }
        *objects = json_incref(arr);
        json_decref(root);
        return 0;
}

static const char *str_field(const json_t *o, const char *k)
{
        const json_t *v = json_object_get(o, k);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *connector_event_key(const json_t *ev, uint32_t bugs)
{
        if (bugs & CRMSYNC_BUG_KEY_BY_RECORD_ID)
                return str_field(ev, "record_id");
        return str_field(ev, "account_id");
}

/* The fields of each entity and their JSON types, as docs/wire-contracts.md
 * lists them ('s' string, 'i' integer, 'b' boolean). A field that is not
 * listed, or of another type, is schema drift: the event is dead-lettered
 * and its records re-read, rather than passed on to the sink. */
static const struct {
        const char *entity;
        const char *fields[7];
        const char *types; /* one letter per field */
} field_types[] = {
    {"account",
     {"name", "industry", "tier", "owner", "annual_revenue", NULL},
     "ssssi"},
    {"contact",
     {"email", "first_name", "last_name", "title", "consent_email",
      "consent_sms", NULL},
     "ssssbb"},
    {"opportunity", {"name", "stage", "amount", NULL}, "ssi"},
    {"entitlement", {"sku", "seats", "ends_on", NULL}, "sis"},
};

#define ENTITY_CNT (sizeof(field_types) / sizeof(field_types[0]))

int connector_entity_index(const char *entity, size_t len)
{
        for (size_t e = 0; e < ENTITY_CNT; e++)
                if (strlen(field_types[e].entity) == len &&
                    !memcmp(field_types[e].entity, entity, len))
                        return (int)e;
        return -1;
}

char connector_field_kind(int entity, const char *k, size_t len)
{
        if (entity < 0 || (size_t)entity >= ENTITY_CNT)
                return 0;
        for (size_t i = 0; field_types[entity].fields[i]; i++)
                if (strlen(field_types[entity].fields[i]) == len &&
                    !memcmp(field_types[entity].fields[i], k, len))
                        return field_types[entity].types[i];
        return 0;
}

static int check_fields(const char *entity, const json_t *fields, char *errstr,
                        size_t errstr_size)
{
        const char *k;
        json_t     *v;
        int         e = connector_entity_index(entity, strlen(entity));

        if (e < 0)
                return crmsync_err(errstr, errstr_size,
                                   "unknown entity \"%.64s\"", entity);
        json_object_foreach((json_t *)fields, k, v)
        {
                int ok;
                switch (connector_field_kind(e, k, strlen(k))) {
                case 'i':
                        ok = json_is_integer(v);
                        break;
                case 'b':
                        ok = json_is_boolean(v);
                        break;
                case 's':
                        ok = json_is_string(v);
                        break;
                default:
                        return crmsync_err(errstr, errstr_size,
                                           "unknown field %s.%.64s", entity, k);
                }
                if (!ok)
                        return crmsync_err(errstr, errstr_size,
                                           "field %s.%s has the wrong JSON "
                                           "type",
                                           entity, k);
        }
        return 0;
}

int connector_event_check(const json_t *ev, char *errstr, size_t errstr_size)
{
        static const char *need[] = {"event_id", "entity", "record_id",
                                     "account_id", "change_type"};
        const json_t      *fields;

        if (!json_is_object(ev))
                return crmsync_err(errstr, errstr_size,
                                   "event is not an object");
        for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
                const char *s = str_field(ev, need[i]);
                if (!s || !*s || strlen(s) > 200)
                        return crmsync_err(errstr, errstr_size,
                                           "event field \"%s\" missing or "
                                           "not a string",
                                           need[i]);
        }
        if (!json_is_integer(json_object_get(ev, "version")))
                return crmsync_err(errstr, errstr_size,
                                   "event field \"version\" missing or not "
                                   "an integer");
        fields = json_object_get(ev, "fields");
        if (fields && !json_is_object(fields) && !json_is_null(fields))
                return crmsync_err(errstr, errstr_size,
                                   "event field \"fields\" is not an "
                                   "object");
        if (json_is_object(fields))
                return check_fields(str_field(ev, "entity"), fields, errstr,
                                    errstr_size);
        return 0;
}

json_t *connector_envelope(const json_t *ev, const char *cursor,
                           int64_t ingest_ts_ms, const char *via)
{
        json_t *v = json_deep_copy(ev), *meta;

        if (!v)
                return NULL;
        meta = json_object();
        if (!meta) {
                json_decref(v);
                return NULL;
        }
        if (cursor)
                json_object_set_new(meta, "source_cursor", json_string(cursor));
        json_object_set_new(meta, "ingest_ts_ms", json_integer(ingest_ts_ms));
        json_object_set_new(meta, "via", json_string(via ? via : "feed"));
        json_object_set_new(v, "connector", meta);
        return v;
}

/* 1 when jansson writes s between quotes as it is. */
static int plain(const char *s)
{
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\')
                        return 0;
        }
        return 1;
}

static int add_s(struct crmsync_dynbuf *b, const char *s)
{
        return crmsync_dynbuf_add(b, s, strlen(s));
}

/* The "connector" member's object, compact: written directly when its
 * strings need no escaping, else by jansson. */
static int meta_append(struct crmsync_dynbuf *b, const char *cursor,
                       int64_t ingest_ts_ms, const char *via)
{
        char num[32];

        via = via ? via : "feed";
        if ((cursor && !plain(cursor)) || !plain(via)) {
                json_t *m = json_object();
                char   *t;
                int     rc;
                if (!m)
                        return -1;
                if (cursor)
                        json_object_set_new(m, "source_cursor",
                                            json_string(cursor));
                json_object_set_new(m, "ingest_ts_ms",
                                    json_integer(ingest_ts_ms));
                json_object_set_new(m, "via", json_string(via));
                t = json_dumps(m, JSON_COMPACT);
                json_decref(m);
                rc = t ? add_s(b, t) : -1;
                free(t);
                return rc;
        }
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 (json_int_t)ingest_ts_ms);
        if (add_s(b, "{"))
                return -1;
        if (cursor && (add_s(b, "\"source_cursor\":\"") || add_s(b, cursor) ||
                       add_s(b, "\",")))
                return -1;
        return add_s(b, "\"ingest_ts_ms\":") || add_s(b, num) ||
               add_s(b, ",\"via\":\"") || add_s(b, via) || add_s(b, "\"}");
}

int connector_envelope_raw(const char *text, size_t len, const char *cursor,
                           int64_t ingest_ts_ms, const char *via,
                           struct crmsync_dynbuf *out)
{
        if (len < 2 || text[0] != '{' || text[len - 1] != '}')
                return -1;
        /* text ends with '}'; "{}" gets no comma. */
        if (crmsync_dynbuf_add(out, text, len - 1) ||
            add_s(out, len > 2 ? ",\"connector\":" : "\"connector\":") ||
            meta_append(out, cursor, ingest_ts_ms, via) || add_s(out, "}"))
                return -1;
        return 0;
}

char *connector_envelope_dumps(const json_t *ev, const char *cursor,
                               int64_t ingest_ts_ms, const char *via)
{
        struct crmsync_dynbuf b;
        char                 *body;
        int                   rc;

        if (!json_is_object(ev))
                return NULL;
        body = json_dumps(ev, JSON_COMPACT);
        if (!body)
                return NULL;
        crmsync_dynbuf_init(&b, CONNECTOR_BODY_MAX);
        rc = connector_envelope_raw(body, strlen(body), cursor, ingest_ts_ms,
                                    via, &b);
        free(body);
        if (rc) {
                crmsync_dynbuf_free(&b);
                return NULL;
        }
        return crmsync_dynbuf_take(&b);
}

int connector_needs_object(const json_t *ev, const char **flag)
{
        const char *ct = str_field(ev, "change_type");

        if (ct && !strcmp(ct, "gap")) {
                *flag = "resolved_gap";
                return 1;
        }
        if (ct && !strcmp(ct, "update") &&
            json_is_string(json_object_get(ev, "previous_account_id"))) {
                *flag = "resolved_move";
                return 1;
        }
        return 0;
}

json_t *connector_resolve_object(const json_t *ev, const json_t *obj,
                                 const char *flag)
{
        const json_t *ver    = json_object_get(obj, "version");
        const json_t *fields = json_object_get(obj, "fields");
        const char   *acct   = str_field(obj, "account_id");
        int           del    = json_is_true(json_object_get(obj, "deleted"));
        json_t       *out;

        if (!json_is_integer(ver) || (!del && !json_is_object(fields)))
                return NULL;
        out = json_deep_copy(ev);
        if (!out)
                return NULL;
        json_object_set_new(out, "change_type",
                            json_string(del ? "delete" : "update"));
        json_object_set_new(out, "version",
                            json_integer(json_integer_value(ver)));
        if (acct)
                json_object_set_new(out, "account_id", json_string(acct));
        json_object_set_new(out, "fields",
                            del ? json_object() : json_deep_copy(fields));
        json_object_set_new(out, flag, json_true());
        json_object_set_new(out, "full_state", json_true());
        return out;
}

json_t *connector_object_event(const char *entity, const json_t *obj,
                               const char *prefix, const char *flag_name)
{
        const char   *id     = str_field(obj, "id");
        const char   *acct   = str_field(obj, "account_id");
        const json_t *ver    = json_object_get(obj, "version");
        const json_t *fields = json_object_get(obj, "fields");
        const json_t *lm     = json_object_get(obj, "last_modified_ms");
        int           del    = json_is_true(json_object_get(obj, "deleted"));
        const char   *into   = str_field(obj, "merged_into");
        char          eid[160];
        json_t       *out;

        if (!id || !*id || !json_is_integer(ver))
                return NULL;
        if (!acct)
                acct = !strcmp(entity, "account") ? id : "";
        /* Ids must fit CRMSYNC_ID_MAX (the profiler's and the sink's event
         * id buffers); the record id names the entity already. */
        snprintf(eid, sizeof(eid), "%s-%s-v%lld", prefix, id,
                 (long long)json_integer_value(ver));
        if (strlen(eid) >= CRMSYNC_ID_MAX)
                snprintf(eid, sizeof(eid), "%.1s-%s-v%lld", prefix, id,
                         (long long)json_integer_value(ver));
        if (strlen(eid) >= CRMSYNC_ID_MAX)
                return NULL;
        out = json_object();
        if (!out)
                return NULL;
        json_object_set_new(out, "event_id", json_string(eid));
        json_object_set_new(out, "entity", json_string(entity));
        json_object_set_new(out, "record_id", json_string(id));
        json_object_set_new(out, "account_id", json_string(acct));
        json_object_set_new(out, "change_type",
                            json_string(del ? "delete" : "update"));
        json_object_set_new(out, "version",
                            json_integer(json_integer_value(ver)));
        if (json_is_integer(lm))
                json_object_set_new(out, "commit_ts_ms",
                                    json_integer(json_integer_value(lm)));
        json_object_set_new(out, "fields",
                            (!del && json_is_object(fields))
                                ? json_deep_copy(fields)
                                : json_object());
        if (del && into && *into)
                json_object_set_new(out, "merged_into", json_string(into));
        json_object_set_new(out, flag_name, json_true());
        json_object_set_new(out, "full_state", json_true());
        return out;
}

int connector_retry_after_s(const char *hdr)
{
        long v = 0;

        if (!hdr)
                return 1;
        while (isspace((unsigned char)*hdr))
                hdr++;
        if (!isdigit((unsigned char)*hdr))
                return 1;
        for (; isdigit((unsigned char)*hdr); hdr++) {
                v = v * 10 + (*hdr - '0');
                if (v > CONNECTOR_RETRY_AFTER_MAX_S)
                        return CONNECTOR_RETRY_AFTER_MAX_S;
        }
        while (isspace((unsigned char)*hdr))
                hdr++;
        if (*hdr)
                return 1; /* an HTTP-date or junk: wait the minimum */
        return (int)v;
}

int64_t connector_backoff_ms(unsigned attempt)
{
        int64_t ms = CONNECTOR_BACKOFF_MIN_MS;

        for (unsigned i = 0; i < attempt && ms < CONNECTOR_BACKOFF_MAX_MS; i++)
                ms *= 2;
        return ms > CONNECTOR_BACKOFF_MAX_MS ? CONNECTOR_BACKOFF_MAX_MS : ms;
}

int connector_parse_410(const char *body, size_t len, char *oldest,
                        size_t oldest_size)
{
        json_t     *root = json_loadb(body ? body : "", len, 0, NULL);
        const char *s;

        copy_str(oldest, oldest_size, "");
        if (!root)
                return -1;
        s = str_field(root, "oldest_cursor");
        if (s && strlen(s) < oldest_size)
                copy_str(oldest, oldest_size, s);
        json_decref(root);
        return 0;
}
