/* pg_sink.c -- the postgres sink as the judge sees it (pg_sink.h): the
 * schema and apply-log trigger crmsync installs, the judge's own reading
 * of crmsync_profiles, crmsync_apply_log and crmsync_side_effects, and
 * the sink faults on the database (the TCP fault proxy, the trigger's
 * partial failure, pg_terminate_backend). docs/sink-postgres.md. */
#include "harness/pg_sink.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"
#include "crmsync/strpool.h"
#include "crmsync/tcp_proxy.h"

#define JUDGE_APP "crmsync-judge"
#define TERMINATE_EVERY_MS 50
#define APPLY_PAGE 100000
#define PROXY_MAX_CONNS 64

struct pg_sink {
        struct event_base     *base;
        struct pg_server       srv;
        int                    own_server; /* crmsync started it */
        PGconn                *judge;
        tcp_proxy_t           *proxy;
        char                   dsn[512]; /* the pipeline's */
        char                   desc[1400];
        int                    profiles_view; /* the user's view */
        struct sink_apply     *ap;
        size_t                 nap, ap_cap;
        struct crmsync_strpool ap_ids; /* the event ids and keys of ap */
        struct sink_record    *recs;   /* the last foreach's snapshot */
        size_t                 nrecs;
        long long              last_seq;
        struct event          *term_timer;
        uint64_t               terminated;
        char                   last_err[256];
};

/* The schema crmsync installs. The trigger function takes the column
 * names of a user's own table as trigger arguments (the view contract),
 * and raises the injected partial failure. */
static const char schema_sql[] =
    "SET client_min_messages = warning;\n"
    "CREATE TABLE IF NOT EXISTS crmsync_apply_log (\n"
    "  seq bigserial PRIMARY KEY, type text NOT NULL, id text NOT NULL,\n"
    "  account_id text, version bigint NOT NULL, deleted boolean NOT NULL,\n"
    "  event_id text, op text NOT NULL, old_version bigint,\n"
    "  old_deleted boolean, txid bigint NOT NULL DEFAULT txid_current(),\n"
    "  logged_at timestamptz NOT NULL DEFAULT clock_timestamp());\n"
    "CREATE TABLE IF NOT EXISTS crmsync_side_effects (\n"
    "  event_id text NOT NULL, kind text NOT NULL, key text NOT NULL,\n"
    "  requested_at timestamptz NOT NULL DEFAULT clock_timestamp());\n"
    "CREATE TABLE IF NOT EXISTS crmsync_faults (\n"
    "  id int PRIMARY KEY CHECK (id = 1),\n"
    "  partial_failure double precision NOT NULL DEFAULT 0);\n"
    "INSERT INTO crmsync_faults VALUES (1, 0)\n"
    "  ON CONFLICT (id) DO UPDATE SET partial_failure = 0;\n"
    "CREATE OR REPLACE FUNCTION crmsync_log_apply() RETURNS trigger\n"
    "LANGUAGE plpgsql AS $$\n"
    "DECLARE\n"
    "  n jsonb; o jsonb; r double precision;\n"
    "  c_type text := coalesce(TG_ARGV[0], 'type');\n"
    "  c_id   text := coalesce(TG_ARGV[1], 'id');\n"
    "  c_acc  text := coalesce(TG_ARGV[2], 'account_id');\n"
    "  c_ver  text := coalesce(TG_ARGV[3], 'version');\n"
    "  c_del  text := coalesce(TG_ARGV[4], 'deleted');\n"
    "  c_ev   text := coalesce(TG_ARGV[5], 'event_id');\n"
    "BEGIN\n"
    "  SELECT partial_failure INTO r FROM crmsync_faults WHERE id = 1;\n"
    "  IF TG_OP <> 'DELETE' AND r > 0 AND random() < r THEN\n"
    "    RAISE EXCEPTION 'crmsync: injected partial failure'\n"
    "      USING ERRCODE = 'P0001', HINT = 'sink_partial_failure';\n"
    "  END IF;\n"
    "  IF TG_OP = 'DELETE' THEN n := to_jsonb(OLD);\n"
    "  ELSE n := to_jsonb(NEW); END IF;\n"
    "  IF TG_OP = 'UPDATE' THEN o := to_jsonb(OLD); END IF;\n"
    "  INSERT INTO crmsync_apply_log (type, id, account_id, version,\n"
    "    deleted, event_id, op, old_version, old_deleted)\n"
    "  VALUES (n->>c_type, n->>c_id, n->>c_acc, (n->>c_ver)::bigint,\n"
    "    TG_OP = 'DELETE' OR coalesce((n->>c_del)::boolean, false),\n"
    "    n->>c_ev, lower(TG_OP), (o->>c_ver)::bigint,\n"
    "    (o->>c_del)::boolean);\n"
    "  RETURN NULL;\n"
    "END $$;\n";

