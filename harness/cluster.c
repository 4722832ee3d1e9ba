/* cluster.c -- embedded or external Kafka for a run (see cluster.h). */
#include "harness/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crmsync/broker.h"
#include "crmsync/common.h"
#include "harness/kafka_log.h"
#include "harness/kafka_conf.h"
#include "harness/supervisor.h"

#define CLUSTER_MAX_CMDS 64

struct cluster {
        const struct scenario *sc;
        crmsync_broker_t      *embedded; /* NULL for an external target */
        char                   bootstrap[1024];
        char                   props[600];      /* private, 0600 */
        char                   props_dir[512];  /* its 0700 directory */
        char                   props_copy[600]; /* redacted, run folder */
        char                   log_path[600];
        int                    probe_partitions;
        int                    partitions;    /* of the changes topic, read */
        int64_t               *start_offsets; /* [partitions]: its end at
                                               * set-up */
        char       *start_spec;               /* "p:off,..." of those */
        rd_kafka_t *lag_rk;                   /* reads a group's commits */
        char        lag_group[256];
        pid_t       cmds[CLUSTER_MAX_CMDS];
        int         ncmds, failed_cmds;
};

static int write_props_to(cluster_t *c, FILE *fp, int redact)
{
        const char *k;
        json_t     *v;
        fprintf(fp, "# librdkafka properties for this run's clients%s\n",
                redact ? " (a copy: secret values are [redacted]; the "
                         "clients read a private file removed at the end)"
                       : "");
        if (c->embedded) {
                fprintf(fp, "bootstrap.servers=%s\n", c->bootstrap);
                json_object_foreach(c->sc->embedded_properties, k, v)
                    fprintf(fp, "%s=%s\n", k,
                            redact && crmsync_target_secret_property(k)
                                ? "[redacted]"
                                : json_string_value(v));
        } else
                json_object_foreach(c->sc->target->properties, k, v)
                {
                        const char *raw = json_string_value(
                            json_object_get(c->sc->target->raw_properties, k));
                        const char *out = json_string_value(v);
                        /* The copy shows a reference as written
                         * (${NAME}), never what it expands to. */
                        if (redact && raw && strstr(raw, "${"))
                                out = raw;
                        else if (redact && crmsync_target_secret_property(k))
                                out = "[redacted]";
                        fprintf(fp, "%s=%s\n", k, out);
                }
        return ferror(fp);
}

/* The clients' properties go to a file of mode 0600 in a fresh 0700
 * directory outside the run folder (under $TMPDIR, else /tmp), removed by
 * crmsync_cluster_close, or by the watchdog when the harness is killed: a
 * target's sasl.password must not land in runs/.
 * The run folder gets a copy with secret values redacted. */
static int write_props(cluster_t *c, char *errstr, size_t errstr_size)
{
        const char *tmp = getenv("TMPDIR");
        FILE       *fp;
        int         fd, bad, err;
        char        wd_err[256];

        if (!c->props_dir[0]) {
                snprintf(c->props_dir, sizeof(c->props_dir),
                         "%s/crmsync-props.XXXXXX", tmp && *tmp ? tmp : "/tmp");
                if (!mkdtemp(c->props_dir)) {
                        int e           = errno;
                        c->props_dir[0] = '\0';
                        return crmsync_err(errstr, errstr_size,
                                           "private directory for the "
                                           "client properties under %s: %s",
                                           tmp && *tmp ? tmp : "/tmp",
                                           strerror(e));
                }
                snprintf(c->props, sizeof(c->props), "%s/kafka.properties",
                         c->props_dir);
                /* Removed by the watchdog if this process is killed (without
                 * one, by crmsync_cluster_close alone). */
                if (crmsync_supervisor_init(wd_err, sizeof(wd_err)) == 0) {
                        crmsync_supervisor_remove_on_exit(c->props);
                        crmsync_supervisor_remove_on_exit(c->props_dir);
                }
        }
        fd = open(c->props,
                  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd == -1 || !(fp = fdopen(fd, "w"))) {
                if (fd != -1)
                        close(fd);
                return crmsync_err(errstr, errstr_size, "%s: %s", c->props,
                                   strerror(errno));
        }
        bad = write_props_to(c, fp, 0);
        err = errno; /* a write that failed (a full disk) says why */
        if (fclose(fp) || bad)
                return crmsync_err(errstr, errstr_size, "%s: %s", c->props,
                                   strerror(bad ? err : errno));
        if (!(fp = fopen(c->props_copy, "w")))
                return crmsync_err(errstr, errstr_size, "%s: %s", c->props_copy,
                                   strerror(errno));
        bad = write_props_to(c, fp, 1);
        err = errno;
        if (fclose(fp) || bad)
                return crmsync_err(errstr, errstr_size, "%s: %s", c->props_copy,
                                   strerror(bad ? err : errno));
        return 0;
}

