/* compat.c -- the compatibility checklist's session: clients with the
 * target's properties, the protocol log that tells which API versions were
 * used, the ApiVersions table, and the output (compat.h). The items are in
 * compat_items.c. Threads: librdkafka calls the log callback on its own
 * threads (log.queue is off); struct compat_log is locked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "harness/compat_int.h"

/* "Sent ProduceRequest (v7, ..." and "  ApiKey Produce (0) Versions
 * 0..9": librdkafka's protocol and feature debug lines. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
        struct compat     *cp = rd_kafka_opaque(rk);
        struct compat_log *lg = &cp->log;
        const char        *s;
        char               name[40];
        int                v, key, lo, hi;
        (void)level;
        (void)fac;
        if ((s = strstr(buf, "Sent ")) &&
            sscanf(s, "Sent %39[A-Za-z] (v%d", name, &v) == 2) {
                size_t n = strlen(name);
                if (n > 7 && !strcmp(name + n - 7, "Request"))
                        name[n - 7] = '\0';
                pthread_mutex_lock(&lg->mu);
                int i = 0;
                while (i < lg->nsent && strcmp(lg->sent[i], name))
                        i++;
                if (i < COMPAT_MAX_SENT) {
                        snprintf(lg->sent[i], sizeof(lg->sent[i]), "%s", name);
                        lg->sent_ver[i] = v;
                        if (i == lg->nsent)
                                lg->nsent++;
                }
                pthread_mutex_unlock(&lg->mu);
        } else if ((s = strstr(buf, "ApiKey ")) &&
                   sscanf(s, "ApiKey %39s (%d) Versions %d..%d", name, &key,
                          &lo, &hi) == 4) {
                char k[16];
                snprintf(k, sizeof(k), "%d", key);
                pthread_mutex_lock(&lg->mu);
                if (!json_object_get(lg->api, k))
                        json_object_set_new(lg->api, k,
                                            json_pack("{s:i, s:s, s:i, s:i}",
                                                      "key", key, "name", name,
                                                      "min", lo, "max", hi));
                pthread_mutex_unlock(&lg->mu);
        }
}

struct delivery {
        int                 done;
        rd_kafka_resp_err_t err;
        int64_t             offset;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        struct delivery *d = m->_private;
        (void)rk;
        (void)opaque;
        if (!d)
                return;
        d->err    = m->err;
        d->offset = m->offset;
        d->done   = 1;
}

rd_kafka_t *crmsync_compat_client(struct compat *cp, rd_kafka_type_t type,
                                  int debug, const char *const *extra,
                                  char *err, size_t err_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t      *rk;
        const char      *k;
        json_t          *v;
        char             tmo[32];

        snprintf(tmo, sizeof(tmo), "%d", cp->timeout_ms);
        if (cp->emb)
                rd_kafka_conf_set(conf, "bootstrap.servers", cp->bootstrap, err,
                                  err_size);
        else
                json_object_foreach(cp->t->properties, k, v)
                {
                        if (rd_kafka_conf_set(conf, k, json_string_value(v),
                                              err, err_size)) {
                                rd_kafka_conf_destroy(conf);
                                return NULL;
                        }
                }
        rd_kafka_conf_set_log_cb(conf, log_cb);
        rd_kafka_conf_set_opaque(conf, cp);
        if (type == RD_KAFKA_PRODUCER)
                rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        if (rd_kafka_conf_set(conf, "log_level", debug ? "7" : "3", err,
                              err_size) ||
            (debug && rd_kafka_conf_set(conf, "debug", "protocol,feature", err,
                                        err_size)) ||
            (type == RD_KAFKA_PRODUCER &&
             rd_kafka_conf_set(conf, "message.timeout.ms", tmo, err,
                               err_size)) ||
            rd_kafka_conf_set(conf, "socket.timeout.ms", tmo, err, err_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        for (int i = 0; extra && extra[i]; i += 2)
                if (rd_kafka_conf_set(conf, extra[i], extra[i + 1], err,
                                      err_size)) {
                        rd_kafka_conf_destroy(conf);
                        return NULL;
                }
        if (!(rk = rd_kafka_new(type, conf, err, err_size)))
                rd_kafka_conf_destroy(conf);
        else if (err_size)
                err[0] = '\0'; /* a property found on the topic level
                                * leaves a message behind */
        return rk;
}