/* Only when crmsync_profiles is not the user's view. */
static const char table_sql[] =
    "CREATE TABLE IF NOT EXISTS crmsync_profiles (\n"
    "  type text NOT NULL, id text NOT NULL,\n"
    "  account_id text NOT NULL DEFAULT '', version bigint NOT NULL,\n"
    "  deleted boolean NOT NULL DEFAULT false,\n"
    "  fields jsonb NOT NULL DEFAULT '{}', event_id text NOT NULL,\n"
    "  applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    "  PRIMARY KEY (type, id));\n"
    "DROP TRIGGER IF EXISTS crmsync_apply_log ON crmsync_profiles;\n"
    "CREATE TRIGGER crmsync_apply_log\n"
    "  AFTER INSERT OR UPDATE OR DELETE ON crmsync_profiles\n"
    "  FOR EACH ROW EXECUTE FUNCTION crmsync_log_apply();\n"
    "TRUNCATE crmsync_profiles;\n";

static void recs_free(struct pg_sink *s);

const char *crmsync_pg_sink_schema_sql(int with_table)
{
        static char buf[sizeof(schema_sql) + sizeof(table_sql)];
        snprintf(buf, sizeof(buf), "%s%s", schema_sql,
                 with_table ? table_sql : "");
        return buf;
}

/* ---- the judge's connection --------------------------------------------- */

static int judge_ok(struct pg_sink *s)
{
        if (PQstatus(s->judge) == CONNECTION_OK)
                return 1;
        PQreset(s->judge);
        return PQstatus(s->judge) == CONNECTION_OK;
}

/* Run sql (with params); NULL on failure (last_err filled). The caller
 * PQclears the result. */
static PGresult *q(struct pg_sink *s, const char *sql, int n,
                   const char *const *params)
{
        PGresult *res;
        if (!judge_ok(s)) {
                snprintf(s->last_err, sizeof(s->last_err), "%s",
                         PQerrorMessage(s->judge));
                return NULL;
        }
        res = PQexecParams(s->judge, sql, n, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK &&
            PQresultStatus(res) != PGRES_COMMAND_OK) {
                snprintf(s->last_err, sizeof(s->last_err), "%s",
                         PQresultErrorMessage(res));
                PQclear(res);
                return NULL;
        }
        return res;
}

static int exec_ok(struct pg_sink *s, const char *sql)
{
        PGresult *res = PQexec(s->judge, sql);
        int       ok  = PQresultStatus(res) == PGRES_COMMAND_OK ||
                 PQresultStatus(res) == PGRES_TUPLES_OK;
        if (!ok)
                snprintf(s->last_err, sizeof(s->last_err), "%s",
                         PQresultErrorMessage(res));
        PQclear(res);
        return ok;
}

static int connect_judge(struct pg_sink *s, const char *dsn, char *errstr,
                         size_t errstr_size)
{
        const char *const keys[] = {"dbname", "application_name",
                                    "connect_timeout", NULL};
        const char *const vals[] = {dsn, JUDGE_APP, "5", NULL};

        s->judge = PQconnectdbParams(keys, vals, 1);
        if (PQstatus(s->judge) != CONNECTION_OK)
                return crmsync_err(errstr, errstr_size,
                                   "postgres sink: cannot connect to %s: %s",
                                   dsn, PQerrorMessage(s->judge));
        return 0;
}