/* A short-lived admin client with the run's properties. */
static rd_kafka_t *admin_client(cluster_t *c, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t      *rk;
        char             kerr[256];
        if (crmsync_harness_kafka_conf(conf, c->props, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(conf, crmsync_kafka_log_cb);
        rd_kafka_conf_set(conf, "log_level", "3", kerr, sizeof(kerr));
        if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr))))
                crmsync_err(errstr, errstr_size, "kafka client: %s", kerr);
        return rk;
}

/* How long the reachability check waits for any bootstrap server. */
#define CLUSTER_REACH_TIMEOUT_MS 5000

/* What librdkafka said while the reachability check waited. */
struct reach {
        char reason[512];
        int  specific; /* reason is not the generic "all brokers down" */
};

static void reach_error_cb(rd_kafka_t *rk, int err, const char *reason,
                           void *opaque)
{
        struct reach *re       = opaque;
        int           specific = err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
        (void)rk;
        if (re->specific || (re->reason[0] && !specific))
                return; /* keep the first, most specific reason */
        snprintf(re->reason, sizeof(re->reason), "%s", reason);
        re->specific = specific;
}

static void reach_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                         const char *buf)
{
        (void)rk;
        (void)level;
        (void)fac;
        (void)buf; /* the error callback carries what the user needs */
}

/* Ask the cluster for its brokers (a metadata request) within
 * CLUSTER_REACH_TIMEOUT_MS, so an unreachable cluster is reported as such
 * before anything else (topics, groups) can be blamed. */
static int check_reachable(cluster_t *c, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t           *conf = rd_kafka_conf_new();
        const rd_kafka_metadata_t *md;
        rd_kafka_resp_err_t        err;
        rd_kafka_t                *rk;
        struct reach               re = {"", 0};
        char                       kerr[256];

        if (crmsync_harness_kafka_conf(conf, c->props, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_conf_set_error_cb(conf, reach_error_cb);
        rd_kafka_conf_set_log_cb(conf, reach_log_cb);
        rd_kafka_conf_set_opaque(conf, &re);
        if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr)))) {
                rd_kafka_conf_destroy(conf);
                return crmsync_err(errstr, errstr_size, "kafka client: %s",
                                   kerr);
        }
        err = rd_kafka_metadata(rk, 0, NULL, &md, CLUSTER_REACH_TIMEOUT_MS);
        if (!err) {
                rd_kafka_metadata_destroy(md);
        } else {
                /* Serve the error callbacks queued while we waited. */
                rd_kafka_poll(rk, 0);
                crmsync_err(errstr, errstr_size,
                            "%s: cannot reach bootstrap servers %s: %s "
                            "(no metadata within %d s)",
                            c->sc->target->name, c->bootstrap,
                            re.reason[0] ? re.reason : rd_kafka_err2str(err),
                            CLUSTER_REACH_TIMEOUT_MS / 1000);
        }
        rd_kafka_destroy(rk);
        return err ? -1 : 0;
}

