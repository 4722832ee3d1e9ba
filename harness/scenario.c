/* scenario.c -- strict loader for scenario files (docs/scenario-format.md):
 * the sections and faults. Field readers, the expect section, checks across
 * sections and target files are in scenario_{vctx,expect,check,target}.c. */
#include "harness/scenario_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"
#include "harness/fault.h"

/* -- fault types ---------------------------------------------------------- */

const char *crmsync_fault_types(void)
{
        static char              buf[1024];
        const struct fault_type *ft;
        if (!buf[0])
                for (size_t i = 0; (ft = crmsync_fault_at(i)); i++) {
                        if (i)
                                strcat(buf, ", ");
                        strcat(buf, ft->name);
                }
        return buf;
}

/* One parameter of a fault, validated by its row of the fault table. */
static int load_fault_param(struct vctx *c, json_t *f, const char *path,
                            const char *type, const struct fault_param *ps)
{
        double   d;
        int      b;
        uint64_t u;
        char     s[64];

        if (ps->required && !json_object_get(f, ps->name))
                return scenario_err(c, path, 0, "fault '%s' needs field '%s'",
                                    type, ps->name);
        switch (ps->type) {
        case FAULT_P_RATIO:
        case FAULT_P_NUM:
                return scenario_get_num(c, f, path, ps->name, &d, ps->min,
                                        ps->max);
        case FAULT_P_INT:
                return scenario_get_u64(c, f, path, ps->name, &u,
                                        (uint64_t)ps->min, (uint64_t)ps->max);
        case FAULT_P_BOOL:
                return scenario_get_bool(c, f, path, ps->name, &b);
        case FAULT_P_STR:
                return scenario_get_str(c, f, path, ps->name, s, sizeof(s),
                                        ps->choices);
        }
        return 0;
}

static int load_fault(struct vctx *c, json_t *f, const char *path,
                      struct scenario_fault *out)
{
        char                     p[512];
        const struct fault_type *spec;
        const char *known[12] = {"type", "at_s", "duration_s", "note"};
        int         nk        = 4;

        if (!json_is_object(f))
                return scenario_err(c, path, 0, "expected an object, got %s",
                                    scenario_type_name(f));
        if (!json_object_get(f, "type"))
                return scenario_err(c, path, 0,
                                    "missing required field 'type'");
        if (scenario_get_str(c, f, path, "type", out->type, sizeof(out->type),
                             NULL))
                return -1;
        if (!(spec = crmsync_fault_find(out->type))) {
                scenario_join(p, sizeof(p), path, "type");
                return scenario_err(c, p, 0,
                                    "unknown fault type '%s' (known: %s)",
                                    out->type, crmsync_fault_types());
        }
        if (!json_object_get(f, "at_s"))
                return scenario_err(c, path, 0,
                                    "missing required field 'at_s'");
        if (scenario_get_num(c, f, path, "at_s", &out->at_s, 0, 86400) ||
            scenario_get_num(c, f, path, "duration_s", &out->duration_s, 0,
                             86400))
                return -1;
        if (spec->needs_duration && out->duration_s <= 0)
                return scenario_err(
                    c, path, 0, "fault '%s' needs duration_s > 0", out->type);
        for (int i = 0; i < FAULT_MAX_PARAMS && spec->params[i].name; i++) {
                known[nk++] = spec->params[i].name;
                if (load_fault_param(c, f, path, out->type, &spec->params[i]))
                        return -1;
        }
        known[nk] = NULL;
        if (scenario_check_known(c, f, path, known))
                return -1;
        out->params = json_incref(f);
        crmsync_jsonpos_find(c->jp, path, 0, &out->line, &out->column);
        return 0;
}

