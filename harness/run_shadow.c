/* run_shadow.c -- shadow mode (run.h, crmsync_run_shadow): one mock CRM
 * (one workload, one clock, one ground truth) serving two pipelines at
 * once, each with its own connector, Kafka target, profiler and sink, and
 * each judged against that CRM as a run of its own. Both runs share this
 * process's event loop; run.c's phases do the work for each side.
 *
 * The CRM sees two clients: the connectors send X-Client-Id
 * crmsync-connector-A and crmsync-connector-B, so its throttle, quota and
 * API statistics are per connector (crm_throttle.h). Its feed is
 * stateless (each connector keeps its own cursor in its own cluster), so
 * two readers do not disturb each other. Every event the CRM serves goes
 * to crm-served.jsonl in the runs folder with the client that read it, and
 * to the history of the run whose connector read it (for crmsync trace);
 * what no client asked for (webhook deliveries) goes to both. */
#include "run_int.h"

#include "harness/scenario.h"

struct shadow {
        struct run *r[2];
        FILE       *log;       /* crm-served.jsonl */
        uint64_t    served[3]; /* by A, by B, by neither */
};

static void shadow_observer(void *opaque, const struct crm_event *ev,
                            const char *via, int64_t wall_ms)
{
        struct shadow *sh  = opaque;
        const char *client = crmsync_crm_server_serving_client(sh->r[0]->crm);
        int         side   = 2;
        for (int i = 0; i < 2; i++) {
                char id[64];
                snprintf(id, sizeof(id), "crmsync-connector-%s",
                         sh->r[i]->shadow_label);
                if (!strcmp(client, id))
                        side = i;
        }
        sh->served[side]++;
        if (sh->log)
                fprintf(sh->log,
                        "{\"wall_ms\":%lld,\"kind\":\"crm_serve\","
                        "\"event_id\":\"%s\",\"via\":\"%s\",\"client\":"
                        "\"%s\"}\n",
                        (long long)wall_ms, ev->event_id, via,
                        *client ? client : "-");
        for (int i = 0; i < 2; i++)
                if (side == i || side == 2)
                        run_history_line(
                            sh->r[i],
                            "{\"wall_ms\":%lld,\"kind\":\"crm_serve\","
                            "\"event_id\":\"%s\",\"via\":\"%s\","
                            "\"client\":\"%s\"}\n",
                            (long long)wall_ms, ev->event_id, via,
                            *client ? client : "-");
}

/* Both sides set up: side B borrows A's event loop, then A's CRM (whose
 * clock starts after both profilers joined their groups). */
static enum phase_rc setup_both(struct run *r, struct shadow *sh, char *errstr,
                                size_t errstr_size)
{
        enum phase_rc ph;
        for (int i = 0; i < 2; i++) {
                if (i)
                        r[1].base = r[0].base;
                if ((ph = run_setup_files(&r[i], errstr, errstr_size)) ||
                    (ph = run_setup_cluster(&r[i], errstr, errstr_size)) ||
                    (ph = run_setup_judge(&r[i], errstr, errstr_size)) ||
                    (ph = run_setup_sink_and_profiler(&r[i], errstr,
                                                      errstr_size)))
                        return ph;
        }
        /* Both profilers join their groups at the same time. */
        for (int i = 0; i < 2; i++)
                if ((ph = run_wait_profiler(&r[i]))) {
                        if (r[i].error[0])
                                snprintf(errstr, errstr_size, "%s", r[i].error);
                        return ph;
                }
        if ((ph = run_setup_crm(&r[0], errstr, errstr_size)))
                return ph;
        r[1].crm     = r[0].crm;
        r[1].t0_mono = r[0].t0_mono;
        r[1].t0_wall = r[0].t0_wall;
        snprintf(r[1].crm_url, sizeof(r[1].crm_url), "%s", r[0].crm_url);
        if (!r[0].opt->no_record)
                crmsync_crm_server_set_observer(r[0].crm, shadow_observer, sh);
        return PHASE_OK;
}

/* Start both connectors and run the shared loop until both runs are
 * done (each tick ends the loop when its own run is over). */
static int run_both(struct run *r, char *errstr, size_t errstr_size)
{
        struct timeval tv = {0, TICK_MS * 1000};
        int64_t        end;
        for (int i = 0; i < 2; i++) {
                run_schedule_faults(&r[i]);
                run_progress(&r[i],
                             "shadow %s: crm %s (shared), sink %s, "
                             "kafka %s",
                             r[i].shadow_label, r[i].crm_url, r[i].sink_url,
                             crmsync_cluster_bootstrap(r[i].cluster));
                run_history(&r[i], "run_start",
                            ",\"crm\":\"%s\",\"sink\":\"%s\",\"shadow\":"
                            "\"%s\"",
                            r[i].crm_url, r[i].sink_url, r[i].shadow_label);
                run_setup_child(&r[i], &r[i].connector, "connector",
                                &r[i].sc->connector, r[i].group_id);
                if (run_start_child(&r[i], &r[i].connector) == -1) {
                        crmsync_err(errstr, errstr_size,
                                    "could not start connector %s (see %s)",
                                    r[i].shadow_label, r[i].run_dir);
                        return -1;
                }
        }
        for (int i = 0; i < 2; i++) {
                r[i].tick =
                    event_new(r[i].base, -1, EV_PERSIST, run_tick_cb, &r[i]);
                event_add(r[i].tick, &tv);
        }
        /* Each run has its own deadline; this bound is only a backstop. */
        end = (r[0].deadline_mono > r[1].deadline_mono ? r[0].deadline_mono
                                                       : r[1].deadline_mono) +
              60000;
        while ((r[0].phase != PHASE_DONE || r[1].phase != PHASE_DONE) &&
               crmsync_mono_ms() < end)
                event_base_dispatch(r[0].base);
        for (int i = 0; i < 2; i++)
                event_del(r[i].tick);
        for (int i = 0; i < 2; i++)
                if (!strcmp(r[i].error_phase, "set-up"))
                        return -1;
        return 0;
}