/* CreateTopics on an external cluster; an existing topic is fine. */
static int create_external(cluster_t *c, rd_kafka_t *rk, const char *topic,
                           int partitions, char *errstr, size_t errstr_size)
{
        rd_kafka_NewTopic_t            *nt;
        rd_kafka_queue_t               *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t               *ev;
        const rd_kafka_topic_result_t **res;
        size_t                          n = 0;
        char                            kerr[256];
        int                             rc = 0;

        nt = rd_kafka_NewTopic_new(
            topic, partitions, c->sc->target->replication, kerr, sizeof(kerr));
        if (!nt) {
                rd_kafka_queue_destroy(q);
                return crmsync_err(errstr, errstr_size, "topic %s: %s", topic,
                                   kerr);
        }
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, 30000);
        if (!ev) {
                rc = crmsync_err(errstr, errstr_size,
                                 "topic %s: CreateTopics timed out", topic);
        } else if (rd_kafka_event_error(ev)) {
                rc = crmsync_err(errstr, errstr_size, "topic %s: %s", topic,
                                 rd_kafka_event_error_string(ev));
        } else {
                res = rd_kafka_CreateTopics_result_topics(
                    rd_kafka_event_CreateTopics_result(ev), &n);
                if (n && rd_kafka_topic_result_error(res[0]) &&
                    rd_kafka_topic_result_error(res[0]) !=
                        RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        rc = crmsync_err(
                            errstr, errstr_size, "topic %s: %s", topic,
                            rd_kafka_topic_result_error_string(res[0]));
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_NewTopic_destroy(nt);
        rd_kafka_queue_destroy(q);
        return rc;
}

/* Partition count of topic from metadata (auto-creating it where the
 * cluster does), or -1. */
static int partitions_of(rd_kafka_t *rk, const char *topic)
{
        rd_kafka_topic_t          *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const rd_kafka_metadata_t *md;
        int                        n = -1;
        for (int attempt = 0; attempt < 5 && n < 0; attempt++) {
                if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR) {
                        if (md->topic_cnt == 1 && !md->topics[0].err)
                                n = md->topics[0].partition_cnt;
                        rd_kafka_metadata_destroy(md);
                }
        }
        rd_kafka_topic_destroy(rkt);
        return n;
}

/* The changes topic as the cluster has it: its partition count read with
 * metadata must be the scenario's, or the run would judge a layout it
 * does not have. */
static int check_partitions(cluster_t *c, rd_kafka_t *rk, char *errstr,
                            size_t errstr_size)
{
        const struct scenario *sc = c->sc;
        const char *name          = sc->target ? sc->target->name : "embedded";

        c->partitions = partitions_of(rk, sc->topic);
        if (c->partitions < 1)
                return crmsync_err(errstr, errstr_size,
                                   "target '%s': topic %s does not exist "
                                   "and could not be created (set "
                                   "topics.create in the target file, or "
                                   "create it)",
                                   name, sc->topic);
        if (c->partitions != sc->partitions)
                return crmsync_err(errstr, errstr_size,
                                   "target '%s': topic %s has %d "
                                   "partition(s) but the scenario says %d "
                                   "(target.partitions, default 12): set "
                                   "target.partitions to %d or recreate "
                                   "the topic with %d",
                                   name, sc->topic, c->partitions,
                                   sc->partitions, c->partitions,
                                   sc->partitions);
        return 0;
}

/* The changes topic's end offsets as of set-up, before anything of this
 * run is produced: the run's records are those at or after them. */
static int record_start(cluster_t *c, rd_kafka_t *rk, char *errstr,
                        size_t errstr_size)
{
        size_t len = 0, size = (size_t)c->partitions * 32 + 1;

        c->start_offsets =
            calloc((size_t)c->partitions, sizeof(*c->start_offsets));
        c->start_spec = malloc(size);
        if (!c->start_offsets || !c->start_spec)
                return crmsync_err(errstr, errstr_size, "out of memory");
        c->start_spec[0] = '\0';
        for (int p = 0; p < c->partitions; p++) {
                int64_t             lo = -1, hi = -1;
                rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
                /* A new topic's leaders may take a moment to be known:
                 * retry for up to 10 s. */
                int64_t until = crmsync_mono_ms() + 10000;
                for (int attempt = 0;
                     err && (!attempt || crmsync_mono_ms() < until);
                     attempt++) {
                        struct timespec ts = {0, 200 * 1000000};
                        if (attempt)
                                nanosleep(&ts, NULL);
                        err = rd_kafka_query_watermark_offsets(
                            rk, c->sc->topic, p, &lo, &hi, 2000);
                }
                if (err || hi < 0)
                        return crmsync_err(errstr, errstr_size,
                                           "topic %s partition %d: cannot "
                                           "read its end offset: %s",
                                           c->sc->topic, p,
                                           rd_kafka_err2str(err));
                c->start_offsets[p] = hi;
                len += (size_t)snprintf(c->start_spec + len, size - len,
                                        "%s%d:%lld", p ? "," : "", p,
                                        (long long)hi);
        }
        return 0;
}