/* Install the schema, find out whether crmsync_profiles is the user's
 * view, and empty crmsync's own tables. */
static int install(struct pg_sink *s, char *errstr, size_t errstr_size)
{
        PGresult *res = q(s,
                          "SELECT relkind FROM pg_class WHERE oid = "
                          "to_regclass('crmsync_profiles')",
                          0, NULL);
        if (!res)
                goto fail;
        s->profiles_view =
            PQntuples(res) == 1 && strchr("vm", PQgetvalue(res, 0, 0)[0]);
        PQclear(res);
        if (!exec_ok(s, schema_sql) ||
            (!s->profiles_view && !exec_ok(s, table_sql)) ||
            !exec_ok(s, "TRUNCATE crmsync_apply_log, crmsync_side_effects;"
                        "ALTER SEQUENCE crmsync_apply_log_seq_seq "
                        "RESTART WITH 1"))
                goto fail;
        return 0;
fail:
        return crmsync_err(errstr, errstr_size,
                           "postgres sink: installing the schema: %s",
                           s->last_err);
}

pg_sink_t *crmsync_pg_sink_open(const struct pg_sink_config *cfg, char *errstr,
                                size_t errstr_size)
{
        struct pg_sink *s = calloc(1, sizeof(*s));
        char            direct[256];

        if (!s) {
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        crmsync_strpool_init(&s->ap_ids);
        s->base = cfg->base;
        if (cfg->dsn) {
                snprintf(s->dsn, sizeof(s->dsn), "%s", cfg->dsn);
                snprintf(s->desc, sizeof(s->desc), "postgres (sink.dsn)");
                if (connect_judge(s, cfg->dsn, errstr, errstr_size))
                        goto fail;
        } else {
                if (crmsync_pg_server_start(&s->srv, cfg->run_dir, cfg->keep,
                                            errstr, errstr_size))
                        goto fail;
                s->own_server = 1;
                snprintf(direct, sizeof(direct),
                         "postgresql://postgres@127.0.0.1:%d/postgres",
                         s->srv.port);
                if (connect_judge(s, direct, errstr, errstr_size))
                        goto fail;
                /* The pipeline reaches the server through the fault
                 * proxy; the judge does not. */
                if (!(s->proxy = crmsync_tcp_proxy_new(
                          cfg->base, 0, s->srv.port, PROXY_MAX_CONNS, errstr,
                          errstr_size)))
                        goto fail;
                snprintf(s->dsn, sizeof(s->dsn),
                         "postgresql://postgres@127.0.0.1:%d/postgres",
                         crmsync_tcp_proxy_port(s->proxy));
                snprintf(s->desc, sizeof(s->desc),
                         "postgres 127.0.0.1:%d (throwaway, %s; the "
                         "pipeline through the fault proxy on port %d)",
                         s->srv.port, s->srv.data_dir,
                         crmsync_tcp_proxy_port(s->proxy));
        }
        if (install(s, errstr, errstr_size))
                goto fail;
        return s;
fail:
        crmsync_pg_sink_close(s);
        return NULL;
}

void crmsync_pg_sink_close(pg_sink_t *s)
{
        if (!s)
                return;
        if (s->term_timer)
                event_free(s->term_timer);
        crmsync_tcp_proxy_destroy(s->proxy);
        if (s->judge)
                PQfinish(s->judge);
        if (s->own_server)
                crmsync_pg_server_stop(&s->srv);
        free(s->ap);
        crmsync_strpool_reset(&s->ap_ids);
        recs_free(s);
        free(s);
}

const char *crmsync_pg_sink_dsn(const pg_sink_t *s)
{
        return s->dsn;
}

const char *crmsync_pg_sink_describe(const pg_sink_t *s)
{
        return s->desc;
}

/* ---- reading ------------------------------------------------------------ */

static void read_applies(struct pg_sink *s)
{
        char        since[32];
        const char *params[1] = {since};
        PGresult   *res;

        snprintf(since, sizeof(since), "%lld", s->last_seq);
        res = q(s,
                "SELECT seq, type || '/' || id, version, deleted, "
                "coalesce(event_id, ''), op, coalesce(old_deleted, false), "
                "(extract(epoch FROM logged_at) * 1000)::bigint "
                "FROM crmsync_apply_log WHERE seq > $1 ORDER BY seq "
                "LIMIT 100000",
                1, params);
        if (!res)
                return;
        for (int i = 0; i < PQntuples(res); i++) {
                struct sink_apply *a;
                const char        *key, *eid;
                key = crmsync_strpool_intern(&s->ap_ids, PQgetvalue(res, i, 1));
                eid = crmsync_strpool_intern(&s->ap_ids, PQgetvalue(res, i, 4));
                if (!key || !eid ||
                    crmsync_array_grow(&s->ap, &s->ap_cap, s->nap,
                                       sizeof(*s->ap), 4096))
                        break;
                a = &s->ap[s->nap++];
                memset(a, 0, sizeof(*a));
                s->last_seq = atoll(PQgetvalue(res, i, 0));
                a->key      = key;
                a->version = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
                a->is_delete = PQgetvalue(res, i, 3)[0] == 't';
                a->event_id  = eid;
                a->applied   = 1;
                /* A new row, or a tombstone coming back to life, holds
                 * the whole record: it covers older changes. */
                a->full = !strcmp(PQgetvalue(res, i, 5), "insert") ||
                          (PQgetvalue(res, i, 6)[0] == 't' && !a->is_delete);
                a->wall_ms = atoll(PQgetvalue(res, i, 7));
        }
        PQclear(res);
}

size_t crmsync_pg_sink_applies(pg_sink_t *s, const struct sink_apply **out)
{
        read_applies(s);
        *out = s->ap;
        return s->nap;
}

void crmsync_pg_sink_reload(pg_sink_t *s)
{
        s->nap      = 0;
        s->last_seq = 0;
        for (int page = 0; page < 64; page++) {
                size_t before = s->nap;
                read_applies(s);
                if (s->nap - before < APPLY_PAGE)
                        break;
        }
}

static void recs_free(struct pg_sink *s)
{
        for (size_t i = 0; i < s->nrecs; i++)
                json_decref(s->recs[i].fields);
        free(s->recs);
        s->recs  = NULL;
        s->nrecs = 0;
}

/* Read every row into s->recs (replacing the last snapshot). */
static void read_records(struct pg_sink *s)
{
        PGresult *res = q(s,
                          "SELECT type || '/' || id, account_id, version, "
                          "deleted, fields::text, coalesce(event_id, ''), "
                          "(extract(epoch FROM applied_at) * 1000)::bigint "
                          "FROM crmsync_profiles",
                          0, NULL);
        recs_free(s);
        if (!res)
                return;
        s->recs = calloc((size_t)PQntuples(res) + 1, sizeof(*s->recs));
        for (int i = 0; s->recs && i < PQntuples(res); i++) {
                struct sink_record *sr = &s->recs[s->nrecs++];
                snprintf(sr->key, sizeof(sr->key), "%s", PQgetvalue(res, i, 0));
                snprintf(sr->account_id, sizeof(sr->account_id), "%s",
                         PQgetvalue(res, i, 1));
                sr->version =
                    (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
                sr->deleted = PQgetvalue(res, i, 3)[0] == 't';
                sr->fields  = json_loads(PQgetvalue(res, i, 4), 0, NULL);
                if (!sr->fields)
                        sr->fields = json_object();
                snprintf(sr->last_event_id, sizeof(sr->last_event_id), "%s",
                         PQgetvalue(res, i, 5));
                sr->applied_wall_ms = atoll(PQgetvalue(res, i, 6));
        }
        PQclear(res);
}

long long crmsync_pg_sink_unlogged(pg_sink_t *s, char *example,
                                   size_t example_size)
{
        long long n;
        PGresult *res = q(s,
                          "SELECT count(*), min(p.type || '/' || p.id || ' v' "
                          "|| p.version) FROM crmsync_profiles p WHERE NOT "
                          "EXISTS (SELECT 1 FROM crmsync_apply_log l WHERE "
                          "l.type = p.type AND l.id = p.id AND l.version = "
                          "p.version)",
                          0, NULL);
        if (!res) {
                snprintf(example, example_size, "%s", s->last_err);
                return -1;
        }
        n = atoll(PQgetvalue(res, 0, 0));
        snprintf(example, example_size, "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        return n;
}

void crmsync_pg_sink_foreach(pg_sink_t *s,
                             void (*cb)(void *opaque,
                                        const struct sink_record *),
                             void *opaque)
{
        read_records(s);
        for (size_t i = 0; i < s->nrecs; i++)
                cb(opaque, &s->recs[i]);
}

void crmsync_pg_sink_foreach_side_effect(pg_sink_t *s,
                                         void (*cb)(void       *opaque,
                                                    const char *event_id,
                                                    const char *kind,
                                                    uint32_t    count),
                                         void *opaque)
{
        PGresult *res = q(s,
                          "SELECT event_id, kind, count(*) FROM "
                          "crmsync_side_effects GROUP BY event_id, kind "
                          "ORDER BY min(requested_at)",
                          0, NULL);
        if (!res)
                return;
        for (int i = 0; i < PQntuples(res); i++)
                cb(opaque, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                   (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10));
        PQclear(res);
}

/* ---- replay and self-test ----------------------------------------------- */

static void clear_logs(struct pg_sink *s)
{
        exec_ok(s, "TRUNCATE crmsync_apply_log, crmsync_side_effects");
        s->nap      = 0;
        s->last_seq = 0;
}

void crmsync_pg_sink_clear(pg_sink_t *s)
{
        if (!s->profiles_view)
                exec_ok(s, "TRUNCATE crmsync_profiles");
        clear_logs(s);
}

struct clear_ctx {
        int (*pred)(void *opaque, const struct sink_record *r);
        void   *opaque;
        json_t *keys; /* ["type/id", ...] of the records to remove */
};

static void clear_pick_cb(void *opaque, const struct sink_record *sr)
{
        struct clear_ctx *c = opaque;
        if (c->pred(c->opaque, sr))
                json_array_append_new(c->keys, json_string(sr->key));
}

int crmsync_pg_sink_clear_if(pg_sink_t *s,
                             int (*pred)(void                     *opaque,
                                         const struct sink_record *r),
                             void *opaque)
{
        struct clear_ctx c = {pred, opaque, json_array()};
        char            *arr;
        const char      *params[1];
        PGresult        *res;
        int              n;

        if (!c.keys)
                return -1;
        crmsync_pg_sink_foreach(s, clear_pick_cb, &c);
        n   = (int)json_array_size(c.keys);
        arr = json_dumps(c.keys, JSON_COMPACT);
        json_decref(c.keys);
        if (!arr)
                return -1;
        params[0] = arr;
        /* Without the trigger: removing them is no apply. */
        exec_ok(s, "BEGIN; SET LOCAL session_replication_role = replica");
        res = q(s,
                "DELETE FROM crmsync_profiles WHERE type || '/' || id IN "
                "(SELECT jsonb_array_elements_text($1::jsonb))",
                1, params);
        exec_ok(s, res ? "COMMIT" : "ROLLBACK");
        free(arr);
        if (!res)
                return -1;
        PQclear(res);
        clear_logs(s);
        return n;
}

int crmsync_pg_sink_corrupt(pg_sink_t *s, const char *key)
{
        const char *params[1] = {key};
        PGresult   *res;
        int         n;

        exec_ok(s, "BEGIN; SET LOCAL session_replication_role = replica");
        res = q(s,
                "UPDATE crmsync_profiles SET fields = fields || "
                "'{\"crmsync_corrupted\": true}'::jsonb "
                "WHERE type || '/' || id = $1 AND NOT deleted",
                1, params);
        n   = res ? atoi(PQcmdTuples(res)) : 0;
        PQclear(res);
        exec_ok(s, res ? "COMMIT" : "ROLLBACK");
        return n == 1 ? 0 : -1;
}

/* ---- faults ------------------------------------------------------------- */

/* Terminate every client backend of the pipeline (not the judge's): a
 * batch in flight loses its connection mid-transaction. */
static void terminate_cb(evutil_socket_t fd, short what, void *arg)
{
        struct pg_sink *s = arg;
        PGresult       *res;
        (void)fd;
        (void)what;
        res = q(s,
                "SELECT count(pg_terminate_backend(pid)) FROM "
                "pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = "
                "'client backend' AND coalesce(application_name, '') "
                "<> '" JUDGE_APP "'",
                0, NULL);
        if (res) {
                s->terminated += strtoull(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
        }
}

static int outage(struct pg_sink *s, const char *mode, int on, char *why,
                  size_t why_size)
{
        enum tcp_proxy_mode pm = TCP_PROXY_PASS;

        if (!strcmp(mode, "terminate")) {
                if (!on) {
                        if (s->term_timer)
                                event_del(s->term_timer);
                        return 0;
                }
                struct timeval tv = {0, TERMINATE_EVERY_MS * 1000};
                if (!s->term_timer &&
                    !(s->term_timer =
                          event_new(s->base, -1, EV_PERSIST, terminate_cb, s)))
                        return crmsync_err(why, why_size, "out of memory");
                event_add(s->term_timer, &tv);
                terminate_cb(-1, 0, s);
                return 0;
        }
        if (!s->proxy)
                return crmsync_err(why, why_size,
                                   "sink_outage %s on sink.dsn: the pipeline "
                                   "does not go through crmsync's fault "
                                   "proxy (only terminate works there)",
                                   mode);
        if (on)
                pm = !strcmp(mode, "refuse") ? TCP_PROXY_REFUSE
                     : !strcmp(mode, "hang") ? TCP_PROXY_HANG
                                             : TCP_PROXY_RESET; /* 503 */
        return crmsync_tcp_proxy_set_mode(s->proxy, pm, why, why_size);
}

int crmsync_pg_sink_fault(pg_sink_t *s, const char *type, const json_t *params,
                          int on, char *why, size_t why_size)
{
        if (!strcmp(type, "sink_outage")) {
                const char *mode =
                    json_string_value(json_object_get(params, "mode"));
                return outage(s, mode ? mode : "refuse", on, why, why_size);
        }
        if (!strcmp(type, "sink_slow")) {
                json_int_t ms =
                    json_integer_value(json_object_get(params, "latency_ms"));
                if (!s->proxy)
                        return crmsync_err(why, why_size,
                                           "sink_slow on sink.dsn: the "
                                           "pipeline does not go through "
                                           "crmsync's fault proxy");
                crmsync_tcp_proxy_set_latency(s->proxy, on ? (uint32_t)ms : 0);
                return 0;
        }
        if (!strcmp(type, "sink_partial_failure")) {
                char        ratio[32];
                const char *p[1] = {ratio};
                PGresult   *res;
                snprintf(
                    ratio, sizeof(ratio), "%.6f",
                    on ? json_number_value(json_object_get(params, "ratio"))
                       : 0.0);
                res = q(s,
                        "UPDATE crmsync_faults SET partial_failure = "
                        "$1::double precision WHERE id = 1",
                        1, p);
                if (!res)
                        return crmsync_err(why, why_size, "%s", s->last_err);
                PQclear(res);
                return 0;
        }
        return crmsync_err(why, why_size,
                           "%s: not a fault of the postgres "
                           "sink",
                           type);
}

uint64_t crmsync_pg_sink_terminated(const pg_sink_t *s)
{
        return s->terminated;
}