static int load_bugs(struct vctx *c, json_t *obj, const char *path,
                     uint32_t *bugs)
{
        char    p[512];
        json_t *arr = json_object_get(obj, "bugs"), *v;
        size_t  i;
        if (!arr)
                return 0;
        scenario_join(p, sizeof(p), path, "bugs");
        if (!json_is_array(arr))
                return scenario_err(c, p, 0,
                                    "expected an array of bug names, got %s",
                                    scenario_type_name(arr));
        json_array_foreach(arr, i, v)
        {
                char     pi[560];
                uint32_t bit;
                snprintf(pi, sizeof(pi), "%s[%zu]", p, i);
                if (!json_is_string(v))
                        return scenario_err(c, pi, 0,
                                            "expected a string, got %s",
                                            scenario_type_name(v));
                if (!(bit = crmsync_bug_parse(json_string_value(v))))
                        return scenario_err(
                            c, pi, 0, "unknown bug switch '%s' (known: %s)",
                            json_string_value(v), crmsync_bug_names());
                *bugs |= bit;
        }
        return 0;
}

static int load_process(struct vctx *c, json_t *obj, const char *path,
                        struct scenario_process *pr, int is_connector)
{
        static const char *const kc[] = {"command",   "bugs",        "mode",
                                         "page_size", "lookback_ms", NULL};
        static const char *const kp[] = {"command", "bugs", "batch_size",
                                         "linger_ms", NULL};
        if (!obj)
                return 0;
        if (scenario_check_known(c, obj, path, is_connector ? kc : kp) ||
            scenario_get_strdup(c, obj, path, "command", &pr->command) ||
            load_bugs(c, obj, path, &pr->bugs))
                return -1;
        if (is_connector)
                return scenario_get_str(c, obj, path, "mode", pr->mode,
                                        sizeof(pr->mode),
                                        "feed|webhook|poll") ||
                               scenario_get_u32(c, obj, path, "page_size",
                                                &pr->page_size, 1, 1000) ||
                               scenario_get_u32(c, obj, path, "lookback_ms",
                                                &pr->lookback_ms, 0, 3600000)
                           ? -1
                           : 0;
        return scenario_get_u32(c, obj, path, "batch_size", &pr->batch_size, 1,
                                10000) ||
                       scenario_get_u32(c, obj, path, "linger_ms",
                                        &pr->linger_ms, 0, 60000)
                   ? -1
                   : 0;
}

static int load_workload(struct vctx *c, json_t *w, struct scenario *sc)
{
        static const char *const    known[] = {"accounts",
                                               "contacts_per_account",
                                               "opportunities_per_account",
                                               "entitlements_per_account",
                                               "changes",
                                               "rate_per_s",
                                               "burst_factor",
                                               "burst_every_s",
                                               "burst_len_s",
                                               "mix",
                                               "zipf_s",
                                               "txn_max",
                                               NULL};
        static const char *const    mixk[]  = {"update",   "create", "delete",
                                               "undelete", "merge",  NULL};
        struct crm_workload_config *wc      = &sc->workload;
        json_t                     *mix;
        if (!w)
                return 0;
        if (scenario_check_known(c, w, "workload", known) ||
            scenario_get_u32(c, w, "workload", "accounts", &wc->accounts, 1,
                             10000000) ||
            scenario_get_u32(c, w, "workload", "contacts_per_account",
                             &wc->contacts_per_account, 0, 100) ||
            scenario_get_u32(c, w, "workload", "opportunities_per_account",
                             &wc->opportunities_per_account, 0, 100) ||
            scenario_get_u32(c, w, "workload", "entitlements_per_account",
                             &wc->entitlements_per_account, 0, 100) ||
            scenario_get_u32(c, w, "workload", "changes", &wc->changes, 1,
                             CRM_WORKLOAD_MAX_CHANGES) ||
            scenario_get_num(c, w, "workload", "rate_per_s", &wc->rate_per_s,
                             0.01, 1e7) ||
            scenario_get_num(c, w, "workload", "burst_factor",
                             &wc->burst_factor, 1, 1000) ||
            scenario_get_u32(c, w, "workload", "burst_every_s",
                             &wc->burst_every_s, 0, 86400) ||
            scenario_get_u32(c, w, "workload", "burst_len_s", &wc->burst_len_s,
                             0, 86400) ||
            scenario_get_num(c, w, "workload", "zipf_s", &wc->zipf_s, 0, 5) ||
            scenario_get_u32(c, w, "workload", "txn_max", &wc->txn_max, 1,
                             1000) ||
            scenario_get_obj(c, w, "workload", "mix", &mix))
                return -1;
        /* The generator reads 0 as "the default (2)": say "none". */
        if (json_object_get(w, "contacts_per_account") &&
            !wc->contacts_per_account)
                wc->contacts_per_account = CRM_WORKLOAD_NONE;
        if (!mix)
                return 0;
        return scenario_check_known(c, mix, "workload.mix", mixk) ||
                       scenario_get_num(c, mix, "workload.mix", "update",
                                        &wc->mix_update, 0, 1e6) ||
                       scenario_get_num(c, mix, "workload.mix", "create",
                                        &wc->mix_create, 0, 1e6) ||
                       scenario_get_num(c, mix, "workload.mix", "delete",
                                        &wc->mix_delete, 0, 1e6) ||
                       scenario_get_num(c, mix, "workload.mix", "undelete",
                                        &wc->mix_undelete, 0, 1e6) ||
                       scenario_get_num(c, mix, "workload.mix", "merge",
                                        &wc->mix_merge, 0, 1e6)
                   ? -1
                   : 0;
}