static int open_external(cluster_t *c, char *errstr, size_t errstr_size)
{
        const struct scenario *sc = c->sc;
        const char *topics[4] = {sc->topic, NULL, "crmsync.connector.offsets",
                                 CLUSTER_PROBE_TOPIC};
        int         parts[4]  = {sc->partitions, 1, 1, sc->partitions};
        char        dlq[200];
        rd_kafka_t *rk;
        int         rc = 0;

        snprintf(dlq, sizeof(dlq), "%s.dlq", sc->topic);
        topics[1] = dlq;
        snprintf(c->bootstrap, sizeof(c->bootstrap), "%s",
                 sc->target->bootstrap);
        if (write_props(c, errstr, errstr_size) ||
            check_reachable(c, errstr, errstr_size) ||
            !(rk = admin_client(c, errstr, errstr_size)))
                return -1;
        for (int i = 0; i < 4 && !rc; i++)
                if (sc->target->create_topics)
                        rc = create_external(c, rk, topics[i], parts[i], errstr,
                                             errstr_size);
        if (!rc)
                rc = check_partitions(c, rk, errstr, errstr_size);
        if (!rc)
                rc = record_start(c, rk, errstr, errstr_size);
        if (!rc &&
            (c->probe_partitions = partitions_of(rk, CLUSTER_PROBE_TOPIC)) < 1)
                rc = crmsync_err(errstr, errstr_size,
                                 "%s: topic %s does not exist and could not "
                                 "be created (set topics.create in the "
                                 "target file, or create it)",
                                 sc->target->name, CLUSTER_PROBE_TOPIC);
        rd_kafka_destroy(rk);
        return rc;
}

static int open_embedded(cluster_t *c, char *errstr, size_t errstr_size)
{
        const struct scenario *sc = c->sc;
        char                   dlq[200];
        int                    repl = sc->brokers < 3 ? sc->brokers : 3;
        rd_kafka_t            *rk;
        int                    rc;

        snprintf(dlq, sizeof(dlq), "%s.dlq", sc->topic);
        if (!(c->embedded =
                  crmsync_broker_new(sc->brokers, errstr, errstr_size)) ||
            crmsync_broker_create_topic(c->embedded, sc->topic, sc->partitions,
                                        repl, errstr, errstr_size) ||
            crmsync_broker_create_topic(c->embedded, dlq, 1, 1, errstr,
                                        errstr_size) ||
            crmsync_broker_create_topic(c->embedded,
                                        "crmsync.connector.offsets", 1, 1,
                                        errstr, errstr_size) ||
            crmsync_broker_create_topic(c->embedded, CLUSTER_PROBE_TOPIC,
                                        sc->partitions, 1, errstr, errstr_size))
                return -1;
        for (int p = 0; p < sc->partitions; p++)
                crmsync_broker_set_leader(
                    c->embedded, CLUSTER_PROBE_TOPIC, p,
                    crmsync_broker_leader(c->embedded, sc->topic, p));
        c->probe_partitions = sc->partitions;
        snprintf(c->bootstrap, sizeof(c->bootstrap), "%s",
                 crmsync_broker_bootstraps(c->embedded));
        if (write_props(c, errstr, errstr_size) ||
            !(rk = admin_client(c, errstr, errstr_size)))
                return -1;
        rc = check_partitions(c, rk, errstr, errstr_size) ||
             record_start(c, rk, errstr, errstr_size);
        rd_kafka_destroy(rk);
        return rc ? -1 : 0;
}