void crmsync_compat_log_reset(struct compat *cp)
{
        pthread_mutex_lock(&cp->log.mu);
        cp->log.nsent = 0;
        pthread_mutex_unlock(&cp->log.mu);
}

void crmsync_compat_api_used(struct compat *cp, const char *const *names,
                             char *out, size_t size)
{
        size_t n = 0;
        out[0]   = '\0';
        pthread_mutex_lock(&cp->log.mu);
        for (int j = 0; names[j]; j++)
                for (int i = 0; i < cp->log.nsent && n < size; i++)
                        if (!strcmp(cp->log.sent[i], names[j]))
                                n += (size_t)snprintf(out + n, size - n,
                                                      "%s%s v%d", n ? ", " : "",
                                                      names[j],
                                                      cp->log.sent_ver[i]);
        pthread_mutex_unlock(&cp->log.mu);
}

int crmsync_compat_has_api(struct compat *cp, int key)
{
        char k[16];
        int  r;
        snprintf(k, sizeof(k), "%d", key);
        pthread_mutex_lock(&cp->log.mu);
        r = json_object_size(cp->log.api) == 0
                ? -1
                : json_object_get(cp->log.api, k) != NULL;
        pthread_mutex_unlock(&cp->log.mu);
        return r;
}

void crmsync_compat_item(struct compat *cp, const char *item,
                         const char *status, const char *api, const char *error,
                         const char *detail)
{
        json_array_append_new(
            cp->items,
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "item", item, "status",
                      status, "api", api ? api : "", "error",
                      error ? error : "", "detail", detail ? detail : ""));
}

rd_kafka_resp_err_t
crmsync_compat_produce(struct compat *cp, rd_kafka_t *rk, const char *topic,
                       const char *key, const void *val, size_t len,
                       int64_t ts_ms, rd_kafka_headers_t *hdrs, int64_t *offset)
{
        struct delivery     d   = {0, 0, -1};
        int64_t             end = crmsync_mono_ms() + cp->timeout_ms + 1000;
        rd_kafka_resp_err_t err;

        err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_TIMESTAMP(ts_ms),
            RD_KAFKA_V_HEADERS(hdrs ? rd_kafka_headers_copy(hdrs) : NULL),
            RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
        if (err)
                return err;
        while (!d.done && crmsync_mono_ms() < end)
                rd_kafka_poll(rk, 50);
        if (!d.done) {
                /* Never leave the report pointing at our stack. */
                rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE |
                                       RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_poll(rk, 0);
                while (!d.done && crmsync_mono_ms() < end + 5000)
                        rd_kafka_poll(rk, 50);
                return RD_KAFKA_RESP_ERR__TIMED_OUT;
        }
        if (offset)
                *offset = d.offset;
        return d.err;
}

/* ApiVersions: any metadata request makes the client ask for them; the
 * feature log lists the table. */
static int api_versions(struct compat *cp, char *errstr, size_t errstr_size)
{
        const rd_kafka_metadata_t *md;
        rd_kafka_resp_err_t        err;
        rd_kafka_t                *rk;
        char                       e[512], api[128], detail[128];
        static const char *const   names[] = {"ApiVersion", NULL};

        if (!(rk = crmsync_compat_client(cp, RD_KAFKA_PRODUCER, 1, NULL, e,
                                         sizeof(e))))
                return crmsync_err(errstr, errstr_size, "kafka client: %s", e);
        err = rd_kafka_metadata(rk, 0, NULL, &md, cp->timeout_ms);
        if (err) {
                rd_kafka_destroy(rk);
                return crmsync_err(errstr, errstr_size,
                                   "%s: cannot reach bootstrap servers %s: "
                                   "%s (no metadata within %d ms)",
                                   cp->t->name, cp->bootstrap,
                                   rd_kafka_err2str(err), cp->timeout_ms);
        }
        rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        crmsync_compat_api_used(cp, names, api, sizeof(api));
        snprintf(detail, sizeof(detail), "%zu APIs listed",
                 json_object_size(cp->log.api));
        crmsync_compat_item(
            cp, "ApiVersions", json_object_size(cp->log.api) ? "pass" : "fail",
            api,
            json_object_size(cp->log.api) ? "" : "no ApiVersions answer logged",
            detail);
        return 0;
}

