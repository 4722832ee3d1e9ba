/* profiler_pg.c -- the profiler's PostgreSQL writer: the sink's bulk and
 * side-effect requests (the same NDJSON ops and per-op results as the
 * HTTP sink, docs/sink-api.md) done as SQL on crmsync_profiles, one
 * transaction per request: batched INSERT ... ON CONFLICT (type, id) DO
 * UPDATE ... WHERE crmsync_profiles.version < excluded.version, deletes
 * as versioned tombstones, partial updates only on top of their
 * predecessor. Every statement has a client-side deadline, so a database
 * that hangs is a retried error, never a stuck profiler. */
#include "profiler_int.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"

#define PG_STMT_TIMEOUT_MS PROFILER_HTTP_TIMEOUT_MS

struct prof_pg {
        PGconn *conn;
        char    dsn[512];
};

/* Columns of the ops handed to jsonb_to_recordset. */
#define X_COLS                                                                 \
        "x(type text, id text, account_id text, version bigint, "              \
        "fields jsonb, event_id text, if_version bigint)"
#define INS                                                                    \
        "INSERT INTO crmsync_profiles AS p (type, id, account_id, "            \
        "version, deleted, fields, event_id, applied_at) "
#define SET_COMMON                                                             \
        "version = excluded.version, event_id = excluded.event_id, "           \
        "applied_at = excluded.applied_at"
#define RET " RETURNING p.type || '/' || p.id"
#define NEWER " WHERE p.version < excluded.version"

/* The statement kinds, by what an op asks (profiler_op_json). */
enum stmt {
        ST_FULL,        /* whole record, if newer */
        ST_FULL_BLIND,  /* whole record, last write wins (the bug) */
        ST_DEL,         /* tombstone, if newer */
        ST_DEL_BLIND,   /* tombstone, last write wins */
        ST_MERGE,       /* changed fields, if newer (no predecessor rule) */
        ST_MERGE_BLIND, /* changed fields, last write wins */
        ST_MERGE_ON,    /* changed fields on top of exactly if_version */
        ST_MERGE_FIRST, /* changed fields of a record's first version */
        ST_CNT
};

#define FULL_SQL(where)                                                        \
        INS "SELECT type, id, account_id, version, false, "                    \
            "coalesce(fields, '{}'), event_id, clock_timestamp() FROM "        \
            "jsonb_to_recordset($1::jsonb) AS " X_COLS                         \
            " ON CONFLICT (type, id) DO UPDATE SET account_id = "              \
            "excluded.account_id, deleted = false, fields = "                  \
            "excluded.fields, " SET_COMMON where RET
#define DEL_SQL(where)                                                         \
        INS "SELECT type, id, coalesce(account_id, ''), version, true, "       \
            "'{}', event_id, clock_timestamp() FROM "                          \
            "jsonb_to_recordset($1::jsonb) AS " X_COLS                         \
            " ON CONFLICT (type, id) DO UPDATE SET account_id = CASE WHEN "    \
            "excluded.account_id = '' THEN p.account_id ELSE "                 \
            "excluded.account_id END, deleted = true, fields = "               \
            "'{}', " SET_COMMON where RET
#define MERGE_SQL(where)                                                       \
        INS "SELECT type, id, account_id, version, false, "                    \
            "coalesce(fields, '{}'), event_id, clock_timestamp() FROM "        \
            "jsonb_to_recordset($1::jsonb) AS " X_COLS                         \
            " ON CONFLICT (type, id) DO UPDATE SET account_id = "              \
            "excluded.account_id, deleted = false, fields = CASE WHEN "        \
            "p.deleted THEN excluded.fields ELSE p.fields || "                 \
            "excluded.fields END, " SET_COMMON where RET

static const char *const stmt_sql[ST_CNT] = {
    [ST_FULL]        = FULL_SQL(NEWER),
    [ST_FULL_BLIND]  = FULL_SQL(""),
    [ST_DEL]         = DEL_SQL(NEWER),
    [ST_DEL_BLIND]   = DEL_SQL(""),
    [ST_MERGE]       = MERGE_SQL(NEWER),
    [ST_MERGE_BLIND] = MERGE_SQL(""),
    [ST_MERGE_ON] =
        "UPDATE crmsync_profiles AS p SET account_id = x.account_id, "
        "version = x.version, fields = CASE WHEN p.deleted THEN "
        "coalesce(x.fields, '{}') ELSE p.fields || coalesce(x.fields, '{}') "
        "END, deleted = false, event_id = x.event_id, applied_at = "
        "clock_timestamp() FROM jsonb_to_recordset($1::jsonb) AS " X_COLS
        " WHERE p.type = x.type AND p.id = x.id AND p.version = "
        "x.if_version AND p.version < x.version" RET,
    [ST_MERGE_FIRST] =
        INS "SELECT type, id, account_id, version, false, "
            "coalesce(fields, '{}'), event_id, clock_timestamp() FROM "
            "jsonb_to_recordset($1::jsonb) AS " X_COLS
            " ON CONFLICT (type, id) DO NOTHING" RET,
};