cluster_t *crmsync_cluster_open(const struct scenario *sc,
                                const char *props_path, const char *log_path,
                                char *errstr, size_t errstr_size)
{
        cluster_t *c = calloc(1, sizeof(*c));
        int        rc;
        if (!c) {
                crmsync_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        c->sc = sc;
        snprintf(c->props_copy, sizeof(c->props_copy), "%s", props_path);
        snprintf(c->log_path, sizeof(c->log_path), "%s", log_path);
        rc = sc->target ? open_external(c, errstr, errstr_size)
                        : open_embedded(c, errstr, errstr_size);
        if (rc) {
                crmsync_cluster_close(c);
                return NULL;
        }
        return c;
}

void crmsync_cluster_close(cluster_t *c)
{
        if (!c)
                return;
        if (c->lag_rk) {
                rd_kafka_consumer_close(c->lag_rk);
                rd_kafka_destroy(c->lag_rk);
        }
        for (int i = 0; i < c->ncmds; i++)
                if (c->cmds[i] > 0)
                        waitpid(c->cmds[i], NULL, 0);
        crmsync_broker_destroy(c->embedded);
        if (c->props_dir[0]) {
                unlink(c->props);
                rmdir(c->props_dir);
                crmsync_supervisor_forget_path(c->props);
                crmsync_supervisor_forget_path(c->props_dir);
        }
        free(c->start_offsets);
        free(c->start_spec);
        free(c);
}

const char *crmsync_cluster_bootstrap(const cluster_t *c)
{
        return c->bootstrap;
}

const char *crmsync_cluster_props(const cluster_t *c)
{
        return c->props;
}

const int64_t *crmsync_cluster_start_offsets(const cluster_t *c)
{
        return c->start_offsets;
}

const char *crmsync_cluster_start_spec(const cluster_t *c)
{
        return c->start_spec;
}

int crmsync_cluster_partitions(const cluster_t *c)
{
        return c->partitions;
}

int crmsync_cluster_probe_partitions(const cluster_t *c)
{
        return c->probe_partitions;
}

/* Run a target's fault command with {broker} replaced, in the background,
 * output appended to the fault log. */
static int run_command(cluster_t *c, const char *tmpl, int broker, char *why,
                       size_t why_size)
{
        char   cmd[4096];
        pid_t  pid;
        size_t n = 0;
        FILE  *log;
        for (const char *p = tmpl; *p && n < sizeof(cmd) - 16; p++) {
                if (!strncmp(p, "{broker}", 8)) {
                        n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%d",
                                              broker);
                        p += 7;
                } else {
                        cmd[n++] = *p;
                }
        }
        cmd[n] = '\0';
        if (c->ncmds == CLUSTER_MAX_CMDS) {
                snprintf(why, why_size, "more than %d fault commands",
                         CLUSTER_MAX_CMDS);
                return -1;
        }
        /* The log is opened and its header written here, where a failed
         * write (a full disk) can be told: the fault is then not run. */
        if (!(log = fopen(c->log_path, "ae")) ||
            fprintf(log, "$ %s\n", cmd) < 0 || fflush(log) == EOF) {
                snprintf(why, why_size, "%s: %s", c->log_path, strerror(errno));
                if (log)
                        fclose(log);
                return -1;
        }
        if ((pid = fork()) == -1) {
                snprintf(why, why_size, "fork: %s", strerror(errno));
                fclose(log);
                return -1;
        }
        if (pid == 0) {
                dup2(fileno(log), 1);
                dup2(fileno(log), 2);
                execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
                _exit(127);
        }
        fclose(log);
        c->cmds[c->ncmds++] = pid;
        return 0;
}

int crmsync_cluster_reap(cluster_t *c)
{
        for (int i = 0; i < c->ncmds; i++) {
                int status;
                if (c->cmds[i] > 0 &&
                    waitpid(c->cmds[i], &status, WNOHANG) == c->cmds[i]) {
                        if (!WIFEXITED(status) || WEXITSTATUS(status))
                                c->failed_cmds++;
                        c->cmds[i] = 0;
                }
        }
        return c->failed_cmds;
}