/* The top-level fields: name, description, seed and the run's times. */
static int load_header(struct vctx *c, json_t *root, struct scenario *sc)
{
        static const char *const known[] = {
            "name",   "description", "seed",     "workload", "crm",
            "sink",   "pipeline",    "target",   "faults",   "replay",
            "expect", "timeout_s",   "settle_s", "warmup_s", NULL};

        if (!json_is_object(root))
                return scenario_err(c, "", 0,
                                    "a scenario must be a JSON object");
        if (scenario_check_known(c, root, "", known))
                return -1;
        if (!json_object_get(root, "name"))
                return scenario_err(c, "", 0, "missing required field 'name'");
        if (scenario_get_str(c, root, "", "name", sc->name, sizeof(sc->name),
                             NULL) ||
            scenario_get_strdup(c, root, "", "description", &sc->description) ||
            scenario_get_u64(c, root, "", "seed", &sc->seed, 0, UINT64_MAX) ||
            scenario_get_num(c, root, "", "timeout_s", &sc->timeout_s, 1,
                             86400) ||
            scenario_get_num(c, root, "", "settle_s", &sc->settle_s, 0.5,
                             3600) ||
            scenario_get_num(c, root, "", "warmup_s", &sc->warmup_s, 0, 86400))
                return -1;
        for (const char *p = sc->name; *p; p++)
                if (!(*p == '-' || *p == '_' || *p == '.' ||
                      (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= 'A' && *p <= 'Z')))
                        return scenario_err(
                            c, "name", 0,
                            "use only letters, digits, '-', '_', '.'");
        sc->workload.seed = sc->seed;
        return 0;
}