static enum stmt op_stmt(const json_t *o)
{
        const char *op    = json_string_value(json_object_get(o, "op"));
        int         newer = json_is_true(json_object_get(o, "if_newer"));
        int         merge = json_is_true(json_object_get(o, "merge_fields"));
        json_t     *iv    = json_object_get(o, "if_version");

        if (op && !strcmp(op, "delete"))
                return newer ? ST_DEL : ST_DEL_BLIND;
        if (!merge)
                return newer ? ST_FULL : ST_FULL_BLIND;
        if (json_is_integer(iv) && newer)
                return json_integer_value(iv) > 0 ? ST_MERGE_ON
                                                  : ST_MERGE_FIRST;
        return newer ? ST_MERGE : ST_MERGE_BLIND;
}

/* ---- the connection, with deadlines ------------------------------------- */

static int pg_connect(struct prof_pg *pg, char *errstr, size_t errstr_size)
{
        const char *const keys[] = {"dbname", "application_name",
                                    "connect_timeout", NULL};
        const char *const vals[] = {pg->dsn, "crmsync-profiler", "3", NULL};

        if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
                return 0;
        if (pg->conn)
                PQfinish(pg->conn);
        pg->conn = PQconnectdbParams(keys, vals, 1);
        if (PQstatus(pg->conn) != CONNECTION_OK) {
                crmsync_err(errstr, errstr_size, "connect: %s",
                            PQerrorMessage(pg->conn));
                PQfinish(pg->conn);
                pg->conn = NULL;
                return -1;
        }
        return 0;
}

static void pg_drop(struct prof_pg *pg)
{
        if (pg->conn)
                PQfinish(pg->conn);
        pg->conn = NULL;
}

/* Run one statement and wait for its result at most
 * PG_STMT_TIMEOUT_MS. Returns the result (the caller PQclears it), or
 * NULL + errstr (the connection is dropped after a timeout or a broken
 * link: a new one is made on the next request). */
static PGresult *pg_exec(struct prof_pg *pg, const char *sql, const char *arg,
                         char *errstr, size_t errstr_size)
{
        const char *params[1] = {arg};
        int64_t     until     = crmsync_mono_ms() + PG_STMT_TIMEOUT_MS;
        PGresult   *res       = NULL, *r;

        if (!PQsendQueryParams(pg->conn, sql, arg ? 1 : 0, NULL,
                               arg ? params : NULL, NULL, NULL, 0))
                goto broken;
        for (;;) {
                while (PQisBusy(pg->conn)) {
                        struct pollfd pfd  = {PQsocket(pg->conn), POLLIN, 0};
                        int64_t       left = until - crmsync_mono_ms();
                        if (left <= 0) {
                                crmsync_err(errstr, errstr_size,
                                            "no answer from the database "
                                            "in %d ms",
                                            PG_STMT_TIMEOUT_MS);
                                PQclear(res);
                                pg_drop(pg);
                                return NULL;
                        }
                        if (poll(&pfd, 1, left > 100 ? 100 : (int)left) < 0 ||
                            !PQconsumeInput(pg->conn))
                                goto broken;
                }
                if (!(r = PQgetResult(pg->conn)))
                        break;
                if (res)
                        PQclear(res);
                res = r;
        }
        if (!res)
                goto broken;
        if (PQresultStatus(res) != PGRES_COMMAND_OK &&
            PQresultStatus(res) != PGRES_TUPLES_OK) {
                crmsync_err(errstr, errstr_size, "%s",
                            PQresultErrorMessage(res));
                PQclear(res);
                if (PQstatus(pg->conn) != CONNECTION_OK)
                        pg_drop(pg);
                return NULL;
        }
        return res;
broken:
        crmsync_err(errstr, errstr_size, "%s", PQerrorMessage(pg->conn));
        PQclear(res);
        pg_drop(pg);
        return NULL;
}

/* libpq's messages span lines: one line for the log. */
static void one_line(char *s)
{
        for (; s && *s; s++)
                if (*s == '\n' || *s == '\t')
                        *s = ' ';
}

static int pg_cmd(struct prof_pg *pg, const char *sql, char *errstr,
                  size_t errstr_size)
{
        PGresult *res = pg_exec(pg, sql, NULL, errstr, errstr_size);
        if (!res)
                return -1;
        PQclear(res);
        return 0;
}

/* ---- requests ----------------------------------------------------------- */