/* The one CRM, for shadow.json: its URL, its stream and what it served
 * to whom. */
static json_t *crm_json(struct run *r, struct shadow *sh, const char *log)
{
        char sha[65];
        crmsync_workload_sha256(r[0].wl, sha);
        return json_pack("{s:s, s:I, s:s, s:s, s:{s:I, s:I, s:I}, s:[s,s]}",
                         "url", r[0].crm_url, "events",
                         (json_int_t)crmsync_workload_event_cnt(r[0].wl),
                         "commit_log_sha256", sha, "served_log", log, "served",
                         "crmsync-connector-A", (json_int_t)sh->served[0],
                         "crmsync-connector-B", (json_int_t)sh->served[1],
                         "other", (json_int_t)sh->served[2], "run_dirs",
                         r[0].run_dir, r[1].run_dir);
}

static int check_pair(const struct scenario *const sc[2], char *errstr,
                      size_t errstr_size)
{
        if (!strcmp(sc[0]->name, sc[1]->name))
                return crmsync_err(errstr, errstr_size,
                                   "shadow mode: the two scenarios need "
                                   "different names (both are '%s')",
                                   sc[0]->name);
        if (sc[0]->seed != sc[1]->seed)
                return crmsync_err(errstr, errstr_size,
                                   "shadow mode: one CRM serves one stream: "
                                   "'%s' has seed %llu, '%s' %llu",
                                   sc[0]->name, (unsigned long long)sc[0]->seed,
                                   sc[1]->name,
                                   (unsigned long long)sc[1]->seed);
        for (int i = 0; i < 2; i++)
                if (sc[i]->fault_cnt || sc[i]->replay.enabled)
                        return crmsync_err(
                            errstr, errstr_size,
                            "shadow mode: '%s' has %s; shadow mode runs a "
                            "fault-free stream without a replay phase",
                            sc[i]->name,
                            sc[i]->fault_cnt ? "faults" : "a replay phase");
        return 0;
}

int crmsync_run_shadow(const struct scenario *const sc[2],
                       const struct run_options *opt, json_t *summary[2],
                       json_t **crm, char *errstr, size_t errstr_size)
{
        struct run    r[2];
        struct shadow sh = {{&r[0], &r[1]}, NULL, {0, 0, 0}};
        char          log[1024], err0[1024];
        int           failed[2] = {0, 0}, rc[2] = {2, 2};
        enum phase_rc ph = PHASE_OK;

        memset(r, 0, sizeof(r));
        *errstr    = '\0';
        summary[0] = summary[1] = NULL;
        *crm                    = NULL;
        if (check_pair(sc, errstr, errstr_size))
                return 2;
        crmsync_interrupt_install();
        for (int i = 0; i < 2; i++) {
                r[i].sc           = sc[i];
                r[i].opt          = opt;
                r[i].start_mono   = crmsync_mono_ms();
                r[i].shadow_label = i ? "B" : "A";
        }
        if (!(r[0].wl = crmsync_workload_generate(&sc[0]->workload, errstr,
                                                  errstr_size)))
                return 2;
        r[1].wl            = r[0].wl;
        r[1].shadow_shared = 1;
        snprintf(log, sizeof(log), "%s/crm-served.jsonl", opt->runs_dir);
        if ((mkdir(opt->runs_dir, 0755) && errno != EEXIST) ||
            !(sh.log = fopen(log, "w"))) {
                crmsync_err(errstr, errstr_size, "%s: %s", log,
                            strerror(errno));
                run_free(&r[1]);
                run_free(&r[0]);
                return 2;
        }
        if (!(ph = setup_both(r, &sh, errstr, errstr_size)) &&
            !run_both(r, errstr, errstr_size)) {
                /* Stop all four processes first: nothing changes while
                 * either side is judged. */
                for (int i = 0; i < 2; i++) {
                        run_stop_child_serving(&r[i], &r[i].connector,
                                               STOP_GRACE_MS);
                        run_stop_child_serving(&r[i], &r[i].profiler,
                                               STOP_GRACE_MS);
                }
                for (int i = 0; i < 2 && ph == PHASE_OK; i++)
                        if ((ph = run_judge(&r[i], &summary[i], &failed[i])) ==
                            PHASE_OK)
                                rc[i] = failed[i] ? 1 : 0;
        }
        if (ph == PHASE_INTERRUPTED)
                for (int i = 0; i < 2; i++) {
                        json_decref(summary[i]);
                        rc[i] = run_stop_interrupted(&r[i], &summary[i], errstr,
                                                     errstr_size);
                }
        fclose(sh.log);
        if (r[0].crm)
                *crm = crm_json(r, &sh, log);
        snprintf(err0, sizeof(err0), "%s", errstr);
        *errstr = '\0';
        for (int i = 0; i < 2; i++) {
                char err2[1024];
                snprintf(err2, sizeof(err2), "%s", err0);
                rc[i] =
                    run_finish(&r[i], rc[i], &summary[i], err2, sizeof(err2));
                if (rc[i] == 2 && !*errstr)
                        snprintf(errstr, errstr_size, "shadow %s: %s",
                                 r[i].shadow_label, err2);
        }
        run_free(&r[1]); /* it borrows A's loop, CRM and workload */
        run_free(&r[0]);
        return rc[0] > rc[1] ? rc[0] : rc[1];
}