/* The crm and sink sections: the fakes' settings. */
static int load_crm_and_sink(struct vctx *c, json_t *root, struct scenario *sc)
{
        static const char *const crmk[] = {
            "max_page",       "rate_limit_per_s", "rate_burst", "daily_quota",
            "error_rate_5xx", "retention_s",      "latency_ms", NULL};
        static const char *const sinkk[]  = {"write_mode", "type", "dsn", NULL};
        char                     mode[16] = "conditional";
        json_t                  *o;

        if (scenario_get_obj(c, root, "", "crm", &o))
                return -1;
        if (o && (scenario_check_known(c, o, "crm", crmk) ||
                  scenario_get_u32(c, o, "crm", "max_page", &sc->crm_max_page,
                                   1, 1000) ||
                  scenario_get_num(c, o, "crm", "rate_limit_per_s",
                                   &sc->crm_rate_limit_per_s, 0, 1e7) ||
                  scenario_get_u32(c, o, "crm", "rate_burst",
                                   &sc->crm_rate_burst, 0, 1000000) ||
                  scenario_get_u64(c, o, "crm", "daily_quota",
                                   &sc->crm_daily_quota, 0, UINT32_MAX) ||
                  scenario_get_num(c, o, "crm", "error_rate_5xx",
                                   &sc->crm_error_rate_5xx, 0, 1) ||
                  scenario_get_num(c, o, "crm", "retention_s",
                                   &sc->crm_retention_s, 0, 1e7) ||
                  scenario_get_u32(c, o, "crm", "latency_ms",
                                   &sc->crm_latency_ms, 0, 60000)))
                return -1;
        if (scenario_get_obj(c, root, "", "sink", &o))
                return -1;
        if (o && (scenario_check_known(c, o, "sink", sinkk) ||
                  scenario_get_str(c, o, "sink", "write_mode", mode,
                                   sizeof(mode), "conditional|blind") ||
                  scenario_get_str(c, o, "sink", "type", sc->sink_type,
                                   sizeof(sc->sink_type), "fake|postgres") ||
                  scenario_get_strdup(c, o, "sink", "dsn", &sc->sink_dsn)))
                return -1;
        sc->sink_blind_writes = !strcmp(mode, "blind");
        if (sc->sink_dsn && strcmp(sc->sink_type, "postgres"))
                return scenario_err(c, "sink.dsn", 0,
                                    "needs \"type\": \"postgres\"");
        if (sc->sink_blind_writes && !strcmp(sc->sink_type, "postgres"))
                return scenario_err(c, "sink.write_mode", 0,
                                    "\"blind\" is a mode of the fake sink "
                                    "only");
        return 0;
}

/* The pipeline section: how to start the connector and the profiler. */
static int load_pipeline(struct vctx *c, json_t *root, struct scenario *sc)
{
        static const char *const pipk[] = {"connector", "profiler", NULL};
        json_t                  *o, *o2;

        if (scenario_get_obj(c, root, "", "pipeline", &o))
                return -1;
        if (!o)
                return 0;
        if (scenario_check_known(c, o, "pipeline", pipk) ||
            scenario_get_obj(c, o, "pipeline", "connector", &o2) ||
            load_process(c, o2, "pipeline.connector", &sc->connector, 1) ||
            scenario_get_obj(c, o, "pipeline", "profiler", &o2) ||
            load_process(c, o2, "pipeline.profiler", &sc->profiler, 0))
                return -1;
        return 0;
}

/* The target file decides the cluster: an embedded one gives its shape
 * (brokers, partitions) and runs like a scenario without a file; either
 * kind may set the changes topic's partitions. */
static void apply_target_file(struct scenario *sc)
{
        struct scenario_target *t = sc->target;
        snprintf(sc->target_name, sizeof(sc->target_name), "%s", t->name);
        if (t->partitions)
                sc->partitions = t->partitions;
        if (!t->embedded) {
                snprintf(sc->target_type, sizeof(sc->target_type), "external");
                return;
        }
        snprintf(sc->target_type, sizeof(sc->target_type), "embedded");
        if (t->brokers)
                sc->brokers = t->brokers;
        sc->embedded_properties = t->properties;
        t->properties           = NULL;
        crmsync_target_destroy(t);
        sc->target = NULL;
}

/* The target section, and the target file it names (relative to the
 * scenario file's folder). */
static int load_target_section(struct vctx *c, json_t *root,
                               struct scenario *sc)
{
        static const char *const tgtk[] = {"type",       "file",  "brokers",
                                           "partitions", "topic", NULL};
        char                     path[4096], errbuf[768];
        const char              *slash;
        json_t                  *o;

        if (scenario_get_obj(c, root, "", "target", &o))
                return -1;
        if (o &&
            (scenario_check_known(c, o, "target", tgtk) ||
             scenario_get_str(c, o, "target", "type", sc->target_type,
                              sizeof(sc->target_type), "embedded|external") ||
             scenario_get_strdup(c, o, "target", "file", &sc->target_file) ||
             scenario_get_int(c, o, "target", "brokers", &sc->brokers, 1, 16) ||
             scenario_get_int(c, o, "target", "partitions", &sc->partitions, 1,
                              1024) ||
             scenario_get_str(c, o, "target", "topic", sc->topic,
                              sizeof(sc->topic), NULL)))
                return -1;
        if (!strcmp(sc->target_type, "external") && !sc->target_file)
                return scenario_err(c, "target", 0,
                                    "an external target needs 'file'");
        if (scenario_check_topic(c, sc))
                return -1;
        if (!sc->target_file)
                return 0;
        slash = strrchr(c->file, '/');
        if (sc->target_file[0] == '/' || !slash)
                snprintf(path, sizeof(path), "%s", sc->target_file);
        else
                snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - c->file),
                         c->file, sc->target_file);
        if (!(sc->target = crmsync_target_load(path, errbuf, sizeof(errbuf))))
                return scenario_err(c, "target.file", 0, "%s", errbuf);
        apply_target_file(sc);
        return 0;
}