static json_t *parse_ndjson(const char *body, size_t len)
{
        json_t     *ops = json_array();
        const char *p = body, *end = body + len;
        while (ops && p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t      n  = nl ? (size_t)(nl - p) : (size_t)(end - p);
                if (n) {
                        json_t *o = json_loadb(p, n, 0, NULL);
                        if (!o) {
                                json_decref(ops);
                                return NULL;
                        }
                        json_array_append_new(ops, o);
                }
                p += n + 1;
        }
        return ops;
}

static const char *key_of(const json_t *o, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s",
                 json_string_value(json_object_get(o, "type")),
                 json_string_value(json_object_get(o, "id")));
        return buf;
}

/* The per-op results (new array) of ops, given the keys the statements
 * applied and the stored versions of the others. */
static json_t *op_results(const json_t *ops, const json_t *applied,
                          const json_t *stored)
{
        json_t *out = json_array();
        char    key[CRMSYNC_KEY_MAX * 2];
        size_t  i;
        json_t *o;

        json_array_foreach(ops, i, o)
        {
                json_t    *sv;
                json_int_t have;
                key_of(o, key, sizeof(key));
                if (json_object_get(applied, key)) {
                        json_array_append_new(
                            out, json_pack("{s:i, s:s}", "status", 200,
                                           "result", "applied"));
                        continue;
                }
                sv   = json_object_get(stored, key);
                have = sv ? json_integer_value(sv) : 0;
                json_array_append_new(
                    out, json_pack("{s:i, s:s, s:I}", "status", 409, "result",
                                   have >= json_integer_value(
                                               json_object_get(o, "version"))
                                       ? "stale"
                                       : "gap",
                                   "stored_version", have));
        }
        return out;
}

/* Run the statements of ops in the open transaction; applied gets the
 * keys written. Returns 0, or -1 + errstr. */
static int bulk_statements(struct prof_pg *pg, const json_t *ops,
                           json_t *applied, char *errstr, size_t errstr_size)
{
        json_t *groups[ST_CNT] = {0};
        size_t  i;
        json_t *o;
        int     rc = 0;

        json_array_foreach(ops, i, o)
        {
                enum stmt st = op_stmt(o);
                if (!groups[st])
                        groups[st] = json_array();
                json_array_append(groups[st], o);
        }
        for (int st = 0; st < ST_CNT && !rc; st++) {
                char     *arg;
                PGresult *res;
                if (!groups[st])
                        continue;
                if (!(arg = json_dumps(groups[st], JSON_COMPACT))) {
                        rc = crmsync_err(errstr, errstr_size, "out of memory");
                        break;
                }
                res = pg_exec(pg, stmt_sql[st], arg, errstr, errstr_size);
                free(arg);
                if (!res) {
                        rc = -1;
                        break;
                }
                for (int r = 0; r < PQntuples(res); r++)
                        json_object_set_new(applied, PQgetvalue(res, r, 0),
                                            json_true());
                PQclear(res);
        }
        for (int st = 0; st < ST_CNT; st++)
                json_decref(groups[st]);
        return rc;
}

/* Stored versions of the ops' records that were not applied. */
static json_t *stored_versions(struct prof_pg *pg, const json_t *ops,
                               const json_t *applied, char *errstr,
                               size_t errstr_size)
{
        json_t   *keys = json_array(), *out = json_object();
        char      key[CRMSYNC_KEY_MAX * 2], *arg;
        size_t    i;
        json_t   *o;
        PGresult *res;

        json_array_foreach(
            ops, i,
            o) if (!json_object_get(applied, key_of(o, key, sizeof(key))))
            json_array_append_new(keys, json_string(key));
        if (!json_array_size(keys)) {
                json_decref(keys);
                return out;
        }
        arg = json_dumps(keys, JSON_COMPACT);
        json_decref(keys);
        res = arg ? pg_exec(pg,
                            "SELECT type || '/' || id, version FROM "
                            "crmsync_profiles WHERE type || '/' || id IN "
                            "(SELECT jsonb_array_elements_text($1::jsonb))",
                            arg, errstr, errstr_size)
                  : NULL;
        free(arg);
        if (!res) {
                json_decref(out);
                return NULL;
        }
        for (int r = 0; r < PQntuples(res); r++)
                json_object_set_new(
                    out, PQgetvalue(res, r, 0),
                    json_integer(strtoll(PQgetvalue(res, r, 1), NULL, 10)));
        PQclear(res);
        return out;
}

