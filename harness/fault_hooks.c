/* fault_hooks.c -- the injectors behind the fault table (harness/fault.h):
 * each calls its layer's fault function on the run. */
#include "harness/fault.h"

#include "run_int.h"

/* -- hooks ---------------------------------------------------------------- */

static int crm_on(struct run *r, const char *type, const json_t *p, char *why,
                  size_t size)
{
        return crmsync_crm_server_fault(r->crm, type, p, 1, why, size);
}

static int crm_off(struct run *r, const char *type, const json_t *p, char *why,
                   size_t size)
{
        return crmsync_crm_server_fault(r->crm, type, p, 0, why, size);
}

static int kafka_on(struct run *r, const char *type, const json_t *p, char *why,
                    size_t size)
{
        return crmsync_cluster_fault(r->cluster, type, p, 1, why, size);
}

static int kafka_off(struct run *r, const char *type, const json_t *p,
                     char *why, size_t size)
{
        return crmsync_cluster_fault(r->cluster, type, p, 0, why, size);
}

static int sink_on(struct run *r, const char *type, const json_t *p, char *why,
                   size_t size)
{
        return run_sink_fault(r, type, p, 1, why, size);
}

static int sink_off(struct run *r, const char *type, const json_t *p, char *why,
                    size_t size)
{
        return run_sink_fault(r, type, p, 0, why, size);
}

/* Harness self-test: corrupt live sink records that already hold the
 * CRM's final version, so no later conditional write repairs them. */
struct corrupt_ctx {
        struct run *r;
        char (*keys)[CRMSYNC_KEY_MAX];
        int want, found;
};

static void corrupt_pick_cb(void *opaque, const struct sink_record *sr)
{
        struct corrupt_ctx      *c = opaque;
        const struct crm_record *cr;
        char                     ent[32];
        const char              *slash = strchr(sr->key, '/');
        int                      e;

        if (c->found == c->want || sr->deleted || !slash ||
            (size_t)(slash - sr->key) >= sizeof(ent))
                return;
        memcpy(ent, sr->key, (size_t)(slash - sr->key));
        ent[slash - sr->key] = '\0';
        if ((e = crmsync_entity_parse(ent)) < 0 ||
            !(cr = crmsync_workload_find(c->r->wl, (enum crm_entity)e,
                                         slash + 1)) ||
            cr->deleted || cr->version != sr->version)
                return;
        snprintf(c->keys[c->found++], CRMSYNC_KEY_MAX, "%s", sr->key);
}

static int corrupt_on(struct run *r, const char *type, const json_t *p,
                      char *why, size_t size)
{
        int count = (int)json_integer_value(json_object_get(p, "count"));
        struct corrupt_ctx c    = {r, calloc((size_t)count, CRMSYNC_KEY_MAX),
                                   count, 0};
        int                done = 0;
        (void)type;
        if (!c.keys)
                return -1;
        run_sink_foreach(r, corrupt_pick_cb, &c);
        for (int i = 0; i < c.found; i++)
                if (run_sink_corrupt(r, c.keys[i]) == 0) {
                        run_history(r, "sink_corrupted", ",\"key\":\"%s\"",
                                    c.keys[i]);
                        done++;
                }
        free(c.keys);
        if (done < count) {
                snprintf(why, size,
                         "only %d of %d records could be corrupted (too few "
                         "records hold their final version yet)",
                         done, count);
                return done ? 0 : -1;
        }
        return 0;
}

static int crash_on(struct run *r, const char *type, const json_t *p, char *why,
                    size_t size)
{
        struct child *c = type[0] == 'c' ? &r->connector : &r->profiler;
        (void)why;
        (void)size;
        crmsync_child_signal(c, SIGKILL);
        crmsync_child_stop(c, 0); /* reaps it */
        run_history(r, "child_killed", ",\"child\":\"%s\"", c->name);
        run_schedule_restart(
            r, c, json_number_value(json_object_get(p, "restart_after_s")));
        return 0;
}

static int pause_on(struct run *r, const char *type, const json_t *p, char *why,
                    size_t size)
{
        (void)p;
        (void)why;
        (void)size;
        crmsync_child_signal(type[0] == 'c' ? &r->connector : &r->profiler,
                             SIGSTOP);
        return 0;
}

static int pause_off(struct run *r, const char *type, const json_t *p,
                     char *why, size_t size)
{
        (void)p;
        (void)why;
        (void)size;
        crmsync_child_signal(type[0] == 'c' ? &r->connector : &r->profiler,
                             SIGCONT);
        return 0;
}

/* -- the table ------------------------------------------------------------ */

/* -- lookup ---------------------------------------------------------------- */

static const struct {
        fault_hook start, stop;
} hooks[] = {
    [INJ_CRM] = {crm_on, crm_off},       [INJ_SINK] = {sink_on, sink_off},
    [INJ_KAFKA] = {kafka_on, kafka_off}, [INJ_CRASH] = {crash_on, NULL},
    [INJ_PAUSE] = {pause_on, pause_off}, [INJ_CORRUPT] = {corrupt_on, NULL},
};

fault_hook crmsync_fault_hook(const struct fault_type *ft, int on)
{
        if (!ft || (size_t)ft->injector >= sizeof(hooks) / sizeof(hooks[0]))
                return NULL;
        return on ? hooks[ft->injector].start : hooks[ft->injector].stop;
}