/* The faults array, each validated from the fault table, then the checks
 * across faults. */
static int load_faults(struct vctx *c, json_t *root, struct scenario *sc,
                       const struct crm_workload_config *eff)
{
        json_t *faults = json_object_get(root, "faults");
        size_t  i;
        json_t *f;

        if (!faults)
                return 0;
        if (!json_is_array(faults))
                return scenario_err(c, "faults", 0, "expected an array, got %s",
                                    scenario_type_name(faults));
        if (json_array_size(faults) > SCENARIO_MAX_FAULTS)
                return scenario_err(c, "faults", 0, "more than %d faults",
                                    SCENARIO_MAX_FAULTS);
        json_array_foreach(faults, i, f)
        {
                char p[32];
                snprintf(p, sizeof(p), "faults[%zu]", i);
                if (load_fault(c, f, p, &sc->faults[i]))
                        return -1;
                sc->fault_cnt++;
        }
        if (scenario_check_overlaps(c, sc) || scenario_check_faults(c, sc, eff))
                return -1;
        return 0;
}

/* The replay section: present means enabled, clearing the sink unless it
 * replays from a time. */
static int load_replay(struct vctx *c, json_t *root, struct scenario *sc,
                       const struct crm_workload_config *eff)
{
        static const char *const repk[] = {"enabled",    "from",   "from_s",
                                           "clear_sink", "domain", NULL};
        json_t                  *o;

        if (scenario_get_obj(c, root, "", "replay", &o))
                return -1;
        if (!o)
                return 0;
        sc->replay.enabled    = 1;
        sc->replay.clear_sink = 1;
        if (scenario_check_known(c, o, "replay", repk) ||
            scenario_get_bool(c, o, "replay", "enabled", &sc->replay.enabled) ||
            scenario_get_str(c, o, "replay", "from", sc->replay.from,
                             sizeof(sc->replay.from), "earliest|timestamp") ||
            scenario_get_num(c, o, "replay", "from_s", &sc->replay.from_s, 0,
                             1e7) ||
            scenario_get_bool(c, o, "replay", "clear_sink",
                              &sc->replay.clear_sink) ||
            scenario_get_strdup(c, o, "replay", "domain", &sc->replay.domain))
                return -1;
        /* From a time, the sink keeps what came before it. */
        if (!strcmp(sc->replay.from, "timestamp") &&
            !json_object_get(o, "clear_sink"))
                sc->replay.clear_sink = 0;
        return scenario_check_replay(c, root, sc, eff);
}

/* The whole file, section by section in a fixed order: the first error
 * found is the one reported. */
static int load_root(struct vctx *c, json_t *root, struct scenario *sc)
{
        struct crm_workload_config eff;
        json_t                    *o;

        if (load_header(c, root, sc) ||
            scenario_get_obj(c, root, "", "workload", &o) ||
            load_workload(c, o, sc) ||
            scenario_check_workload(c, root, sc, &eff) ||
            load_crm_and_sink(c, root, sc) || load_pipeline(c, root, sc) ||
            load_target_section(c, root, sc) ||
            load_faults(c, root, sc, &eff) || load_replay(c, root, sc, &eff) ||
            scenario_get_obj(c, root, "", "expect", &o) ||
            scenario_load_expect(c, o, &sc->expect) ||
            scenario_check_expect(c, sc))
                return -1;
        return 0;
}