static int kafka_error_code(const char *name)
{
        static const struct {
                const char *name;
                int         code;
        } t[] = {
            {"NOT_LEADER_FOR_PARTITION",
             RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION},
            {"REQUEST_TIMED_OUT", RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT},
            {"NOT_ENOUGH_REPLICAS", RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS},
            {"BROKER_NOT_AVAILABLE", RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE},
            {"NOT_COORDINATOR", RD_KAFKA_RESP_ERR_NOT_COORDINATOR},
            {"COORDINATOR_NOT_AVAILABLE",
             RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE},
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                if (!strcmp(t[i].name, name))
                        return t[i].code;
        return RD_KAFKA_RESP_ERR_UNKNOWN;
}

static int kafka_api_key(const char *name)
{
        if (!strcmp(name, "produce"))
                return 0;
        if (!strcmp(name, "fetch"))
                return 1;
        if (!strcmp(name, "metadata"))
                return 3;
        return 8; /* offset_commit */
}

/* Lead partition p of the changes topic from broker; the probe topic
 * mirrors it so that its failures measure the changes topic. -1 + why when
 * the mock refuses. */
static int set_leader(cluster_t *c, int p, int broker, char *why, size_t size)
{
        if (crmsync_broker_set_leader(c->embedded, c->sc->topic, p, broker) ||
            crmsync_broker_set_leader(c->embedded, CLUSTER_PROBE_TOPIC, p,
                                      broker)) {
                snprintf(why, size,
                         "the embedded broker refused to move %s [%d] to "
                         "broker %d",
                         c->sc->topic, p, broker);
                return -1;
        }
        return 0;
}

static int embedded_fault(cluster_t *c, const char *t, const json_t *p, int on,
                          char *why, size_t size)
{
        int broker = (int)json_integer_value(json_object_get(p, "broker"));
        int n      = crmsync_broker_count(c->embedded);

        if (json_object_get(p, "broker") && broker > n) {
                snprintf(why, size, "no broker %d (the cluster has %d)", broker,
                         n);
                return -1;
        }
        if (!strcmp(t, "broker_restart")) {
                if (on && json_is_true(json_object_get(p, "move_leaders")))
                        for (int i = 0; i < c->sc->partitions; i++)
                                if (crmsync_broker_leader(c->embedded,
                                                          c->sc->topic,
                                                          i) == broker &&
                                    set_leader(c, i, broker % n + 1, why, size))
                                        return -1;
                if ((on ? crmsync_broker_set_down(c->embedded, broker)
                        : crmsync_broker_set_up(c->embedded, broker))) {
                        snprintf(why, size,
                                 "the embedded broker refused to take "
                                 "broker %d %s",
                                 broker, on ? "down" : "up");
                        return -1;
                }
                return 0;
        }
        if (!strcmp(t, "broker_rtt")) {
                if (crmsync_broker_set_rtt(
                        c->embedded, broker,
                        on ? (int)json_integer_value(
                                 json_object_get(p, "rtt_ms"))
                           : 0)) {
                        snprintf(why, size,
                                 "the embedded broker refused an RTT on "
                                 "broker %d",
                                 broker);
                        return -1;
                }
                return 0;
        }
        if (!strcmp(t, "kafka_request_errors")) {
                if (on &&
                    crmsync_broker_push_errors(
                        c->embedded,
                        (int16_t)kafka_api_key(
                            json_string_value(json_object_get(p, "request"))),
                        (size_t)json_integer_value(json_object_get(p, "count")),
                        kafka_error_code(
                            json_string_value(json_object_get(p, "error"))))) {
                        snprintf(why, size,
                                 "the embedded broker refused the request "
                                 "errors");
                        return -1;
                }
                return 0;
        }
        if (!strcmp(t, "leader_move")) {
                const json_t *part = json_object_get(p, "partition");
                json_int_t    only = part ? json_integer_value(part) : -1;
                if (!on)
                        return 0;
                if (part && (only < 0 || only >= c->sc->partitions)) {
                        snprintf(why, size, "no partition %lld (%s has %d)",
                                 (long long)only, c->sc->topic,
                                 c->sc->partitions);
                        return -1;
                }
                for (int i = 0; i < c->sc->partitions; i++)
                        if ((!part || only == i) &&
                            set_leader(c, i, broker, why, size))
                                return -1;
                return 0;
        }
        snprintf(why, size, "'%s' is not a broker fault", t);
        return -1;
}

int crmsync_cluster_fault(cluster_t *c, const char *type, const json_t *params,
                          int on, char *why, size_t why_size)
{
        const struct scenario_target *t = c->sc->target;
        int broker = (int)json_integer_value(json_object_get(params, "broker"));

        if (c->embedded)
                return embedded_fault(c, type, params, on, why, why_size);
        if (!strcmp(type, "broker_restart") && t->broker_down) {
                if (json_is_true(json_object_get(params, "move_leaders")) && on)
                        snprintf(why, why_size,
                                 "move_leaders is left to the cluster's own "
                                 "failover on an external target");
                return run_command(c, on ? t->broker_down : t->broker_up,
                                   broker, why, why_size);
        }
        snprintf(why, why_size, "target '%s' cannot do %s: %s", t->name, type,
                 !strcmp(type, "broker_restart")
                     ? "the target file has no commands.broker_down/up"
                     : "it needs the embedded broker's fault hooks "
                       "(there is no such request in the Kafka "
                       "protocol)");
        return -1;
}

int crmsync_cluster_is_embedded(const cluster_t *c)
{
        return c->embedded != NULL;
}

int crmsync_cluster_offsets_for_time(cluster_t *c, int64_t ts_ms,
                                     int64_t *offsets, int partitions,
                                     char *errstr, size_t errstr_size)
{
        rd_kafka_t *rk = admin_client(c, errstr, errstr_size);
        rd_kafka_topic_partition_list_t *tps;
        rd_kafka_resp_err_t              err;

        if (!rk)
                return -1;
        tps = rd_kafka_topic_partition_list_new(partitions);
        for (int p = 0; p < partitions; p++)
                rd_kafka_topic_partition_list_add(tps, c->sc->topic, p)
                    ->offset = ts_ms;
        err = rd_kafka_offsets_for_times(rk, tps, 10000);
        for (int p = 0; p < partitions; p++)
                offsets[p] =
                    err || tps->elems[p].err ? -1 : tps->elems[p].offset;
        rd_kafka_topic_partition_list_destroy(tps);
        rd_kafka_destroy(rk);
        if (err)
                return crmsync_err(errstr, errstr_size,
                                   "offset lookup by timestamp: %s",
                                   rd_kafka_err2str(err));
        return 0;
}

static json_t *describe(const cluster_t *c)
{
        if (c->embedded)
                return json_pack(
                    "{s:s, s:s, s:i, s:i, s:s, s:[s,s,s,s,s]}", "type",
                    "embedded", "bootstrap_servers", c->bootstrap, "brokers",
                    c->sc->brokers, "partitions", c->partitions, "topic",
                    c->sc->topic, "limits",
                    "librdkafka mock cluster: at most 5 MiB or 100,000 "
                    "message sets per partition (oldest dropped)",
                    "no CreateTopics handler: topics are created by the "
                    "harness",
                    "no offset lookup by timestamp",
                    "a broker going down does not move leadership",
                    "a restarted group coordinator can abort the process "
                    "(a mock assertion) when a client times out a waiting "
                    "SyncGroup: keep socket.timeout.ms above "
                    "session.timeout.ms");
        return json_pack("{s:s, s:s, s:s, s:i, s:s, s:[]}", "type", "external",
                         "name", c->sc->target->name, "bootstrap_servers",
                         c->bootstrap, "partitions", c->partitions, "topic",
                         c->sc->topic, "limits");
}

json_t *crmsync_cluster_describe(const cluster_t *c)
{
        json_t *o = describe(c);
        if (c->embedded && c->sc->target_name[0])
                json_object_set_new(o, "name", json_string(c->sc->target_name));
        json_object_set_new(o, "start_offsets",
                            json_string(c->start_spec ? c->start_spec : ""));
        return o;
}

/* A consumer with the group's id that never subscribes: it reads the
 * group's committed offsets (OffsetFetch) without joining it, and commits
 * nothing. Kept for the run; replaced when asked about another group. */
static rd_kafka_t *lag_client(cluster_t *c, const char *group, char *errstr,
                              size_t errstr_size)
{
        rd_kafka_conf_t *conf;
        char             kerr[256];

        if (c->lag_rk && !strcmp(c->lag_group, group))
                return c->lag_rk;
        if (c->lag_rk) {
                rd_kafka_consumer_close(c->lag_rk);
                rd_kafka_destroy(c->lag_rk);
                c->lag_rk = NULL;
        }
        conf = rd_kafka_conf_new();
        if (crmsync_harness_kafka_conf(conf, c->props, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(conf, crmsync_kafka_log_cb);
        if (rd_kafka_conf_set(conf, "group.id", group, kerr, sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "enable.auto.commit", "false", kerr,
                              sizeof(kerr)) ||
            rd_kafka_conf_set(conf, "log_level", "3", kerr, sizeof(kerr)) ||
            !(c->lag_rk =
                  rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr)))) {
                rd_kafka_conf_destroy(conf);
                crmsync_err(errstr, errstr_size, "lag reader: %s", kerr);
                return NULL;
        }
        snprintf(c->lag_group, sizeof(c->lag_group), "%s", group);
        return c->lag_rk;
}

int crmsync_cluster_group_lag(cluster_t *c, const char *group,
                              struct cluster_lag *lag, char *errstr,
                              size_t errstr_size)
{
        rd_kafka_t                      *rk;
        rd_kafka_topic_partition_list_t *tps;
        rd_kafka_resp_err_t              err;
        size_t                           n      = 0;
        int                              listed = 0;

        memset(lag, 0, sizeof(*lag));
        if (!(rk = lag_client(c, group, errstr, errstr_size)))
                return -1;
        tps = rd_kafka_topic_partition_list_new(c->partitions);
        for (int p = 0; p < c->partitions; p++)
                rd_kafka_topic_partition_list_add(tps, c->sc->topic, p);
        if ((err = rd_kafka_committed(rk, tps, CLUSTER_LAG_TIMEOUT_MS))) {
                rd_kafka_topic_partition_list_destroy(tps);
                return crmsync_err(errstr, errstr_size,
                                   "committed offsets of group %s: %s", group,
                                   rd_kafka_err2str(err));
        }
        for (int p = 0; p < c->partitions; p++) {
                int64_t lo = -1, hi = -1, from, behind;
                int64_t done = tps->elems[p].err ? -1 : tps->elems[p].offset;
                if ((err = rd_kafka_query_watermark_offsets(
                         rk, c->sc->topic, p, &lo, &hi,
                         CLUSTER_LAG_TIMEOUT_MS))) {
                        rd_kafka_topic_partition_list_destroy(tps);
                        return crmsync_err(errstr, errstr_size,
                                           "end offset of %s partition %d: "
                                           "%s",
                                           c->sc->topic, p,
                                           rd_kafka_err2str(err));
                }
                if (done >= 0)
                        lag->committed++;
                from   = done >= 0 ? done : c->start_offsets[p];
                behind = hi > from ? hi - from : 0;
                if (!behind)
                        continue;
                lag->total += behind;
                lag->partitions++;
                if (listed < 8 && n < sizeof(lag->detail) - 40) {
                        n += (size_t)snprintf(lag->detail + n,
                                              sizeof(lag->detail) - n,
                                              "%s%d (%lld)", listed ? ", " : "",
                                              p, (long long)behind);
                        listed++;
                } else if (listed == 8) {
                        snprintf(lag->detail + n, sizeof(lag->detail) - n,
                                 ", ...");
                        listed++;
                }
        }
        rd_kafka_topic_partition_list_destroy(tps);
        return 0;
}

int crmsync_cluster_end_offsets(cluster_t *c, const char *topic, int64_t *ends,
                                int partitions, char *errstr,
                                size_t errstr_size)
{
        rd_kafka_t *rk = c->lag_rk;

        if (!rk && !(rk = lag_client(c, "crmsync-judge", errstr, errstr_size)))
                return -1;
        for (int p = 0; p < partitions; p++) {
                int64_t             lo = -1, hi = -1;
                rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
                    rk, topic, p, &lo, &hi, CLUSTER_LAG_TIMEOUT_MS);
                if (err)
                        return crmsync_err(errstr, errstr_size,
                                           "end offset of %s partition %d: %s",
                                           topic, p, rd_kafka_err2str(err));
                ends[p] = hi;
        }
        return 0;
}
