/* run_sink.c -- the run's sink, whichever kind the scenario chose: the
 * fake sink in-process (fakes/sink) or PostgreSQL (pg_sink.c). The rest
 * of the harness reads and faults the sink only through these. */
#include "run_int.h"

#include "harness/pg_sink.h"

size_t run_sink_applies(struct run *r, const struct sink_apply **out)
{
        if (r->pg)
                return crmsync_pg_sink_applies(r->pg, out);
        if (!r->sink) {
                *out = NULL;
                return 0;
        }
        return crmsync_sink_applies(r->sink, out);
}

void run_sink_foreach(struct run *r,
                      void (*cb)(void *opaque, const struct sink_record *),
                      void *opaque)
{
        if (r->pg)
                crmsync_pg_sink_foreach(r->pg, cb, opaque);
        else if (r->sink)
                crmsync_sink_foreach(r->sink, cb, opaque);
}

void run_sink_foreach_side_effect(struct run *r,
                                  void (*cb)(void *opaque, const char *event_id,
                                             const char *kind, uint32_t count),
                                  void *opaque)
{
        if (r->pg)
                crmsync_pg_sink_foreach_side_effect(r->pg, cb, opaque);
        else if (r->sink)
                crmsync_sink_foreach_side_effect(r->sink, cb, opaque);
}

void run_sink_clear(struct run *r)
{
        if (r->pg)
                crmsync_pg_sink_clear(r->pg);
        else if (r->sink)
                crmsync_sink_clear(r->sink);
}

int run_sink_clear_if(struct run *r,
                      int (*pred)(void *opaque, const struct sink_record *sr),
                      void *opaque)
{
        if (r->pg)
                return crmsync_pg_sink_clear_if(r->pg, pred, opaque);
        return r->sink ? crmsync_sink_clear_if(r->sink, pred, opaque) : -1;
}

int run_sink_corrupt(struct run *r, const char *key)
{
        if (r->pg)
                return crmsync_pg_sink_corrupt(r->pg, key);
        return r->sink ? crmsync_sink_corrupt(r->sink, key) : -1;
}

int run_sink_fault(struct run *r, const char *type, const json_t *params,
                   int on, char *why, size_t why_size)
{
        if (r->pg)
                return crmsync_pg_sink_fault(r->pg, type, params, on, why,
                                             why_size);
        return crmsync_sink_fault(r->sink, type, params, on, why, why_size);
}

/* The writers stopped: read the database's apply log once more, whole
 * (a transaction that committed late may hold a lower number). */
void run_sink_settle(struct run *r)
{
        char      ex[256];
        long long n;

        if (!r->pg)
                return;
        crmsync_pg_sink_reload(r->pg);
        /* Without the apply log the history cannot be judged: a row the
         * log never saw means the trigger is not on the written table. */
        n = crmsync_pg_sink_unlogged(r->pg, ex, sizeof(ex));
        if (n < 0)
                run_fail(r, "run",
                         "postgres sink: cannot read the apply log: %s", ex);
        else if (n > 0)
                run_fail(r, "run",
                         "postgres sink: %lld row(s) of crmsync_profiles "
                         "never recorded in crmsync_apply_log (e.g. %s): is "
                         "crmsync's trigger on the table written? "
                         "(docs/sink-postgres.md)",
                         n, ex);
}

/* Start the scenario's sink and fill r->sink_url (what the pipeline gets
 * in CRMSYNC_SINK_URL; for postgres the DSN, also CRMSYNC_PG_DSN). */
int run_sink_open(struct run *r, char *errstr, size_t errstr_size)
{
        struct sink_config skc = {0};

        if (!strcmp(r->sc->sink_type, "postgres")) {
                struct pg_sink_config pc = {r->base, r->run_dir,
                                            r->sc->sink_dsn, r->opt->keep};
                if (!(r->pg = crmsync_pg_sink_open(&pc, errstr, errstr_size)))
                        return -1;
                snprintf(r->sink_url, sizeof(r->sink_url), "%s",
                         crmsync_pg_sink_dsn(r->pg));
                run_progress(r, "sink: %s", crmsync_pg_sink_describe(r->pg));
                return 0;
        }
        skc.blind_writes = r->sc->sink_blind_writes;
        if (!(r->sink =
                  crmsync_sink_server_new(r->base, &skc, errstr, errstr_size)))
                return -1;
        snprintf(r->sink_url, sizeof(r->sink_url), "http://127.0.0.1:%d",
                 crmsync_sink_server_port(r->sink));
        return 0;
}

void run_sink_close(struct run *r)
{
        crmsync_pg_sink_close(r->pg);
        r->pg = NULL;
        crmsync_sink_server_destroy(r->sink);
        r->sink = NULL;
}