static void set_defaults(struct scenario *sc)
{
        snprintf(sc->target_type, sizeof(sc->target_type), "embedded");
        snprintf(sc->topic, sizeof(sc->topic), "crm.changes");
        snprintf(sc->sink_type, sizeof(sc->sink_type), "fake");
        snprintf(sc->connector.mode, sizeof(sc->connector.mode), "feed");
        snprintf(sc->replay.from, sizeof(sc->replay.from), "earliest");
        sc->brokers                  = 3;
        sc->partitions               = 12;
        sc->connector.page_size      = 1000;
        sc->connector.lookback_ms    = 2000;
        sc->profiler.batch_size      = 500;
        sc->profiler.linger_ms       = 50;
        sc->crm_max_page             = 1000;
        sc->settle_s                 = 10;
        sc->warmup_s                 = -1; /* 10% of the workload */
        sc->expect.converge_within_s = 60;
        /* A connector must honour Retry-After; the other API bounds are
         * opt-in. */
        sc->expect.api_early_retries_max    = 0;
        sc->expect.api_over_rate_limit_max  = -1;
        sc->expect.api_over_daily_quota_max = -1;
        /* Every anomaly class defaults to "zero allowed". */
}

struct scenario *crmsync_scenario_load_buffer(const char *name, const char *buf,
                                              size_t len, char *errstr,
                                              size_t errstr_size)
{
        json_error_t     jerr;
        struct scenario *sc;
        struct vctx      c = {name, NULL, errstr, errstr_size, 0};
        json_t          *root;

        root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                crmsync_err(errstr, errstr_size, "%s:%d:%d: %s", name,
                            jerr.line, jerr.column, jerr.text);
                return NULL;
        }
        if (!(sc = calloc(1, sizeof(*sc)))) {
                json_decref(root);
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        set_defaults(sc);
        sc->path = strdup(name);
        c.jp     = crmsync_jsonpos_index(buf, len);
        if (load_root(&c, root, sc) == -1) {
                crmsync_scenario_destroy(sc);
                sc = NULL;
        }
        crmsync_jsonpos_destroy(c.jp);
        json_decref(root);
        return sc;
}

struct scenario *crmsync_scenario_load(const char *path, char *errstr,
                                       size_t errstr_size)
{
        FILE            *fp = fopen(path, "rb");
        char            *buf;
        size_t           n;
        struct scenario *sc;
        struct stat      st;

        if (!fp) {
                crmsync_err(errstr, errstr_size, "%s: %s", path,
                            strerror(errno));
                return NULL;
        }
        /* A folder opens fine on Linux and then reads as zero bytes: say
         * what it is instead of reporting a JSON syntax error. */
        if (fstat(fileno(fp), &st) == 0 && !S_ISREG(st.st_mode)) {
                fclose(fp);
                crmsync_err(
                    errstr, errstr_size, "%s: is %s, not a scenario file", path,
                    S_ISDIR(st.st_mode) ? "a folder" : "not a regular file");
                return NULL;
        }
        if (!(buf = malloc(SCENARIO_MAX_BYTES + 1))) {
                fclose(fp);
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        n = fread(buf, 1, SCENARIO_MAX_BYTES + 1, fp);
        fclose(fp);
        if (n > SCENARIO_MAX_BYTES) {
                free(buf);
                crmsync_err(errstr, errstr_size, "%s: larger than %d bytes",
                            path, SCENARIO_MAX_BYTES);
                return NULL;
        }
        sc = crmsync_scenario_load_buffer(path, buf, n, errstr, errstr_size);
        free(buf);
        return sc;
}

void crmsync_scenario_destroy(struct scenario *sc)
{
        if (!sc)
                return;
        for (int i = 0; i < sc->fault_cnt; i++)
                json_decref(sc->faults[i].params);
        json_decref(sc->embedded_properties);
        free(sc->connector.command);
        free(sc->profiler.command);
        free(sc->target_file);
        free(sc->replay.domain);
        free(sc->sink_dsn);
        crmsync_target_destroy(sc->target);
        free(sc->description);
        free(sc->path);
        free(sc);
}