static int bulk(struct prof_http *c, const json_t *ops, char *errstr,
                size_t errstr_size)
{
        struct prof_pg *pg      = c->pg;
        json_t         *applied = json_object(), *stored = NULL, *reply;
        char           *text;
        int             rc = -1;

        if (pg_cmd(pg, "BEGIN", errstr, errstr_size))
                goto out;
        if (bulk_statements(pg, ops, applied, errstr, errstr_size) ||
            !(stored =
                  stored_versions(pg, ops, applied, errstr, errstr_size))) {
                char ignore[64];
                if (pg->conn)
                        pg_cmd(pg, "ROLLBACK", ignore, sizeof(ignore));
                goto out;
        }
        /* The results hold only once the transaction committed. */
        if (pg_cmd(pg, "COMMIT", errstr, errstr_size))
                goto out;
        reply = json_pack("{s:b, s:o}", "errors", 0, "results",
                          op_results(ops, applied, stored));
        text  = json_dumps(reply, JSON_COMPACT);
        json_decref(reply);
        if (text && !crmsync_dynbuf_add(&c->body, text, strlen(text)))
                rc = 0;
        else
                crmsync_err(errstr, errstr_size, "out of memory");
        free(text);
out:
        json_decref(applied);
        json_decref(stored);
        return rc;
}

/* Side effects: one row each in crmsync_side_effects, one transaction,
 * none that is there already: when the server committed but the connection
 * was cut before its answer, the retry must not request it a second time
 * (unless c->fx_repeat, the no-dedupe bug). */
static int side_effects(struct prof_http *c, const json_t *fx, char *errstr,
                        size_t errstr_size)
{
        char     *arg = json_dumps(fx, JSON_COMPACT);
        PGresult *res;
        int       rc;

        if (!arg)
                return crmsync_err(errstr, errstr_size, "out of memory");
        res = pg_exec(
            c->pg,
            c->fx_repeat
                ? "INSERT INTO crmsync_side_effects (event_id, kind, key) "
                  "SELECT event_id, kind, key FROM "
                  "jsonb_to_recordset($1::jsonb) AS x(event_id text, "
                  "kind text, key text)"
                : "INSERT INTO crmsync_side_effects (event_id, kind, key) "
                  "SELECT x.event_id, x.kind, x.key FROM "
                  "jsonb_to_recordset($1::jsonb) AS "
                  "x(event_id text, kind text, key text) WHERE NOT EXISTS "
                  "(SELECT 1 FROM crmsync_side_effects s WHERE s.event_id = "
                  "x.event_id AND s.kind = x.kind)",
            arg, errstr, errstr_size);
        free(arg);
        if (!res)
                return -1;
        PQclear(res);
        rc = crmsync_dynbuf_add(&c->body, "{\"results\":[", 12);
        for (size_t i = 0; !rc && i < json_array_size(fx); i++)
                rc = crmsync_dynbuf_add(
                    &c->body, i ? ",{\"status\":200}" : "{\"status\":200}",
                    i ? 15 : 14);
        if (!rc)
                rc = crmsync_dynbuf_add(&c->body, "]}", 2);
        return rc ? crmsync_err(errstr, errstr_size, "out of memory") : 0;
}

int profiler_pg_init(struct prof_http *c, const char *dsn, char *errstr,
                     size_t errstr_size)
{
        struct prof_pg *pg = calloc(1, sizeof(*pg));
        if (!pg)
                return crmsync_err(errstr, errstr_size, "out of memory");
        if (strlen(dsn) >= sizeof(pg->dsn)) {
                free(pg);
                return crmsync_err(errstr, errstr_size, "sink DSN too long");
        }
        snprintf(pg->dsn, sizeof(pg->dsn), "%s", dsn);
        c->pg = pg;
        return 0;
}

void profiler_pg_fini(struct prof_http *c)
{
        struct prof_pg *pg = c->pg;
        if (!pg)
                return;
        pg_drop(pg);
        free(pg);
        c->pg = NULL;
}

long profiler_pg_post(struct prof_http *c, const char *path, const char *body,
                      size_t len, char *errstr, size_t errstr_size)
{
        json_t *ops;
        int     rc;

        crmsync_dynbuf_reset(&c->body);
        c->buf            = crmsync_dynbuf_ptr(&c->body);
        c->retry_after_ms = -1;
        if (!(ops = parse_ndjson(body, len))) {
                crmsync_err(errstr, errstr_size, "%s: unreadable request",
                            path);
                return 0;
        }
        if (pg_connect(c->pg, errstr, errstr_size)) {
                one_line(errstr);
                json_decref(ops);
                return 0;
        }
        if (!strcmp(path, "/v1/profiles/_bulk"))
                rc = bulk(c, ops, errstr, errstr_size);
        else if (!strcmp(path, "/v1/side-effects/_bulk"))
                rc = side_effects(c, ops, errstr, errstr_size);
        else
                rc = crmsync_err(errstr, errstr_size,
                                 "%s: not a request "
                                 "of the postgres sink",
                                 path);
        json_decref(ops);
        c->buf = crmsync_dynbuf_ptr(&c->body);
        if (rc)
                one_line(errstr);
        return rc ? 0 : 200;
}