/* The probe's topics on the embedded cluster (it has no CreateTopics). */
static int start_embedded(struct compat *cp, char *errstr, size_t errstr_size)
{
        int brokers = cp->t->brokers ? cp->t->brokers : 1;
        if (!(cp->emb = crmsync_broker_new(brokers, errstr, errstr_size)) ||
            crmsync_broker_create_topic(cp->emb, COMPAT_TOPIC, 1,
                                        brokers < 3 ? brokers : 3, errstr,
                                        errstr_size) ||
            crmsync_broker_create_topic(cp->emb, COMPAT_COMPACTED_TOPIC, 1,
                                        brokers < 3 ? brokers : 3, errstr,
                                        errstr_size))
                return -1;
        snprintf(cp->bootstrap, sizeof(cp->bootstrap), "%s",
                 crmsync_broker_bootstraps(cp->emb));
        return 0;
}

static json_t *result(struct compat *cp)
{
        json_t *api = json_array(), *o, *v;
        size_t  i;
        int     n[3] = {0, 0, 0};
        /* The table in key order. */
        for (int key = 0; key < 1000; key++) {
                char k[16];
                snprintf(k, sizeof(k), "%d", key);
                if ((v = json_object_get(cp->log.api, k)))
                        json_array_append(api, v);
        }
        json_array_foreach(cp->items, i, v)
        {
                const char *s = json_string_value(json_object_get(v, "status"));
                n[!strcmp(s, "pass") ? 0 : !strcmp(s, "fail") ? 1 : 2]++;
        }
        o = json_pack("{s:s, s:s, s:s, s:o, s:O, s:O, s:{s:i, s:i, s:i}}",
                      "target", cp->t->name, "type",
                      cp->emb ? "embedded" : "external", "bootstrap_servers",
                      cp->bootstrap, "api_versions", api, "items", cp->items,
                      "figures", cp->figures, "counts", "pass", n[0], "fail",
                      n[1], "unsupported", n[2]);
        if (cp->emb)
                json_object_set_new(
                    o, "brokers", json_integer(crmsync_broker_count(cp->emb)));
        return o;
}

json_t *crmsync_compat_probe(const struct scenario_target *t, int timeout_ms,
                             char *errstr, size_t errstr_size)
{
        struct compat cp;
        json_t       *out = NULL;

        memset(&cp, 0, sizeof(cp));
        pthread_mutex_init(&cp.log.mu, NULL);
        cp.t          = t;
        cp.timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
        cp.log.api    = json_object();
        cp.items      = json_array();
        cp.figures    = json_object();
        snprintf(cp.suffix, sizeof(cp.suffix), "%ld-%lld", (long)getpid(),
                 (long long)crmsync_wall_ms());
        if (t->embedded) {
                if (start_embedded(&cp, errstr, errstr_size))
                        goto done;
        } else {
                snprintf(cp.bootstrap, sizeof(cp.bootstrap), "%s",
                         t->bootstrap);
        }
        if (api_versions(&cp, errstr, errstr_size))
                goto done;
        crmsync_compat_run_items(&cp);
        out = result(&cp);
done:
        crmsync_broker_destroy(cp.emb);
        json_decref(cp.log.api);
        json_decref(cp.items);
        json_decref(cp.figures);
        pthread_mutex_destroy(&cp.log.mu);
        return out;
}

void crmsync_compat_markdown(const json_t *probe, int with_api_table, FILE *fp)
{
        const json_t *v;
        size_t        i;
        fprintf(fp, "| item | status | API version used | broker error | "
                    "detail |\n|---|---|---|---|---|\n");
        json_array_foreach(json_object_get(probe, "items"), i, v)
        {
                static const char *const f[] = {"item", "status", "api",
                                                "error", "detail"};
                for (int j = 0; j < 5; j++) {
                        fputs("| ", fp);
                        crmsync_md_cell(
                            fp, json_string_value(json_object_get(v, f[j])));
                        fputc(' ', fp);
                }
                fputs("|\n", fp);
        }
        if (!with_api_table)
                return;
        fprintf(fp,
                "\nApiVersions (%zu APIs):\n\n| key | API | min | max "
                "|\n|---|---|---|---|\n",
                json_array_size(json_object_get(probe, "api_versions")));
        json_array_foreach(json_object_get(probe, "api_versions"), i, v)
            fprintf(fp, "| %lld | %s | %lld | %lld |\n",
                    (long long)json_integer_value(json_object_get(v, "key")),
                    json_string_value(json_object_get(v, "name")),
                    (long long)json_integer_value(json_object_get(v, "min")),
                    (long long)json_integer_value(json_object_get(v, "max")));
}
